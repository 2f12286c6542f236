package parse

import (
	"reflect"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// typeInfo is what the walker needs to know of a struct: its JSON field
// names (inline embedded structs flattened, as encoding/json does) and
// which of them have no omitempty, i.e. must be written.
type typeInfo struct {
	fields   map[string]reflect.Type
	names    []string // sorted, for "did you mean" hints
	required []string
	hints    map[string]string // why a field is refused, by name
	hint     string            // why any other unknown field is refused
}

// restriction narrows a type's fields to what users may write in a
// repository: server-set metadata and status would be rejected or
// overwritten by the API server, so accepting them would mislead.
type restriction struct {
	allow []string
	hints map[string]string
	hint  string
}

var restrictions = map[reflect.Type]restriction{
	reflect.TypeOf(metav1.ObjectMeta{}): {
		allow: []string{"name", "namespace", "labels", "annotations"},
		hint:  "metadata may hold only name, namespace, labels and annotations",
	},
	reflect.TypeOf(krtv1.Workflow{}): {
		allow: []string{"apiVersion", "kind", "metadata", "spec"},
		hints: map[string]string{"status": "status is written by krt, not in files"},
	},
}

var typeCache sync.Map // reflect.Type -> *typeInfo

// infoOf returns the (cached) field table of struct type t.
func infoOf(t reflect.Type) *typeInfo {
	if v, ok := typeCache.Load(t); ok {
		return v.(*typeInfo)
	}
	ti := &typeInfo{fields: map[string]reflect.Type{}}
	addFields(ti, t)
	if r, ok := restrictions[t]; ok {
		restrict(ti, r)
	}
	for name := range ti.fields {
		ti.names = append(ti.names, name)
	}
	sort.Strings(ti.names)
	typeCache.Store(t, ti)
	return ti
}

// addFields adds t's JSON fields to ti, descending into inline embedded
// structs such as metav1.TypeMeta.
func addFields(ti *typeInfo, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(ti, f.Type)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		ti.fields[name] = f.Type
		if !hasOpt(opts, "omitempty") {
			ti.required = append(ti.required, name)
		}
	}
}

// hasOpt reports whether a json tag's option list holds opt.
func hasOpt(opts, opt string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// restrict drops every field r does not allow.
func restrict(ti *typeInfo, r restriction) {
	keep := map[string]reflect.Type{}
	for _, name := range r.allow {
		if t, ok := ti.fields[name]; ok {
			keep[name] = t
		}
	}
	ti.fields = keep
	var req []string
	for _, name := range ti.required {
		if _, ok := keep[name]; ok {
			req = append(req, name)
		}
	}
	ti.required = req
	ti.hints, ti.hint = r.hints, r.hint
}

// unknownMessage explains why name is not a field of ti, suggesting the
// nearest known field when the name looks like a typo of it.
func (ti *typeInfo) unknownMessage(name string) string {
	msg := "unknown field \"" + name + "\""
	switch {
	case ti.hints[name] != "":
		return msg + " (" + ti.hints[name] + ")"
	case ti.hint != "":
		return msg + " (" + ti.hint + ")"
	}
	if best := closest(name, ti.names); best != "" {
		return msg + " (did you mean \"" + best + "\"?)"
	}
	return msg
}

// closest returns the candidate within edit distance 2 of name, or "".
func closest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b; field names are
// short, so the quadratic table is cheap. Long names are not compared, so
// that hostile input cannot make this slow.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
