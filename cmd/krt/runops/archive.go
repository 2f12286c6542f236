package runops

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
	storekube "krt.dev/krt/runtimed/store/kube"
)

// RunStore opens the ArtifactStore of the Run's Runtime with c, the
// caller's own identity: reading the store's credentials Secret is then
// up to the caller's RBAC, never krt's.
func RunStore(ctx context.Context, c client.Reader, run *krtv1.Run) (*krtv1.ArtifactStore, *store.Store, error) {
	rt := &krtv1.Runtime{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: run.Spec.Runtime}, rt); err != nil {
		return nil, nil, fmt.Errorf("runtime %s of run %s: %w", run.Spec.Runtime, run.Name, err)
	}
	if rt.Spec.ArtifactStore == "" {
		return nil, nil, fmt.Errorf("runtime %s names no ArtifactStore (spec.artifactStore), so nothing of its Runs is kept", rt.Name)
	}
	return storekube.Get(ctx, c, run.Namespace, rt.Spec.ArtifactStore)
}

// archivedAttempt is one attempt's archived log.
type archivedAttempt struct {
	key     string
	attempt int
}

// ArchivedLogs writes the Run's archived attempts in order, as runtimed
// archived them: its JSON lines, masked already, written as live logs
// are. note hears which store they come from, before the first line.
func ArchivedLogs(ctx context.Context, c client.Reader, run *krtv1.Run, w io.Writer, note func(string)) error {
	as, st, err := RunStore(ctx, c, run)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	attempts, err := listAttempts(ctx, st, run)
	if err != nil {
		return err
	}
	if len(attempts) == 0 {
		return fmt.Errorf("ArtifactStore %s/%s holds no archived log of run %s", as.Namespace, as.Name, run.Name)
	}
	note(fmt.Sprintf("(from the archive in ArtifactStore %s/%s)", as.Namespace, as.Name))
	for _, a := range attempts {
		if err := printArchived(ctx, st, a.key, w); err != nil {
			return err
		}
	}
	return nil
}

// listAttempts finds the objects "<uid>-<attempt>" of this Run, by UID: an
// earlier Run of the same name has its own. A Run that is gone has no UID
// to go by (see DeletedRun): then the archive must hold one Run of that
// name, or which is meant is not known.
func listAttempts(ctx context.Context, st *store.Store, run *krtv1.Run) ([]archivedAttempt, error) {
	prefix := store.LogKey(run.Namespace, run.Name, "")
	var out []archivedAttempt
	uids := map[string]bool{}
	err := st.List(ctx, prefix, func(o store.Object) error {
		name := strings.TrimPrefix(o.Key, prefix)
		i := strings.LastIndexByte(name, '-')
		if i < 0 || (run.UID != "" && name[:i] != string(run.UID)) {
			return nil // another Run's, or the LogRecord beside it
		}
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			out = append(out, archivedAttempt{key: o.Key, attempt: n})
			uids[name[:i]] = true
		}
		return nil
	})
	if err == nil && len(uids) > 1 {
		return nil, fmt.Errorf("the archive holds the logs of %d Runs named %s, and the one meant is deleted: read them from the store by UID", len(uids), run.Name)
	}
	slices.SortFunc(out, func(a, b archivedAttempt) int { return a.attempt - b.attempt })
	return out, err
}

// DeletedRun stands in for a workflow's Run that is gone (its TTL, or a
// kubectl delete) when its logs are read from the archive: the name and
// namespace the WorkflowRun's status gives, and the Runtime whose
// ArtifactStore holds them. It has no UID, so listAttempts takes the one
// Run of that name the archive holds.
func DeletedRun(namespace, name, runtime string) *krtv1.Run {
	return &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: krtv1.RunSpec{Runtime: runtime}}
}

func printArchived(ctx context.Context, st *store.Store, key string, w io.Writer) error {
	rc, err := st.GetStream(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	return PrintJSONLines(w, rc, "")
}

// PrintJSONLines writes the text of runtimed's JSON log lines, those of
// run only when run is set.
func PrintJSONLines(w io.Writer, rd io.Reader, run string) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Run  string `json:"run"`
			Text string `json:"line"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && (run == "" || line.Run == run) {
			if _, err := fmt.Fprintln(w, line.Text); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}
