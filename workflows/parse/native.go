package parse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// native decodes a document that has apiVersion/kind.
func native(file string, n *yaml.Node) (Document, []*Error) {
	obj, err := newObject(file, n)
	if err != nil {
		return Document{}, []*Error{err}
	}
	w := newWalker(file)
	w.record("", n.Line)
	v := w.walk(n, reflect.TypeOf(obj).Elem(), "")
	if len(w.errs) > 0 {
		return Document{}, w.errs
	}
	if err := fromValue(v, obj); err != nil {
		return Document{}, []*Error{{File: file, Line: n.Line, Message: err.Error()}}
	}
	doc := Document{File: file, Line: n.Line, Dialect: DialectNative, Object: obj, pos: w.seen}
	if errs := checkNames(&doc, "metadata.name"); len(errs) > 0 {
		return Document{}, errs
	}
	return doc, nil
}

// newObject picks the Go type from apiVersion and kind, which must be
// exactly the ones krt serves: anything else in a workflow folder is more
// likely a mistake than something to ignore.
func newObject(file string, n *yaml.Node) (client.Object, *Error) {
	api, err := topString(file, n, "apiVersion")
	if err != nil {
		return nil, err
	}
	kind, err := topString(file, n, "kind")
	if err != nil {
		return nil, err
	}
	if api.Value != krtv1.GroupVersion.String() {
		return nil, &Error{File: file, Line: api.Line, Field: "apiVersion",
			Message: fmt.Sprintf("unsupported apiVersion %q; want %s", api.Value, krtv1.GroupVersion)}
	}
	switch kind.Value {
	case "Workflow":
		return &krtv1.Workflow{}, nil
	case "Tool":
		return &krtv1.Tool{}, nil
	}
	return nil, &Error{File: file, Line: kind.Line, Field: "kind",
		Message: fmt.Sprintf("unsupported kind %q; want Workflow or Tool", kind.Value)}
}

// topString returns the scalar value node of a required top-level key.
func topString(file string, n *yaml.Node, key string) (*yaml.Node, *Error) {
	_, v := lookup(n, key)
	if v == nil {
		return nil, &Error{File: file, Line: n.Line, Field: key,
			Message: "missing " + key + "; " + acceptedForms}
	}
	if v.Kind != yaml.ScalarNode {
		return nil, &Error{File: file, Line: v.Line, Field: key, Message: "expected a string"}
	}
	return v, nil
}

// fromValue fills obj from the JSON-shaped value the walker built. The
// walker has already checked every field and type, so an error here is a
// bug rather than a user mistake; it is still reported, never panicked on.
func fromValue(v any, obj any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode document: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return fmt.Errorf("cannot decode document: %v", err)
	}
	return nil
}

// checkNames enforces what the API server would: a DNS-1123 subdomain
// name, and a DNS-1123 label namespace when one is given. Doing it here
// puts the error on the user's line instead of a failed apply. nameField
// is how the user spells the name's path ("metadata.name", or "name" in the
// seed dialect), named even when the field is missing.
func checkNames(d *Document, nameField string) []*Error {
	var errs []*Error
	add := func(field, user, msg string) {
		line, _ := d.Pos(field)
		errs = append(errs, &Error{File: d.File, Line: line, Field: user, Message: msg})
	}
	name := d.Object.GetName()
	if name == "" {
		add("metadata.name", nameField, "missing name")
	} else if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		add("metadata.name", nameField, fmt.Sprintf("invalid name %q: %s", name, strings.Join(msgs, "; ")))
	}
	if ns := d.Object.GetNamespace(); ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			add("metadata.namespace", "metadata.namespace",
				fmt.Sprintf("invalid namespace %q: %s", ns, strings.Join(msgs, "; ")))
		}
	}
	return errs
}
