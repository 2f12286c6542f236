package git

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"

	"krt.dev/krt/api/v1alpha1"
)

// DefaultBranch is followed when a ref names nothing; HEAD when it is absent.
const DefaultBranch = "main"

// Resolved is the commit a ref points at now.
type Resolved struct {
	// Commit is the full commit hash.
	Commit string
	// Revision is what status shows, in Flux's form: main@sha1:<hash>,
	// v1.2.0@sha1:<hash>, or sha1:<hash> for a commit.
	Revision string
	// Ref is the remote ref to fetch (refs/heads/main, refs/tags/v1.2.0),
	// or empty when only the commit is known.
	Ref string
}

// remoteRefs is one ls-remote: ref name to hash, with the commits of
// annotated tags under "<tag>^{}".
type remoteRefs map[string]string

// Resolve finds the commit ref points at with one ls-remote, and fetches
// nothing. Even a commit ref lists the remote, so a caller without access
// to the repository never gets a commit out of the shared cache.
func (c *Cache) Resolve(ctx context.Context, rawURL string, auth *Auth, ref v1alpha1.GitRef) (Resolved, error) {
	refs, err := lsRemote(ctx, rawURL, auth)
	if err != nil {
		return Resolved{}, err
	}
	r, err := refs.resolve(ref)
	if err != nil {
		return Resolved{}, fmt.Errorf("resolving %s: %w", redact(rawURL), err)
	}
	return r, nil
}

func lsRemote(ctx context.Context, rawURL string, auth *Auth) (remoteRefs, error) {
	method, err := auth.method(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	remote := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{rawURL}})
	list, err := withContext(ctx, func() ([]*plumbing.Reference, error) {
		return remote.ListContext(ctx, &gogit.ListOptions{Auth: method, PeelingOption: gogit.AppendPeeled, ProxyOptions: sshDeadline(ctx, rawURL)})
	})
	if err != nil {
		return nil, remoteError("ls-remote", rawURL, auth, atDeadline(ctx, err))
	}
	refs := remoteRefs{}
	for _, r := range list {
		if r.Type() == plumbing.SymbolicReference {
			refs[r.Name().String()] = "ref: " + r.Target().String()
			continue
		}
		refs[r.Name().String()] = r.Hash().String()
	}
	return refs, nil
}

func (refs remoteRefs) resolve(ref v1alpha1.GitRef) (Resolved, error) {
	switch {
	case ref.Commit != "":
		return refs.commit(ref.Commit, ref.Branch)
	case ref.SemVer != "":
		return refs.semver(ref.SemVer)
	case ref.Tag != "":
		return refs.tag(ref.Tag)
	case ref.Branch != "":
		return refs.branch(ref.Branch)
	}
	if _, ok := refs["refs/heads/"+DefaultBranch]; ok {
		return refs.branch(DefaultBranch)
	}
	return refs.head()
}

func (refs remoteRefs) branch(name string) (Resolved, error) {
	full := "refs/heads/" + name
	hash, ok := refs[full]
	if !ok {
		return Resolved{}, fmt.Errorf("branch %q not found", name)
	}
	return Resolved{Commit: hash, Revision: name + "@sha1:" + hash, Ref: full}, nil
}

// head follows the remote's HEAD, by its branch name when the server says.
func (refs remoteRefs) head() (Resolved, error) {
	target, ok := refs["HEAD"]
	if !ok {
		return Resolved{}, fmt.Errorf("no branch %q and no HEAD", DefaultBranch)
	}
	if branch, isSym := strings.CutPrefix(target, "ref: refs/heads/"); isSym {
		return refs.branch(branch)
	}
	return Resolved{Commit: target, Revision: "HEAD@sha1:" + target}, nil
}

// tag peels an annotated tag to its commit.
func (refs remoteRefs) tag(name string) (Resolved, error) {
	full := "refs/tags/" + name
	hash, ok := refs[full+"^{}"]
	if !ok {
		hash, ok = refs[full]
	}
	if !ok {
		return Resolved{}, fmt.Errorf("tag %q not found", name)
	}
	return Resolved{Commit: hash, Revision: name + "@sha1:" + hash, Ref: full}, nil
}

// semver follows the highest tag in the range; pre-releases only match a
// range that names one, as Masterminds/semver decides.
func (refs remoteRefs) semver(rng string) (Resolved, error) {
	constraint, err := semver.NewConstraint(rng)
	if err != nil {
		return Resolved{}, fmt.Errorf("semver range %q: %w", rng, err)
	}
	var best *semver.Version
	var bestTag string
	for name := range refs {
		tag, ok := strings.CutPrefix(name, "refs/tags/")
		if !ok || strings.HasSuffix(tag, "^{}") {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !constraint.Check(v) {
			continue
		}
		// Ties such as v1.0.0 and 1.0.0 go to the smaller name, so the
		// answer does not depend on map order.
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && tag < bestTag) {
			best, bestTag = v, tag
		}
	}
	if best == nil {
		return Resolved{}, fmt.Errorf("no tag matches semver range %q", rng)
	}
	return refs.tag(bestTag)
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// commit takes a full hash as it is. An abbreviated one is expanded from
// the advertised refs, since nothing else can be known without a fetch.
func (refs remoteRefs) commit(hash, branch string) (Resolved, error) {
	hash = strings.ToLower(hash)
	if !hexHash.MatchString(hash) || len(hash) > 40 {
		return Resolved{}, fmt.Errorf("commit %q is not a SHA-1 hash", hash)
	}
	var fetch string
	if branch != "" {
		fetch = "refs/heads/" + branch
		if _, ok := refs[fetch]; !ok {
			return Resolved{}, fmt.Errorf("branch %q not found", branch)
		}
	}
	if len(hash) < 40 {
		full, err := refs.expand(hash)
		if err != nil {
			return Resolved{}, err
		}
		hash = full
	}
	return Resolved{Commit: hash, Revision: "sha1:" + hash, Ref: fetch}, nil
}

func (refs remoteRefs) expand(prefix string) (string, error) {
	var found string
	for _, hash := range refs {
		if !strings.HasPrefix(hash, prefix) {
			continue
		}
		if found != "" && found != hash {
			return "", fmt.Errorf("commit %q is ambiguous; use the full hash", prefix)
		}
		found = hash
	}
	if found == "" {
		return "", fmt.Errorf("commit %q is abbreviated and no branch or tag points at it; use the full 40-character hash", prefix)
	}
	return found, nil
}

// PRHead is an open pull or merge request's head commit.
type PRHead struct {
	Number int64
	SHA    string
}

var prRef = regexp.MustCompile(`^refs/(?:pull|merge-requests)/([0-9]+)/head$`)

// PullRequestHeads lists refs/pull/*/head (GitHub, Gitea) and
// refs/merge-requests/*/head (GitLab) with one ls-remote, by number.
func (c *Cache) PullRequestHeads(ctx context.Context, rawURL string, auth *Auth) ([]PRHead, error) {
	refs, err := lsRemote(ctx, rawURL, auth)
	if err != nil {
		return nil, err
	}
	var heads []PRHead
	for name, hash := range refs {
		m := prRef.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		heads = append(heads, PRHead{Number: n, SHA: hash})
	}
	sort.Slice(heads, func(i, j int) bool { return heads[i].Number < heads[j].Number })
	return heads, nil
}
