package cli

import (
	"maps"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func strp(s string) *string { return &s }

// promoteRun is the run from `krt wf graph`'s help: a chain with a gate,
// an expanded step and a finally step.
func promoteRun(phase krtv1.WorkflowRunPhase, nodes ...krtv1.NodeStatus) *krtv1.WorkflowRun {
	return &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Name: "promote-web-push-1a2b3c4"},
		Spec: krtv1.WorkflowRunSpec{Workflow: "promote-web", Definition: krtv1.WorkflowSpec{
			Steps: []krtv1.Step{
				{Name: "build", Runtime: "bash", Run: "make"},
				{Name: "deploy-staging", Needs: []string{"build"}, Cluster: "staging", Runtime: "bash", Run: "deploy"},
				{Name: "approve-prod", Needs: []string{"deploy-staging"},
					Approval: &krtv1.ApprovalGate{Approvers: []string{"group:release-managers"}}},
				{Name: "deploy-prod", Needs: []string{"approve-prod"}, ForEach: &krtv1.ForEach{Items: []string{"prod-eu", "prod-us"}},
					Runtime: "bash", Run: "deploy"},
			},
			Finally: []krtv1.Step{{Name: "notify", Runtime: "bash", Run: "notify"}},
		}},
		Status: krtv1.WorkflowRunStatus{Phase: phase, Nodes: nodes},
	}
}

