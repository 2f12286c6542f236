// Package parse reads workflow files (native krt.dev/v1alpha1 Workflows and
// Tools, or the seed dialect) into API objects, strictly: every unknown
// field, wrong type or bad value is an Error carrying the file and line, so
// users can fix their repository without guessing.
package parse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Dialects a Document can be written in.
const (
	DialectNative = "native"
	DialectSeed   = "seed"
)

// Document is one object parsed from a file.
type Document struct {
	File    string
	Line    int    // where the document starts
	Dialect string // "native" or "seed"
	// Object is a *krtv1.Workflow or *krtv1.Tool with TypeMeta set.
	Object client.Object

	// pos maps a native field path to where the user wrote it.
	pos map[string]position
}

// position is where a field was written, and its path in the user's terms
// (which differs from the native path only for the seed dialect).
type position struct {
	line int
	user string
	// block is the first line of a literal block scalar's text ("|"),
	// whose lines are the value's lines; zero for any other value.
	block int
}

// Error is a problem in a file, located.
type Error struct {
	File    string
	Line    int
	Field   string
	Message string
}

// Error renders "file:line: field: message", leaving out what is unknown.
func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	parts := make([]string, 0, 3)
	for _, p := range []string{loc, e.Field, e.Message} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ": ")
}

// File parses every YAML document in one file. Good documents are returned
// even when others fail.
//
// A YAML syntax error stops the file: yaml.v3 decodes one document at a
// time, so the documents before the broken one are kept, and nothing after
// it is read (the parser cannot resynchronise reliably).
func File(name string, data []byte) ([]Document, []*Error) {
	var docs []Document
	var errs []*Error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		root, err := decodeNext(dec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, syntaxError(name, err))
			break
		}
		if isEmptyDocument(root) {
			continue
		}
		doc, derrs := document(name, root)
		if len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		docs = append(docs, doc)
	}
	return docs, errs
}

// decodeNext reads one document. yaml.v3 has panicked on hostile input in
// the past; a file in a user's repository must never take the controller
// down, so a panic becomes an ordinary error.
func decodeNext(dec *yaml.Decoder) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		return nil, err
	}
	return &n, nil
}

// isEmptyDocument is true for "---" with nothing (or only null) after it.
func isEmptyDocument(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return true
		}
		n = n.Content[0]
	}
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

var errPanic = errors.New("yaml: parser failed")

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns yaml.v3's "yaml: line N: msg" into a located Error.
// yaml.v3 leaves "line N" out when its error mark is on the stream's first
// line (it tests the 0-based line against 0), so no line means line 1. A
// recovered panic has no mark at all and keeps Line 0.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Message: "invalid YAML: " + m[2]}
	}
	line := 1
	if errors.Is(err, errPanic) {
		line = 0
	}
	return &Error{File: file, Line: line, Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// document decodes one non-empty YAML document in whichever dialect it is
// written in.
func document(file string, root *yaml.Node) (Document, []*Error) {
	n := root
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		line := root.Line
		if n != nil {
			line = n.Line
		}
		return Document{}, []*Error{{File: file, Line: line, Message: "expected a mapping: " + acceptedForms}}
	}
	switch {
	case hasKey(n, "apiVersion") || hasKey(n, "kind"):
		return native(file, n)
	case isSeedWorkflow(n):
		return seed(file, n)
	case isSeedTool(n):
		return seedToolDoc(file, n)
	}
	return Document{}, []*Error{{File: file, Line: n.Line, Message: "unrecognised document: " + acceptedForms}}
}

const acceptedForms = "want either a native object (apiVersion: krt.dev/v1alpha1, kind: Workflow or Tool) " +
	"or a seed-dialect workflow (top-level steps, workflow or parallel_tools, no apiVersion/kind)"

// hasKey reports whether mapping n has key k.
func hasKey(n *yaml.Node, k string) bool {
	_, v := lookup(n, k)
	return v != nil
}

// lookup returns the key and value nodes of k in mapping n, or nils.
func lookup(n *yaml.Node, k string) (key, val *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == k {
			return n.Content[i], resolveAlias(n.Content[i+1])
		}
	}
	return nil, nil
}

// resolveAlias follows *alias nodes to what they name. The hop limit
// guards against alias chains that yaml.v3 may let through.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}
