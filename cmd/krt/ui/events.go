package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
)

// sse is one server-sent event stream.
type sse struct {
	w  http.ResponseWriter
	f  http.Flusher
	mu sync.Mutex
}

func startSSE(w http.ResponseWriter) (*sse, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold the stream back
	w.WriteHeader(http.StatusOK)
	f.Flush()
	return &sse{w: w, f: f}, true
}

// send writes one event; data may span lines.
func (e *sse) send(event, data string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	if _, err := e.w.Write([]byte(b.String())); err != nil {
		return err
	}
	e.f.Flush()
	return nil
}

// latest keeps only the newest value put in it: a slow browser gets the
// state as it is now, never a backlog.
type latest[T any] struct {
	mu    sync.Mutex
	v     T
	ready chan struct{}
}

func newLatest[T any]() *latest[T] { return &latest[T]{ready: make(chan struct{}, 1)} }

func (l *latest[T]) put(v T) {
	l.mu.Lock()
	l.v = v
	l.mu.Unlock()
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

func (l *latest[T]) get() T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v
}

// runState is what the run page patches in place.
type runState struct {
	Phase    string     `json:"phase"`
	Symbol   string     `json:"symbol"`
	Message  string     `json:"message,omitempty"`
	Terminal bool       `json:"terminal"`
	Nodes    []nodeView `json:"nodes"`
}

// runEvents follows a run with a watch, as the user, and sends its state
// at most once per coalescing period.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) {
	se := sessionOf(r)
	key := client.ObjectKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	wr := &krtv1.WorkflowRun{}
	if err := se.c.Get(r.Context(), key, wr); err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	ev, ok := startSSE(w)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	l := newLatest[*krtv1.WorkflowRun]()
	go func() {
		defer cancel()
		_ = runops.WatchWorkflowRun(ctx, se.c, key, func(cur *krtv1.WorkflowRun) bool { l.put(cur); return false })
	}()
	s.pump(ctx, ev, l.ready, func() error {
		cur := l.get()
		st := runState{Phase: runPhase(cur), Symbol: symbol(runPhase(cur)), Message: cur.Status.Message,
			Terminal: cur.Status.Phase.Terminal(), Nodes: nodeViews(cur)}
		data, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return ev.send("run", string(data))
	})
}

// pump sends after each change, gathering the changes of one coalescing
// period into one event, with a comment now and then to keep proxies
// from closing a quiet stream.
func (s *Server) pump(ctx context.Context, ev *sse, ready <-chan struct{}, send func() error) {
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			ev.mu.Lock()
			_, err := ev.w.Write([]byte(": keep-alive\n\n"))
			ev.f.Flush()
			ev.mu.Unlock()
			if err != nil {
				return
			}
		case <-ready:
			if err := send(); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.opts.Coalesce):
			}
		}
	}
}

// runsEvents tells the runs list that something in the namespace changed;
// the page then fetches its table again, with its filters.
func (s *Server) runsEvents(w http.ResponseWriter, r *http.Request) {
	se := sessionOf(r)
	ns := r.PathValue("ns")
	list := &krtv1.WorkflowRunList{}
	if err := se.c.List(r.Context(), list, client.InNamespace(ns), client.Limit(1)); err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	ev, ok := startSSE(w)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	l := newLatest[int]()
	go func() {
		defer cancel()
		watchChanges(ctx, se.c, ns, list.ResourceVersion, func() { l.put(0) })
	}()
	s.pump(ctx, ev, l.ready, func() error { return ev.send("changed", "") })
}

// watchChanges calls changed on every change to the namespace's runs,
// watching again from now when a watch ends.
func watchChanges(ctx context.Context, c client.WithWatch, ns, rv string, changed func()) {
	for ctx.Err() == nil {
		w, err := c.Watch(ctx, &krtv1.WorkflowRunList{}, client.InNamespace(ns),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
		if err != nil {
			return
		}
		for e := range w.ResultChan() {
			if e.Type == watch.Error {
				break
			}
			changed()
		}
		w.Stop()
		rv = ""
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// lineWriter sends each whole line written to it as one event.
type lineWriter struct {
	ev  *sse
	buf bytes.Buffer
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf.Write(p)
	for {
		i := bytes.IndexByte(lw.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimSuffix(string(lw.buf.Next(i+1)), "\n")
		if err := lw.ev.send("line", strings.TrimSuffix(line, "\r")); err != nil {
			return 0, err
		}
	}
}

func (lw *lineWriter) flush() {
	if lw.buf.Len() > 0 {
		_ = lw.ev.send("line", lw.buf.String())
		lw.buf.Reset()
	}
}

// nodeLogs streams a node's log as it is written: it waits for the node
// to have a Run and the Run to start, then follows it as `krt logs -f`
// does, through runops, so the lines are runtimed's, already masked.
func (s *Server) nodeLogs(w http.ResponseWriter, r *http.Request) {
	se := sessionOf(r)
	key := client.ObjectKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	node := r.PathValue("node")
	wr := &krtv1.WorkflowRun{}
	if err := se.c.Get(r.Context(), key, wr); err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	ev, ok := startSSE(w)
	if !ok {
		return
	}
	if err := s.followNode(r.Context(), se, key, node, ev); err != nil && r.Context().Err() == nil {
		_ = ev.send("note", fmt.Sprintf("no logs: %v", err))
	}
	_ = ev.send("end", "")
}

func (s *Server) followNode(ctx context.Context, se *session, key client.ObjectKey, node string, ev *sse) error {
	var n krtv1.NodeStatus
	err := runops.WatchWorkflowRun(ctx, se.c, key, func(cur *krtv1.WorkflowRun) bool {
		for _, x := range cur.Status.Nodes {
			if x.Name == node {
				n = x
			}
		}
		return n.Run != "" || cur.Status.Phase.Terminal()
	})
	if err != nil {
		return err
	}
	if n.Run == "" {
		return fmt.Errorf("node %s ran nothing", node)
	}
	src, run, err := runops.NodeRun(ctx, se.c, key.Namespace, map[string]runops.LogSource{"": {C: se.c, Cfg: se.cfg}}, n, s.opts.Kubeconfig, "krt-ui")
	if err != nil {
		return err
	}
	err = runops.WatchRun(ctx, src.C, client.ObjectKeyFromObject(run), func(cur *krtv1.Run) bool {
		run = cur
		return cur.Status.Phase.Terminal() || (cur.Status.AssignedPod != "" && cur.Status.Phase == krtv1.RunRunning)
	})
	if err != nil {
		return err
	}
	if run.Status.AssignedPod == "" {
		return fmt.Errorf("its Run %s ended without starting (%s)", run.Name, run.Status.Phase)
	}
	// A pod that is gone took its live log; runops then reads the one
	// runtimed archived, as krt logs does.
	lw := &lineWriter{ev: ev}
	defer lw.flush()
	return runops.StreamLogs(ctx, src, run, true, lw, func(msg string) {
		lw.flush()
		_ = ev.send("note", msg)
	})
}
