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
	byPod map[string]map[types.UID]struct{} // "namespace/pod"
}

func newAssumeCache(ttl time.Duration) *assumeCache {
	return &assumeCache{ttl: ttl, byRun: map[types.UID]reservation{}, byPod: map[string]map[types.UID]struct{}{}}
}

func podKey(namespace, pod string) string { return namespace + "/" + pod }

func (c *assumeCache) assume(uid types.UID, r reservation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byRun[uid] = r
	k := podKey(r.name.Namespace, r.pod)
	if c.byPod[k] == nil {
		c.byPod[k] = map[types.UID]struct{}{}
	}
	c.byPod[k][uid] = struct{}{}
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
	k := podKey(r.name.Namespace, r.pod)
	delete(c.byPod[k], uid)
	if len(c.byPod[k]) == 0 {
		delete(c.byPod, k)
	}
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

// onPod returns the reservations on a pod, dropping expired ones.
func (c *assumeCache) onPod(namespace, pod string, now time.Time) []reservation {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []reservation
	for uid := range c.byPod[podKey(namespace, pod)] {
		r := c.byRun[uid]
		if now.Sub(r.at) > c.ttl {
			c.forgetLocked(uid)
			continue
		}
		out = append(out, r)
	}
	return out
}
