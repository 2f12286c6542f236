package trigger

import krtv1 "krt.dev/krt/api/v1alpha1"

// Trusted says whether a pull request's head runs without an approval
// under pol, by the same test the trigger applies (see trusted). The web
// UI shows it beside each open pull request.
func Trusted(pol *krtv1.PullRequestPolicy, pr *krtv1.PullRequest) bool {
	return pol != nil && trusted(pol, pr)
}
