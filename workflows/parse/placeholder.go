package parse

import (
	"regexp"
	"strings"
)

// The seed dialect writes references as ${step.key}, ${step.status} and
// ${VAR}. Both parts are limited to [A-Za-z0-9_-], so the CEL produced from
// them cannot be broken out of: the names go inside "..." literals and can
// hold neither quotes nor backslashes. Anything else (${{ }}, shell forms
// such as ${VAR:-x}) does not match and is left alone.
const refPattern = `\$\{([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_-]+))?\}`

var (
	refRE = regexp.MustCompile(refPattern)
	// condRefRE also swallows quotes around a reference, because users
	// write `"${check.status}" == "success"` as often as the bare form,
	// and the quoted CEL would compare against a literal string.
	condRefRE = regexp.MustCompile(`["']?` + refPattern + `["']?`)
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// refCEL is the CEL for one reference, or "" when it is not one we
// rewrite (a single name that is not an identifier, e.g. ${my-var}).
// withParams says whether ${VAR} means a param here.
func refCEL(name, key string, withParams bool) string {
	switch {
	case key == "status":
		return `steps["` + name + `"].status`
	case key != "":
		return `steps["` + name + `"].outputs["` + key + `"]`
	case withParams && identRE.MatchString(name):
		return `params["` + name + `"]`
	}
	return ""
}

// rewriteCondition turns a seed condition into a bare CEL expression.
func rewriteCondition(s string) string {
	return condRefRE.ReplaceAllStringFunc(s, func(m string) string {
		lead, trail := quoteAt(m, 0), quoteAt(m, len(m)-1)
		core := m[len(lead) : len(m)-len(trail)]
		sub := refRE.FindStringSubmatch(core)
		expr := refCEL(sub[1], sub[2], true)
		if expr == "" {
			return m
		}
		if lead != "" && lead == trail {
			return expr // a quoted reference is meant as the value itself
		}
		return lead + expr + trail
	})
}

// quoteAt returns the quote character at m[i], or "".
func quoteAt(m string, i int) string {
	if m[i] == '"' || m[i] == '\'' {
		return m[i : i+1]
	}
	return ""
}

// rewriteValue turns references in an input or env value into ${{ }}
// interpolation, ${VAR} included.
func rewriteValue(s string) string {
	return rewriteInterp(s, true)
}

// rewriteScript does the same for a script, except ${VAR}: in a script
// that is the shell's own variable syntax, and must reach the shell.
func rewriteScript(s string) string {
	return rewriteInterp(s, false)
}

// rewriteInterp replaces references with ${{ <cel> }}.
func rewriteInterp(s string, withParams bool) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return refRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := refRE.FindStringSubmatch(m)
		expr := refCEL(sub[1], sub[2], withParams)
		if expr == "" {
			return m
		}
		return "${{ " + expr + " }}"
	})
}
