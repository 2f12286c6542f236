package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
	"krt.dev/krt/runtimed/heartbeat"
	"krt.dev/krt/test/kubetest"
)

// simPool plays a Runtime's pods inside the bench, for the growth curves:
// 200 real runtimed and krt-runtime pairs would not fit on the machine.
// Each simulated pod does what runtimed does through the API server: a
// Pod object marked Ready, a Lease renewed by runtimed's own heartbeat
// code, a Run cache with runtimed's field selector (its own list and
// watch), and for each Run assigned to it the result (Scheduled →
// Succeeded: a no-op ends long before runtimed's --claim-after), a status
// update with the Run's resourceVersion, re-read and re-checked on a
// conflict as runtimed's writeStatus does.
//
// It skips: the Runtime Server (krt-runtime, its gRPC stream, starting
// the process), logs and their archive, Secrets, artifacts and outputs,
// adopting an execution after a restart, cancelling a running one, the
// metrics endpoint, and the pod's ServiceAccount (it writes as the
// admin). Its CPU is counted as the bench's.
type simPool struct {
	pods   []*simPod
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// paused pods leave assigned Runs unclaimed, so a backlog can be
	// built without the pool working it off.
	paused atomic.Bool
}

type simPod struct {
	pool  *simPool
	pod   *corev1.Pod
	api   client.Client
	cache cache.Cache
	queue workqueue.TypedRateLimitingInterface[string]
	// claimed are the attempts taken here, as runtimed's active and
	// finished sets: an event replayed from a lagging cache claims nothing.
	claimed sync.Map
}

// simWorkers is runtimed's default number of workers.
const simWorkers = 4

// startSimPool creates n Ready pods for the Runtime and starts them.
func startSimPool(env *kubetest.Env, rt *krtv1.Runtime, n int, lease time.Duration, paused bool) (*simPool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &simPool{cancel: cancel}
	p.paused.Store(paused)
	api, err := client.New(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		cancel()
		return nil, err
	}
	for range n {
		sp, err := p.addPod(ctx, env.Config, api, rt, lease)
		if err != nil {
			p.stop()
			return nil, err
		}
		p.pods = append(p.pods, sp)
	}
	for _, sp := range p.pods {
		if !sp.cache.WaitForCacheSync(ctx) {
			p.stop()
			return nil, fmt.Errorf("simulated pod %s: its Run cache never synced", sp.pod.Name)
		}
	}
	return p, nil
}

// addPod makes one pod as the Runtime's Deployment would, marks it Ready
// as a kubelet would, and starts its heartbeat, cache and workers.
func (p *simPool) addPod(ctx context.Context, cfg *rest.Config, api client.Client, rt *krtv1.Runtime, lease time.Duration) (*simPod, error) {
	tmpl := runtimectl.PodTemplate(rt, runtimectl.PodOptions{RuntimedImage: "krt.dev/runtimed:simulated"})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: rt.Name + "-", Namespace: rt.Namespace,
		Labels: tmpl.Labels, Annotations: tmpl.Annotations,
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rt, krtv1.GroupVersion.WithKind("Runtime"))}},
		Spec: tmpl.Spec}
	pod.Spec.NodeName = "krt-simulated"
	if err := api.Create(ctx, pod); err != nil {
		return nil, err
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if err := api.Status().Update(ctx, pod); err != nil {
		return nil, err
	}
	runs, err := cache.New(cfg, cache.Options{Scheme: api.Scheme(),
		DefaultTransform:  cache.TransformStripManagedFields(),
		DefaultNamespaces: map[string]cache.Config{pod.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&krtv1.Run{}: {Field: fields.OneTermEqualSelector(krtv1.FieldAssignedPod, pod.Name)},
		}})
	if err != nil {
		return nil, err
	}
	sp := &simPod{pool: p, pod: pod, api: api, cache: runs,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())}
	inf, err := runs.GetInformer(ctx, &krtv1.Run{})
	if err != nil {
		return nil, err
	}
	enqueue := func(obj any) {
		if o, ok := obj.(client.Object); ok {
			sp.queue.Add(o.GetName())
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }}); err != nil {
		return nil, err
	}
	renewer := &heartbeat.Renewer{Client: api, Pod: client.ObjectKeyFromObject(pod), PodUID: pod.UID,
		Runtime: rt.Name, Duration: lease}
	p.wg.Go(func() { _ = runs.Start(ctx) })
	p.wg.Go(func() { renewer.Run(ctx) })
	for range simWorkers {
		p.wg.Go(func() { sp.work(ctx) })
	}
	p.wg.Go(func() { <-ctx.Done(); sp.queue.ShutDown() })
	return sp, nil
}

