package runtimed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/logs"
	"krt.dev/krt/runtimed/store"
)

// archiveTimeout bounds the log's upload: an unreachable store must not
// hold up the Run's result.
const archiveTimeout = 10 * time.Second

// ArchiveKey is where an attempt's log is archived: one object per
// attempt, since attempts may run on different pods. `krt logs` lists
// store.LogKey(namespace, run, "") and reads the attempts in order.
func ArchiveKey(run *krtv1.Run, attempt int32) (log, meta string) {
	uid := fmt.Sprintf("%s-%d", run.UID, attempt)
	return store.LogKey(run.Namespace, run.Name, uid), store.LogMetaKey(run.Namespace, run.Name, uid)
}

// archiveLog uploads the attempt's log, as the same JSON lines runtimed
// writes to its stdout (masked already), so that it outlives the pod.
// Without an ArtifactStore there is nowhere to put it. st is the store
// the attempt opened already, if any.
func (a *Agent) archiveLog(ctx context.Context, run *krtv1.Run, log *logs.Log, st *openStore) {
	if a.opts.ArtifactStore == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, archiveTimeout)
	defer cancel()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	_ = log.Follow(ctx, false, func(l logs.Line) error {
		return enc.Encode(jsonLine{Line: l, Run: string(run.UID), Namespace: run.Namespace, Name: run.Name})
	})
	err := a.putArchive(ctx, run, &buf, st)
	if err != nil {
		a.opts.Log.Error(err, "archiving the log", "run", run.Name)
	}
}

func (a *Agent) putArchive(ctx context.Context, run *krtv1.Run, buf *bytes.Buffer, st *openStore) error {
	if st == nil {
		var err error
		if st, err = a.artifactStore(ctx, run.Namespace); err != nil {
			return err
		}
	}
	key, meta := ArchiveKey(run, run.Status.Attempt)
	if err := st.PutStream(ctx, key, buf); err != nil {
		return err
	}
	_, err := st.PutRecord(ctx, meta, store.LogRecord{Namespace: originNamespace(run), WorkflowRun: originName(run),
		Run: run.Name, UID: string(run.UID), Created: time.Now().UTC()}, false)
	return err
}
