package runtimed

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A Run's scopes are its own namespace's, whatever its spec says: a
// tenant who names another namespace's scope reaches only its own.
func TestScopesStayInTheRunsNamespace(t *testing.T) {
	run := func(ns string, scope *krtv1.RunScope) *krtv1.Run {
		return &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns}, Spec: krtv1.RunSpec{Scope: scope}}
	}
	victim := run("team-b", &krtv1.RunScope{Write: "team-b/app/ci/branch/main"})
	attacker := run("team-a", &krtv1.RunScope{Write: "team-b/app/ci/branch/main"})
	if writeScope(attacker) == writeScope(victim) {
		t.Fatalf("a Run of team-a writes team-b's scope %q", writeScope(victim))
	}
	pr := run("team-a", &krtv1.RunScope{Write: "team-a/app/ci/pr/1", Read: []string{"team-a/app/ci/pr/1", "team-a/app/ci/branch/main"}})
	if got := readScopes(pr); !slices.Equal(got, []string{"team-a|team-a/app/ci/pr/1", "team-a|team-a/app/ci/branch/main"}) {
		t.Errorf("read scopes %v", got)
	}
}
