package trigger

import (
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"apps/web/**", "apps/web/main.go", true},
		{"apps/web/**", "apps/web/a/b/c.go", true},
		{"apps/web/**", "apps/api/main.go", false},
		{"**/*.md", "README.md", true},
		{"**/*.md", "docs/x/guide.md", true},
		{"**/*.md", "docs/guide.txt", false},
		{"apps/*/deploy.yaml", "apps/web/deploy.yaml", true},
		{"apps/*/deploy.yaml", "apps/web/x/deploy.yaml", false},
		{"apps/**/deploy.yaml", "apps/deploy.yaml", true},
		{"/src/**", "src/a", true},
		{"release/**", "release/v1", true},
		{"main", "main", true},
		{"main", "maint", false},
		{"[", "[", false}, // a bad pattern matches nothing
		{"**/**/**/**/**/**/**/**/**/**/x", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/y", false},
	}
	for _, tc := range tests {
		if got := matchGlob(tc.pattern, tc.name); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestPushMatches(t *testing.T) {
	trig := &krtv1.PushTrigger{Branches: []string{"main"}, Paths: []string{"apps/web/**"}}
	tests := []struct {
		name string
		push krtv1.PushEvent
		want bool
	}{
		{"matching path", krtv1.PushEvent{Branch: "main", ChangedPaths: []string{"README.md", "apps/web/x.go"}}, true},
		{"other path", krtv1.PushEvent{Branch: "main", ChangedPaths: []string{"apps/api/x.go"}}, false},
		{"other branch", krtv1.PushEvent{Branch: "dev", ChangedPaths: []string{"apps/web/x.go"}}, false},
		{"no branch known", krtv1.PushEvent{ChangedPaths: []string{"apps/web/x.go"}}, false},
		{"paths cut short", krtv1.PushEvent{Branch: "main", PathsTruncated: true}, true},
	}
	for _, tc := range tests {
		if got := pushMatches(trig, &tc.push); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if !pushMatches(&krtv1.PushTrigger{}, &krtv1.PushEvent{}) {
		t.Error("an empty push trigger must match any push")
	}
}

func TestPRMatchesAndTrust(t *testing.T) {
	pol := &krtv1.PullRequestPolicy{Enabled: true, Branches: []string{"main"}}
	trig := &krtv1.PullRequestTrigger{}
	for _, tc := range []struct {
		pr   krtv1.PullRequest
		want bool
	}{
		{krtv1.PullRequest{Base: "main", Action: "opened"}, true},
		{krtv1.PullRequest{Base: "main"}, true},
		{krtv1.PullRequest{Base: "main", Action: "closed"}, false},
		{krtv1.PullRequest{Base: "dev", Action: "opened"}, false},
	} {
		if got := prMatches(trig, pol, &tc.pr); got != tc.want {
			t.Errorf("prMatches(%+v) = %v", tc.pr, got)
		}
	}
	if prMatches(&krtv1.PullRequestTrigger{Types: []string{"opened"}}, pol, &krtv1.PullRequest{Base: "main", Action: "synchronize"}) {
		t.Error("types [opened] must not run on synchronize")
	}
	open := &krtv1.PullRequestPolicy{}
	listed := &krtv1.PullRequestPolicy{AllowedAuthors: []string{"alice"}}
	openHead := &krtv1.PullRequestPolicy{Enabled: true, DefinitionsFrom: "head"}
	listedHead := &krtv1.PullRequestPolicy{Enabled: true, DefinitionsFrom: "head", AllowedAuthors: []string{"alice"}}
	for _, tc := range []struct {
		pol  *krtv1.PullRequestPolicy
		pr   krtv1.PullRequest
		want bool
	}{
		{open, krtv1.PullRequest{PushedBy: "bob"}, true},
		{open, krtv1.PullRequest{PushedBy: "bob", Fork: true}, false},
		{open, krtv1.PullRequest{}, false},
		{listed, krtv1.PullRequest{PushedBy: "alice"}, true},
		{listed, krtv1.PullRequest{PushedBy: "alice", Fork: true}, false},
		{listed, krtv1.PullRequest{PushedBy: "bob"}, false},
		// Trust follows the head's pusher, not the PR's author.
		{listed, krtv1.PullRequest{Author: "alice", PushedBy: "bob"}, false},
		{listed, krtv1.PullRequest{Author: "alice"}, false},
		{listed, krtv1.PullRequest{Author: "bob", PushedBy: "alice"}, true},
		// A head that defines what runs is trusted only by name.
		{openHead, krtv1.PullRequest{PushedBy: "bob"}, false},
		{listedHead, krtv1.PullRequest{PushedBy: "alice"}, true},
		{listedHead, krtv1.PullRequest{PushedBy: "bob"}, false},
	} {
		if got := trusted(tc.pol, &tc.pr); got != tc.want {
			t.Errorf("trusted(%+v, %+v) = %v", tc.pol, tc.pr, got)
		}
	}
}

func TestShortSHA(t *testing.T) {
	for in, want := range map[string]string{"ABCDEF0123": "abcdef0", "ab": "ab", "": "unknown", "--": "unknown"} {
		if got := shortSHA(in); got != want {
			t.Errorf("shortSHA(%q) = %q, want %q", in, got, want)
		}
	}
}
