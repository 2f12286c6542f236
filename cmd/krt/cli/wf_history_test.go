package cli

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestWfHistoryTable(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Date(2026, 12, 6, 21, 0, s, 0, time.UTC)) }
	// Stored in the order the controller saw them; printed in time order.
	trail := []krtv1.AuditEntry{
		{Action: krtv1.AuditTrigger, User: "system:serviceaccount:krt-system:krt-controller", Time: at(0),
			Detail: "pull request #7 at abc, pushed by dana"},
		{Action: krtv1.AuditCancel, User: "alice", Time: at(9)},
		{Action: krtv1.AuditApprove, User: "bob", Time: at(5), Detail: "the run, at head abc", Approval: "pr-7-x"},
		{Action: krtv1.AuditReject, Time: at(7), Detail: "step deploy"},
	}
	var out strings.Builder
	if err := wfHistoryTable(&out, trail); err != nil {
		t.Fatal(err)
	}
	want := `TIME                   ACTION    USER                                              DETAIL
2026-12-06T21:00:00Z   trigger   system:serviceaccount:krt-system:krt-controller   pull request #7 at abc, pushed by dana
2026-12-06T21:00:05Z   approve   bob                                               the run, at head abc
2026-12-06T21:00:07Z   reject    <unknown>                                         step deploy
2026-12-06T21:00:09Z   cancel    alice                                             -
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// A rerun is the caller's: their name where a name is checked, no cancel
// carried over, and the old run named; what the run does is the old one's.
func TestWfRerunOf(t *testing.T) {
	old := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "deploy-manual-x1",
			Labels: map[string]string{"krt.dev/workflow": "deploy"}},
		Spec: krtv1.WorkflowRunSpec{Workflow: "deploy", Params: map[string]string{"env": "prod"},
			Event:       krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "alice"}},
			TriggeredBy: "alice", CancelRequested: true, CancelledBy: "carol",
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "a", Runtime: "bash", Run: "true"}}}},
	}
	wr := wfRerunOf(old, "bob")
	s := wr.Spec
	switch {
	case s.TriggeredBy != "bob" || s.Event.Manual.User != "bob" || s.RerunOf != old.Name:
		t.Errorf("names: triggeredBy %q, manual user %q, rerunOf %q", s.TriggeredBy, s.Event.Manual.User, s.RerunOf)
	case s.CancelRequested || s.CancelledBy != "":
		t.Errorf("the old run's cancel was carried over: %v by %q", s.CancelRequested, s.CancelledBy)
	case s.Params["env"] != "prod" || len(s.Definition.Steps) != 1 || wr.Labels["krt.dev/workflow"] != "deploy":
		t.Errorf("what the run does changed: %+v, labels %v", s, wr.Labels)
	case old.Spec.Event.Manual.User != "alice":
		t.Errorf("the old run was changed: manual user %q", old.Spec.Event.Manual.User)
	case wr.GenerateName != "deploy-rerun-" || wr.Namespace != "ci":
		t.Errorf("generateName %q in %q", wr.GenerateName, wr.Namespace)
	}
}

// A rerun goes with the workflow as it is now: an owner gone since the
// old run would have the garbage collector delete the rerun.
func TestWfRerunOwners(t *testing.T) {
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "deploy", UID: "new-uid"}}
	oldOwners := []metav1.OwnerReference{
		{APIVersion: krtv1.GroupVersion.String(), Kind: "Workflow", Name: "deploy", UID: "old-uid"},
		{APIVersion: krtv1.GroupVersion.String(), Kind: "WorkflowRepository", Name: "web", UID: "repo-uid"},
	}
	old := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "deploy-x", OwnerReferences: oldOwners},
		Spec: krtv1.WorkflowRunSpec{Workflow: "deploy"}}
	for _, tc := range []struct {
		name string
		objs []client.Object
		want []types.UID
	}{
		{"the workflow applied again", []client.Object{wf}, []types.UID{"new-uid"}},
		{"no workflow object", nil, []types.UID{"repo-uid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &wfSession{c: fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(tc.objs...).Build(), ns: "ci"}
			got, err := s.rerunOwners(context.Background(), old)
			if err != nil {
				t.Fatal(err)
			}
			var uids []types.UID
			for _, o := range got {
				uids = append(uids, o.UID)
			}
			if !slices.Equal(uids, tc.want) {
				t.Errorf("owners %v, want %v", uids, tc.want)
			}
		})
	}
	if len(old.OwnerReferences) != 2 {
		t.Errorf("the old run's owners were changed: %v", old.OwnerReferences)
	}
}

// -o json and yaml print status.history itself, for scripts; a run with
// none says so on stderr and prints no table.
func TestWfHistoryOutputs(t *testing.T) {
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "deploy-1"},
		Status: krtv1.WorkflowRunStatus{History: []krtv1.AuditEntry{{Action: krtv1.AuditTrigger, User: "alice",
			Time: metav1.NewTime(time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)), Detail: "manual"}}}}
	empty := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "deploy-2"}}
	objs := []client.Object{wr, empty}
	for _, tc := range []struct {
		args       []string
		wantOut    string
		wantStderr string
	}{
		{[]string{"-o", "json"}, `"user": "alice"`, ""},
		{[]string{"-o", "yaml"}, "- action: trigger\n  detail: manual\n  time: \"2026-12-06T21:00:00Z\"\n  user: alice\n", ""},
	} {
		out, stderr, code := runWith(t, objs, append([]string{"wf", "history", "deploy-1", "-n", "ci"}, tc.args...)...)
		if code != 0 || !strings.Contains(out, tc.wantOut) {
			t.Errorf("krt wf history %v: exit %d, stdout %q, stderr %q; want %q", tc.args, code, out, stderr, tc.wantOut)
		}
	}
	out, stderr, code := runWith(t, objs, "wf", "history", "deploy-2", "-n", "ci")
	if code != 0 || out != "" || !strings.Contains(stderr, "No history recorded for deploy-2 yet.") {
		t.Errorf("an empty history: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
