package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// +kubebuilder:rbac:groups=krt.dev,resources=runtimes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// placer answers where a step runs when the step does not say it fully:
// what a runner names, and the runtime of a step that names none.
type placer interface {
	runner(ctx context.Context, name string) (cluster, runtime string, err error)
	defaultRuntime(ctx context.Context) (string, error)
	clusterRuntime(ctx context.Context, cluster string) (string, error)
}

// unresolved is a runner that names nothing yet. The node waits rather
// than fails: the Cluster or Runtime may be created after the workflow.
type unresolved struct{ msg string }

func (u *unresolved) Error() string { return u.msg }

// runner resolves a step's runner: a Cluster of that name, on the
// cluster's default runtime; else a Runtime of that name in the hub; else
// "cluster/runtime".
func (p *pass) runner(ctx context.Context, name string) (cluster, runtime string, err error) {
	key := client.ObjectKey{Namespace: p.wr.Namespace, Name: name}
	if !strings.Contains(name, "/") {
		cl := &krtv1.Cluster{}
		err := p.r.client.Get(ctx, key, cl)
		if err == nil {
			return name, clusterRuntime(cl), nil
		}
		if !apierrors.IsNotFound(err) {
			return "", "", err
		}
		err = p.r.client.Get(ctx, key, &krtv1.Runtime{})
		if err == nil {
			return "", name, nil
		}
		if !apierrors.IsNotFound(err) {
			return "", "", err
		}
		return "", "", &unresolved{fmt.Sprintf("runner %s resolves to nothing: there is no Cluster %s and no Runtime %s in namespace %s; "+
			"create one of them, or write the runner as <cluster>/<runtime>", name, name, name, p.wr.Namespace)}
	}
	cluster, runtime, _ = strings.Cut(name, "/")
	if cluster == "" || runtime == "" || strings.Contains(runtime, "/") {
		return "", "", fmt.Errorf("runner %q: want <cluster>, <runtime> or <cluster>/<runtime>", name)
	}
	return cluster, runtime, nil
}

// clusterRuntime is the default runtime of a Cluster a step names
// without a runtime. A Cluster that does not exist is left to the target
// lookup, which makes the node wait for it.
func (p *pass) clusterRuntime(ctx context.Context, name string) (string, error) {
	cl := &krtv1.Cluster{}
	err := p.r.client.Get(ctx, client.ObjectKey{Namespace: p.wr.Namespace, Name: name}, cl)
	switch {
	case apierrors.IsNotFound(err):
		return krtv1.DefaultRuntime, nil
	case err != nil:
		return "", err
	}
	return clusterRuntime(cl), nil
}

func clusterRuntime(cl *krtv1.Cluster) string {
	if cl.Spec.DefaultRuntime != "" {
		return cl.Spec.DefaultRuntime
	}
	return krtv1.DefaultRuntime
}

// defaultRuntime is the runtime of a step that names none, nor does its
// tool: its repository's spec.defaultRuntime, else its namespace's
// krt.dev/default-runtime annotation, else bash.
func (p *pass) defaultRuntime(ctx context.Context) (string, error) {
	if p.defaultRT != "" {
		return p.defaultRT, nil
	}
	rt, err := p.lookupDefaultRuntime(ctx)
	if err != nil {
		return "", err
	}
	p.defaultRT = rt
	return rt, nil
}

func (p *pass) lookupDefaultRuntime(ctx context.Context) (string, error) {
	if name := p.wr.Labels[krtv1.LabelRepository]; name != "" {
		repo := &krtv1.WorkflowRepository{}
		err := p.r.client.Get(ctx, client.ObjectKey{Namespace: p.wr.Namespace, Name: name}, repo)
		switch {
		case err == nil && repo.Spec.DefaultRuntime != "":
			return repo.Spec.DefaultRuntime, nil
		case err != nil && !apierrors.IsNotFound(err):
			return "", err
		}
	}
	// Read live: a cache of every Namespace would cost a watch of them
	// all for one annotation, read once per pass at most.
	ns := &corev1.Namespace{}
	err := p.r.live.Get(ctx, client.ObjectKey{Name: p.wr.Namespace}, ns)
	switch {
	case err == nil && ns.Annotations[krtv1.AnnotationDefaultRuntime] != "":
		return ns.Annotations[krtv1.AnnotationDefaultRuntime], nil
	case err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err):
		return "", err
	}
	return krtv1.DefaultRuntime, nil
}

// isUnresolved reports whether err is a runner that names nothing.
func isUnresolved(err error) (*unresolved, bool) {
	var u *unresolved
	ok := errors.As(err, &u)
	return u, ok
}
