package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The cluster controller's rights (make generate writes them into the
// ClusterRole krt-controller-cluster): Clusters, and the Secret holding a
// Cluster's kubeconfig, read live by name.
//
// +kubebuilder:rbac:groups=krt.dev,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=clusters/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reasons on a Cluster's Ready condition.
const (
	ReasonConnected   = "Connected"
	ReasonUnreachable = "Unreachable"
	ReasonBadConfig   = "KubeconfigInvalid"
	// ReasonInsecure says the kubeconfig uses a field krt refuses unless
	// an operator opts in (KubeconfigOptions).
	ReasonInsecure   = "InsecureKubeconfig"
	defaultKey       = "kubeconfig"
	probeInterval    = time.Minute
	unreachableRetry = 15 * time.Second
	probeTimeout     = 10 * time.Second
)

// Reconciler probes Clusters and keeps the Registry connected to them.
type Reconciler struct {
	client client.Client
	// secrets reads kubeconfigs uncached: caching would mean watching
	// every Secret in the cluster.
	secrets  client.Reader
	registry *Registry
	opts     KubeconfigOptions
}

// SetupWithManager registers the Cluster controller and the Registry.
// opts says which kubeconfig fields an operator allows.
func SetupWithManager(mgr ctrl.Manager, reg *Registry, opts KubeconfigOptions) error {
	if err := mgr.Add(reg); err != nil {
		return err
	}
	r := &Reconciler{client: mgr.GetClient(), secrets: mgr.GetAPIReader(), registry: reg, opts: opts}
	// A changed kubeconfig is picked up at the next probe, a minute at most.
	return ctrl.NewControllerManagedBy(mgr).Named("cluster").For(&krtv1.Cluster{}).Complete(r)
}

// Reconcile probes one cluster.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	cl := &krtv1.Cluster{}
	if err := r.client.Get(ctx, req.NamespacedName, cl); err != nil {
		if apierrors.IsNotFound(err) {
			r.registry.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	patcher := patch.NewSerialPatcher(cl, r.client)
	defer func() {
		err := patcher.Patch(ctx, cl, patch.WithStatusObservedGeneration{}, patch.WithOwnedConditions{Conditions: []string{
			krtv1.ConditionReady, krtv1.ConditionReconciling, krtv1.ConditionStalled}})
		retErr = kerrors.NewAggregate([]error{retErr, client.IgnoreNotFound(err)})
	}()
	now := metav1.Now()
	cl.Status.LastProbeTime = &now
	cfg, raw, err := r.restConfig(ctx, cl)
	if err != nil {
		reason := ReasonBadConfig
		if IsInsecureKubeconfig(err) {
			reason = ReasonInsecure
			// A connection made before the Secret changed must not
			// outlive the kubeconfig that is now refused.
			r.registry.forget(req.NamespacedName)
		}
		conditions.MarkFalse(cl, krtv1.ConditionReady, reason, "%s", err)
		conditions.MarkStalled(cl, reason, "%s", err)
		return ctrl.Result{RequeueAfter: probeInterval}, nil
	}
	conditions.Delete(cl, krtv1.ConditionStalled)
	version, err := probe(ctx, cfg)
	if err != nil {
		conditions.MarkFalse(cl, krtv1.ConditionReady, ReasonUnreachable, "%s", err)
		return ctrl.Result{RequeueAfter: unreachableRetry}, nil
	}
	cl.Status.ServerVersion = version
	if _, err := r.registry.ensure(ctx, req.NamespacedName, cfg, raw, namespaceOf(cl)); err != nil {
		conditions.MarkFalse(cl, krtv1.ConditionReady, ReasonUnreachable, "%s", err)
		return ctrl.Result{RequeueAfter: unreachableRetry}, nil
	}
	conditions.MarkTrue(cl, krtv1.ConditionReady, ReasonConnected, "connected to %s, Kubernetes %s", cfg.Host, version)
	return ctrl.Result{RequeueAfter: probeInterval}, nil
}

func namespaceOf(cl *krtv1.Cluster) string {
	if cl.Spec.Namespace == "" {
		return "default"
	}
	return cl.Spec.Namespace
}

func (r *Reconciler) restConfig(ctx context.Context, cl *krtv1.Cluster) (*rest.Config, []byte, error) {
	cfg, raw, err := RESTConfig(ctx, r.secrets, cl, r.opts)
	if err != nil {
		return nil, nil, err
	}
	cfg.Timeout = probeTimeout * 3
	cfg.UserAgent = "krt-controller"
	return cfg, raw, nil
}

// RESTConfig reads a Cluster's kubeconfig from its Secret, in the
// Cluster's namespace, refusing the fields opts do not allow; it returns
// the raw kubeconfig too. Every client of a Cluster is made here: the
// controller's probe, the Registry the workflow controller uses, and the
// CLI, which reaches a cluster the way the controller does.
func RESTConfig(ctx context.Context, secrets client.Reader, cl *krtv1.Cluster, opts KubeconfigOptions) (*rest.Config, []byte, error) {
	ref := cl.Spec.KubeconfigSecretRef
	key := ref.Key
	if key == "" {
		key = defaultKey
	}
	secret := &corev1.Secret{}
	if err := secrets.Get(ctx, client.ObjectKey{Namespace: cl.Namespace, Name: ref.Name}, secret); err != nil {
		return nil, nil, fmt.Errorf("reading Secret %q: %w", ref.Name, err)
	}
	raw, ok := secret.Data[key]
	if !ok {
		return nil, nil, fmt.Errorf("Secret %q has no key %q", ref.Name, key)
	}
	cfg, err := RESTConfigFromKubeconfig(raw, opts)
	switch {
	case IsInsecureKubeconfig(err):
		return nil, nil, fmt.Errorf("Secret %q key %q: %w", ref.Name, key, err)
	case err != nil:
		return nil, nil, fmt.Errorf("Secret %q key %q is not a usable kubeconfig: %w", ref.Name, key, err)
	}
	return cfg, raw, nil
}

// probe asks the cluster its version, within probeTimeout.
func probe(ctx context.Context, cfg *rest.Config) (string, error) {
	c := rest.CopyConfig(cfg)
	c.Timeout = probeTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return "", err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("%s is unreachable: %w", cfg.Host, err)
	}
	return v.GitVersion, nil
}
