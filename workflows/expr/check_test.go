package expr

import (
	"strings"
	"testing"
)

func mustEnv(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e, err := NewEnv(opts...)
	if err != nil {
		t.Fatalf("NewEnv: %v", err)
	}
	return e
}

func TestCheckBool(t *testing.T) {
	e := mustEnv(t)
	tests := []struct {
		name    string
		src     string
		wantErr string // substring; empty means success
	}{
		{"output equality", `steps.smoke.outputs.result == 'passed'`, ""},
		{"quoted step name", `steps['deploy-staging'].outputs.url != ""`, ""},
		{"negated dyn", `!event.pullRequest.draft`, ""},
		{"dyn result allowed", `event.pullRequest.draft`, ""},
		{"strings ext", `event.revision.substring(0, 7) == "abcdef1"`, ""},
		{"phase", `steps.build.phase == "Succeeded" && steps.build.status == "success"`, ""},
		{"params and run", `params.env == "prod" || run.phase == "Running"`, ""},
		{"item", `item.os == "linux"`, ""},
		{"has macro", `has(steps.build.outputs.digest)`, ""},
		{"int plus string", `1 + "a" == 2`, "no matching overload"},
		{"string minus int", `"x" - 1 == 2`, "no matching overload"},
		{"undeclared", `foo.bar`, "undeclared reference to 'foo'"},
		{"location reported", `foo.bar`, "undeclared reference to 'foo' (line 1, column 1)"},
		{"issues capped", `a + b + c + d + e == 1`, "(line 1, column 9); and 2 more"},
		{"not bool", `1 + 1`, "expression must be a boolean, got int"},
		{"string result", `"yes"`, "expression must be a boolean, got string"},
		{"syntax", `steps.(`, "Syntax error"},
		{"empty", `  `, "empty expression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.CheckBool(tc.src)
			checkErr(t, err, tc.wantErr)
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error should be a single line, got %q", err)
			}
		})
	}
}

func TestCheckTemplate(t *testing.T) {
	e := mustEnv(t)
	tests := []struct {
		name    string
		s       string
		wantErr string
	}{
		{"no template", `plain text with } and {{ braces`, ""},
		{"single", `${{ params.image }}`, ""},
		{"any result type", `n=${{ 1 + 2 }} l=${{ [1, 2] }}`, ""},
		{"unclosed", `abc ${{ params.x `, "unclosed ${{ at offset 4"},
		{"second unclosed", `${{ params.a }} ${{ params.b`, "unclosed ${{ at offset 16"},
		{"empty", `x ${{  }}`, "empty ${{ }} at offset 2"},
		{"type error named", `a ${{ params.x }} b ${{ 1 + "a" }}`, `in ${{ 1 + "a" }} at offset 20: found no matching overload`},
		{"undeclared", `${{ foo }}`, "undeclared reference to 'foo'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, e.CheckTemplate(tc.s), tc.wantErr)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("expected error containing %q, got nil", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
