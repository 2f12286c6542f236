package source

import (
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"krt.dev/krt/sources/artifact"
	"krt.dev/krt/sources/git"
)

// BindFlags registers the source controller's limits and trust settings.
// The git cache's directory, the webhook address and the workers are
// krt-controller's own flags.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.CrossNamespaceRefs, "allow-cross-namespace-refs", false,
		"honour a WorkflowRepository's sourceRef.namespace; off, a repository reads only Flux sources of its own namespace (as Flux's --no-cross-namespace-refs)")
	fs.StringSliceVar(&o.ArtifactHosts, "artifact-hosts", artifact.DefaultHosts,
		"hosts (name, or name:port) that Flux artifacts are downloaded from; an artifact URL on any other host is refused")
	fs.DurationVar(&o.MinInterval, "min-interval", DefaultMinInterval,
		"the shortest interval between checks of a repository; a shorter spec.interval is raised to it")
	o.FetchMaxBytes = git.DefaultLimits.Fetch
	fs.Var(&quantity{&o.FetchMaxBytes}, "git-max-fetch-size",
		"the most one git fetch may receive (a branch's new commits, or a pull request's head); 0 for no limit")
	o.CacheMaxBytes = 1 << 30
	fs.Var(&quantity{&o.CacheMaxBytes}, "git-cache-max-size",
		"the git cache's bound: over it, the least recently used repositories are removed (and fetched again when needed); 0 for no bound")
}

// quantity is a byte count given as a Kubernetes quantity (512Mi, 10Gi).
type quantity struct{ bytes *int64 }

func (q *quantity) String() string {
	if q.bytes == nil {
		return "0"
	}
	return resource.NewQuantity(*q.bytes, resource.BinarySI).String()
}

func (q *quantity) Set(s string) error {
	v, err := resource.ParseQuantity(s)
	if err != nil {
		return err
	}
	*q.bytes = v.Value()
	return nil
}

func (q *quantity) Type() string { return "quantity" }
