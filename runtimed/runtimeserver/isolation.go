package runtimeserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Isolation modes, as a Runtime's spec.isolation names them.
const (
	Shared    = "shared"
	Exclusive = "exclusive"
	Ephemeral = "ephemeral"
)

// isolated says whether the server runs one execution at a time and cleans
// up after each.
func (s *Server) isolated() bool {
	return s.opts.Isolation == Exclusive || s.opts.Isolation == Ephemeral
}

// becomeSubreaper makes the server the parent of every orphan of its
// executions: a daemon started with setsid or a double fork leaves its
// process group, but not the server's care, so the sweep finds it.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// admitLocked refuses a new execution that the isolation mode forbids:
// a second one at once (exclusive and ephemeral), any after the first
// (ephemeral), any after a sweep failed.
func (s *Server) admitLocked(id string) error {
	if err := s.exclusiveLocked(id); err != nil {
		return err
	}
	s.taken = s.isolated()
	if s.isolated() {
		return s.dropEndedLocked()
	}
	return nil
}

// dropEndedLocked removes the directories of ended executions, which the
// sweep left for Collect: the next Run must not find them. runtimed
// collects before it reports a result, so before the next Run can come.
func (s *Server) dropEndedLocked() error {
	var errs []error
	for _, e := range s.execs {
		select {
		case <-e.done:
			errs = append(errs, removeAll(e.dir))
		default:
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.tainted = err
		return status.Errorf(codes.FailedPrecondition, "isolation %s: removing the last Run's files failed, so this pod takes no more Runs: %v", s.opts.Isolation, err)
	}
	return nil
}

// exclusiveLocked refuses what admitLocked refuses, without taking the
// pod: Stage asks it too, since a running execution's sweep would wipe
// what it staged.
func (s *Server) exclusiveLocked(id string) error {
	if !s.isolated() {
		return nil
	}
	if s.tainted != nil {
		return status.Errorf(codes.FailedPrecondition, "isolation %s: the last clean-up failed, so this pod takes no more Runs: %v", s.opts.Isolation, s.tainted)
	}
	if s.opts.Isolation == Ephemeral && s.taken {
		return status.Errorf(codes.FailedPrecondition, "isolation ephemeral: this pod has taken its one Run; %q needs a fresh pod", id)
	}
	for other, e := range s.execs {
		e.mu.Lock()
		running := e.exit == nil
		e.mu.Unlock()
		if running {
			return status.Errorf(codes.FailedPrecondition, "isolation %s: this pod runs one Run at a time and %q is still running", s.opts.Isolation, other)
		}
	}
	return nil
}

// sweep runs after an isolated execution's process has exited and before
// its exit is reported, so the next Run on this pod finds nothing of it:
// every process left (setsid daemons included) is killed, and the working
// areas are wiped, keeping only the server's own socket and binary, and
// the execution's own directory (dir), for Collect. With no process left
// nothing can change that directory; the next admit or Forget removes it.
func (s *Server) sweep(dir string) {
	err := errors.Join(killDescendants(), s.wipe(dir))
	if err != nil {
		s.mu.Lock()
		s.tainted = err
		s.mu.Unlock()
	}
}

// maxSweeps bounds the kill loop: each round kills the server's children,
// and their own children come back to it as orphans for the next.
const maxSweeps = 100

func killDescendants() error {
	self := os.Getpid()
	for range maxSweeps {
		kids, err := children(self)
		if err != nil || len(kids) == 0 {
			return err
		}
		for _, pid := range kids {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // its group, if it leads one
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range kids {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
	return fmt.Errorf("processes kept appearing after %d rounds of killing", maxSweeps)
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// The command name may hold spaces and parentheses: the fields
		// after it start at the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out, nil
}

// wipe empties the work root and the extra directories, keeping the
// server's own files.
func (s *Server) wipe(also ...string) error {
	var errs []error
	keep := append(append([]string{}, s.opts.Keep...), also...)
	for _, dir := range append([]string{s.opts.WorkRoot}, s.opts.Wipe...) {
		errs = append(errs, removeExcept(dir, keep))
	}
	return errors.Join(errs...)
}

// removeExcept removes everything in dir but the paths in keep and the
// directories on the way to them.
func removeExcept(dir string, keep []string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrPermission) {
		// A Run may chmod what it made; it is ours, so take it back.
		_ = os.Chmod(dir, 0o700)
		entries, err = os.ReadDir(dir)
	}
	if err != nil {
		return ignoreMissing(err)
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch holds(p, keep) {
		case keepAll:
			continue
		case keepSome:
			errs = append(errs, removeExcept(p, keep))
		default:
			errs = append(errs, removeAll(p))
		}
	}
	return errors.Join(errs...)
}

// ignoreMissing ignores a directory that does not exist: nothing to wipe.
func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

type keeping int

const (
	keepNone keeping = iota
	keepSome
	keepAll
)

func holds(p string, keep []string) keeping {
	k := keepNone
	for _, want := range keep {
		switch {
		case want == p:
			return keepAll
		case strings.HasPrefix(want, p+string(filepath.Separator)):
			k = keepSome
		}
	}
	return k
}

// removeAll removes a tree, first making its directories writable, since a
// Run may have left one read-only to outlast the wipe.
func removeAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
