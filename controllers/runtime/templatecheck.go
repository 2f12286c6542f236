package runtime

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// templatePath is where a Runtime's pod overlay lives, so that each
// refusal names the field as the user wrote it.
var templatePath = field.NewPath("spec", "template", "spec")

// overlayFields are the PodSpec fields a template may set. Everything
// else in a pod is krt's, or has no use in a runtime pod.
var overlayFields = []string{"affinity", "containers", "imagePullSecrets", "nodeSelector", "priorityClassName",
	"runtimeClassName", "tolerations", "topologySpreadConstraints", "volumes"}

// whyNot says why krt keeps a PodSpec field, for the fields someone is
// likely to try; the rest get the list of what a template may set.
var whyNot = map[string]string{
	"serviceAccountName":           "the pods' identity is spec.serviceAccountName's, which krt checks is meant for this Runtime",
	"serviceAccount":               "the pods' identity is spec.serviceAccountName's, which krt checks is meant for this Runtime",
	"automountServiceAccountToken": "only runtimed holds a Kubernetes token, projected into its container alone; a step must find none",
	"securityContext":              "krt sets every security context, so that restricted Pod Security admits the pod and steps stay non-root",
	"hostNetwork":                  "a runtime pod never shares the node's namespaces",
	"hostPID":                      "a runtime pod never shares the node's namespaces",
	"hostIPC":                      "a runtime pod never shares the node's namespaces",
	"hostUsers":                    "the pods' user namespace is krt's, with the uids the runtime socket's check relies on",
	"shareProcessNamespace":        "steps must not see runtimed's or the sidecars' processes",
	"initContainers":               "install-runtime is krt's; run a sidecar in containers instead",
	"ephemeralContainers":          "ephemeral containers are for debugging, not for a template",
	"nodeName":                     "it bypasses the scheduler and taints; use nodeSelector or affinity",
}

// krtVolumes are the volumes of krt's pod, which a template may neither
// replace nor mount elsewhere: the socket and binaries, /tmp, runtimed's
// token.
var krtVolumes = []string{"krt", "tmp", tokenVolume}

// krtContainers may not be named by a template: runtimed, and the init
// container that installs krt-runtime.
var krtContainers = []string{RuntimedContainer, installContainer}

// runtimePaths are the runtime container's mounts of krt's volumes: a
// template's mount on, under or above one would hide krt's socket, its
// binary or the working area.
var runtimePaths = []string{sharedMount, "/tmp"}

const (
	noSecrets = "a template hands out no Secret: Runs get the Secrets of spec.secrets, one Run at a time and masked in logs"
	noToken   = "only runtimed holds a Kubernetes token"
	krtsOwn   = "krt's own"
)

