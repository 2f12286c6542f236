package runs

import (
	"context"
	"fmt"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

func secret(env, name, key string) krtv1.SecretEnvVar {
	return krtv1.SecretEnvVar{Name: env, SecretKeyRef: krtv1.SecretKeySelector{Name: name, Key: key}}
}

// An approver sees where a run's steps will run and which Secrets they
// read, with templates resolved as far as an unstarted run allows.
func TestUses(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	deploy := krtv1.NamedTool{Name: "deploy", Spec: krtv1.ToolSpec{Runtime: "deployer",
		SecretEnv: []krtv1.SecretEnvVar{secret("TOKEN", "deploy-token", "token"), secret("CA", "deploy-ca", "ca.crt")}}}
	kubectl := krtv1.NamedTool{Name: "kubectl", Spec: krtv1.ToolSpec{Image: "kubiya/kubectl:latest", Command: []string{"kubectl"},
		Environment: krtv1.Environment{"KUBECONFIG=/secrets/kubeconfig", "TOKEN=/secrets/slack_token"},
		Volumes:     []krtv1.ToolVolume{{Name: "kubeconfig", Secret: "prod-cluster-config"}}}}
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("r%d", i)
	}
	target := "${{ params.target }}"
	tests := []struct {
		name string
		def  krtv1.WorkflowSpec
		want string
	}{{
		name: "plain steps",
		def: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "a", Runtime: "bash"}, {Name: "b", Runtime: "python"}, {Name: "c", Runtime: "bash"},
			{Name: "d", Runner: "aws-us-east-runner"}, {Name: "e", Run: "true"}}},
		want: "its steps run on bash, python, runner aws-us-east-runner, the default runtime, and read no Secrets",
	}, {
		name: "clusters, tools and secrets; a gate runs nothing",
		def: krtv1.WorkflowSpec{Params: []krtv1.Param{{Name: "target", Default: &target}},
			Steps: []krtv1.Step{
				{Name: "build", Runtime: "staging/bash", SecretEnv: []krtv1.SecretEnvVar{secret("REG", "registry", "password")}},
				{Name: "gate", Approval: &krtv1.ApprovalGate{Approvers: []string{"ann"}}},
				{Name: "ship", Uses: "deploy", Cluster: "${{ item }}", ForEach: &krtv1.ForEach{Items: []string{"prod-eu", "prod-${{ event.pullRequest.number }}"}},
					SecretEnv: []krtv1.SecretEnvVar{secret("CA", "own-ca", "ca")}},
			},
			Finally: []krtv1.Step{{Name: "tell", Runtime: "bash", Cluster: "${{ steps.build.outputs.where }}"}},
		},
		want: "its steps run on ${{ steps.build.outputs.where }}/bash, prod-7/deployer, prod-eu/deployer, staging/bash, " +
			"and read the Secrets deploy-token/token, own-ca/ca, registry/password",
	}, {
		name: "a matrix, and a step with too many items to list",
		def: krtv1.WorkflowSpec{Steps: []krtv1.Step{
			{Name: "m", Runtime: "${{ item.os }}-runner", Matrix: map[string][]string{"os": {"linux", "mac"}, "v": {"1", "2"}}},
			{Name: "f", Runtime: "bash", Cluster: "${{ item }}", ForEach: &krtv1.ForEach{Items: many}},
		}},
		want: "its steps run on ${{ item }}/bash, linux-runner, mac-runner, and read no Secrets",
	}, {
		name: "a tool of an image, with a secret volume and a /secrets/ value",
		def:  krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "check", Uses: "kubectl"}}},
		want: "its steps run on a Runtime of image kubiya/kubectl:latest, and read the Secrets prod-cluster-config/*, slack-token/slack_token",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wr := &krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{Workflow: "w", Definition: tc.def, Tools: []krtv1.NamedTool{deploy, kubectl},
				Event:  krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{Number: 7, HeadSHA: "abc"}},
				Params: map[string]string{"target": "prod"}}}
			if got := Uses(context.Background(), env, wr); got != tc.want {
				t.Errorf("Uses =\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}
