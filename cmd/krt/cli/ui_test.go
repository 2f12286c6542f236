package cli

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"
)

// syncBuffer is written by the command and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// krt ui prints its address with a sign-in token, opens no browser with
// --no-browser, and lets nothing in without a session.
func TestUIServes(t *testing.T) {
	var out syncBuffer
	cmd := NewCommand(Streams{Out: &out, Err: &out})
	cmd.SetArgs([]string{"ui", "--no-browser", "--address", "127.0.0.1:0", "--server", "http://127.0.0.1:1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/login\?token=\S+`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = re.FindStringSubmatch(out.String())
	}
	if m == nil {
		cancel()
		t.Fatalf("krt ui printed no sign-in address:\n%s", out.String())
	}
	for _, u := range []string{m[1] + "/ns/default/runs", m[1] + "/login?token=guess"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s: %d, want 401", u, resp.StatusCode)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("krt ui ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("krt ui did not stop with its context")
	}
}
