package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// page is what every page's layout shows around its content.
type page struct {
	Title, NS, Active string
	User, CSRF        string
	Flash, Error      string
	Data              any
}

// symbols are the CLI's (krt wf graph), so a phase reads the same in the
// terminal and the browser, and never by colour alone.
var symbols = map[string]string{
	"Succeeded": "✓", "Failed": "✗", "Timeout": "✗", "Pending": "○", "Scheduled": "○", "Running": "●",
	"Waiting": "⏸", "AwaitingApproval": "⏸", "Skipped": "–", "Cancelled": "⊘",
}

func symbol(phase string) string {
	if s, ok := symbols[phase]; ok {
		return s
	}
	return symbols["Pending"]
}

func phaseOr(p string) string {
	if p == "" {
		return "Pending"
	}
	return p
}

var funcs = template.FuncMap{
	"symbol":  symbol,
	"phase":   phaseOr,
	"esc":     url.PathEscape,
	"query":   url.QueryEscape,
	"short":   func(s string) string { return shortRev(s) },
	"join":    strings.Join,
	"ago":     ago,
	"stamp":   stamp,
	"lower":   strings.ToLower,
	"took":    took,
	"add":     func(a, b int) int { return a + b },
	"nodeURL": nodeURL,
	"split":   strings.Fields,
	"dict":    dict,
}

// parseTemplates parses each page with the layout and the shared parts.
// Each page is its own set, since every page defines "content".
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "assets/templates/page_*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/templates/layout.html", "assets/templates/part_*.html", n)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(strings.TrimPrefix(path.Base(n), "page_"), ".html")] = t
	}
	return out, nil
}

// render writes a whole page; the session, when there is one, gives the
// layout its user and CSRF token.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	p := page{NS: r.PathValue("ns"), Active: name, Data: data, Flash: r.FormValue("said")}
	if p.NS == "" {
		p.NS = s.opts.Namespace
	}
	if se, ok := r.Context().Value(ctxKey{}).(*session); ok {
		p.User, p.CSRF = se.user.Username, se.csrf
	}
	s.execute(w, name, "layout.html", p)
}

// fragment writes one named part of a page, for the scripts that
// refresh it in place.
func (s *Server) fragment(w http.ResponseWriter, name, part string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, part, data); err != nil {
		http.Error(w, "rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

func (s *Server) execute(w http.ResponseWriter, name, tmpl string, p page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, tmpl, p); err != nil {
		http.Error(w, "rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

func shortRev(rev string) string {
	if i := strings.LastIndex(rev, ":"); i >= 0 && len(rev)-i > 8 {
		return rev[:i+1] + rev[i+1:i+8]
	}
	if len(rev) > 12 && !strings.Contains(rev, "@") {
		return rev[:7]
	}
	return rev
}

func ago(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(time.Since(t.Time)) + " ago"
}

func stamp(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func took(from, to *metav1.Time) string {
	if from == nil {
		return "-"
	}
	end := time.Now()
	if to != nil {
		end = to.Time
	}
	return end.Sub(from.Time).Round(time.Millisecond).String()
}

func nodeURL(ns, run, node string) string {
	return fmt.Sprintf("/ns/%s/runs/%s/nodes/%s", url.PathEscape(ns), url.PathEscape(run), url.PathEscape(node))
}

// runPhase is a run's phase, Pending before the controller has set one.
func runPhase(wr *krtv1.WorkflowRun) string { return phaseOr(string(wr.Status.Phase)) }

// dict passes several values to a template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict needs pairs")
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict keys are strings")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
