package validate

import (
	"fmt"
	"slices"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
)

// Runners checks, offline, that every runner of the workflows names one
// of known: the Clusters and Runtimes a user says exist (`krt validate
// --runners`). A "cluster/runtime" runner needs its cluster known. The
// controller makes the same check against the cluster, where a runner
// that names nothing leaves its node Waiting.
func Runners(docs []parse.Document, known []string) []*parse.Error {
	var errs []*parse.Error
	for i := range docs {
		d := &docs[i]
		wf, ok := d.Object.(*krtv1.Workflow)
		if !ok {
			continue
		}
		for _, list := range []struct {
			path  string
			steps []krtv1.Step
		}{{"spec.steps", wf.Spec.Steps}, {"spec.finally", wf.Spec.Finally}} {
			for j, s := range list.steps {
				if s.Runner == "" || expr.HasTemplate(s.Runner) || resolves(s.Runner, known) {
					continue
				}
				errs = append(errs, at(d, fmt.Sprintf("%s[%d].runner", list.path, j),
					"runner %s resolves to nothing: it is neither a Cluster nor a Runtime among --runners (%s)", s.Runner, strings.Join(known, ", ")))
			}
		}
	}
	return errs
}

func resolves(runner string, known []string) bool {
	cluster, _, _ := strings.Cut(runner, "/")
	return slices.Contains(known, cluster)
}
