package source

import (
	"cmp"
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/predicates"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/artifact"
	"krt.dev/krt/sources/git"
	"krt.dev/krt/workflows/expr"
)

// Options configures the source controller.
type Options struct {
	// CacheDir holds the shared git cache, one bare repository per URL.
	CacheDir string
	// Cache is the git cache to use instead of opening CacheDir: one
	// process must share one Cache, whose locks keep two fetches of a URL
	// apart (the trigger controller reads pull request heads into it).
	Cache *git.Cache
	// WebhookAddress is where the receiver listens; off when empty.
	WebhookAddress string
	// Flux reads Flux sources; off when Flux's CRDs are not installed.
	Flux bool
	// Workers reconcile repositories in parallel; the cache's per-URL
	// lock keeps two fetches of one URL apart. One when zero.
	Workers int
	// CrossNamespaceRefs honours a sourceRef's namespace. Off, a
	// repository reads only Flux sources of its own namespace.
	CrossNamespaceRefs bool
	// ArtifactHosts are the hosts Flux artifacts are downloaded from;
	// artifact.DefaultHosts when empty.
	ArtifactHosts []string
	// MinInterval is the shortest interval between checks of a
	// repository; DefaultMinInterval when zero.
	MinInterval time.Duration
	// FetchMaxBytes bounds what one git fetch may receive. krt-controller
	// sets it on the cache it shares; SetupWithManager sets it, when not
	// zero, on a cache it opens itself.
	FetchMaxBytes int64
	// CacheMaxBytes bounds the git cache; no bound when zero.
	CacheMaxBytes int64
	// CacheCleanInterval is how often the git cache is cleaned; a minute
	// when zero.
	CacheCleanInterval time.Duration
}

// DefaultMinInterval is the shortest interval a repository is checked at,
// unless the operator sets another: every check is an ls-remote that the
// git host may rate-limit, for every repository that names it.
const DefaultMinInterval = 30 * time.Second

// SetupWithManager registers the WorkflowRepository controller and, if
// asked, the webhook receiver.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	cache := opts.Cache
	if cache == nil {
		var err error
		if cache, err = git.NewCache(opts.CacheDir); err != nil {
			return err
		}
		if opts.FetchMaxBytes != 0 {
			cache.Limits.Fetch = opts.FetchMaxBytes
		}
	}
	env, err := expr.NewEnv()
	if err != nil {
		return err
	}
	hosts := opts.ArtifactHosts
	if len(hosts) == 0 {
		hosts = artifact.DefaultHosts
	}
	r := &Reconciler{
		client: mgr.GetClient(), secrets: mgr.GetAPIReader(), git: cache, expr: env,
		recorder: mgr.GetEventRecorderFor("krt-source-controller"), now: time.Now, flux: opts.Flux,
		artifacts:          artifact.NewClient(hosts, artifact.DefaultTimeout),
		crossNamespaceRefs: opts.CrossNamespaceRefs,
		minInterval:        cmp.Or(opts.MinInterval, DefaultMinInterval),
		cleaner:            newCacheCleaner(cache, mgr.GetClient(), opts, mgr.GetLogger().WithName("git-cache")),
	}
	if err := mgr.Add(r.cleaner); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &krtv1.WorkflowRepository{}, indexWebhookPath, func(o client.Object) []string {
		if p := o.(*krtv1.WorkflowRepository).Status.WebhookPath; p != "" {
			return []string{p}
		}
		return nil
	}); err != nil {
		return err
	}
	if opts.WebhookAddress != "" {
		if err := mgr.Add(&Receiver{Addr: opts.WebhookAddress, r: r, log: mgr.GetLogger().WithName("webhook")}); err != nil {
			return err
		}
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("source").
		// A spec change, or Flux's reconcile.fluxcd.io/requestedAt.
		// The cleaner's predicate comes first: it notes every deletion.
		For(&krtv1.WorkflowRepository{}, builder.WithPredicates(r.cleaner.predicate(),
			predicate.Or(predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{})))
	if opts.Flux {
		b = b.Watches(&sourcev1.GitRepository{}, handler.EnqueueRequestsFromMapFunc(r.reposOfSource(sourcev1.GitRepositoryKind))).
			Watches(&sourcev1.ExternalArtifact{}, handler.EnqueueRequestsFromMapFunc(r.reposOfSource(sourcev1.ExternalArtifactKind)))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.Workers, 1)}).Complete(r)
}

// reposOfSource wakes the repositories that read a Flux source when its
// artifact changes.
func (r *Reconciler) reposOfSource(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		list := &krtv1.WorkflowRepositoryList{}
		if err := r.client.List(ctx, list); err != nil {
			return nil
		}
		var out []reconcile.Request
		for _, repo := range list.Items {
			ref := repo.Spec.SourceRef
			if ref == nil || ref.Kind != kind || ref.Name != o.GetName() {
				continue
			}
			if ns := ref.Namespace; (ns == "" && repo.Namespace == o.GetNamespace()) || ns == o.GetNamespace() {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&repo)})
			}
		}
		return out
	}
}
