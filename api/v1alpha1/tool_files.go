package v1alpha1

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// ToolVolume mounts the keys of a Secret as files, as the documents' tools
// write `volumes:`. A Secret of one key is that file; a Secret of several
// keys is a directory holding one file per key.
type ToolVolume struct {
	// Name is the volume's name, and its default path /secrets/<name>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$`
	Name string `json:"name"`
	// Secret names a Secret that the Runtime allows (spec.secrets).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Secret string `json:"secret"`
	// MountPath is where the tool expects the file(s); /secrets/<name> when
	// empty. A process cannot be given a mount at run time, so krt-runtime
	// writes the files into the Run's private directory and rewrites this
	// path, wherever env, command or args name it, to theirs.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	// +optional
	MountPath string `json:"mountPath,omitempty"`
}

// Path is where the tool reads the volume.
func (v ToolVolume) Path() string {
	if v.MountPath != "" {
		return path.Clean(v.MountPath)
	}
	return SecretsPrefix + v.Name
}

// SecretFile is a Secret whose keys runtimed hands to the Run as files,
// mode 0400, in a directory private to the Run.
type SecretFile struct {
	// Name is the file's (or directory's) name under $KRT_SECRETS_DIR.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$`
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Secret string `json:"secret"`
	// MountPath is the path the Run's env, command and args use for it;
	// krt-runtime rewrites it to the real one.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	// +optional
	MountPath string `json:"mountPath,omitempty"`
}

// Environment is NAME=VALUE entries, as the documents' tools write them.
// +kubebuilder:validation:items:MaxLength=65536
// +kubebuilder:validation:items:Pattern=`^[A-Za-z_][A-Za-z0-9_]*=`
type Environment []string

// SecretsPrefix is what a value of `environment` starts with to name a
// secret file.
const SecretsPrefix = "/secrets/"

var (
	envEntryRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	secretKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	secretNmRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
)

// EnvironmentEntry splits one `K=V` entry. A value wrapped in one pair of
// matching quotes loses them, as a shell would read MESSAGE="a b".
func EnvironmentEntry(entry string) (name, value string, err error) {
	if !envEntryRE.MatchString(entry) {
		return "", "", fmt.Errorf("%q is not NAME=VALUE (NAME is a letter or _ then letters, digits or _)", entry)
	}
	name, value, _ = strings.Cut(entry, "=")
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		value = value[1 : len(value)-1]
	}
	return name, value, nil
}

// ToolEnvironment is what a Tool's `environment` gives a Run: plain env,
// and secret env for values /secrets/NAME that no volume covers.
type ToolEnvironment struct {
	Env       []EnvVar
	SecretEnv []SecretEnvVar
}

// ResolveEnvironment reads a Tool's environment. A value /secrets/NAME
// under one of its volumes' paths stays a path (KUBECONFIG wants a file);
// any other /secrets/NAME is the content of key NAME of the Secret NAME,
// with _ written as - (Secret names cannot hold _).
func (t *ToolSpec) ResolveEnvironment() (ToolEnvironment, error) {
	var out ToolEnvironment
	for i, entry := range t.Environment {
		name, value, err := EnvironmentEntry(entry)
		if err != nil {
			return out, fmt.Errorf("environment[%d]: %w", i, err)
		}
		ref, isSecret, err := t.secretRef(value)
		switch {
		case err != nil:
			return out, fmt.Errorf("environment[%d]: %w", i, err)
		case isSecret:
			out.SecretEnv = append(out.SecretEnv, SecretEnvVar{Name: name, SecretKeyRef: ref})
		default:
			out.Env = append(out.Env, EnvVar{Name: name, Value: value})
		}
	}
	return out, nil
}

func (t *ToolSpec) secretRef(value string) (SecretKeySelector, bool, error) {
	key, ok := strings.CutPrefix(value, SecretsPrefix)
	if !ok || t.UnderVolume(value) {
		return SecretKeySelector{}, false, nil
	}
	secret := strings.ReplaceAll(key, "_", "-")
	if !secretKeyRE.MatchString(key) || !secretNmRE.MatchString(secret) {
		return SecretKeySelector{}, false, fmt.Errorf("%s%s names no volume, and %q cannot be a Secret's name", SecretsPrefix, key, secret)
	}
	return SecretKeySelector{Name: secret, Key: key}, true, nil
}

// UnderVolume is true when p is one of the tool's volume paths or under one.
func (t *ToolSpec) UnderVolume(p string) bool {
	for _, v := range t.Volumes {
		if vp := v.Path(); p == vp || strings.HasPrefix(p, vp+"/") {
			return true
		}
	}
	return false
}

// SecretFiles is the Run's secretFiles for the tool's volumes.
func (t *ToolSpec) SecretFiles() []SecretFile {
	var out []SecretFile
	for _, v := range t.Volumes {
		out = append(out, SecretFile{Name: v.Name, Secret: v.Secret, MountPath: v.Path()})
	}
	return out
}

// Secrets lists every Secret the tool reads, by volume or environment.
func (t *ToolSpec) Secrets() []string {
	var out []string
	for _, v := range t.Volumes {
		out = append(out, v.Secret)
	}
	if env, err := t.ResolveEnvironment(); err == nil {
		for _, s := range env.SecretEnv {
			out = append(out, s.SecretKeyRef.Name)
		}
	}
	for _, s := range t.SecretEnv {
		out = append(out, s.SecretKeyRef.Name)
	}
	return out
}
