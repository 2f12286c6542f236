// Package provider reports a workflow's result to the git provider a pull
// request came from, as a commit status on its head: GitHub through the
// go-github client, GitLab through its commit status API.
package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v75/github"
)

// States of a commit status, in GitHub's words; GitLab's are mapped.
const (
	Pending = "pending"
	Success = "success"
	Failure = "failure"
	Error   = "error"
)

// Status is one workflow's result on one commit.
type Status struct {
	SHA         string
	Context     string // "krt/<workflow>"
	State       string
	Description string
	TargetURL   string
}

// Reporter sets commit statuses.
type Reporter interface {
	SetStatus(ctx context.Context, s Status) error
}

// New returns the Reporter for a provider ("github", "gitlab"), or nil for
// one that has no commit statuses (generic). repoURL is the repository's
// clone URL; apiURL overrides the provider's API.
func New(kind, repoURL, apiURL, token string, hc *http.Client) (Reporter, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	u, err := url.Parse(repoURL)
	if err != nil {
		return nil, err
	}
	project := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	switch kind {
	case "github":
		owner, repo, ok := strings.Cut(project, "/")
		if !ok {
			return nil, fmt.Errorf("%s is not a GitHub owner/repo URL", repoURL)
		}
		c := github.NewClient(hc).WithAuthToken(token)
		if apiURL != "" {
			if c, err = c.WithEnterpriseURLs(apiURL, apiURL); err != nil {
				return nil, err
			}
		}
		return &githubReporter{c: c, owner: owner, repo: repo}, nil
	case "gitlab":
		if apiURL == "" {
			apiURL = u.Scheme + "://" + u.Host + "/api/v4"
		}
		return &gitlabReporter{hc: hc, api: strings.TrimSuffix(apiURL, "/"), project: project, token: token}, nil
	}
	return nil, nil
}

type githubReporter struct {
	c           *github.Client
	owner, repo string
}

func (g *githubReporter) SetStatus(ctx context.Context, s Status) error {
	_, _, err := g.c.Repositories.CreateStatus(ctx, g.owner, g.repo, s.SHA, &github.RepoStatus{
		State: &s.State, Context: &s.Context, Description: &s.Description, TargetURL: optional(s.TargetURL),
	})
	if err != nil {
		return fmt.Errorf("setting the GitHub commit status of %s/%s@%s: %w", g.owner, g.repo, s.SHA, err)
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type gitlabReporter struct {
	hc           *http.Client
	api, project string
	token        string
}

// gitlabStates maps GitHub's words onto GitLab's.
var gitlabStates = map[string]string{Pending: "running", Success: "success", Failure: "failed", Error: "failed"}

func (g *gitlabReporter) SetStatus(ctx context.Context, s Status) error {
	body, err := json.Marshal(map[string]string{
		"state": gitlabStates[s.State], "name": s.Context, "description": s.Description, "target_url": s.TargetURL,
	})
	if err != nil {
		return err
	}
	u := fmt.Sprintf("%s/projects/%s/statuses/%s", g.api, url.PathEscape(g.project), s.SHA)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("PRIVATE-TOKEN", g.token)
	resp, err := g.hc.Do(req)
	if err != nil {
		return fmt.Errorf("setting the GitLab commit status of %s@%s: %w", g.project, s.SHA, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("setting the GitLab commit status of %s@%s: %s: %s", g.project, s.SHA, resp.Status, msg)
	}
	return nil
}
