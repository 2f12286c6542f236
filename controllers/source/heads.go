package source

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/git"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
)

// HeadReader reads the workflow folders of pull request heads, for
// pullRequests.definitionsFrom: head. A head is fetched into the git cache
// the source controller uses, and built, parsed and validated by the same
// code as a revision to apply (checkFolder), but nothing of it is applied:
// the trigger controller makes runs of it, which is where the trust policy
// holds its untrusted code back.
type HeadReader struct {
	client  client.Reader
	secrets client.Reader
	git     *git.Cache
	expr    *expr.Env
}

// NewHeadReader reads heads into cache; c lists the namespace's Tools and
// secrets reads the repositories' credentials.
func NewHeadReader(c, secrets client.Reader, cache *git.Cache, env *expr.Env) *HeadReader {
	return &HeadReader{client: c, secrets: secrets, git: cache, expr: env}
}

// Heads reads the heads of one repository, after one ls-remote.
type Heads struct {
	h    *HeadReader
	repo *krtv1.WorkflowRepository
	auth *git.Auth
	refs git.Refs
	// unusable is why no head of this repository can ever be read.
	unusable error
}

// Open lists the repository's refs: one ls-remote however many heads are
// read, and the proof that its credentials reach the URL, since the cache
// is shared with every repository naming it. An error is worth retrying.
func (h *HeadReader) Open(ctx context.Context, repo *krtv1.WorkflowRepository) (*Heads, error) {
	hs := &Heads{h: h, repo: repo}
	if repo.Spec.URL == "" {
		// A Flux artifact is one revision of one branch: it has no heads.
		hs.unusable = errors.New("pullRequests.definitionsFrom: head needs spec.url; a Flux sourceRef carries no pull request heads")
		return hs, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(repo))
	defer cancel()
	var err error
	if hs.auth, err = readAuth(ctx, h.secrets, repo); err != nil {
		return nil, err
	}
	if hs.refs, err = h.git.ListRefs(ctx, repo.Spec.URL, hs.auth); err != nil {
		return nil, err
	}
	return hs, nil
}

// Head is the workflow folder of a pull request's head commit.
type Head struct {
	// Revision is the head commit, as <ref>@sha1:<hash>.
	Revision string
	// Docs are the documents that parsed, in good files and bad.
	Docs []parse.Document
	// Errors are located. A file with any is bad as a whole, as when a
	// revision is applied; an error on the folder itself (it does not
	// build, is missing or too large) makes every file bad.
	Errors []*parse.Error
	// Tools are those a run of the head may use: the Tools of its good
	// files, then the namespace's Tools that the repository does not
	// define (the same set validation checked `uses` against).
	Tools []krtv1.NamedTool
	// Dir is the workflow folder: an error on it is on every file.
	Dir string
}

// ErrorsOf lists what makes file bad: its own errors and the folder's.
func (h *Head) ErrorsOf(file string) []*parse.Error {
	var out []*parse.Error
	for _, e := range h.Errors {
		if e.File == file || e.File == h.Dir {
			out = append(out, e)
		}
	}
	return out
}

// Read fetches the PR's head commit, unless the cache has it, and checks
// its workflow folder. Problems of the head itself come back as Errors on
// the Head, since no retry fixes them at that commit; an error returned
// (the network, the API) is worth retrying.
func (hs *Heads) Read(ctx context.Context, pr *krtv1.PullRequest) (*Head, error) {
	dir := workflowDir(hs.repo)
	failed := func(revision string, err error) *Head {
		return &Head{Revision: revision, Errors: []*parse.Error{{File: dir, Message: err.Error()}}, Dir: dir}
	}
	if hs.unusable != nil {
		return failed("sha1:"+pr.HeadSHA, hs.unusable), nil
	}
	branch := pr.HeadRef
	if pr.Fork {
		branch = "" // the fork's branch, not one of this repository
	}
	res, err := hs.refs.PullRequestHead(pr.Number, pr.HeadSHA, branch)
	if err != nil {
		return failed("sha1:"+pr.HeadSHA, err), nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(hs.repo))
	defer cancel()
	url := hs.repo.Spec.URL
	if err := hs.h.git.Fetch(ctx, url, hs.auth, res); err != nil {
		if errors.Is(err, git.ErrTooLarge) {
			// Not worth retrying: the head is what its author made it.
			return failed(res.Revision, err), nil
		}
		return nil, err
	}
	files, err := readFolder(hs.h.git, url, res.Commit, dir)
	if errors.Is(err, git.ErrPathNotFound) || errors.Is(err, git.ErrTooLarge) {
		return failed(res.Revision, err), nil
	}
	if err != nil {
		return nil, err
	}
	c, err := checkFolder(ctx, hs.h.client, hs.h.expr, hs.repo, files)
	if err != nil {
		return nil, err
	}
	if c.buildErr != nil {
		return failed(res.Revision, fmt.Errorf("building %s: %w", dir, c.buildErr)), nil
	}
	head := &Head{Revision: res.Revision, Docs: c.docs, Errors: c.errs, Dir: dir}
	head.Tools = headTools(head, c.known)
	return head, nil
}

// headTools are the head's good Tools, then the known ones it does not
// redefine, by name.
func headTools(head *Head, known map[string]*krtv1.ToolSpec) []krtv1.NamedTool {
	byName := map[string]krtv1.ToolSpec{}
	for name, spec := range known {
		byName[name] = *spec
	}
	for _, d := range head.Docs {
		if t, ok := d.Object.(*krtv1.Tool); ok && len(head.ErrorsOf(d.File)) == 0 {
			byName[t.Name] = t.Spec
		}
	}
	out := make([]krtv1.NamedTool, 0, len(byName))
	for name, spec := range byName {
		out = append(out, krtv1.NamedTool{Name: name, Spec: *spec.DeepCopy()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
