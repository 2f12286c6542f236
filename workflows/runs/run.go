package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
)

// Labels on a WorkflowRun, for kubectl and for the engine's lookups.
const (
	// LabelWorkflow names the run's Workflow (cut to a label value).
	LabelWorkflow = "krt.dev/workflow"
	// LabelEvent is the type of event that started the run.
	LabelEvent = krtv1.LabelEvent
	// LabelConcurrencyGroup is a short hash of the run's resolved group: a
	// group may be any text, a label value may not.
	LabelConcurrencyGroup = "krt.dev/concurrency-group"
)

const (
	maxName  = 253
	maxGroup = 512
)

// NewRun builds the WorkflowRun of one event: the workflow's definition
// and the Tools its steps use, as they are now, so later edits do not
// touch a run in flight. tools may hold more than the steps use; a tool
// that is used but missing is an error. An empty name asks the API server
// to generate one from the workflow's.
func NewRun(wf *krtv1.Workflow, tools []krtv1.NamedTool, ev krtv1.WorkflowEvent, name string, params map[string]string, env *expr.Env) (*krtv1.WorkflowRun, error) {
	if err := checkParams(wf, params); err != nil {
		return nil, err
	}
	used, err := pickTools(wf, tools)
	if err != nil {
		return nil, err
	}
	revision := wf.Annotations[krtv1.AnnotationRevision]
	group, err := resolveGroup(wf, ev, revision, params, env)
	if err != nil {
		return nil, err
	}
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: wf.Namespace, Name: name, Labels: runLabels(wf, ev, group),
			Annotations: map[string]string{krtv1.AnnotationQueuedAt: time.Now().UTC().Format(time.RFC3339Nano)}},
		Spec: krtv1.WorkflowRunSpec{
			Workflow: wf.Name, Revision: revision, Event: *ev.DeepCopy(), Params: copyParams(params),
			Definition: *wf.Spec.DeepCopy(), Tools: used, ConcurrencyGroup: group,
			CancelInProgress: group != "" && wf.Spec.Concurrency.CancelInProgress,
		},
	}
	if name == "" {
		wr.GenerateName = strings.TrimRight(cut(wf.Name, 200), "-.") + "-"
	}
	// The run goes with its workflow; BlockOwnerDeletion would need
	// finalizer rights on Workflows that nothing else needs.
	ref := metav1.NewControllerRef(wf, krtv1.GroupVersion.WithKind("Workflow"))
	ref.BlockOwnerDeletion = ptr.To(false)
	wr.OwnerReferences = []metav1.OwnerReference{*ref}
	return wr, nil
}

// checkParams rejects a param the workflow does not declare: a typo would
// otherwise run with the default and nobody would notice.
func checkParams(wf *krtv1.Workflow, params map[string]string) error {
	for k := range params {
		if !slices.ContainsFunc(wf.Spec.Params, func(p krtv1.Param) bool { return p.Name == k }) {
			return fmt.Errorf("workflow %s has no param %q", wf.Name, k)
		}
	}
	return nil
}

func copyParams(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// UsedTools names the Tools the workflow's steps and finally steps use,
// sorted.
func UsedTools(spec *krtv1.WorkflowSpec) []string {
	var out []string
	for _, list := range [][]krtv1.Step{spec.Steps, spec.Finally} {
		for _, s := range list {
			if s.Uses != "" && !slices.Contains(out, s.Uses) {
				out = append(out, s.Uses)
			}
		}
	}
	sort.Strings(out)
	return out
}

func pickTools(wf *krtv1.Workflow, tools []krtv1.NamedTool) ([]krtv1.NamedTool, error) {
	var out []krtv1.NamedTool
	for _, name := range UsedTools(&wf.Spec) {
		i := slices.IndexFunc(tools, func(t krtv1.NamedTool) bool { return t.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("tool %s, used by workflow %s, is not in namespace %s", name, wf.Name, wf.Namespace)
		}
		out = append(out, *tools[i].DeepCopy())
	}
	return out, nil
}

// LookupTools reads the Tools the workflow uses from its namespace, for
// NewRun.
func LookupTools(ctx context.Context, c client.Reader, wf *krtv1.Workflow) ([]krtv1.NamedTool, error) {
	var out []krtv1.NamedTool
	for _, name := range UsedTools(&wf.Spec) {
		tool := &krtv1.Tool{}
		err := c.Get(ctx, client.ObjectKey{Namespace: wf.Namespace, Name: name}, tool)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("tool %s, used by workflow %s, is not in namespace %s", name, wf.Name, wf.Namespace)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, krtv1.NamedTool{Name: name, Spec: tool.Spec})
	}
	return out, nil
}

// resolveGroup interpolates concurrency.group with the event and params,
// once, so every later reader compares the same text.
func resolveGroup(wf *krtv1.Workflow, ev krtv1.WorkflowEvent, revision string, params map[string]string, env *expr.Env) (string, error) {
	c := wf.Spec.Concurrency
	if c == nil || c.Group == "" {
		return "", nil
	}
	if !expr.HasTemplate(c.Group) {
		return c.Group, nil
	}
	ctx := context.Background()
	event, err := EventVars(ev, revision)
	if err != nil {
		return "", err
	}
	pv, err := ParamVars(ctx, env, wf.Spec.Params, params, event)
	if err != nil {
		return "", err
	}
	group, err := env.Interpolate(ctx, c.Group, expr.Vars{Event: event, Params: pv})
	if err != nil {
		return "", fmt.Errorf("concurrency group: %w", err)
	}
	if len(group) > maxGroup {
		// Cutting it could merge two groups that must stay apart.
		return "", fmt.Errorf("concurrency group is %d characters once resolved, more than %d", len(group), maxGroup)
	}
	return group, nil
}

func runLabels(wf *krtv1.Workflow, ev krtv1.WorkflowEvent, group string) map[string]string {
	labels := map[string]string{LabelWorkflow: dag.LabelValue(wf.Name), LabelEvent: ev.Type}
	if repo := wf.Labels[krtv1.LabelRepository]; repo != "" {
		labels[krtv1.LabelRepository] = repo
	}
	if group != "" {
		labels[LabelConcurrencyGroup] = GroupHash(group)
	}
	return labels
}

// GroupHash is the label value of a concurrency group.
func GroupHash(group string) string {
	sum := sha256.Sum256([]byte(group))
	return hex.EncodeToString(sum[:])[:16]
}

// Name is a run's name from its workflow's and a suffix that names the
// event. A name too long for the API server keeps the suffix and swaps the
// workflow's tail for a hash, so two long workflows still differ.
func Name(workflow, suffix string) string {
	full := workflow + "-" + suffix
	if len(full) <= maxName {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	keep := maxName - len(suffix) - len("-12345678-")
	return strings.TrimRight(cut(workflow, keep), "-.") + "-" + hex.EncodeToString(sum[:])[:8] + "-" + suffix
}

func cut(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	return s[:n]
}
