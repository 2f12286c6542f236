package parse

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// seedTool is a tool as the reference documents write one: a top-level
// name with an image, command or script, no apiVersion/kind.
type seedTool struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Image       string            `json:"image,omitempty"`
	Command     []string          `json:"command,omitempty"`
	Args        []string          `json:"args,omitempty"`
	Script      string            `json:"script,omitempty"`
	Language    string            `json:"language,omitempty"`
	Environment krtv1.Environment `json:"environment,omitempty"`
	Volumes     []seedVolume      `json:"volumes,omitempty"`
	Outputs     []string          `json:"outputs,omitempty"`
	Runner      string            `json:"runner,omitempty"`
}

// seedVolume is a Secret mounted as files.
type seedVolume struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	MountPath string `json:"mount_path,omitempty"`
}

// isSeedTool tells a bare tool from a seed workflow: it has something to
// run and no steps.
func isSeedTool(n *yaml.Node) bool {
	return hasKey(n, "name") && !hasKey(n, "steps") && !hasKey(n, "workflow") && !hasKey(n, "parallel_tools") &&
		(hasKey(n, "image") || hasKey(n, "command") || hasKey(n, "script"))
}

// seedToolDoc decodes a bare tool into a native Tool.
func seedToolDoc(file string, n *yaml.Node) (Document, []*Error) {
	w := newWalker(file)
	w.record("", n.Line)
	v := w.walk(n, reflect.TypeOf(seedTool{}), "")
	if len(w.errs) > 0 {
		return Document{}, w.errs
	}
	var s seedTool
	if err := fromValue(v, &s); err != nil {
		return Document{}, []*Error{{File: file, Line: n.Line, Message: err.Error()}}
	}
	t := &krtv1.Tool{
		TypeMeta:   metav1.TypeMeta{APIVersion: krtv1.GroupVersion.String(), Kind: "Tool"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name},
		Spec: krtv1.ToolSpec{Image: s.Image, Command: s.Command, Args: s.Args, Script: s.Script,
			Language: s.Language, Environment: s.Environment, Outputs: s.Outputs, Runtime: s.Runner},
	}
	if s.Description != "" {
		t.Annotations = map[string]string{AnnotationDescription: s.Description}
	}
	for _, v := range s.Volumes {
		t.Spec.Volumes = append(t.Spec.Volumes, krtv1.ToolVolume{Name: v.Name, Secret: v.Secret, MountPath: v.MountPath})
	}
	doc := Document{File: file, Line: n.Line, Dialect: DialectSeed, Object: t, pos: seedToolPositions(w.seen)}
	if errs := checkNames(&doc, "name"); len(errs) > 0 {
		return Document{}, errs
	}
	return doc, nil
}

// seedToolPositions keys the user's paths by the native ones.
func seedToolPositions(seen map[string]position) map[string]position {
	out := make(map[string]position, len(seen))
	rename := strings.NewReplacer("mount_path", "mountPath", "runner", "runtime")
	for user, p := range seen {
		native := "spec." + rename.Replace(user)
		switch user {
		case "":
			native = ""
		case "name":
			native = "metadata.name"
		case "description":
			native = "metadata.annotations." + AnnotationDescription
		}
		out[native] = position{line: p.line, user: user, block: p.block}
	}
	return out
}
