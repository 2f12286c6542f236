package expr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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

// TemplateExpr is one ${{ }} of a template: its trimmed source, and the
// byte offset of its "${{".
type TemplateExpr struct {
	Source string
	Offset int
}

// TemplateExprs lists the ${{ }} expressions of s, in order.
func TemplateExprs(s string) ([]TemplateExpr, error) {
	if !HasTemplate(s) {
		return nil, nil
	}
	segs, err := parseTemplate(s)
	if err != nil {
		return nil, err
	}
	var out []TemplateExpr
	for _, seg := range segs {
		if seg.isExpr {
			out = append(out, TemplateExpr{Source: seg.text, Offset: seg.offset})
		}
	}
	return out, nil
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
// never re-parsed as CEL. The result is text: it must not become code
// (see InterpolateScript).
func (e *Env) Interpolate(ctx context.Context, s string, v Vars) (string, error) {
	if !HasTemplate(s) {
		return s, nil
	}
	var b strings.Builder
	err := e.each(ctx, s, v, func(lit string, val *string) {
		if val == nil {
			b.WriteString(lit)
		} else {
			b.WriteString(*val)
		}
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// ScriptVarPrefix begins the names of the environment variables that
// InterpolateScript passes values in: KRT_EXPR_1, KRT_EXPR_2, ...
const ScriptVarPrefix = "KRT_EXPR_"

// ScriptVar is one value a script reads from its environment.
type ScriptVar struct{ Name, Value string }

// InterpolateScript is Interpolate for a script's source: a value never
// becomes source text, where a branch named `x";curl …;"` would run as
// code. Each ${{ expr }} becomes a reference to an environment variable,
// ${KRT_EXPR_n}, which the script's shell expands at run time, and the
// values come back as the variables to set. One expression written twice
// is one variable.
func (e *Env) InterpolateScript(ctx context.Context, s string, v Vars) (string, []ScriptVar, error) {
	if !HasTemplate(s) {
		return s, nil, nil
	}
	var b strings.Builder
	var vars []ScriptVar
	byExpr := map[string]string{}
	err := e.each(ctx, s, v, func(lit string, val *string) {
		if val == nil {
			b.WriteString(lit)
			return
		}
		name, ok := byExpr[lit]
		if !ok {
			name = ScriptVarPrefix + strconv.Itoa(len(vars)+1)
			byExpr[lit] = name
			vars = append(vars, ScriptVar{Name: name, Value: *val})
		}
		b.WriteString("${" + name + "}")
	})
	if err != nil {
		return "", nil, err
	}
	return b.String(), vars, nil
}

// each evaluates a template's expressions in order, calling emit with each
// literal (val nil) and each expression's source and formatted value.
func (e *Env) each(ctx context.Context, s string, v Vars, emit func(text string, val *string)) error {
	segs, err := parseTemplate(s)
	if err != nil {
		return err
	}
	act := v.activation()
	for _, seg := range segs {
		if !seg.isExpr {
			emit(seg.text, nil)
			continue
		}
		val, err := e.eval(ctx, seg.text, act)
		if err != nil {
			return seg.wrap(err)
		}
		str, err := format(val)
		if err != nil {
			return seg.wrap(err)
		}
		emit(seg.text, &str)
	}
	return nil
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
