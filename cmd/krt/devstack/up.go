// Package devstack is `krt dev`: krt on the developer's machine without
// containers. It runs kube-apiserver and etcd for a hub and for workload
// clusters, krt-controller for each, the local runtime pool, and a git
// server whose pushes reach krt as webhooks.
package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Defaults of `krt dev up`.
const (
	DefaultDir         = ".krt-dev"
	DefaultGitPort     = 9080
	DefaultWebhookPort = 9292
)

// Options configure `krt dev up`.
type Options struct {
	Dir string
	// Clusters are the workload clusters besides the hub.
	Clusters []string
	// NoSeed leaves a new git repository empty.
	NoSeed bool
	// GitPort, WebhookPort and UIPort are tried first; 0 picks any free
	// port.
	GitPort, WebhookPort, UIPort int
	// Out gets the block that says how to use the stack; Err gets
	// progress and notes.
	Out, Err io.Writer
}

// stack is one run of `krt dev up`.
type stack struct {
	opts        Options
	paths       paths
	logs        string
	state       *stateFile
	log         logr.Logger
	logFile     *os.File
	webhookAddr string
	clusters    []*cluster // the hub first
	git         *gitService
	stopUI      context.CancelFunc
}

// Up runs the dev stack until SIGINT or SIGTERM, then stops all of it.
func Up(opts Options) error {
	s, unlock, err := prepare(opts)
	if err != nil {
		return err
	}
	defer unlock()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-signals
		cancel()
		<-signals // a second Ctrl-C: stop waiting for a clean shutdown
		s.progressf("killing everything")
		s.kill()
		os.Exit(130)
	}()
	err = s.start(ctx)
	if err == nil {
		s.printReady()
		<-ctx.Done()
	}
	if err == nil || len(s.clusters) > 0 {
		s.progressf("stopping")
	}
	_ = s.state.update(func(st *State) { st.Phase = PhaseStopping })
	s.stop()
	s.state.remove()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted while starting")
		}
		return err
	}
	s.progressf("stopped")
	return nil
}

// prepare checks everything that can be checked before starting a
// process, and takes the directory for this `up`.
func prepare(opts Options) (*stack, func(), error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, nil, err
	}
	opts.Dir = dir
	if err := checkClusters(opts.Clusters); err != nil {
		return nil, nil, err
	}
	if err := checkSocketRoom(dir, opts.Clusters); err != nil {
		return nil, nil, err
	}
	p, err := locate()
	if err != nil {
		return nil, nil, err
	}
	s := &stack{opts: opts, paths: p, logs: filepath.Join(dir, "logs")}
	if err := os.MkdirAll(s.logs, 0o700); err != nil {
		return nil, nil, err
	}
	unlock, err := claim(dir, s.notef)
	if err != nil {
		return nil, nil, err
	}
	if err := s.openLog(); err != nil {
		unlock()
		return nil, nil, err
	}
	s.state = &stateFile{path: statePath(dir), s: State{Up: procOf("krt dev up", os.Getpid()), Phase: PhaseStarting, Dir: dir}}
	if err := s.state.update(func(*State) {}); err != nil {
		unlock()
		return nil, nil, err
	}
	return s, func() { unlock(); s.logFile.Close() }, nil
}

// openLog sends this process's own logs (envtest, the pools, client-go)
// to a file: the terminal is for the user.
func (s *stack) openLog() error {
	f, err := logFile(s.logs, "krt-dev.log")
	if err != nil {
		return err
	}
	s.logFile = f
	s.log = zap.New(zap.WriteTo(f))
	ctrl.SetLogger(s.log)
	klog.SetLogger(s.log)
	return nil
}

// printReady prints the block that says how to use the stack.
func (s *stack) printReady() {
	st := s.state.snapshot()
	names := "hub"
	for _, c := range s.clusters[1:] {
		names += ", " + c.name
	}
	fmt.Fprintf(s.opts.Out, `
krt dev is up: %s. Ctrl-C here or `+"`krt dev down`"+` stops it.

  export KUBECONFIG=%s
  git: %s
  web UI: %s

Try:
  kubectl get runs
  krt run --wait -- echo hi
  %s
  krt wf runs

`, names, st.Kubeconfig, st.GitURL, st.UIURL, s.pushCommand(st.GitURL))
}

// pushCommand is a one-line change and push to the repository: an edit
// of hello.yaml when seeded, a first workflow file when it is empty.
func (s *stack) pushCommand(url string) string {
	const clone = "krt-workflows"
	if s.git.hasMain() {
		return fmt.Sprintf("git clone %s %s && cd %s && sed -i 's/hello from krt/hello again/' workflows/hello.yaml && "+
			"git commit -qam 'Say hello again' && git push", url, clone, clone)
	}
	return fmt.Sprintf("git clone %s %s && cd %s && mkdir -p workflows && cp <your workflow>.yaml workflows/ && "+
		"git add workflows && git commit -qm 'A first workflow' && git push -u origin main", url, clone, clone)
}

func (s *stack) progressf(format string, args ...any) {
	fmt.Fprintf(s.opts.Err, "krt dev: "+format+"\n", args...)
}

func (s *stack) notef(msg string, args ...any) {
	fmt.Fprintf(s.opts.Err, "note: "+msg+"\n", args...)
}

// stop ends everything that started, the git server first so that no
// push arrives while the controllers go away.
func (s *stack) stop() {
	if s.stopUI != nil {
		s.stopUI()
	}
	s.git.stop()
	done := make(chan struct{}, len(s.clusters))
	for _, c := range s.clusters {
		go func() {
			c.stop()
			done <- struct{}{}
		}()
	}
	for range s.clusters {
		<-done
	}
}

// kill ends every process at once, for a second Ctrl-C.
func (s *stack) kill() {
	st := s.state.snapshot()
	procs := append(st.allProcs()[:len(st.allProcs())-1], children(os.Getpid(), "runtimed", "krt-runtime")...)
	stopAll(procs, 0)
	// Nothing is left to recover, so the next `up` need not say so.
	s.state.remove()
}
