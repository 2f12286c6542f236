// Package runtimed is the sidecar in every runtime pod. It watches only the
// Runs assigned to its pod, claims them, executes them through the local
// Runtime Server, streams their logs and writes their results. It renews a
// Lease as the pod's heartbeat.
package runtimed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
	"krt.dev/krt/runtimed/logs"
	"krt.dev/krt/runtimed/runtimeserver"
)

// Options configures an Agent.
type Options struct {
	Config *rest.Config
	// Pod is this runtime pod; PodUID tells it apart from an earlier pod of
	// the same name.
	Pod     types.NamespacedName
	PodUID  types.UID
	Runtime string
	// Languages the runtime container can execute; the first is the default.
	Languages []krtv1.Language
	// AllowedSecrets are the Runtime's spec.secrets: the only Secrets a
	// Run's secretEnv may name.
	AllowedSecrets []string
	// ArtifactStore names the Runtime's ArtifactStore (spec.artifactStore),
	// in the pod's namespace; empty when it has none.
	ArtifactStore string
	// RuntimeImage is the runtime container's image: part of what a
	// memoized step's result depends on.
	RuntimeImage string
	// RuntimeAddress is the gRPC target of the local Runtime Server.
	RuntimeAddress string
	// RuntimeToken is sent to the Runtime Server with every call, where
	// it cannot tell runtimed by its uid.
	RuntimeToken string
	// Isolation is the Runtime's spec.isolation. With ephemeral, the pod
	// takes one Run and marks its Lease spent before it starts it.
	Isolation string
	// LogsAddress is where the live log server listens.
	LogsAddress string
	// MetricsAddress is where GET /metrics is served, with no token;
	// off when empty.
	MetricsAddress string
	// LogsToken is the bearer token the log server asks for; without one
	// it serves only /healthz.
	LogsToken string
	// LeaseDuration is how long one heartbeat counts as fresh.
	LeaseDuration time.Duration
	// KillGrace is what the Runtime Server waits between SIGTERM and SIGKILL.
	KillGrace time.Duration
	// Workers claim Runs in parallel.
	Workers int
	// ClaimAfter is how long a shared pool's Run runs before runtimed
	// claims it (writes it Running); a Run that ends sooner goes from
	// Scheduled to its result in one write. Zero claims before starting.
	// It must stay well below the reaper's claim timeout.
	ClaimAfter time.Duration
	// Stdout receives each output line as JSON, tagged with the Run UID.
	Stdout io.Writer
	Log    logr.Logger
}

// Agent is runtimed.
type Agent struct {
	opts    Options
	client  client.Client // uncached: every read here must be fresh
	cache   cache.Cache   // only this pod's Runs
	conn    *grpc.ClientConn
	runtime runtimev1.RuntimeClient
	queue   workqueue.TypedRateLimitingInterface[string]
	logs    *logs.Store
	out     *jsonLines
	metrics *metrics
	stores  stores

	mu     sync.Mutex
	active map[string]*execution // by Run name
	// finished are executions that ended here lately.
	finished *recent
	// onServer are executions found at recovery, for sync to attach to.
	onServer idSet
	// renewer keeps the Lease; an ephemeral pod marks it spent.
	renewer *heartbeat.Renewer
	// taken is the one execution an ephemeral pod claimed.
	taken string
	// serverStarted is when the Runtime Server started, as it said at
	// recovery.
	serverStarted time.Time
}

// New connects to the API server and the Runtime Server.
func New(opts Options) (*Agent, error) {
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if len(opts.Languages) == 0 {
		opts.Languages = []krtv1.Language{krtv1.LanguageBash, krtv1.LanguagePython}
	}
	sch := scheme.New()
	c, err := client.New(opts.Config, client.Options{Scheme: sch})
	if err != nil {
		return nil, err
	}
	runs, err := cache.New(opts.Config, cache.Options{
		Scheme:            sch,
		DefaultTransform:  cache.TransformStripManagedFields(),
		DefaultNamespaces: map[string]cache.Config{opts.Pod.Namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&krtv1.Run{}: {Field: fields.OneTermEqualSelector(krtv1.FieldAssignedPod, opts.Pod.Name)},
		},
	})
	if err != nil {
		return nil, err
	}
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if opts.RuntimeToken != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(runtimeserver.TokenCredentials(opts.RuntimeToken)))
	}
	conn, err := grpc.NewClient(opts.RuntimeAddress, dial...)
	if err != nil {
		return nil, fmt.Errorf("runtime server %s: %w", opts.RuntimeAddress, err)
	}
	a := &Agent{
		opts:    opts,
		client:  c,
		cache:   runs,
		conn:    conn,
		runtime: runtimev1.NewRuntimeClient(conn),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "runtimed"}),
		logs:     logs.NewStore(logs.Options{}),
		out:      newJSONLines(opts.Stdout),
		active:   map[string]*execution{},
		finished: newRecent(4096),
	}
	a.metrics = newMetrics(a)
	return a, nil
}

// Run serves until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	lis, err := net.Listen("tcp", a.opts.LogsAddress)
	if err != nil {
		return fmt.Errorf("log server: %w", err)
	}
	srv := &http.Server{Handler: logs.Handler(a.logs, a.opts.LogsToken), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			a.opts.Log.Error(err, "log server stopped")
		}
	}()
	defer srv.Close()
	if a.opts.MetricsAddress != "" {
		if err := a.serveMetrics(ctx, a.opts.MetricsAddress); err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
	}

	inf, err := a.cache.GetInformer(ctx, &krtv1.Run{})
	if err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.enqueue(obj) },
		UpdateFunc: func(_, obj any) { a.enqueue(obj) },
		DeleteFunc: func(obj any) { a.enqueue(obj) },
	}); err != nil {
		return err
	}
	go func() { _ = a.cache.Start(ctx) }()
	if !a.cache.WaitForCacheSync(ctx) {
		return errors.New("the Run cache never synced")
	}
	if err := a.waitForRuntime(ctx); err != nil {
		return fmt.Errorf("waiting for the Runtime Server: %w", err)
	}
	if err := a.recover(ctx); err != nil {
		return err
	}
	// Only now is this pod worth scheduling to: start the heartbeat.
	a.renewer = &heartbeat.Renewer{
		Client: a.client, Pod: a.opts.Pod, PodUID: a.opts.PodUID, Runtime: a.opts.Runtime,
		Duration: a.opts.LeaseDuration, Log: a.opts.Log.WithName("heartbeat"),
	}
	go a.renewer.Run(ctx)
	defer a.queue.ShutDown()
	for range a.opts.Workers {
		go a.work(ctx)
	}
	a.opts.Log.Info("runtimed ready", "pod", a.opts.Pod, "runtime", a.opts.Runtime)
	<-ctx.Done()
	return nil
}

func (a *Agent) enqueue(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if r, ok := obj.(*krtv1.Run); ok {
		a.queue.Add(r.Name)
	}
}

func (a *Agent) work(ctx context.Context) {
	for {
		name, shutdown := a.queue.Get()
		if shutdown {
			return
		}
		if err := a.sync(ctx, name); err != nil && ctx.Err() == nil {
			a.opts.Log.Error(err, "syncing run", "run", name)
			a.queue.AddRateLimited(name)
		} else {
			a.queue.Forget(name)
		}
		a.queue.Done(name)
	}
}
