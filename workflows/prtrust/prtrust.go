// Package prtrust is the one test of whether a pull request's head runs
// without an approval. The trigger controller starts runs by it and the
// web UI shows it beside each open pull request, so the two cannot differ.
package prtrust

import (
	"slices"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// HeadDefinitions says whether a PR's own head decides what runs
// (definitionsFrom: head).
func HeadDefinitions(pol *krtv1.PullRequestPolicy) bool {
	return pol != nil && pol.Enabled && pol.DefinitionsFrom == "head"
}

// Trusted reports whether a PR's head may run without an approval. Trust
// follows whoever controls the head commit, as far as a webhook can say:
//
//   - A fork is never trusted: its head is anyone's code.
//   - The head must have been made the head by a known user (pushedBy:
//     who opened, pushed or reopened it); a head found by discovery, or
//     brought by a close, has none and is not trusted.
//   - That user must be in allowedAuthors. An empty list trusts every
//     such head when definitions come from the base branch, since the
//     head is then only event data and pushing a branch there already
//     needs write access; it trusts none with definitionsFrom: head,
//     where the head decides what runs, with which Runtime, Cluster and
//     Secrets: deny by default.
//
// Who opened the PR (author) plays no part: an allowed author's PR whose
// head someone else pushed is that someone's code. A nil policy (pull
// requests not configured) trusts nothing.
func Trusted(pol *krtv1.PullRequestPolicy, pr *krtv1.PullRequest) bool {
	if pol == nil || pr.Fork || pr.PushedBy == "" {
		return false
	}
	if len(pol.AllowedAuthors) == 0 {
		return !HeadDefinitions(pol)
	}
	return slices.Contains(pol.AllowedAuthors, pr.PushedBy)
}
