package expr

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The expressions of one event share one budget: each stays under its own
// limit, and together they are still bounded.
func TestEventBudget(t *testing.T) {
	costly := nested(20, 2) // about 5,900 cost units
	type eval struct{ src, wantErr string }
	tests := []struct {
		name  string
		opts  []Option
		view  func(*Env) *Env
		evals []eval
	}{{
		name: "costs add up across expressions",
		opts: []Option{WithCostLimit(10_000), WithEventBudget(15_000, time.Hour)},
		view: (*Env).ForEvent,
		evals: []eval{
			{costly, ""},
			{costly, ""},
			// Under its own limit, over what the event has left.
			{costly, "the expressions evaluated for this event exceeded their combined cost budget (15000)"},
			// Spent is spent: even a free expression is refused now.
			{"true", "the expressions evaluated for this event exceeded their combined cost budget (15000)"},
		},
	}, {
		name: "the expression's own limit still speaks for itself",
		opts: []Option{WithCostLimit(1_000), WithEventBudget(1_000_000, time.Hour)},
		view: (*Env).ForEvent,
		evals: []eval{
			{costly, "expression exceeded its cost budget (limit 1000)"},
			{"true", ""},
		},
	}, {
		name: "time adds up across expressions",
		opts: []Option{WithCostLimit(1 << 40), WithDeadline(time.Hour), WithEventBudget(1<<50, time.Nanosecond)},
		view: (*Env).ForEvent,
		evals: []eval{
			{nested(30, 3), "the expressions evaluated for this event exceeded their combined time budget (1ns)"},
			{"true", "the expressions evaluated for this event exceeded their combined time budget (1ns)"},
		},
	}, {
		name: "a pass over a run counts cost, not time",
		opts: []Option{WithCostLimit(10_000), WithEventBudget(11_000, time.Nanosecond)},
		view: (*Env).ForPass,
		evals: []eval{
			{costly, ""},
			{costly, "the expressions evaluated for this pass over the run exceeded their combined cost budget (11000)"},
		},
	}, {
		name:  "an Env without a budget has none",
		opts:  []Option{WithCostLimit(10_000), WithEventBudget(1, time.Nanosecond)},
		view:  func(e *Env) *Env { return e },
		evals: []eval{{costly, ""}, {costly, ""}, {costly, ""}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.view(mustEnv(t, tc.opts...))
			for i, ev := range tc.evals {
				_, err := e.EvalBool(context.Background(), ev.src, Vars{})
				if ev.wantErr == "" && err != nil {
					t.Fatalf("evaluation %d: %v", i, err)
				}
				if ev.wantErr != "" {
					if err == nil || err.Error() != ev.wantErr+": "+ErrCost.Error() {
						t.Fatalf("evaluation %d: err = %v, want %q", i, err, ev.wantErr)
					}
					if !errors.Is(err, ErrCost) {
						t.Errorf("evaluation %d: %v is not ErrCost", i, err)
					}
				}
			}
		})
	}
}

// Templates draw on the same budget as conditions, and every view shares
// the compiled programs.
func TestEventBudgetCoversTemplates(t *testing.T) {
	e := mustEnv(t, WithCostLimit(10_000), WithEventBudget(10_000, time.Hour))
	ev := e.ForEvent()
	tmpl := "a ${{ " + costly() + " }} b"
	if _, err := ev.Interpolate(context.Background(), tmpl, Vars{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ev.InterpolateScript(context.Background(), tmpl, Vars{}); err == nil {
		t.Fatal("a second costly template within one event's budget succeeded")
	}
	if spent, _ := ev.budget.Spent(); spent < 10_000 {
		t.Errorf("budget spent %d, want at least its 10000", spent)
	}
	if _, err := e.ForEvent().Interpolate(context.Background(), tmpl, Vars{}); err != nil {
		t.Errorf("a new event's budget: %v", err)
	}
	if n := e.compiles.Load(); n != 1 {
		t.Errorf("compiles = %d, want 1: views must share programs", n)
	}
}

func costly() string { return nested(20, 2) }
