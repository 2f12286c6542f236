package install

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// seed creates, in a namespace of its own, something for each of
// krt-controller's controllers to reconcile when it starts: a Runtime
// (whose Deployment, ServiceAccount, Role and bindings the runtime
// controller writes), a Workflow, a run of it (whose Run the workflow
// controller creates, for the scheduler), a WorkflowRepository, a
// Cluster, an S3 ArtifactStore the Runtime names (whose Secret the
// maintainer reads and the runtime controller grants), and a finished and
// an orphaned Run (for the ttl controller and the reaper). Their first reconciles are where a
// permission the ClusterRole lacks would be refused.
func seed(t *testing.T, env *kubetest.Env) {
	t.Helper()
	ns := "seeded"
	spec := krtv1.WorkflowSpec{
		On:    krtv1.Triggers{Manual: &krtv1.ManualTrigger{}},
		Steps: []krtv1.Step{{Name: "hello", Runtime: "bash", Run: "echo hello"}},
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bash"},
			Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Languages: []krtv1.Language{krtv1.LanguageBash}, ArtifactStore: "store"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "store-keys"},
			StringData: map[string]string{"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "key"}},
		// Nothing listens there either: the sweep fails, which is not a
		// refusal.
		&krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "store"},
			Spec: krtv1.ArtifactStoreSpec{S3: &krtv1.S3Store{Bucket: "krt", Endpoint: "http://127.0.0.1:9",
				ForcePathStyle: true, CredentialsSecret: "store-keys"}}},
		&krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"}, Spec: spec},
		&krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello-1"},
			Spec: krtv1.WorkflowRunSpec{Workflow: "hello", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}, Definition: spec}},
		// Nothing listens there: the fetch fails, which is not a refusal.
		&krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "flows"},
			Spec: krtv1.WorkflowRepositorySpec{URL: "http://127.0.0.1:9/flows.git", Ref: &krtv1.GitRef{Branch: "main"},
				Interval: metav1.Duration{Duration: time.Hour}}},
		&krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "staging"},
			Spec: krtv1.ClusterSpec{KubeconfigSecretRef: krtv1.SecretKeySelector{Name: "staging-kubeconfig", Key: "value"}, Namespace: "apps"}},
	}
	ctx := context.Background()
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("seeding %T %s: %v", o, o.GetName(), err)
		}
	}
	// Runs in the states the ttl controller and the reaper act on: one
	// finished with no time left to live, one held by a pod that is gone.
	now := metav1.Now()
	for name, status := range map[string]krtv1.RunStatus{
		"expired":  {Phase: krtv1.RunSucceeded, Attempt: 1, StartTime: &now, CompletionTime: &now},
		"orphaned": {Phase: krtv1.RunRunning, Attempt: 1, AssignedPod: "gone", AssignedPodUID: "0", StartTime: &now},
	} {
		run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: krtv1.RunSpec{Runtime: "bash", Script: "true", TTLSecondsAfterFinished: ptr.To[int32](0)}}
		if err := env.Client.Create(ctx, run); err != nil {
			t.Fatalf("seeding Run %s: %v", name, err)
		}
		run.Status = status
		if err := env.Client.Status().Update(ctx, run); err != nil {
			t.Fatalf("seeding Run %s's status: %v", name, err)
		}
	}
}
