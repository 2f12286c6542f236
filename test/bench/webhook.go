package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/webhook"
	"krt.dev/krt/workflows/parse"
)

// pushes is how many webhook pushes the latency figure times, after one
// that warms up the controller's paths.
const pushes = 20

const hookToken = "bench-webhook-token"

// webhookTarget is the DESIGN's bound from a webhook push to the first Run;
// the bench measures to the Workflow being applied, a step short of that.
const webhookTargetMillis = 500

// webhookToWorkflow times a GitHub push webhook until a watch sees the
// Workflow the push added. The repository's interval is an hour, so only
// the webhook explains a new revision. The baseline is the API server's
// own floor for the same observation: a client creating an equivalent
// Workflow until the same watch sees it.
func (b *bench) webhookToWorkflow(ctx context.Context) error {
	ctl, err := b.startGitController("krt-controller-webhook")
	if err != nil {
		return err
	}
	defer ctl.stop()
	host, err := startGitHost(filepath.Join(b.env.Dir, "git-webhook"))
	if err != nil {
		return err
	}
	defer host.close()
	tree, err := host.newTree("flows")
	if err != nil {
		return err
	}
	prev, err := tree.commitPush(map[string]string{"workflows/w00.yaml": workflowYAML("w00")}, "first workflow")
	if err != nil {
		return err
	}
	ns, err := b.namespace(ctx, "git-webhook")
	if err != nil {
		return err
	}
	repo, err := b.hookedRepository(ctx, ns, host.url("flows"))
	if err != nil {
		return err
	}
	cur, err := b.waitHandled(ctx, repo, prev)
	if err != nil {
		return err
	}
	if cur.Status.WebhookPath == "" {
		return fmt.Errorf("repository %s is Ready without a webhookPath", repo.Name)
	}
	url := "http://" + ctl.hook + cur.Status.WebhookPath
	seen, err := watchWorkflows(ctx, b.watcher, ns)
	if err != nil {
		return err
	}
	defer seen.stop()
	var viaHook, answered, handled, floor []float64
	before := host.srv.Counts()["flows"]
	spent0, reconciles0, err := ctl.reconcileTime(ctx)
	if err != nil {
		return err
	}
	// Push 0 warms up; each push is paired with a baseline create, so both
	// see the machine at the same moment.
	for i := 0; i <= pushes; i++ {
		name := fmt.Sprintf("w%02d", i+1)
		sha, err := tree.commitPush(map[string]string{"workflows/" + name + ".yaml": workflowYAML(name)}, "add "+name)
		if err != nil {
			return err
		}
		body := fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q}`, prev, sha)
		sent := time.Now()
		if err := postPush(ctx, url, body); err != nil {
			return err
		}
		answer := ms(time.Since(sent))
		at, err := seen.wait(name, 30*time.Second)
		if err != nil {
			return fmt.Errorf("after push %d: %w%s", i, err, ctl.state())
		}
		// The next push waits for this reconcile's status write, so it
		// never queues behind it.
		if _, err := b.waitHandled(ctx, repo, sha); err != nil {
			return err
		}
		done := ms(time.Since(sent))
		prev = sha
		base, err := b.createToWatch(ctx, seen, ns, fmt.Sprintf("floor-%02d", i))
		if err != nil {
			return err
		}
		if i == 0 {
			continue
		}
		viaHook, answered = append(viaHook, ms(at.Sub(sent))), append(answered, answer)
		handled, floor = append(handled, done), append(floor, base)
	}
	// What each push cost the git server, besides the push itself: a
	// reconcile's ls-remote and fetch each list the refs first.
	after := host.srv.Counts()["flows"]
	listings := float64(after.Listings-before.Listings) / (pushes + 1)
	fetches := float64(after.Fetches-before.Fetches) / (pushes + 1)
	spent1, reconciles1, err := ctl.reconcileTime(ctx)
	if err != nil {
		return err
	}
	// A mean, since the histogram's buckets are too coarse for a median.
	perReconcile := (spent1 - spent0) / float64(reconciles1-reconciles0)
	for _, xs := range [][]float64{viaHook, answered, handled, floor} {
		sort.Float64s(xs)
	}
	p50, base := percentile(viaHook, 50), percentile(floor, 50)
	fmt.Fprintf(os.Stderr, "bench: webhook push → Workflow over %d pushes: p50 %.1fms p90 %.1fms (answered p50 %.1fms, repository status p50 %.1fms; %d reconciles, mean %.1fms; per push %.1f listings, %.1f fetches); create → watch p50 %.1fms\n",
		pushes, p50, percentile(viaHook, 90), percentile(answered, 50), percentile(handled, 50), reconciles1-reconciles0, perReconcile, listings, fetches, base)
	b.results["webhook_to_workflow_ms"] = map[string]float64{"p50": round(p50), "p90": round(percentile(viaHook, 90))}
	b.results["webhook_answered_ms_p50"] = round(percentile(answered, 50))
	b.results["webhook_to_repository_status_ms_p50"] = round(percentile(handled, 50))
	b.results["create_to_watch_ms_p50"] = round(base)
	b.results["webhook_to_workflow_p50_vs_create_to_watch"] = round2(p50 / base)
	b.results["webhook_to_workflow_p50_vs_target"] = round2(p50 / webhookTargetMillis)
	b.results["webhook_pushes"] = pushes
	b.results["webhook_reconcile_mean_ms"] = round(perReconcile)
	b.results["webhook_git_requests_per_push"] = map[string]float64{"listings": round(listings), "fetches": round(fetches)}
	return nil
}

// hookedRepository creates a webhook Secret and a repository that reads
// it, checking only hourly on its own.
func (b *bench) hookedRepository(ctx context.Context, ns, url string) (*krtv1.WorkflowRepository, error) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns}, StringData: map[string]string{"token": hookToken}}
	if err := b.env.Client.Create(ctx, secret); err != nil {
		return nil, err
	}
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns}, Spec: krtv1.WorkflowRepositorySpec{
		URL: url, Ref: &krtv1.GitRef{Branch: "main"}, Interval: metav1.Duration{Duration: time.Hour},
		Webhook: &krtv1.WebhookSpec{SecretRef: krtv1.LocalObjectReference{Name: "hook"}},
	}}
	return repo, b.env.Client.Create(ctx, repo)
}

// waitHandled waits until the repository's status says it is Ready at
// commit sha.
func (b *bench) waitHandled(ctx context.Context, repo *krtv1.WorkflowRepository, sha string) (*krtv1.WorkflowRepository, error) {
	cur := &krtv1.WorkflowRepository{}
	err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := b.env.Client.Get(ctx, client.ObjectKeyFromObject(repo), cur); err != nil {
			return false, err
		}
		art := cur.Status.Artifact
		return art != nil && strings.HasSuffix(art.Revision, sha) && apimeta.IsStatusConditionTrue(cur.Status.Conditions, krtv1.ConditionReady), nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for repository %s at %.7s: %w; conditions %v", repo.Name, sha, err, cur.Status.Conditions)
	}
	return cur, nil
}

// createToWatch creates a Workflow like those pushed and times it until
// the watch sees it, in milliseconds.
func (b *bench) createToWatch(ctx context.Context, seen *sightings, ns, name string) (float64, error) {
	// Parsed as the source controller parses the pushed files.
	docs, errs := parse.File(name+".yaml", []byte(workflowYAML(name)))
	if len(errs) > 0 || len(docs) != 1 {
		return 0, fmt.Errorf("parsing the baseline workflow: %v", errs)
	}
	wf := docs[0].Object
	wf.SetNamespace(ns)
	sent := time.Now()
	if err := b.env.Client.Create(ctx, wf); err != nil {
		return 0, err
	}
	at, err := seen.wait(name, 30*time.Second)
	return ms(at.Sub(sent)), err
}

// postPush sends a GitHub push webhook, signed with the repository's token.
func postPush(ctx context.Context, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader([]byte(body), []byte(hookToken)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the webhook answered %s, want 202", resp.Status)
	}
	return nil
}
