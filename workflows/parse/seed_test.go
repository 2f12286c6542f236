package parse

import (
	"reflect"
	"testing"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// parseOne parses a file that must hold exactly one good document.
func parseOne(t *testing.T, name string, data []byte) Document {
	t.Helper()
	docs, errs := File(name, data)
	if len(errs) != 0 || len(docs) != 1 {
		t.Fatalf("docs=%d errs=%v", len(docs), errs)
	}
	return docs[0]
}

func TestSeedExample(t *testing.T) {
	d := parseOne(t, "seed-dialect.yaml", readExamples(t)["seed-dialect.yaml"])
	if d.Dialect != DialectSeed {
		t.Errorf("dialect %q", d.Dialect)
	}
	wf := d.Object.(*krtv1.Workflow)
	if wf.Kind != "Workflow" || wf.APIVersion != "krt.dev/v1alpha1" || wf.Name != "nightly-report" {
		t.Errorf("type/name: %v %v", wf.TypeMeta, wf.Name)
	}
	if wf.Spec.On.Manual == nil || wf.Spec.On.Push != nil || wf.Spec.On.PullRequest != nil || len(wf.Spec.On.Schedule) != 0 {
		t.Errorf("triggers: %+v", wf.Spec.On)
	}
	pub := wf.Spec.Steps[2]
	want := krtv1.Step{
		Name: "publish", Cluster: "staging", Runtime: "bash", Uses: "publish-report",
		Needs: []string{"check"}, If: `steps["check"].status == "success"`,
		With: map[string]string{"rows": `${{ steps["collect"].outputs["rows"] }}`},
	}
	if !reflect.DeepEqual(pub, want) {
		t.Errorf("publish step:\n got %+v\nwant %+v", pub, want)
	}
	if got := wf.Spec.Steps[1].With; got["value"] != `${{ steps["collect"].outputs["rows"] }}` || got["minimum"] != "10" {
		t.Errorf("check inputs: %v", got)
	}
}

func TestSeedFields(t *testing.T) {
	in := `name: full
description: every field
params:
  REGION: eu
env:
  TOKEN:
steps:
  - name: a
    runner: bash
    env: {WHERE: "${REGION}-${a.out}"}
    script: echo ${REGION} ${a.out} ${b.status} ${HOME:-x}
    outputs: [out]
    timeout: 90s
    retries: 3
  - name: b
    depends_on: a
    condition: "'${a.out}' == ${REGION} && ${TOKEN} != ''"
    command: run-it
`
	wf := parseOne(t, "full.yaml", []byte(in)).Object.(*krtv1.Workflow)
	eu := "eu"
	if want := []krtv1.Param{{Name: "REGION", Default: &eu}, {Name: "TOKEN"}}; !reflect.DeepEqual(wf.Spec.Params, want) {
		t.Errorf("params %+v", wf.Spec.Params)
	}
	if wf.Annotations[AnnotationDescription] != "every field" {
		t.Errorf("annotations %v", wf.Annotations)
	}
	a, b := wf.Spec.Steps[0], wf.Spec.Steps[1]
	if a.Env["WHERE"] != `${{ params["REGION"] }}-${{ steps["a"].outputs["out"] }}` {
		t.Errorf("env %q", a.Env["WHERE"])
	}
	if a.Run != `echo ${REGION} ${{ steps["a"].outputs["out"] }} ${{ steps["b"].status }} ${HOME:-x}` {
		t.Errorf("run %q", a.Run)
	}
	if a.Timeout.Duration != 90*time.Second || a.Retries.Limit != 3 || a.Runner != "bash" || a.Runtime != "" || a.Cluster != "" {
		t.Errorf("step a %+v", a)
	}
	if !reflect.DeepEqual(b.Needs, []string{"a"}) || b.Run != "run-it" {
		t.Errorf("step b %+v", b)
	}
	if b.If != `steps["a"].outputs["out"] == params["REGION"] && params["TOKEN"] != ''` {
		t.Errorf("if %q", b.If)
	}
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		fn       func(string) string
		in, want string
	}{
		{rewriteCondition, `${check.status} == "success"`, `steps["check"].status == "success"`},
		{rewriteCondition, `"${check.status}" == "success"`, `steps["check"].status == "success"`},
		{rewriteCondition, `${n} > 3`, `params["n"] > 3`},
		{rewriteCondition, `${my-var} > 3`, `${my-var} > 3`},
		{rewriteCondition, `${{ x }}`, `${{ x }}`},
		{rewriteValue, `${deploy-staging.url}/x`, `${{ steps["deploy-staging"].outputs["url"] }}/x`},
		{rewriteValue, `${VAR}`, `${{ params["VAR"] }}`},
		{rewriteValue, `${{ params.x }}`, `${{ params.x }}`},
		{rewriteValue, `${a.b.c}`, `${a.b.c}`},
		{rewriteScript, `echo ${VAR} ${a.b}`, `echo ${VAR} ${{ steps["a"].outputs["b"] }}`},
		{rewriteScript, `echo ${VAR:-x} $HOME`, `echo ${VAR:-x} $HOME`},
	}
	for _, tc := range tests {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPos(t *testing.T) {
	ex := readExamples(t)
	promote := parseOne(t, "promote.yaml", ex["promote.yaml"])
	seed := parseOne(t, "seed-dialect.yaml", ex["seed-dialect.yaml"])
	tests := []struct {
		doc   Document
		field string
		line  int
		user  string
	}{
		{promote, "metadata.name", 5, "metadata.name"},
		{promote, "spec.steps[1].needs[0]", 29, "spec.steps[1].needs[0]"},
		{promote, "spec.steps[4].if", 57, "spec.steps[4].if"},
		{promote, "spec.finally[0].run", 69, "spec.finally[0].run"},
		{promote, "spec.steps[0].env.VERSION", 25, "spec.steps[0].env.VERSION"},
		{promote, "spec.steps[3].approval.approvers[0]", 53, "spec.steps[3].approval.approvers[0]"},
		{promote, "spec.on.when", 7, "spec.on"},
		{promote, "spec.steps[9].name", 18, "spec.steps"},
		{promote, "nothing.here", 2, ""},
		{seed, "metadata.name", 9, "name"},
		{seed, "spec.steps[2].needs[0]", 26, "steps[2].depends_on[0]"},
		{seed, "spec.steps[2].if", 27, "steps[2].condition"},
		{seed, "spec.steps[2].cluster", 24, "steps[2].runner"},
		{seed, "spec.steps[1].with.value", 21, "steps[1].inputs.value"},
		{seed, "spec.steps[0].uses", 13, "steps[0].tool"},
		{seed, "spec.steps[0].run", 11, "steps[0]"},
		{seed, "spec.on.manual", 9, ""},
	}
	for _, tc := range tests {
		line, user := tc.doc.Pos(tc.field)
		if line != tc.line || user != tc.user {
			t.Errorf("%s %s: got %d %q, want %d %q", tc.doc.File, tc.field, line, user, tc.line, tc.user)
		}
	}
}

func TestSeedPosParamsAndScalars(t *testing.T) {
	in := "name: p\nenv:\n  B: x\nparams:\n  A: y\nsteps:\n  - name: s\n    depends_on: t\n    retries: 2\n"
	d := parseOne(t, "p.yaml", []byte(in))
	tests := []struct {
		field string
		line  int
		user  string
	}{
		{"spec.params[0].name", 3, "env.B"},
		{"spec.params[1].default", 5, "params.A"},
		{"spec.steps[0].needs[0]", 8, "steps[0].depends_on"},
		{"spec.steps[0].retries.limit", 9, "steps[0].retries"},
	}
	for _, tc := range tests {
		if line, user := d.Pos(tc.field); line != tc.line || user != tc.user {
			t.Errorf("%s: got %d %q, want %d %q", tc.field, line, user, tc.line, tc.user)
		}
	}
}

// The shapes of the reference documents: a top-level workflow: list
// without a name, parallel_tools with environment maps, and a ${VAR}
// naming no step, which becomes a param that a run must give.
func TestSeedShapes(t *testing.T) {
	chain := `workflow:
  - name: build-app
    tool: docker-builder
    outputs:
      - IMAGE_TAG
  - name: deploy-app
    tool: kubernetes-deployer
    inputs:
      IMAGE_TAG: ${build-app.IMAGE_TAG}
      image: myapp:${BUILD_VERSION}
    condition: ${build-app.IMAGE_TAG} != ""
`
	d := parseOne(t, "deploy/tool-chain.yaml", []byte(chain))
	wf := d.Object.(*krtv1.Workflow)
	if wf.Name != "tool-chain" || len(wf.Spec.Steps) != 2 {
		t.Fatalf("name %q, %d steps", wf.Name, len(wf.Spec.Steps))
	}
	if want := []krtv1.Param{{Name: "BUILD_VERSION", Description: "read by the workflow as ${BUILD_VERSION}"}}; !reflect.DeepEqual(wf.Spec.Params, want) {
		t.Errorf("params %+v, want BUILD_VERSION without a default", wf.Spec.Params)
	}
	if line, field := d.Pos("spec.steps[1].with.IMAGE_TAG"); line != 9 || field != "workflow[1].inputs.IMAGE_TAG" {
		t.Errorf("position %d %q", line, field)
	}
	parallel := `parallel_tools:
  - name: check-prod
    tool: health-checker
    environment:
      ENV: production
  - name: check-staging
    tool: health-checker
    environment:
      ENV: staging
`
	wf = parseOne(t, "parallel-health-checks.yml", []byte(parallel)).Object.(*krtv1.Workflow)
	if wf.Name != "parallel-health-checks" || wf.Spec.Steps[1].Env["ENV"] != "staging" || len(wf.Spec.Steps[1].Needs) != 0 {
		t.Errorf("parallel: %+v", wf)
	}
}
