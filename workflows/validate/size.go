package validate

import (
	"fmt"
	"math"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
)

// maxStepNodes is what a run may hold of steps' nodes: status holds
// krtv1.MaxNodes, and the engine keeps one free to report a step that
// would not fit.
const maxStepNodes = krtv1.MaxNodes - 1

// sizes refuses a workflow whose runs could not hold its nodes. Every
// size is known here: matrix values are literal, and a forEach has one
// node per item at most. A matrix of eight axes of sixteen values is four
// billion nodes; the file says so, and no run is ever made of it.
func (c *checker) sizes(spec *krtv1.WorkflowSpec) {
	total, tooBig := uint64(0), false
	for _, list := range []struct {
		path  string
		steps []krtv1.Step
	}{{"spec.steps", spec.Steps}, {"spec.finally", spec.Finally}} {
		for i := range list.steps {
			s := &list.steps[i]
			n := dag.MaxStepNodes(s)
			if len(s.Matrix) > 0 && n > maxStepNodes {
				c.errorf(fmt.Sprintf("%s[%d].matrix", list.path, i), "the matrix (%s values) expands to %s nodes, more than the %d a run may hold",
					dag.MatrixShape(s.Matrix), count(n), maxStepNodes)
				tooBig = true
			}
			total = addSat(total, n)
		}
	}
	if total > maxStepNodes && !tooBig {
		c.errorf("spec.steps", "the steps expand to up to %s nodes in all, more than the %d a run may hold", count(total), maxStepNodes)
	}
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// count writes a node count; a saturated one is "more than" the most.
func count(n uint64) string {
	if n == math.MaxUint64 {
		return fmt.Sprintf("more than %d", uint64(math.MaxUint64))
	}
	return fmt.Sprintf("%d", n)
}
