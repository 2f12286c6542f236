package parse

import "strings"

// Pos gives the source line and the user's own field path for a native
// field path such as "spec.steps[2].needs[0]", "spec.steps[1].if",
// "spec.on.when" or "metadata.name". Map keys are plain segments
// ("spec.steps[0].env.IMAGE"). When the field itself was not written it
// falls back to the nearest written ancestor, and finally to the document.
// For seed documents the path returned is in the user's terms, e.g.
// "steps[2].depends_on[0]" or "steps[2].condition".
func (d *Document) Pos(field string) (line int, userField string) {
	for p := field; ; p = parent(p) {
		if pos, ok := d.pos[p]; ok {
			return pos.line, pos.user
		}
		if p == "" {
			return d.Line, ""
		}
	}
}

// parent drops the last segment of a path: "a.b[1]" -> "a.b" -> "a" -> "".
// A map key holding dots ("metadata.annotations.krt.dev/x") is cut at its
// last dot first; that only costs an extra step up.
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// PosIn is Pos for a place inside a field's text: offset is a byte offset
// into value, the field's value as parsed. Inside a literal block scalar
// ("run: |") it is the line the text is on; elsewhere the field's line,
// since folding and quoting move a value's lines.
func (d *Document) PosIn(field string, value string, offset int) (line int, userField string) {
	line, userField = d.Pos(field)
	pos, ok := d.pos[field]
	if !ok || pos.block == 0 || offset < 0 || offset > len(value) {
		return line, userField
	}
	return pos.block + strings.Count(value[:offset], "\n"), userField
}
