package workflow

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// The two tools of the reference document 003, as parse makes them.
var docTools = []krtv1.NamedTool{
	{Name: "kubectl-health-check", Spec: krtv1.ToolSpec{Image: "kubiya/kubectl:latest",
		Command:     []string{"kubectl", "get", "pods", "--all-namespaces", "--field-selector=status.phase!=Running"},
		Environment: krtv1.Environment{"KUBECONFIG=/secrets/kubeconfig"},
		Volumes:     []krtv1.ToolVolume{{Name: "kubeconfig", Secret: "prod-cluster-config"}}}},
	{Name: "slack-notify", Spec: krtv1.ToolSpec{Image: "alpine/curl:latest", Script: "curl ...",
		Environment: krtv1.Environment{"SLACK_TOKEN=/secrets/slack_token", "CHANNEL=#alerts", `MESSAGE="Deployment completed successfully"`}}},
}

func runtimeOf(name, image string, secrets ...string) krtv1.Runtime {
	return krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: krtv1.RuntimeSpec{Image: image, Secrets: secrets}}
}

func TestToolImageAndSecrets(t *testing.T) {
	kubectl := runtimeOf("kubectl", "docker.io/kubiya/kubectl:latest", "prod-cluster-config")
	tests := []struct {
		name     string
		step     krtv1.Step
		runtimes []krtv1.Runtime
		want     built
		wantWait string
	}{{
		name:     "the kubectl tool runs on the Runtime of its image, its kubeconfig as a file",
		step:     krtv1.Step{Name: "check", Uses: "kubectl-health-check"},
		runtimes: []krtv1.Runtime{runtimeOf("bash", krtv1.DefaultRuntimeImage), runtimeOf("kubectl-no-secret", "kubiya/kubectl"), kubectl},
		want: built{spec: krtv1.RunSpec{Runtime: "kubectl",
			Command:     docTools[0].Spec.Command,
			Env:         []krtv1.EnvVar{{Name: "KUBECONFIG", Value: "/secrets/kubeconfig"}},
			SecretFiles: []krtv1.SecretFile{{Name: "kubeconfig", Secret: "prod-cluster-config", MountPath: "/secrets/kubeconfig"}}}},
	}, {
		name:     "a /secrets/ value no volume covers is secret env; quotes go",
		step:     krtv1.Step{Name: "notify", Uses: "slack-notify", Env: map[string]string{"CHANNEL": "#deploys"}},
		runtimes: []krtv1.Runtime{runtimeOf("curl", "alpine/curl", "slack-token")},
		want: built{spec: krtv1.RunSpec{Runtime: "curl", Script: "curl ...", Language: krtv1.LanguageBash,
			Env:       []krtv1.EnvVar{{Name: "CHANNEL", Value: "#deploys"}, {Name: "MESSAGE", Value: "Deployment completed successfully"}},
			SecretEnv: []krtv1.SecretEnvVar{{Name: "SLACK_TOKEN", SecretKeyRef: krtv1.SecretKeySelector{Name: "slack-token", Key: "slack_token"}}}}},
	}, {
		name: "a runtime the step names wins over the image",
		step: krtv1.Step{Name: "check", Uses: "kubectl-health-check", Runtime: "mine"},
		want: built{spec: krtv1.RunSpec{Runtime: "mine", Command: docTools[0].Spec.Command,
			Env:         []krtv1.EnvVar{{Name: "KUBECONFIG", Value: "/secrets/kubeconfig"}},
			SecretFiles: []krtv1.SecretFile{{Name: "kubeconfig", Secret: "prod-cluster-config", MountPath: "/secrets/kubeconfig"}}}},
	}, {
		name:     "no Runtime of the image: wait, saying what to create",
		step:     krtv1.Step{Name: "check", Uses: "kubectl-health-check"},
		runtimes: []krtv1.Runtime{runtimeOf("bash", krtv1.DefaultRuntimeImage)},
		wantWait: "no Runtime in this namespace has it: create one with spec.image: kubiya/kubectl:latest and spec.secrets: [prod-cluster-config]",
	}, {
		name:     "the image's Runtime does not allow the Secret: wait, saying which to widen",
		step:     krtv1.Step{Name: "check", Uses: "kubectl-health-check"},
		runtimes: []krtv1.Runtime{runtimeOf("kubectl-no-secret", "kubiya/kubectl")},
		wantWait: "Runtime kubectl-no-secret has that image but does not allow them all",
	}, {
		name:     "a step's own image",
		step:     krtv1.Step{Name: "s", Run: "true", Image: "kubiya/kubectl"},
		runtimes: []krtv1.Runtime{kubectl},
		want:     built{spec: krtv1.RunSpec{Runtime: "kubectl", Script: "true"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := runBuilder{env: testEnv(t), vars: expr.Vars{}, tools: docTools,
				runtimes: func(context.Context) ([]krtv1.Runtime, error) { return tc.runtimes, nil }}
			got, err := b.build(context.Background(), &tc.step)
			var w *waitRuntime
			if tc.wantWait != "" {
				if !errors.As(err, &w) || !strings.Contains(w.msg, tc.wantWait) {
					t.Fatalf("err = %v; want a wait saying %q", err, tc.wantWait)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(built{})); diff != "" {
				t.Fatalf("built (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImageWaitsForItsRuntime: a step whose image no Runtime has waits,
// saying what to create, and starts on the Runtime once it exists.
func TestImageWaitsForItsRuntime(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "byimage", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "check", Image: "kubiya/kubectl:latest", Run: "kubectl version"},
	}}, nil)
	waitNode(t, wr, "check", krtv1.NodeWaiting, "no Runtime in this namespace has it: create one with spec.image: kubiya/kubectl:latest")
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kubectl"}, Spec: krtv1.RuntimeSpec{Image: "docker.io/kubiya/kubectl"}}
	if err := env.Client.Create(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	if run := waitRunOf(t, ns, wr, "check"); run.Spec.Runtime != "kubectl" {
		t.Fatalf("the Run went to runtime %q, want kubectl", run.Spec.Runtime)
	}
}
