package devstack

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"text/tabwriter"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Status is what `krt dev status` found.
type Status struct {
	State *State
	// Running is whether the `up` process is alive.
	Running bool
}

// Ready reports whether the stack is up and has finished starting.
func (s Status) Ready() bool { return s.Running && s.State.Phase == PhaseRunning }

// ReadStatus reads the state file and checks what it names.
func ReadStatus(dir string) (Status, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Status{}, err
	}
	st, err := ReadState(dir)
	if err != nil || st == nil {
		return Status{State: st}, err
	}
	return Status{State: st, Running: st.Up.Alive()}, nil
}

// Print shows the stack: each cluster's processes with their liveness,
// the local pools' processes, and the addresses with whether they answer.
func (s Status) Print(out io.Writer, dir string) {
	st := s.State
	switch {
	case st == nil:
		fmt.Fprintf(out, "krt dev is not running in %s\n", dir)
		return
	case !s.Running:
		fmt.Fprintf(out, "krt dev is not running: pid %d in %s has gone without cleaning up; `krt dev down%s` or the next `krt dev up` recovers\n",
			st.Up.PID, statePath(st.Dir), dirFlag(st.Dir))
		return
	}
	fmt.Fprintf(out, "krt dev is %s (pid %d) in %s\n\n", st.Phase, st.Up.PID, st.Dir)
	if st.Kubeconfig != "" {
		fmt.Fprintf(out, "  export KUBECONFIG=%s\n", st.Kubeconfig)
	}
	if st.GitURL != "" {
		fmt.Fprintf(out, "  git:     %s (%s)\n", st.GitURL, answers(fmt.Sprintf("127.0.0.1:%d", st.GitPort)))
		fmt.Fprintf(out, "  applied: %s\n", appliedRevision(st.Kubeconfig))
	}
	if st.WebhookAddress != "" {
		fmt.Fprintf(out, "  webhook: %s (%s)\n", st.WebhookAddress, answers(st.WebhookAddress))
	}
	if st.UIURL != "" {
		fmt.Fprintf(out, "  web UI:  %s\n", st.UIURL)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tPROCESS\tPID\tSTATE\tSERVER")
	for _, c := range st.Clusters {
		for _, p := range c.Processes {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", c.Name, p.Name, p.PID, liveness(p), c.Server)
		}
	}
	pool := children(st.Up.PID, "runtimed", "krt-runtime")
	fmt.Fprintf(tw, "(all)\tlocal pool\t-\t%d runtimed and krt-runtime processes\t\n", len(pool))
	tw.Flush()
	if len(st.Registrations) > 0 {
		fmt.Fprintln(out, "\nClusters in the hub (namespace default):")
		for _, r := range st.Registrations {
			fmt.Fprintf(out, "  %-10s -> %s, namespace %s\n", r.Name, r.Server, r.Namespace)
		}
	}
}

// appliedRevision is the revision of the git repository that krt has
// applied, so a user (and make run) can tell when a push has landed.
func appliedRevision(kubeconfig string) string {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	cfg.Timeout = 3 * time.Second
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	repo := &krtv1.WorkflowRepository{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: repoNamespace, Name: repoName}, repo); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if repo.Status.Artifact == nil {
		return "nothing yet"
	}
	return repo.Status.Artifact.Revision
}

func liveness(p Proc) string {
	if p.Alive() {
		return "running"
	}
	return "EXITED"
}

func answers(addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "not answering"
	}
	c.Close()
	return "answering"
}
