package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// artifactRef is the bare form of an artifact input's from.
var artifactRef = regexp.MustCompile(`^\s*steps\.([A-Za-z0-9_-]+)\.artifacts\.([A-Za-z0-9_-]+)\s*$`)

// digestRE is what runtimed accepts as an artifact's address.
var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// data adds a node's files to its Run: artifact inputs resolved to the
// digests their steps recorded, the outputs to take away, the cache key,
// memoize, and the scope that caches and memoized results live in.
func (b runBuilder) data(ctx context.Context, s *krtv1.Step, spec *krtv1.RunSpec) error {
	if a := s.Artifacts; a != nil && len(a.Inputs)+len(a.Outputs) > 0 {
		spec.Artifacts = &krtv1.RunArtifacts{Outputs: slices.Clone(a.Outputs)}
		for i, in := range a.Inputs {
			got, err := b.artifactInput(ctx, in)
			if err != nil {
				return fmt.Errorf("artifacts.inputs[%d].from: %w", i, err)
			}
			spec.Artifacts.Inputs = append(spec.Artifacts.Inputs, got)
		}
	}
	if s.Cache != nil {
		key, err := b.interpolate(ctx, "cache.key", s.Cache.Key)
		if err != nil {
			return err
		}
		if key == "" {
			return fmt.Errorf("cache.key: %q is empty once resolved", s.Cache.Key)
		}
		spec.Cache = &krtv1.RunCache{Key: clipScope(key), Paths: slices.Clone(s.Cache.Paths)}
	}
	spec.Memoize = s.Memoize
	if spec.Cache != nil || spec.Memoize {
		spec.Scope = b.scope.DeepCopy()
	}
	return nil
}

// artifactInput resolves from to the digest the producing step recorded.
// The bare form is looked up directly, so a missing artifact is named
// with what the step does have.
func (b runBuilder) artifactInput(ctx context.Context, in krtv1.StepArtifactInput) (krtv1.ArtifactInput, error) {
	out := krtv1.ArtifactInput{Name: in.Name, Path: in.Path, From: in.From}
	if out.Path == "" {
		out.Path = "."
	}
	if m := artifactRef.FindStringSubmatch(in.From); m != nil && !expr.HasTemplate(in.From) {
		if out.Name == "" {
			out.Name = m[2]
		}
		step, ok := b.vars.Steps[m[1]]
		if !ok {
			return out, fmt.Errorf("step %s is not in the run", m[1])
		}
		if out.Digest, ok = step.Artifacts[m[2]]; !ok {
			return out, fmt.Errorf("step %s has no artifact %q (it has %v)", m[1], m[2], sortedNames(step.Artifacts))
		}
		return out, nil
	}
	v, err := b.env.Interpolate(ctx, in.From, b.vars)
	if err != nil {
		return out, err
	}
	if !digestRE.MatchString(v) {
		return out, fmt.Errorf("%q is not an artifact (want steps.STEP.artifacts.NAME)", in.From)
	}
	if out.Name == "" {
		return out, fmt.Errorf("an input from %q needs a name", in.From)
	}
	out.Digest = v
	return out, nil
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// dataScope is where a run's caches and memoized results belong: its
// repository, workflow and ref. A pull request writes only its own scope
// and reads its base branch's after it, so code from a PR can never put
// a cache entry where a push to the branch would restore it.
func dataScope(wr *krtv1.WorkflowRun) *krtv1.RunScope {
	base := wr.Namespace + "/" + wr.Labels[krtv1.LabelRepository] + "/" + wr.Spec.Workflow
	ev := wr.Spec.Event
	// By the event's type, not by which payload is there: a manual run
	// carrying a push's payload must not write the branch's scope.
	switch {
	case ev.Type == krtv1.EventPullRequest && ev.PullRequest != nil:
		write := clipScope(base + "/pr/" + strconv.FormatInt(ev.PullRequest.Number, 10))
		return &krtv1.RunScope{Write: write, Read: []string{write, clipScope(base + "/branch/" + ev.PullRequest.Base)}}
	case ev.Type == krtv1.EventPush && ev.Push != nil && ev.Push.Branch != "":
		return &krtv1.RunScope{Write: clipScope(base + "/branch/" + ev.Push.Branch)}
	}
	return &krtv1.RunScope{Write: clipScope(base + "/event/" + ev.Type)}
}

// clipScope keeps a scope or key within the API's 512 characters; a long
// one keeps its head, for people, and a hash of the whole, for the store.
func clipScope(s string) string {
	if len(s) <= 512 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:512-65] + "~" + hex.EncodeToString(sum[:])
}
