package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Paths shared by the containers of a runtime pod, on one emptyDir.
const (
	sharedMount = "/krt"
	// RuntimeBinary is where the init container copies krt-runtime, so any
	// image can run it.
	RuntimeBinary = sharedMount + "/bin/krt-runtime"
	// RuntimeSocket is the Runtime Server's gRPC address.
	RuntimeSocket = "unix://" + sharedMount + "/run/runtime.sock"
	// WorkRoot holds the Runtime Server's executions, one directory each.
	WorkRoot = sharedMount + "/work"
	// LogsPort is runtimed's log server port in a cluster.
	LogsPort = 8081
	// MetricsPort is runtimed's Prometheus metrics port in a cluster.
	MetricsPort = 8082
	// nonRootUID runs every container: images such as python:3.13-slim
	// default to root, which the restricted Pod Security Standard refuses.
	nonRootUID = 65532
	// RuntimedUID runs runtimed and the init container instead: the
	// runtime socket serves that uid only (the kernel says who connects),
	// and steps, running as nonRootUID, cannot replace krt-runtime's
	// binary.
	RuntimedUID = 65533
)

// The containers of a runtime pod, and where the krt-runtimed image (which
// `make images` builds, in hack/images) keeps its binaries.
const (
	RuntimeContainer  = "runtime"
	RuntimedContainer = "runtimed"
	installContainer  = "install-runtime"
	ImageRuntimed     = "/runtimed"
	ImageKrtRuntime   = "/krt-runtime"
)

// PodOptions are the parts of a runtime pod that come from krt's own
// install rather than from the Runtime.
type PodOptions struct {
	// RuntimedImage holds the runtimed and krt-runtime binaries.
	RuntimedImage string
	// LogsPort overrides LogsPort; the local pool gives each pod its own.
	LogsPort int32
	// MetricsPort overrides MetricsPort, likewise.
	MetricsPort int32
	// ArtifactStore is the one the Runtime names, when it exists: a
	// filesystem store with a claim has it mounted in runtimed's container.
	// Nil when the Runtime names none or it is missing; runtimed then says
	// so on each Run that needs it.
	ArtifactStore *krtv1.ArtifactStore
}

// restricted is a container security context that passes the restricted
// Pod Security Standard.
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// PodTemplate is krt's own pod for a Runtime: the runtime container on
// the Runtime's image running krt-runtime, and the runtimed sidecar. The
// Deployment runs it with the Runtime's template merged on (Pod); the
// local pool runs it as it is.
func PodTemplate(rt *krtv1.Runtime, opts PodOptions) corev1.PodTemplateSpec {
	if opts.LogsPort == 0 {
		opts.LogsPort = LogsPort
	}
	if opts.MetricsPort == 0 {
		opts.MetricsPort = MetricsPort
	}
	shared := []corev1.VolumeMount{{Name: "krt", MountPath: sharedMount}}
	capacity := rt.PodCapacity()
	return corev1.PodTemplateSpec{
		ObjectMeta: metaForPod(rt, capacity),
		Spec: corev1.PodSpec{
			ServiceAccountName: ServiceAccountName(rt),
			// No container gets the account's token by default: a step's
			// script must hold no Kubernetes credential. runtimed alone
			// mounts one, projected below.
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To(int64(60)),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(nonRootUID)), RunAsGroup: ptr.To(int64(nonRootUID)),
				FSGroup: ptr.To(int64(nonRootUID)), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Volumes: append([]corev1.Volume{
				{Name: "krt", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				runtimedToken(),
			}, storeVolumes(opts.ArtifactStore)...),
			InitContainers: []corev1.Container{{
				Name: installContainer, Image: opts.RuntimedImage,
				Command:         []string{ImageKrtRuntime, "--install", RuntimeBinary},
				SecurityContext: asRuntimed(restricted()), VolumeMounts: shared,
			}},
			Containers: []corev1.Container{runtimeContainer(rt, shared), runtimedContainer(rt, opts, shared)},
		},
	}
}

func metaForPod(rt *krtv1.Runtime, capacity int32) (m metav1.ObjectMeta) {
	m.Labels = labels(rt)
	m.Annotations = map[string]string{krtv1.AnnotationCapacity: strconv.Itoa(int(capacity))}
	return m
}

// asRuntimed runs a container as RuntimedUID, in the pod's group (its
// fsGroup), so it may use the runtime socket and its binaries are not the
// steps' to change.
func asRuntimed(c *corev1.SecurityContext) *corev1.SecurityContext {
	c.RunAsUser = ptr.To(int64(RuntimedUID))
	return c
}

// runtimeCommand runs krt-runtime with the Runtime's isolation. Isolated
// modes wipe the whole shared volume and /tmp between Runs; krt-runtime
// keeps its own socket and binary.
func runtimeCommand(rt *krtv1.Runtime) []string {
	cmd := []string{RuntimeBinary, "--listen", RuntimeSocket, "--work-root", WorkRoot,
		"--runtimed-uid", strconv.Itoa(RuntimedUID), "--isolation", string(rt.Mode())}
	if rt.Mode() != krtv1.IsolationShared {
		cmd = append(cmd, "--wipe", sharedMount, "--wipe", "/tmp")
	}
	return cmd
}

