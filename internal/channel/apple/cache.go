package apple

import (
	"container/list"
	"sync"
)

// lru is a small bounded map that forgets the least recently written entry
// first. It backs the adapter's best-effort memories (capability lists,
// quick replies sent), which must not grow without bound.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *lruEntry[V], most recent at the front
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key   string
	value V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// put stores value under key, evicting the oldest entries past the bound.
func (c *lru[V]) put(key string, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruEntry[V]).value = value
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, value: value})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry[V]).key)
	}
}

// get returns the value under key.
func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		return el.Value.(*lruEntry[V]).value, true
	}
	var zero V
	return zero, false
}

// cacheKey scopes a key to a point of contact.
func cacheKey(pocID, key string) string { return pocID + "\x00" + key }
