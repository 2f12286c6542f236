package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

func TestBadRunsAreRejectedAtAdmission(t *testing.T) {
	ns := env.Namespace(t)
	manyEnv := make([]krtv1.EnvVar, 10000)
	for i := range manyEnv {
		manyEnv[i] = krtv1.EnvVar{Name: "V" + strings.Repeat("x", i%50) + string(rune('A'+i%26)), Value: "v"}
	}
	cases := []struct {
		name      string
		spec      krtv1.RunSpec
		wantField string
	}{
		{name: "a 2 MB script", spec: krtv1.RunSpec{Runtime: "bash", Script: strings.Repeat("#", 2<<20)}, wantField: "spec.script"},
		{name: "10,000 env vars", spec: krtv1.RunSpec{Runtime: "bash", Script: "true", Env: manyEnv}, wantField: "spec.env"},
		{name: "an expression for the runtime", spec: krtv1.RunSpec{Runtime: "${{ params.runtime }}", Script: "true"}, wantField: "spec.runtime"},
		{name: "an expression for the timeout", spec: krtv1.RunSpec{Runtime: "bash", Script: "true", Timeout: &metav1.Duration{}}, wantField: "spec.timeout"},
		{name: "neither script nor command", spec: krtv1.RunSpec{Runtime: "bash"}, wantField: "exactly one of script or command"},
		{name: "an unknown language", spec: krtv1.RunSpec{Runtime: "bash", Script: "x", Language: "ruby"}, wantField: "spec.language"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "bad-", Namespace: ns}, Spec: tc.spec}
			var err error
			if tc.name == "an expression for the timeout" {
				err = createRaw(ns, `{"apiVersion":"krt.dev/v1alpha1","kind":"Run","metadata":{"generateName":"bad-"},"spec":{"runtime":"bash","script":"true","timeout":"${{ params.t }}"}}`)
			} else {
				err = env.Client.Create(context.Background(), run)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantField) {
				t.Fatalf("err = %v, want a rejection naming %s", err, tc.wantField)
			}
		})
	}
}

// createRaw sends a Run as a user's YAML would, with no Go type between.
func createRaw(ns, body string) error {
	return post(ns, "runs", body)
}

func createRawRuntime(ns, name, spec string) error {
	return post(ns, "runtimes", `{"apiVersion":"krt.dev/v1alpha1","kind":"Runtime","metadata":{"name":"`+name+`"},"spec":`+spec+`}`)
}

func post(ns, resource, body string) error {
	return env.RawClient().Post().AbsPath("/apis/krt.dev/v1alpha1/namespaces/"+ns+"/"+resource).Body([]byte(body)).
		SetHeader("Content-Type", "application/json").Do(context.Background()).Error()
}

func TestBadRuntimesGetAClearCondition(t *testing.T) {
	ns := env.Namespace(t)
	cases := []struct {
		name        string
		spec        krtv1.RuntimeSpec
		wantMessage string
	}{
		{name: "a bad image", spec: krtv1.RuntimeSpec{Image: "Not An Image!!"}, wantMessage: `spec.image: "Not An Image!!" is not an image reference`},
		{name: "capacity 0", spec: krtv1.RuntimeSpec{Capacity: 0}, wantMessage: "spec.capacity: 0"},
		{name: "an unknown language", spec: krtv1.RuntimeSpec{Languages: []krtv1.Language{"bash", "ruby"}}, wantMessage: `spec.languages[1]: unknown language "ruby"`},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "bad" + string(rune('a'+i)), Namespace: ns}, Spec: tc.spec}
			rt.Spec.Replicas = ptr.To(int32(1))
			var err error
			if tc.name == "capacity 0" {
				// As YAML says it: Go's omitempty would drop the 0, and the
				// schema's default would fill it in.
				err = createRawRuntime(ns, rt.Name, `{"capacity":0,"replicas":1}`)
			} else {
				err = env.Client.Create(context.Background(), rt)
			}
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, time.Minute, "a Stalled condition", func() bool {
				cur := &krtv1.Runtime{}
				_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(rt), cur)
				for _, c := range cur.Status.Conditions {
					if c.Type == krtv1.ConditionStalled && c.Status == metav1.ConditionTrue && c.Reason == runtimectl.ReasonInvalidSpec &&
						strings.Contains(c.Message, tc.wantMessage) {
						return findRuntimeCondition(cur, krtv1.ConditionReady) == metav1.ConditionFalse
					}
				}
				return false
			})
			if pods := podsOf(ns, rt.Name); len(pods) != 0 {
				t.Errorf("an invalid Runtime got %d pods", len(pods))
			}
		})
	}
}

// TestFinishedRunsAreDeletedAfterTheirTTL watches a Run from its create to
// its deletion: it must be seen finished, and deleted no sooner than its
// completionTime plus its TTL.
func TestFinishedRunsAreDeletedAfterTheirTTL(t *testing.T) {
	ns := setupRuntime(t, "ttl", 1, 1)
	const ttl = 3 * time.Second
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "ttl", Script: "true", TTLSecondsAfterFinished: ptr.To(int32(ttl.Seconds()))})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, &krtv1.RunList{}, client.InNamespace(ns), client.MatchingFields{"metadata.name": run.Name},
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: run.ResourceVersion}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var finished *krtv1.Run
	for ev := range w.ResultChan() {
		r, ok := ev.Object.(*krtv1.Run)
		if !ok {
			t.Fatalf("watch: %v", ev.Object)
		}
		if ev.Type != watch.Deleted {
			if finished == nil && r.Status.Phase.Terminal() {
				finished = r
			}
			continue
		}
		deleted := time.Now()
		if finished == nil || finished.Status.CompletionTime == nil {
			t.Fatalf("the Run was deleted before it was seen finished with a completionTime")
		}
		// The completionTime is stored in whole seconds, rounded down, so
		// the TTL counts from no later than the real completion.
		expiry := finished.Status.CompletionTime.Add(ttl)
		if deleted.Before(expiry) {
			t.Fatalf("the Run was deleted %s before its TTL ran out (completionTime %s + %s)",
				expiry.Sub(deleted).Round(time.Millisecond), finished.Status.CompletionTime.Format(time.RFC3339), ttl)
		}
		t.Logf("deleted %s after completionTime + TTL", deleted.Sub(expiry).Round(time.Millisecond))
		return
	}
	t.Fatalf("timed out after 1m waiting for the finished Run to be deleted (seen finished: %v)", finished != nil)
}
