package runtimed

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// memoKey names everything that decides what a step does: the runtime and
// its image, the script or command, env, the Secrets it reads (by name and
// version, never by value: a rotated Secret is a new input, and a key
// derived from a value could be guessed at), the artifacts it takes in and
// what it hands on. Two Runs with one key would do the same thing.
func memoKey(run *krtv1.Run, image string, secrets secretCache) string {
	s := run.Spec
	in := struct {
		Runtime, Image, Language, Script string
		Command, Args                    []string
		Env                              []krtv1.EnvVar
		Secrets                          []string
		Artifacts                        *krtv1.RunArtifacts
		Cache                            *krtv1.RunCache
	}{s.Runtime, image, string(s.Language), s.Script, s.Command, s.Args, sortedEnv(s.Env), secretVersions(secrets), s.Artifacts, s.Cache}
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sortedEnv(env []krtv1.EnvVar) []krtv1.EnvVar {
	out := slices.Clone(env)
	slices.SortFunc(out, func(a, b krtv1.EnvVar) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func secretVersions(secrets secretCache) []string {
	out := make([]string, 0, len(secrets))
	for name, s := range secrets {
		out = append(out, name+"@"+s.ResourceVersion)
	}
	slices.Sort(out)
	return out
}

// originNamespace and originName are the WorkflowRun a Run belongs to, in
// the hub: what the maintainer asks about. A Run of no WorkflowRun has
// its own namespace and no name.
func originNamespace(run *krtv1.Run) string {
	if ns, _, ok := strings.Cut(run.Annotations[krtv1.AnnotationOrigin], "/"); ok && ns != "" {
		return ns
	}
	return run.Namespace
}

func originName(run *krtv1.Run) string {
	_, name, _ := strings.Cut(run.Annotations[krtv1.AnnotationOrigin], "/")
	return name
}
