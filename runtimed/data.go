package runtimed

import (
	"context"
	"errors"
	"fmt"
	"time"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
	"krt.dev/krt/runtimed/transfer"
)

// dataRun is what one attempt moves to and from the store.
type dataRun struct {
	st       *openStore
	memoKey  string // "" unless spec.memoize
	cacheHit bool
}

func hasData(run *krtv1.Run) bool {
	return run.Spec.Artifacts != nil || run.Spec.Cache != nil || run.Spec.Memoize
}

// readScopes are where caches and memoized results are looked up.
func readScopes(run *krtv1.Run) []string {
	s := run.Spec.Scope
	if s == nil {
		return nil
	}
	if len(s.Read) == 0 {
		return []string{inNamespace(run, s.Write)}
	}
	out := make([]string, len(s.Read))
	for i, r := range s.Read {
		out[i] = inNamespace(run, r)
	}
	return out
}

// writeScope is where the Run's cache and memoized result go.
func writeScope(run *krtv1.Run) string { return inNamespace(run, run.Spec.Scope.Write) }

// inNamespace puts a scope under the Run's own namespace. A scope is the
// Run's text, which whoever may create Runs writes; two namespaces may
// share a bucket, so without this a tenant could name another's scope and
// plant a cache entry there.
func inNamespace(run *krtv1.Run, scope string) string { return run.Namespace + "|" + scope }

// prepare runs before the script: a memoized result ends the attempt
// there; otherwise the inputs are staged and the cache restored. A result
// is returned when the attempt ends before it starts.
func (a *Agent) prepare(ctx context.Context, run *krtv1.Run, id string, secrets secretCache) (*dataRun, *result) {
	st, err := a.artifactStore(ctx, run.Namespace)
	if err != nil {
		return nil, failedData("artifact store", err)
	}
	d := &dataRun{st: st}
	if run.Spec.Memoize {
		d.memoKey = memoKey(run, a.opts.RuntimeImage, secrets)
		if res := a.memoized(ctx, run, d); res != nil {
			return d, res
		}
	}
	if art := run.Spec.Artifacts; art != nil {
		for _, in := range art.Inputs {
			if err := transfer.Stage(ctx, st.Store, a.runtime, id, in.Digest, in.Path, st.maxRun); err != nil {
				return d, failedData(fmt.Sprintf("artifact input %s (%s, from %s)", in.Name, shortDigest(in.Digest), orDash(in.From)),
					a.dropCorrupt(ctx, st, in.Digest, err))
			}
		}
	}
	if c := run.Spec.Cache; c != nil {
		d.cacheHit = a.restoreCache(ctx, run, id, d)
	}
	return d, nil
}

// restoreCache stages the first scope's entry for the key. A miss, or an
// entry that fails its digest, is not an error: the step runs and saves.
func (a *Agent) restoreCache(ctx context.Context, run *krtv1.Run, id string, d *dataRun) bool {
	for _, scope := range readScopes(run) {
		var rec store.CacheRecord
		if err := d.st.GetRecord(ctx, store.CacheKey(scope, run.Spec.Cache.Key), &rec); err != nil {
			continue
		}
		if err := transfer.Stage(ctx, d.st.Store, a.runtime, id, rec.Digest, ".", d.st.maxRun); err != nil {
			a.opts.Log.Info("cache entry not restored", "run", run.Name, "scope", scope, "error", err.Error())
			continue
		}
		return true
	}
	return false
}

// memoized looks for an earlier success with the same memo key whose
// artifacts are all still in the store.
func (a *Agent) memoized(ctx context.Context, run *krtv1.Run, d *dataRun) *result {
	for _, scope := range readScopes(run) {
		var rec store.MemoRecord
		if err := d.st.GetRecord(ctx, store.MemoKey(scope, d.memoKey), &rec); err != nil {
			continue
		}
		refs, ok := a.present(ctx, d.st, rec.Artifacts)
		if !ok {
			continue
		}
		return &result{phase: krtv1.RunSucceeded, reason: krtv1.ReasonMemoized, memoized: true,
			message: fmt.Sprintf("memoized: an earlier success with the same inputs (%s) was reused", rec.Created.Format(time.RFC3339)),
			outputs: rec.Outputs, artifacts: refs, exitCode: new(int32)}
	}
	return nil
}

func (a *Agent) present(ctx context.Context, st *openStore, arts []store.ArtifactRef) ([]krtv1.ArtifactRef, bool) {
	refs := make([]krtv1.ArtifactRef, 0, len(arts))
	for _, r := range arts {
		if ok, err := st.Has(ctx, r.Digest); err != nil || !ok {
			return nil, false
		}
		refs = append(refs, krtv1.ArtifactRef{Name: r.Name, Digest: r.Digest, Size: r.Size, URI: r.URI})
	}
	return refs, true
}

// finish runs after a success: the outputs are uploaded, then the cache
// saved and the memoized result recorded. An output that cannot be taken
// fails the Run; a cache that cannot be saved only says so.
func (a *Agent) finish(ctx context.Context, run *krtv1.Run, id string, d *dataRun, res *result) {
	res.cacheHit = d.cacheHit
	if res.phase != krtv1.RunSucceeded || res.memoized {
		return
	}
	if err := a.uploadOutputs(ctx, run, id, d, res); err != nil {
		*res = *failedData("", err)
		res.cacheHit = d.cacheHit
		return
	}
	if c := run.Spec.Cache; c != nil && !d.cacheHit && run.Spec.Scope != nil {
		if err := a.saveCache(ctx, run, id, d); err != nil {
			res.message += "; cache not saved: " + err.Error()
		}
	}
	if d.memoKey != "" && run.Spec.Scope != nil {
		rec := store.MemoRecord{Outputs: res.outputs, Created: time.Now().UTC()}
		for _, r := range res.artifacts {
			rec.Artifacts = append(rec.Artifacts, store.ArtifactRef{Name: r.Name, Digest: r.Digest, Size: r.Size, URI: r.URI})
		}
		if _, err := d.st.PutRecord(ctx, store.MemoKey(writeScope(run), d.memoKey), rec, false); err != nil {
			res.message += "; not memoized: " + err.Error()
		}
	}
}

