package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// start brings the stack up: ports, API servers with their controllers
// and pools (in parallel, as each takes seconds), the objects the
// examples need, the git server, and then waits until all of it is ready.
func (s *stack) start(ctx context.Context) error {
	var err error
	if s.webhookAddr, err = preferredAddress("webhook receiver", s.opts.WebhookPort, s.note); err != nil {
		return err
	}
	gitListener, err := listenPreferred("git server", s.opts.GitPort, s.note)
	if err != nil {
		return err
	}
	defer func() {
		if s.git == nil {
			gitListener.Close()
		}
	}()
	s.progressf("starting the hub%s (logs in %s)", plural(s.opts.Clusters), s.logs)
	if err := s.startClusters(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	hub := s.clusters[0].cp.client
	if err := s.createObjects(ctx, hub); err != nil {
		return err
	}
	if s.git, err = s.startGit(gitListener, hub); err != nil {
		return err
	}
	if err := ensureRepository(ctx, hub, s.git.url); err != nil {
		return err
	}
	if err := s.writeState(); err != nil {
		return err
	}
	if err := s.startUI(ctx); err != nil {
		return err
	}
	if err := s.waitReady(ctx, s.git.hasMain()); err != nil {
		return err
	}
	return s.state.update(func(st *State) { st.Phase = PhaseRunning })
}

// startClusters starts the hub and the workload clusters side by side.
func (s *stack) startClusters() error {
	names := append([]string{"hub"}, s.opts.Clusters...)
	s.clusters = make([]*cluster, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { s.clusters[i], errs[i] = s.startCluster(name, i == 0) })
	}
	wg.Wait()
	var started []*cluster
	for _, c := range s.clusters {
		if c != nil {
			started = append(started, c)
		}
	}
	for _, err := range errs {
		if err != nil {
			s.clusters = started // so that stop ends those that did start
			return err
		}
	}
	return nil
}

// createObjects makes the Runtimes and namespaces the examples use, and
// registers each workload cluster with the hub.
func (s *stack) createObjects(ctx context.Context, hub client.Client) error {
	storeDir := filepath.Join(s.opts.Dir, "artifacts")
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return err
	}
	if err := createMissing(ctx, hub, hubObjects(storeDir)); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	var regs []Registration
	for _, c := range s.clusters[1:] {
		if err := createMissing(ctx, c.cp.client, remoteObjects(c.name, storeDir)); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		for _, r := range regionsOf(c.name) {
			if err := register(ctx, hub, r, c.cp.raw); err != nil {
				return err
			}
			regs = append(regs, r)
		}
	}
	if err := unregisterOthers(ctx, hub, regs); err != nil {
		return err
	}
	return s.state.update(func(st *State) { st.Registrations = regs })
}

// writeState records the addresses, and the hub's kubeconfig as
// <dir>/kubeconfig, the one file a user needs.
func (s *stack) writeState() error {
	hub := s.clusters[0].cp
	kubeconfig := filepath.Join(s.opts.Dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, hub.raw, 0o600); err != nil {
		return err
	}
	return s.state.update(func(st *State) {
		st.Kubeconfig = kubeconfig
		st.GitURL = s.git.url
		st.GitPort = s.git.port
		st.WebhookAddress = s.webhookAddr
	})
}

func (s *stack) note(msg string) { s.notef("%s", msg) }

// checkClusters refuses names that cannot be Cluster objects, and "hub".
func checkClusters(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			return fmt.Errorf("--clusters: %q is not a valid cluster name: %s", n, strings.Join(errs, "; "))
		}
		if n == "hub" || seen[n] {
			return fmt.Errorf("--clusters: %q is given twice or is the hub's own name", n)
		}
		seen[n] = true
	}
	// prod also stands for prod-eu and prod-us, which must then not be
	// clusters of their own.
	regs := map[string]bool{}
	for _, n := range names {
		for _, r := range regionsOf(n) {
			if regs[r.Name] {
				return fmt.Errorf("--clusters: %q would be registered twice (prod is also prod-eu and prod-us)", r.Name)
			}
			regs[r.Name] = true
		}
	}
	return nil
}

// checkSocketRoom fails early when the directory is too deep for the
// pools' unix sockets (108 bytes on Linux), which would otherwise fail
// much later with a cryptic bind error.
func checkSocketRoom(dir string, clusters []string) error {
	longest := "hub"
	for _, c := range clusters {
		if len(c) > len(longest) {
			longest = c
		}
	}
	sock := filepath.Join(dir, longest, "pool", "0123456789abc", "rt.sock")
	if len(sock) >= 108 {
		return fmt.Errorf("--dir %s is too long for the runtime pools' unix sockets (%d bytes, at most 107): use a shorter path", dir, len(sock))
	}
	return nil
}

func plural(clusters []string) string {
	if len(clusters) == 0 {
		return ""
	}
	return " and " + strings.Join(clusters, ", ")
}
