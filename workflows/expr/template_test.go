package expr

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHasTemplate(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"", false},
		{"plain", false},
		{"${ x }", false},
		{"{{ x }}", false},
		{"a ${{ x }}", true},
		{"${{", true},
	}
	for _, tc := range tests {
		if got := HasTemplate(tc.s); got != tc.want {
			t.Errorf("HasTemplate(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		s       string
		want    []segment
		wantErr string
	}{
		{"plain", []segment{{text: "plain"}}, ""},
		{"${{x}}", []segment{{text: "x", isExpr: true}}, ""},
		{"a ${{  x  }} b", []segment{{text: "a "}, {text: "x", isExpr: true, offset: 2}, {text: " b"}}, ""},
		{"${{a}}${{b}}", []segment{{text: "a", isExpr: true}, {text: "b", isExpr: true, offset: 6}}, ""},
		{"x }} y", []segment{{text: "x }} y"}}, ""},
		{"ab ${{ x", nil, "unclosed ${{ at offset 3"},
		{"${{}}", nil, "empty ${{ }} at offset 0"},
	}
	for _, tc := range tests {
		t.Run(tc.s, func(t *testing.T) {
			got, err := parseTemplate(tc.s)
			checkErr(t, err, tc.wantErr)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(segment{})); diff != "" {
				t.Errorf("parseTemplate(%q) mismatch (-want +got):\n%s", tc.s, diff)
			}
		})
	}
}

func TestInterpolate(t *testing.T) {
	e := mustEnv(t)
	tests := []struct {
		name    string
		s       string
		want    string
		wantErr string
	}{
		{"no template", "echo {{ not cel }}", "echo {{ not cel }}", ""},
		{"string", "deploy to ${{ params.env }}", "deploy to prod", ""},
		{"several", "${{ run.name }}:${{ event.revision.substring(0, 7) }}", "build-x7:0123456", ""},
		{"quoted step", "url=${{ steps['deploy-staging'].outputs.url }}", "url=https://staging.example.com", ""},
		{"int", "pr-${{ event.pullRequest.number }}", "pr-42", ""},
		{"bool", "draft=${{ event.pullRequest.draft }}", "draft=false", ""},
		{"double", "${{ 0.5 }}", "0.5", ""},
		{"null", "[${{ null }}]", "[]", ""},
		{"list json", "${{ [1, 'a&b'] }}", `[1,"a&b"]`, ""},
		{"map json", "${{ item }}", `{"arch":"amd64","os":"linux"}`, ""},
		{"unclosed", "x ${{ params.env", "", "unclosed ${{ at offset 2"},
		{"missing key", "a ${{ steps.lint.outputs.url }}", "", "in ${{ steps.lint.outputs.url }} at offset 2: no such key: url"},
		{"check error", "${{ nope }}", "", "undeclared reference"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Interpolate(context.Background(), tc.s, testVars())
			checkErr(t, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("Interpolate(%q) = %q, want %q", tc.s, got, tc.want)
			}
		})
	}
}

// Strings without templates must not pay for CEL at all.
func TestInterpolateWithoutTemplateSkipsCEL(t *testing.T) {
	e := mustEnv(t)
	if _, err := e.Interpolate(context.Background(), "plain {{ text }}", Vars{}); err != nil {
		t.Fatal(err)
	}
	if n := e.compiles.Load(); n != 0 {
		t.Errorf("compiles = %d, want 0", n)
	}
}
