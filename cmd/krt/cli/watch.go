package cli

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// changes prints what --watch shows, as kubectl get -w does: the table,
// then a row each time an object changes in a way the table shows; or in
// yaml or json, each new version of an object. Watches of several objects
// share one, so it takes a lock.
type changes[T any, P objPtr[T]] struct {
	p    *printer[T, P]
	o    printOptions
	w    io.Writer
	mu   sync.Mutex
	grid *grid
	objs printers.ResourcePrinter // one printer, so yaml documents get their --- between them
	last map[client.ObjectKey]string
}

func newChanges[T any, P objPtr[T]](p *printer[T, P], o printOptions, w io.Writer) *changes[T, P] {
	return &changes[T, P]{p: p, o: o, w: w, objs: objectPrinter(o.output), last: map[client.ObjectKey]string{}}
}

// start prints the objects as they are now: the table's header comes
// even with no rows, since rows may follow.
func (c *changes[T, P]) start(items []T) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !isTable(c.o.output) {
		for i := range items {
			if err := c.show(P(&items[i])); err != nil {
				return err
			}
		}
		return nil
	}
	rows := [][]string{c.p.header(c.o)}
	now := time.Now()
	for i := range items {
		c.last[client.ObjectKeyFromObject(P(&items[i]))] = c.version(P(&items[i]))
		rows = append(rows, c.p.row(&items[i], c.o, now))
	}
	c.grid = newGrid(rows, c.p.watchWidths(c.o)...)
	return c.grid.write(c.w, rows...)
}

// update prints obj if it changed since it was last printed.
func (c *changes[T, P]) update(obj P) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !isTable(c.o.output) {
		return c.show(obj)
	}
	key, v := client.ObjectKeyFromObject(obj), c.version(obj)
	if c.last[key] == v {
		return nil
	}
	c.last[key] = v
	return c.grid.write(c.w, c.p.row((*T)(obj), c.o, time.Now()))
}

func (c *changes[T, P]) show(obj P) error {
	key, v := client.ObjectKeyFromObject(obj), obj.GetResourceVersion()
	if c.last[key] == v {
		return nil
	}
	c.last[key] = v
	obj.GetObjectKind().SetGroupVersionKind(krtv1.GroupVersion.WithKind(c.p.kind))
	return c.objs.PrintObj(obj, c.w)
}

// version is the row as it would look at one fixed instant, so that a
// new row comes with a change to the object and not with the clock.
func (c *changes[T, P]) version(obj P) string {
	return strings.Join(c.p.row((*T)(obj), c.o, time.Time{}), "\t")
}

// listWatch is what --watch of a list command follows: the objects of a
// list that keep accepts, from the version listed.
type listWatch[T any, P objPtr[T]] struct {
	c    client.WithWatch
	list client.ObjectList // an empty one, of the kind watched
	rv   string
	opts []client.ListOption
	keep func(P) bool
}

// run prints the objects listed, then their changes and new objects, until
// ctx ends (Ctrl-C) or the output fails.
func (w *listWatch[T, P]) run(ctx context.Context, ch *changes[T, P], items []T) error {
	if err := ch.start(items); err != nil {
		return err
	}
	return watchList(ctx, w.c, w.list, w.rv, w.opts, func(obj P) error {
		if !w.keep(obj) {
			return nil
		}
		return ch.update(obj)
	})
}

// watchList calls fn with each object of a list that is added or changes,
// until fn returns an error or ctx ends. It starts at rv, the version of
// the list just printed. When the watch ends or its version has become
// too old, it watches on from now, which repeats every object as added:
// fn must take repeats.
func watchList[P client.Object](ctx context.Context, c client.WithWatch, list client.ObjectList,
	rv string, opts []client.ListOption, fn func(P) error) error {
	for {
		o := append([]client.ListOption{&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}}}, opts...)
		w, err := c.Watch(ctx, list, o...)
		if err != nil {
			return err
		}
		rv, err = drainList(ctx, w, rv, fn)
		w.Stop()
		if err != nil {
			return err
		}
	}
}

func drainList[P client.Object](ctx context.Context, w watch.Interface, rv string, fn func(P) error) (string, error) {
	for {
		select {
		case <-ctx.Done():
			return rv, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv, nil
			}
			if ev.Type == watch.Error {
				return "", nil
			}
			obj, ok := ev.Object.(P)
			if !ok {
				continue
			}
			rv = obj.GetResourceVersion()
			if ev.Type == watch.Deleted {
				continue
			}
			if err := fn(obj); err != nil {
				return rv, err
			}
		}
	}
}
