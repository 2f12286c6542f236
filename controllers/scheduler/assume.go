package scheduler

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// reservation is a Run the scheduler has assigned but its cache has not yet
// seen assigned: without it two workers could fill the same free slot.
type reservation struct {
	name    types.NamespacedName
	runtime string
	pod     string
	attempt int32
	at      time.Time
}

// assumeCache holds reservations until the Run cache confirms them, as
// kube-scheduler's assumed pods do. A reservation never confirmed (a write
// that was lost) expires after ttl.
type assumeCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	byRun map[types.UID]reservation
}

func newAssumeCache(ttl time.Duration) *assumeCache {
	return &assumeCache{ttl: ttl, byRun: map[types.UID]reservation{}}
}

func (c *assumeCache) assume(uid types.UID, r reservation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byRun[uid] = r
}

// forget drops a reservation and returns it, if there was one.
func (c *assumeCache) forget(uid types.UID) (reservation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgetLocked(uid)
}

func (c *assumeCache) forgetLocked(uid types.UID) (reservation, bool) {
	r, ok := c.byRun[uid]
	if !ok {
		return r, false
	}
	delete(c.byRun, uid)
	return r, true
}

func (c *assumeCache) has(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byRun[uid]
	if ok && time.Since(r.at) > c.ttl {
		c.forgetLocked(uid)
		return false
	}
	return ok
}

// inRuntime returns the reservations on a runtime's pods, dropping
// expired ones. There are few: each lasts until the cache confirms it.
func (c *assumeCache) inRuntime(namespace, runtime string, now time.Time) []reservation {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []reservation
	for uid, r := range c.byRun {
		if r.name.Namespace != namespace || r.runtime != runtime {
			continue
		}
		if now.Sub(r.at) > c.ttl {
			c.forgetLocked(uid)
			continue
		}
		out = append(out, r)
	}
	return out
}