// podOverlay decodes a Runtime's template strictly as a PodSpec and checks
// it field by field against what krt keeps. A nil overlay with no errors
// means the Runtime has no template spec.
func podOverlay(rt *krtv1.Runtime) (*corev1.PodSpec, field.ErrorList) {
	t := rt.Spec.Template
	errs := checkMetadata(t)
	if t == nil || t.Spec == nil || len(t.Spec.Raw) == 0 {
		return nil, errs
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(t.Spec.Raw, &keys); err != nil {
		return nil, append(errs, field.Invalid(templatePath, field.OmitValueType{}, "not a JSON object: "+err.Error()))
	}
	for _, k := range sortedKeys(keys) {
		if slices.Contains(overlayFields, k) {
			continue
		}
		why, ok := whyNot[k]
		if !ok {
			why = "a template may set only " + strings.Join(overlayFields, ", ")
		}
		errs = append(errs, field.Forbidden(templatePath.Child(k), why))
	}
	spec := &corev1.PodSpec{}
	strict, err := sigsjson.UnmarshalStrict(t.Spec.Raw, spec, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil, append(errs, field.Invalid(templatePath, field.OmitValueType{}, "not a PodSpec: "+err.Error()))
	}
	for _, e := range strict {
		p, ok := e.(interface{ FieldPath() string })
		switch {
		case !ok:
			errs = append(errs, field.Invalid(templatePath, field.OmitValueType{}, e.Error()))
		case strings.HasPrefix(e.Error(), "duplicate"):
			errs = append(errs, field.Invalid(templatePath.Child(p.FieldPath()), field.OmitValueType{}, "given twice"))
		case strings.ContainsAny(p.FieldPath(), ".["):
			// Unknown fields at the top were named above. Patch
			// directives such as $patch are unknown to PodSpec too.
			errs = append(errs, field.Forbidden(templatePath.Child(p.FieldPath()),
				"not a field of a PodSpec; a template is a PodSpec, without patch directives"))
		}
	}
	errs = append(errs, checkVolumes(spec.Volumes)...)
	for i := range spec.Containers {
		errs = append(errs, checkContainer(&spec.Containers[i], templatePath.Child("containers").Index(i))...)
		if spec.Containers[i].Name == RuntimeContainer {
			errs = append(errs, checkWipe(rt, spec.Volumes, &spec.Containers[i], templatePath.Child("containers").Index(i))...)
		}
	}
	return spec, errs
}

func checkMetadata(t *krtv1.RuntimePodTemplate) (errs field.ErrorList) {
	if t == nil {
		return nil
	}
	meta := field.NewPath("spec", "template", "metadata")
	for _, k := range sortedKeys(t.Metadata.Labels) {
		if strings.HasPrefix(k, "krt.dev/") || slices.Contains([]string{"app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/managed-by"}, k) {
			errs = append(errs, field.Forbidden(meta.Child("labels").Key(k), "krt finds its runtime pods by this label; it is krt's"))
		}
	}
	for _, k := range sortedKeys(t.Metadata.Annotations) {
		switch {
		case strings.HasPrefix(k, "krt.dev/"):
			errs = append(errs, field.Forbidden(meta.Child("annotations").Key(k), "krt.dev/ annotations are krt's"))
		case strings.HasPrefix(k, "container.apparmor.security.beta.kubernetes.io/"), strings.HasPrefix(k, "seccomp.security.alpha.kubernetes.io/"):
			errs = append(errs, field.Forbidden(meta.Child("annotations").Key(k), "security profiles are part of the security context, which is krt's"))
		}
	}
	return errs
}

// checkVolumes lets in the volume kinds that hold no credential and reach
// nothing on the node.
func checkVolumes(vols []corev1.Volume) (errs field.ErrorList) {
	for i, v := range vols {
		p := templatePath.Child("volumes").Index(i)
		if slices.Contains(krtVolumes, v.Name) {
			errs = append(errs, field.Forbidden(p.Child("name"), fmt.Sprintf("volume %q is %s", v.Name, krtsOwn)))
		}
		for _, src := range setFields(v.VolumeSource) {
			switch src {
			case "emptyDir", "persistentVolumeClaim", "configMap", "downwardAPI":
			case "ephemeral":
				errs = append(errs, checkEphemeral(v.Ephemeral, p.Child(src))...)
			case "projected":
				errs = append(errs, checkProjected(v.Projected, p.Child("projected"))...)
			case "secret":
				errs = append(errs, field.Forbidden(p.Child(src), noSecrets))
			case "hostPath":
				errs = append(errs, field.Forbidden(p.Child(src), "a runtime pod never mounts the node's filesystem"))
			default:
				errs = append(errs, field.Forbidden(p.Child(src),
					"a template's volumes are emptyDir, persistentVolumeClaim, ephemeral, configMap, downwardAPI or projected configMaps"))
			}
		}
	}
	return errs
}

// checkEphemeral keeps a generic ephemeral volume to a new, empty claim
// of the namespace's storage: naming a PersistentVolume could bind an
// admin's hostPath or local volume, and a data source clones another
// claim or snapshot.
func checkEphemeral(v *corev1.EphemeralVolumeSource, p *field.Path) (errs field.ErrorList) {
	if v.VolumeClaimTemplate == nil {
		return nil
	}
	spec, sp := v.VolumeClaimTemplate.Spec, p.Child("volumeClaimTemplate", "spec")
	if spec.VolumeName != "" {
		errs = append(errs, field.Forbidden(sp.Child("volumeName"), "an ephemeral volume is a new claim; it binds no PersistentVolume by name"))
	}
	if spec.DataSource != nil {
		errs = append(errs, field.Forbidden(sp.Child("dataSource"), "an ephemeral volume starts empty; it clones no claim or snapshot"))
	}
	if spec.DataSourceRef != nil {
		errs = append(errs, field.Forbidden(sp.Child("dataSourceRef"), "an ephemeral volume starts empty; it clones no claim or snapshot"))
	}
	return errs
}

func checkProjected(v *corev1.ProjectedVolumeSource, p *field.Path) (errs field.ErrorList) {
	for j, s := range v.Sources {
		for _, src := range setFields(s) {
			switch src {
			case "configMap", "downwardAPI":
			case "serviceAccountToken":
				errs = append(errs, field.Forbidden(p.Child("sources").Index(j).Child(src), noToken))
			case "secret":
				errs = append(errs, field.Forbidden(p.Child("sources").Index(j).Child(src), noSecrets))
			default:
				errs = append(errs, field.Forbidden(p.Child("sources").Index(j).Child(src), "a template projects configMaps and downwardAPI only"))
			}
		}
	}
	return errs
}

// checkContainer checks a sidecar, or the overlay on the runtime container.
func checkContainer(c *corev1.Container, p *field.Path) (errs field.ErrorList) {
	switch {
	case slices.Contains(krtContainers, c.Name):
		return append(errs, field.Forbidden(p.Child("name"),
			fmt.Sprintf("container %q is krt's: a template may neither replace nor change it", c.Name)))
	case c.Name == "":
		errs = append(errs, field.Required(p.Child("name"), "runtime, to change the runtime container, or a sidecar's name"))
	case c.Name == RuntimeContainer:
		errs = append(errs, checkRuntimeContainer(c, p)...)
	case c.Image == "":
		errs = append(errs, field.Required(p.Child("image"), "a sidecar needs an image"))
	}
	for _, k := range setFields(c.SecurityContext) {
		errs = append(errs, field.Forbidden(p.Child("securityContext", k), whyNot["securityContext"]))
	}
	for j, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			errs = append(errs, field.Forbidden(p.Child("env").Index(j).Child("valueFrom", "secretKeyRef"), noSecrets))
		}
	}
	for j, e := range c.EnvFrom {
		if e.SecretRef != nil {
			errs = append(errs, field.Forbidden(p.Child("envFrom").Index(j).Child("secretRef"), noSecrets))
		}
	}
	errs = append(errs, checkNodeReach(c, p)...)
	for j, port := range c.Ports {
		if port.HostPort != 0 {
			errs = append(errs, field.Forbidden(p.Child("ports").Index(j).Child("hostPort"), "a runtime pod never takes the node's ports"))
		}
	}
	for j, m := range c.VolumeMounts {
		if slices.Contains(krtVolumes, m.Name) {
			errs = append(errs, field.Forbidden(p.Child("volumeMounts").Index(j).Child("name"), fmt.Sprintf("volume %q is %s", m.Name, krtsOwn)))
		}
		if c.Name == RuntimeContainer && overlaps(m.MountPath, runtimePaths) {
			errs = append(errs, field.Forbidden(p.Child("volumeMounts").Index(j).Child("mountPath"),
				fmt.Sprintf("%s and /tmp are krt's in the runtime container; mount elsewhere, such as /workspace", sharedMount)))
		}
	}
	return errs
}

