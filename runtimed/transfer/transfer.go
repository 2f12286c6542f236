// Package transfer moves artifacts between an artifact store and the
// Runtime Server of a pod. runtimed calls it: the store's credentials stay
// in runtimed, and every byte is hashed here, since the Runtime Server
// runs the step's code and may be the step's own.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
)

// chunk is the size of each Stage message: large enough that the gRPC
// framing costs nothing, small enough to stay well under its 4 MiB limit.
const chunk = 1 << 20

// Error is a failed transfer with the Run reason it maps to.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Stage downloads the blob digest and unpacks it at path in execution
// id's working directory. The Runtime Server unpacks into a staging area
// as the bytes arrive and moves them in only on commit, which is sent
// only once every byte hashed to digest: a tampered object never reaches
// the step.
func Stage(ctx context.Context, st *store.Store, rc runtimev1.RuntimeClient, id, digest, path string, maxBytes int64) error {
	r, _, err := st.GetBlob(ctx, digest)
	if err != nil {
		return classify(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a failed send abandons the stream, and the server drops what it staged
	stream, err := rc.Stage(ctx)
	if err != nil {
		return classify(err)
	}
	if err := stream.Send(&runtimev1.StageRequest{Msg: &runtimev1.StageRequest_Header{
		Header: &runtimev1.StageHeader{Id: id, Path: path, MaxBytes: maxBytes}}}); err != nil {
		return classify(closeErr(stream, err))
	}
	buf := make([]byte, chunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := stream.Send(&runtimev1.StageRequest{Msg: &runtimev1.StageRequest_Data{Data: buf[:n]}}); err != nil {
				return classify(closeErr(stream, err))
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			// The verifier's mismatch lands here: say abort, and go.
			_ = stream.Send(&runtimev1.StageRequest{Msg: &runtimev1.StageRequest_End{End: &runtimev1.StageEnd{Commit: false}}})
			_, _ = stream.CloseAndRecv()
			return classify(rerr)
		}
	}
	if err := stream.Send(&runtimev1.StageRequest{Msg: &runtimev1.StageRequest_End{End: &runtimev1.StageEnd{Commit: true}}}); err != nil {
		return classify(closeErr(stream, err))
	}
	_, err = stream.CloseAndRecv()
	return classify(err)
}

// closeErr is the server's own error behind a failed send: gRPC reports
// a refused stream as io.EOF on Send and the status on Recv.
func closeErr(stream runtimev1.Runtime_StageClient, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.CloseAndRecv(); rerr != nil {
			return rerr
		}
	}
	return err
}

// Ref is an uploaded artifact.
type Ref struct {
	Digest string
	Size   int64 // packed
	Bytes  int64 // unpacked
	URI    string
}

// Collect packs what req names of an ended execution and uploads the
// archive, content-addressed. The digest the server announces is checked
// against the bytes: if they differ the upload is aborted and nothing is
// stored.
func Collect(ctx context.Context, st *store.Store, rc runtimev1.RuntimeClient, req *runtimev1.CollectRequest) (Ref, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	maxBytes := req.GetMaxBytes()
	stream, err := rc.Collect(ctx, req)
	if err != nil {
		return Ref{}, classify(err)
	}
	first, err := stream.Recv()
	if err != nil {
		return Ref{}, classify(err)
	}
	h := first.GetHeader()
	if h == nil {
		return Ref{}, &Error{krtv1.ReasonRuntimeError, errors.New("the Runtime Server sent data before the archive's header")}
	}
	if maxBytes > 0 && h.GetBytes() > maxBytes {
		return Ref{}, &Error{krtv1.ReasonArtifactTooLarge, fmt.Errorf("%d bytes unpacked, more than the limit of %d", h.GetBytes(), maxBytes)}
	}
	uri, err := st.PutBlob(ctx, h.GetDigest(), h.GetSize(), &chunkReader{stream: stream})
	if err != nil {
		return Ref{}, classify(err)
	}
	return Ref{Digest: h.GetDigest(), Size: h.GetSize(), Bytes: h.GetBytes(), URI: uri}, nil
}

// chunkReader reads the data chunks of a Collect stream.
type chunkReader struct {
	stream runtimev1.Runtime_CollectClient
	rest   []byte
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.rest) == 0 {
		msg, err := c.stream.Recv()
		if err != nil {
			return 0, err // io.EOF at the end
		}
		if msg.GetHeader() != nil {
			return 0, errors.New("the Runtime Server sent a second header")
		}
		c.rest = msg.GetData()
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// classify maps what went wrong to the reason a Run records.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	switch {
	case errors.As(err, &te):
		return err
	case errors.Is(err, store.ErrNotFound):
		return &Error{krtv1.ReasonArtifactNotFound, err}
	case errors.Is(err, store.ErrDigestMismatch):
		return &Error{krtv1.ReasonArtifactDigest, err}
	case errors.Is(err, store.ErrUnreachable):
		return &Error{krtv1.ReasonStoreUnreachable, err}
	}
	s, ok := status.FromError(err)
	if !ok {
		return &Error{krtv1.ReasonRuntimeError, err}
	}
	switch s.Code() {
	case codes.InvalidArgument, codes.AlreadyExists:
		return &Error{krtv1.ReasonArtifactInvalid, errors.New(s.Message())}
	case codes.ResourceExhausted:
		return &Error{krtv1.ReasonArtifactTooLarge, errors.New(s.Message())}
	case codes.Unimplemented:
		return &Error{krtv1.ReasonArtifactsUnsupported, errors.New("this Runtime Server does not support artifacts (Stage and Collect are unimplemented)")}
	}
	return &Error{krtv1.ReasonRuntimeError, fmt.Errorf("runtime server: %s", s.Message())}
}
