package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/runtimeserver"
	"krt.dev/krt/runtimed/store"
	"krt.dev/krt/runtimed/transfer"
	"krt.dev/krt/test/s3server"
)

// folderMiB is the size of the artifact the throughput figure moves.
const folderMiB = 64

// artifactThroughput times a 64 MiB folder's upload (pack, hash, put) and
// download (get, verify, unpack) through a real Runtime Server, against a
// plain put and get of the same bytes, file to store and store to file,
// on the same store in the same run: what `aws s3 cp` of the folder as one
// file would cost. The folder is half random bytes and half text, as a
// build's output of binaries and reports is.
func (b *bench) artifactThroughput(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "krt-bench-art-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := s3server.Run(filepath.Join(dir, "s3"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	stores := map[string]store.Options{
		"s3": {Name: "bench/s3", S3: &store.S3{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region, ForcePathStyle: true,
			AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}},
		"filesystem": {Name: "bench/fs", Dir: filepath.Join(dir, "store")},
	}
	rc, work, stop, err := benchRuntimeServer(dir)
	if err != nil {
		return err
	}
	defer stop()
	if err := writeFolder(filepath.Join(work, "seed"), folderMiB<<20); err != nil {
		return err
	}
	for name, o := range stores {
		if err := os.MkdirAll(filepath.Join(dir, "store"), 0o755); err != nil {
			return err
		}
		st, err := store.Open(ctx, o)
		if err != nil {
			return err
		}
		figs, err := b.moveFolder(ctx, st, rc, dir)
		_ = st.Close()
		if err != nil {
			return fmt.Errorf("artifacts on %s: %w", name, err)
		}
		b.results["artifact_mb_per_s_"+name] = figs
	}
	return nil
}

// moveFolder measures each way repeats times and returns the medians.
func (b *bench) moveFolder(ctx context.Context, st *store.Store, rc runtimev1.RuntimeClient, dir string) (map[string]float64, error) {
	plain := filepath.Join(dir, "plain")
	var up, down, put, get []float64
	mb := float64(folderMiB) * (1 << 20) / 1e6
	for i := range b.opts.repeats {
		id := fmt.Sprintf("seed-%d", i)
		if err := seed(rc, id); err != nil {
			return nil, err
		}
		began := time.Now()
		ref, err := transfer.Collect(ctx, st, rc, &runtimev1.CollectRequest{Id: id, Paths: []string{"data"}, MaxBytes: 1 << 30, Contents: true})
		if err != nil {
			return nil, err
		}
		up = append(up, mb/time.Since(began).Seconds())
		began = time.Now()
		if err := transfer.Stage(ctx, st, rc, fmt.Sprintf("take-%d", i), ref.Digest, "in", 1<<30); err != nil {
			return nil, err
		}
		down = append(down, mb/time.Since(began).Seconds())
		p, g, err := plainPutGet(ctx, st, plain, fmt.Sprintf("plain/%d", i))
		if err != nil {
			return nil, err
		}
		put, get = append(put, mb/p.Seconds()), append(get, mb/g.Seconds())
		for _, x := range []string{id, fmt.Sprintf("take-%d", i)} {
			_, _ = rc.Forget(ctx, &runtimev1.ForgetRequest{Id: x})
		}
		_ = st.Delete(ctx, store.BlobKey(ref.Digest))
		fmt.Fprintf(os.Stderr, "bench: artifacts repeat %d: upload %.0f MB/s (plain put %.0f), download %.0f MB/s (plain get %.0f)\n",
			i+1, up[i], put[i], down[i], get[i])
	}
	return map[string]float64{"upload": round(median(up)), "download": round(median(down)),
		"plain_put": round(median(put)), "plain_get": round(median(get)),
		"upload_vs_put": round2(median(up) / median(put)), "download_vs_get": round2(median(down) / median(get))}, nil
}

