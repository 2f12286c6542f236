package install

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	krtcluster "krt.dev/krt/controllers/cluster"
)

// The chart's insecureKubeconfig values render krt-controller's opt-in
// flags, which the controller parses into the options that allow each
// kubeconfig field; by default none is rendered, so everything is refused.
func TestHelmInsecureKubeconfigFlags(t *testing.T) {
	for _, a := range managerArgs(t, render(t)) {
		if strings.HasPrefix(a, "--insecure-kubeconfig") {
			t.Errorf("the default chart renders %s", a)
		}
	}
	cases := map[string]krtcluster.KubeconfigOptions{
		"insecureKubeconfig.exec=true":  {Exec: true},
		"insecureKubeconfig.tls=true":   {TLS: true},
		"insecureKubeconfig.files=true": {Files: true},
		"insecureKubeconfig.proxy=true": {Proxy: true},
	}
	for set, want := range cases {
		t.Run(set, func(t *testing.T) {
			var flags []string
			for _, a := range managerArgs(t, render(t, set)) {
				if strings.HasPrefix(a, "--insecure-kubeconfig") {
					flags = append(flags, a)
				}
			}
			var got krtcluster.KubeconfigOptions
			fs := pflag.NewFlagSet("krt-controller", pflag.ContinueOnError)
			got.BindFlags(fs)
			if err := fs.Parse(flags); err != nil || got != want {
				t.Errorf("renders %v, parsed as %+v (%v); want %+v", flags, got, err, want)
			}
		})
	}
}
