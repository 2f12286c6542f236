package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

// PullRequest is a PR as the event reports it. Action is one of opened,
// synchronize, reopened, closed.
type PullRequest struct {
	Number        int64
	HeadSHA       string
	HeadRef, Base string
	Author        string
	Fork, Draft   bool
	Action        string
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
		var p struct {
			Action      string
			Number      int64
			PullRequest struct {
				Draft bool
				User  struct{ Login string }
				Head  struct {
					SHA, Ref string
					Repo     struct {
						FullName string `json:"full_name"`
					}
				}
				Base struct {
					Ref  string
					Repo struct {
						FullName string `json:"full_name"`
					}
				}
			} `json:"pull_request"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("a GitHub pull_request payload: %w", err)
		}
		pr := p.PullRequest
		return Event{Kind: KindPullRequest, PullRequest: &PullRequest{
			Number: p.Number, HeadSHA: pr.Head.SHA, HeadRef: pr.Head.Ref, Base: pr.Base.Ref,
			Author: pr.User.Login, Draft: pr.Draft, Action: p.Action,
			Fork: pr.Head.Repo.FullName != pr.Base.Repo.FullName,
		}}, nil
	}
	return Event{Kind: KindIgnored}, nil
}

// gitlabActions maps GitLab's merge request actions onto GitHub's words.
var gitlabActions = map[string]string{"open": "opened", "update": "synchronize", "reopen": "reopened", "close": "closed", "merge": "closed"}

func decodeGitLab(kind string, body []byte) (Event, error) {
	switch kind {
	case "Push Hook":
		var p struct{ Ref, Before, After string }
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("a GitLab push payload: %w", err)
		}
		return pushEvent(p.Ref, p.Before, p.After), nil
	case "Merge Request Hook":
		var p struct {
			User struct{ Username string }
			Attr struct {
				IID             int64 `json:"iid"`
				Action          string
				SourceBranch    string `json:"source_branch"`
				TargetBranch    string `json:"target_branch"`
				SourceProjectID int64  `json:"source_project_id"`
				TargetProjectID int64  `json:"target_project_id"`
				Draft           bool
				LastCommit      struct{ ID string } `json:"last_commit"`
			} `json:"object_attributes"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("a GitLab merge request payload: %w", err)
		}
		a := p.Attr
		return Event{Kind: KindPullRequest, PullRequest: &PullRequest{
			Number: a.IID, HeadSHA: a.LastCommit.ID, HeadRef: a.SourceBranch, Base: a.TargetBranch,
			Author: p.User.Username, Draft: a.Draft, Action: gitlabActions[a.Action],
			Fork: a.SourceProjectID != a.TargetProjectID,
		}}, nil
	}
	return Event{Kind: KindIgnored}, nil
}

// decodeGeneric reads krt's own payload: {"type":"push","ref":...,
// "before":...,"after":...} or {"type":"pullRequest","pullRequest":{...}}.
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
