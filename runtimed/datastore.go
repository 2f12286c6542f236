package runtimed

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
	storekube "krt.dev/krt/runtimed/store/kube"
	"krt.dev/krt/runtimed/transfer"
)

// openStore is an ArtifactStore opened for use, with the limits it sets.
type openStore struct {
	*store.Store
	version     string // of the ArtifactStore and its Secret, to reopen on change
	maxArtifact int64
	maxRun      int64
}

// stores keeps each ArtifactStore open across Runs, and opens it again
// when it or its credentials change.
type stores struct {
	mu   sync.Mutex
	open map[string]*openStore
}

// artifactStore is the Runtime's ArtifactStore in the Run's namespace. Its
// Secret is read by runtimed, whose Role names it; no step sees it.
func (a *Agent) artifactStore(ctx context.Context, namespace string) (*openStore, error) {
	name := a.opts.ArtifactStore
	if name == "" {
		return nil, &transfer.Error{Reason: krtv1.ReasonNoArtifactStore,
			Err: fmt.Errorf("runtime %q names no ArtifactStore (spec.artifactStore), so its Runs cannot move files", a.opts.Runtime)}
	}
	as := &krtv1.ArtifactStore{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, as); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &transfer.Error{Reason: krtv1.ReasonNoArtifactStore,
				Err: fmt.Errorf("ArtifactStore %s/%s, named by runtime %q, does not exist", namespace, name, a.opts.Runtime)}
		}
		return nil, &transfer.Error{Reason: krtv1.ReasonStoreUnreachable, Err: fmt.Errorf("reading ArtifactStore %s/%s: %w", namespace, name, err)}
	}
	// Read with runtimed's own identity: its Role names that Secret alone.
	opts, version, err := storekube.Options(ctx, a.client, as)
	if err != nil {
		return nil, &transfer.Error{Reason: krtv1.ReasonStoreUnreachable, Err: err}
	}
	key := namespace + "/" + name
	a.stores.mu.Lock()
	defer a.stores.mu.Unlock()
	if cur := a.stores.open[key]; cur != nil && cur.version == version {
		return cur, nil
	} else if cur != nil {
		_ = cur.Close()
		delete(a.stores.open, key)
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		return nil, &transfer.Error{Reason: krtv1.ReasonStoreUnreachable, Err: err}
	}
	o := &openStore{Store: st, version: version,
		maxArtifact: quantityOr(as.Spec.Limits.MaxArtifactSize, krtv1.DefaultMaxArtifactSize),
		maxRun:      quantityOr(as.Spec.Limits.MaxRunSize, krtv1.DefaultMaxRunSize)}
	if a.stores.open == nil {
		a.stores.open = map[string]*openStore{}
	}
	a.stores.open[key] = o
	return o, nil
}

func quantityOr(q *resource.Quantity, def int64) int64 {
	if q == nil {
		return def
	}
	return q.Value()
}
