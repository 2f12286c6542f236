package security

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestLogServerRefusesCallersWithoutTheToken reads a Run's log from its
// pod's runtimed log server as other processes could: from the test
// process, and from a step on the other pod, which shares nothing but the
// network.
func TestLogServerRefusesCallersWithoutTheToken(t *testing.T) {
	ns := logsRuntime(t, "logsrv", 2)
	victim := logsRun(t, ns, krtv1.RunSpec{Runtime: "logsrv", Script: "echo private-output-of-the-victim"}, 2*time.Minute)
	pod := podOf(t, victim)
	var other string
	for _, p := range pool.Pods(ns, "logsrv") {
		if p.Name != pod.Name {
			other = p.LogsToken
		}
	}
	cases := []struct {
		name  string
		token string
		want  int
	}{
		{name: "no token", want: http.StatusUnauthorized},
		{name: "a guessed token", token: "admin", want: http.StatusUnauthorized},
		{name: "another pod's token", token: other, want: http.StatusUnauthorized},
		{name: "the pod's own token", token: pod.LogsToken, want: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := serverLog(t, pod, victim, tc.token)
			if code != tc.want {
				t.Fatalf("status = %d (%s), want %d", code, body, tc.want)
			}
			if leaked := strings.Contains(body, "private-output"); leaked != (code == http.StatusOK) {
				t.Fatalf("status %d with body %q", code, body)
			}
		})
	}
	t.Run("a step on another pod", func(t *testing.T) {
		port := strings.TrimPrefix(pod.LogsURL, "http://127.0.0.1:")
		attack := logsRun(t, ns, krtv1.RunSpec{Runtime: "logsrv", Env: []krtv1.EnvVar{{Name: "PORT", Value: port}, {Name: "VICTIM", Value: string(victim.UID)}},
			Script: `exec 3<>/dev/tcp/127.0.0.1/$PORT
printf 'GET /runs/%s/logs HTTP/1.0\r\n\r\n' "$VICTIM" >&3
cat <&3`}, 2*time.Minute)
		out := krtLogs(t, attack)
		if !strings.HasPrefix(out, fmt.Sprintf("HTTP/1.0 %d", http.StatusUnauthorized)) || strings.Contains(out, "private-output") {
			t.Fatalf("the step read %q, want 401 and no log", out)
		}
	})
}
