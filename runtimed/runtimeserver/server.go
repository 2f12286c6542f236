// Package runtimeserver is krt-runtime: the Runtime Server that executes a
// Run's script or command in the runtime container, on behalf of runtimed.
// It knows nothing of Kubernetes.
package runtimeserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// Options configures a Server.
type Options struct {
	// WorkRoot holds one directory per execution.
	WorkRoot string
	// Bash and Python are the interpreters for scripts.
	Bash, Python string
	// KillGrace is how long a cancelled or timed-out process group gets
	// between SIGTERM and SIGKILL, when the caller gives none.
	KillGrace time.Duration
	// LogBufferBytes bounds the output kept per execution for re-attach.
	LogBufferBytes int64
	// Retention is how long an ended execution that nobody forgot is kept.
	Retention time.Duration
	// Isolation is Shared (executions side by side), Exclusive (one at a
	// time, every leftover process killed and the working areas wiped
	// after each) or Ephemeral (as Exclusive, and only one ever).
	Isolation string
	// Wipe are directories emptied after each isolated execution, besides
	// WorkRoot; Keep are paths in them that stay (the socket, the binary).
	Wipe, Keep []string
}

func (o *Options) defaults() {
	if o.Bash == "" {
		o.Bash = "bash"
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.KillGrace == 0 {
		o.KillGrace = 10 * time.Second
	}
	if o.LogBufferBytes == 0 {
		o.LogBufferBytes = 8 << 20
	}
	if o.Retention == 0 {
		o.Retention = time.Hour
	}
	if o.Isolation == "" {
		o.Isolation = Shared
	}
}

// Server implements the krt.runtime.v1.Runtime service.
type Server struct {
	runtimev1.UnimplementedRuntimeServer
	opts Options

	started time.Time

	mu         sync.Mutex
	execs      map[string]*execution
	staged     map[string]*staged // by id, until it is executed or forgotten
	lastExpiry time.Time
	// taken is set once an isolated server has started an execution;
	// tainted once a sweep failed, after which it starts no more.
	taken   bool
	tainted error
	// commitMu serializes Stage commits, whose conflict check and moves
	// must not interleave with another's.
	commitMu sync.Mutex
}

// New returns a Server that keeps its executions under opts.WorkRoot.
func New(opts Options) (*Server, error) {
	opts.defaults()
	if opts.WorkRoot == "" {
		return nil, fmt.Errorf("a work root is required")
	}
	switch opts.Isolation {
	case Shared, Exclusive, Ephemeral:
	default:
		return nil, fmt.Errorf("isolation %q: want shared, exclusive or ephemeral", opts.Isolation)
	}
	if err := os.MkdirAll(opts.WorkRoot, 0o700); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, started: time.Now(), execs: map[string]*execution{}, staged: map[string]*staged{}}
	if s.isolated() {
		if err := becomeSubreaper(); err != nil {
			return nil, fmt.Errorf("isolation %s needs to adopt orphaned processes: %w", opts.Isolation, err)
		}
	}
	return s, nil
}

// Execute starts or attaches to an execution and streams it to the end.
func (s *Server) Execute(req *runtimev1.ExecuteRequest, stream runtimev1.Runtime_ExecuteServer) error {
	if req.GetId() == "" {
		return status.Error(codes.InvalidArgument, "id is required")
	}
	e, attached, err := s.startOrAttach(req)
	if err != nil {
		return err
	}
	return e.stream(stream.Context(), req.GetLogOffset(), attached, stream.Send)
}

func (s *Server) startOrAttach(req *runtimev1.ExecuteRequest) (*execution, bool, error) {
	s.mu.Lock()
	if now := time.Now(); now.Sub(s.lastExpiry) > time.Minute {
		s.expireLocked(now)
		s.lastExpiry = now
	}
	if e, ok := s.execs[req.GetId()]; ok {
		s.mu.Unlock()
		return e, true, nil
	}
	if req.GetAttachOnly() {
		s.mu.Unlock()
		return nil, false, status.Errorf(codes.NotFound, "execution %q is not known", req.GetId())
	}
	if st := s.staged[req.GetId()]; st != nil && st.active > 0 {
		s.mu.Unlock()
		return nil, false, status.Errorf(codes.FailedPrecondition, "execution %q: its artifacts are still being staged", req.GetId())
	}
	if err := s.admitLocked(req.GetId()); err != nil {
		s.mu.Unlock()
		return nil, false, err
	}
	// What Stage put there is the execution's own: keep it.
	_, keep := s.staged[req.GetId()]
	delete(s.staged, req.GetId())
	e := &execution{id: req.GetId(), dir: filepath.Join(s.opts.WorkRoot, dirName(req.GetId())), started: time.Now(),
		logs: newLogBuffer(s.opts.LogBufferBytes), ready: make(chan struct{}), done: make(chan struct{})}
	if s.isolated() {
		e.sweep = func() { s.sweep(e.dir) }
	}
	s.execs[e.id] = e
	s.mu.Unlock()
	// Outside the lock: one slow start must not hold up the others.
	defer close(e.ready)
	if err := s.launch(e, req, keep); err != nil {
		// Report a failed start as an ended execution, so the caller sees
		// it the same way whether it streams or asks for Status.
		e.logs.write(runtimev1.Stream_STREAM_STDERR, []byte(err.Error()+"\n"))
		e.finish(&runtimev1.Exit{Code: 127, Reason: runtimev1.ExitReason_EXIT_REASON_START_FAILED, Message: err.Error()}, &runtimev1.Outputs{})
	}
	return e, false, nil
}

