// Package argocd holds krt's Argo CD health checks: one health.lua per kind
// under krt.dev/<Kind>/, the layout of Argo CD's resource_customizations,
// and the argocd-cm patch that installs them (argocd-cm-patch.yaml, which
// TestPatchIsInSync keeps equal to Patch()).
package argocd

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

//go:embed krt.dev
var scripts embed.FS

// Group is the API group of every kind here.
const Group = "krt.dev"

// Kinds lists the kinds with a health check, sorted.
func Kinds() []string {
	entries, err := fs.ReadDir(scripts, Group)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Name())
	}
	sort.Strings(kinds)
	return kinds
}

// Script is kind's health.lua.
func Script(kind string) (string, error) {
	b, err := scripts.ReadFile(path.Join(Group, kind, "health.lua"))
	return string(b), err
}

// Patch renders the argocd-cm ConfigMap patch with every health check,
// under the keys Argo CD reads: resource.customizations.health.<group>_<Kind>.
func Patch() ([]byte, error) {
	data := map[string]string{}
	for _, k := range Kinds() {
		s, err := Script(k)
		if err != nil {
			return nil, err
		}
		data["resource.customizations.health."+Group+"_"+k] = s
	}
	cm := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": "argocd-cm", "namespace": "argocd"},
		"data":       data,
	}
	out, err := yaml.Marshal(cm)
	if err != nil {
		return nil, err
	}
	header := "# Generated from config/argocd/krt.dev/*/health.lua; TestPatchIsInSync checks it.\n" +
		"# kubectl -n argocd patch configmap argocd-cm --patch-file config/argocd/argocd-cm-patch.yaml\n"
	return append([]byte(header), out...), nil
}

// Health runs kind's health check on obj, an object as the API server
// returns it (unstructured JSON), as Argo CD does: obj is a global table.
func Health(kind string, obj map[string]any) (status, message string, err error) {
	src, err := Script(kind)
	if err != nil {
		return "", "", err
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer l.Close()
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(src); err != nil {
		return "", "", fmt.Errorf("%s health.lua: %w", kind, err)
	}
	hs, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("%s health.lua returned %s, not a table", kind, l.Get(-1).Type())
	}
	return lua.LVAsString(hs.RawGetString("status")), lua.LVAsString(hs.RawGetString("message")), nil
}

// toLua converts decoded JSON to Lua values: objects and arrays become
// tables (arrays 1-based), as Argo CD's own conversion does.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case map[string]any:
		t := l.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(l, e))
		}
		return t
	case []any:
		t := l.NewTable()
		for i, e := range v {
			t.RawSetInt(i+1, toLua(l, e))
		}
		return t
	default:
		return lua.LString(strings.TrimSpace(fmt.Sprint(v)))
	}
}
