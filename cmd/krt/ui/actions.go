package ui

import (
	"net/http"
	"net/url"
	"strings"

	"krt.dev/krt/cmd/krt/runops"
)

// The actions go through runops, as the CLI's do, with the session's
// client: the API server and its admission policies judge each one as the
// user's own, and the UI adds no authority.

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	wr, err := s.getRun(r)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	decision := r.PostFormValue("decision")
	if decision != runops.Approve && decision != runops.Reject {
		s.refuse(w, r, http.StatusBadRequest, "the decision must be approve or reject")
		return
	}
	se := sessionOf(r)
	a, err := runops.NewApproval(runops.Decision{Run: wr, Step: r.PostFormValue("step"), Decision: decision,
		Comment: strings.TrimSpace(r.PostFormValue("comment"))}, se.user)
	if err != nil {
		s.refuse(w, r, http.StatusForbidden, err.Error())
		return
	}
	if err := se.c.Create(r.Context(), a); err != nil {
		s.refuse(w, r, http.StatusForbidden, "the API server refused the decision: "+err.Error())
		return
	}
	s.back(w, r, wr.Name, runops.Decided(a))
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	wr, err := s.getRun(r)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	said, err := runops.Cancel(r.Context(), sessionOf(r).c, wr, sessionOf(r).user.Username)
	if err != nil {
		s.refuse(w, r, http.StatusForbidden, "the API server refused the cancel: "+err.Error())
		return
	}
	s.back(w, r, wr.Name, said)
}

func (s *Server) rerun(w http.ResponseWriter, r *http.Request) {
	old, err := s.getRun(r)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	wr, err := runops.Rerun(r.Context(), sessionOf(r).c, old, sessionOf(r).user.Username)
	if err != nil {
		s.refuse(w, r, http.StatusForbidden, "the API server refused the rerun: "+err.Error())
		return
	}
	s.back(w, r, wr.Name, "started "+wr.Name+", a rerun of "+old.Name)
}

// back returns to a run's page, saying what was done.
func (s *Server) back(w http.ResponseWriter, r *http.Request, run, said string) {
	http.Redirect(w, r, "/ns/"+url.PathEscape(r.PathValue("ns"))+"/runs/"+url.PathEscape(run)+"?said="+url.QueryEscape(said), http.StatusSeeOther)
}

// refuse shows why an action was not done, on the run's page.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	wr, err := s.getRun(r)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	w.WriteHeader(code)
	p := page{NS: r.PathValue("ns"), Active: "runs", Error: msg, User: sessionOf(r).user.Username, CSRF: sessionOf(r).csrf,
		Data: s.runPageOf(r, wr)}
	s.execute(w, "run", "layout.html", p)
}
