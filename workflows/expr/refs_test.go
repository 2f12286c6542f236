package expr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRefs(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want []string
	}{
		{"none", `params.env == "prod"`, nil},
		{"select", `steps.smoke.outputs.result == 'passed'`, []string{"smoke"}},
		{"double quoted", `steps["deploy-staging"].outputs.url`, []string{"deploy-staging"}},
		{"single quoted", `steps['deploy-staging'].phase`, []string{"deploy-staging"}},
		{"sorted dedup", `steps.b.phase == "x" && steps.a.phase == steps.b.status`, []string{"a", "b"}},
		{"dynamic index skipped", `steps[params.name].phase == "x"`, nil},
		{"has macro", `has(steps.build.outputs.digest)`, []string{"build"}},
		{"type error still reported", `steps.a.outputs.x + 1 - "s"`, []string{"a"}},
		{"template", `${{ steps.a.outputs.u }}/${{ steps['b-c'].outputs.v }}`, []string{"a", "b-c"}},
		{"text outside template ignored", `see steps.a in prose ${{ params.x }}`, nil},
		{"other ident", `mysteps.a == foo.steps.b`, nil},
		{"unparsable falls back", `steps.a.outputs.x == (`, []string{"a"}},
		{"unclosed template falls back", `${{ steps.a.phase`, []string{"a"}},
		{"fallback ignores suffix", `(( mysteps.a + steps[ "x" ]`, []string{"x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Refs(tc.s)); diff != "" {
				t.Errorf("Refs(%q) mismatch (-want +got):\n%s", tc.s, diff)
			}
		})
	}
}
