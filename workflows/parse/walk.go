package parse

import (
	"fmt"
	"reflect"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// maxNodes bounds the work on one document. Aliases let a small file
	// name the same subtree many times ("billion laughs"); the walker
	// follows them, so it needs a budget of its own.
	maxNodes = 200000
	// maxErrors keeps one broken document from burying the others.
	maxErrors = 20
)

var (
	durationType   = reflect.TypeOf(metav1.Duration{})
	stringListType = reflect.TypeOf(stringList(nil))
	// durationRE is the CRD's pattern for durations; time.ParseDuration
	// accepts more (ns, us, signs) than the API server will.
	durationRE = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`)
)

// stringList is a list of strings that may also be written as one string,
// as the seed dialect allows for depends_on.
type stringList []string

// walker checks a YAML node tree against a Go type, field by field, and
// builds the equivalent JSON-shaped value (maps, slices, scalars) for
// encoding/json to decode. Walking the tree ourselves, rather than letting
// a decoder do it, is what lets every error carry a line and a path.
type walker struct {
	file   string
	seen   map[string]position
	errs   []*Error
	budget int
}

func newWalker(file string) *walker {
	return &walker{file: file, seen: map[string]position{}, budget: maxNodes}
}

// record notes where path was written.
func (w *walker) record(path string, line int) {
	w.seen[path] = position{line: line, user: path}
}

// fail adds an error, up to maxErrors.
func (w *walker) fail(line int, path, format string, args ...any) {
	if len(w.errs) < maxErrors {
		w.errs = append(w.errs, &Error{File: w.file, Line: line, Field: path, Message: fmt.Sprintf(format, args...)})
	}
}

// walk checks n against t and returns the JSON-shaped value of n.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) any {
	line := n.Line
	if n = resolveAlias(n); n == nil {
		w.fail(line, path, "alias does not resolve")
		return nil
	}
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.fail(n.Line, path, "document too large (more than %d nodes, counting aliases)", maxNodes)
		}
		return nil
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
		// `manual:` with nothing after it means "allow manual runs", not
		// "no manual trigger"; for an empty struct null becomes {}.
		if isNull(n) && !(t.Kind() == reflect.Struct && t.NumField() == 0) {
			return nil
		}
	}
	return w.walkValue(n, t, path)
}

// walkValue dispatches on the (non-pointer) type t.
func (w *walker) walkValue(n *yaml.Node, t reflect.Type, path string) any {
	switch {
	case t == durationType:
		return w.duration(n, path)
	case t.Kind() == reflect.Struct && t.NumField() == 0 && isNull(n):
		return map[string]any{}
	case isNull(n):
		return nil
	case t == stringListType && n.Kind == yaml.ScalarNode:
		return []any{w.str(n, path)}
	case t == environmentType:
		return w.environment(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.structure(n, t, path)
	case reflect.Slice:
		return w.list(n, t, path)
	case reflect.Map:
		return w.mapping(n, t, path)
	case reflect.String:
		return w.str(n, path)
	case reflect.Bool:
		return w.boolean(n, path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return w.integer(n, t, path)
	}
	w.fail(n.Line, path, "internal error: no decoding for type %s", t)
	return nil
}

// structure checks a mapping against struct t's JSON fields.
func (w *walker) structure(n *yaml.Node, t reflect.Type, path string) any {
	if n.Kind != yaml.MappingNode {
		w.wrongType(n, path, "a mapping")
		return nil
	}
	ti := infoOf(t)
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, ok := w.key(n.Content[i], path)
		if !ok {
			continue
		}
		p := join(path, k.Value)
		if _, dup := out[k.Value]; dup {
			w.fail(k.Line, p, "duplicate field %q", k.Value)
			continue
		}
		ft, known := ti.fields[k.Value]
		if !known {
			w.fail(k.Line, p, "%s", ti.unknownMessage(k.Value))
			continue
		}
		w.record(p, k.Line)
		out[k.Value] = w.walk(n.Content[i+1], ft, p)
	}
	for _, name := range ti.required {
		if _, ok := out[name]; !ok {
			w.fail(n.Line, path, "missing required field %q", name)
		}
	}
	return out
}

// mapping checks a mapping whose keys are free-form, e.g. env.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) any {
	if n.Kind != yaml.MappingNode {
		w.wrongType(n, path, "a mapping")
		return nil
	}
	if t.Key().Kind() != reflect.String {
		w.fail(n.Line, path, "internal error: map key type %s", t.Key())
		return nil
	}
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, ok := w.key(n.Content[i], path)
		if !ok {
			continue
		}
		p := join(path, k.Value)
		if _, dup := out[k.Value]; dup {
			w.fail(k.Line, p, "duplicate key %q", k.Value)
			continue
		}
		w.record(p, k.Line)
		out[k.Value] = w.walk(n.Content[i+1], t.Elem(), p)
	}
	return out
}

// key checks that a mapping key is a plain string.
func (w *walker) key(k *yaml.Node, path string) (*yaml.Node, bool) {
	line := k.Line
	k = resolveAlias(k)
	switch {
	case k == nil || k.Kind != yaml.ScalarNode || isNull(k):
		w.fail(line, path, "keys must be strings")
		return nil, false
	case k.ShortTag() == "!!merge":
		w.fail(k.Line, path, "merge keys (<<) are not supported; write the fields out")
		return nil, false
	}
	return k, true
}

// list checks a sequence item by item.
func (w *walker) list(n *yaml.Node, t reflect.Type, path string) any {
	if n.Kind != yaml.SequenceNode {
		w.wrongType(n, path, "a list")
		return nil
	}
	out := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		w.record(p, item.Line)
		out = append(out, w.walk(item, t.Elem(), p))
	}
	return out
}

// str accepts only string scalars: like the API server, it refuses a
// number or boolean where a string belongs, rather than guess its text
// (YAML would read 1.10 as 1.1, and yes/no are not booleans in YAML 1.2).
func (w *walker) str(n *yaml.Node, path string) any {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!timestamp": // a date is text to JSON as well
			w.block(n, path)
			return n.Value
		case "!!int", "!!float", "!!bool":
			w.fail(n.Line, path, "expected a string, got %s; quote it: \"%s\"", describe(n), n.Value)
			return nil
		}
	}
	w.wrongType(n, path, "a string")
	return nil
}

// block notes where a literal block scalar's text begins (the line after
// its "|"), so an error inside a script can name the script's own line.
func (w *walker) block(n *yaml.Node, path string) {
	if n.Style&yaml.LiteralStyle == 0 {
		return
	}
	if pos, ok := w.seen[path]; ok {
		pos.block = n.Line + 1
		w.seen[path] = pos
	}
}

// boolean accepts true/false.
func (w *walker) boolean(n *yaml.Node, path string) any {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		w.wrongType(n, path, "true or false")
		return nil
	}
	return b
}

// integer accepts whole numbers that fit t.
func (w *walker) integer(n *yaml.Node, t reflect.Type, path string) any {
	var i int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		w.wrongType(n, path, "a whole number")
		return nil
	}
	if reflect.Zero(t).OverflowInt(i) {
		w.fail(n.Line, path, "number %s is out of range", n.Value)
		return nil
	}
	return i
}

// duration accepts what both time.ParseDuration and the CRD accept.
func (w *walker) duration(n *yaml.Node, path string) any {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		w.wrongType(n, path, "a duration such as 30s, 5m or 1h30m")
		return nil
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		w.fail(n.Line, path, "invalid duration %q: want e.g. 30s, 5m or 1h30m", n.Value)
	case d < 0:
		w.fail(n.Line, path, "invalid duration %q: must not be negative", n.Value)
	case !durationRE.MatchString(n.Value):
		w.fail(n.Line, path, "invalid duration %q: use only the units ms, s, m and h", n.Value)
	default:
		return n.Value
	}
	return nil
}

// wrongType reports that n is not what the field needs.
func (w *walker) wrongType(n *yaml.Node, path, want string) {
	w.fail(n.Line, path, "expected %s, got %s", want, describe(n))
}

// describe names what a node is, in the user's words.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "nothing"
	}
	return "a " + n.ShortTag() + " value"
}

// isNull is true for ~, null and an absent value.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// join appends a field name to a path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
