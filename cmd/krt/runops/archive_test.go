package runops

import (
	"context"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
)

// The attempts of a Run, by its UID; of a deleted Run, by its name alone,
// as long as the archive holds one Run of that name.
func TestListAttempts(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Name: "test/fs", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(key string) {
		if err := st.PutStream(ctx, key, strings.NewReader("{}\n")); err != nil {
			t.Fatal(err)
		}
	}
	put(store.LogKey("ns", "r", "uid-a") + "-2")
	put(store.LogKey("ns", "r", "uid-a") + "-1")
	if _, err := st.PutRecord(ctx, store.LogMetaKey("ns", "r", "uid-a"), store.LogRecord{Run: "r"}, false); err != nil {
		t.Fatal(err)
	}

	for _, run := range []*krtv1.Run{
		DeletedRun("ns", "r", "bash"),
		func() *krtv1.Run { r := DeletedRun("ns", "r", "bash"); r.UID = "uid-a"; return r }(),
	} {
		got, err := listAttempts(ctx, st, run)
		if err != nil || len(got) != 2 || got[0].attempt != 1 || got[1].attempt != 2 {
			t.Errorf("uid %q: attempts %+v (%v), want 1 and 2", run.UID, got, err)
		}
	}

	put(store.LogKey("ns", "r", "uid-b") + "-1") // an earlier Run of the same name
	if _, err := listAttempts(ctx, st, DeletedRun("ns", "r", "bash")); err == nil || !strings.Contains(err.Error(), "2 Runs named r") {
		t.Errorf("two archived Runs of one name, no UID: %v, want the ambiguity named", err)
	}
	r := DeletedRun("ns", "r", "bash")
	r.UID = "uid-b"
	if got, err := listAttempts(ctx, st, r); err != nil || len(got) != 1 {
		t.Errorf("uid-b: %+v (%v), want its one attempt", got, err)
	}
}
