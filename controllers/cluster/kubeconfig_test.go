package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfig is a self-contained kubeconfig, as a tenant should write it,
// changed by edit.
func kubeconfig(t *testing.T, edit func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, all *clientcmdapi.Config)) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["remote"] = &clientcmdapi.Cluster{Server: "https://remote.example:6443", CertificateAuthorityData: []byte("ca")}
	cfg.AuthInfos["ci"] = &clientcmdapi.AuthInfo{Token: "inline-token"}
	cfg.Contexts["remote"] = &clientcmdapi.Context{Cluster: "remote", AuthInfo: "ci"}
	cfg.CurrentContext = "remote"
	if edit != nil {
		edit(cfg.Clusters["remote"], cfg.AuthInfos["ci"], cfg)
	}
	raw, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A path that is never created: a refused field must fail on its name,
// not on a missing file.
const nowhere = "/nonexistent/krt-test/secret"

// Each field that reaches beyond the kubeconfig is refused, naming the
// field and the flag that allows it; with that flag it reaches the
// rest.Config.
func TestKubeconfigRefusesFieldsUnlessAllowed(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("file-"+name), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		field, flag string
		refused     func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo)
		allowed     func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) // the same field, usable
		opts        KubeconfigOptions
		got         func(*rest.Config) bool
	}{
		{field: `user "ci" sets exec`, flag: FlagInsecureExec, opts: KubeconfigOptions{Exec: true},
			refused: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { u.Exec = execConfig() },
			got:     func(r *rest.Config) bool { return r.ExecProvider != nil && r.ExecProvider.Command == "touch" }},
		{field: `user "ci" sets auth-provider`, flag: FlagInsecureExec, opts: KubeconfigOptions{Exec: true},
			refused: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token = ""
				u.AuthProvider = &clientcmdapi.AuthProviderConfig{Name: "oidc", Config: map[string]string{"idp-issuer-url": "https://idp.example"}}
			},
			// ... and never writes into the host's kubeconfig.
			got: func(r *rest.Config) bool {
				return r.AuthProvider != nil && r.AuthProvider.Name == "oidc" && r.AuthConfigPersister == nil
			}},
		{field: `user "ci" sets tokenFile`, flag: FlagInsecureFiles, opts: KubeconfigOptions{Files: true},
			refused: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { u.Token, u.TokenFile = "", nowhere },
			allowed: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { u.Token, u.TokenFile = "", file("token") },
			got:     func(r *rest.Config) bool { return r.BearerToken == "file-token" && r.BearerTokenFile != "" }},
		{field: `user "ci" sets client-certificate`, flag: FlagInsecureFiles, opts: KubeconfigOptions{Files: true},
			refused: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token, u.ClientCertificate, u.ClientKeyData = "", nowhere, []byte("key")
			},
			allowed: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token, u.ClientCertificate, u.ClientKeyData = "", file("cert"), []byte("key")
			},
			got: func(r *rest.Config) bool { return r.CertFile != "" }},
		{field: `user "ci" sets client-key`, flag: FlagInsecureFiles, opts: KubeconfigOptions{Files: true},
			refused: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token, u.ClientCertificateData, u.ClientKey = "", []byte("cert"), nowhere
			},
			allowed: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token, u.ClientCertificateData, u.ClientKey = "", []byte("cert"), file("key")
			},
			got: func(r *rest.Config) bool { return r.KeyFile != "" }},
		{field: `cluster "remote" sets certificate-authority`, flag: FlagInsecureFiles, opts: KubeconfigOptions{Files: true},
			refused: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
				c.CertificateAuthorityData, c.CertificateAuthority = nil, nowhere
			},
			allowed: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
				c.CertificateAuthorityData, c.CertificateAuthority = nil, file("ca")
			},
			got: func(r *rest.Config) bool { return r.CAFile != "" }},
		{field: `cluster "remote" sets proxy-url`, flag: FlagInsecureProxy, opts: KubeconfigOptions{Proxy: true},
			refused: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) { c.ProxyURL = "http://proxy.example:3128" },
			got:     func(r *rest.Config) bool { return r.Proxy != nil }},
		{field: `cluster "remote" sets insecure-skip-tls-verify`, flag: FlagInsecureTLS, opts: KubeconfigOptions{TLS: true},
			refused: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
				c.CertificateAuthorityData, c.InsecureSkipTLSVerify = nil, true
			},
			got: func(r *rest.Config) bool { return r.Insecure }},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			refused := kubeconfig(t, func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Config) { tc.refused(c, u) })
			_, err := RESTConfigFromKubeconfig(refused, KubeconfigOptions{})
			want := tc.field + ", which "
			if !IsInsecureKubeconfig(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--"+tc.flag) {
				t.Fatalf("refusing: got %v, want an InsecureKubeconfigError with %q and --%s", err, want, tc.flag)
			}
			// Another flag does not allow it.
			other := KubeconfigOptions{Exec: !tc.opts.Exec, TLS: !tc.opts.TLS, Files: !tc.opts.Files, Proxy: !tc.opts.Proxy}
			if _, err := RESTConfigFromKubeconfig(refused, other); !IsInsecureKubeconfig(err) {
				t.Errorf("with every other flag: got %v, want a refusal", err)
			}
			allowed := refused
			if tc.allowed != nil {
				allowed = kubeconfig(t, func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Config) { tc.allowed(c, u) })
			}
			cfg, err := RESTConfigFromKubeconfig(allowed, tc.opts)
			if err != nil {
				t.Fatalf("with --%s: %v", tc.flag, err)
			}
			if !tc.got(cfg) {
				t.Errorf("with --%s the field did not reach the rest.Config: %+v", tc.flag, cfg)
			}
		})
	}
}

