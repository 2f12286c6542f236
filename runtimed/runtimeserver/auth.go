package runtimeserver

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Auth admits only runtimed to the runtime socket. A step runs as the
// server's own uid and could otherwise list, attach to or cancel the
// executions of other Runs. In a pod runtimed runs as another uid, which
// the kernel vouches for (SO_PEERCRED); where everything runs as one uid
// (the local pool), a per-pod token that only runtimed is given stands in.
type Auth struct {
	// UID is the only peer uid admitted, when not negative.
	UID int
	// Token, when set, must come as "authorization: Bearer <token>".
	Token string
}

// healthService answers anyone: the kubelet's exec probe runs as the
// runtime container's uid, and serving or not is no secret.
const healthService = "/grpc.health.v1.Health/"

// ServerOptions are the gRPC options that enforce a.
func (a *Auth) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.Creds(peerCreds{}),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := a.check(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := a.check(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

func (a *Auth) check(ctx context.Context, method string) error {
	if strings.HasPrefix(method, healthService) {
		return nil
	}
	if a.UID >= 0 {
		uid := -1
		if p, ok := peer.FromContext(ctx); ok {
			if info, ok := p.AuthInfo.(PeerInfo); ok {
				uid = info.UID
			}
		}
		if uid != a.UID {
			return status.Errorf(codes.PermissionDenied, "the runtime socket serves runtimed only (uid %d); this caller is uid %d", a.UID, uid)
		}
	}
	if a.Token != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		got := ""
		if v := md.Get("authorization"); len(v) == 1 {
			got = strings.TrimPrefix(v[0], "Bearer ")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
			return status.Error(codes.PermissionDenied, "the runtime socket serves runtimed only: this caller has not its pod's token")
		}
	}
	return nil
}

// PeerInfo is who is at the other end of a unix socket, as the kernel says.
type PeerInfo struct {
	UID, PID int
}

// AuthType names the credentials for gRPC.
func (PeerInfo) AuthType() string { return "peercred" }

// peerCreds reads SO_PEERCRED at the handshake; over TCP the uid is -1.
type peerCreds struct{}

func (peerCreds) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, PeerInfo{UID: -1}, nil
}

func (peerCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	info := PeerInfo{UID: -1, PID: -1}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return c, info, nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, nil, err
	}
	if credErr != nil {
		return nil, nil, fmt.Errorf("reading the peer's credentials: %w", credErr)
	}
	info.UID, info.PID = int(cred.Uid), int(cred.Pid)
	return c, info, nil
}

func (peerCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}
func (peerCreds) Clone() credentials.TransportCredentials { return peerCreds{} }
func (peerCreds) OverrideServerName(string) error         { return nil }

// TokenCredentials send a pod's runtime token with every call, for
// runtimed's side of Auth.Token.
type TokenCredentials string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t TokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false: the socket is local to the pod.
func (TokenCredentials) RequireTransportSecurity() bool { return false }
