package runtimeserver

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/archive"
)

// collectChunk is the size of Collect's data messages: large enough that
// per-message costs vanish, well under gRPC's 4 MiB default limit.
const collectChunk = 1 << 20

// Collect packs paths of an ended execution's working directory into a
// temporary file beside it, hashing as it goes, then streams a header with
// the digest and size, and the file.
func (s *Server) Collect(req *runtimev1.CollectRequest, stream runtimev1.Runtime_CollectServer) error {
	e, err := s.lookup(req.GetId())
	if err != nil {
		return err
	}
	select {
	case <-e.done:
	default:
		return status.Errorf(codes.FailedPrecondition, "execution %q is still running: collect once it has ended", req.GetId())
	}
	root, err := os.OpenRoot(filepath.Join(e.dir, "work"))
	if errors.Is(err, fs.ErrNotExist) {
		return status.Errorf(codes.FailedPrecondition, "execution %q: its working directory is gone (isolation %s wipes it as the execution ends, or it was forgotten)", req.GetId(), s.opts.Isolation)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "opening the working directory: %v", err)
	}
	defer root.Close()
	root, paths, err := collectRoot(root, req)
	if err != nil {
		return err
	}
	defer root.Close()
	tmp, err := os.CreateTemp(e.dir, "collect-*.tar.zst")
	if err != nil {
		return status.Errorf(codes.Internal, "creating a temporary file: %v", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	sum := sha256.New()
	stats, err := archive.Pack(io.MultiWriter(tmp, sum), root, paths, archive.PackOptions{MaxBytes: req.GetMaxBytes()})
	if err != nil {
		return packError(err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "rewinding the archive: %v", err)
	}
	header := &runtimev1.CollectHeader{Digest: "sha256:" + hex.EncodeToString(sum.Sum(nil)), Size: size,
		Files: int64(stats.Files), Bytes: stats.Bytes}
	if err := stream.Send(&runtimev1.CollectChunk{Chunk: &runtimev1.CollectChunk_Header{Header: header}}); err != nil {
		return err
	}
	return sendFile(tmp, stream)
}

// collectRoot is where the archive's names start: the working directory,
// or, with contents, the folder the one path names, or a file's parent.
// os.Root keeps both inside the working directory.
func collectRoot(root *os.Root, req *runtimev1.CollectRequest) (*os.Root, []string, error) {
	paths := req.GetPaths()
	if !req.GetContents() {
		sub, err := root.OpenRoot(".")
		return sub, paths, err
	}
	if len(paths) != 1 {
		return nil, nil, status.Errorf(codes.InvalidArgument, "contents takes one path, not %d", len(paths))
	}
	p := filepath.Clean(paths[0])
	fi, err := root.Lstat(p)
	if err != nil {
		return nil, nil, packError(fmt.Errorf("%w: %s: %v", archive.ErrBadPath, paths[0], unwrapPath(err)))
	}
	dir, names := p, []string{"."}
	if !fi.IsDir() {
		dir, names = filepath.Dir(p), []string{filepath.Base(p)}
	}
	sub, err := root.OpenRoot(dir)
	if err != nil {
		return nil, nil, packError(fmt.Errorf("%w: %s: %v", archive.ErrBadPath, paths[0], err))
	}
	return sub, names, nil
}

// unwrapPath drops the *PathError's own copy of the path, which the
// message names already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func packError(err error) error {
	switch {
	case errors.Is(err, archive.ErrTooLarge):
		return status.Errorf(codes.ResourceExhausted, "collecting: %v", err)
	case errors.Is(err, archive.ErrBadPath):
		return status.Errorf(codes.InvalidArgument, "collecting: %v", err)
	}
	return status.Errorf(codes.Internal, "collecting: %v", err)
}

// sendFile streams f in chunks, each in its own buffer: gRPC forbids
// touching a message after Send, as stats handlers may read it later.
func sendFile(f *os.File, stream runtimev1.Runtime_CollectServer) error {
	for {
		buf := make([]byte, collectChunk)
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			if err := stream.Send(&runtimev1.CollectChunk{Chunk: &runtimev1.CollectChunk_Data{Data: buf[:n]}}); err != nil {
				return err
			}
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return nil
		case err != nil:
			return status.Errorf(codes.Internal, "reading the archive: %v", err)
		}
	}
}
