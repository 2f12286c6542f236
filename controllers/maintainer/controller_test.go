package maintainer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
	"krt.dev/krt/test/kubetest"
)

// TestReconcile runs the maintainer in a manager against a real API
// server: a filesystem store is swept, and an S3 store nobody answers at
// is reported as such.
func TestReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := SetupWithManager(mgr, Options{Interval: time.Hour, BlobGrace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()
	ns := env.Namespace(t)
	t.Run("filesystem", func(t *testing.T) { testFilesystem(t, env, ns) })
	t.Run("unreachable", func(t *testing.T) { testUnreachable(t, env, ns) })
}

func testFilesystem(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	dir := t.TempDir()
	f := fixture{open(t, store.Options{Dir: dir}), func(k string) string { return dir + "/" + k }}
	live, gone := f.blob(t, "live", time.Hour), f.blob(t, "gone", time.Hour)
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "still-here"},
		Spec: krtv1.WorkflowRunSpec{Workflow: "wf", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}},
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "a", Runtime: "bash", Run: "true"}}}}}
	if err := env.Client.Create(ctx, wr); err != nil {
		t.Fatal(err)
	}
	kept := []string{store.RefKey(ns, "still-here", "u1", "bin"), store.RefKey(ns, NoWorkflowRun, "u3", "bin")}
	deleted := store.RefKey(ns, "deleted", "u2", "bin")
	f.record(t, kept[0], store.ArtifactRef{Digest: live}, time.Hour)
	f.record(t, kept[1], store.ArtifactRef{Digest: live}, time.Hour)
	f.record(t, deleted, store.ArtifactRef{Digest: gone}, time.Hour)

	as := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files"},
		Spec: krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: dir}}}
	if err := env.Client.Create(ctx, as); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, env.Client, as, metav1.ConditionTrue)
	if got.Status.LastSweep == nil || got.Status.Deleted < 2 { // the ref, and the blob only it named
		t.Errorf("status = %+v, want a last sweep that deleted the gone ref and its blob", got.Status)
	}
	for _, k := range kept {
		if err := f.s.GetRecord(ctx, k, &store.ArtifactRef{}); err != nil {
			t.Errorf("%s: %v, want it kept", k, err)
		}
	}
	if err := f.s.GetRecord(ctx, deleted, &store.ArtifactRef{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: %v, want it deleted with its WorkflowRun", deleted, err)
	}
}

func testUnreachable(t *testing.T, env *kubetest.Env, ns string) {
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s3-keys"},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "key"}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	as := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nowhere"},
		Spec: krtv1.ArtifactStoreSpec{S3: &krtv1.S3Store{Bucket: "krt", Endpoint: "http://127.0.0.1:1",
			ForcePathStyle: true, CredentialsSecret: secret.Name}}}
	if err := env.Client.Create(ctx, as); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, env.Client, as, metav1.ConditionFalse)
	c := conditions.Get(got, krtv1.ConditionReady)
	if c.Reason != ReasonStoreUnreachable || !strings.Contains(c.Message, "127.0.0.1:1") {
		t.Errorf("Ready = %s: %s, want %s naming the endpoint", c.Reason, c.Message, ReasonStoreUnreachable)
	}
	if got.Status.LastSweep != nil {
		t.Errorf("lastSweep = %v, want none: no sweep finished", got.Status.LastSweep)
	}
}

// waitReady waits for the store's Ready condition to have status.
func waitReady(t *testing.T, c client.Client, as *krtv1.ArtifactStore, status metav1.ConditionStatus) *krtv1.ArtifactStore {
	t.Helper()
	got := &krtv1.ArtifactStore{}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(as), got); err != nil {
			t.Fatal(err)
		}
		if r := conditions.Get(got, krtv1.ConditionReady); r != nil && r.Status == status {
			return got
		}
	}
	t.Fatalf("Ready never became %s: %+v", status, got.Status)
	return nil
}
