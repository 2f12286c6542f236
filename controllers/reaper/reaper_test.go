package reaper

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestVerdict(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "uid-1"}}
	lease := func(age time.Duration, holder string) *coordinationv1.Lease {
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder),
			LeaseDurationSeconds: ptr.To(int32(15)), RenewTime: &metav1.MicroTime{Time: now.Add(-age)}}}
	}
	running := func() *krtv1.Run {
		return &krtv1.Run{Status: krtv1.RunStatus{Phase: krtv1.RunRunning, AssignedPod: "p", AssignedPodUID: "uid-1"}}
	}
	scheduled := func(ago time.Duration) *krtv1.Run {
		r := running()
		r.Status.Phase = krtv1.RunScheduled
		r.Status.ScheduledTime = &metav1.MicroTime{Time: now.Add(-ago)}
		return r
	}
	cases := []struct {
		name        string
		run         *krtv1.Run
		pod         *corev1.Pod
		lease       *coordinationv1.Lease
		wantReason  string
		wantRecheck time.Duration
	}{
		{name: "pod gone", run: running(), pod: nil, lease: lease(0, "uid-1"), wantReason: ReasonPodGone},
		{name: "pod replaced", run: running(), pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "uid-2"}}, lease: lease(0, "uid-2"), wantReason: ReasonPodReplaced},
		{name: "heartbeat stale", run: running(), pod: pod, lease: lease(20*time.Second, "uid-1"), wantReason: ReasonHeartbeatLost},
		{name: "no lease", run: running(), pod: pod, lease: nil, wantReason: ReasonHeartbeatLost},
		{name: "lease held for an older pod", run: running(), pod: pod, lease: lease(0, "uid-0"), wantReason: ReasonHeartbeatLost},
		{name: "healthy: look again when the lease would expire", run: running(), pod: pod, lease: lease(5*time.Second, "uid-1"),
			wantRecheck: 10*time.Second + time.Millisecond},
		{name: "never claimed", run: scheduled(2 * time.Minute), pod: pod, lease: lease(0, "uid-1"), wantReason: ReasonNotClaimed},
		{name: "not claimed yet: look again at the deadline", run: scheduled(50 * time.Second), pod: pod, lease: lease(0, "uid-1"),
			wantRecheck: 10 * time.Second},
	}
	r := &Reaper{opts: Options{ClaimTimeout: time.Minute}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reason, msg, recheck := r.verdict(tc.run, tc.pod, tc.lease, now)
			if reason != tc.wantReason {
				t.Fatalf("reason = %q (%s), want %q", reason, msg, tc.wantReason)
			}
			if reason == "" && recheck != tc.wantRecheck {
				t.Errorf("recheck in %s, want %s", recheck, tc.wantRecheck)
			}
		})
	}
}
