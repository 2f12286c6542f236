package runtime

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func templated(spec string) *krtv1.Runtime {
	return &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns"},
		Spec: krtv1.RuntimeSpec{Image: krtv1.DefaultRuntimeImage, Capacity: 2, Languages: []krtv1.Language{krtv1.LanguageBash},
			Template: &krtv1.RuntimePodTemplate{Spec: &runtime.RawExtension{Raw: []byte(spec)}}}}
}

func container(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

func TestTemplateMergesOntoKrtsPod(t *testing.T) {
	rt := templated(`{
		"nodeSelector": {"pool": "ci"},
		"tolerations": [{"key": "ci", "operator": "Exists", "effect": "NoSchedule"}],
		"imagePullSecrets": [{"name": "registry"}],
		"priorityClassName": "ci", "runtimeClassName": "gvisor",
		"volumes": [{"name": "workspace", "persistentVolumeClaim": {"claimName": "ws"}}],
		"containers": [
			{"name": "runtime", "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}],
			 "resources": {"limits": {"memory": "1Gi"}}},
			{"name": "postgres", "image": "postgres:17", "env": [{"name": "POSTGRES_PASSWORD", "value": "test"}]}
		]}`)
	rt.Spec.Template.Metadata.Labels = map[string]string{"team": "web"}
	base := PodTemplate(rt, PodOptions{RuntimedImage: "runtimed:test"})
	got, err := Pod(rt, PodOptions{RuntimedImage: "runtimed:test"})
	if err != nil {
		t.Fatal(err)
	}
	s := &got.Spec
	if s.NodeSelector["pool"] != "ci" || len(s.Tolerations) != 1 || s.ImagePullSecrets[0].Name != "registry" ||
		s.PriorityClassName != "ci" || *s.RuntimeClassName != "gvisor" {
		t.Errorf("scheduling fields not carried: %+v", s)
	}
	if got.Labels["team"] != "web" || got.Labels[krtv1.LabelRuntime] != "t" {
		t.Errorf("labels %v: want the template's beside krt's", got.Labels)
	}
	rtc := container(s, RuntimeContainer)
	if !slices.ContainsFunc(rtc.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/workspace" }) ||
		len(rtc.VolumeMounts) != 3 || rtc.Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("runtime container: mounts %v, resources %v", rtc.VolumeMounts, rtc.Resources)
	}
	if !equality.Semantic.DeepEqual(rtc.Command, container(&base.Spec, RuntimeContainer).Command) {
		t.Errorf("runtime container's command changed: %v", rtc.Command)
	}
	if !equality.Semantic.DeepEqual(container(s, RuntimedContainer), container(&base.Spec, RuntimedContainer)) {
		t.Error("runtimed changed")
	}
	pg := container(s, "postgres")
	if pg == nil || pg.SecurityContext == nil || !*pg.SecurityContext.RunAsNonRoot || pg.SecurityContext.Capabilities.Drop[0] != "ALL" {
		t.Errorf("sidecar %+v: want krt's restricted security context", pg)
	}
	if len(s.Volumes) != len(base.Spec.Volumes)+1 {
		t.Errorf("volumes %v: want krt's and the workspace", s.Volumes)
	}
}

// A command on the runtime container runs a Runtime Server of the
// Runtime's own: it is told where to listen and whom to serve, and keeps
// the install container, whose krt-runtime the readiness probe uses.
func TestTemplateCustomRuntimeServer(t *testing.T) {
	rt := templated(`{"containers": [{"name": "runtime", "command": ["/my-server"], "args": ["-v"],
		"livenessProbe": {"grpc": {"port": 9000}}}]}`)
	got, err := Pod(rt, PodOptions{RuntimedImage: "runtimed:test"})
	if err != nil {
		t.Fatal(err)
	}
	c := container(&got.Spec, RuntimeContainer)
	if !slices.Equal(c.Command, []string{"/my-server"}) || !slices.Equal(c.Args, []string{"-v"}) {
		t.Errorf("command %v %v", c.Command, c.Args)
	}
	if !slices.Contains(c.Env, corev1.EnvVar{Name: "KRT_RUNTIME_SOCKET", Value: RuntimeSocket}) ||
		!slices.Contains(c.Env, corev1.EnvVar{Name: "KRT_RUNTIMED_UID", Value: "65533"}) {
		t.Errorf("env %v: want the socket and runtimed's uid", c.Env)
	}
	if c.LivenessProbe.GRPC == nil || c.ReadinessProbe.Exec == nil || len(got.Spec.InitContainers) != 1 {
		t.Errorf("probes %+v %+v, init %v", c.LivenessProbe, c.ReadinessProbe, got.Spec.InitContainers)
	}
}

// In exclusive and ephemeral, krt wipes only /krt and /tmp: a writable
// mount in the runtime container of a volume that outlives a Run (any in
// exclusive, a PVC in ephemeral) would carry files from Run to Run, so it
// must be read-only; shared allows it.
func TestTemplateMountsThatOutliveARunAreReadOnly(t *testing.T) {
	spec := `{"volumes": [{"name": "v", %s}],
		"containers": [{"name": "runtime", "volumeMounts": [{"name": "v", "mountPath": "/workspace"%s}]}]}`
	pvc, empty := `"persistentVolumeClaim": {"claimName": "ws"}`, `"emptyDir": {}`
	for _, tc := range []struct {
		mode     krtv1.Isolation
		volume   string
		readOnly bool
		refused  bool
	}{
		{krtv1.IsolationShared, pvc, false, false},
		{krtv1.IsolationExclusive, pvc, false, true},
		{krtv1.IsolationExclusive, empty, false, true},
		{krtv1.IsolationExclusive, pvc, true, false},
		{krtv1.IsolationEphemeral, pvc, false, true},
		{krtv1.IsolationEphemeral, pvc, true, false},
		{krtv1.IsolationEphemeral, empty, false, false},
	} {
		ro := ""
		if tc.readOnly {
			ro = `, "readOnly": true`
		}
		rt := templated(fmt.Sprintf(spec, tc.volume, ro))
		rt.Spec.Isolation = tc.mode
		err := Validate(rt)
		refused := err != nil && strings.Contains(err.Error(), "spec.template.spec.containers[0].volumeMounts[0].readOnly: Required")
		if refused != tc.refused || (err != nil && !refused) {
			t.Errorf("%s, %s, readOnly %v: %v; want refused %v", tc.mode, tc.volume, tc.readOnly, err, tc.refused)
		}
	}
}

// Each overlay would break what krt keeps; each is refused, naming the
// field.
func TestTemplateRefusesWhatKrtKeeps(t *testing.T) {
	for _, tc := range []struct{ name, spec, field string }{
		{"privileged", `{"containers": [{"name": "runtime", "securityContext": {"privileged": true}}]}`,
			"spec.template.spec.containers[0].securityContext.privileged"},
		{"sidecar as root", `{"containers": [{"name": "x", "image": "x", "securityContext": {"runAsUser": 0}}]}`,
			"spec.template.spec.containers[0].securityContext.runAsUser"},
		{"capabilities", `{"containers": [{"name": "x", "image": "x", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}`,
			"spec.template.spec.containers[0].securityContext.capabilities"},
		{"replace runtimed", `{"containers": [{"name": "runtimed", "image": "evil"}]}`, "spec.template.spec.containers[0].name"},
		{"install container", `{"containers": [{"name": "install-runtime", "image": "evil"}]}`, "spec.template.spec.containers[0].name"},
		{"hostPath", `{"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}`, "spec.template.spec.volumes[0].hostPath"},
		{"hostNetwork", `{"hostNetwork": true}`, "spec.template.spec.hostNetwork"},
		{"hostPID", `{"hostPID": true}`, "spec.template.spec.hostPID"},
		{"serviceAccountName", `{"serviceAccountName": "deployer"}`, "spec.template.spec.serviceAccountName"},
		{"automount", `{"automountServiceAccountToken": true}`, "spec.template.spec.automountServiceAccountToken"},
		{"pod securityContext", `{"securityContext": {"runAsUser": 0}}`, "spec.template.spec.securityContext"},
		{"initContainers", `{"initContainers": [{"name": "x", "image": "x"}]}`, "spec.template.spec.initContainers"},
		{"token volume", `{"volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]}`,
			"spec.template.spec.volumes[0].projected.sources[0].serviceAccountToken"},
		{"secret volume", `{"volumes": [{"name": "s", "secret": {"secretName": "prod"}}]}`, "spec.template.spec.volumes[0].secret"},
		{"secret env", `{"containers": [{"name": "x", "image": "x", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "prod", "key": "k"}}}]}]}`,
			"spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef"},
		{"krt volume", `{"volumes": [{"name": "krt", "emptyDir": {}}]}`, "spec.template.spec.volumes[0].name"},
		{"mount krt's volume", `{"containers": [{"name": "x", "image": "x", "volumeMounts": [{"name": "runtimed-token", "mountPath": "/t"}]}]}`,
			"spec.template.spec.containers[0].volumeMounts[0].name"},
		{"hide the socket", `{"volumes": [{"name": "w", "emptyDir": {}}], "containers": [{"name": "runtime", "volumeMounts": [{"name": "w", "mountPath": "/krt/run"}]}]}`,
			"spec.template.spec.containers[0].volumeMounts[0].mountPath"},
		{"krt-runtime flags", `{"containers": [{"name": "runtime", "args": ["--runtimed-uid=-1"]}]}`, "spec.template.spec.containers[0].args"},
		{"move HOME", `{"containers": [{"name": "runtime", "env": [{"name": "HOME", "value": "/workspace"}]}]}`,
			"spec.template.spec.containers[0].env[0].name"},
		{"runtime image", `{"containers": [{"name": "runtime", "image": "evil"}]}`, "spec.template.spec.containers[0].image"},
		{"probe on the node", `{"containers": [{"name": "x", "image": "x", "readinessProbe": {"httpGet": {"host": "169.254.169.254", "port": 80}}}]}`,
			"spec.template.spec.containers[0].readinessProbe"},
		{"hook on the node", `{"containers": [{"name": "x", "image": "x", "lifecycle": {"preStop": {"tcpSocket": {"host": "10.0.0.1", "port": 22}}}}]}`,
			"spec.template.spec.containers[0].lifecycle.preStop"},
		{"raw block device", `{"volumes": [{"name": "b", "persistentVolumeClaim": {"claimName": "b"}}], "containers": [{"name": "runtime", "volumeDevices": [{"name": "b", "devicePath": "/dev/xvdb"}]}]}`,
			"spec.template.spec.containers[0].volumeDevices"},
		{"ephemeral binds a PV", `{"volumes": [{"name": "e", "ephemeral": {"volumeClaimTemplate": {"spec": {"volumeName": "admins-local-pv", "accessModes": ["ReadWriteOnce"]}}}}]}`,
			"spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec.volumeName"},
		{"ephemeral clones a claim", `{"volumes": [{"name": "e", "ephemeral": {"volumeClaimTemplate": {"spec": {"dataSource": {"kind": "PersistentVolumeClaim", "name": "prod-db"}, "accessModes": ["ReadWriteOnce"]}}}}]}`,
			"spec.template.spec.volumes[0].ephemeral.volumeClaimTemplate.spec.dataSource"},
		{"termination message over krt-runtime", `{"containers": [{"name": "runtime", "terminationMessagePath": "/krt/bin/krt-runtime"}]}`,
			"spec.template.spec.containers[0].terminationMessagePath"},
		{"krt's env", `{"containers": [{"name": "runtime", "env": [{"name": "KRT_RUNTIME_SOCKET", "value": "/tmp/x"}]}]}`,
			"spec.template.spec.containers[0].env[0].name"},
		{"hostPort", `{"containers": [{"name": "x", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}]}]}`,
			"spec.template.spec.containers[0].ports[0].hostPort"},
		{"patch directive", `{"containers": [{"name": "runtimed", "$patch": "delete"}]}`, "spec.template.spec.containers[0].$patch"},
		{"unknown field", `{"containers": [{"name": "x", "image": "x", "securityContex": {}}]}`, "spec.template.spec.containers[0].securityContex: Forbidden"},
		{"miscased field", `{"HostNetwork": true}`, "spec.template.spec.HostNetwork"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(templated(tc.spec))
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate: %v; want a refusal naming %s", err, tc.field)
			}
		})
	}
}

