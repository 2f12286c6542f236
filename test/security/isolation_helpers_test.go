package security

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// createRun creates a Run of a script on a runtime.
func createRun(t *testing.T, ns, name, runtime, script string, vars map[string]string, labels map[string]string) *krtv1.Run {
	t.Helper()
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: krtv1.RunSpec{Runtime: runtime, Script: script}}
	for k, v := range vars {
		run.Spec.Env = append(run.Spec.Env, krtv1.EnvVar{Name: k, Value: v})
	}
	if err := env.Client.Create(context.Background(), run); err != nil {
		t.Fatalf("creating run %s: %v", name, err)
	}
	return run
}

// waitEnded waits for a Run to reach a terminal phase.
func waitEnded(t *testing.T, ns, name string) *krtv1.Run {
	t.Helper()
	var done *krtv1.Run
	eventually(t, 2*time.Minute, "run "+name+" to end", func() bool {
		done = getRun(t, ns, name)
		return done.Status.Phase.Terminal()
	})
	return done
}

// succeeded waits for a Run and fails the test unless it succeeded.
func succeeded(t *testing.T, ns, name string) *krtv1.Run {
	t.Helper()
	run := waitEnded(t, ns, name)
	if run.Status.Phase != krtv1.RunSucceeded {
		t.Fatalf("run %s: %s (%s)", name, run.Status.Phase, run.Status.Message)
	}
	return run
}
