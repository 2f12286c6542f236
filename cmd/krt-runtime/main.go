// krt-runtime is the Runtime Server: it runs in the runtime container (copied
// there by an init container) and executes Runs for the runtimed sidecar over
// a local gRPC socket.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/runtimeserver"
)

func main() {
	var opts runtimeserver.Options
	listen := flag.String("listen", "unix:///krt/run/runtime.sock", "where to serve: unix:///path or tcp://host:port")
	flag.StringVar(&opts.WorkRoot, "work-root", "/krt/work", "directory for per-execution working directories")
	flag.StringVar(&opts.Bash, "bash", "bash", "bash interpreter for bash scripts")
	flag.StringVar(&opts.Python, "python", "python3", "python interpreter for python scripts")
	flag.DurationVar(&opts.KillGrace, "kill-grace", 10*time.Second, "time between SIGTERM and SIGKILL on cancel or timeout")
	flag.DurationVar(&opts.Retention, "retention", time.Hour, "how long ended executions are kept when nobody forgets them")
	flag.StringVar(&opts.Isolation, "isolation", runtimeserver.Shared, "shared, exclusive (one Run at a time, cleaned up after each) or ephemeral (one Run only)")
	flag.Func("wipe", "a directory emptied after each Run when isolated, besides --work-root (repeatable)", func(d string) error {
		opts.Wipe = append(opts.Wipe, filepath.Clean(d))
		return nil
	})
	auth := runtimeserver.Auth{}
	flag.IntVar(&auth.UID, "runtimed-uid", -1, "the only uid the socket serves (SO_PEERCRED); negative for any")
	tokenFile := flag.String("token-file", "", "a file holding the token callers must present; where runtimed shares this server's uid")
	install := flag.String("install", "", "copy this binary to the given path and exit (the runtime pod's init container does this)")
	probe := flag.String("probe", "", "check the health of the server at this address and exit 0 if it serves (an exec probe)")
	flag.Parse()
	switch {
	case *install != "":
		exitOn(installTo(*install))
	case *probe != "":
		exitOn(probeHealth(*probe))
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := setup(&opts, &auth, *listen, *tokenFile); err != nil {
		log.Error("krt-runtime failed", "error", err)
		os.Exit(1)
	}
	if err := run(*listen, opts, &auth, log); err != nil {
		log.Error("krt-runtime failed", "error", err)
		os.Exit(1)
	}
}

// setup completes the options from the flags: the paths the wipe keeps
// (the socket and this binary) and the token.
func setup(opts *runtimeserver.Options, auth *runtimeserver.Auth, listen, tokenFile string) error {
	if sock, ok := strings.CutPrefix(listen, "unix://"); ok {
		opts.Keep = append(opts.Keep, filepath.Clean(sock))
	}
	if self, err := os.Executable(); err == nil {
		opts.Keep = append(opts.Keep, self)
	}
	if tokenFile != "" {
		data, err := os.ReadFile(tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		auth.Token = strings.TrimSpace(string(data))
		if auth.Token == "" {
			return fmt.Errorf("--token-file %s is empty", tokenFile)
		}
	}
	return nil
}

func run(listen string, opts runtimeserver.Options, auth *runtimeserver.Auth, log *slog.Logger) error {
	srv, err := runtimeserver.New(opts)
	if err != nil {
		return err
	}
	lis, err := listener(listen)
	if err != nil {
		return err
	}
	g := grpc.NewServer(auth.ServerOptions()...)
	runtimev1.RegisterRuntimeServer(g, srv)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(g, hs)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		hs.Shutdown()
		srv.Shutdown(opts.KillGrace)
		g.Stop()
	}()
	log.Info("krt-runtime serving", "address", listen)
	return g.Serve(lis)
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "krt-runtime:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// installTo copies this executable, so that any image can run it.
func installTo(dest string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	// Written aside and renamed, so that nothing ever runs half a binary,
	// and a copy still running from an earlier install is left intact.
	tmp := dest + ".tmp"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

// probeHealth asks the server's standard health service whether it serves.
func probeHealth(addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %s", resp.GetStatus())
	}
	return nil
}

func listener(addr string) (net.Listener, error) {
	switch {
	case strings.HasPrefix(addr, "unix://"):
		path := strings.TrimPrefix(addr, "unix://")
		// The pod's shared emptyDir starts empty: nobody else makes the
		// socket's directory.
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		_ = os.Remove(path) // a socket left by a previous process
		lis, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		// runtimed runs as another uid in the pod's group (fsGroup):
		// the group may connect, and the server checks who did.
		return lis, os.Chmod(path, 0o660)
	case strings.HasPrefix(addr, "tcp://"):
		return net.Listen("tcp", strings.TrimPrefix(addr, "tcp://"))
	}
	return nil, fmt.Errorf("--listen %q: want unix:///path or tcp://host:port", addr)
}
