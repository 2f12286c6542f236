package expr

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

func TestCacheReuse(t *testing.T) {
	tests := []struct {
		name         string
		cacheSize    int
		calls        []string
		wantCompiles int64
		wantLen      int
	}{
		{"same source compiled once", 8, []string{"params.a", "params.a", "params.a"}, 1, 1},
		{"distinct sources", 8, []string{"params.a", "params.b", "params.a"}, 2, 2},
		{"failures cached too", 8, []string{"nope", "nope"}, 1, 1},
		{"eviction recompiles", 2, []string{"params.a", "params.b", "params.c", "params.a"}, 4, 2},
		{"recent use protects", 2, []string{"params.a", "params.b", "params.a", "params.c", "params.a"}, 3, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEnv(t, WithCacheSize(tc.cacheSize))
			v := Vars{Params: map[string]any{"a": "1", "b": "2", "c": "3"}}
			for _, src := range tc.calls {
				_, _ = e.Eval(context.Background(), src, v)
			}
			if got := e.compiles.Load(); got != tc.wantCompiles {
				t.Errorf("compiles = %d, want %d", got, tc.wantCompiles)
			}
			if got := e.cache.len(); got != tc.wantLen {
				t.Errorf("cache len = %d, want %d", got, tc.wantLen)
			}
		})
	}
}

// Checking and evaluating the same source shares one compilation, and
// template expressions are cached by their trimmed text.
func TestCacheSharedAcrossEntryPoints(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	v := testVars()
	if err := e.CheckBool(`params.env == "prod"`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.EvalBool(ctx, `params.env == "prod"`, v); err != nil {
		t.Fatal(err)
	}
	if err := e.CheckTemplate(`${{ params.env }}`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Interpolate(ctx, `x ${{   params.env }} y`, v); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Eval(ctx, `params.env`, v); err != nil {
		t.Fatal(err)
	}
	if got := e.compiles.Load(); got != 2 {
		t.Errorf("compiles = %d, want 2", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := mustEnv(t, WithCacheSize(4))
	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range 50 {
				// A small cache with more distinct sources than slots
				// exercises eviction under contention.
				src := fmt.Sprintf(`steps.smoke.outputs.result == 'passed' && %d >= 0`, (w+i)%6)
				ok, err := e.EvalBool(context.Background(), src, testVars())
				if err != nil || !ok {
					errs <- fmt.Errorf("EvalBool(%q) = %v, %v", src, ok, err)
					return
				}
				out, err := e.Interpolate(context.Background(), "${{ params.env }}-${{ run.name }}", testVars())
				if err != nil || out != "prod-build-x7" {
					errs <- fmt.Errorf("Interpolate = %q, %v", out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
