package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/archive"
	"krt.dev/krt/runtimed/store"
)

// artifactLatency is what one 1 KiB artifact in and one out add to a
// Run's create→Succeeded: the same serial Runs with and without them, on
// one pool and its filesystem ArtifactStore, in the same run.
func (b *bench) artifactLatency(ctx context.Context) error {
	ns, err := b.namespace(ctx, "artifacts")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "krt-bench-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	digest, err := seedArtifact(ctx, dir)
	if err != nil {
		return err
	}
	as := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: ns},
		Spec: krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: dir}}}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(b.opts.pods)), Capacity: int32(b.opts.capacity), ArtifactStore: "store"}}
	if err := b.env.Client.Create(ctx, as); err != nil {
		return err
	}
	if err := b.env.Client.Create(ctx, rt); err != nil {
		return err
	}
	if err := b.waitPool(ctx, ns); err != nil {
		return err
	}
	withArtifacts := func(ns string) *krtv1.Run {
		r := noop(ns)
		r.Spec.Command = []string{"cp", "in/f", "out.bin"}
		r.Spec.Artifacts = &krtv1.RunArtifacts{
			Inputs:  []krtv1.ArtifactInput{{Name: "in", Path: "in", Digest: digest}},
			Outputs: []krtv1.ArtifactOutput{{Name: "out", Path: "out.bin"}}}
		return r
	}
	var plain, with []float64
	for i := range b.opts.repeats {
		for _, m := range []struct {
			mk  func(string) *krtv1.Run
			p50 *[]float64
		}{{noop, &plain}, {withArtifacts, &with}} {
			lat, err := serialRunsOf(ctx, b.watcher, ns, isolationRuns, nil, m.mk)
			if err != nil {
				return fmt.Errorf("artifact latency: %w", err)
			}
			*m.p50 = append(*m.p50, percentile(lat, 50))
			if err := b.clean(ctx, ns); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "bench: artifacts repeat %d: create→Succeeded p50 %.1f ms without, %.1f ms with 1 KiB in and out\n", i+1, plain[i], with[i])
	}
	b.results["artifact_1kib_p50_ms"] = map[string]float64{"without": round(median(plain)), "with": round(median(with))}
	b.results["artifact_1kib_added_ms"] = round(median(with) - median(plain))
	return nil
}

// seedArtifact puts a folder holding one 1 KiB file in the store, as an
// earlier step would have, and returns its digest.
func seedArtifact(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "..", filepath.Base(dir)+"-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "f"), bytes.Repeat([]byte("k"), 1024), 0o644); err != nil {
		return "", err
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		return "", err
	}
	defer root.Close()
	var buf bytes.Buffer
	if _, err := archive.Pack(&buf, root, []string{"f"}, archive.PackOptions{}); err != nil {
		return "", err
	}
	st, err := store.Open(ctx, store.Options{Name: "bench/fs", Dir: dir})
	if err != nil {
		return "", err
	}
	defer st.Close()
	digest := store.Digest(buf.Bytes())
	_, err = st.PutBlob(ctx, digest, int64(buf.Len()), &buf)
	return digest, err
}
