package workflow

import (
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"build":                              "build",
		"deploy[prod-eu]":                    "deploy_prod-eu",
		"test[os=linux,v=1.2]":               "test_os_linux_v_1.2",
		"a[" + strings.Repeat("x", 80) + "]": "",
	} {
		got := labelValue(in)
		if want != "" && got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("labelValue(%q) = %q is not a label value: %v", in, got, errs)
		}
	}
}

func TestClip(t *testing.T) {
	s := strings.Repeat("é", 200) // 400 bytes
	got := clip(s, maxNodeMessage)
	if len(got) > maxNodeMessage || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("clip gave %d bytes, valid %v: %q", len(got), utf8.ValidString(got), got)
	}
	if clip("short", 10) != "short" {
		t.Error("a short message changed")
	}
}

func TestBoundOutputs(t *testing.T) {
	big := strings.Repeat("v", maxNodeOutputs/2)
	out, dropped := boundOutputs(map[string]string{"a": big, "b": big, "c": "small"})
	if _, ok := out["a"]; !ok || out["c"] != "small" {
		t.Errorf("kept %v", keys(out))
	}
	if len(dropped) != 1 || dropped[0] != "b" {
		t.Errorf("dropped %v, want [b]", dropped)
	}
	if out, dropped := boundOutputs(nil); out != nil || dropped != nil {
		t.Error("nil outputs should stay nil")
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
