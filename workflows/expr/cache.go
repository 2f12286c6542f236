package expr

import (
	"container/list"
	"sync"

	"github.com/google/cel-go/cel"
)

// compiled is one cache entry. Failed compilations are cached too: a broken
// expression in a stored workflow would otherwise be recompiled on every
// reconcile.
type compiled struct {
	ast *cel.Ast // kept to plan a program capped by a budget
	prg cel.Program
	out *cel.Type
	err error
}

// lru is a small mutex-guarded LRU. Expressions per cluster are few, so a
// single lock is not a contention point worth sharding.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *lruItem
	items map[string]*list.Element
}

type lruItem struct {
	key string
	val *compiled
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *lru) get(key string) (*compiled, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem).val, true
}

func (c *lru) add(key string, val *compiled) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		// Another goroutine compiled the same source concurrently; either
		// result is equivalent, keep the existing one.
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruItem{key: key, val: val})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruItem).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