func (a *Agent) uploadOutputs(ctx context.Context, run *krtv1.Run, id string, d *dataRun, res *result) error {
	if run.Spec.Artifacts == nil {
		return nil
	}
	var total int64
	wr := orUnderscore(originName(run))
	for _, out := range run.Spec.Artifacts.Outputs {
		// contents: an output folder's entries are the artifact, so an
		// input unpacked at a path gets them there.
		ref, err := transfer.Collect(ctx, d.st.Store, a.runtime, &runtimev1.CollectRequest{Id: id, Paths: []string{out.Path},
			MaxBytes: min(d.st.maxArtifact, d.st.maxRun-total), Contents: true})
		if err != nil {
			return fmt.Errorf("artifact output %s (%s): %w", out.Name, out.Path, err)
		}
		total += ref.Bytes
		rec := store.ArtifactRef{Name: out.Name, Digest: ref.Digest, Size: ref.Size, URI: ref.URI,
			Namespace: originNamespace(run), WorkflowRun: wr, Run: run.Name, Created: time.Now().UTC()}
		if _, err := d.st.PutRecord(ctx, store.RefKey(rec.Namespace, wr, string(run.UID), out.Name), rec, false); err != nil {
			return fmt.Errorf("artifact output %s: recording it: %w", out.Name, err)
		}
		res.artifacts = append(res.artifacts, krtv1.ArtifactRef{Name: out.Name, Digest: ref.Digest, Size: ref.Size, URI: ref.URI})
	}
	return nil
}

func (a *Agent) saveCache(ctx context.Context, run *krtv1.Run, id string, d *dataRun) error {
	ref, err := transfer.Collect(ctx, d.st.Store, a.runtime, &runtimev1.CollectRequest{Id: id, Paths: run.Spec.Cache.Paths, MaxBytes: d.st.maxRun})
	if err != nil {
		return err
	}
	// First write wins: a cache entry, once there, is what every later
	// Run of the scope restores, so it is never replaced.
	_, err = d.st.PutRecord(ctx, store.CacheKey(writeScope(run), run.Spec.Cache.Key),
		store.CacheRecord{Digest: ref.Digest, Size: ref.Size, Created: time.Now().UTC(), Scope: writeScope(run)}, true)
	return err
}

// failedData is the result of a transfer that failed.
func failedData(what string, err error) *result {
	reason := krtv1.ReasonRuntimeError
	var te *transfer.Error
	if errors.As(err, &te) {
		reason = te.Reason
	}
	// The node's message is clipped: what went wrong comes first, the
	// store's own words (its URI, the key) last.
	msg := err.Error()
	if says := reasonSays[reason]; says != "" {
		msg = says + ": " + msg
	}
	if what != "" {
		msg = what + ": " + msg
	}
	return &result{phase: krtv1.RunFailed, reason: reason, message: msg, neverStarted: false}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orUnderscore(s string) string {
	if s == "" {
		return "_"
	}
	return s
}

// prepareOrAttach is prepare for a new attempt; attaching to one that
// runs already needs only the store.
func (a *Agent) prepareOrAttach(ctx context.Context, run *krtv1.Run, id string, secrets secretCache, attach bool) (*dataRun, *result) {
	if !attach {
		return a.prepare(ctx, run, id, secrets)
	}
	st, err := a.artifactStore(ctx, run.Namespace)
	if err != nil {
		return nil, failedData("artifact store", err)
	}
	d := &dataRun{st: st, cacheHit: run.Status.CacheHit}
	if run.Spec.Memoize {
		d.memoKey = memoKey(run, a.opts.RuntimeImage, secrets)
	}
	return d, nil
}

// reasonSays puts a transfer's failure in a few words.
var reasonSays = map[string]string{
	krtv1.ReasonArtifactDigest:       "the stored content does not match its digest",
	krtv1.ReasonArtifactNotFound:     "it is not in the store",
	krtv1.ReasonStoreUnreachable:     "the artifact store is unreachable",
	krtv1.ReasonArtifactsUnsupported: "the Runtime Server cannot move files",
}

// shortDigest is enough of a digest to tell artifacts apart in a message.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// dropCorrupt removes a blob that provably does not hash to its name.
// Uploads skip a digest the store has, so left there it would fail every
// later reader, the producing step's next run included; removed, that run
// uploads it again. Only a whole read that hashed wrong proves it: a
// broken connection is another error and removes nothing.
func (a *Agent) dropCorrupt(ctx context.Context, st *openStore, digest string, err error) error {
	var te *transfer.Error
	if !errors.As(err, &te) || te.Reason != krtv1.ReasonArtifactDigest {
		return err
	}
	if derr := st.Delete(ctx, store.BlobKey(digest)); derr != nil {
		return fmt.Errorf("%w (and removing it failed: %v)", err, derr)
	}
	return fmt.Errorf("%w; it was removed from the store, so running the step that made it again uploads it anew", err)
}
