package runtimed

import (
	"encoding/json"
	"io"
	"sync"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/logs"
)

// jsonLines writes each output line to runtimed's stdout as one JSON object
// tagged with its Run, so the pod's own log is a complete, searchable record.
type jsonLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

type jsonLine struct {
	logs.Line
	Run       string `json:"run"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func newJSONLines(w io.Writer) *jsonLines {
	if w == nil {
		w = io.Discard
	}
	return &jsonLines{enc: json.NewEncoder(w)}
}

func (j *jsonLines) write(run *krtv1.Run, line logs.Line) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(jsonLine{Line: line, Run: string(run.UID), Namespace: run.Namespace, Name: run.Name})
}
