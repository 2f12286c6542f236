package security

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/runtimeserver"
)

// A step finds the runtime socket of its pod and asks it for the other
// executions, their logs, or to cancel one. The socket serves runtimed
// only: here, in the local pool, a caller without the pod's token is
// refused; and krt-runtime itself refuses a peer whose uid is not
// runtimed's, as in a cluster pod.
func TestRuntimeSocketRefusesAllButRuntimed(t *testing.T) {
	ns := env.Namespace(t)
	startRuntime(t, ns, "sock", 1)
	succeeded(t, ns, createRun(t, ns, "victim", "sock", `echo hello`, nil, nil).Name)
	sock := filepath.Join(pool.Pods(ns, "sock")[0].Dir, "krt", "run", "runtime.sock")

	for _, tc := range []struct {
		name  string
		token string
	}{{name: "no token"}, {name: "a wrong token", token: randomText(t, 32)}} {
		t.Run(tc.name, func(t *testing.T) {
			c, health := dialRuntime(t, sock, tc.token)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.List(ctx, &runtimev1.ListRequest{})
			wantDenied(t, "List", err, "token")
			stream, err := c.Execute(ctx, &runtimev1.ExecuteRequest{Id: "x", AttachOnly: true})
			if err == nil {
				_, err = stream.Recv()
			}
			wantDenied(t, "Execute (attach)", err, "token")
			_, err = c.Cancel(ctx, &runtimev1.CancelRequest{Id: "x"})
			wantDenied(t, "Cancel", err, "token")
			// Whether it serves is no secret: the kubelet's probe asks.
			if resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("the health check: %v %v", resp, err)
			}
		})
	}

	// The uid check, against a real krt-runtime: it serves the uid it is
	// told is runtimed's, and no other.
	for _, tc := range []struct {
		name   string
		uid    int
		denied bool
	}{{name: "another uid", uid: otherUID(), denied: true}, {name: "runtimed's uid", uid: os.Getuid()}} {
		t.Run(tc.name, func(t *testing.T) {
			sock := startKrtRuntime(t, "--runtimed-uid", strconv.Itoa(tc.uid))
			c, _ := dialRuntime(t, sock, "")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.List(ctx, &runtimev1.ListRequest{})
			if !tc.denied {
				if err != nil {
					t.Fatalf("List as runtimed's uid: %v", err)
				}
				return
			}
			wantDenied(t, "List", err, "uid "+strconv.Itoa(os.Getuid()))
		})
	}
}

func wantDenied(t *testing.T, what string, err error, mentions string) {
	t.Helper()
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "runtimed only") || !strings.Contains(err.Error(), mentions) {
		t.Errorf("%s: want PermissionDenied saying the socket serves runtimed only and naming %q, got %v", what, mentions, err)
	}
}

func dialRuntime(t *testing.T, sock, token string) (runtimev1.RuntimeClient, healthpb.HealthClient) {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(runtimeserver.TokenCredentials(token)))
	}
	conn, err := grpc.NewClient("unix://"+sock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return runtimev1.NewRuntimeClient(conn), healthpb.NewHealthClient(conn)
}

// startKrtRuntime runs the krt-runtime binary on a socket of its own.
func startKrtRuntime(t *testing.T, args ...string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "krt-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "rt.sock")
	cmd := exec.Command(bins.KrtRuntime, append([]string{"--listen", "unix://" + sock, "--work-root", filepath.Join(dir, "work")}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	eventually(t, 30*time.Second, "krt-runtime to listen", func() bool {
		_, err := os.Stat(sock)
		return err == nil
	})
	return sock
}

// otherUID is a uid that is not this process's.
func otherUID() int {
	if os.Getuid() == 65533 {
		return 65534
	}
	return 65533
}
