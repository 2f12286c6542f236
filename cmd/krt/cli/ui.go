package cli

import (
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"krt.dev/krt/cmd/krt/ui"
	"krt.dev/krt/controllers/cluster"
)

func (r *root) uiCommand() *cobra.Command {
	var (
		addr            string
		noBrowser       bool
		tokenAuth       bool
		insecureCookies bool
		opts            cluster.KubeconfigOptions
	)
	cmd := &cobra.Command{
		Use:   "ui [--address 127.0.0.1:8089] [--no-browser]",
		Short: "Serve krt's web UI with your kubeconfig, and open it in your browser",
		Long: `ui serves krt's web UI: workflows, runs with their live DAG and logs,
approvals, repositories and runtimes. Every request it makes to the API
server is made with your kubeconfig's credentials, so you see and do what
RBAC lets you, as with kubectl.

It prints its address with a sign-in token (anyone with the address can act
as you, so it listens on 127.0.0.1 only by default), and opens it in your
browser when there is one.

With --token-auth it is the in-cluster UI: it keeps no credentials of its
own, takes the API server's address and CA from the kubeconfig or --server
and --certificate-authority, and each person signs in with a Kubernetes
bearer token. Serve it behind TLS: its session cookie is Secure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := r.restConfig()
			if err != nil {
				return err
			}
			ns, err := r.namespace()
			if err != nil {
				return err
			}
			o := ui.Options{Mode: ui.Local, Config: cfg, Namespace: ns, LoginToken: ui.NewLoginToken(), Kubeconfig: opts,
				InsecureCookies: insecureCookies}
			if tokenAuth {
				o.Mode, o.Config, o.LoginToken = ui.Token, rest.AnonymousClientConfig(cfg), ""
			}
			return r.serveUI(cmd.Context(), addr, o, !noBrowser && !tokenAuth)
		},
	}
	cmd.Flags().StringVar(&addr, "address", "127.0.0.1:8089", "where to listen; a busy port is replaced by a free one")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the address")
	cmd.Flags().BoolVar(&tokenAuth, "token-auth", false, "in-cluster mode: each user signs in with a bearer token")
	cmd.Flags().BoolVar(&insecureCookies, "insecure-cookies", false, "drop the cookie's Secure flag (plain HTTP off loopback)")
	opts.BindFlags(cmd.Flags())
	return cmd
}

func (r *root) serveUI(ctx context.Context, addr string, o ui.Options, browse bool) error {
	s, err := ui.New(o)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		host, _, _ := net.SplitHostPort(addr)
		if l, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return err
		}
	}
	base := "http://" + l.Addr().String()
	if o.Mode == ui.Local {
		u := ui.LoginURL(base, o.LoginToken, "")
		fmt.Fprintf(r.Out, "krt ui: serving at %s as your kubeconfig's user; open\n  %s\n", base, u)
		if browse && ui.OpenBrowser(u) {
			fmt.Fprintln(r.Out, "krt ui: opened it in your browser")
		}
	} else {
		fmt.Fprintf(r.Out, "krt ui: serving at %s; people sign in with a bearer token\n", base)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return s.Serve(ctx, l)
}
