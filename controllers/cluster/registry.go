// Package cluster keeps a connection to each remote cluster a Cluster object
// names: it probes the cluster, reports its health on the Cluster's status,
// and holds a client and a cache of krt's Runs there, so the workflow
// controller can create Runs in that cluster and watch them.
package cluster

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlcluster "sigs.k8s.io/controller-runtime/pkg/cluster"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Remote is a connected cluster: a client, and the namespace steps' Runs
// go to there.
type Remote struct {
	Name      string
	Client    client.Client
	Cache     cache.Cache
	Namespace string
}

// Registry holds the connected clusters, keyed by their Cluster object.
type Registry struct {
	log logr.Logger
	// onConnect lets the workflow controller watch Runs in a new cluster.
	onConnect func(key types.NamespacedName, r *Remote) error

	mu      sync.Mutex
	ctx     context.Context
	remotes map[types.NamespacedName]*remote
}

type remote struct {
	Remote
	fingerprint [32]byte // of the kubeconfig and namespace it was made from
	cancel      context.CancelFunc
}

// NewRegistry returns an empty Registry; Start gives it the context its
// caches run under.
func NewRegistry(log logr.Logger) *Registry {
	return &Registry{log: log, remotes: map[types.NamespacedName]*remote{}}
}

// OnConnect sets the hook called for each connection made.
func (r *Registry) OnConnect(fn func(key types.NamespacedName, rem *Remote) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onConnect = fn
}

// Start runs until ctx ends; caches started for remotes stop with it. It
// lets the Registry be added to a manager as a Runnable.
func (r *Registry) Start(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Get returns a connected cluster, or an error saying why there is none.
func (r *Registry) Get(key types.NamespacedName) (*Remote, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rem, ok := r.remotes[key]
	if !ok {
		return nil, fmt.Errorf("cluster %q is not connected (does its Cluster object exist and is it Ready?)", key.Name)
	}
	return &rem.Remote, nil
}

// ensure connects to a cluster, replacing an older connection made from a
// different kubeconfig or namespace.
func (r *Registry) ensure(ctx context.Context, key types.NamespacedName, cfg *rest.Config, kubeconfig []byte, namespace string) (*Remote, error) {
	fp := sha256.Sum256(append(append([]byte{}, kubeconfig...), namespace...))
	r.mu.Lock()
	if old, ok := r.remotes[key]; ok {
		if old.fingerprint == fp {
			r.mu.Unlock()
			return &old.Remote, nil
		}
		old.cancel()
		delete(r.remotes, key)
	}
	base := r.ctx
	r.mu.Unlock()
	if base == nil {
		return nil, fmt.Errorf("the cluster registry is not started")
	}
	rem, err := r.connect(base, key, cfg, namespace, fp)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.remotes[key] = rem
	hook := r.onConnect
	r.mu.Unlock()
	// Each connection has its own cache, so each gets its own watch.
	if hook != nil {
		if err := hook(key, &rem.Remote); err != nil {
			return nil, err
		}
	}
	return &rem.Remote, nil
}

// connect builds a client and a cache of the Runs krt made there.
func (r *Registry) connect(base context.Context, key types.NamespacedName, cfg *rest.Config, namespace string, fp [32]byte) (*remote, error) {
	made, err := labels.NewRequirement(krtv1.LabelWorkflowRun, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	cl, err := ctrlcluster.New(cfg, func(o *ctrlcluster.Options) {
		o.Scheme = scheme.New()
		o.Cache.DefaultNamespaces = map[string]cache.Config{namespace: {}}
		o.Cache.ByObject = map[client.Object]cache.ByObject{&krtv1.Run{}: {Label: labels.NewSelector().Add(*made)}}
		o.Cache.DefaultTransform = cache.TransformStripManagedFields()
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(base)
	go func() {
		if err := cl.Start(ctx); err != nil {
			r.log.Error(err, "remote cluster cache stopped", "cluster", key)
		}
	}()
	return &remote{Remote: Remote{Name: key.Name, Client: cl.GetClient(), Cache: cl.GetCache(), Namespace: namespace},
		fingerprint: fp, cancel: cancel}, nil
}

// forget drops a cluster whose Cluster object is gone.
func (r *Registry) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.remotes[key]; ok {
		old.cancel()
		delete(r.remotes, key)
	}
}
