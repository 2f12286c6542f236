// Package expr is the expression language of workflows: CEL expressions in
// `if:` / `on.when` fields and ${{ }} templates inside strings.
//
// User-supplied values (params, step outputs, event payloads) only ever reach
// CEL as activation values, never as source text, so a crafted output cannot
// change what an expression does.
package expr

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// Vars are the values in scope when evaluating. Any field may be nil.
type Vars struct {
	Params map[string]any      // params.NAME (strings normally)
	Steps  map[string]StepVars // steps.NAME.outputs.KEY, steps.NAME.artifacts.NAME, steps.NAME.phase, steps.NAME.status
	Event  map[string]any      // event.* (e.g. event.revision, event.pullRequest.number)
	Item   any                 // item: a string (forEach) or map[string]any (matrix)
	Run    map[string]any      // run.name, run.phase, run.workflow
}

// StepVars is what an expression can see of one step.
type StepVars struct {
	Outputs map[string]string
	Phase   string // WorkflowRun node phase, e.g. "Succeeded", "Failed", "Skipped", "Running"
	Status  string // seed-dialect view: "success", "failed", "skipped", "running", "pending"
	// Artifacts are the step's artifacts by name, each as its digest,
	// which is what an artifact input takes.
	Artifacts map[string]string
}

// ErrCost is wrapped by evaluation errors that ran out of budget (cost or
// deadline), so callers can tell a runaway expression from a wrong one.
var ErrCost = errors.New("expression budget exhausted")

const (
	defaultCostLimit = 1_000_000
	defaultDeadline  = 100 * time.Millisecond
	defaultCacheSize = 512
	// An event's expressions together may spend what two of the costliest
	// allowed expressions would, and five deadlines' worth of time. Real
	// triggers spend a few hundred units and microseconds per event; the
	// margin is for legitimate workflows, the bound is for hostile ones.
	eventCostFactor = 2
	eventTimeFactor = 5
	// Deadlines are only observed inside comprehensions; checking every 100
	// iterations keeps the overhead negligible while still reacting quickly.
	interruptCheckFrequency = 100
)

type options struct {
	costLimit uint64
	deadline  time.Duration
	cacheSize int
	eventCost uint64
	eventTime time.Duration
}

// Option configures an Env.
type Option func(*options)

// WithCostLimit sets the CEL runtime cost budget per evaluation. Zero keeps
// the default: an unlimited budget is never what a controller wants.
func WithCostLimit(limit uint64) Option {
	return func(o *options) {
		if limit > 0 {
			o.costLimit = limit
		}
	}
}

// WithDeadline sets the wall-clock budget per evaluation. Non-positive
// values keep the default.
func WithDeadline(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.deadline = d
		}
	}
}

// WithCacheSize bounds the number of compiled programs kept. Non-positive
// values keep the default.
func WithCacheSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.cacheSize = n
		}
	}
}

// WithEventBudget sets what all the expressions evaluated for one event
// (or one pass over a run) may spend together: CEL cost, and wall time.
// Zero keeps the default, a multiple of the per-expression limits.
func WithEventBudget(cost uint64, wall time.Duration) Option {
	return func(o *options) {
		if cost > 0 {
			o.eventCost = cost
		}
		if wall > 0 {
			o.eventTime = wall
		}
	}
}

// Env is a compiled-program cache over one CEL environment. Safe for
// concurrent use. An Env made by ForEvent or ForPass shares the programs
// and adds a budget that all its evaluations draw on.
type Env struct {
	*core
	budget *Budget
}

// core is what every view of one Env shares.
type core struct {
	cel   *cel.Env
	opts  options
	cache *lru

	// compiles counts real compilations so tests can prove cache reuse.
	compiles atomic.Int64
}

// NewEnv builds the workflow CEL environment.
func NewEnv(opts ...Option) (*Env, error) {
	o := options{
		costLimit: defaultCostLimit,
		deadline:  defaultDeadline,
		cacheSize: defaultCacheSize,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.eventCost == 0 {
		o.eventCost = eventCostFactor * o.costLimit
	}
	if o.eventTime == 0 {
		o.eventTime = eventTimeFactor * o.deadline
	}
	ce, err := newCELEnv()
	if err != nil {
		return nil, fmt.Errorf("building CEL environment: %w", err)
	}
	return &Env{core: &core{cel: ce, opts: o, cache: newLRU(o.cacheSize)}}, nil
}

// newCELEnv is shared with Refs, which needs a parser but no Env value.
func newCELEnv() (*cel.Env, error) {
	// Maps are map(string, dyn) rather than typed objects because step
	// outputs and event payloads are open-ended; typos in keys surface at
	// eval time as "no such key", which names the key.
	dynMap := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("params", dynMap),
		cel.Variable("steps", dynMap),
		cel.Variable("event", dynMap),
		cel.Variable("run", dynMap),
		cel.Variable("item", cel.DynType),
		ext.Strings(),
	)
}