func execConfig() *clientcmdapi.ExecConfig {
	return &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: "touch",
		Args: []string{"/tmp/pwned"}, InteractiveMode: clientcmdapi.NeverExecInteractiveMode}
}

func TestKubeconfigInlineAndUnreached(t *testing.T) {
	t.Run("inline credentials", func(t *testing.T) {
		cfg, err := RESTConfigFromKubeconfig(kubeconfig(t, nil), KubeconfigOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != "https://remote.example:6443" || cfg.BearerToken != "inline-token" || string(cfg.CAData) != "ca" {
			t.Errorf("got host %q token %q CA %q", cfg.Host, cfg.BearerToken, cfg.CAData)
		}
	})
	t.Run("every refused field is named", func(t *testing.T) {
		raw := kubeconfig(t, func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Config) {
			u.Token, u.TokenFile, u.Exec = "", nowhere, execConfig()
			c.ProxyURL = "http://proxy.example:3128"
		})
		_, err := RESTConfigFromKubeconfig(raw, KubeconfigOptions{})
		for _, f := range []string{"sets exec", "sets tokenFile", "sets proxy-url"} {
			if err == nil || !strings.Contains(err.Error(), f) {
				t.Errorf("got %v, want it to say %q", err, f)
			}
		}
	})
	// Entries the current context does not reach are never used: they
	// neither refuse the kubeconfig nor reach the rest.Config.
	t.Run("an unreached user with exec", func(t *testing.T) {
		raw := kubeconfig(t, func(_ *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, all *clientcmdapi.Config) {
			all.AuthInfos["other"] = &clientcmdapi.AuthInfo{Exec: execConfig()}
			all.Contexts["other"] = &clientcmdapi.Context{Cluster: "remote", AuthInfo: "other"}
		})
		cfg, err := RESTConfigFromKubeconfig(raw, KubeconfigOptions{})
		if err != nil || cfg.ExecProvider != nil {
			t.Errorf("got %v, exec %v; want the current context's inline user", err, cfg)
		}
	})
	for name, edit := range map[string]func(*clientcmdapi.Config){
		"no current-context":       func(all *clientcmdapi.Config) { all.CurrentContext = "" },
		"an unknown context":       func(all *clientcmdapi.Config) { all.CurrentContext = "gone" },
		"a context's lost user":    func(all *clientcmdapi.Config) { delete(all.AuthInfos, "ci") },
		"a context's lost cluster": func(all *clientcmdapi.Config) { delete(all.Clusters, "remote") },
	} {
		t.Run(name, func(t *testing.T) {
			raw := kubeconfig(t, func(_ *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, all *clientcmdapi.Config) { edit(all) })
			if _, err := RESTConfigFromKubeconfig(raw, KubeconfigOptions{}); err == nil || IsInsecureKubeconfig(err) {
				t.Errorf("got %v, want an error that is not a refusal", err)
			}
		})
	}
}
