package runtime

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

func storeRuntime() *krtv1.Runtime {
	return &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bash"},
		Spec: krtv1.RuntimeSpec{Image: "bash:5", Languages: []krtv1.Language{"bash"}, ArtifactStore: "store", Secrets: []string{"token"}}}
}

func TestPodTemplatePassesTheStore(t *testing.T) {
	rt := storeRuntime()
	claim := &krtv1.ArtifactStore{Spec: krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: "/store", ClaimName: "shared"}}}
	tmpl := PodTemplate(rt, PodOptions{RuntimedImage: "runtimed:test", ArtifactStore: claim})
	var runtimed, step corev1.Container
	for _, c := range tmpl.Spec.Containers {
		if c.Name == RuntimedContainer {
			runtimed = c
		} else {
			step = c
		}
	}
	args := strings.Join(runtimed.Command, " ")
	if !strings.Contains(args, "--artifact-store store") || !strings.Contains(args, "--runtime-image bash:5") {
		t.Errorf("runtimed's command %q lacks the store or the runtime image", args)
	}
	mounted := func(c corev1.Container) bool {
		return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == storeVolume && m.MountPath == "/store" })
	}
	if !mounted(runtimed) || mounted(step) {
		t.Errorf("the claim must be mounted at /store in runtimed alone: runtimed %v, step %v", runtimed.VolumeMounts, step.VolumeMounts)
	}
	if !slices.ContainsFunc(tmpl.Spec.Volumes, func(v corev1.Volume) bool {
		return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "shared"
	}) {
		t.Errorf("no volume of claim shared: %v", tmpl.Spec.Volumes)
	}
	plain := PodTemplate(rt, PodOptions{RuntimedImage: "runtimed:test"})
	if len(plain.Spec.Volumes) != len(tmpl.Spec.Volumes)-1 {
		t.Errorf("without a claim, no volume is added")
	}
}

func TestRulesGrantTheStoreSecret(t *testing.T) {
	rt := storeRuntime()
	s3 := &krtv1.ArtifactStore{Spec: krtv1.ArtifactStoreSpec{S3: &krtv1.S3Store{Bucket: "b", CredentialsSecret: "s3-keys"}}}
	rules := Rules(rt, s3)
	if len(rules) != 1 || !slices.Equal(rules[0].ResourceNames, []string{"token", "s3-keys"}) {
		t.Errorf("rules = %+v, want get on token and s3-keys by name", rules)
	}
	rt.Spec.Secrets = nil
	if rules := Rules(rt, nil); rules != nil {
		t.Errorf("no Secrets and no store: rules = %+v, want none", rules)
	}
}

func TestMissingArtifactStoreIsAConditionNotAFailure(t *testing.T) {
	rt := storeRuntime()
	c := fake.NewClientBuilder().WithScheme(scheme.New()).Build()
	r := &Reconciler{client: c, cache: c}
	as, err := r.artifactStore(context.Background(), rt)
	if err != nil || as != nil {
		t.Fatalf("artifactStore = %v, %v; want nil, nil", as, err)
	}
	cond := conditions.Get(rt, krtv1.ConditionArtifactStore)
	if cond == nil || cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, "ns/store") || !strings.Contains(cond.Message, "the pods run") {
		t.Errorf("condition = %+v", cond)
	}
}
