package store

import "time"

// ArtifactRef is the record under RefKey: an artifact a Run produced, and
// what a later step's input resolves to. It is also what runtimed reports in
// the Run's status.
type ArtifactRef struct {
	Name        string    `json:"name"`
	Digest      string    `json:"digest"`
	Size        int64     `json:"size"`
	URI         string    `json:"uri,omitempty"`
	Namespace   string    `json:"namespace,omitempty"`
	WorkflowRun string    `json:"workflowRun,omitempty"`
	Run         string    `json:"run,omitempty"`
	Created     time.Time `json:"created"`
}

// CacheRecord is the record under CacheKey: the archive a step cache key
// restores.
type CacheRecord struct {
	Digest  string    `json:"digest"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	Scope   string    `json:"scope,omitempty"`
}

// MemoRecord is the record under MemoKey: a memoized step's outputs and
// artifacts, which a later identical step reuses without running.
type MemoRecord struct {
	Outputs   map[string]string `json:"outputs,omitempty"`
	Artifacts []ArtifactRef     `json:"artifacts,omitempty"`
	Created   time.Time         `json:"created"`
}

// LogRecord is the record under LogMetaKey: whose log it is, so that the
// Maintainer can delete the logs of WorkflowRuns that are gone.
type LogRecord struct {
	Namespace   string    `json:"namespace"`
	WorkflowRun string    `json:"workflowRun,omitempty"`
	Run         string    `json:"run"`
	UID         string    `json:"uid,omitempty"`
	Created     time.Time `json:"created"`
}
