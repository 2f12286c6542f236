package security

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// matrixFlood is a matrix that no run can hold: building its combinations
// is what used to take krt-controller's memory. 8×16 is eight axes of
// sixteen values (four billion combinations); 1000×1000 is two axes of a
// thousand (a million).
type matrixFlood struct {
	name           string
	axes, values   int
	shape, nodes   string
	matrix         map[string][]string
	file, fileName string
}

func matrixFloods() []matrixFlood {
	floods := []matrixFlood{
		{name: "m8x16", axes: 8, values: 16, shape: strings.TrimSuffix(strings.Repeat("16 × ", 8), " × "), nodes: "4294967296"},
		{name: "m1000x1000", axes: 2, values: 1000, shape: "1000 × 1000", nodes: "1000000"},
	}
	for i := range floods {
		f := &floods[i]
		f.matrix = map[string][]string{}
		var axes []string
		for a := range f.axes {
			key := fmt.Sprintf("k%d", a)
			var vals []string
			for v := range f.values {
				f.matrix[key] = append(f.matrix[key], fmt.Sprintf("v%d", v))
				vals = append(vals, fmt.Sprintf("v%d", v))
			}
			axes = append(axes, key+": ["+strings.Join(vals, ", ")+"]")
		}
		f.fileName = "workflows/" + f.name + ".yaml"
		// The matrix is on line 10.
		f.file = fmt.Sprintf(`apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
spec:
  on: {manual: {}}
  steps:
    - name: grid
      runtime: bash
      matrix: {%s}
      run: echo "${{ item }}"
`, f.name, strings.Join(axes, ", "))
	}
	return floods
}

// TestMatrixCannotExhaustTheController writes matrices no run can hold.
// krt validate and the source controller refuse each file with its line;
// a run made without either (through the API) fails its step with a
// message, and krt-controller's memory does not grow with the matrix.
func TestMatrixCannotExhaustTheController(t *testing.T) {
	floods := matrixFloods()
	files := map[string]string{}
	for _, f := range floods {
		files[f.fileName] = f.file
	}

	t.Run("krt validate", func(t *testing.T) {
		out, code := exprValidate(t, files)
		t.Logf("krt validate (exit %d):\n%s", code, out)
		if code != 1 {
			t.Errorf("krt validate exited %d, want 1", code)
		}
		lines := strings.Split(out, "\n")
		for _, f := range floods {
			exprContains(t, lines, f.fileName+":10: spec.steps[0].matrix: the matrix ("+f.shape+" values) expands to "+f.nodes+
				" nodes, more than the 3999 a run may hold")
		}
	})

	t.Run("the source controller", func(t *testing.T) {
		ns := env.Namespace(t)
		repo, _ := exprRepo(t, ns, files, nil)
		errs := exprParseErrors(t, repo)
		t.Logf("parse errors:\n%s", strings.Join(errs, "\n"))
		for _, f := range floods {
			exprContains(t, errs, f.fileName+":10: spec.steps[0].matrix: the matrix ("+f.shape+" values) expands to "+f.nodes+" nodes")
			err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: f.name}, &krtv1.Workflow{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("workflow %s was applied (get: %v)", f.name, err)
			}
		}
	})

	t.Run("the engine", func(t *testing.T) {
		ns := env.Namespace(t)
		pid := stack.Controller.PID()
		peakBefore, rssBefore := memory(t, pid)
		for _, f := range floods {
			wr := &krtv1.WorkflowRun{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: f.name},
				Spec: krtv1.WorkflowRunSpec{Workflow: f.name, Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}},
					Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "grid", Runtime: "bash", Matrix: f.matrix, Run: `echo "${{ item }}"`}}}},
			}
			if err := env.Client.Create(context.Background(), wr); err != nil {
				t.Fatalf("creating run %s: %v", f.name, err)
			}
			got := exprWaitRun(t, ns, f.name, time.Minute)
			n := exprNode(got, "grid")
			t.Logf("%s: %s; node grid: %s: %s", f.name, got.Status.Phase, n.Phase, n.Message)
			want := "the matrix (" + f.shape + " values): expands to " + f.nodes + " nodes, more than the 3999 a run may still hold"
			if got.Status.Phase != krtv1.WorkflowFailed || n.Phase != krtv1.NodeFailed || !strings.Contains(n.Message, want) {
				t.Errorf("run %s ended %s, node grid %s %q; want Failed with %q", f.name, got.Status.Phase, n.Phase, n.Message, want)
			}
		}
		if stack.Controller.Exited() || stack.Controller.PID() != pid {
			t.Fatalf("krt-controller died%s", stack.ControllerState())
		}
		peakAfter, rssAfter := memory(t, pid)
		t.Logf("krt-controller: peak RSS %d MiB before, %d MiB after; RSS %d MiB before, %d MiB after",
			peakBefore>>20, peakAfter>>20, rssBefore>>20, rssAfter>>20)
		// Building even the smaller matrix's million combinations takes
		// about a GiB; a refusal takes nothing worth measuring.
		if grew := peakAfter - peakBefore; grew > 64<<20 {
			t.Errorf("krt-controller's peak RSS grew by %d MiB while refusing the matrices", grew>>20)
		}
		if runs := exprRuns(t, ns); len(runs) > 0 {
			t.Errorf("%d Runs were created for matrices no run can hold", len(runs))
		}
	})
}
