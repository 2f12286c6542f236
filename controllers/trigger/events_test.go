package trigger

import (
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/validate"
)

func TestLastTick(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		cron, since, now, want string // want "" for none
	}{
		{"* * * * *", "2030-01-01T10:00:30Z", "2030-01-01T10:05:10Z", "2030-01-01T10:05:00Z"},
		{"* * * * *", "2030-01-01T10:00:30Z", "2030-01-01T10:00:50Z", ""},
		{"* * * * *", "2030-01-01T10:00:00Z", "2030-01-01T10:00:00Z", "2030-01-01T10:00:00Z"},
		{"0 3 * * *", "2029-01-01T00:00:00Z", "2030-01-01T10:00:00Z", "2030-01-01T03:00:00Z"},
		{"0 0 1 1 *", "2020-01-01T00:00:00Z", "2030-06-01T00:00:00Z", "2030-01-01T00:00:00Z"},
		{"@hourly", "2030-01-01T09:59:00Z", "2030-01-01T10:30:00Z", "2030-01-01T10:00:00Z"},
	}
	for _, tc := range tests {
		s, err := validate.ParseCron(tc.cron)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := lastTick(s, at(tc.since), at(tc.now))
		if tc.want == "" {
			if ok {
				t.Errorf("%s since %s at %s: got %s, want none", tc.cron, tc.since, tc.now, got)
			}
			continue
		}
		if !ok || !got.Equal(at(tc.want)) {
			t.Errorf("%s since %s at %s: got %s (%v), want %s", tc.cron, tc.since, tc.now, got, ok, tc.want)
		}
	}
}

func TestScheduleCandidates(t *testing.T) {
	created := time.Date(2030, 1, 1, 10, 0, 30, 0, time.UTC)
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "nightly", CreationTimestamp: metav1.NewTime(created)},
		Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Schedule: []krtv1.ScheduleTrigger{{Cron: "*/5 * * * *"}, {Cron: "*/10 * * * *"}}}}}
	now := created.Add(20 * time.Minute) // 10:20:30
	got, next, err := scheduleCandidates(wf, now)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Date(2030, 1, 1, 10, 20, 0, 0, time.UTC)
	if len(got) != 1 || got[0].event.Schedule.Time.Time != tick {
		t.Fatalf("candidates = %+v, want the one 10:20 tick of both crons", got)
	}
	if want := "nightly-cron-" + strconv.FormatInt(tick.Unix()/60, 10); got[0].name != want {
		t.Errorf("name = %s, want %s", got[0].name, want)
	}
	if want := tick.Add(5 * time.Minute); !next.Equal(want) {
		t.Errorf("next = %s, want %s", next, want)
	}
	wf.Spec.On.Schedule = []krtv1.ScheduleTrigger{{Cron: "nope"}}
	if _, _, err := scheduleCandidates(wf, now); err == nil {
		t.Error("a bad cron must be an error")
	}
}