// resume lets the pods claim, and hands each the Runs it was given while
// paused.
func (p *simPool) resume(ctx context.Context) {
	p.paused.Store(false)
	for _, sp := range p.pods {
		list := &krtv1.RunList{}
		if err := sp.cache.List(ctx, list); err == nil {
			for i := range list.Items {
				sp.queue.Add(list.Items[i].Name)
			}
		}
	}
}

func (p *simPool) stop() {
	p.cancel()
	p.wg.Wait()
}

func (sp *simPod) work(ctx context.Context) {
	for {
		name, shutdown := sp.queue.Get()
		if shutdown {
			return
		}
		if err := sp.sync(ctx, name); err != nil && ctx.Err() == nil {
			sp.queue.AddRateLimited(name)
		} else {
			sp.queue.Forget(name)
		}
		sp.queue.Done(name)
	}
}

// sync takes a Run newly assigned here and, the no-op done, writes its
// result: runtimed's one write for a short Run.
func (sp *simPod) sync(ctx context.Context, name string) error {
	if sp.pool.paused.Load() {
		return nil
	}
	run := &krtv1.Run{}
	if err := sp.cache.Get(ctx, types.NamespacedName{Namespace: sp.pod.Namespace, Name: name}, run); err != nil {
		return client.IgnoreNotFound(err)
	}
	id := fmt.Sprintf("%s/%d", run.UID, run.Status.Attempt)
	if !sp.ours(run) || run.Status.Phase != krtv1.RunScheduled {
		return nil
	}
	if _, seen := sp.claimed.LoadOrStore(id, true); seen {
		return nil
	}
	began := metav1.Now()
	done, err := sp.write(ctx, run, func(r *krtv1.Run) {
		r.Status.StartTime, r.Status.ExitCode = &began, ptr.To(int32(0))
		r.RetryOrFinish(krtv1.RunSucceeded, krtv1.ReasonSucceeded, "exit code 0", true, time.Now())
	})
	if err != nil || done == nil {
		sp.claimed.Delete(id)
	}
	return err
}

func (sp *simPod) ours(r *krtv1.Run) bool {
	return r.Status.AssignedPod == sp.pod.Name && r.Status.AssignedPodUID == sp.pod.UID && r.Spec.Runtime == sp.pod.Labels[krtv1.LabelRuntime]
}

// write is runtimed's writeStatus: a status update with the Run's
// resourceVersion; on a conflict, the Run read again and the write made
// only if it is still this attempt, in the phase it was. A nil Run means
// fenced: the Run moved on without this pod.
func (sp *simPod) write(ctx context.Context, run *krtv1.Run, mutate func(*krtv1.Run)) (*krtv1.Run, error) {
	r := run.DeepCopy()
	for try := 0; ; try++ {
		mutate(r)
		sent := r.StatusOnly()
		err := sp.api.Status().Update(ctx, sent, client.FieldOwner(krtv1.RunStatusFieldManager))
		if err == nil {
			return sent, nil
		}
		if !apierrors.IsConflict(err) || try == 8 {
			return nil, err
		}
		fresh := &krtv1.Run{}
		if err := sp.api.Get(ctx, client.ObjectKeyFromObject(run), fresh); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
		if fresh.UID != run.UID || !sp.ours(fresh) || fresh.Status.Attempt != run.Status.Attempt || fresh.Status.Phase != run.Status.Phase {
			return nil, nil
		}
		r = fresh
	}
}
