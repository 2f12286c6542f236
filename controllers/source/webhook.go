package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/webhook"
)

// indexWebhookPath finds a repository by its receiver path.
const indexWebhookPath = "krt.repository.webhookPath"

// reconcileWebhook publishes the receiver path for the repository's token.
func (r *Reconciler) reconcileWebhook(ctx context.Context, repo *krtv1.WorkflowRepository) error {
	if repo.Spec.Webhook == nil {
		repo.Status.WebhookPath = ""
		return nil
	}
	token, err := r.webhookToken(ctx, repo)
	if err != nil {
		return err
	}
	repo.Status.WebhookPath = webhook.Path(token, repo.Namespace, repo.Name)
	return nil
}

func (r *Reconciler) webhookToken(ctx context.Context, repo *krtv1.WorkflowRepository) ([]byte, error) {
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: repo.Namespace, Name: repo.Spec.Webhook.SecretRef.Name}
	if err := r.secrets.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("reading the webhook Secret %q: %w", key.Name, err)
	}
	token := secret.Data["token"]
	if len(token) == 0 {
		return nil, fmt.Errorf("the webhook Secret %q has no \"token\" key", key.Name)
	}
	return token, nil
}

// Receiver serves webhooks: a push asks its repository to reconcile now,
// a pull request is recorded on the repository's status.
type Receiver struct {
	Addr string
	r    *Reconciler
	log  logr.Logger
}

// NeedLeaderElection is false: every replica serves webhooks, so a
// Service in front of them never sends a delivery to a pod that does not
// listen. What a webhook does (a reconcile request, a PR recorded with
// retries on conflict) is safe from any replica.
func (rc *Receiver) NeedLeaderElection() bool { return false }

// Start serves until ctx ends; it makes the Receiver a manager Runnable.
func (rc *Receiver) Start(ctx context.Context) error {
	lis, err := net.Listen("tcp", rc.Addr)
	if err != nil {
		return fmt.Errorf("webhook receiver: %w", err)
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	rc.log.Info("webhook receiver listening", "address", lis.Addr().String())
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeHTTP verifies and acts on one webhook.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	ctx := req.Context()
	repo, err := rc.repository(ctx, req.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	body, err := webhook.ReadBody(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	token, err := rc.r.webhookToken(ctx, repo)
	if err != nil {
		http.Error(w, "the receiver is not configured", http.StatusInternalServerError)
		return
	}
	provider, err := webhook.Verify(req.Header, body, token)
	if err != nil {
		rc.log.Info("refused a webhook", "repository", client.ObjectKeyFromObject(repo), "reason", err.Error())
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ev, err := webhook.Decode(provider, req.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := rc.act(ctx, repo, ev); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (rc *Receiver) repository(ctx context.Context, path string) (*krtv1.WorkflowRepository, error) {
	list := &krtv1.WorkflowRepositoryList{}
	if err := rc.r.client.List(ctx, list, client.MatchingFields{indexWebhookPath: path}); err != nil {
		return nil, err
	}
	if len(list.Items) != 1 {
		return nil, errors.New("no repository receives webhooks here")
	}
	return &list.Items[0], nil
}

// act asks for a reconcile on a push, and records a pull request.
func (rc *Receiver) act(ctx context.Context, repo *krtv1.WorkflowRepository, ev webhook.Event) error {
	key := client.ObjectKeyFromObject(repo)
	switch ev.Kind {
	case webhook.KindPush:
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, time.Now().Format(time.RFC3339Nano))
		return rc.r.client.Patch(ctx, repo, client.RawPatch(types.MergePatchType, patch))
	case webhook.KindPullRequest:
		if repo.Spec.PullRequests == nil || !repo.Spec.PullRequests.Enabled {
			return nil
		}
		pr := ev.PullRequest
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := &krtv1.WorkflowRepository{}
			if err := rc.r.client.Get(ctx, key, cur); err != nil {
				return err
			}
			upsertPullRequest(cur, krtv1.PullRequest{Number: pr.Number, HeadSHA: pr.HeadSHA, HeadRef: pr.HeadRef, Base: pr.Base,
				Author: pr.Author, Fork: pr.Fork, Draft: pr.Draft, Action: pr.Action}, rc.r.now())
			return rc.r.client.Status().Update(ctx, cur)
		})
	}
	return nil
}
