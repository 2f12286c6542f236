package runtimeserver

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/archive"
)

// staged is the directory Stage made for an execution not yet started.
type staged struct {
	dir    string
	since  time.Time
	active int // Stage calls under way; Execute waits for none
}

// maxLeftover bounds the data a Stage stream may carry after its archive's
// end, which the server reads and drops to reach the StageEnd.
const maxLeftover = 1 << 20

// Stage unpacks a streamed tar.zst into a staging folder beside the
// execution's working directory and, on commit, merges it into
// work/<path>. The staging folder goes in every case.
func (s *Server) Stage(stream runtimev1.Runtime_StageServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil || h.GetId() == "" {
		return status.Error(codes.InvalidArgument, "the first message must be a header with an id")
	}
	rel, err := stagePath(h.GetPath())
	if err != nil {
		return err
	}
	st, release, err := s.beginStage(h.GetId())
	if err != nil {
		return err
	}
	defer release()
	staging, err := os.MkdirTemp(st.dir, "stage-")
	if err != nil {
		return status.Errorf(codes.Internal, "making a staging folder: %v", err)
	}
	defer removeAll(staging)
	stats, commit, err := unpackStream(stream, staging, h.GetMaxBytes())
	if err != nil {
		return err
	}
	if !commit {
		return stream.SendAndClose(&runtimev1.StageResponse{})
	}
	if err := s.commit(st.dir, filepath.Base(staging), rel); err != nil {
		return err
	}
	return stream.SendAndClose(&runtimev1.StageResponse{Files: int64(stats.Files), Bytes: stats.Bytes})
}

// stagePath checks the folder to extract into: "" and "." are work/
// itself; anything else stays under it, without "..".
func stagePath(p string) (string, error) {
	c := path.Clean(filepath.ToSlash(p))
	if p == "" || c == "." {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") || !filepath.IsLocal(c) || strings.Contains("/"+p+"/", "/../") {
		return "", status.Errorf(codes.InvalidArgument, "path %q must stay inside the working directory: relative, without \"..\"", p)
	}
	return c, nil
}

// beginStage refuses an execution that has started (or any, while an
// isolated server runs one), and makes its directory as Execute would.
// release ends this Stage's hold, which keeps Execute waiting.
func (s *Server) beginStage(id string) (*staged, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.execs[id]; ok {
		return nil, nil, status.Errorf(codes.FailedPrecondition, "execution %q has already started: stage its files before Execute", id)
	}
	if err := s.exclusiveLocked(id); err != nil {
		return nil, nil, err
	}
	st := s.staged[id]
	if st == nil {
		st = &staged{dir: filepath.Join(s.opts.WorkRoot, dirName(id))}
		_ = os.RemoveAll(st.dir) // left by an earlier server process
		if err := os.MkdirAll(filepath.Join(st.dir, "work"), 0o700); err != nil {
			return nil, nil, status.Errorf(codes.Internal, "creating the working directory: %v", err)
		}
		s.staged[id] = st
	}
	st.active++
	st.since = time.Now()
	return st, func() { s.mu.Lock(); st.active--; s.mu.Unlock() }, nil
}

// forgetStagedLocked drops what Stage made for an execution that never
// started.
func (s *Server) forgetStagedLocked(id string) error {
	st := s.staged[id]
	if st == nil {
		return nil
	}
	if st.active > 0 {
		return status.Errorf(codes.FailedPrecondition, "execution %q: its artifacts are still being staged", id)
	}
	delete(s.staged, id)
	if err := os.RemoveAll(st.dir); err != nil {
		return status.Errorf(codes.Internal, "removing %s: %v", st.dir, err)
	}
	return nil
}

// unpackStream unpacks the stream's data into dir as it arrives, then
// reads on to its StageEnd.
func unpackStream(stream runtimev1.Runtime_StageServer, dir string, maxBytes int64) (archive.Stats, bool, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return archive.Stats{}, false, status.Errorf(codes.Internal, "opening the staging folder: %v", err)
	}
	defer root.Close()
	in := &stageReader{stream: stream}
	stats, err := archive.Unpack(in, root, archive.UnpackOptions{MaxBytes: maxBytes})
	if in.err != nil {
		return stats, false, in.err
	}
	if err != nil {
		return stats, false, unpackError(err)
	}
	commit, err := in.finish()
	return stats, commit, err
}

