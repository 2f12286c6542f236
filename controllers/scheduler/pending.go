package scheduler

import (
	"sync"
	"time"

	"github.com/google/btree"
	"k8s.io/apimachinery/pkg/types"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// pendingSet keeps each runtime's Pending Runs in creation order, kept up
// to date from the Run informer's events, as kube-scheduler keeps its
// queue. Waking the oldest few when a Run ends then costs O(k log n):
// listing and sorting the whole backlog on every ended Run grew with it.
type pendingSet struct {
	mu     sync.Mutex
	queues map[runtimeKey]*btree.BTreeG[pendingRun]
	byUID  map[types.UID]pendingRun
}

type runtimeKey struct{ namespace, runtime string }

// pendingRun is what ordering and waking need of a Pending Run.
type pendingRun struct {
	key     runtimeKey
	name    string
	uid     types.UID
	created time.Time
	// notBefore is when a retried Run's backoff ends; zero when it has
	// none, or a cancel makes it not wait.
	notBefore time.Time
}

// olderFirst is the wake order: creation, then name, so that Runs created
// in the same second (the timestamp's precision) keep one order.
func olderFirst(a, b pendingRun) bool {
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	return a.name < b.name
}

func newPendingSet() *pendingSet {
	return &pendingSet{queues: map[runtimeKey]*btree.BTreeG[pendingRun]{}, byUID: map[types.UID]pendingRun{}}
}

// observe records a Run as the informer last saw it: in its runtime's
// queue while it is Pending, out of it otherwise.
func (p *pendingSet) observe(r *krtv1.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(r.UID)
	if !r.Pending() {
		return
	}
	e := pendingRun{key: runtimeKey{r.Namespace, r.Spec.Runtime}, name: r.Name, uid: r.UID,
		created: r.CreationTimestamp.Time}
	if r.Status.NotBefore != nil && !r.Spec.CancelRequested {
		e.notBefore = r.Status.NotBefore.Time
	}
	q := p.queues[e.key]
	if q == nil {
		q = btree.NewG(16, olderFirst)
		p.queues[e.key] = q
	}
	q.ReplaceOrInsert(e)
	p.byUID[r.UID] = e
}

// remove forgets a deleted Run.
func (p *pendingSet) remove(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(uid)
}

func (p *pendingSet) removeLocked(uid types.UID) {
	e, ok := p.byUID[uid]
	if !ok {
		return
	}
	delete(p.byUID, uid)
	q := p.queues[e.key]
	q.Delete(e)
	if q.Len() == 0 {
		delete(p.queues, e.key)
	}
}

// waiting is how many Pending Runs a runtime has, reserved or not.
func (p *pendingSet) waiting(namespace, runtime string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q := p.queues[runtimeKey{namespace, runtime}]; q != nil {
		return q.Len()
	}
	return 0
}

// oldest returns up to n of a runtime's Pending Runs, oldest first (all
// of them when n < 0), leaving out those skip names: reserved Runs are in
// flight, and Runs in backoff wake on their own timer. Only the Runs
// skipped are walked past, not the backlog.
func (p *pendingSet) oldest(namespace, runtime string, n int, now time.Time, skip func(types.UID) bool) []types.NamespacedName {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queues[runtimeKey{namespace, runtime}]
	if q == nil || n == 0 {
		return nil
	}
	var out []types.NamespacedName
	q.Ascend(func(e pendingRun) bool {
		if now.Before(e.notBefore) || skip(e.uid) {
			return true
		}
		out = append(out, types.NamespacedName{Namespace: namespace, Name: e.name})
		return n < 0 || len(out) < n
	})
	return out
}
