// Package localpool runs a Runtime's warm pool as local processes, taking
// the kubelet's part: it creates the runtime Pod objects, starts real
// runtimed and krt-runtime processes for them, and marks them Ready. The
// dev stack and the e2e tests use it where there is no cluster to run pods.
package localpool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

// Options configures a Pool.
type Options struct {
	// Kubeconfig is given to each runtimed.
	Kubeconfig string
	// RuntimedBin and RuntimeBin are the runtimed and krt-runtime binaries.
	RuntimedBin, RuntimeBin string
	// Dir holds one directory per pod: the Runtime Server's socket, the
	// work directories and the processes' logs. Keep it short: a unix
	// socket path must fit in 108 bytes.
	Dir string
	// LeaseDuration and KillGrace are passed to runtimed and krt-runtime.
	LeaseDuration time.Duration
	KillGrace     time.Duration
	// ServiceAccountTokens runs each runtimed with a token for its pod's
	// ServiceAccount, as in a cluster, instead of Kubeconfig's identity.
	// The Runtime controller must be running to make the account and Role.
	ServiceAccountTokens bool
	// RuntimedArgs are added to each runtimed's flags.
	RuntimedArgs []string
	// RuntimeEnv is added to krt-runtime's environment, as a container's
	// env would be.
	RuntimeEnv []string
	Log        logr.Logger
}

// Pool is the local runtime pool.
type Pool struct {
	opts   Options
	client client.Client
	// api reads pods uncached: the pool must never act on a stale list,
	// or it would create a pod twice or stop a live one.
	api client.Reader

	mu   sync.Mutex
	pods map[types.NamespacedName]*podProcs
}

// New returns a Pool; SetupWithManager starts it.
func New(opts Options) *Pool {
	if opts.LeaseDuration == 0 {
		opts.LeaseDuration = 15 * time.Second
	}
	if opts.KillGrace == 0 {
		opts.KillGrace = 5 * time.Second
	}
	return &Pool{opts: opts, pods: map[types.NamespacedName]*podProcs{}}
}

