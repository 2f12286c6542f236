package expr

import (
	"regexp"
	"slices"
	"sync"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// parser parses without an Env value.
var parser = sync.OnceValues(newCELEnv)

// namesRE is the fallback for text CEL cannot parse: root.NAME or
// root["NAME"]. The leading group keeps "mysteps.x" and "foo.steps.x" from
// matching.
func namesRE(root string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^\w.])` + root + `\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*(?:"([^"]*)"|'([^']*)')\s*\])`)
}

var (
	stepsRef  = namesRE("steps")
	paramsRef = namesRE("params")
	// variables are what expressions may read (newCELEnv declares them).
	variables = []string{"params", "steps", "event", "item", "run"}
	// rootRef is the fallback of Roots.
	rootRef = regexp.MustCompile(`(?:^|[^\w.])(params|steps|event|item|run)\b`)
)

// Refs lists, sorted and without duplicates, the step names an expression
// or template refers to through steps.NAME or steps["NAME"].
func Refs(s string) []string {
	return names(s, "steps", stepsRef)
}

// ParamRefs lists the params an expression or template reads through
// params.NAME or params["NAME"].
func ParamRefs(s string) []string {
	return names(s, "params", paramsRef)
}

// Roots lists, sorted, the variables (params, steps, event, item, run)
// that an expression or template reads. A comprehension variable that
// shadows one counts as a read: Roots is for refusing what may come from
// an event, so it errs toward saying yes.
func Roots(s string) []string {
	return refsMemo.get("", s, func() []string { return roots(s) })
}

func roots(s string) []string {
	seen := map[string]bool{}
	visit(s, func(e ast.Expr) {
		if e.Kind() == ast.IdentKind && slices.Contains(variables, e.AsIdent()) {
			seen[e.AsIdent()] = true
		}
	}, func(src string) {
		for _, m := range rootRef.FindAllStringSubmatch(src, -1) {
			seen[m[1]] = true
		}
	})
	return sorted(seen)
}

func names(s, root string, fallback *regexp.Regexp) []string {
	return refsMemo.get(root, s, func() []string { return parseNames(s, root, fallback) })
}

func parseNames(s, root string, fallback *regexp.Regexp) []string {
	seen := map[string]bool{}
	visit(s, func(e ast.Expr) {
		if name, ok := fieldOf(e, root); ok && name != "" {
			seen[name] = true
		}
	}, func(src string) { scanNames(fallback, src, seen) })
	return sorted(seen)
}

// visit calls node for every node of the expressions in s (a template,
// or a bare expression), and scan with the text of any it cannot parse.
// It works on the parsed, not checked, AST: references must be found even
// in expressions that fail type-checking, so validation can point out
// every one at once.
func visit(s string, node func(ast.Expr), scan func(string)) {
	one := func(src string) {
		env, err := parser()
		if err != nil {
			scan(src)
			return
		}
		parsed, iss := env.Parse(src)
		if iss != nil && iss.Err() != nil {
			scan(src)
			return
		}
		ast.PreOrderVisit(parsed.NativeRep().Expr(), ast.NewExprVisitor(node))
	}
	if !HasTemplate(s) {
		one(s)
		return
	}
	segs, err := parseTemplate(s)
	if err != nil {
		scan(s)
	}
	for _, seg := range segs {
		if seg.isExpr {
			one(seg.text)
		}
	}
}

func sorted(seen map[string]bool) []string {
	if len(seen) == 0 {
		return nil
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// fieldOf recognises root.NAME and root["NAME"]; dynamic indexes such as
// steps[params.x] cannot be resolved statically and are skipped.
func fieldOf(e ast.Expr, root string) (string, bool) {
	switch e.Kind() {
	case ast.SelectKind:
		sel := e.AsSelect()
		if isIdent(sel.Operand(), root) {
			return sel.FieldName(), true
		}
	case ast.CallKind:
		call := e.AsCall()
		args := call.Args()
		if call.FunctionName() != operators.Index || len(args) != 2 || !isIdent(args[0], root) {
			return "", false
		}
		if args[1].Kind() != ast.LiteralKind {
			return "", false
		}
		if name, ok := args[1].AsLiteral().(types.String); ok {
			return string(name), true
		}
	}
	return "", false
}

func isIdent(e ast.Expr, name string) bool {
	return e.Kind() == ast.IdentKind && e.AsIdent() == name
}

func scanNames(re *regexp.Regexp, s string, seen map[string]bool) {
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		for _, name := range m[1:] {
			if name != "" {
				seen[name] = true
			}
		}
	}
}
