package runtimed

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/logs"
	"krt.dev/krt/runtimed/mask"
)

// chunk is one piece of output as the Runtime Server sends it.
type chunk struct {
	at   int64 // its offset; -1 for right after the previous one
	data string
}

// collect runs chunks through a collector and returns the Run's log, what
// runtimed wrote to its container log, and the result.
func collect(t *testing.T, secret string, opts logs.Options, chunks []chunk) (log, container string, res result) {
	t.Helper()
	var out bytes.Buffer
	run := &krtv1.Run{}
	run.UID = "u"
	store := logs.NewStore(opts)
	c := newCollector(&Agent{out: newJSONLines(&out)}, run, mask.New(secret), store.Open("u"))
	var next int64
	for _, ch := range chunks {
		if ch.at >= 0 {
			next = ch.at
		}
		c.event(&runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Log{Log: &runtimev1.LogChunk{
			Stream: runtimev1.Stream_STREAM_STDOUT, Data: []byte(ch.data), Offset: next}}})
		next += int64(len(ch.data))
	}
	c.event(&runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Exit{Exit: &runtimev1.Exit{Reason: runtimev1.ExitReason_EXIT_REASON_EXITED}}})
	c.flush()
	store.Finish("u")
	var lines []string
	_ = store.Get("u").Follow(context.Background(), false, func(l logs.Line) error { lines = append(lines, l.Text); return nil })
	return strings.Join(lines, "\n"), out.String(), c.result(run, false, true)
}

// pieces splits s into chunks of n bytes.
func pieces(s string, n int) []chunk {
	var out []chunk
	for i := 0; i < len(s); i += n {
		out = append(out, chunk{at: -1, data: s[i:min(i+n, len(s))]})
	}
	return out
}

func TestCollectorMasksAndBoundsTheLog(t *testing.T) {
	secret := strings.Repeat("0123456789abcdef", 100<<10/16) // 100 KiB, one line
	long := "echo " + secret + " and " + strings.Repeat("z", 3*logs.MaxLine) + "\nbye\n"
	cases := []struct {
		name       string
		opts       logs.Options
		chunks     []chunk
		wantIn     []string // in both the log and the Run's message or container log
		wantNote   string   // in the Run's message
		wantLines  int      // lines in the log, when set
		forbidLeak bool
	}{
		{name: "a 100 KiB secret cut across chunks and overlong lines", chunks: pieces(long, 4096),
			wantIn: []string{"echo *** and zzz", "bye"}, forbidLeak: true},
		{name: "the same in one chunk", chunks: pieces(long, len(long)), wantIn: []string{"echo *** and zzz", "bye"}, forbidLeak: true},
		{name: "a gap through the secret", chunks: []chunk{{at: 0, data: "x " + secret[:5000]}, {at: 60000, data: secret[60000-2:] + "\n" + strings.Repeat("f", len(secret)) + "\nafter\n"}},
			// What follows the gap is masked for as long as it could be
			// the rest of a secret.
			wantIn: []string{"x ***", "krt: 54998 bytes of output lost", "***fff", "after"}, wantNote: "; 54998 bytes of output lost before runtimed read them", forbidLeak: true},
		{name: "yes ''", opts: logs.Options{HeadBytes: 100 * logs.LineOverhead, TailBytes: 10 * logs.LineOverhead},
			chunks:   pieces(strings.Repeat("\n", 100000), 32<<10),
			wantIn:   []string{logs.NoticeFull, "krt: 99890 lines (0 bytes) dropped: log buffer full"},
			wantNote: "; output 99890 lines (0 bytes) dropped: log buffer full", wantLines: 100 + 1 + 1 + 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, container, res := collect(t, secret, tc.opts, tc.chunks)
			for _, want := range tc.wantIn {
				if !strings.Contains(log, want) || !strings.Contains(container, want) {
					t.Errorf("want %q in the log and the container log; log starts %.200q", want, log)
				}
			}
			if !strings.HasSuffix(res.message, tc.wantNote) || (tc.wantNote == "" && res.message != "exit code 0") {
				t.Errorf("message = %q, want it to end with %q", res.message, tc.wantNote)
			}
			if tc.wantLines > 0 && strings.Count(log, "\n")+1 != tc.wantLines {
				t.Errorf("the log has %d lines, want %d", strings.Count(log, "\n")+1, tc.wantLines)
			}
			if !tc.forbidLeak {
				return
			}
			for i := 0; i+32 <= len(secret); i += 16 {
				if w := secret[i : i+32]; strings.Contains(log, w) || strings.Contains(container, w) {
					t.Fatalf("32 bytes of the secret at %d leaked: %q", i, w)
				}
			}
		})
	}
}

func TestCollectorMasksEveryCut(t *testing.T) {
	secret := "s3cr3t-v4lue-0123456789"
	text := fmt.Sprintf("a %s b\n%s\n", secret, secret)
	for size := 1; size <= len(text); size++ {
		log, container, _ := collect(t, secret, logs.Options{}, pieces(text, size))
		if log != "a *** b\n***" || strings.Contains(container, "s3cr3t") {
			t.Fatalf("chunks of %d: log = %q", size, log)
		}
	}
}
