package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testRun(ns, name string, phase krtv1.RunPhase, exit *int32) krtv1.Run {
	return krtv1.Run{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(t0), ResourceVersion: "1"},
		Spec:       krtv1.RunSpec{Runtime: "bash"},
		Status:     krtv1.RunStatus{Phase: phase, ExitCode: exit, AssignedPod: "bash-0", Attempt: 1},
	}
}

func i32(v int32) *int32 { return &v }

func TestPrintTables(t *testing.T) {
	runs := []krtv1.Run{testRun("a", "run-1", krtv1.RunSucceeded, i32(0)), testRun("b", "run-long-name", "", nil)}
	now := t0.Add(90 * time.Second)
	cases := []struct {
		name string
		o    printOptions
		want string
	}{
		{name: "table", o: printOptions{}, want: `NAME            RUNTIME   PHASE       EXIT   AGE
run-1           bash      Succeeded   0      90s
run-long-name   bash      Pending     -      90s
`},
		{name: "wide", o: printOptions{output: outWide}, want: `NAME            RUNTIME   PHASE       EXIT   POD      ATTEMPT   REASON   AGE
run-1           bash      Succeeded   0      bash-0   1         -        90s
run-long-name   bash      Pending     -      bash-0   1         -        90s
`},
		{name: "all namespaces", o: printOptions{allNamespaces: true}, want: `NAMESPACE   NAME            RUNTIME   PHASE       EXIT   AGE
a           run-1           bash      Succeeded   0      90s
b           run-long-name   bash      Pending     -      90s
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := runPrinter.print(&b, tc.o, runs, now); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestPrintObjects(t *testing.T) {
	one := []krtv1.Run{testRun("a", "run-1", krtv1.RunSucceeded, i32(0))}
	cases := []struct {
		name     string
		o        printOptions
		items    []krtv1.Run
		wantKind string
		wantLen  int // items of a List
	}{
		{name: "yaml of one is the object", o: printOptions{output: outYAML}, items: one, wantKind: "Run"},
		{name: "json of one is the object", o: printOptions{output: outJSON}, items: one, wantKind: "Run"},
		{name: "a list command's one is a List", o: printOptions{output: outJSON, asList: true}, items: one, wantKind: "RunList", wantLen: 1},
		{name: "several are a List", o: printOptions{output: outYAML}, items: append(one, one...), wantKind: "RunList", wantLen: 2},
		{name: "none is an empty List", o: printOptions{output: outJSON, asList: true}, wantKind: "RunList"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := runPrinter.print(&b, tc.o, tc.items, t0); err != nil {
				t.Fatal(err)
			}
			var got struct {
				APIVersion, Kind string
				Items            []krtv1.Run
			}
			if err := yaml.Unmarshal([]byte(b.String()), &got); err != nil {
				t.Fatalf("%v:\n%s", err, b.String())
			}
			if got.APIVersion != "krt.dev/v1alpha1" || got.Kind != tc.wantKind || len(got.Items) != tc.wantLen {
				t.Errorf("apiVersion %q kind %q with %d items; want %s with %d:\n%s", got.APIVersion, got.Kind, len(got.Items), tc.wantKind, tc.wantLen, b.String())
			}
			for _, it := range got.Items {
				if it.Kind != "Run" {
					t.Errorf("an item's kind is %q", it.Kind)
				}
			}
			if tc.wantKind == "RunList" && tc.o.output == outJSON && !strings.Contains(b.String(), `"items": [`) {
				t.Errorf("a List's items are not an array:\n%s", b.String())
			}
		})
	}
}

func TestPrintWorkflowsAndRuns(t *testing.T) {
	wf := krtv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "promote-web", CreationTimestamp: metav1.NewTime(t0),
			Annotations: map[string]string{krtv1.AnnotationRevision: "main@sha1:abc"}},
		Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Params: []krtv1.Param{{Name: "env"}, {Name: "tag"}},
			Steps: []krtv1.Step{{Name: "a"}, {Name: "b"}}},
		Status: krtv1.WorkflowStatus{Conditions: []metav1.Condition{{Type: krtv1.ConditionReady, Status: metav1.ConditionFalse, Message: "step b: bad"}}},
	}
	wr := *promoteRun(krtv1.WorkflowRunning, krtv1.NodeStatus{Name: "build", Phase: krtv1.NodeSucceeded})
	wr.CreationTimestamp = metav1.NewTime(t0)
	wr.Status.StartTime = &metav1.Time{Time: t0}
	wr.Spec.Revision = "main@sha1:abc"
	wr.Spec.Event = krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "alice"}}
	now := t0.Add(time.Minute)
	cases := []struct {
		name  string
		print func(*strings.Builder) error
		want  string
	}{
		{"workflows", func(b *strings.Builder) error {
			return workflowPrinter(map[string]string{"a/promote-web": "promote-web-1"}).print(b, printOptions{}, []krtv1.Workflow{wf}, now)
		}, `NAME          TRIGGERS   STEPS   LAST RUN        READY   AGE
promote-web   manual     2       promote-web-1   False   60s
`},
		{"workflows wide", func(b *strings.Builder) error {
			return workflowPrinter(nil).print(b, printOptions{output: outWide}, []krtv1.Workflow{wf}, now)
		}, `NAME          TRIGGERS   STEPS   PARAMS    REVISION        LAST RUN   READY   AGE   MESSAGE
promote-web   manual     2       env,tag   main@sha1:abc   -          False   60s   step b: bad
`},
		{"runs", func(b *strings.Builder) error {
			return workflowRunPrinter.print(b, printOptions{}, []krtv1.WorkflowRun{wr}, now)
		}, `NAME                       WORKFLOW      EVENT            PHASE     STARTED   DURATION   MESSAGE
promote-web-push-1a2b3c4   promote-web   manual (alice)   Running   60s ago   60s        -
`},
		{"runs wide", func(b *strings.Builder) error {
			return workflowRunPrinter.print(b, printOptions{output: outWide}, []krtv1.WorkflowRun{wr}, now)
		}, `NAME                       WORKFLOW      EVENT            PHASE     STARTED   DURATION   NODES   REVISION        MESSAGE
promote-web-push-1a2b3c4   promote-web   manual (alice)   Running   60s ago   60s        1/5     main@sha1:abc   -
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestOutputFlag(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"get", "-o", "yml", "x"}, wantErr: `invalid argument "yml" for "-o, --output" flag: unknown output format "yml": want one of wide, yaml, json`},
		{args: []string{"wf", "runs", "-o", "name"}, wantErr: `want one of wide, yaml, json`},
		{args: []string{"version", "--client", "-o", "wide"}, wantErr: `unknown output format "wide": want one of yaml, json`},
		{args: []string{"run", "-o", "table", "--", "true"}, wantErr: `want one of name, wide, yaml, json`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runMain(t, tc.args...)
			if code != 1 || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.wantErr)
			}
		})
	}
}

