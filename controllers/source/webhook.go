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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	krtmetrics "krt.dev/krt/controllers/metrics"
	"krt.dev/krt/sources/webhook"
)

// ReasonWebhookRefused is the Warning event of a webhook signed the way
// another provider signs.
const ReasonWebhookRefused = "WebhookRefused"

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
// retries on conflict) is safe from any replica, and the record of
// deliveries that refuses replays is in the repository's status, which
// every replica reads and writes conditionally.
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

// ServeHTTP verifies and acts on one webhook, once: a delivery acted on
// before, by this replica or another, is answered 200 and changes nothing.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	krtmetrics.WebhookDeliveries.WithLabelValues(rc.serve(w, req)).Inc()
}

// serve answers a delivery and names its result for the metrics.
func (rc *Receiver) serve(w http.ResponseWriter, req *http.Request) string {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return "bad_request"
	}
	ctx := req.Context()
	repo, err := rc.repository(ctx, req.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return "not_found"
	}
	body, err := webhook.ReadBody(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return "too_large"
	}
	token, err := rc.r.webhookToken(ctx, repo)
	if err != nil {
		http.Error(w, "the receiver is not configured", http.StatusInternalServerError)
		return "misconfigured"
	}
	provider := webhookProvider(repo)
	if err := webhook.Verify(provider, req.Header, body, token); err != nil {
		rc.log.Info("refused a webhook", "repository", client.ObjectKeyFromObject(repo), "reason", err.Error())
		if errors.Is(err, webhook.ErrWrongProvider) {
			// Signed with the right secret the wrong way: most likely a
			// misconfigured hook, which its owner should hear of.
			rc.r.recorder.Event(repo, corev1.EventTypeWarning, ReasonWebhookRefused, err.Error())
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return "signature_invalid"
	}
	id := webhook.DeliveryID(provider, req.Header, body)
	if delivered(repo, id) {
		rc.duplicate(w, repo, req, id)
		return "duplicate"
	}
	ev, err := webhook.Decode(provider, req.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return "bad_request"
	}
	dup, err := rc.act(ctx, repo, id, ev)
	switch {
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return "error"
	case dup:
		rc.duplicate(w, repo, req, id)
		return "duplicate"
	}
	w.WriteHeader(http.StatusAccepted)
	return "accepted"
}

// duplicate answers a replayed or redelivered delivery: 200, so that a
// provider's redelivery is not shown as failing, and nothing done.
func (rc *Receiver) duplicate(w http.ResponseWriter, repo *krtv1.WorkflowRepository, req *http.Request, id string) {
	rc.log.Info("ignored a delivery already acted on", "repository", client.ObjectKeyFromObject(repo), "delivery", id,
		"github", req.Header.Get("X-GitHub-Delivery"), "gitlab", req.Header.Get("X-Gitlab-Event-UUID"))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("duplicate delivery: already acted on, nothing done\n"))
}

// webhookProvider is the one sender the repository's receiver believes:
// spec.webhook.provider, else the pull request provider when that is a
// webhook provider, else GitHub.
func webhookProvider(repo *krtv1.WorkflowRepository) string {
	if w := repo.Spec.Webhook; w != nil && w.Provider != "" {
		return w.Provider
	}
	if p := repo.Spec.PullRequests; p != nil && (p.Provider == webhook.GitHub || p.Provider == webhook.GitLab) {
		return p.Provider
	}
	return webhook.GitHub
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

// act asks for a reconcile on a push, and records a pull request, with
// the delivery. It reports a delivery that another replica acted on
// first. A push is acted on before it is recorded: two replicas given one
// push may both ask for a reconcile, which costs one ls-remote and
// changes nothing.
func (rc *Receiver) act(ctx context.Context, repo *krtv1.WorkflowRepository, id string, ev webhook.Event) (bool, error) {
	key := client.ObjectKeyFromObject(repo)
	switch ev.Kind {
	case webhook.KindPush:
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, time.Now().Format(time.RFC3339Nano))
		if err := rc.r.client.Patch(ctx, repo, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return false, err
		}
		return rc.record(ctx, key, id, nil)
	case webhook.KindPullRequest:
		if repo.Spec.PullRequests == nil || !repo.Spec.PullRequests.Enabled {
			return false, nil
		}
		pr := prRecord(ev.PullRequest)
		return rc.record(ctx, key, id, func(cur *krtv1.WorkflowRepository) {
			upsertPullRequest(cur, pr, rc.r.now())
		})
	}
	return false, nil
}

// record writes a delivery and its change in one conditional status
// update. The first try reads the cache; after a conflict, the API
// server, where another replica's record of the same delivery shows.
func (rc *Receiver) record(ctx context.Context, key client.ObjectKey, id string, change func(*krtv1.WorkflowRepository)) (bool, error) {
	var reader client.Reader = rc.r.client
	dup := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &krtv1.WorkflowRepository{}
		err := reader.Get(ctx, key, cur)
		reader = rc.r.secrets // the uncached reader
		if err != nil {
			return err
		}
		if dup = delivered(cur, id); dup {
			return nil
		}
		if change != nil {
			change(cur)
		}
		recordDelivery(cur, id, rc.r.now())
		return rc.r.client.Status().Update(ctx, cur)
	})
	return dup, err
}

// prRecord is an event as the repository records it: trust (pushedBy)
// goes to the sender of an event that can bring a new head; a close
// brings none.
func prRecord(pr *webhook.PullRequest) krtv1.PullRequest {
	rec := krtv1.PullRequest{Number: pr.Number, HeadSHA: pr.HeadSHA, HeadRef: pr.HeadRef, Base: pr.Base,
		Author: pr.Author, PushedBy: pr.Sender, Fork: pr.Fork, Draft: pr.Draft, Action: pr.Action}
	if pr.Action == webhook.ActionClosed {
		rec.PushedBy = ""
	}
	if !pr.Time.IsZero() {
		// Seconds, as the API stores a time and as providers date events.
		rec.EventTime = metav1.NewTime(pr.Time.Truncate(time.Second))
	}
	return rec
}
