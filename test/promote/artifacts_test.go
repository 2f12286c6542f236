package promote

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
	"krt.dev/krt/test/s3server"
)

// storeBackend is one kind of ArtifactStore shared by the hub and prod,
// and where its objects lie on disk, for an attacker's edit.
type storeBackend struct {
	name   string
	spec   func(t *testing.T, c cluster, ns string) krtv1.ArtifactStoreSpec
	onDisk func(key string) string
}

// backends gives the filesystem store one directory (as an RWX volume
// would), and the S3 store one real versitygw bucket that each cluster
// reaches with credentials from a Secret of its own.
func backends(t *testing.T) []storeBackend {
	dir := t.TempDir()
	srv := s3server.Start(t)
	return []storeBackend{
		{"filesystem", func(*testing.T, cluster, string) krtv1.ArtifactStoreSpec {
			return krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: dir}}
		}, func(k string) string { return filepath.Join(dir, filepath.FromSlash(k)) }},
		{"s3", func(t *testing.T, c cluster, ns string) krtv1.ArtifactStoreSpec {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "store-keys", Namespace: ns},
				Data: map[string][]byte{"AWS_ACCESS_KEY_ID": []byte(srv.AccessKey), "AWS_SECRET_ACCESS_KEY": []byte(srv.SecretKey)}}
			if err := c.env.Client.Create(context.Background(), secret); err != nil {
				t.Fatal(err)
			}
			return krtv1.ArtifactStoreSpec{S3: &krtv1.S3Store{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region,
				ForcePathStyle: true, CredentialsSecret: secret.Name}}
		}, srv.ObjectPath},
	}
}

// storeRuntime creates an ArtifactStore "store" and a bash Runtime that
// names it, and waits for its pod.
func storeRuntime(t *testing.T, c cluster, ns, name string, spec krtv1.ArtifactStoreSpec) {
	t.Helper()
	ctx := context.Background()
	as := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: ns}, Spec: spec}
	if err := c.env.Client.Create(ctx, as); err != nil {
		t.Fatal(err)
	}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 8, ArtifactStore: "store",
			Languages: []krtv1.Language{krtv1.LanguageBash, krtv1.LanguagePython}}}
	if err := c.env.Client.Create(ctx, rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "runtime "+ns+"/"+name+" to be ready", func() (bool, string) {
		cur := &krtv1.Runtime{}
		if err := c.env.Client.Get(ctx, client.ObjectKeyFromObject(rt), cur); err != nil {
			return false, err.Error()
		}
		return cur.Status.ReadyPods >= 1, fmt.Sprintf("%d ready pods", cur.Status.ReadyPods)
	})
}

// The build writes a folder with an executable holding binary bytes and a
// nested file; sums is what every file hashes to, for the deploy to
// compare with what it got. It is the same on every run, so the second
// run's build finds its archive in the store already, tampered.
const buildScript = `mkdir -p dist/docs
seq 1 60000 > dist/app; printf '\x00\x01\xff' >> dist/app; chmod +x dist/app
echo "release notes" > dist/docs/notes.txt
echo "sums=$(cd dist && find . -type f | sort | xargs sha256sum | sha256sum | cut -c1-64)" >> "$KRT_OUTPUTS"`

const deployScript = `test -x in/app || { echo "app lost its exec bit"; exit 1; }
echo "sums=$(cd in && find . -type f | sort | xargs sha256sum | sha256sum | cut -c1-64)" >> "$KRT_OUTPUTS"`

// A build step in the hub hands a folder to a deploy step in prod, byte
// for byte, through each kind of store. An object changed in the store
// fails the next deploy with a digest error, and nothing of it runs; the
// run after that builds and delivers it again.
func TestArtifactsCrossClusters(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ns := hub.env.Namespace(t)
			remote := "prod-art-" + b.name
			namespace(t, prod, remote)
			storeRuntime(t, hub, ns, "builder", b.spec(t, hub, ns))
			storeRuntime(t, prod, remote, "deployer", b.spec(t, prod, remote))
			register(t, ns, "prod", prod, remote)
			createWorkflow(t, ns, "ship",
				krtv1.Step{Name: "build", Runtime: "builder", Run: buildScript, Outputs: []string{"sums"},
					Artifacts: &krtv1.StepArtifacts{Outputs: []krtv1.ArtifactOutput{{Name: "dist", Path: "dist"}}}},
				krtv1.Step{Name: "deploy", Cluster: "prod", Runtime: "deployer", Run: deployScript, Outputs: []string{"sums"},
					Artifacts: &krtv1.StepArtifacts{Inputs: []krtv1.StepArtifactInput{{From: "steps.build.artifacts.dist", Path: "in"}}}})

			manualRun(t, ns, "ship", "ship-1", nil)
			wr := waitRun(t, ns, "ship-1", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
			build, deploy := node(wr, "build"), node(wr, "deploy")
			if wr.Status.Phase != krtv1.WorkflowSucceeded || len(build.Artifacts) != 1 {
				t.Fatalf("run: %s; build artifacts %v", describe(wr), build.Artifacts)
			}
			if build.Outputs["sums"] == "" || deploy.Outputs["sums"] != build.Outputs["sums"] {
				t.Fatalf("prod received files hashing to %q, the build made %q", deploy.Outputs["sums"], build.Outputs["sums"])
			}
			art := build.Artifacts[0]
			if !strings.HasPrefix(art.Digest, "sha256:") || art.Size <= 0 || art.URI == "" {
				t.Errorf("the build's artifact is recorded as %+v", art)
			}

			tamper(t, b.onDisk(store.BlobKey(art.Digest)))
			manualRun(t, ns, "ship", "ship-2", nil)
			wr = waitRun(t, ns, "ship-2", "fail", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
			deploy = node(wr, "deploy")
			if wr.Status.Phase != krtv1.WorkflowFailed || deploy.Phase != krtv1.NodeFailed || !strings.Contains(deploy.Message, "digest") {
				t.Fatalf("after tampering: %s", describe(wr))
			}
			run := &krtv1.Run{}
			if err := prod.env.Client.Get(context.Background(), client.ObjectKey{Namespace: remote, Name: deploy.Run}, run); err != nil {
				t.Fatal(err)
			}
			if run.Status.Reason != krtv1.ReasonArtifactDigest || len(run.Status.Outputs) > 0 {
				t.Errorf("the deploy Run ended %s (%s), outputs %v", run.Status.Reason, run.Status.Message, run.Status.Outputs)
			}

			// The changed object was removed, so the next build uploads
			// it anew and the deploy gets the build's bytes again.
			manualRun(t, ns, "ship", "ship-3", nil)
			wr = waitRun(t, ns, "ship-3", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
			if wr.Status.Phase != krtv1.WorkflowSucceeded || node(wr, "deploy").Outputs["sums"] != build.Outputs["sums"] {
				t.Errorf("after the changed object was removed: %s", describe(wr))
			}
		})
	}
}

// tamper flips a byte in the middle of a stored object, as someone with
// write access to the bucket could.
func tamper(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
