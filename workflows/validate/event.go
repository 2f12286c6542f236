package validate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// Event data (a branch name, a pull request's title) is chosen by whoever
// sends the event, and a pull request's author names their own branch.
// krt passes every ${{ }} of a script as an environment variable, so a
// value never becomes source text (expr.InterpolateScript), but a file
// should say so itself: a script reading event data must take it from
// env:, where any reader sees it is data. And where a step runs must not be
// the sender's choice at all.

// script checks the ${{ }} of a step's run: script.
func (c *checker) script(path string, s *krtv1.Step) {
	exprs, err := expr.TemplateExprs(s.Run)
	if err != nil {
		return // CheckTemplate reports it
	}
	python := s.Language == krtv1.LanguagePython
	for _, e := range exprs {
		field := path + ".run"
		name := envSuggestion(e.Source)
		use := `use "$` + name + `" in the script`
		if python {
			use = `read os.environ["` + name + `"] in the script`
		}
		switch {
		case slices.Contains(expr.Roots(e.Source), "event"):
			c.errorIn(field, s.Run, e.Offset, "${{ %s }} puts event data into the script, where whoever sent the event could make it run as code; "+
				"pass it as env instead: env: {%s: \"${{ %s }}\"}, and %s", e.Source, name, e.Source, use)
		case python:
			c.errorIn(field, s.Run, e.Offset, "a python script cannot hold ${{ %s }}: krt passes a script's values as environment variables, never as code, "+
				"and python does not expand them; pass it as env: {%s: \"${{ %s }}\"}, and %s", e.Source, name, e.Source, use)
		}
	}
	for _, k := range sortedKeys(s.Env) {
		if strings.HasPrefix(k, expr.ScriptVarPrefix) {
			c.errorf(path+".env."+k, "names beginning with %s are krt's: it passes the values of a script's ${{ }} in them", expr.ScriptVarPrefix)
		}
	}
}

// placement refuses a runtime or cluster that event data can choose.
func (c *checker) placement(path string, s *krtv1.Step, params []krtv1.Param) {
	for _, f := range EventPlacement(s, "", params) {
		c.errorf(path+"."+f.Field, "%s", f.Why)
	}
}

// PlacementProblem is a runtime or cluster field whose value can come
// from an event.
type PlacementProblem struct {
	Field string // "runner", "runtime" or "cluster"
	Why   string
}

// EventPlacement lists the fields of a step that let an event choose where
// it runs: a runtime or cluster reading event, a param whose default reads
// event, or item when the step's forEach items read event. toolRuntime is
// the runtime of the Tool the step uses, when the step names none. The
// engine asks again before it creates a Run, for definitions that never
// went through a repository.
func EventPlacement(s *krtv1.Step, toolRuntime string, params []krtv1.Param) []PlacementProblem {
	runtime := s.Runtime
	if runtime == "" {
		runtime = toolRuntime
	}
	var out []PlacementProblem
	for _, f := range []struct{ name, val string }{{"runner", s.Runner}, {"runtime", runtime}, {"cluster", s.Cluster}} {
		if why := fromEvent(f.val, s, params); why != "" {
			out = append(out, PlacementProblem{Field: f.name, Why: fmt.Sprintf(
				"%s %s, so whoever sends the event would choose where the step runs; a step's %s must not depend on event data",
				f.name, why, f.name)})
		}
	}
	return out
}

// fromEvent says how a template's value can come from the event, or "".
func fromEvent(tmpl string, s *krtv1.Step, params []krtv1.Param) string {
	if !expr.HasTemplate(tmpl) {
		return ""
	}
	roots := expr.Roots(tmpl)
	if slices.Contains(roots, "event") {
		return "reads event"
	}
	for _, name := range expr.ParamRefs(tmpl) {
		for _, p := range params {
			if p.Name == name && p.Default != nil && slices.Contains(expr.Roots(*p.Default), "event") {
				return fmt.Sprintf("reads params.%s, whose default reads event", name)
			}
		}
	}
	if slices.Contains(roots, "item") && s.ForEach != nil {
		for _, it := range s.ForEach.Items {
			if slices.Contains(expr.Roots(it), "event") {
				return "reads item, and the forEach items read event"
			}
		}
	}
	return ""
}

var (
	// lastField is the last field an expression selects, not a call:
	// "event.revision.substring(0, 7)" gives "revision".
	lastField = regexp.MustCompile(`\.\s*([A-Za-z_][A-Za-z0-9_]*)\b\s*(\(?)`)
	camelCut  = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

// envSuggestion names an environment variable after what an expression
// reads: event.pullRequest.headRef gives HEAD_REF.
func envSuggestion(src string) string {
	name := ""
	for _, m := range lastField.FindAllStringSubmatch(src, -1) {
		if m[2] == "" {
			name = m[1]
		}
	}
	if name == "" {
		return "VALUE"
	}
	name = strings.ToUpper(camelCut.ReplaceAllString(name, "${1}_${2}"))
	if strings.HasPrefix(name, expr.ScriptVarPrefix) {
		return "VALUE"
	}
	return name
}
