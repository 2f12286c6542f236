package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// +kubebuilder:rbac:groups=krt.dev,resources=runtimes,verbs=get;list;watch

// imageRetry is how often a node waiting for a Runtime of its image looks
// again; creating the Runtime is a human step, so there is no hurry.
const imageRetry = 10 * time.Second

// waitRuntime is a node that cannot start until someone creates (or
// widens) a Runtime: it waits, saying what to create, rather than fail.
type waitRuntime struct{ msg string }

func (w *waitRuntime) Error() string { return w.msg }

// stepImage is the image a step runs in: its own, else its tool's.
func stepImage(s *krtv1.Step, tool *krtv1.ToolSpec) string {
	if s.Image != "" || tool == nil {
		return s.Image
	}
	return tool.Image
}

// byImage picks, for a step that names no runtime but an image, the first
// Runtime (by name) of the namespace with that image which allows every
// Secret the step reads.
func (b runBuilder) byImage(ctx context.Context, image string, secrets []string) (string, error) {
	if b.runtimes == nil {
		return "", &waitRuntime{msg: fmt.Sprintf("the step runs in image %s, and this controller cannot list Runtimes", image)}
	}
	all, err := b.runtimes(ctx)
	if err != nil {
		return "", err
	}
	var sameImage []string
	for _, rt := range all {
		if !krtv1.SameImage(rt.Spec.Image, image) {
			continue
		}
		if missing := notAllowed(rt.Spec.Secrets, secrets); len(missing) == 0 {
			return rt.Name, nil
		}
		sameImage = append(sameImage, rt.Name)
	}
	if len(sameImage) > 0 {
		return "", &waitRuntime{msg: fmt.Sprintf("the step runs in image %s and reads Secrets %s; Runtime %s has that image but does not allow them all: add them to its spec.secrets",
			image, strings.Join(secrets, ", "), strings.Join(sameImage, ", "))}
	}
	msg := fmt.Sprintf("the step runs in image %s and no Runtime in this namespace has it: create one with spec.image: %s", image, image)
	if len(secrets) > 0 {
		msg += " and spec.secrets: [" + strings.Join(secrets, ", ") + "]"
	}
	return "", &waitRuntime{msg: msg}
}

// notAllowed lists the Secrets of want that allowed does not hold.
func notAllowed(allowed, want []string) []string {
	var out []string
	for _, s := range want {
		if !slices.Contains(allowed, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// runtimesOf lists the Runtimes of the run's namespace once per pass.
func (p *pass) runtimesOf(ctx context.Context) ([]krtv1.Runtime, error) {
	if p.runtimeList == nil {
		list := &krtv1.RuntimeList{}
		if err := p.r.client.List(ctx, list, client.InNamespace(p.wr.Namespace)); err != nil {
			return nil, err
		}
		slices.SortFunc(list.Items, func(a, b krtv1.Runtime) int { return strings.Compare(a.Name, b.Name) })
		p.runtimeList = &list.Items
	}
	return *p.runtimeList, nil
}

// waitImage holds a node until a Runtime of its image exists, looking
// again every imageRetry.
func (p *pass) waitImage(n *krtv1.NodeStatus, w *waitRuntime) {
	next := metav1.NewTime(p.now.Add(imageRetry))
	n.Phase, n.NextTry = krtv1.NodeWaiting, &next
	n.Message = clip(w.msg, maxNodeMessage)
	p.wakeAt(next.Time)
}
