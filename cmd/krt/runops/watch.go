package runops

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// WatchRun calls fn with the Run now and after each change, until fn
// returns true or ctx ends.
func WatchRun(ctx context.Context, c client.WithWatch, key client.ObjectKey, fn func(*krtv1.Run) bool) error {
	return WatchObject(ctx, c, key, func() *krtv1.Run { return &krtv1.Run{} }, &krtv1.RunList{}, "the Run", fn)
}

// WatchWorkflowRun calls fn with the run now and after each change, until
// fn returns true or ctx ends.
func WatchWorkflowRun(ctx context.Context, c client.WithWatch, key client.ObjectKey, fn func(*krtv1.WorkflowRun) bool) error {
	return WatchObject(ctx, c, key, func() *krtv1.WorkflowRun { return &krtv1.WorkflowRun{} },
		&krtv1.WorkflowRunList{}, "the workflow run", fn)
}

// WatchObject calls fn with the object now and after each change, until
// fn returns true or ctx ends. The watch starts at the version read, so no
// change between the read and the watch is missed.
func WatchObject[T client.Object](ctx context.Context, c client.WithWatch, key client.ObjectKey,
	newObj func() T, list client.ObjectList, what string, fn func(T) bool) error {
	for {
		obj := newObj()
		if err := c.Get(ctx, key, obj); err != nil {
			return err
		}
		if fn(obj) {
			return nil
		}
		w, err := c.Watch(ctx, list, client.InNamespace(key.Namespace),
			client.MatchingFields{"metadata.name": key.Name},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: obj.GetResourceVersion()}})
		if err != nil {
			return err
		}
		done, err := drain(ctx, w, what, fn)
		w.Stop()
		if done || err != nil {
			return err
		}
		// The watch ended (a server timeout, a version too old): read
		// again and watch on.
	}
}

func drain[T client.Object](ctx context.Context, w watch.Interface, what string, fn func(T) bool) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return false, fmt.Errorf("%s was deleted", what)
			case watch.Error:
				return false, nil
			}
			if obj, ok := ev.Object.(T); ok && fn(obj) {
				return true, nil
			}
		}
	}
}
