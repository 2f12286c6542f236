package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The memory figure's fleet: repositories per URL, each copy in its own
// namespace, since two repositories in one namespace applying the same
// Workflow names would fight over them.
const (
	memoryURLs   = 20
	memoryCopies = 10
)

// memoryLabel marks the figure's repositories, to list them all at once.
const memoryLabel = "krt.dev/bench"

// controllerMemory measures the source controller's memory, from its own
// metrics, following 200 repositories that name 20 URLs, against the same
// process idle right after start. The git cache on disk should hold one
// repository per URL, not one per WorkflowRepository.
func (b *bench) controllerMemory(ctx context.Context) error {
	ctl, err := b.startGitController("krt-controller-memory")
	if err != nil {
		return err
	}
	defer ctl.stop()
	// Let its informers list and its first GCs run before calling it idle.
	time.Sleep(3 * time.Second)
	idle, err := ctl.memory(ctx)
	if err != nil {
		return err
	}
	host, err := startGitHost(filepath.Join(b.env.Dir, "git-memory"))
	if err != nil {
		return err
	}
	defer host.close()
	for u := range memoryURLs {
		tree, err := host.newTree(fmt.Sprintf("repo-%02d", u))
		if err != nil {
			return err
		}
		files := map[string]string{}
		for _, wf := range []string{"build", "deploy"} {
			name := fmt.Sprintf("r%02d-%s", u, wf)
			files["workflows/"+name+".yaml"] = workflowYAML(name)
		}
		if _, err := tree.commitPush(files, "two workflows"); err != nil {
			return err
		}
	}
	start := time.Now()
	for range memoryCopies {
		ns, err := b.namespace(ctx, "git-memory")
		if err != nil {
			return err
		}
		for u := range memoryURLs {
			repo := &krtv1.WorkflowRepository{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("flows-%02d", u), Namespace: ns, Labels: map[string]string{memoryLabel: "memory"}},
				Spec: krtv1.WorkflowRepositorySpec{URL: host.url(fmt.Sprintf("repo-%02d", u)),
					Ref: &krtv1.GitRef{Branch: "main"}, Interval: metav1.Duration{Duration: time.Minute}},
			}
			if err := b.env.Client.Create(ctx, repo); err != nil {
				return err
			}
		}
	}
	if err := b.waitAllReady(ctx, memoryURLs*memoryCopies); err != nil {
		return fmt.Errorf("%w%s", err, ctl.state())
	}
	ready := time.Since(start)
	// Settle: the last status writes and their watch events are handled.
	time.Sleep(5 * time.Second)
	loaded, err := ctl.memory(ctx)
	if err != nil {
		return err
	}
	repos, cacheMiB, err := ctl.cacheUsage()
	if err != nil {
		return err
	}
	n := float64(memoryURLs * memoryCopies)
	fmt.Fprintf(os.Stderr, "bench: source controller memory, idle: heap %.1f MiB, RSS %.1f MiB; %d repositories on %d URLs (Ready after %.1fs, %d fetches): heap %.1f MiB, RSS %.1f MiB; git cache %d repositories, %.2f MiB\n",
		idle["heap_inuse"], idle["rss"], int(n), memoryURLs, ready.Seconds(), host.fetches(), loaded["heap_inuse"], loaded["rss"], repos, cacheMiB)
	b.results["controller_memory_idle_mib"] = idle
	b.results["controller_memory_200_repositories_mib"] = loaded
	b.results["controller_heap_vs_idle"] = round2(loaded["heap_inuse"] / idle["heap_inuse"])
	b.results["controller_rss_vs_idle"] = round2(loaded["rss"] / idle["rss"])
	b.results["controller_heap_kib_per_repository"] = round((loaded["heap_inuse"] - idle["heap_inuse"]) * 1024 / n)
	b.results["repositories_ready_s"] = round(ready.Seconds())
	b.results["repositories_git_fetches"] = host.fetches()
	b.results["git_cache_repositories"] = repos
	b.results["git_cache_mib"] = round2(cacheMiB)
	return nil
}

// waitAllReady waits until n of the figure's repositories are Ready.
func (b *bench) waitAllReady(ctx context.Context, n int) error {
	ready, last := 0, ""
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &krtv1.WorkflowRepositoryList{}
		if err := b.env.Client.List(ctx, list, client.MatchingLabels{memoryLabel: "memory"}); err != nil {
			return false, err
		}
		ready = 0
		for _, r := range list.Items {
			if apimeta.IsStatusConditionTrue(r.Status.Conditions, krtv1.ConditionReady) {
				ready++
			} else if c := apimeta.FindStatusCondition(r.Status.Conditions, krtv1.ConditionReady); c != nil {
				last = r.Namespace + "/" + r.Name + ": " + c.Message
			}
		}
		return ready >= n, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d repositories Ready (last not Ready: %s): %w", ready, n, last, err)
	}
	return nil
}
