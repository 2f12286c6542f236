package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	krtmetrics "krt.dev/krt/controllers/metrics"
	"krt.dev/krt/sources/artifact"
	"krt.dev/krt/sources/folder"
	"krt.dev/krt/sources/git"
)

// snapshot is a revision of a repository as the source step found it.
type snapshot struct {
	revision string
	commit   string // for git: to diff against the next revision
	branch   string
	// files are read lazily: an unchanged revision is never read.
	read func() (map[string][]byte, error)
	// changed lists the paths this revision changed since previous.
	changed func(previous string) ([]string, bool, error)
}

// resolve finds the repository's current revision, the cheap way: for git
// an ls-remote, for a Flux source its status.
func (r *Reconciler) resolve(ctx context.Context, repo *krtv1.WorkflowRepository) (*snapshot, error) {
	if repo.Spec.SourceRef != nil {
		if !r.flux {
			// Without this, the read would fail with the API server's
			// "no matches for kind", which says nothing about Flux.
			return nil, &configError{fmt.Errorf("spec.sourceRef names a Flux %s, but krt-controller reads no Flux sources: "+
				"Flux's CRDs were not installed when it started (--flux=auto), or --flux=false; "+
				"install Flux and restart krt-controller, or use spec.url", repo.Spec.SourceRef.Kind)}
		}
		return r.resolveFlux(ctx, repo)
	}
	auth, err := r.auth(ctx, repo)
	if err != nil {
		return nil, err
	}
	ref := krtv1.GitRef{}
	if repo.Spec.Ref != nil {
		ref = *repo.Spec.Ref
	}
	res, err := r.git.Resolve(ctx, repo.Spec.URL, auth, ref)
	krtmetrics.SourceLsRemotes.WithLabelValues(repo.Namespace, repo.Name, krtmetrics.Result(err)).Inc()
	if err != nil {
		return nil, err
	}
	url := repo.Spec.URL
	return &snapshot{
		revision: res.Revision, commit: res.Commit, branch: strings.TrimPrefix(res.Ref, "refs/heads/"),
		read: func() (map[string][]byte, error) {
			if err := r.fetch(ctx, repo, auth, res); err != nil {
				return nil, err
			}
			return readFolder(r.git, url, res.Commit, workflowDir(repo))
		},
		changed: func(previous string) ([]string, bool, error) {
			return r.git.ChangedPaths(url, previous, res.Commit, maxChangedPaths)
		},
	}, nil
}

const maxChangedPaths = 256

// fetch fetches a revision of the repository's URL. A revision over the
// fetch limit stalls the repository, and is not fetched again: another
// try would download the same bytes up to the limit, at every interval.
func (r *Reconciler) fetch(ctx context.Context, repo *krtv1.WorkflowRepository, auth *git.Auth, res git.Resolved) error {
	key := string(repo.UID) + " " + repo.Spec.URL
	if prev, ok := r.tooLarge.Load(key); ok && prev.(tooLarge).commit == res.Commit {
		return prev.(tooLarge).err
	}
	err := r.git.Fetch(ctx, repo.Spec.URL, auth, res)
	krtmetrics.SourceFetches.WithLabelValues(repo.Namespace, repo.Name, krtmetrics.Result(err)).Inc()
	if errors.Is(err, git.ErrTooLarge) {
		err = &configError{fmt.Errorf("%s: %w", res.Revision, err)}
		r.tooLarge.Store(key, tooLarge{commit: res.Commit, err: err})
	}
	return err
}

type tooLarge struct {
	commit string
	err    error
}

// readFolder reads the workflow folder of a fetched commit: only dir's
// files, unless dir holds a kustomization, whose bases may be anywhere.
func readFolder(cache *git.Cache, url, commit, dir string) (map[string][]byte, error) {
	files, err := cache.ReadTree(url, commit, dir)
	if err != nil || !folder.HasKustomization(files, dir) {
		return files, err
	}
	return cache.ReadTree(url, commit, "")
}

func workflowDir(repo *krtv1.WorkflowRepository) string {
	if repo.Spec.Path == "" {
		return "workflows/"
	}
	return repo.Spec.Path
}

// auth reads the repository's Secret, if it names one.
func (r *Reconciler) auth(ctx context.Context, repo *krtv1.WorkflowRepository) (*git.Auth, error) {
	return readAuth(ctx, r.secrets, repo)
}

func readAuth(ctx context.Context, secrets client.Reader, repo *krtv1.WorkflowRepository) (*git.Auth, error) {
	if repo.Spec.SecretRef == nil {
		return nil, nil
	}
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: repo.Namespace, Name: repo.Spec.SecretRef.Name}
	if err := secrets.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("reading the credentials Secret %q: %w", key.Name, err)
	}
	auth, err := git.AuthFromSecret(secret.Data)
	if err != nil {
		return nil, &configError{fmt.Errorf("Secret %q: %w", key.Name, err)}
	}
	return auth, nil
}

// resolveFlux reads a Flux GitRepository's or ExternalArtifact's artifact:
// its revision from status, its files from the artifact tarball, checked
// against its digest.
func (r *Reconciler) resolveFlux(ctx context.Context, repo *krtv1.WorkflowRepository) (*snapshot, error) {
	ref := repo.Spec.SourceRef
	ns := ref.Namespace
	if ns == "" {
		ns = repo.Namespace
	}
	if ns != repo.Namespace && !r.crossNamespaceRefs {
		return nil, &configError{fmt.Errorf("sourceRef names %s %s/%s in another namespace: cross-namespace references are refused, "+
			"as with Flux's --no-cross-namespace-refs (krt-controller --allow-cross-namespace-refs allows them)", ref.Kind, ns, ref.Name)}
	}
	var art *meta.Artifact
	key := client.ObjectKey{Namespace: ns, Name: ref.Name}
	switch ref.Kind {
	case sourcev1.GitRepositoryKind:
		src := &sourcev1.GitRepository{}
		if err := r.client.Get(ctx, key, src); err != nil {
			return nil, fmt.Errorf("reading Flux GitRepository %s: %w", key, err)
		}
		art = src.Status.Artifact
	case sourcev1.ExternalArtifactKind:
		src := &sourcev1.ExternalArtifact{}
		if err := r.client.Get(ctx, key, src); err != nil {
			return nil, fmt.Errorf("reading Flux ExternalArtifact %s: %w", key, err)
		}
		art = src.Status.Artifact
	default:
		return nil, fmt.Errorf("sourceRef kind %q: want GitRepository or ExternalArtifact", ref.Kind)
	}
	if art == nil {
		return nil, fmt.Errorf("Flux %s %s has no artifact yet", ref.Kind, key)
	}
	dir := strings.TrimSuffix(workflowDir(repo), "/") + "/"
	return &snapshot{
		revision: art.Revision,
		read: func() (map[string][]byte, error) {
			files, err := artifact.Fetch(ctx, r.artifacts, art.URL, art.Digest)
			if err != nil {
				return nil, err
			}
			if folder.HasKustomization(files, dir) {
				return files, nil // bases may be anywhere in the tarball
			}
			out := map[string][]byte{}
			for p, data := range files {
				if strings.HasPrefix(p, dir) {
					out[p] = data
				}
			}
			return out, nil
		},
		// A tarball carries no history: say every path may have changed.
		changed: func(string) ([]string, bool, error) { return nil, true, nil },
	}, nil
}
