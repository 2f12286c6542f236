package ui

import (
	"context"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type krtv1Object = client.Object

// fakeWatch gives the fake client the Watch the UI's client has.
type fakeWatch struct{ client.WithWatch }

func (f fakeWatch) Watch(ctx context.Context, list client.ObjectList, opts ...client.ListOption) (watch.Interface, error) {
	return f.WithWatch.Watch(ctx, list, opts...)
}
