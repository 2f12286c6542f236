package trigger

import (
	"bytes"
	"fmt"
	"net/url"
	"text/template"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// RunURL is the link a commit status carries to its run, from the
// --run-url template: a commit status is public on a public repository,
// so it says where to look (the web UI, or a page that runs `kubectl get
// wfr`), never what a step printed.
type RunURL struct{ tmpl *template.Template }

// runURLFields are what a --run-url template can use.
type runURLFields struct {
	Namespace, Name, Workflow, UID string
}

// ParseRunURL parses a --run-url template, such as
// https://krt.example.com/runs/{{.Namespace}}/{{.Name}}. It must give an
// absolute http or https URL; an empty template gives no link.
func ParseRunURL(text string) (*RunURL, error) {
	if text == "" {
		return &RunURL{}, nil
	}
	tmpl, err := template.New("run-url").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("--run-url: %w", err)
	}
	u := &RunURL{tmpl: tmpl}
	sample, err := u.expand(runURLFields{Namespace: "ns", Name: "run", Workflow: "wf", UID: "uid"})
	if err != nil {
		return nil, fmt.Errorf("--run-url: %w (fields: .Namespace, .Name, .Workflow, .UID)", err)
	}
	if p, err := url.Parse(sample); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return nil, fmt.Errorf("--run-url %q: want an absolute http(s) URL, got %q", text, sample)
	}
	return u, nil
}

// For is the link to a run; empty without a template.
func (u *RunURL) For(wr *krtv1.WorkflowRun) string {
	if u == nil || u.tmpl == nil {
		return ""
	}
	out, err := u.expand(runURLFields{Namespace: url.PathEscape(wr.Namespace), Name: url.PathEscape(wr.Name),
		Workflow: url.PathEscape(wr.Spec.Workflow), UID: string(wr.UID)})
	if err != nil {
		return "" // ParseRunURL ran the template once: names cannot break it
	}
	return out
}

func (u *RunURL) expand(f runURLFields) (string, error) {
	var b bytes.Buffer
	if err := u.tmpl.Execute(&b, f); err != nil {
		return "", err
	}
	return b.String(), nil
}
