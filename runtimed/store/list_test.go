package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestListWhileDeleting: a listing that races another replica's deletes
// (the Maintainer's sweep, run by two replicas) returns what is left, not an
// error for a key that vanished under it.
func TestListWhileDeleting(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		const n = 300
		for i := range n {
			if _, err := s.PutRecord(ctx, fmt.Sprintf("cache/k%03d", i), ArtifactRef{}, false); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range n {
				if err := s.Delete(ctx, fmt.Sprintf("cache/k%03d", i)); err != nil {
					t.Errorf("delete: %v", err)
				}
			}
		})
		defer wg.Wait()
		for listed := -1; listed != 0; {
			last := ""
			listed = 0
			err := s.List(ctx, "cache/", func(o Object) error {
				if o.Key <= last {
					return fmt.Errorf("%s listed out of order or twice (after %s)", o.Key, last)
				}
				last = o.Key
				listed++
				return nil
			})
			if err != nil {
				t.Errorf("List while another replica deletes: %v", err)
				return
			}
		}
	})
}