func TestWfRenderGraph(t *testing.T) {
	build := krtv1.NodeStatus{Name: "build", Phase: krtv1.NodeSucceeded, Attempt: 1}
	staging := krtv1.NodeStatus{Name: "deploy-staging", Phase: krtv1.NodeSucceeded, Cluster: "staging", Attempt: 1}
	gate := krtv1.NodeStatus{Name: "approve-prod", Phase: krtv1.NodeWaiting,
		Message: "waiting for approval by group:release-managers"}
	approved := krtv1.NodeStatus{Name: "approve-prod", Phase: krtv1.NodeSucceeded, Message: "approved by alice"}
	cases := []struct {
		name string
		wr   *krtv1.WorkflowRun
		wide bool
		want string
	}{
		{
			name: "waiting at the gate",
			wr:   promoteRun(krtv1.WorkflowRunning, build, staging, gate),
			want: `promote-web-push-1a2b3c4 (Running)
  ✓ build
  ✓ deploy-staging   cluster=staging
  ⏸ approve-prod     waiting for approval by group:release-managers
  ○ deploy-prod      needs approve-prod
finally:
  ○ notify
`,
		},
		{
			name: "an expanded step, a retry and a failure",
			wr: promoteRun(krtv1.WorkflowFailed, build, staging, approved,
				krtv1.NodeStatus{Name: "deploy-prod[prod-eu]", Phase: krtv1.NodeSucceeded, Cluster: "prod-eu", Attempt: 1},
				krtv1.NodeStatus{Name: "deploy-prod[prod-us]", Phase: krtv1.NodeFailed, Cluster: "prod-us", Attempt: 3,
					Message: "exit code 1:\ntimeout"},
				krtv1.NodeStatus{Name: "notify", Phase: krtv1.NodeSucceeded, Attempt: 1}),
			want: `promote-web-push-1a2b3c4 (Failed)
  ✓ build
  ✓ deploy-staging           cluster=staging
  ✓ approve-prod             approved by alice
  ✗ deploy-prod              2/2 done
    ✓ deploy-prod[prod-eu]   cluster=prod-eu
    ✗ deploy-prod[prod-us]   cluster=prod-us  attempt=3  exit code 1: timeout
finally:
  ✓ notify
`,
		},
		{
			name: "wide shows needs and runs; a new run is Pending",
			wr:   promoteRun("", krtv1.NodeStatus{Name: "build", Phase: krtv1.NodeRunning, Run: "r-1"}),
			wide: true,
			want: `promote-web-push-1a2b3c4 (Pending)
  ● build            run=r-1
  ○ deploy-staging   needs build
  ○ approve-prod     needs deploy-staging
  ○ deploy-prod      needs approve-prod
finally:
  ○ notify
`,
		},
		{
			name: "cancelled, skipped and a partly waiting expansion",
			wr: promoteRun(krtv1.WorkflowCancelled,
				krtv1.NodeStatus{Name: "build", Phase: krtv1.NodeCancelled, Message: "cancelled"},
				krtv1.NodeStatus{Name: "deploy-prod[a]", Phase: krtv1.NodeSucceeded},
				krtv1.NodeStatus{Name: "deploy-prod[b]", Phase: krtv1.NodeWaiting, Message: "cluster b is unreachable"},
				krtv1.NodeStatus{Name: "notify", Phase: krtv1.NodeSkipped}),
			want: `promote-web-push-1a2b3c4 (Cancelled)
  ⊘ build              cancelled
  ○ deploy-staging     needs build
  ○ approve-prod       needs deploy-staging
  ⏸ deploy-prod        1/2 done
    ✓ deploy-prod[a]
    ⏸ deploy-prod[b]   cluster b is unreachable
finally:
  – notify
`,
		},
	}
	failover := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: "cross-cloud-failover-1"},
		Spec: krtv1.WorkflowRunSpec{Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{
			{Name: "backup-aws-data", Runner: "aws-us-east-runner", Uses: "aws-backup"},
			{Name: "restore-to-gcp", Runner: "gcp-us-central-runner", Uses: "gcp-restore",
				With: map[string]string{"backup_location": `${{ steps["backup-aws-data"].outputs["backup_url"] }}`}},
			{Name: "update-dns", Needs: []string{"backup-aws-data"}, Runner: "cloudflare-runner", Uses: "dns-updater",
				With: map[string]string{"target": `${{ steps["restore-to-gcp"].outputs["new_endpoint"] }}`}},
		}}},
		Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowRunning,
			Nodes: []krtv1.NodeStatus{{Name: "backup-aws-data", Phase: krtv1.NodeRunning}}}}
	cases = append(cases, struct {
		name string
		wr   *krtv1.WorkflowRun
		wide bool
		want string
	}{
		name: "a step waits for the steps it reads, shown as inferred",
		wr:   failover,
		want: `cross-cloud-failover-1 (Running)
  ● backup-aws-data
  ○ restore-to-gcp    needs backup-aws-data (inferred)
  ○ update-dns        needs backup-aws-data, restore-to-gcp (inferred)
`,
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := wfRenderGraph(&b, tc.wr, tc.wide); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("graph =\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestWfParseParams(t *testing.T) {
	defs := []krtv1.Param{{Name: "env", Default: strp("staging")}, {Name: "tag"}}
	cases := []struct {
		name    string
		flags   []string
		defs    []krtv1.Param
		want    map[string]string
		wantErr string
	}{
		{name: "given", flags: []string{"env=prod", "tag=v1"}, defs: defs, want: map[string]string{"env": "prod", "tag": "v1"}},
		{name: "a value may hold =", flags: []string{"tag=a=b", "env="}, defs: defs, want: map[string]string{"tag": "a=b", "env": ""}},
		{name: "none for none", defs: nil, want: nil},
		{name: "defaults are left to the engine", flags: []string{"tag=v1"}, defs: defs, want: map[string]string{"tag": "v1"}},
		{name: "unknown", flags: []string{"tag=v1", "region=eu"}, defs: defs, wantErr: `workflow w has no param "region"; its params are env, tag`},
		{name: "unknown when there are none", flags: []string{"x=1"}, wantErr: "it takes no params"},
		{name: "no =", flags: []string{"tag"}, defs: defs, wantErr: `--param "tag": want NAME=VALUE`},
		{name: "no name", flags: []string{"=v"}, defs: defs, wantErr: "want NAME=VALUE"},
		{name: "twice", flags: []string{"tag=1", "tag=2"}, defs: defs, wantErr: "--param tag is given twice"},
		{name: "required", flags: []string{"env=prod"}, defs: defs, wantErr: "param tag of workflow w has no default: give --param tag=VALUE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := wfParseParams(tc.flags, tc.defs, "w")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Errorf("= %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestWfDecisionTarget(t *testing.T) {
	gate := krtv1.NodeStatus{Name: "approve-prod", Phase: krtv1.NodeWaiting}
	pr := promoteRun(krtv1.WorkflowAwaitingApproval)
	pr.Spec.Event = krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{Number: 7, HeadSHA: "abc123"}}
	cases := []struct {
		name     string
		wr       *krtv1.WorkflowRun
		step     string
		wantGate bool
		wantHead string
		wantErr  string
	}{
		{name: "a waiting gate", wr: promoteRun(krtv1.WorkflowRunning, gate), step: "approve-prod", wantGate: true},
		{name: "a pull request's run", wr: pr, wantHead: "abc123"},
		{name: "no step while a gate waits", wr: promoteRun(krtv1.WorkflowRunning, gate),
			wantErr: "not awaiting approval itself; name the step to decide: approve-prod"},
		{name: "nothing waits", wr: promoteRun(krtv1.WorkflowRunning), wantErr: "is not waiting for an approval"},
		{name: "not a gate", wr: promoteRun(krtv1.WorkflowRunning, gate), step: "build",
			wantErr: "step build of run promote-web-push-1a2b3c4 is not an approval step; its approval steps are approve-prod"},
		{name: "no such step", wr: promoteRun(krtv1.WorkflowRunning), step: "nope", wantErr: "has no step nope"},
		{name: "not open yet", wr: promoteRun(krtv1.WorkflowRunning), step: "approve-prod",
			wantErr: "is not waiting for approval yet: it needs deploy-staging"},
		{name: "decided", step: "approve-prod",
			wr:      promoteRun(krtv1.WorkflowRunning, krtv1.NodeStatus{Name: "approve-prod", Phase: krtv1.NodeSucceeded, Message: "approved by bob"}),
			wantErr: "is not waiting for approval: it is Succeeded (approved by bob)"},
		{name: "ended", wr: promoteRun(krtv1.WorkflowFailed, gate), step: "approve-prod", wantErr: "has already ended (Failed)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, head, err := wfDecisionTarget(tc.wr, tc.step)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || (g != nil) != tc.wantGate || head != tc.wantHead {
				t.Errorf("= %v, %q, %v", g, head, err)
			}
		})
	}
}

func TestWfProgress(t *testing.T) {
	cases := []struct {
		wr   *krtv1.WorkflowRun
		want string
	}{
		{promoteRun(""), "promote-web-push-1a2b3c4: Pending, 0/5 nodes done"},
		{promoteRun(krtv1.WorkflowRunning, krtv1.NodeStatus{Name: "build", Phase: krtv1.NodeSucceeded},
			krtv1.NodeStatus{Name: "deploy-staging", Phase: krtv1.NodeSucceeded},
			krtv1.NodeStatus{Name: "approve-prod", Phase: krtv1.NodeWaiting}),
			"promote-web-push-1a2b3c4: Running, 2/5 nodes done; waiting for approval of approve-prod"},
		{func() *krtv1.WorkflowRun {
			wr := promoteRun(krtv1.WorkflowFailed, krtv1.NodeStatus{Name: "build", Phase: krtv1.NodeFailed},
				krtv1.NodeStatus{Name: "deploy-prod[a]", Phase: krtv1.NodeSkipped}, krtv1.NodeStatus{Name: "deploy-prod[b]", Phase: krtv1.NodeSkipped})
			wr.Status.Message = "step build failed"
			return wr
		}(), "promote-web-push-1a2b3c4: Failed, 3/6 nodes done; step build failed"},
	}
	for _, tc := range cases {
		if got := wfProgress(tc.wr); got != tc.want {
			t.Errorf("progress = %q, want %q", got, tc.want)
		}
	}
}

func TestWfTriggersAndGroups(t *testing.T) {
	on := krtv1.Triggers{Push: &krtv1.PushTrigger{}, PullRequest: &krtv1.PullRequestTrigger{},
		Schedule: []krtv1.ScheduleTrigger{{Cron: "@daily"}}, Manual: &krtv1.ManualTrigger{}}
	if got := wfTriggers(&on); got != "push,pr,cron,manual" {
		t.Errorf("triggers = %q", got)
	}
	if got := wfTriggers(&krtv1.Triggers{}); got != "-" {
		t.Errorf("no triggers = %q", got)
	}
	many := make([]string, 70)
	for i := range many {
		many[i] = "g" + strings.Repeat("x", i)
	}
	if got := wfGroups(many, []string{"group:gxx", "alice"}); len(got) != 1 || got[0] != "gxx" {
		t.Errorf("groups past the limit = %v, want those the gate names", got)
	}
	if got := wfGroups(many[:3], nil); len(got) != 3 {
		t.Errorf("groups = %v, want all", got)
	}
}
