package devstack

import (
	"context"
	"fmt"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// readyTimeout bounds the wait for pools, clusters and the repository; a
// cold start on two cores takes well under a minute.
const readyTimeout = 3 * time.Minute

// waitReady waits until every Runtime has a ready pod, every Cluster is
// connected and the repository is applied, saying what it still waits for
// whenever that changes.
func (s *stack) waitReady(ctx context.Context, seeded bool) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	last := ""
	for {
		missing := s.notReady(ctx, seeded)
		if len(missing) == 0 {
			return nil
		}
		if line := strings.Join(missing, ", "); line != last {
			last = line
			s.progressf("waiting for %s", line)
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("not ready after %s, still waiting for %s; the logs are in %s", readyTimeout, last, s.logs)
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *stack) notReady(ctx context.Context, seeded bool) []string {
	var missing []string
	for _, c := range s.clusters {
		if m := runtimesNotReady(ctx, c); m != "" {
			missing = append(missing, m)
		}
	}
	hub := s.clusters[0].cp.client
	list := &krtv1.ClusterList{}
	if err := hub.List(ctx, list, client.InNamespace("default")); err == nil {
		var down []string
		for _, cl := range list.Items {
			if !conditionTrue(cl.Status.Conditions, krtv1.ConditionReady) {
				down = append(down, cl.Name)
			}
		}
		if len(down) > 0 {
			missing = append(missing, "clusters "+strings.Join(down, ",")+" to connect")
		}
	}
	if seeded {
		repo := &krtv1.WorkflowRepository{}
		err := hub.Get(ctx, client.ObjectKey{Namespace: repoNamespace, Name: repoName}, repo)
		if err != nil || !conditionTrue(repo.Status.Conditions, krtv1.ConditionReady) {
			missing = append(missing, "the workflows to be applied")
		}
	}
	return missing
}

// runtimesNotReady says which of a cluster's Runtimes have no ready pod.
func runtimesNotReady(ctx context.Context, c *cluster) string {
	list := &krtv1.RuntimeList{}
	if err := c.cp.client.List(ctx, list); err != nil {
		return c.name + " to answer"
	}
	var waiting []string
	for _, rt := range list.Items {
		// A pool that may be empty when idle is not waited for.
		scaledDown := (rt.Spec.Replicas != nil && *rt.Spec.Replicas == 0) ||
			(rt.Spec.Autoscaling != nil && rt.Spec.Autoscaling.MinReplicas == 0)
		if rt.Status.ReadyPods < 1 && !scaledDown {
			waiting = append(waiting, rt.Namespace+"/"+rt.Name)
		}
	}
	if len(waiting) == 0 {
		return ""
	}
	return fmt.Sprintf("runtimes on %s (%s)", c.name, strings.Join(waiting, ","))
}

func conditionTrue(conds []metav1.Condition, typ string) bool {
	return apimeta.IsStatusConditionTrue(conds, typ)
}
