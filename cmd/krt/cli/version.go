package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"
)

// Version is krt's version, set when a release is built:
//
//	go build -ldflags "-X krt.dev/krt/cmd/krt/cli.Version=v1.2.3" ./cmd/krt
//
// Left empty, the build's own record of it is used.
var Version string

// versionTimeout bounds the call for the server's version when the
// kubeconfig sets no --request-timeout: an unreachable server must not
// hang a command that is mostly about the client.
const versionTimeout = 10 * time.Second

// versionInfo is what `krt version -o json|yaml` prints; the server's
// part is the API server's /version, as kubectl prints it.
type versionInfo struct {
	Client clientVersion `json:"clientVersion"`
	Server *version.Info `json:"serverVersion,omitempty"`
}

type clientVersion struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func (r *root) versionCommand() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version [--client] [-o yaml|json]",
		Short: "Print krt's version and the API server's",
		Long: `Version prints krt's version and, unless --client is given, the version of the
API server krt talks to. It exits 1, after printing krt's own version, when
the API server cannot be reached.`,
		Args: cobra.NoArgs,
	}
	output := addOutputFlag(cmd, outYAML, outJSON)
	cmd.RunE = func(*cobra.Command, []string) error {
		v := versionInfo{Client: clientVersion{Version: krtVersion(), GoVersion: runtime.Version(),
			Platform: runtime.GOOS + "/" + runtime.GOARCH}}
		var err error
		if !clientOnly {
			v.Server, err = r.serverVersion()
		}
		if perr := r.printVersion(output.value, &v); perr != nil {
			return perr
		}
		if err != nil {
			return fmt.Errorf("asking the API server for its version (--client skips it): %w", err)
		}
		return nil
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only krt's version, without asking the API server")
	return cmd
}

func (r *root) serverVersion() (*version.Info, error) {
	cfg, err := r.restConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = versionTimeout
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return dc.ServerVersion()
}

func (r *root) printVersion(output string, v *versionInfo) error {
	switch output {
	case outJSON:
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(r.Out, "%s\n", data)
		return err
	case outYAML:
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = r.Out.Write(data)
		return err
	}
	fmt.Fprintf(r.Out, "Client Version: %s\n", v.Client.Version)
	if v.Server != nil {
		fmt.Fprintf(r.Out, "Server Version: %s\n", v.Server.GitVersion)
	}
	return nil
}

func krtVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return versionOf(Version, info)
}

// versionOf picks the version to show: the one set at link time; else
// the module's version, as `go install krt.dev/krt/cmd/krt@v1.2.3`
// records it; else the commit built, when go build recorded it (the
// Makefile's -buildvcs=false stops that); else "devel".
func versionOf(linked string, info *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if info == nil {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
