package gitops

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/git"
	"krt.dev/krt/sources/gitserver"
)

// A push larger than the fetch limit stalls the repository with the limit
// in its condition, and the fetch stops early: the server is not read to
// the end. What was applied before stays.
func TestAttackPushOverTheFetchLimitIsRefused(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	repo := repository(t, ns, g.URL, nil)
	waitCondition(t, repo, krtv1.ConditionReady, metav1.ConditionTrue, "applied 1 objects")

	blob := make([]byte, 16<<20) // random: the pack is as large
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	before := g.Server.Counts()["flows"].FetchedBytes
	g.push(map[string]string{"assets/blob.bin": string(blob), "workflows/a.yaml": workflowYAML("a", "v2")}, "a large asset")
	limit := resource.MustParse(fetchLimit)
	cond := waitCondition(t, repo, krtv1.ConditionStalled, metav1.ConditionTrue, "the limit of one fetch")
	if !strings.Contains(cond.Message, "more than "+strconv.FormatInt(limit.Value(), 10)+" bytes") {
		t.Errorf("Stalled: %s; want the limit", cond.Message)
	}
	if sent := g.Server.Counts()["flows"].FetchedBytes - before; sent >= int64(len(blob))/2 {
		t.Errorf("the server wrote %d bytes of a %d-byte push", sent, len(blob))
	}
	if wf := mustWorkflow(t, ns, "a"); wf.Spec.Steps[0].Run != `echo "v1"` {
		t.Errorf("workflow a runs %q, want the last good version", wf.Spec.Steps[0].Run)
	}
}

// An SSH server that accepts connections and never speaks does not hold
// krt: each check times out at the repository's timeout and hangs up.
func TestAttackSilentSSHServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted, closed atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c) // until krt hangs up
				closed.Add(1)
			}()
		}
	}()
	ns := env.Namespace(t)
	secret(t, ns, "ssh", map[string]string{"identity": sshIdentity(t), "known_hosts": knownHostsLine(t, ln.Addr().String())})
	repo := repository(t, ns, "ssh://git@"+ln.Addr().String()+"/flows.git", func(r *krtv1.WorkflowRepository) {
		r.Spec.SecretRef = &krtv1.LocalObjectReference{Name: "ssh"}
		r.Spec.Timeout = &metav1.Duration{Duration: time.Second}
	})
	waitCondition(t, repo, krtv1.ConditionFetchFailed, metav1.ConditionTrue, "timed out")
	eventually(t, 30*time.Second, "krt to hang up on two silent connections", func() (bool, string) {
		a, c := accepted.Load(), closed.Load()
		return c >= 2, fmt.Sprintf("%d accepted, %d closed", a, c)
	})
}

// An interval below the minimum is raised to it, and the repository says
// so.
func TestIntervalBelowTheMinimumIsRaised(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	repo := repository(t, ns, g.URL, func(r *krtv1.WorkflowRepository) {
		r.Spec.Interval = metav1.Duration{Duration: 200 * time.Millisecond}
	})
	waitCondition(t, repo, krtv1.ConditionReady, metav1.ConditionTrue,
		"interval 200ms is below the minimum 1s, so it is checked every 1s (krt-controller --min-interval)")
}

// Deleting the last repository of a URL removes its git cache entry.
func TestGitCacheDropsADeletedRepositorysEntry(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	repo := repository(t, ns, g.URL, nil)
	waitCondition(t, repo, krtv1.ConditionReady, metav1.ConditionTrue, "applied 1 objects")
	entry := filepath.Join(env.Dir, "git-cache", git.EntryName(g.URL))
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("the repository's cache entry: %v", err)
	}
	if err := env.Client.Delete(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the cache entry to go", func() (bool, string) {
		_, err := os.Stat(entry)
		return os.IsNotExist(err), "it is still at " + entry
	})
}

// knownHostsLine trusts a fresh host key for addr: krt gets as far as
// waiting for the server's first word.
func knownHostsLine(t *testing.T, addr string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
}