func TestWatchChanges(t *testing.T) {
	run := testRun("a", "run-1", krtv1.RunPending, nil)
	var b strings.Builder
	ch := newChanges(runPrinter, printOptions{}, &b)
	if err := ch.start([]krtv1.Run{run}); err != nil {
		t.Fatal(err)
	}
	steps := []func(*krtv1.Run){
		func(*krtv1.Run) {},                            // the watch's first read: the same Run
		func(r *krtv1.Run) { r.ResourceVersion = "2" }, // a change the table does not show
		func(r *krtv1.Run) { r.Status.Phase = krtv1.RunRunning },
		func(r *krtv1.Run) { r.Status.Phase, r.Status.ExitCode = krtv1.RunFailed, i32(7) },
	}
	for _, step := range steps {
		step(&run)
		cur := run.DeepCopy()
		if err := ch.update(cur); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	// PHASE is as wide as the widest phase from the start, so rows line up.
	want := []string{"NAME    RUNTIME   PHASE       EXIT", "run-1   bash      Pending     -", "run-1   bash      Running     -", "run-1   bash      Failed      7"}
	if len(lines) != len(want) {
		t.Fatalf("watch printed\n%s\nwant %d lines", b.String(), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want it to start %q", i, lines[i], w)
		}
	}
}

func TestWatchChangesJSON(t *testing.T) {
	run := testRun("a", "run-1", krtv1.RunPending, nil)
	var b strings.Builder
	ch := newChanges(runPrinter, printOptions{output: outJSON}, &b)
	if err := ch.start([]krtv1.Run{run}); err != nil {
		t.Fatal(err)
	}
	for _, rv := range []string{"1", "2", "2", "3"} {
		cur := run.DeepCopy()
		cur.ResourceVersion = rv
		if err := ch.update(cur); err != nil {
			t.Fatal(err)
		}
	}
	dec := json.NewDecoder(strings.NewReader(b.String()))
	var versions []string
	for dec.More() {
		var r krtv1.Run
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, r.ResourceVersion)
	}
	if strings.Join(versions, ",") != "1,2,3" {
		t.Errorf("printed versions %v, want each new one once", versions)
	}
}
