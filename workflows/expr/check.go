package expr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
)

// maxReportedIssues keeps error messages readable in kubectl output; the
// first few issues are almost always enough to fix an expression.
const maxReportedIssues = 3

// program returns the compiled form of src, compiling at most once per
// cache lifetime.
func (e *Env) program(src string) *compiled {
	if c, ok := e.cache.get(src); ok {
		return c
	}
	c := e.compile(src)
	e.cache.add(src, c)
	return c
}

func (e *Env) compile(src string) *compiled {
	e.compiles.Add(1)
	if strings.TrimSpace(src) == "" {
		return &compiled{err: errors.New("empty expression")}
	}
	ast, iss := e.cel.Compile(src)
	if iss != nil && iss.Err() != nil {
		return &compiled{err: issuesError(iss)}
	}
	prg, err := e.cel.Program(ast,
		cel.CostLimit(e.opts.costLimit),
		cel.InterruptCheckFrequency(interruptCheckFrequency),
	)
	if err != nil {
		return &compiled{err: fmt.Errorf("invalid expression: %w", err)}
	}
	return &compiled{ast: ast, prg: prg, out: ast.OutputType()}
}

// issuesError flattens CEL issues into one line. CEL's default rendering
// is multi-line with a caret diagram, which reads badly inside a Kubernetes
// status condition or admission response.
func issuesError(iss *cel.Issues) error {
	errs := iss.Errors()
	parts := make([]string, 0, min(len(errs), maxReportedIssues)+1)
	for i, e := range errs {
		if i == maxReportedIssues {
			parts = append(parts, fmt.Sprintf("and %d more", len(errs)-i))
			break
		}
		// We never set a container, so CEL's note about it is noise.
		msg := strings.ReplaceAll(e.Message, " (in container '')", "")
		loc := e.Location
		if loc != nil && loc.Line() > 0 {
			msg = fmt.Sprintf("%s (line %d, column %d)", msg, loc.Line(), loc.Column()+1)
		}
		parts = append(parts, msg)
	}
	return errors.New(strings.Join(parts, "; "))
}

// boolTypeError rejects results that can never be a bool. dyn is allowed
// because values reached through params/steps/event are only known at eval
// time.
func boolTypeError(t *cel.Type) error {
	if t == nil || t.IsExactType(cel.BoolType) || t.IsExactType(cel.DynType) {
		return nil
	}
	return fmt.Errorf("expression must be a boolean, got %s", t.String())
}

// CheckBool compiles and type-checks a boolean expression (an `if:` or
// `on.when`); the result type must be bool or dyn.
func (e *Env) CheckBool(src string) error {
	c := e.program(src)
	if c.err != nil {
		return c.err
	}
	return boolTypeError(c.out)
}

// CheckTemplate checks that every ${{ }} in s compiles (any result type)
// and that each ${{ is closed.
func (e *Env) CheckTemplate(s string) error {
	if !HasTemplate(s) {
		return nil
	}
	segs, err := parseTemplate(s)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		if !seg.isExpr {
			continue
		}
		if c := e.program(seg.text); c.err != nil {
			return seg.wrap(c.err)
		}
	}
	return nil
}