func TestTemplateMetadataKeepsKrtsKeys(t *testing.T) {
	rt := templated(`{}`)
	rt.Spec.Template.Metadata = krtv1.RuntimePodMetadata{
		Labels:      map[string]string{krtv1.LabelRuntime: "other"},
		Annotations: map[string]string{"container.apparmor.security.beta.kubernetes.io/runtime": "unconfined"},
	}
	err := Validate(rt)
	for _, want := range []string{"spec.template.metadata.labels[krt.dev/runtime]", "spec.template.metadata.annotations[container.apparmor"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to name %s", err, want)
		}
	}
}

// Dropping a sidecar or a node selector from the template drops it from
// the Deployment; an unchanged Runtime leaves the API server's defaults
// alone, so it costs no write.
func TestDeploymentFollowsATemplateThatShrinks(t *testing.T) {
	opts := PodOptions{RuntimedImage: "runtimed:test"}
	build := func(spec string) *appsv1.Deployment {
		d, err := deployment(templated(spec), opts, 2)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct{ name, spec string }{
		{"node selector", `{"nodeSelector": {"pool": "ci"}}`},
		{"sidecar", `{"containers": [{"name": "pg", "image": "postgres:17"}]}`},
		{"toleration", `{"tolerations": [{"key": "ci", "operator": "Exists"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := build(tc.spec)
			live.Spec.Template.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log" // as the API server defaults it
			copyOwned(build(tc.spec), live)
			if live.Spec.Template.Spec.Containers[0].TerminationMessagePath == "" {
				t.Error("an unchanged template replaced the live one, defaults and all")
			}
			want := build(`{}`)
			copyOwned(want, live)
			if !equality.Semantic.DeepEqual(live.Spec.Template, want.Spec.Template) {
				t.Errorf("the live Deployment keeps what the template dropped: %+v", live.Spec.Template.Spec)
			}
		})
	}
}

// keptKrts is the net under the field checks: whatever the merge made,
// a pod that differs from krt's own where krt keeps it is refused.
func TestKeptKrtsCatchesWhatTheChecksMiss(t *testing.T) {
	base := PodTemplate(templated(`{}`), PodOptions{RuntimedImage: "runtimed:test"}).Spec
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.PodSpec)
		want   string
	}{
		{"runtimed image", func(s *corev1.PodSpec) { container(s, RuntimedContainer).Image = "evil" }, "changes runtimed"},
		{"runtimed gone", func(s *corev1.PodSpec) { s.Containers = s.Containers[:1] }, "changes runtimed"},
		{"host network", func(s *corev1.PodSpec) { s.HostNetwork = true }, "host namespaces"},
		{"account", func(s *corev1.PodSpec) { s.ServiceAccountName = "deployer" }, "service account"},
		{"token", func(s *corev1.PodSpec) { s.AutomountServiceAccountToken = nil }, "automountServiceAccountToken"},
		{"krt volume", func(s *corev1.PodSpec) {
			s.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}
		}, "volume krt"},
		{"privileged runtime", func(s *corev1.PodSpec) {
			container(s, RuntimeContainer).SecurityContext.Privileged = ptr.To(true)
		}, "runtime container's security context"},
		{"socket hidden", func(s *corev1.PodSpec) { container(s, RuntimeContainer).VolumeMounts[0].Name = "other" }, "mount of /krt"},
		{"bare sidecar", func(s *corev1.PodSpec) { s.Containers = append(s.Containers, corev1.Container{Name: "x"}) }, "container x has no security context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			merged := base.DeepCopy()
			tc.mutate(merged)
			if err := keptKrts(&base, merged); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("keptKrts: %v; want it to say %q", err, tc.want)
			}
		})
	}
	if err := keptKrts(&base, base.DeepCopy()); err != nil {
		t.Errorf("krt's own pod: %v", err)
	}
}
