package dag

import (
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// MatrixSize is how many combinations a matrix has, computed without
// building any: a matrix of eight axes of sixteen values is four billion
// nodes, which must be refused before a byte of it is allocated. It
// saturates at math.MaxUint64 instead of overflowing.
func MatrixSize(m map[string][]string) uint64 {
	if len(m) == 0 {
		return 0
	}
	n := uint64(1)
	for _, vals := range m {
		hi, lo := bits.Mul64(n, uint64(len(vals)))
		if hi != 0 {
			return math.MaxUint64
		}
		n = lo
	}
	return n
}

// MatrixShape writes a matrix's axis sizes as "16 × 16 × …", in key
// order, for messages.
func MatrixShape(m map[string][]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, strconv.Itoa(len(m[k])))
	}
	return strings.Join(parts, " × ")
}

// MaxStepNodes is the most nodes a step can expand to: its matrix's
// combinations, its forEach items (fewer when some are the same), or one.
func MaxStepNodes(s *krtv1.Step) uint64 {
	switch {
	case s.ForEach != nil:
		return uint64(len(s.ForEach.Items))
	case len(s.Matrix) > 0:
		return MatrixSize(s.Matrix)
	}
	return 1
}
