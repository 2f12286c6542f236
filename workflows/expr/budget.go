package expr

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
)

// Budget is what every evaluation made through one budgeted Env may spend
// together. The per-expression cost limit and deadline bound one
// expression; a pull request's head can define many workflows, each with
// an on.when, param defaults and a concurrency group, all evaluated before
// anyone approves it. The budget bounds their sum.
type Budget struct {
	scope string        // "this event", for messages
	cost  uint64        // CEL cost, summed over evaluations
	wall  time.Duration // wall time, summed; zero means none

	mu    sync.Mutex
	spent uint64
	took  time.Duration
}

// ForEvent returns an Env sharing e's programs whose evaluations together
// spend at most the event budget, in cost and in time. Make one per event
// and use it for everything evaluated for that event: on.when, param
// defaults, the concurrency group. A nil Env stays nil.
func (e *Env) ForEvent() *Env {
	if e == nil {
		return nil
	}
	return &Env{core: e.core, budget: &Budget{scope: "this event", cost: e.opts.eventCost, wall: e.opts.eventTime}}
}

// ForPass returns an Env whose evaluations together spend at most the
// event budget's cost, for one reconcile of a run. It has no wall-time
// sum: a run with thousands of nodes evaluates thousands of small
// templates, and a machine under load must not fail it. Each expression
// keeps its own deadline.
func (e *Env) ForPass() *Env {
	if e == nil {
		return nil
	}
	return &Env{core: e.core, budget: &Budget{scope: "this pass over the run", cost: e.opts.eventCost}}
}

// Spent reports the cost and time charged so far.
func (b *Budget) Spent() (uint64, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent, b.took
}

func (b *Budget) charge(cost uint64, took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spent += cost
	b.took += took
}

// left is what one more evaluation may spend; an error once nothing is.
func (b *Budget) left() (uint64, time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.spent >= b.cost {
		return 0, 0, b.costError()
	}
	if b.wall > 0 && b.took >= b.wall {
		return 0, 0, b.timeError()
	}
	wall := time.Duration(0)
	if b.wall > 0 {
		wall = b.wall - b.took
	}
	return b.cost - b.spent, wall, nil
}

func (b *Budget) costError() error {
	return fmt.Errorf("the expressions evaluated for %s exceeded their combined cost budget (%d): %w", b.scope, b.cost, ErrCost)
}

func (b *Budget) timeError() error {
	return fmt.Errorf("the expressions evaluated for %s exceeded their combined time budget (%s): %w", b.scope, b.wall, ErrCost)
}

// errEventDeadline is the context cause when the budget's time, not the
// expression's own deadline, ran out.
var errEventDeadline = errors.New("event expression deadline")

// limits is how one evaluation of c is bounded: the cached program and
// the expression's deadline, or, once the budget has less left than that,
// a program capped at what is left and the time that is left.
type limits struct {
	prg      cel.Program
	deadline time.Duration
	cause    error
	capped   bool // the program's cost limit is the budget's
}

func (e *Env) limits(c *compiled) (limits, error) {
	l := limits{prg: c.prg, deadline: e.opts.deadline, cause: errDeadline}
	if e.budget == nil {
		return l, nil
	}
	cost, wall, err := e.budget.left()
	if err != nil {
		return l, err
	}
	if wall > 0 && wall < l.deadline {
		l.deadline, l.cause = wall, errEventDeadline
	}
	if cost < e.opts.costLimit {
		// Planning a program is cheap next to evaluating one, and this
		// happens only near the end of a budget.
		prg, err := e.cel.Program(c.ast, cel.CostLimit(cost), cel.InterruptCheckFrequency(interruptCheckFrequency))
		if err != nil {
			return l, fmt.Errorf("invalid expression: %w", err)
		}
		l.prg, l.capped = prg, true
	}
	return l, nil
}

// charge records what an evaluation spent.
func (e *Env) charge(det *cel.EvalDetails, took time.Duration) {
	if e.budget == nil {
		return
	}
	cost := uint64(0)
	if c := det.ActualCost(); c != nil {
		cost = *c
	}
	e.budget.charge(cost, took)
}
