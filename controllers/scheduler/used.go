package scheduler

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// usedTTL is how long the scheduler remembers on its own that an ephemeral
// pod was used: by then its Lease, marked spent before the Run started,
// says so, or the pod is gone.
const usedTTL = 10 * time.Minute

// usedPods are the ephemeral pods the scheduler gave a Run.
type usedPods struct {
	mu   sync.Mutex
	pods map[types.UID]time.Time
}

func newUsedPods() *usedPods { return &usedPods{pods: map[types.UID]time.Time{}} }

func (u *usedPods) add(uid types.UID, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, at := range u.pods {
		if now.Sub(at) > usedTTL {
			delete(u.pods, k)
		}
	}
	u.pods[uid] = now
}

func (u *usedPods) has(uid types.UID, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	at, ok := u.pods[uid]
	return ok && now.Sub(at) <= usedTTL
}

func (u *usedPods) remove(uid types.UID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.pods, uid)
}
