package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// outstandingLoad creates no-op Runs from 8 clients, keeping a fixed
// number created and not yet ended: a Run that ends lets one more in.
type outstandingLoad struct {
	created atomic.Int64
	stopped chan struct{}
	wg      sync.WaitGroup
}

func (b *bench) keepOutstanding(ctx context.Context, ns string, tr *tracker, n int) *outstandingLoad {
	l := &outstandingLoad{stopped: make(chan struct{})}
	slots := make(chan struct{}, n)
	tr.setOnDone(func() { <-slots })
	for range 8 {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stopped:
					return
				case slots <- struct{}{}:
				}
				if err := b.env.Client.Create(ctx, noop(ns)); err != nil {
					fmt.Fprintln(os.Stderr, "bench: create:", err)
					<-slots
					continue
				}
				l.created.Add(1)
			}
		})
	}
	return l
}

// waitCreated waits until n Runs have been created.
func (l *outstandingLoad) waitCreated(ctx context.Context, n int) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Minute, true, func(context.Context) (bool, error) {
		return l.created.Load() >= int64(n), nil
	})
}

func (l *outstandingLoad) stop() {
	close(l.stopped)
	l.wg.Wait()
}
