package dag

import (
	"slices"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A step waits for every step it reads, wherever it reads it, in the
// seed dialect's rewritten form and the native one alike.
func TestReadsAreNeeds(t *testing.T) {
	list := []krtv1.Step{{Name: "backup"}, {Name: "restore"}, {Name: "tests"}, {Name: "build"}, {Name: "items"}}
	cases := []struct {
		name string
		step krtv1.Step
		want []string
	}{
		{"input", krtv1.Step{Name: "s", With: map[string]string{"loc": `${{ steps["backup"].outputs["url"] }}`}}, []string{"backup"}},
		{"condition", krtv1.Step{Name: "s", If: `steps["tests"].status == "success"`}, []string{"tests"}},
		{"env", krtv1.Step{Name: "s", Env: map[string]string{"X": "${{ steps.restore.outputs.endpoint }}"}}, []string{"restore"}},
		{"run", krtv1.Step{Name: "s", Run: "echo ${{ steps.build.outputs.tag }}"}, []string{"build"}},
		{"forEach", krtv1.Step{Name: "s", ForEach: &krtv1.ForEach{Items: []string{"${{ steps.items.outputs.a }}"}}}, []string{"items"}},
		{"written need first, no repeat", krtv1.Step{Name: "s", Needs: []string{"tests"}, If: "steps.tests.phase == 'Succeeded' && steps.build.outputs.x == 'y'"}, []string{"tests", "build"}},
		{"itself and unknown steps are not needs", krtv1.Step{Name: "build", Run: "${{ steps.build.outputs.x }} ${{ steps.ghost.outputs.y }}"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Needs(&c.step, list); !slices.Equal(got, c.want) {
				t.Errorf("Needs = %v, want %v", got, c.want)
			}
		})
	}
}

// Blocked waits for a step that is only read.
func TestBlockedByRead(t *testing.T) {
	list := []krtv1.Step{{Name: "restore"}}
	step := krtv1.Step{Name: "dns", With: map[string]string{"target": "${{ steps.restore.outputs.endpoint }}"}}
	sums := map[string]Summary{"restore": {Started: true, Phase: krtv1.NodeRunning}}
	if wait, _, _ := Blocked(step, list, sums); !wait {
		t.Fatal("a step reading a running step does not wait for it")
	}
	sums["restore"] = Summary{Started: true, Phase: krtv1.NodeSucceeded}
	if wait, _, _ := Blocked(step, list, sums); wait {
		t.Fatal("a step reading a finished step still waits")
	}
}
