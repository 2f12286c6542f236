package argocd

import (
	"bytes"
	"os"
	"testing"
)

// TestPatchIsInSync keeps the checked-in argocd-cm patch equal to the .lua
// files. UPDATE=1 rewrites it.
func TestPatchIsInSync(t *testing.T) {
	want, err := Patch()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE") == "1" {
		if err := os.WriteFile("argocd-cm-patch.yaml", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("argocd-cm-patch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("config/argocd/argocd-cm-patch.yaml is out of date with the health.lua files; rerun this test with UPDATE=1")
	}
}

// TestEveryScriptHandlesAnObjectWithoutStatus: a just-created object is
// Progressing, never a Lua error.
func TestEveryScriptHandlesAnObjectWithoutStatus(t *testing.T) {
	for _, kind := range Kinds() {
		status, _, err := Health(kind, map[string]any{"metadata": map[string]any{"name": "x", "generation": int64(1)}, "spec": map[string]any{}})
		if err != nil || status != "Progressing" {
			t.Errorf("%s without status: %q, %v; want Progressing", kind, status, err)
		}
	}
}
