package metrics

import (
	"context"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// SetupWithManager registers the gauges on controller-runtime's registry,
// which the manager serves on its metrics address, and observes the
// histograms from the cache while this replica leads.
func SetupWithManager(mgr ctrl.Manager, kinds Kinds) error {
	c := &collector{cache: mgr.GetCache(), kinds: kinds, elected: mgr.Elected(), now: time.Now}
	if err := ctrlmetrics.Registry.Register(c); err != nil {
		return err
	}
	return mgr.Add(&observer{mgr: mgr, kinds: kinds})
}

// observer adds the update handlers that observe the histograms. It runs
// on the leader only, so that each transition is observed once.
type observer struct {
	mgr   ctrl.Manager
	kinds Kinds
}

func (o *observer) NeedLeaderElection() bool { return true }

func (o *observer) Start(ctx context.Context) error {
	if o.kinds.Runs {
		if err := o.onUpdate(ctx, &krtv1.Run{}, func(old, cur client.Object) {
			observeRun(old.(*krtv1.Run), cur.(*krtv1.Run), time.Now())
		}); err != nil {
			return err
		}
	}
	if o.kinds.WorkflowRuns {
		if err := o.onUpdate(ctx, &krtv1.WorkflowRun{}, func(old, cur client.Object) {
			observeWorkflowRun(old.(*krtv1.WorkflowRun), cur.(*krtv1.WorkflowRun))
		}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

func (o *observer) onUpdate(ctx context.Context, obj client.Object, observe func(old, cur client.Object)) error {
	inf, err := o.mgr.GetCache().GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, cur any) {
			before, ok1 := old.(client.Object)
			after, ok2 := cur.(client.Object)
			if ok1 && ok2 {
				observe(before, after)
			}
		},
	})
	return err
}
