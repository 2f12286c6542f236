package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Phases of a dev stack, as state.json tells them.
const (
	PhaseStarting = "starting"
	PhaseRunning  = "running"
	PhaseStopping = "stopping"
)

// State is <dir>/state.json: what `krt dev up` runs, for `down`, `status`,
// scripts (make run reads the kubeconfigs and the git URL from it) and
// for cleaning up after an `up` that crashed.
type State struct {
	Up    Proc   `json:"up"`
	Phase string `json:"phase"`
	Dir   string `json:"dir"`
	// Kubeconfig is the hub's admin kubeconfig.
	Kubeconfig string `json:"kubeconfig"`
	GitURL     string `json:"gitURL,omitempty"`
	GitPort    int    `json:"gitPort,omitempty"`
	// UIURL is the web UI's sign-in address (it holds the sign-in token,
	// so state.json stays private to the user).
	UIURL string `json:"uiURL,omitempty"`
	// WebhookAddress is where the hub's krt-controller receives webhooks.
	WebhookAddress string         `json:"webhookAddress,omitempty"`
	Clusters       []ClusterState `json:"clusters"`
	// Registrations are the hub's Cluster objects: a workflow's
	// `cluster: NAME` runs its Runs in Server's namespace Namespace.
	Registrations []Registration `json:"registrations,omitempty"`
}

// ClusterState is one API server and what runs against it.
type ClusterState struct {
	Name       string `json:"name"`
	Kubeconfig string `json:"kubeconfig"`
	Server     string `json:"server,omitempty"`
	Processes  []Proc `json:"processes,omitempty"`
}

// Registration is a Cluster object in the hub.
type Registration struct {
	Name      string `json:"name"`
	Server    string `json:"server"`
	Namespace string `json:"namespace"`
}

// ErrCorrupt marks a state file that cannot be trusted.
var ErrCorrupt = errors.New("corrupted")

// stateFile guards state.json, which the startup of several clusters
// updates concurrently.
type stateFile struct {
	path string
	mu   sync.Mutex
	s    State
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// ReadState reads dir's state.json; it returns nil and no error when
// there is none.
func ReadState(dir string) (*State, error) {
	data, err := os.ReadFile(statePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s is %w (%v): %s", statePath(dir), ErrCorrupt, err, wayOut(dir))
	}
	if s.Up.PID <= 0 || s.Phase == "" {
		return nil, fmt.Errorf("%s is %w (no pid or phase): %s", statePath(dir), ErrCorrupt, wayOut(dir))
	}
	return s, nil
}

// wayOut is the advice for a directory that cannot be used as it is.
func wayOut(dir string) string {
	return fmt.Sprintf("remove %s or run `krt dev down --purge%s`", dir, dirFlag(dir))
}

// update changes the state and writes it at once, through a rename so a
// reader never sees half a file.
func (f *stateFile) update(change func(*State)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.s)
	data, err := json.MarshalIndent(f.s, "", "  ")
	if err != nil {
		return err
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.path)
}

func (f *stateFile) snapshot() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

func (f *stateFile) remove() { _ = os.Remove(f.path) }

// addProcs records processes of a cluster as soon as they start, so that
// a crash during startup still leaves a trail to clean up.
func (f *stateFile) addProcs(cluster string, procs ...Proc) {
	_ = f.update(func(s *State) {
		c := s.cluster(cluster)
		c.Processes = append(c.Processes, procs...)
	})
}

// cluster returns the named cluster's entry, adding it if needed.
func (s *State) cluster(name string) *ClusterState {
	for i := range s.Clusters {
		if s.Clusters[i].Name == name {
			return &s.Clusters[i]
		}
	}
	s.Clusters = append(s.Clusters, ClusterState{Name: name})
	return &s.Clusters[len(s.Clusters)-1]
}

// allProcs is every process recorded, the up process last.
func (s *State) allProcs() []Proc {
	var out []Proc
	for _, c := range s.Clusters {
		out = append(out, c.Processes...)
	}
	return append(out, s.Up)
}