// checkNodeReach refuses what the kubelet would do from the node on a
// container's behalf, or put under krt's paths: probes and hooks that name
// a host (requests from the node's network, to its services or a cloud's
// metadata; baseline Pod Security refuses them too), raw block devices
// (in exclusive, one Run's writes would reach the next), and a
// termination message file, which the kubelet bind-mounts where it is
// told, /krt included.
func checkNodeReach(c *corev1.Container, p *field.Path) (errs field.ErrorList) {
	handlers := map[string]*corev1.ProbeHandler{}
	for name, probe := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe, "startupProbe": c.StartupProbe} {
		if probe != nil {
			handlers[name] = &probe.ProbeHandler
		}
	}
	for name, h := range handlers {
		if (h.HTTPGet != nil && h.HTTPGet.Host != "") || (h.TCPSocket != nil && h.TCPSocket.Host != "") {
			errs = append(errs, field.Forbidden(p.Child(name), "a probe checks its own pod; it names no host"))
		}
	}
	if l := c.Lifecycle; l != nil {
		for name, h := range map[string]*corev1.LifecycleHandler{"postStart": l.PostStart, "preStop": l.PreStop} {
			if h != nil && ((h.HTTPGet != nil && h.HTTPGet.Host != "") || (h.TCPSocket != nil && h.TCPSocket.Host != "")) {
				errs = append(errs, field.Forbidden(p.Child("lifecycle", name), "a hook reaches its own pod; it names no host"))
			}
		}
	}
	if len(c.VolumeDevices) > 0 {
		errs = append(errs, field.Forbidden(p.Child("volumeDevices"), "a runtime pod takes no raw block devices"))
	}
	if c.Name == RuntimeContainer && c.TerminationMessagePath != "" && overlaps(c.TerminationMessagePath, runtimePaths) {
		errs = append(errs, field.Forbidden(p.Child("terminationMessagePath"), fmt.Sprintf("%s and /tmp are krt's in the runtime container", sharedMount)))
	}
	for j, e := range c.Env {
		if strings.HasPrefix(e.Name, "KRT_") {
			errs = append(errs, field.Forbidden(p.Child("env").Index(j).Child("name"), "KRT_ variables are krt's to set"))
		}
	}
	return errs
}

