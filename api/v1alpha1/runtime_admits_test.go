package v1alpha1

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRuntimeAdmits(t *testing.T) {
	deploy := []WorkflowSelector{{Repository: "web", Events: []string{EventPush, EventManual}}, {Repository: "ops"}}
	for _, tc := range []struct {
		name    string
		allowed []WorkflowSelector
		labels  map[string]string
		admit   bool
		says    string
	}{
		{name: "no list admits anything", admit: true},
		{name: "push of web", allowed: deploy, labels: map[string]string{LabelRepository: "web", LabelEvent: EventPush}, admit: true},
		{name: "any event of ops", allowed: deploy, labels: map[string]string{LabelRepository: "ops", LabelEvent: EventPullRequest}, admit: true},
		{name: "pull request of web", allowed: deploy, labels: map[string]string{LabelRepository: "web", LabelEvent: EventPullRequest},
			says: `event "pullRequest" of repository "web"`},
		{name: "push of another repository", allowed: deploy, labels: map[string]string{LabelRepository: "tools", LabelEvent: EventPush},
			says: `repository "tools"`},
		{name: "no workflow", allowed: []WorkflowSelector{{Events: []string{EventPush}}}, says: "no workflow event"},
		{name: "no workflow, entry without events", allowed: []WorkflowSelector{{}}, admit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &Runtime{ObjectMeta: metav1.ObjectMeta{Name: "deploy"}, Spec: RuntimeSpec{AllowedWorkflows: tc.allowed}}
			ok, why := rt.Admits(&Run{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}})
			if ok != tc.admit || (!ok && (!strings.Contains(why, tc.says) || !strings.Contains(why, "spec.allowedWorkflows"))) {
				t.Errorf("Admits = %v, %q; want %v, saying %q", ok, why, tc.admit, tc.says)
			}
		})
	}
}
