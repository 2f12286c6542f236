package cluster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The flags that let a Cluster's kubeconfig reach beyond its own bytes.
// exec and tls are Flux's names for the same opt-ins.
const (
	FlagInsecureExec  = "insecure-kubeconfig-exec"
	FlagInsecureTLS   = "insecure-kubeconfig-tls"
	FlagInsecureFiles = "insecure-kubeconfig-files"
	FlagInsecureProxy = "insecure-kubeconfig-proxy"
)

// KubeconfigOptions are an operator's opt-ins. A Cluster's kubeconfig is
// written by whoever may write Secrets in its namespace, yet it is used by
// krt-controller (and by the CLI of whoever reads logs): without these,
// it can only name a server and carry inline credentials.
type KubeconfigOptions struct {
	// Exec allows user.exec and user.auth-provider: credential plugins
	// that run a command, or code that reads files and calls other servers.
	Exec bool
	// TLS allows cluster.insecure-skip-tls-verify.
	TLS bool
	// Files allows tokenFile, client-certificate, client-key and
	// certificate-authority: paths read on the host krt runs on.
	Files bool
	// Proxy allows cluster.proxy-url.
	Proxy bool
}

// BindFlags adds the opt-in flags to fs, all off by default.
func (o *KubeconfigOptions) BindFlags(fs *pflag.FlagSet) {
	const why = "; Cluster kubeconfigs are written by tenants, see docs/security.md"
	fs.BoolVar(&o.Exec, FlagInsecureExec, false,
		"allow Cluster kubeconfigs to use exec credential plugins and auth-providers, which run on krt's host"+why)
	fs.BoolVar(&o.TLS, FlagInsecureTLS, false,
		"allow Cluster kubeconfigs to set insecure-skip-tls-verify"+why)
	fs.BoolVar(&o.Files, FlagInsecureFiles, false,
		"allow Cluster kubeconfigs to name files on krt's host (tokenFile, client-certificate, client-key, certificate-authority)"+why)
	fs.BoolVar(&o.Proxy, FlagInsecureProxy, false,
		"allow Cluster kubeconfigs to set proxy-url"+why)
}

// RefusedField is one field of a kubeconfig that the options do not allow.
type RefusedField struct {
	Entry string // `user "ci"` or `cluster "prod"`
	Field string // as spelled in a kubeconfig file
	Does  string
	Flag  string
}

func (f RefusedField) String() string {
	return fmt.Sprintf("%s sets %s, which %s: refused unless krt is started with --%s", f.Entry, f.Field, f.Does, f.Flag)
}

// InsecureKubeconfigError lists every refused field of a kubeconfig.
type InsecureKubeconfigError struct{ Fields []RefusedField }

