package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/webhook"
)

// The dev stack's repository, and the WorkflowRepository that reads it.
const (
	gitRepo       = "workflows"
	repoNamespace = "default"
	repoName      = "examples"
	hookSecret    = "examples-webhook"
)

// gitService is the local git server. A push to it reaches the hub's
// webhook receiver as a signed GitHub push, as a hosted git would send.
type gitService struct {
	srv   *gitserver.Server
	http  *http.Server
	url   string
	port  int
	bare  string
	hub   client.Client
	hook  string // the receiver's base URL
	log   io.Writer
	serve chan error
}

func (s *stack) startGit(l net.Listener, hub client.Client) (*gitService, error) {
	logf, err := logFile(s.logs, "git.log")
	if err != nil {
		return nil, err
	}
	g := &gitService{hub: hub, hook: "http://" + s.webhookAddr, log: logf, serve: make(chan error, 1)}
	g.srv, err = gitserver.New(gitserver.Options{Root: filepath.Join(s.opts.Dir, "git"), OnPush: g.onPush, Log: logf})
	if err != nil {
		return nil, err
	}
	bare, err := g.srv.CreateRepo(gitRepo)
	if err != nil {
		return nil, err
	}
	if !s.opts.NoSeed {
		if err := s.seed(bare); err != nil {
			return nil, fmt.Errorf("seeding the git repository from examples/workflows: %w", err)
		}
	}
	g.bare, g.port = bare, portOf(l)
	g.url = fmt.Sprintf("http://127.0.0.1:%d/%s.git", g.port, gitRepo)
	g.http = &http.Server{Handler: g.srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { g.serve <- g.http.Serve(l) }()
	return g, nil
}

// hasMain reports whether there is anything for the repository to apply.
func (g *gitService) hasMain() bool {
	_, err := git(g.bare, "rev-parse", "--verify", "--quiet", "refs/heads/main")
	return err == nil
}

func (g *gitService) stop() {
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.http.Shutdown(ctx)
}

// seed commits examples/workflows to main as the repository's first
// commit. A repository that has a main branch is the user's: it is never
// seeded again, so `up` after `down` keeps what was pushed.
func (s *stack) seed(bare string) error {
	if (&gitService{bare: bare}).hasMain() {
		return nil
	}
	src := filepath.Join(s.paths.Root, "examples", "workflows")
	files, _ := filepath.Glob(filepath.Join(src, "*"))
	if len(files) == 0 {
		s.notef("examples/workflows is missing in %s: the git repository starts empty", s.paths.Root)
		return nil
	}
	work := filepath.Join(s.opts.Dir, "seed")
	_ = os.RemoveAll(work)
	defer os.RemoveAll(work)
	if err := os.MkdirAll(filepath.Join(work, "workflows"), 0o700); err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, "workflows", filepath.Base(f)), data, 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"add", "--all"},
		{"commit", "--quiet", "-m", "Seed the dev stack from examples/workflows"},
		{"push", "--quiet", bare, "main"},
	} {
		if out, err := git(work, args...); err != nil {
			return fmt.Errorf("git %s: %v: %s", args[0], err, out)
		}
	}
	return nil
}

// git runs the git CLI without the user's or the system's config, so a
// signing hook or a default branch setting cannot change the seed.
func git(dir string, args ...string) (string, error) {
	base := []string{"-c", "user.name=krt dev", "-c", "user.email=dev@krt.dev", "-c", "commit.gpgsign=false"}
	cmd := exec.Command("git", append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// onPush runs before the push returns, so once `git push` is done krt has
// been told; the receiver only records the push, so this is quick. A push
// to refs/pull/N/head is pull request N, as a hosted git would report it.
func (g *gitService) onPush(ev gitserver.PushEvent) {
	if ev.Repo != gitRepo {
		return
	}
	kind, body, err := g.payload(ev)
	if err == nil {
		err = g.notify(kind, body)
	}
	status := "delivered"
	if err != nil {
		status = err.Error()
	}
	fmt.Fprintf(g.log, "%s %s %s %s..%s: webhook %s\n", time.Now().Format(time.RFC3339), kind, ev.Ref, short(ev.Before), short(ev.After), status)
}

// payload is the GitHub webhook of a push: a pull_request event for a PR
// head, a push event for anything else.
func (g *gitService) payload(ev gitserver.PushEvent) (string, []byte, error) {
	repo := map[string]string{"full_name": devRepoName, "clone_url": g.url}
	if n, ok := pullNumber(ev.Ref); ok {
		body, err := json.Marshal(pullRequestPayload(n, ev, repo))
		return "pull_request", body, err
	}
	zero := strings.Repeat("0", 40)
	// pushed_at, which GitHub sends in seconds and this in nanoseconds,
	// makes a push back to an earlier commit a new body, which the
	// receiver's replay check lets through.
	body, err := json.Marshal(map[string]any{
		"ref": ev.Ref, "before": orZero(ev.Before, zero), "after": orZero(ev.After, zero),
		"repository": map[string]any{"full_name": repo["full_name"], "clone_url": repo["clone_url"], "pushed_at": time.Now().UnixNano()},
	})
	return "push", body, err
}

func (g *gitService) notify(kind string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	token, path, err := g.receiver(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.hook+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", kind)
	req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(body, token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("the receiver answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// receiver reads the webhook token and path now, not at startup: the
// user may rotate the Secret, and the path follows the token.
func (g *gitService) receiver(ctx context.Context) ([]byte, string, error) {
	secret, err := webhookSecret(ctx, g.hub)
	if err != nil {
		return nil, "", err
	}
	token := secret.Data["token"]
	repo := &krtv1.WorkflowRepository{}
	if err := g.hub.Get(ctx, client.ObjectKey{Namespace: repoNamespace, Name: repoName}, repo); err != nil {
		return nil, "", err
	}
	path := repo.Status.WebhookPath
	if path == "" {
		// Not reconciled yet: the receiver derives the same path.
		path = webhook.Path(token, repoNamespace, repoName)
	}
	if len(token) == 0 {
		return nil, "", errors.New("the webhook Secret has no token")
	}
	return token, path, nil
}

func orZero(s, zero string) string {
	if s == "" {
		return zero
	}
	return s
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	if sha == "" {
		return "-"
	}
	return sha
}
