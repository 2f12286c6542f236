package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// printObjects prints Runs as kubectl would: a table, a wide table, or
// yaml or json (a List when there are several).
func (r *root) printObjects(output string, runs []krtv1.Run) error {
	switch output {
	case "", "wide":
		return r.printTable(runs, output == "wide")
	case "yaml", "json":
		var obj runtime.Object
		if len(runs) == 1 {
			obj = withKind(&runs[0])
		} else {
			list := &krtv1.RunList{Items: runs}
			list.SetGroupVersionKind(krtv1.GroupVersion.WithKind("RunList"))
			for i := range list.Items {
				withKind(&list.Items[i])
			}
			obj = list
		}
		var p printers.ResourcePrinter = &printers.YAMLPrinter{}
		if output == "json" {
			p = &printers.JSONPrinter{}
		}
		return p.PrintObj(obj, r.Out)
	}
	return fmt.Errorf("--output %q: want wide, yaml or json", output)
}

func withKind(run *krtv1.Run) *krtv1.Run {
	run.SetGroupVersionKind(krtv1.GroupVersion.WithKind("Run"))
	return run
}

func (r *root) printTable(runs []krtv1.Run, wide bool) error {
	w := tabwriter.NewWriter(r.Out, 0, 4, 3, ' ', 0)
	if wide {
		fmt.Fprintln(w, "NAME\tRUNTIME\tPHASE\tEXIT\tPOD\tATTEMPT\tREASON\tAGE")
	} else {
		fmt.Fprintln(w, "NAME\tRUNTIME\tPHASE\tEXIT\tAGE")
	}
	for _, run := range runs {
		exit := "-"
		if run.Status.ExitCode != nil {
			exit = fmt.Sprint(*run.Status.ExitCode)
		}
		age := duration.HumanDuration(time.Since(run.CreationTimestamp.Time))
		if wide {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", run.Name, run.Spec.Runtime, phaseOf(&run), exit,
				orDash(run.Status.AssignedPod), run.Status.Attempt, orDash(run.Status.Reason), age)
		} else {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", run.Name, run.Spec.Runtime, phaseOf(&run), exit, age)
		}
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
