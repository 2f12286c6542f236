package expr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

const (
	openDelim  = "${{"
	closeDelim = "}}"
)

// HasTemplate reports whether s contains ${{.
func HasTemplate(s string) bool {
	return strings.Contains(s, openDelim)
}

// segment is either literal text or one trimmed ${{ }} expression.
type segment struct {
	text   string
	isExpr bool
	offset int // byte offset of "${{" in the template, for error messages
}

// wrap points the user at the failing ${{ }} when a template holds several.
func (s segment) wrap(err error) error {
	return fmt.Errorf("in ${{ %s }} at offset %d: %w", s.text, s.offset, err)
}

// parseTemplate splits s into literal and expression segments. A "}}"
// inside a CEL string literal ends the expression early; workflows have no
// need for that and the resulting compile error is explicit enough.
func parseTemplate(s string) ([]segment, error) {
	var segs []segment
	pos := 0
	for {
		i := strings.Index(s[pos:], openDelim)
		if i < 0 {
			if pos < len(s) {
				segs = append(segs, segment{text: s[pos:]})
			}
			return segs, nil
		}
		start := pos + i
		if start > pos {
			segs = append(segs, segment{text: s[pos:start]})
		}
		bodyStart := start + len(openDelim)
		j := strings.Index(s[bodyStart:], closeDelim)
		if j < 0 {
			return nil, fmt.Errorf("unclosed ${{ at offset %d", start)
		}
		body := strings.TrimSpace(s[bodyStart : bodyStart+j])
		if body == "" {
			return nil, fmt.Errorf("empty ${{ }} at offset %d", start)
		}
		segs = append(segs, segment{text: body, isExpr: true, offset: start})
		pos = bodyStart + j + len(closeDelim)
	}
}

// Interpolate replaces each ${{ expr }} with its value formatted as a
// string. Each expression is evaluated on its own against v, so values are
// never re-parsed as CEL.
func (e *Env) Interpolate(ctx context.Context, s string, v Vars) (string, error) {
	if !HasTemplate(s) {
		return s, nil
	}
	segs, err := parseTemplate(s)
	if err != nil {
		return "", err
	}
	act := v.activation()
	var b strings.Builder
	for _, seg := range segs {
		if !seg.isExpr {
			b.WriteString(seg.text)
			continue
		}
		val, err := e.eval(ctx, seg.text, act)
		if err != nil {
			return "", seg.wrap(err)
		}
		str, err := format(val)
		if err != nil {
			return "", seg.wrap(err)
		}
		b.WriteString(str)
	}
	return b.String(), nil
}

// format renders a native value for splicing into text. null renders as
// the empty string, matching what users expect from other CI systems.
func format(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case []any, map[string]any:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		// Values often end up in URLs or shell snippets; \u0026 would be
		// a surprise there.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return "", fmt.Errorf("formatting value as JSON: %w", err)
		}
		return strings.TrimSuffix(buf.String(), "\n"), nil
	default:
		return fmt.Sprint(t), nil
	}
}
