package node

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Describe says what a failing test needs to know about a namespace on
// the node: its pods' container states, its events, and the kubelet's
// last lines.
func (n *Node) Describe(ctx context.Context, ns string) string {
	var b strings.Builder
	pods, err := n.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "listing pods: %v\n", err)
	} else {
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "pod %s: %s %s\n", p.Name, p.Status.Phase, p.Status.Message)
			for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
				fmt.Fprintf(&b, "  %s: ready=%t restarts=%d state=%+v last=%+v\n", cs.Name, cs.Ready, cs.RestartCount, cs.State, cs.LastTerminationState)
			}
		}
	}
	events, err := n.Clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, e := range events.Items {
			fmt.Fprintf(&b, "event %s %s/%s: %s %s\n", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	// A component that died explains most of what follows it.
	for _, p := range n.procs {
		if p.Exited() {
			fmt.Fprintf(&b, "node process %s has exited; its last lines:\n%s\n", p.Name, p.Tail(5))
		}
	}
	if p := n.process("kubelet"); p != nil {
		fmt.Fprintf(&b, "kubelet:\n%s\n", p.Tail(15))
	}
	return b.String()
}
