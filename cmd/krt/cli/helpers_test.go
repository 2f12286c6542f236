package cli

import (
	"bytes"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
)

// runMain runs krt as Main does, against an empty fake API server.
func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runWith(t, nil, args...)
}

// runWith runs krt against a fake API server holding objs.
func runWith(t *testing.T, objs []client.Object, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("KUBECONFIG", t.TempDir()+"/none") // never the developer's cluster
	var out, errOut bytes.Buffer
	r := &root{Streams: Streams{Out: &out, Err: &errOut}, flags: genericclioptions.NewConfigFlags(true),
		testClient: fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...).Build()}
	code = execute(r.command(), args, &errOut)
	return out.String(), errOut.String(), code
}
