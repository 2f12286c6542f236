package expr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// errDeadline is our own context cause, so a deadline we imposed can be told
// apart from the caller cancelling or timing out its context.
var errDeadline = errors.New("expression deadline")

// activation builds the CEL variables. Nil maps become empty maps so that
// a missing key reports "no such key: NAME" rather than a null dereference.
func (v Vars) activation() map[string]any {
	steps := make(map[string]any, len(v.Steps))
	for name, s := range v.Steps {
		steps[name] = map[string]any{"outputs": orEmptyStrings(s.Outputs), "artifacts": orEmptyStrings(s.Artifacts),
			"phase": s.Phase, "status": s.Status}
	}
	act := map[string]any{
		"params": orEmpty(v.Params),
		"steps":  steps,
		"event":  orEmpty(v.Event),
		"run":    orEmpty(v.Run),
	}
	// item stays undeclared at runtime outside forEach/matrix so misuse
	// fails loudly instead of evaluating against null.
	if v.Item != nil {
		act["item"] = v.Item
	}
	return act
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// Eval evaluates one expression to a Go value: string, int64, uint64, bool,
// float64, []byte, nil, []any or map[string]any (durations and timestamps
// come back as time.Duration and time.Time).
func (e *Env) Eval(ctx context.Context, src string, v Vars) (any, error) {
	return e.eval(ctx, src, v.activation())
}

// EvalBool evaluates a boolean expression.
func (e *Env) EvalBool(ctx context.Context, src string, v Vars) (bool, error) {
	if c := e.program(src); c.err == nil {
		if err := boolTypeError(c.out); err != nil {
			return false, err
		}
	}
	val, err := e.evalVal(ctx, src, v.activation())
	if err != nil {
		return false, err
	}
	b, ok := val.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expression must be a boolean, got %s", val.Type().TypeName())
	}
	return bool(b), nil
}

func (e *Env) eval(ctx context.Context, src string, act map[string]any) (any, error) {
	val, err := e.evalVal(ctx, src, act)
	if err != nil {
		return nil, err
	}
	return native(val)
}

func (e *Env) evalVal(ctx context.Context, src string, act map[string]any) (ref.Val, error) {
	c := e.program(src)
	if c.err != nil {
		return nil, c.err
	}
	l, err := e.limits(c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, l.deadline, l.cause)
	defer cancel()
	start := time.Now()
	val, det, err := l.prg.ContextEval(ctx, act)
	e.charge(det, time.Since(start))
	if err != nil {
		return nil, e.budgetError(err, l.capped)
	}
	return val, nil
}

// budgetError rewrites CEL's terse cancellation errors into ones that tell
// the user which budget ran out and by how much it was set: the
// expression's own, or the one its event shares.
func (e *Env) budgetError(err error, capped bool) error {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		if capped {
			return e.budget.costError()
		}
		return fmt.Errorf("expression exceeded its cost budget (limit %d): %w", e.opts.costLimit, ErrCost)
	}
	if errors.Is(err, errEventDeadline) {
		return e.budget.timeError()
	}
	if errors.Is(err, errDeadline) {
		return fmt.Errorf("expression exceeded its deadline (%s): %w", e.opts.deadline, ErrCost)
	}
	return err
}

// native converts a CEL value into plain Go values that callers can use
// without importing cel-go.
func native(v ref.Val) (any, error) {
	switch t := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool, types.Int, types.Uint, types.Double, types.String, types.Bytes,
		types.Duration, types.Timestamp:
		return t.Value(), nil
	case traits.Mapper:
		out := make(map[string]any)
		for it := t.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			kv, err := native(k)
			if err != nil {
				return nil, err
			}
			ev, err := native(t.Get(k))
			if err != nil {
				return nil, err
			}
			ks, ok := kv.(string)
			if !ok {
				ks = fmt.Sprint(kv)
			}
			out[ks] = ev
		}
		return out, nil
	case traits.Lister:
		n, ok := t.Size().(types.Int)
		if !ok {
			return nil, fmt.Errorf("list of unknown size")
		}
		out := make([]any, 0, int(n))
		for i := types.Int(0); i < n; i++ {
			ev, err := native(t.Get(i))
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unsupported result type %s", v.Type().TypeName())
	}
}

func orEmptyStrings(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
