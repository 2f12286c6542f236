package trigger

import (
	"fmt"
	"sort"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/source"
	"krt.dev/krt/workflows/parse"
)

// headRun is a run a PR head asks for: a workflow to run, or, when errs
// are set, one whose definition is broken and whose run fails at once.
type headRun struct {
	wf   *krtv1.Workflow // as the source controller would apply it
	c    candidate
	errs []*parse.Error
}

// headPlan is what one PR event's head asks for.
type headPlan struct {
	runs []headRun
	// unrun are problems that no run carries, for events.
	unrun []string
}

// planHead decides, without the API, which runs a head makes (the rules
// are in heads.go). base are the namespace's Workflows by name.
func planHead(repo *krtv1.WorkflowRepository, head *source.Head, base map[string]*krtv1.Workflow, pr *krtv1.PullRequest) headPlan {
	var p headPlan
	carried := map[*parse.Error]bool{}
	explained := map[string]bool{} // files that define a known workflow
	named := map[string]bool{}
	add := func(wf *krtv1.Workflow, errs []*parse.Error) {
		for _, e := range errs {
			carried[e] = true
		}
		p.runs = append(p.runs, headRun{wf: wf, c: prCandidate(wf.Name, repo.Spec.PullRequests, pr), errs: errs})
	}
	for i := range head.Docs {
		d := &head.Docs[i]
		doc, ok := d.Object.(*krtv1.Workflow)
		if !ok || named[doc.Name] {
			// A second definition of a name is an error of its file,
			// which then goes to an event: the first one runs.
			continue
		}
		named[doc.Name], explained[d.File] = true, true
		if owner, ok := foreign(repo, base[doc.Name]); ok {
			p.unrun = append(p.unrun, fmt.Sprintf("%s defines workflow %s, whose name is taken by the Workflow of %s; it does not run",
				d.File, doc.Name, owner))
			continue
		}
		wf := asApplied(repo, head.Revision, doc, d.File)
		if wants(wf, repo, pr, base[doc.Name]) {
			add(wf, head.ErrorsOf(d.File))
		}
	}
	for _, name := range sortedNames(base) {
		b := base[name]
		if named[name] || b.Labels[krtv1.LabelRepository] != repo.Name {
			continue
		}
		// Only a base workflow whose file the head broke, so that it
		// defines nothing: one whose file is fine was deleted by the head.
		file := b.Annotations[krtv1.AnnotationFile]
		errs := head.ErrorsOf(file)
		if len(errs) == 0 {
			continue
		}
		explained[file] = true
		if wants(b, repo, pr, b) {
			add(asApplied(repo, head.Revision, b, file), errs)
		}
	}
	for _, e := range head.Errors {
		if !carried[e] && !explained[e.File] {
			p.unrun = append(p.unrun, e.Error())
		}
	}
	return p
}

// wants applies a workflow's on.pullRequest and the repository's policy to
// a PR event. As for base definitions, a PR event from before the
// namespace's Workflow of that name existed is not replayed.
func wants(wf *krtv1.Workflow, repo *krtv1.WorkflowRepository, pr *krtv1.PullRequest, existing *krtv1.Workflow) bool {
	t := wf.Spec.On.PullRequest
	if t == nil || !prMatches(t, repo.Spec.PullRequests, pr) {
		return false
	}
	return existing == nil || pr.UpdatedAt.IsZero() || !pr.UpdatedAt.Before(&existing.CreationTimestamp)
}

// foreign reports whether a Workflow of the head's name belongs to someone
// else (another repository, or none), and whose.
func foreign(repo *krtv1.WorkflowRepository, existing *krtv1.Workflow) (string, bool) {
	if existing == nil {
		return "", false
	}
	switch owner := existing.Labels[krtv1.LabelRepository]; owner {
	case repo.Name:
		return "", false
	case "":
		return "no repository (applied by hand)", true
	default:
		return "repository " + owner, true
	}
}

// asApplied is a head's workflow as the source controller would apply it:
// in the repository's namespace, labelled with it, stamped with the head's
// revision and file. Nothing applies it; it is what runs are built from.
func asApplied(repo *krtv1.WorkflowRepository, revision string, doc *krtv1.Workflow, file string) *krtv1.Workflow {
	wf := doc.DeepCopy()
	wf.Namespace = repo.Namespace
	wf.UID, wf.ResourceVersion, wf.OwnerReferences = "", "", nil
	wf.Labels = map[string]string{krtv1.LabelRepository: repo.Name}
	wf.Annotations = map[string]string{krtv1.AnnotationRevision: revision, krtv1.AnnotationFile: file}
	return wf
}

// maxShownErrors bounds the errors a failed run's message lists.
const maxShownErrors = 3

// invalidMessage says why a head's definition cannot run, file:line first.
func invalidMessage(revision string, errs []*parse.Error) string {
	shown := make([]string, 0, maxShownErrors)
	for _, e := range errs[:min(len(errs), maxShownErrors)] {
		shown = append(shown, e.Error())
	}
	msg := fmt.Sprintf("the definition at %s is invalid: %s", revision, strings.Join(shown, "; "))
	if more := len(errs) - len(shown); more > 0 {
		msg += fmt.Sprintf(" (and %d more)", more)
	}
	return msg
}

func sortedNames(m map[string]*krtv1.Workflow) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
