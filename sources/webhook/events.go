package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Kinds of event the receiver acts on.
const (
	KindPush        = "push"
	KindPullRequest = "pullRequest"
	// KindIgnored is any other event (ping, issue, tag deletion...).
	KindIgnored = "ignored"
)

// Event is a decoded webhook, in krt's terms.
type Event struct {
	Kind        string
	Push        *Push
	PullRequest *PullRequest
}

// Push is a branch that moved.
type Push struct {
	Branch        string
	Before, After string
}

// PullRequest is a PR event as the provider reports it. Action is one of
// opened, synchronize, reopened, closed: the events that change a PR's
// head or whether it is open. Every other action (a label, a title, an
// assignee, a review) is KindIgnored, so it can change nothing.
type PullRequest struct {
	Number  int64  `json:"number"`
	HeadSHA string `json:"headSHA"`
	HeadRef string `json:"headRef"`
	Base    string `json:"base"`
	// Author opened the PR, when the event says who did.
	Author string `json:"author"`
	// Sender caused this event: GitHub's sender, GitLab's user. For
	// opened, synchronize and reopened, that is who made HeadSHA the
	// head, which is whom trust follows.
	Sender string `json:"sender"`
	Fork   bool   `json:"fork"`
	Draft  bool   `json:"draft"`
	Action string `json:"action"`
	// Time is the provider's updated_at of the PR, from the signed body;
	// zero when the payload has none.
	Time time.Time `json:"time"`
}

// Actions a PR event may carry.
const (
	ActionOpened      = "opened"
	ActionSynchronize = "synchronize"
	ActionReopened    = "reopened"
	ActionClosed      = "closed"
)

// knownAction reports whether a PR action is one krt acts on.
func knownAction(a string) bool {
	switch a {
	case ActionOpened, ActionSynchronize, ActionReopened, ActionClosed:
		return true
	}
	return false
}

// Decode reads an event of a verified provider.
func Decode(provider string, h http.Header, body []byte) (Event, error) {
	switch provider {
	case GitHub:
		return decodeGitHub(h.Get("X-GitHub-Event"), body)
	case GitLab:
		return decodeGitLab(h.Get("X-Gitlab-Event"), body)
	case Generic:
		return decodeGeneric(body)
	}
	return Event{}, fmt.Errorf("unknown provider %q", provider)
}

func decodeGitHub(kind string, body []byte) (Event, error) {
	switch kind {
	case "push":
		var p struct {
			Ref, Before, After string
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("a GitHub push payload: %w", err)
		}
		return pushEvent(p.Ref, p.Before, p.After), nil
	case "pull_request":
		return decodeGitHubPR(body)
	}
	return Event{Kind: KindIgnored}, nil
}

type githubRepo struct {
	FullName string `json:"full_name"`
}

func decodeGitHubPR(body []byte) (Event, error) {
	var p struct {
		Action      string
		Number      int64
		Sender      struct{ Login string }
		PullRequest struct {
			Draft     bool
			UpdatedAt string `json:"updated_at"`
			User      struct{ Login string }
			Head      struct {
				SHA, Ref string
				Repo     *githubRepo
			}
			Base struct {
				Ref  string
				Repo *githubRepo
			}
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("a GitHub pull_request payload: %w", err)
	}
	if !knownAction(p.Action) {
		return Event{Kind: KindIgnored}, nil
	}
	pr := p.PullRequest
	return Event{Kind: KindPullRequest, PullRequest: &PullRequest{
		Number: p.Number, HeadSHA: pr.Head.SHA, HeadRef: pr.Head.Ref, Base: pr.Base.Ref,
		Author: pr.User.Login, Sender: p.Sender.Login, Draft: pr.Draft, Action: p.Action,
		// A deleted fork has no head repository: still a fork.
		Fork: pr.Head.Repo == nil || pr.Base.Repo == nil || pr.Head.Repo.FullName == "" ||
			!strings.EqualFold(pr.Head.Repo.FullName, pr.Base.Repo.FullName),
		Time: parseTime(pr.UpdatedAt),
	}}, nil
}

func decodeGitLab(kind string, body []byte) (Event, error) {
	switch kind {
	case "Push Hook":
		var p struct{ Ref, Before, After string }
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("a GitLab push payload: %w", err)
		}
		return pushEvent(p.Ref, p.Before, p.After), nil
	case "Merge Request Hook":
		return decodeGitLabMR(body)
	}
	return Event{Kind: KindIgnored}, nil
}

