package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestCLIPolishGetWatch follows one Run with `krt get --watch` as a table
// and as json at once: each prints until the Run finishes, then exits 0.
func TestCLIPolishGetWatch(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	list := startWatch(t, "list", "-n", ns, "--watch")
	out := mustKrt(t, "run", "-n", ns, "-o", "name", "--", "sleep 4; echo done")
	name := strings.TrimPrefix(strings.TrimSpace(out), "run.krt.dev/")
	table := startKrt(t, "get", "-n", ns, name, "--watch")
	asJSON := startKrt(t, "get", "-n", ns, name, "-w", "-o", "json")
	if code := table.wait(t); code != 0 {
		t.Fatalf("get --watch exited %d: %s", code, table.err.String())
	}
	lines := strings.Split(strings.TrimSpace(table.out.String()), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("get --watch printed no change, or no header:\n%s", table.out.String())
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, name+" ") {
			t.Errorf("row %q is not the Run's", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "Succeeded") {
		t.Errorf("the last row %q is not the finished Run", last)
	}
	t.Logf("krt get --watch:\n%s", table.out.String())
	eventually(t, time.Minute, "list --watch to show the Run finished", func() bool {
		return strings.Contains(list.String(), "Succeeded")
	})
	rows := strings.Split(strings.TrimSpace(list.String()), "\n")
	if len(rows) < 3 || !strings.HasPrefix(rows[0], "NAME") || !strings.HasPrefix(rows[1], name+" ") {
		t.Errorf("list --watch printed no header, or no row for a new Run:\n%s", list.String())
	}
	if code := asJSON.wait(t); code != 0 {
		t.Fatalf("get -w -o json exited %d: %s", code, asJSON.err.String())
	}
	dec := json.NewDecoder(strings.NewReader(asJSON.out.String()))
	var phases []krtv1.RunPhase
	for dec.More() {
		var run krtv1.Run
		if err := dec.Decode(&run); err != nil || run.Kind != "Run" || run.Name != name {
			t.Fatalf("get -w -o json: %v, kind %q, name %q", err, run.Kind, run.Name)
		}
		phases = append(phases, run.Status.Phase)
	}
	if len(phases) < 2 || phases[len(phases)-1] != krtv1.RunSucceeded {
		t.Errorf("get -w -o json printed phases %v, want versions up to Succeeded", phases)
	}
}

// TestCLIPolishListsAsJSON: the list commands print Lists that decode
// again, and refuse an unknown format naming the ones there are; wf runs
// --watch shows a run as it starts.
func TestCLIPolishListsAsJSON(t *testing.T) {
	ns := env.Namespace(t)
	createWorkflow(t, ns, "greet", wfGated())
	watching := startWatch(t, "wf", "runs", "-n", ns, "greet", "-w")
	eventually(t, time.Minute, "wf runs -w to print its header", func() bool { return strings.HasPrefix(watching.String(), "NAME") })
	run := strings.TrimSpace(mustKrt(t, "wf", "trigger", "-n", ns, "greet"))
	eventually(t, time.Minute, "wf runs -w to show the new run", func() bool { return strings.Contains(watching.String(), "\n"+run+" ") })

	var runs krtv1.WorkflowRunList
	if err := json.Unmarshal([]byte(mustKrt(t, "wf", "runs", "-n", ns, "-o", "json")), &runs); err != nil ||
		runs.Kind != "WorkflowRunList" || len(runs.Items) != 1 || runs.Items[0].Name != run || runs.Items[0].Kind != "WorkflowRun" {
		t.Errorf("wf runs -o json: %v, kind %q, items %d", err, runs.Kind, len(runs.Items))
	}
	var wfs krtv1.WorkflowList
	if err := yaml.Unmarshal([]byte(mustKrt(t, "wf", "list", "-n", ns, "-o", "yaml")), &wfs); err != nil ||
		wfs.Kind != "WorkflowList" || len(wfs.Items) != 1 || wfs.Items[0].Name != "greet" {
		t.Errorf("wf list -o yaml: %v, kind %q, items %d", err, wfs.Kind, len(wfs.Items))
	}
	assertHas(t, "wf runs -o wide", mustKrt(t, "wf", "runs", "-n", ns, "-o", "wide"), "NODES", run)
	var none krtv1.RunList
	if err := json.Unmarshal([]byte(mustKrt(t, "list", "-n", ns, "-o", "json")), &none); err != nil || none.Kind != "RunList" || none.Items == nil {
		t.Errorf("list -o json with no Runs: %v, kind %q, items %v", err, none.Kind, none.Items)
	}
	_, stderr, code := krt(t, "wf", "runs", "-n", ns, "-o", "jsn")
	if code != 1 || !strings.Contains(stderr, `unknown output format "jsn": want one of wide, yaml, json`) {
		t.Errorf("wf runs -o jsn: exit %d, %q", code, stderr)
	}
}

func TestCLIPolishVersion(t *testing.T) {
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	server, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	out := mustKrt(t, "version")
	assertHas(t, "krt version", out, "Client Version: ", "Server Version: "+server.GitVersion+"\n")
	var v struct {
		ClientVersion struct{ Version string }
		ServerVersion struct{ GitVersion string }
	}
	if err := json.Unmarshal([]byte(mustKrt(t, "version", "-o", "json")), &v); err != nil ||
		v.ClientVersion.Version == "" || v.ServerVersion.GitVersion != server.GitVersion {
		t.Errorf("version -o json: %v, %+v", err, v)
	}
	if out := mustKrt(t, "version", "--client"); strings.Contains(out, "Server") {
		t.Errorf("version --client asked the server: %q", out)
	}
}

func TestCLIPolishCompletion(t *testing.T) {
	ns := env.Namespace(t)
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "bash", Script: "true"}) // no Runtime here: it stays Pending
	assertHas(t, "completion bash", mustKrt(t, "completion", "bash"), "__start_krt", "__complete")
	out := mustKrt(t, "__complete", "get", "-n", ns, "")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || lines[0] != run.Name || lines[1] != ":4" {
		t.Errorf("__complete get = %q, want the Run's name and no files (:4)", out)
	}
	assertHas(t, "__complete cancel", mustKrt(t, "__complete", "cancel", "-n", ns, run.Name[:2]), run.Name)
}

// lockedBuffer is a command's output that the test reads while the
// command still writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWatch runs a krt command that never ends by itself; the test's end
// kills it.
func startWatch(t *testing.T, args ...string) *lockedBuffer {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(bins.Krt, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return out
}
