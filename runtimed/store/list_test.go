package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestListWhileDeleting: a listing that races another replica's deletes
// (the Maintainer's sweep, run by two replicas) returns each key it finds
// once, not an error for a key that vanished under it. The keys are nested
// as the refs are, in folders whose names sort around "/" ("wr" and
// "wr-2"), where a file store's walk order is not key order.
func TestListWhileDeleting(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		const n = 150
		var keys []string
		for i := range n {
			for _, wr := range []string{"wr", "wr-2"} {
				keys = append(keys, fmt.Sprintf("refs/ns/%s/u%03d/k", wr, i))
			}
		}
		for _, k := range keys {
			if _, err := s.PutRecord(ctx, k, ArtifactRef{}, false); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for _, k := range keys {
				if err := s.Delete(ctx, k); err != nil {
					t.Errorf("delete: %v", err)
				}
			}
		})
		defer wg.Wait()
		for listed := -1; listed != 0; {
			seen := map[string]bool{}
			err := s.List(ctx, "refs/", func(o Object) error {
				if seen[o.Key] {
					return fmt.Errorf("%s listed twice", o.Key)
				}
				seen[o.Key] = true
				return nil
			})
			if err != nil {
				t.Errorf("List while another replica deletes: %v", err)
				return
			}
			listed = len(seen)
		}
	})
}

// TestListKeepsCallersError: an error of List's caller is returned as it
// is, at once, even one that says "not found", which List would otherwise
// take for a key deleted under its walk and retry.
func TestListKeepsCallersError(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		if _, err := s.PutRecord(ctx, "cache/a", ArtifactRef{}, false); err != nil {
			t.Fatal(err)
		}
		calls := 0
		mine := fmt.Errorf("the caller's own: %w", ErrNotFound)
		err := s.List(ctx, "cache/", func(Object) error { calls++; return mine })
		if err != mine || calls != 1 {
			t.Fatalf("List returned %v after %d calls of fn, want the caller's error after 1", err, calls)
		}
	})
}