// checkWipe keeps the isolated modes' promise. Between Runs krt-runtime
// wipes /krt and /tmp only; in exclusive a pod's volumes outlive each Run,
// and in ephemeral a PVC outlives each pod. A writable mount of such a
// volume would carry one Run's files to the next, so it must be read-only.
func checkWipe(rt *krtv1.Runtime, vols []corev1.Volume, c *corev1.Container, p *field.Path) (errs field.ErrorList) {
	outlives := map[krtv1.Isolation][]string{
		krtv1.IsolationExclusive: {"emptyDir", "persistentVolumeClaim", "ephemeral"},
		krtv1.IsolationEphemeral: {"persistentVolumeClaim"},
	}[rt.Mode()]
	for j, m := range c.VolumeMounts {
		for _, v := range vols {
			if v.Name != m.Name || m.ReadOnly || !slices.ContainsFunc(setFields(v.VolumeSource), func(k string) bool { return slices.Contains(outlives, k) }) {
				continue
			}
			errs = append(errs, field.Required(p.Child("volumeMounts").Index(j).Child("readOnly"), fmt.Sprintf(
				"isolation %s wipes only %s and /tmp between Runs, and volume %q outlives a Run, so a writable mount would carry "+
					"one Run's files to the next; mount it readOnly, or use isolation shared", rt.Mode(), sharedMount, v.Name)))
		}
	}
	return errs
}

// checkRuntimeContainer: the runtime container's image is spec.image, and
// krt-runtime's flags are krt's (one would turn off the socket's uid
// check). A command replaces krt-runtime altogether.
func checkRuntimeContainer(c *corev1.Container, p *field.Path) (errs field.ErrorList) {
	if c.Image != "" {
		errs = append(errs, field.Forbidden(p.Child("image"), "the runtime container's image is spec.image"))
	}
	for j, e := range c.Env {
		if e.Name == "HOME" || e.Name == "TMPDIR" {
			errs = append(errs, field.Forbidden(p.Child("env").Index(j).Child("name"),
				e.Name+" is krt's: the isolated modes wipe it between Runs"))
		}
	}
	if len(c.Args) > 0 && len(c.Command) == 0 {
		errs = append(errs, field.Forbidden(p.Child("args"),
			"krt-runtime's flags are krt's; give a command as well to run a Runtime Server of your own"))
	}
	return errs
}

// overlaps says whether a mount at p would be on, under or above one of
// paths.
func overlaps(p string, paths []string) bool {
	p = path.Clean("/" + p)
	for _, q := range paths {
		if p == q || strings.HasPrefix(p, q+"/") || p == "/" || strings.HasPrefix(q, p+"/") {
			return true
		}
	}
	return false
}

// setFields are the JSON names of the fields set in v, a struct of
// optional fields: the kind of a volume source, or what a security
// context tries to change.
func setFields(v any) []string {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return sortedKeys(m)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
