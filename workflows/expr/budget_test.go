package expr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// nested builds a comprehension whose work grows as n^depth, so tests can
// pick a size that is cheap to compile but costly to run.
func nested(n, depth int) string {
	elems := make([]string, n)
	for i := range elems {
		elems[i] = "1"
	}
	list := "[" + strings.Join(elems, ",") + "]"
	body := "x0"
	for d := depth - 1; d >= 0; d-- {
		v := "x" + string(rune('0'+d))
		body = list + ".map(" + v + ", " + body + ")"
	}
	return "size(" + body + ") > 0"
}

func TestBudget(t *testing.T) {
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name        string
		opts        []Option
		ctx         context.Context
		src         string
		wantErr     string
		wantErrCost bool
	}{
		{
			name: "within default budget",
			ctx:  context.Background(),
			src:  nested(10, 2),
		},
		{
			name:        "cost limit",
			opts:        []Option{WithCostLimit(1000)},
			ctx:         context.Background(),
			src:         nested(20, 3),
			wantErr:     "expression exceeded its cost budget (limit 1000)",
			wantErrCost: true,
		},
		{
			name:        "string work hits cost limit",
			opts:        []Option{WithCostLimit(500)},
			ctx:         context.Background(),
			src:         `['a','b','c','d','e','f','g','h'].map(i, ['a','b','c','d','e','f','g','h'].map(j, (i + j).upperAscii())).size() > 0`,
			wantErr:     "expression exceeded its cost budget (limit 500)",
			wantErrCost: true,
		},
		{
			name:        "deadline",
			opts:        []Option{WithDeadline(time.Nanosecond), WithCostLimit(1 << 40)},
			ctx:         context.Background(),
			src:         nested(30, 3),
			wantErr:     "expression exceeded its deadline (1ns)",
			wantErrCost: true,
		},
		{
			// The caller giving up is not the expression's fault.
			name:    "caller cancelled",
			opts:    []Option{WithCostLimit(1 << 40)},
			ctx:     expired,
			src:     nested(30, 3),
			wantErr: "operation interrupted",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEnv(t, tc.opts...)
			if err := e.CheckBool(tc.src); err != nil {
				t.Fatalf("CheckBool: %v", err)
			}
			_, err := e.EvalBool(tc.ctx, tc.src, Vars{})
			checkErr(t, err, tc.wantErr)
			if got := errors.Is(err, ErrCost); got != tc.wantErrCost {
				t.Errorf("errors.Is(err, ErrCost) = %v, want %v (err: %v)", got, tc.wantErrCost, err)
			}
		})
	}
}
