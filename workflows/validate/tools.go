package validate

import (
	"fmt"
	"slices"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/parse"
)

// tool checks what a Tool's own text can get wrong: environment entries
// that are not NAME=VALUE or name no Secret, and volumes that collide.
func tool(d *parse.Document, t *krtv1.ToolSpec) []*parse.Error {
	var errs []*parse.Error
	for i, entry := range t.Environment {
		one := krtv1.ToolSpec{Environment: krtv1.Environment{entry}, Volumes: t.Volumes}
		if _, err := one.ResolveEnvironment(); err != nil {
			_, msg, _ := strings.Cut(err.Error(), ": ")
			errs = append(errs, at(d, fmt.Sprintf("spec.environment[%d]", i), "%s", msg))
		}
	}
	names, paths := map[string]bool{}, map[string]bool{}
	for i, v := range t.Volumes {
		field := fmt.Sprintf("spec.volumes[%d]", i)
		switch {
		case names[v.Name]:
			errs = append(errs, at(d, field+".name", "volume %q is given twice", v.Name))
		case paths[v.Path()]:
			errs = append(errs, at(d, field, "two volumes are mounted at %s", v.Path()))
		}
		names[v.Name], paths[v.Path()] = true, true
	}
	return errs
}

// ToolSecrets checks every Tool of the folder against the Runtimes it can
// run on, when they are known: the one it names, or those of its image. A
// Tool reading a Secret that none of them allows would only fail at run
// time; this says so at the line that names the Secret.
func ToolSecrets(docs []parse.Document, runtimes []krtv1.Runtime) []*parse.Error {
	var errs []*parse.Error
	for i := range docs {
		t, ok := docs[i].Object.(*krtv1.Tool)
		if !ok {
			continue
		}
		candidates := runtimesFor(&t.Spec, runtimes)
		if len(candidates) == 0 {
			continue
		}
		for _, u := range secretUses(&t.Spec) {
			if !anyAllows(candidates, u.secret) {
				errs = append(errs, at(&docs[i], u.field, "Secret %q is not allowed by Runtime %s: add it to its spec.secrets",
					u.secret, runtimeNames(candidates)))
			}
		}
	}
	return errs
}

// runtimesFor lists the Runtimes a tool may run on, among those known.
func runtimesFor(t *krtv1.ToolSpec, runtimes []krtv1.Runtime) []krtv1.Runtime {
	var out []krtv1.Runtime
	for _, rt := range runtimes {
		if (t.Runtime != "" && rt.Name == t.Runtime) || (t.Runtime == "" && krtv1.SameImage(t.Image, rt.Spec.Image)) {
			out = append(out, rt)
		}
	}
	return out
}

type secretUse struct{ field, secret string }

// secretUses lists each Secret a tool reads, with where it is written.
func secretUses(t *krtv1.ToolSpec) []secretUse {
	var out []secretUse
	for i, v := range t.Volumes {
		out = append(out, secretUse{fmt.Sprintf("spec.volumes[%d].secret", i), v.Secret})
	}
	for i, entry := range t.Environment {
		one := krtv1.ToolSpec{Environment: krtv1.Environment{entry}, Volumes: t.Volumes}
		if env, err := one.ResolveEnvironment(); err == nil && len(env.SecretEnv) == 1 {
			out = append(out, secretUse{fmt.Sprintf("spec.environment[%d]", i), env.SecretEnv[0].SecretKeyRef.Name})
		}
	}
	for i, se := range t.SecretEnv {
		out = append(out, secretUse{fmt.Sprintf("spec.secretEnv[%d].secretKeyRef.name", i), se.SecretKeyRef.Name})
	}
	return out
}

func anyAllows(rts []krtv1.Runtime, secret string) bool {
	return slices.ContainsFunc(rts, func(rt krtv1.Runtime) bool { return slices.Contains(rt.Spec.Secrets, secret) })
}

func runtimeNames(rts []krtv1.Runtime) string {
	names := make([]string, len(rts))
	for i, rt := range rts {
		names[i] = rt.Name
	}
	return strings.Join(names, ", ")
}
