package trigger

import (
	"path"
	"slices"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/prtrust"
)

// matchGlob matches a slash-separated name against a pattern in which
// each segment is a path.Match pattern and "**" stands for any number of
// segments, none included. It is a table over segment positions, so a
// pattern of many "**" costs len(pattern)*len(name), never more.
func matchGlob(pattern, name string) bool {
	pat := strings.Split(strings.Trim(pattern, "/"), "/")
	segs := strings.Split(strings.Trim(name, "/"), "/")
	// ok[j] says whether pat[i:] matches segs[j:], for the current i,
	// filled from the last pattern segment back.
	ok := make([]bool, len(segs)+1)
	ok[len(segs)] = true
	for i := len(pat) - 1; i >= 0; i-- {
		next := make([]bool, len(segs)+1)
		for j := len(segs); j >= 0; j-- {
			switch {
			case pat[i] == "**":
				// Match nothing here, or eat one segment and stay.
				next[j] = ok[j] || (j < len(segs) && next[j+1])
			case j < len(segs):
				m, err := path.Match(pat[i], segs[j])
				next[j] = err == nil && m && ok[j+1]
			}
		}
		ok = next
	}
	return ok[0]
}

// matchAny reports whether name matches one of the patterns; no patterns
// match everything.
func matchAny(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	return slices.ContainsFunc(patterns, func(p string) bool { return matchGlob(p, name) })
}

// pushMatches applies on.push's branches and paths to a push. A push
// whose changed paths were cut short may have changed anything, so a
// paths filter lets it through.
func pushMatches(t *krtv1.PushTrigger, p *krtv1.PushEvent) bool {
	if len(t.Branches) > 0 && (p.Branch == "" || !matchAny(t.Branches, p.Branch)) {
		return false
	}
	if len(t.Paths) == 0 || p.PathsTruncated {
		return true
	}
	return slices.ContainsFunc(p.ChangedPaths, func(f string) bool { return matchAny(t.Paths, f) })
}

// defaultPRTypes are the PR actions that run a workflow that names none.
var defaultPRTypes = []string{"opened", "synchronize", "reopened"}

// prMatches applies on.pullRequest and the repository's policy to a PR's
// last event. A closed PR runs nothing, whatever the types say.
func prMatches(t *krtv1.PullRequestTrigger, pol *krtv1.PullRequestPolicy, pr *krtv1.PullRequest) bool {
	action := pr.Action
	if action == "" {
		action = "opened" // discovery before an action was recorded
	}
	if action == "closed" {
		return false
	}
	types := t.Types
	if len(types) == 0 {
		types = defaultPRTypes
	}
	return slices.Contains(types, action) && matchAny(t.Branches, pr.Base) && matchAny(pol.Branches, pr.Base)
}

// trusted reports whether a PR's head may run without an approval: see
// prtrust.Trusted, which the web UI shows too.
func trusted(pol *krtv1.PullRequestPolicy, pr *krtv1.PullRequest) bool {
	return prtrust.Trusted(pol, pr)
}

// shortSHA is the first 7 characters of a commit id that are safe in an
// object name.
func shortSHA(sha string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(sha) {
		if ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') {
			b.WriteRune(r)
		}
		if b.Len() == 7 {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