func runtimeContainer(rt *krtv1.Runtime, shared []corev1.VolumeMount) corev1.Container {
	c := corev1.Container{
		Name:            RuntimeContainer,
		Image:           rt.Spec.Image,
		Command:         runtimeCommand(rt),
		Env:             []corev1.EnvVar{{Name: "HOME", Value: WorkRoot}, {Name: "TMPDIR", Value: "/tmp"}},
		SecurityContext: restricted(),
		VolumeMounts:    append(shared, corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}),
		ReadinessProbe: probe(corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{RuntimeBinary, "--probe", RuntimeSocket}},
		}),
	}
	if rt.Spec.Resources != nil {
		c.Resources = *rt.Spec.Resources
	}
	return c
}

func runtimedContainer(rt *krtv1.Runtime, opts PodOptions, shared []corev1.VolumeMount) corev1.Container {
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	langs := make([]string, 0, len(rt.Spec.Languages))
	for _, l := range rt.Spec.Languages {
		langs = append(langs, string(l))
	}
	health := probe(corev1.ProbeHandler{
		HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(krtv1.LogsPortName), Scheme: corev1.URISchemeHTTP},
	})
	return corev1.Container{
		Name:  RuntimedContainer,
		Image: opts.RuntimedImage,
		Command: []string{ImageRuntimed, "--runtime", rt.Name, "--languages", strings.Join(langs, ","),
			"--allowed-secrets", strings.Join(rt.Spec.Secrets, ","),
			"--runtime-address", RuntimeSocket, "--logs-address", ":" + strconv.Itoa(int(opts.LogsPort)),
			"--metrics-address", ":" + strconv.Itoa(int(opts.MetricsPort)), "--isolation", string(rt.Mode()),
			"--artifact-store", rt.Spec.ArtifactStore, "--runtime-image", rt.Spec.Image},
		Env: []corev1.EnvVar{field("POD_NAME", "metadata.name"), field("POD_NAMESPACE", "metadata.namespace"), field("POD_UID", "metadata.uid")},
		Ports: []corev1.ContainerPort{
			{Name: krtv1.LogsPortName, ContainerPort: opts.LogsPort, Protocol: corev1.ProtocolTCP},
			{Name: krtv1.MetricsPortName, ContainerPort: opts.MetricsPort, Protocol: corev1.ProtocolTCP},
		},
		SecurityContext: asRuntimed(restricted()),
		VolumeMounts: append(append(append([]corev1.VolumeMount(nil), shared...),
			corev1.VolumeMount{Name: tokenVolume, MountPath: TokenDir, ReadOnly: true}), storeMounts(opts.ArtifactStore)...),
		ReadinessProbe: health,
		LivenessProbe:  health,
		Resources:      runtimedResources(rt),
	}
}

// runtimedResources are the Runtime's for runtimed, or a small request:
// runtimed idles between Runs, and a pool's pods should fit anywhere.
func runtimedResources(rt *krtv1.Runtime) corev1.ResourceRequirements {
	if rt.Spec.RuntimedResources != nil {
		return *rt.Spec.RuntimedResources.DeepCopy()
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("48Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
}

// storeVolume holds a filesystem ArtifactStore's claim.
const storeVolume = "artifact-store"

// storeVolumes is the claim of a filesystem ArtifactStore that names one;
// only runtimed mounts it, so a step cannot reach the store's files.
func storeVolumes(as *krtv1.ArtifactStore) []corev1.Volume {
	if as == nil || as.Spec.Filesystem == nil || as.Spec.Filesystem.ClaimName == "" {
		return nil
	}
	return []corev1.Volume{{Name: storeVolume, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: as.Spec.Filesystem.ClaimName}}}}
}

func storeMounts(as *krtv1.ArtifactStore) []corev1.VolumeMount {
	if len(storeVolumes(as)) == 0 {
		return nil
	}
	return []corev1.VolumeMount{{Name: storeVolume, MountPath: as.Spec.Filesystem.Path}}
}

// TokenDir is where runtimed finds its token, the path client-go's
// in-cluster config reads.
const TokenDir = "/var/run/secrets/kubernetes.io/serviceaccount"

const tokenVolume = "runtimed-token"

// tokenLifetime is the projected token's; the kubelet renews it at 80%.
const tokenLifetime = 3600

// runtimedToken is the projected volume a kubelet would otherwise mount in
// every container: a short-lived token bound to the pod and to the API
// server's audience, with the CA and namespace beside it.
func runtimedToken() corev1.Volume {
	return corev1.Volume{Name: tokenVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To(int32(0o444)),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To(int64(tokenLifetime))}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}}
}

// probe spells out the API server's defaults, so that comparing the live
// Deployment with the wanted one finds no difference where there is none.
func probe(h corev1.ProbeHandler) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: h, TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
}

// deployment is the Runtime's Deployment. Its replicas are krt's, from
// the Runtime (spec.replicas, or autoscaling), plus the pods still
// draining: the Runtime is the scale target, and a count set on the
// Deployment directly is put back.
func deployment(rt *krtv1.Runtime, opts PodOptions, replicas int32) (*appsv1.Deployment, error) {
	tmpl, err := Pod(rt, opts)
	if err != nil {
		return nil, err
	}
	m := meta(rt, Name(rt))
	m.Annotations = map[string]string{annotationPodDigest: podDigest(tmpl)}
	return &appsv1.Deployment{
		ObjectMeta: m,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{krtv1.LabelRuntime: rt.Name}},
			Template: tmpl,
		},
	}, nil
}

// annotationPodDigest on a runtime Deployment is the digest of the pod
// template krt last wanted, so that a field dropped from the Runtime's
// template is dropped from the Deployment too.
const annotationPodDigest = "krt.dev/pod-template-digest"

func podDigest(t corev1.PodTemplateSpec) string {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err) // a PodTemplateSpec always encodes
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
