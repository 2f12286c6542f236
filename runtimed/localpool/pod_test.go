package localpool

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

// The local pool's runtimed gets the store and the runtime image as a
// cluster's does: from the same pod template.
func TestPodForPassesStoreAndImage(t *testing.T) {
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bash"},
		Spec: krtv1.RuntimeSpec{Image: "bash:5", Languages: []krtv1.Language{"bash"}, ArtifactStore: "files"}}
	pod := podFor(rt, 9000, 9001, "token")
	for _, c := range pod.Spec.Containers {
		if c.Name != runtimectl.RuntimedContainer {
			continue
		}
		args := strings.Join(c.Command, " ")
		if !strings.Contains(args, "--artifact-store files") || !strings.Contains(args, "--runtime-image bash:5") {
			t.Errorf("runtimed's command %q lacks the store or the runtime image", args)
		}
		return
	}
	t.Fatal("no runtimed container")
}
