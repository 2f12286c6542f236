package scheduler

import (
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
)

// Candidate is one runtime pod as the scheduler sees it for one Run: its
// heartbeat, its static capacity and its usage right now (Run state in the
// cache plus assumed reservations). Pod and Lease are the cache's own
// objects: plugins read them and must never modify them.
type Candidate struct {
	Pod      *corev1.Pod
	Lease    *coordinationv1.Lease
	Capacity int
	InUse    int
	// Spent is an ephemeral pod that has taken its one Run: it takes no
	// other, however free it looks.
	Spent bool
}

// Free is the number of Runs the pod can still take.
func (c *Candidate) Free() int {
	if c.Spent {
		return 0
	}
	return c.Capacity - c.InUse
}

// FilterPlugin rules a pod out for a Run, in the manner of kube-scheduler's
// framework.
type FilterPlugin interface {
	Name() string
	Filter(run *krtv1.Run, c *Candidate, now time.Time) bool
}

// ScorePlugin ranks the pods that passed every filter; higher is better.
type ScorePlugin interface {
	Name() string
	Score(run *krtv1.Run, c *Candidate) int64
}

// DefaultFilters admit pods that are Ready, hold a fresh Lease, are not
// draining and have a free slot.
func DefaultFilters() []FilterPlugin {
	return []FilterPlugin{podReady{}, leaseFresh{}, notDraining{}, hasCapacity{}}
}

// DefaultScores prefer the least-loaded pod.
func DefaultScores() []ScorePlugin {
	return []ScorePlugin{leastLoaded{}}
}

type podReady struct{}

func (podReady) Name() string { return "PodReady" }
func (podReady) Filter(_ *krtv1.Run, c *Candidate, _ time.Time) bool {
	return heartbeat.PodReady(c.Pod)
}

type leaseFresh struct{}

func (leaseFresh) Name() string { return "LeaseFresh" }
func (leaseFresh) Filter(_ *krtv1.Run, c *Candidate, now time.Time) bool {
	return heartbeat.Fresh(c.Lease, c.Pod.UID, now)
}

// notDraining keeps new Runs off a pod the Runtime controller is
// removing: it goes once the Runs it holds end, and none is cut off.
type notDraining struct{}

func (notDraining) Name() string { return "NotDraining" }
func (notDraining) Filter(_ *krtv1.Run, c *Candidate, _ time.Time) bool {
	return !Draining(c.Pod)
}

// Draining says whether the Runtime controller marked the pod draining.
func Draining(p *corev1.Pod) bool {
	return p.Annotations[krtv1.AnnotationDraining] != ""
}

type hasCapacity struct{}

func (hasCapacity) Name() string { return "HasCapacity" }
func (hasCapacity) Filter(_ *krtv1.Run, c *Candidate, _ time.Time) bool {
	return c.Free() > 0
}

type leastLoaded struct{}

func (leastLoaded) Name() string { return "LeastLoaded" }
func (leastLoaded) Score(_ *krtv1.Run, c *Candidate) int64 {
	if c.Capacity <= 0 {
		return 0
	}
	return int64(100 * c.Free() / c.Capacity)
}

// PodCapacity reads a runtime pod's static capacity annotation; a pod
// without a valid one takes no Runs.
func PodCapacity(p *corev1.Pod) int {
	n, err := strconv.Atoi(p.Annotations[krtv1.AnnotationCapacity])
	if err != nil || n < 0 {
		return 0
	}
	return n
}
