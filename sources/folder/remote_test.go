package folder

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// countingServer answers every request with a small YAML document and
// counts them: any request at all means kustomize reached the network.
func countingServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\ndata: {a: b}\n"

// Every way a kustomization can name something remote is refused at the
// entry that names it, and nothing is fetched. Every URL is on loopback,
// so a broken check reaches only the test's server.
func TestKustomizeRefusesRemoteReferences(t *testing.T) {
	url, requests := countingServer(t)
	k := func(s string) map[string][]byte {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "URL", url), "HOST", strings.TrimPrefix(url, "http://"))
		return map[string][]byte{"wf/kustomization.yaml": []byte(s), "wf/cm.yaml": []byte(configMap)}
	}
	with := func(files map[string][]byte, name, content string) map[string][]byte {
		files[name] = []byte(strings.ReplaceAll(content, "URL", url))
		return files
	}
	tests := []struct {
		name     string
		files    map[string][]byte
		file     string
		line     int
		contains string
	}{
		{"https resource", k("resources:\n- cm.yaml\n- URL/wf.yaml\n"), "wf/kustomization.yaml", 3, url + "/wf.yaml"},
		{"git base over http", k("resources:\n- URL/org/repo.git//wf?ref=main\n"), "wf/kustomization.yaml", 2, "/org/repo.git"},
		{"git:: base", k("resources: ['git::URL/org/repo']\n"), "wf/kustomization.yaml", 1, "git::"},
		{"scp-style component", k("components: [git@127.0.0.1:org/repo]\n"), "wf/kustomization.yaml", 1, "git@127.0.0.1"},
		{"generator file", k("configMapGenerator:\n- name: c\n  files:\n  - key=URL/f\n"), "wf/kustomization.yaml", 4, "key=" + url},
		{"generator env file", k("secretGenerator:\n- name: c\n  envs: [URL/env]\n"), "wf/kustomization.yaml", 3, url},
		{"patch path", k("resources: [cm.yaml]\npatches:\n- path: HTTP://HOST/p.yaml\n"), "wf/kustomization.yaml", 3, "HTTP://"},
		{"json6902 path", k("resources: [cm.yaml]\npatchesJson6902:\n- target: {kind: ConfigMap, name: local}\n  path: URL/p.json\n"), "wf/kustomization.yaml", 4, url},
		{"replacements path", k("resources: [cm.yaml]\nreplacements:\n- path: URL/r.yaml\n"), "wf/kustomization.yaml", 3, url},
		{"openapi path", k("resources: [cm.yaml]\nopenapi:\n  path: URL/schema.json\n"), "wf/kustomization.yaml", 3, url},
		{"configurations", k("resources: [cm.yaml]\nconfigurations: [URL/c.yaml]\n"), "wf/kustomization.yaml", 2, url},
		{"crds", k("resources: [cm.yaml]\ncrds: [URL/crd.yaml]\n"), "wf/kustomization.yaml", 2, url},
		{"helm chart repo", k("helmCharts: [{name: c, repo: oci://HOST/c}]\n"), "wf/kustomization.yaml", 1, "oci://"},
		{"inline generator", k("resources: [cm.yaml]\ngenerators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: g}\n  files: [URL/f]\n"),
			"wf/kustomization.yaml", 3, url + "/f"},
		{"inline transformer on one line", k("resources: [cm.yaml]\ntransformers:\n- '{apiVersion: builtin, kind: PatchTransformer, metadata: {name: p}, path: URL/p.yaml}'\n"),
			"wf/kustomization.yaml", 3, url + "/p.yaml"},
		{"transformer file", with(k("resources: [cm.yaml]\ntransformers: [t.yaml]\n"), "wf/t.yaml",
			"apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: URL/p.yaml\n"), "wf/t.yaml", 4, url},
		{"second document of a generator file", with(k("generators: [g.yaml]\n"), "wf/g.yaml",
			"apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: a}\n---\napiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: b}\nenvs: [URL/e]\n"),
			"wf/g.yaml", 8, url},
		{"transformer directory", with(k("resources: [cm.yaml]\ntransformers: [./t]\n"), "wf/t/kustomization.yaml", "resources: [p.yaml]\n"),
			"wf/kustomization.yaml", 2, "is a directory"},
		{"remote in a local base", with(k("resources: [../base]\n"), "base/kustomization.yaml", "resources:\n  - cm.yaml\n  - URL/b.yaml\n"),
			"base/kustomization.yaml", 3, url},
		{"alias of an annotation", k("commonAnnotations: {docs: &u URL/wf.yaml}\nresources: [cm.yaml, *u]\n"), "wf/kustomization.yaml", 1, url},
		{"binary scalar", k("resources: [cm.yaml, !!binary " + base64.StdEncoding.EncodeToString([]byte(url+"/b.yaml")) + "]\n"),
			"wf/kustomization.yaml", 1, url},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Build(tc.files, "wf")
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("want a refusal of %s:%d, got %v (built %v)", tc.file, tc.line, err, keys(out))
			}
			if refused.File != tc.file || refused.Line != tc.line || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("refused at %s:%d: %v; want %s:%d mentioning %q", refused.File, refused.Line, err, tc.file, tc.line, tc.contains)
			}
			if n := requests.Load(); n != 0 {
				t.Fatalf("kustomize sent %d requests to the network", n)
			}
		})
	}
}

// URLs that are data, not something to load, build as usual.
func TestKustomizeKeepsURLsThatAreData(t *testing.T) {
	url, requests := countingServer(t)
	files := map[string][]byte{
		"wf/cm.yaml": []byte(configMap),
		"wf/kustomization.yaml": []byte(`resources: [cm.yaml]
commonAnnotations: {docs: URL/docs}
labels: [{pairs: {team: a}}]
configMapGenerator:
- name: links
  literals: [home=URL/home]
patches:
- target: {kind: ConfigMap, name: local}
  patch: '[{"op": "add", "path": "/data/link", "value": "URL/x"}]'
`),
	}
	files["wf/kustomization.yaml"] = []byte(strings.ReplaceAll(string(files["wf/kustomization.yaml"]), "URL", url))
	out, err := Build(files, "wf")
	if err != nil {
		t.Fatal(err)
	}
	got := string(out["wf/kustomization.yaml"+BuiltSuffix])
	for _, want := range []string{"docs: " + url + "/docs", "home: " + url + "/home", "link: " + url + "/x"} {
		if !strings.Contains(got, want) {
			t.Errorf("built output lacks %q:\n%s", want, got)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("kustomize sent %d requests to the network", n)
	}
}

func TestIsRemote(t *testing.T) {
	for ref, want := range map[string]bool{
		"../base":                  false,
		"workflow.yaml":            false,
		"gitlab.com/org/repo":      false,
		"github.com/org/repo":      true,
		"GitHub.com:org/repo":      true,
		"ssh://git@example.com/r":  true,
		"file:///etc":              true,
		"git::https://example.com": true,
		"me@host:repo":             true,
	} {
		if got := isRemote(ref); got != want {
			t.Errorf("isRemote(%q) = %v", ref, got)
		}
	}
}