// launch prepares a fresh working directory, or keeps the one Stage made,
// and starts the process.
func (s *Server) launch(e *execution, req *runtimev1.ExecuteRequest, keep bool) error {
	// A directory this process did not stage is left by an earlier server
	// process, hence stale by definition.
	if !keep {
		_ = os.RemoveAll(e.dir)
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "work"), 0o700); err != nil {
		return fmt.Errorf("creating the working directory: %w", err)
	}
	cmd, err := s.command(req, e.dir)
	if err != nil {
		removeSecrets(e.dir)
		return err
	}
	return e.start(cmd, req.GetTimeout().AsDuration(), s.opts.KillGrace)
}

// Shutdown stops every running execution, as the container stops: SIGTERM,
// then SIGKILL after grace, so that no process outlives the server.
func (s *Server) Shutdown(grace time.Duration) {
	s.mu.Lock()
	execs := make([]*execution, 0, len(s.execs))
	for _, e := range s.execs {
		execs = append(execs, e)
	}
	s.mu.Unlock()
	for _, e := range execs {
		<-e.ready
		e.kill(runtimev1.ExitReason_EXIT_REASON_CANCELLED, grace)
	}
	deadline := time.After(grace + time.Second)
	for _, e := range execs {
		select {
		case <-e.done:
		case <-deadline:
			return
		}
	}
}

// dirName keeps an id such as "<uid>/<attempt>" inside WorkRoot.
func dirName(id string) string {
	return strings.NewReplacer("/", "_", "..", "__").Replace(id)
}

// expireLocked forgets ended executions past their retention, so a server
// whose caller never calls Forget stays bounded.
func (s *Server) expireLocked(now time.Time) {
	for id, e := range s.execs {
		e.mu.Lock()
		old := e.exit != nil && now.Sub(e.ended) > s.opts.Retention
		e.mu.Unlock()
		if old {
			delete(s.execs, id)
			_ = os.RemoveAll(e.dir)
		}
	}
	for id, st := range s.staged {
		if st.active == 0 && now.Sub(st.since) > s.opts.Retention {
			delete(s.staged, id)
			_ = os.RemoveAll(st.dir)
		}
	}
}

func (s *Server) lookup(id string) (*execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "execution %q is not known", id)
	}
	return e, nil
}

// Cancel stops an execution's process group.
func (s *Server) Cancel(_ context.Context, req *runtimev1.CancelRequest) (*runtimev1.CancelResponse, error) {
	e, err := s.lookup(req.GetId())
	if status.Code(err) == codes.NotFound {
		return &runtimev1.CancelResponse{}, nil
	}
	grace := s.opts.KillGrace
	if req.GetGracePeriod() != nil {
		grace = req.GetGracePeriod().AsDuration()
	}
	return &runtimev1.CancelResponse{Found: e.kill(runtimev1.ExitReason_EXIT_REASON_CANCELLED, grace)}, nil
}

// Status reports one execution.
func (s *Server) Status(_ context.Context, req *runtimev1.StatusRequest) (*runtimev1.ExecutionStatus, error) {
	e, err := s.lookup(req.GetId())
	if err != nil {
		return nil, err
	}
	return e.status(), nil
}

// List reports every execution the server remembers.
func (s *Server) List(context.Context, *runtimev1.ListRequest) (*runtimev1.ListResponse, error) {
	s.mu.Lock()
	execs := make([]*execution, 0, len(s.execs))
	for _, e := range s.execs {
		execs = append(execs, e)
	}
	s.mu.Unlock()
	resp := &runtimev1.ListResponse{Started: timestamppb.New(s.started)}
	for _, e := range execs {
		resp.Executions = append(resp.Executions, e.status())
	}
	return resp, nil
}

// Forget drops an ended execution and its working directory.
func (s *Server) Forget(_ context.Context, req *runtimev1.ForgetRequest) (*runtimev1.ForgetResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[req.GetId()]
	if !ok {
		return &runtimev1.ForgetResponse{}, s.forgetStagedLocked(req.GetId())
	}
	select {
	case <-e.done:
	default:
		return nil, status.Errorf(codes.FailedPrecondition, "execution %q is still running; cancel it first", req.GetId())
	}
	delete(s.execs, req.GetId())
	if err := os.RemoveAll(e.dir); err != nil {
		return nil, status.Errorf(codes.Internal, "removing %s: %v", e.dir, err)
	}
	return &runtimev1.ForgetResponse{}, nil
}