func unpackError(err error) error {
	switch {
	case errors.Is(err, archive.ErrTooLarge), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return status.Errorf(codes.ResourceExhausted, "staging: %v", err)
	case errors.Is(err, archive.ErrUnsafe):
		return status.Errorf(codes.InvalidArgument, "staging refused an unsafe archive: %v", err)
	}
	return status.Errorf(codes.InvalidArgument, "staging: not a valid tar.zst: %v", err)
}

// stageReader reads a Stage stream's data messages as one byte stream,
// which ends at the StageEnd.
type stageReader struct {
	stream runtimev1.Runtime_StageServer
	buf    []byte
	end    *runtimev1.StageEnd
	err    error // the stream's own failure, which wins over Unpack's
}

func (r *stageReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.end != nil {
			return 0, io.EOF
		}
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *stageReader) next() {
	m, err := r.stream.Recv()
	switch {
	case err == io.EOF:
		r.err = status.Error(codes.InvalidArgument, "the stream ended without a StageEnd: nothing staged")
	case err != nil:
		r.err = err
	case m.GetHeader() != nil:
		r.err = status.Error(codes.InvalidArgument, "a second header: one Stage carries one archive")
	case m.GetEnd() != nil:
		r.end = m.GetEnd()
	default:
		r.buf = m.GetData()
	}
}

// finish reads what follows the archive up to the StageEnd, and says
// whether to commit.
func (r *stageReader) finish() (bool, error) {
	n, err := io.Copy(io.Discard, io.LimitReader(r, maxLeftover+1))
	switch {
	case r.err != nil:
		return false, r.err
	case err != nil:
		return false, err
	case n > maxLeftover:
		return false, status.Error(codes.InvalidArgument, "staging: data after the archive's end")
	}
	return r.end.GetCommit(), nil
}

// commit merges the staging folder into work/<rel>: it checks every
// conflict first, so that a refusal leaves work/ as it was, then moves.
// Renames within the execution's directory are cheap: no copy.
func (s *Server) commit(dir, staging, rel string) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return status.Errorf(codes.Internal, "opening %s: %v", dir, err)
	}
	defer root.Close()
	target := path.Join("work", rel)
	if err := checkFolders(root, target); err != nil {
		return err
	}
	if err := merge(root, staging, target, true); err != nil {
		return err
	}
	if err := root.MkdirAll(target, 0o755); err != nil {
		return status.Errorf(codes.Internal, "making %s: %v", target, err)
	}
	return merge(root, staging, target, false)
}

// checkFolders refuses a target whose existing components are not folders.
func checkFolders(root *os.Root, target string) error {
	parts := strings.Split(target, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return status.Errorf(codes.Internal, "checking %s: %v", p, err)
		}
		if !fi.IsDir() {
			return status.Errorf(codes.AlreadyExists, "%s exists and is not a folder: Stage does not overwrite", p)
		}
	}
	return nil
}

// merge moves src's entries into dst: a missing one by a rename, a folder
// into an existing folder recursively; any other existing entry is a
// conflict. With dry, it only looks for conflicts.
func merge(root *os.Root, src, dst string, dry bool) error {
	d, err := root.Open(src)
	if err != nil {
		return status.Errorf(codes.Internal, "reading %s: %v", src, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return status.Errorf(codes.Internal, "reading %s: %v", src, err)
	}
	for _, n := range names {
		from, to := path.Join(src, n), path.Join(dst, n)
		fi, err := root.Lstat(to)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !dry {
				if err := root.Rename(from, to); err != nil {
					return status.Errorf(codes.Internal, "moving into %s: %v", to, err)
				}
			}
			continue
		case err != nil:
			return status.Errorf(codes.Internal, "checking %s: %v", to, err)
		}
		sfi, err := root.Lstat(from)
		if err != nil {
			return status.Errorf(codes.Internal, "checking %s: %v", from, err)
		}
		if !fi.IsDir() || !sfi.IsDir() {
			return status.Errorf(codes.AlreadyExists, "%s already exists: Stage does not overwrite", to)
		}
		if err := merge(root, from, to, dry); err != nil {
			return err
		}
	}
	return nil
}
