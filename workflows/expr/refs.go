package expr

import (
	"regexp"
	"slices"
	"sync"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// Refs works on the parsed (not checked) AST: it must report references
// even in expressions that fail type-checking, so validation can point out
// every missing step at once.
var parser = sync.OnceValues(newCELEnv)

// stepsRef is the fallback for text CEL cannot parse. The leading group
// keeps "mysteps.x" and "foo.steps.x" from matching.
var stepsRef = regexp.MustCompile(`(?:^|[^\w.])steps\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*(?:"([^"]*)"|'([^']*)')\s*\])`)

// Refs lists, sorted and without duplicates, the step names an expression
// or template refers to through steps.NAME or steps["NAME"].
func Refs(s string) []string {
	seen := map[string]bool{}
	if HasTemplate(s) {
		segs, err := parseTemplate(s)
		if err != nil {
			scanRefs(s, seen)
		}
		for _, seg := range segs {
			if seg.isExpr {
				exprRefs(seg.text, seen)
			}
		}
	} else {
		exprRefs(s, seen)
	}
	if len(seen) == 0 {
		return nil
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func exprRefs(src string, seen map[string]bool) {
	env, err := parser()
	if err != nil {
		scanRefs(src, seen)
		return
	}
	parsed, iss := env.Parse(src)
	if iss != nil && iss.Err() != nil {
		scanRefs(src, seen)
		return
	}
	ast.PreOrderVisit(parsed.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if name, ok := stepRef(e); ok && name != "" {
			seen[name] = true
		}
	}))
}

// stepRef recognises steps.NAME and steps["NAME"]; dynamic indexes such as
// steps[params.x] cannot be resolved statically and are skipped.
func stepRef(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.SelectKind:
		sel := e.AsSelect()
		if isStepsIdent(sel.Operand()) {
			return sel.FieldName(), true
		}
	case ast.CallKind:
		call := e.AsCall()
		args := call.Args()
		if call.FunctionName() != operators.Index || len(args) != 2 || !isStepsIdent(args[0]) {
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

func isStepsIdent(e ast.Expr) bool {
	return e.Kind() == ast.IdentKind && e.AsIdent() == "steps"
}

func scanRefs(s string, seen map[string]bool) {
	for _, m := range stepsRef.FindAllStringSubmatch(s, -1) {
		for _, name := range m[1:] {
			if name != "" {
				seen[name] = true
			}
		}
	}
}
