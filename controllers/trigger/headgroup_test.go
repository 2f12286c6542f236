package trigger

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/runs"
)

// A head-defined run never shares a concurrency group with a base-defined
// one, however long its group, and two head groups stay apart.
func TestConfineGroup(t *testing.T) {
	run := func(group string) *krtv1.WorkflowRun {
		return &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}},
			Spec: krtv1.WorkflowRunSpec{ConcurrencyGroup: group}}
	}
	long := strings.Repeat("x", maxGroup)
	seen := map[string]string{}
	for _, group := range []string{"deploy-prod", long, long[1:] + "y"} {
		wr := run(group)
		confineGroup(wr)
		got := wr.Spec.ConcurrencyGroup
		if !strings.HasPrefix(got, HeadGroupPrefix) || len(got) > maxGroup {
			t.Errorf("group %.20q… became %.40q… (%d characters)", group, got, len(got))
		}
		if wr.Labels[runs.LabelConcurrencyGroup] != runs.GroupHash(got) {
			t.Errorf("label %q does not name group %q", wr.Labels[runs.LabelConcurrencyGroup], got)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("groups %.20q… and %.20q… merged", other, group)
		}
		seen[got] = group
	}
	none := run("")
	confineGroup(none)
	if none.Spec.ConcurrencyGroup != "" {
		t.Errorf("a run without a group got %q", none.Spec.ConcurrencyGroup)
	}
}