// SetupWithManager reconciles Runtimes into local pods.
func (p *Pool) SetupWithManager(mgr ctrl.Manager) error {
	p.client = mgr.GetClient()
	p.api = mgr.GetAPIReader()
	return ctrl.NewControllerManagedBy(mgr).
		Named("localpool").
		// Status changes (the Runtime controller's counts) are not ours.
		For(&krtv1.Runtime{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.Pod{}).
		Owns(&appsv1.Deployment{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(p)
}

// Reconcile keeps the Deployment's replicas in pods, each with live
// processes, removing extra pods in the ReplicaSet controller's order.
func (p *Pool) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rt := &krtv1.Runtime{}
	if err := p.client.Get(ctx, req.NamespacedName, rt); err != nil {
		if apierrors.IsNotFound(err) {
			p.stopRuntime(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if runtimectl.Validate(rt) != nil {
		return ctrl.Result{}, nil // the Runtime controller reports why
	}
	want, ok, err := p.replicas(ctx, rt)
	if !ok || err != nil {
		return ctrl.Result{}, err
	}
	pods := &corev1.PodList{}
	if err := p.api.List(ctx, pods, client.InNamespace(rt.Namespace), client.MatchingLabels{krtv1.LabelRuntime: rt.Name}); err != nil {
		return ctrl.Result{}, err
	}
	live := p.reapGone(rt, pods.Items)
	sort.SliceStable(live, func(i, j int) bool { return deleteFirst(&live[i], &live[j]) })
	kept := 0
	for i := range live {
		if i < len(live)-want {
			if err := p.deletePod(ctx, &live[i]); err != nil {
				return ctrl.Result{}, err
			}
			continue
		}
		err := p.ensureProcs(ctx, rt, &live[i])
		if errors.Is(err, errPortTaken) {
			ctrl.LoggerFrom(ctx).Info("replacing a pod whose port was taken", "pod", live[i].Name, "error", err.Error())
			if err := p.deletePod(ctx, &live[i]); err != nil {
				return ctrl.Result{}, err
			}
			continue
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		kept++
	}
	for i := kept; i < want; i++ {
		if err := p.addPod(ctx, rt); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// deleteFirst orders pods as the ReplicaSet controller picks them for
// removal: not Ready first, then the lowest pod-deletion-cost, then the
// newest.
func deleteFirst(a, b *corev1.Pod) bool {
	if ra, rb := ready(a), ready(b); ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deletionCost(p *corev1.Pod) int64 {
	n, _ := strconv.ParseInt(p.Annotations[krtv1.AnnotationPodDeletionCost], 10, 32)
	return n
}

// replicas is the Deployment's replica count, as a ReplicaSet would
// follow it: as in a cluster, no Deployment means no pods, so a Runtime
// the controller refused runs nothing here either. Without the Runtime
// controller the pool stands in for it, with spec.replicas, or
// autoscaling's minimum (at least one).
func (p *Pool) replicas(ctx context.Context, rt *krtv1.Runtime) (int, bool, error) {
	if !p.opts.ServiceAccountTokens {
		if a := rt.Spec.Autoscaling; a != nil {
			return int(max(a.MinReplicas, 1)), true, nil
		}
		return int(rt.FixedReplicas()), true, nil
	}
	d := &appsv1.Deployment{}
	err := p.api.Get(ctx, client.ObjectKey{Namespace: rt.Namespace, Name: runtimectl.Name(rt)}, d)
	if apierrors.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if d.Spec.Replicas == nil {
		return 1, true, nil
	}
	return int(*d.Spec.Replicas), true, nil
}

// reapGone stops the processes of pods that no longer exist and returns the
// pods that are not being deleted.
func (p *Pool) reapGone(rt *krtv1.Runtime, pods []corev1.Pod) []corev1.Pod {
	exists := map[types.UID]bool{}
	var live []corev1.Pod
	for _, pod := range pods {
		if pod.DeletionTimestamp == nil {
			exists[pod.UID] = true
			live = append(live, pod)
		}
	}
	p.mu.Lock()
	var gone []*podProcs
	for key, pp := range p.pods {
		if pp.runtime == rt.Name && key.Namespace == rt.Namespace && !exists[pp.pod.UID] {
			gone = append(gone, pp)
			delete(p.pods, key)
		}
	}
	p.mu.Unlock()
	for _, pp := range gone {
		p.stopProcs(pp)
	}
	return live
}

func (p *Pool) addPod(ctx context.Context, rt *krtv1.Runtime) error {
	if !p.opts.ServiceAccountTokens {
		// Without the Runtime controller, nobody else makes the account.
		if err := p.ensureServiceAccount(ctx, rt); err != nil {
			return err
		}
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	metricsPort, err := FreePort()
	if err != nil {
		return err
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	pod := podFor(rt, port, metricsPort, hex.EncodeToString(token))
	if err := p.client.Create(ctx, pod); err != nil {
		return fmt.Errorf("creating pod for runtime %s: %w", rt.Name, err)
	}
	return p.ensureProcs(ctx, rt, pod)
}

// ensureProcs starts the pod's processes if they are not running, then
// marks the pod Ready as a kubelet would once its probes pass.
func (p *Pool) ensureProcs(ctx context.Context, rt *krtv1.Runtime, pod *corev1.Pod) error {
	key := client.ObjectKeyFromObject(pod)
	p.mu.Lock()
	pp := p.pods[key]
	if pp == nil || pp.pod.UID != pod.UID {
		pp = &podProcs{pod: pod.DeepCopy(), runtime: rt.Name, logsPort: int(krtv1.LogsPort(pod)), exited: map[*exec.Cmd]chan struct{}{}}
		pp.dir = filepath.Join(p.opts.Dir, shortName(pod))
		pp.host = podHost{pod: pp.pod, dir: pp.dir, bins: p.imageBinaries()}
		p.pods[key] = pp
	}
	p.mu.Unlock()
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if err := os.MkdirAll(pp.dir, 0o700); err != nil {
		return err
	}
	if pp.held {
		return nil // a fault test stopped it; it stays down until restarted
	}
	if !pp.initialized {
		if err := pp.host.volumes(); err != nil {
			return err
		}
		if err := p.runInit(pp); err != nil {
			return err
		}
		pp.initialized = true
	}
	if !pp.alive(pp.server) {
		if err := p.startServer(pp); err != nil {
			return err
		}
	}
	if !pp.alive(pp.runtimed) {
		if err := p.startRuntimed(pp); err != nil {
			return err
		}
	}
	return p.markReady(ctx, pod)
}

func (p *Pool) markReady(ctx context.Context, pod *corev1.Pod) error {
	if pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != "" {
		return nil
	}
	now := metav1.Now()
	pod = pod.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = "127.0.0.1"
	pod.Status.PodIPs = []corev1.PodIP{{IP: "127.0.0.1"}}
	pod.Status.HostIP = "127.0.0.1"
	pod.Status.StartTime = &now
	pod.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	return p.client.Status().Update(ctx, pod)
}

func (p *Pool) deletePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	pp := p.pods[client.ObjectKeyFromObject(pod)]
	delete(p.pods, client.ObjectKeyFromObject(pod))
	p.mu.Unlock()
	if pp != nil {
		p.stopProcs(pp)
	}
	return client.IgnoreNotFound(p.client.Delete(ctx, pod, client.GracePeriodSeconds(0)))
}

func (p *Pool) stopRuntime(rt types.NamespacedName) {
	p.mu.Lock()
	var gone []*podProcs
	for key, pp := range p.pods {
		if key.Namespace == rt.Namespace && pp.runtime == rt.Name {
			gone = append(gone, pp)
			delete(p.pods, key)
		}
	}
	p.mu.Unlock()
	for _, pp := range gone {
		p.stopProcs(pp)
	}
}

func (p *Pool) stopProcs(pp *podProcs) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.stop(pp.runtimed, p.opts.KillGrace)
	pp.stop(pp.server, p.opts.KillGrace)
}

func (p *Pool) ensureServiceAccount(ctx context.Context, rt *krtv1.Runtime) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: runtimectl.ServiceAccountName(rt), Namespace: rt.Namespace}}
	if err := p.client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// Stop ends every process the pool started. Pod objects stay, so a later
// pool over the same API server picks them up again.
func (p *Pool) Stop() {
	p.mu.Lock()
	all := make([]*podProcs, 0, len(p.pods))
	for _, pp := range p.pods {
		all = append(all, pp)
	}
	p.pods = map[types.NamespacedName]*podProcs{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, pp := range all {
		wg.Go(func() { p.stopProcs(pp) })
	}
	wg.Wait()
}
