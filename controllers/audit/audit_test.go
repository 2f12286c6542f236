package audit

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func decision(i int) krtv1.AuditEntry {
	return krtv1.AuditEntry{Action: krtv1.AuditApprove, User: fmt.Sprintf("user%d", i),
		Time: metav1.NewTime(time.Unix(int64(i), 0)), Approval: fmt.Sprintf("a%03d", i)}
}

func decisions(n int) []krtv1.AuditEntry {
	out := make([]krtv1.AuditEntry, 0, n)
	for i := range n {
		out = append(out, decision(i))
	}
	return out
}

var (
	trigger = krtv1.AuditEntry{Action: krtv1.AuditTrigger, User: "alice"}
	cancel  = krtv1.AuditEntry{Action: krtv1.AuditCancel, User: "bob"}
)

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name        string
		passes      [][]krtv1.AuditEntry
		wantLen     int
		wantOmitted int32
		wantNew     int // reported by the last pass
	}{
		{name: "a trigger is recorded once", passes: [][]krtv1.AuditEntry{{trigger}, {trigger}},
			wantLen: 1, wantNew: 0},
		{name: "a cancel follows the trigger", passes: [][]krtv1.AuditEntry{{trigger}, {trigger, cancel}},
			wantLen: 2, wantNew: 1},
		{name: "a second trigger entry is the same action",
			passes:  [][]krtv1.AuditEntry{{trigger}, {{Action: krtv1.AuditRerun, User: "carol"}}},
			wantLen: 1, wantNew: 0},
		{name: "decisions fill their slots; the rest are counted and reported once",
			passes:  [][]krtv1.AuditEntry{append([]krtv1.AuditEntry{trigger}, decisions(70)...)},
			wantLen: 63, wantOmitted: 8, wantNew: 71},
		{name: "a full history still takes the cancel",
			passes: [][]krtv1.AuditEntry{append([]krtv1.AuditEntry{trigger}, decisions(70)...),
				append(append([]krtv1.AuditEntry{trigger}, decisions(70)...), cancel)},
			wantLen: 64, wantOmitted: 8, wantNew: 1},
		{name: "a decision past the cap is reported once, when it comes",
			passes: [][]krtv1.AuditEntry{append([]krtv1.AuditEntry{trigger}, decisions(70)...),
				append([]krtv1.AuditEntry{trigger}, decisions(71)...),
				append([]krtv1.AuditEntry{trigger}, decisions(71)...)},
			wantLen: 63, wantOmitted: 9, wantNew: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &krtv1.WorkflowRunStatus{}
			var got []krtv1.AuditEntry
			for _, pass := range tc.passes {
				got = Merge(st, pass)
			}
			if len(st.History) != tc.wantLen || st.HistoryOmitted != tc.wantOmitted || len(got) != tc.wantNew {
				t.Errorf("history %d entries, %d omitted, %d new; want %d, %d, %d",
					len(st.History), st.HistoryOmitted, len(got), tc.wantLen, tc.wantOmitted, tc.wantNew)
			}
			if len(st.History) > krtv1.MaxHistory {
				t.Errorf("history has %d entries, past its cap of %d", len(st.History), krtv1.MaxHistory)
			}
			if st.History[0].Action != krtv1.AuditTrigger {
				t.Errorf("first entry %q, want the trigger", st.History[0].Action)
			}
		})
	}
}

// Each reported entry is one Event on the run, saying who did what.
func TestReportEvents(t *testing.T) {
	rec := record.NewFakeRecorder(8)
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "deploy-1"}}
	Report(context.Background(), rec, wr, []krtv1.AuditEntry{
		{Action: krtv1.AuditTrigger, User: "alice", Detail: "manual"},
		{Action: krtv1.AuditApprove, User: "bob", Detail: "step gate", Approval: "a1"},
		{Action: krtv1.AuditCancel},
	})
	close(rec.Events)
	var got []string
	for e := range rec.Events {
		got = append(got, e)
	}
	want := []string{"Normal Triggered trigger by alice: manual", "Normal Approved approve by bob: step gate",
		"Normal CancelRequested cancel by <unknown>"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}
