package promote

import (
	"archive/tar"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
)

// Bad input about files each fails its Run and its node with a reason
// and a message that says what, and nothing hangs: a path that leaves the
// working directory, an output holding a link, an output over the store's
// limit, an archive in the store holding "..", an artifact that is not
// there, and a store that does not answer.
func TestArtifactBadInput(t *testing.T) {
	ctx := context.Background()
	ns := hub.env.Namespace(t)
	dir := t.TempDir()
	small := resource.MustParse("16Ki")
	storeRuntime(t, hub, ns, "bash", krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: dir},
		Limits: krtv1.ArtifactLimits{MaxArtifactSize: &small}})
	down := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Name: "down", Namespace: ns}, Spec: krtv1.ArtifactStoreSpec{
		S3: &krtv1.S3Store{Bucket: "nowhere", Endpoint: "http://127.0.0.1:1", ForcePathStyle: true, CredentialsSecret: "down-keys"}}}
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "down-keys", Namespace: ns},
		Data: map[string][]byte{"AWS_ACCESS_KEY_ID": []byte("k"), "AWS_SECRET_ACCESS_KEY": []byte("s")}}
	for _, o := range []client.Object{keys, down} {
		if err := hub.env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	hostile := putHostileArchive(t, dir)
	out := func(path string) *krtv1.StepArtifacts {
		return &krtv1.StepArtifacts{Outputs: []krtv1.ArtifactOutput{{Name: "out", Path: path}}}
	}
	tests := []struct {
		name, reason, says string
		step               krtv1.Step
		runtime            string // else bash
	}{
		{"escaping path", krtv1.ReasonArtifactInvalid, "../etc", krtv1.Step{Run: "true", Artifacts: out("../etc")}, ""},
		{"a link", krtv1.ReasonArtifactInvalid, "symlink", krtv1.Step{Run: "mkdir d; ln -s /etc/passwd d/pw", Artifacts: out("d")}, ""},
		{"oversized", krtv1.ReasonArtifactTooLarge, "16384", krtv1.Step{Run: "head -c 100000 /dev/zero > big", Artifacts: out("big")}, ""},
		{"archive with ..", krtv1.ReasonArtifactInvalid, "..", inputStep(hostile), ""},
		{"missing artifact", krtv1.ReasonArtifactNotFound, "not in the store", inputStep(store.Digest([]byte("never uploaded"))), ""},
		{"unreachable store", krtv1.ReasonStoreUnreachable, "127.0.0.1:1", krtv1.Step{Run: "true", Artifacts: out(".")}, "far"},
	}
	far := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "far", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 4, ArtifactStore: "down"}}
	if err := hub.env.Client.Create(ctx, far); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := tc.runtime
			if rt == "" {
				rt = "bash"
			}
			began := time.Now()
			run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "bad-", Namespace: ns},
				Spec: krtv1.RunSpec{Runtime: rt, Script: tc.step.Run, Artifacts: runArtifacts(tc.step)}}
			if err := hub.env.Client.Create(ctx, run); err != nil {
				t.Fatal(err)
			}
			eventually(t, time.Minute, "run "+run.Name+" to end", func() (bool, string) {
				if err := hub.env.Client.Get(ctx, client.ObjectKeyFromObject(run), run); err != nil {
					return false, err.Error()
				}
				return run.Status.Phase.Terminal(), string(run.Status.Phase) + " " + run.Status.Message
			})
			if run.Status.Phase != krtv1.RunFailed || run.Status.Reason != tc.reason || !strings.Contains(run.Status.Message, tc.says) {
				t.Errorf("run %d ended %s %s: %q; want Failed %s saying %q", i, run.Status.Phase, run.Status.Reason, run.Status.Message, tc.reason, tc.says)
			}
			if d := time.Since(began); d > 30*time.Second {
				t.Errorf("it took %s to fail", d)
			}
		})
	}
}

// inputStep takes an artifact by digest, as a Run made from a workflow
// whose producing step recorded it would.
func inputStep(digest string) krtv1.Step {
	return krtv1.Step{Run: "ls -R", Artifacts: &krtv1.StepArtifacts{Inputs: []krtv1.StepArtifactInput{{Name: "in", From: digest}}}}
}

func runArtifacts(s krtv1.Step) *krtv1.RunArtifacts {
	a := &krtv1.RunArtifacts{Outputs: s.Artifacts.Outputs}
	for _, in := range s.Artifacts.Inputs {
		a.Inputs = append(a.Inputs, krtv1.ArtifactInput{Name: in.Name, Path: "in", Digest: in.From})
	}
	return a
}

// putHostileArchive writes, as someone with write access to the bucket
// could, a well-formed tar.zst under its true digest whose entry climbs
// out with "..": the digest holds, so only the unpacker stands in its way.
func putHostileArchive(t *testing.T, dir string) string {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	body := []byte("owned\n")
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "../../escaped", Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(body)
	_ = tw.Close()
	var packed bytes.Buffer
	zw, _ := zstd.NewWriter(&packed)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	st, err := store.Open(context.Background(), store.Options{Name: "test/fs", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	digest := store.Digest(packed.Bytes())
	if _, err := st.PutBlob(context.Background(), digest, int64(packed.Len()), &packed); err != nil {
		t.Fatal(err)
	}
	return digest
}