// plainPutGet puts the folder's bytes as one file and gets them back to
// a file.
func plainPutGet(ctx context.Context, st *store.Store, file, key string) (put, get time.Duration, err error) {
	if err := writeRandomText(file, folderMiB<<20); err != nil {
		return 0, 0, err
	}
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	began := time.Now()
	if err := st.PutStream(ctx, key, f); err != nil {
		return 0, 0, err
	}
	put = time.Since(began)
	began = time.Now()
	r, err := st.GetStream(ctx, key)
	if err != nil {
		return 0, 0, err
	}
	out, err := os.Create(file + ".got")
	if err == nil {
		_, err = io.Copy(out, r)
		err = errors.Join(err, out.Close())
	}
	r.Close()
	get = time.Since(began)
	_ = st.Delete(ctx, key)
	return put, get, err
}

// seed makes execution id's working directory hold the folder, through
// the Runtime Server, as a build step would.
func seed(rc runtimev1.RuntimeClient, id string) error {
	stream, err := rc.Execute(context.Background(), &runtimev1.ExecuteRequest{Id: id,
		Command: []string{"cp", "-r", "../../seed", "data"}})
	if err != nil {
		return err
	}
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if x := ev.GetExit(); x != nil && x.GetCode() != 0 {
			return fmt.Errorf("seeding: exit %d %s", x.GetCode(), x.GetMessage())
		}
	}
}

// writeFolder writes size bytes over 16 files in two folders.
func writeFolder(dir string, size int) error {
	for i := range 16 {
		sub := filepath.Join(dir, fmt.Sprintf("part-%d", i%2))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := writeRandomText(filepath.Join(sub, fmt.Sprintf("f%02d", i)), size/16); err != nil {
			return err
		}
	}
	return nil
}

// writeRandomText writes size bytes, the first half random, the second
// text.
func writeRandomText(path string, size int) error {
	data := make([]byte, size)
	if _, err := rand.Read(data[:size/2]); err != nil {
		return err
	}
	for i := size / 2; i < size; i++ {
		data[i] = "krt artifact text line\n"[i%23]
	}
	return os.WriteFile(path, data, 0o644)
}

// benchRuntimeServer is a Runtime Server in this process, on a socket.
func benchRuntimeServer(dir string) (runtimev1.RuntimeClient, string, func(), error) {
	work := filepath.Join(dir, "work")
	srv, err := runtimeserver.New(runtimeserver.Options{WorkRoot: work, KillGrace: time.Second})
	if err != nil {
		return nil, "", nil, err
	}
	lis, err := net.Listen("unix", filepath.Join(dir, "rt.sock"))
	if err != nil {
		return nil, "", nil, err
	}
	g := grpc.NewServer()
	runtimev1.RegisterRuntimeServer(g, srv)
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient("unix://"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		g.Stop()
		return nil, "", nil, err
	}
	return runtimev1.NewRuntimeClient(conn), work, func() { conn.Close(); g.Stop() }, nil
}

// printArtifacts adds the artifact figures to the table.
func (b *bench) printArtifacts(w io.Writer) {
	r := b.results
	for _, name := range []string{"s3", "filesystem"} {
		f, ok := r["artifact_mb_per_s_"+name].(map[string]float64)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "artifact upload MB/s, 64 MiB folder, %s\t%v\tplain put %v MB/s\t%v\t≥ 0.8\n", name, f["upload"], f["plain_put"], f["upload_vs_put"])
		fmt.Fprintf(w, "artifact download MB/s, 64 MiB folder, %s\t%v\tplain get %v MB/s\t%v\t≥ 0.8\n", name, f["download"], f["plain_get"], f["download_vs_get"])
	}
	if p50, ok := r["artifact_1kib_p50_ms"].(map[string]float64); ok {
		fmt.Fprintf(w, "1 KiB artifact in and out: added create→Succeeded ms\t%v\twithout %v ms\t-\t≤ 50 ms\n", r["artifact_1kib_added_ms"], p50["without"])
	}
}