func (e *InsecureKubeconfigError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// IsInsecureKubeconfig says whether err is, or wraps, a refusal.
func IsInsecureKubeconfig(err error) bool {
	var ie *InsecureKubeconfigError
	return errors.As(err, &ie)
}

const (
	readsFile = "reads a file on krt's host"
)

// CheckKubeconfig returns an InsecureKubeconfigError naming each field of
// the cluster and user that cfg's current context reaches which opts do
// not allow. Entries the current context does not reach are never used,
// so they are not checked; RESTConfigFromKubeconfig drops them.
func CheckKubeconfig(cfg *clientcmdapi.Config, opts KubeconfigOptions) error {
	ctx, err := currentContext(cfg)
	if err != nil {
		return err
	}
	var refused []RefusedField
	refuse := func(allowed bool, entry, field, does, flag string) {
		if !allowed {
			refused = append(refused, RefusedField{Entry: entry, Field: field, Does: does, Flag: flag})
		}
	}
	c := cfg.Clusters[ctx.Cluster]
	entry := fmt.Sprintf("cluster %q", ctx.Cluster)
	if c.CertificateAuthority != "" {
		refuse(opts.Files, entry, "certificate-authority", readsFile, FlagInsecureFiles)
	}
	if c.ProxyURL != "" {
		refuse(opts.Proxy, entry, "proxy-url", "sends krt's connections through another server", FlagInsecureProxy)
	}
	if c.InsecureSkipTLSVerify {
		refuse(opts.TLS, entry, "insecure-skip-tls-verify", "lets anyone on the path read and change the traffic", FlagInsecureTLS)
	}
	if u := cfg.AuthInfos[ctx.AuthInfo]; u != nil {
		entry := fmt.Sprintf("user %q", ctx.AuthInfo)
		if u.Exec != nil {
			refuse(opts.Exec, entry, "exec", "runs a command on krt's host", FlagInsecureExec)
		}
		if u.AuthProvider != nil {
			refuse(opts.Exec, entry, "auth-provider", "runs a credential plugin inside krt", FlagInsecureExec)
		}
		for _, f := range []struct{ name, path string }{
			{"tokenFile", u.TokenFile}, {"client-certificate", u.ClientCertificate}, {"client-key", u.ClientKey},
		} {
			if f.path != "" {
				refuse(opts.Files, entry, f.name, readsFile, FlagInsecureFiles)
			}
		}
	}
	if len(refused) > 0 {
		return &InsecureKubeconfigError{Fields: refused}
	}
	return nil
}

// currentContext returns the context a client would use, once it is sure
// the cluster it names exists (the user may be absent: anonymous).
func currentContext(cfg *clientcmdapi.Config) (*clientcmdapi.Context, error) {
	if cfg.CurrentContext == "" {
		return nil, errors.New("it has no current-context")
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		return nil, fmt.Errorf("its current-context %q is not among its contexts", cfg.CurrentContext)
	}
	if cfg.Clusters[ctx.Cluster] == nil {
		return nil, fmt.Errorf("context %q names cluster %q, which it does not have", cfg.CurrentContext, ctx.Cluster)
	}
	if ctx.AuthInfo != "" && cfg.AuthInfos[ctx.AuthInfo] == nil {
		return nil, fmt.Errorf("context %q names user %q, which it does not have", cfg.CurrentContext, ctx.AuthInfo)
	}
	return ctx, nil
}

// RESTConfigFromKubeconfig parses a kubeconfig, refuses what opts do not
// allow, and builds a rest.Config from its current context alone.
func RESTConfigFromKubeconfig(raw []byte, opts KubeconfigOptions) (*rest.Config, error) {
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, err
	}
	if err := CheckKubeconfig(cfg, opts); err != nil {
		return nil, err
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	only := clientcmdapi.NewConfig()
	only.Clusters[ctx.Cluster] = cfg.Clusters[ctx.Cluster]
	if u := cfg.AuthInfos[ctx.AuthInfo]; u != nil {
		only.AuthInfos[ctx.AuthInfo] = u
	}
	only.Contexts[cfg.CurrentContext] = ctx
	only.CurrentContext = cfg.CurrentContext
	// No ConfigAccess: NewDefaultClientConfig's would let an auth-provider
	// write its refreshed config into the host's own kubeconfig file, under
	// a user name the tenant chose.
	out, err := clientcmd.NewNonInteractiveClientConfig(*only, only.CurrentContext, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, err
	}
	strip(out, opts)
	return out, nil
}

// strip clears what the options do not allow from a built config, in case
// clientcmd ever derives one of them from a field CheckKubeconfig does not
// know.
func strip(c *rest.Config, opts KubeconfigOptions) {
	if !opts.Exec {
		c.ExecProvider, c.AuthProvider = nil, nil
	}
	if !opts.Files {
		c.BearerTokenFile, c.CAFile, c.CertFile, c.KeyFile = "", "", "", ""
	}
	if !opts.Proxy {
		c.Proxy = nil
	}
	if !opts.TLS {
		c.Insecure = false
	}
}