// gitlabAction maps GitLab's merge request actions onto GitHub's words.
// "update" is a new head only with oldrev, which GitLab sets when commits
// were pushed; without it, it is a label, title, assignee or draft edit.
// Approvals and actions GitLab adds later are ignored.
func gitlabAction(action, oldrev string) string {
	switch action {
	case "open":
		return ActionOpened
	case "reopen":
		return ActionReopened
	case "close", "merge":
		return ActionClosed
	case "update":
		if oldrev != "" {
			return ActionSynchronize
		}
	}
	return ""
}

func decodeGitLabMR(body []byte) (Event, error) {
	var p struct {
		User struct {
			ID       int64
			Username string
		}
		Attr struct {
			IID             int64 `json:"iid"`
			Action          string
			OldRev          string `json:"oldrev"`
			AuthorID        int64  `json:"author_id"`
			SourceBranch    string `json:"source_branch"`
			TargetBranch    string `json:"target_branch"`
			SourceProjectID int64  `json:"source_project_id"`
			TargetProjectID int64  `json:"target_project_id"`
			Draft           bool
			UpdatedAt       string              `json:"updated_at"`
			LastCommit      struct{ ID string } `json:"last_commit"`
		} `json:"object_attributes"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("a GitLab merge request payload: %w", err)
	}
	a := p.Attr
	action := gitlabAction(a.Action, a.OldRev)
	if action == "" {
		return Event{Kind: KindIgnored}, nil
	}
	author := ""
	if a.AuthorID != 0 && a.AuthorID == p.User.ID {
		author = p.User.Username // the hook names only the author's id
	}
	return Event{Kind: KindPullRequest, PullRequest: &PullRequest{
		Number: a.IID, HeadSHA: a.LastCommit.ID, HeadRef: a.SourceBranch, Base: a.TargetBranch,
		Author: author, Sender: p.User.Username, Draft: a.Draft, Action: action,
		// Unknown projects are a fork: only the same known one is not.
		Fork: a.SourceProjectID == 0 || a.SourceProjectID != a.TargetProjectID,
		Time: parseTime(a.UpdatedAt),
	}}, nil
}

// timeLayouts are the ways GitHub and GitLab write updated_at.
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"}

// parseTime reads a provider's timestamp; zero when there is none or it
// reads no known way.
func parseTime(s string) time.Time {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// decodeGeneric reads krt's own payload: {"type":"push","ref":...,
// "before":...,"after":...} or {"type":"pullRequest","pullRequest":{...}}
// with PullRequest's fields. The sender holds the secret, so it is
// believed as GitHub is: "sender" is whom trust follows, and a PR without
// one is never trusted.
func decodeGeneric(body []byte) (Event, error) {
	var p struct {
		Type               string
		Ref, Before, After string
		PullRequest        *PullRequest
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("a generic payload: %w", err)
	}
	switch p.Type {
	case KindPush:
		return pushEvent(p.Ref, p.Before, p.After), nil
	case KindPullRequest:
		if p.PullRequest == nil {
			return Event{}, fmt.Errorf("a generic pullRequest payload without pullRequest")
		}
		if !knownAction(p.PullRequest.Action) {
			return Event{Kind: KindIgnored}, nil
		}
		return Event{Kind: KindPullRequest, PullRequest: p.PullRequest}, nil
	}
	return Event{Kind: KindIgnored}, nil
}

func pushEvent(ref, before, after string) Event {
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return Event{Kind: KindIgnored} // a tag; the interval finds tags
	}
	return Event{Kind: KindPush, Push: &Push{Branch: branch, Before: before, After: after}}
}
