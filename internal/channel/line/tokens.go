package line

import (
	"sort"
	"sync"
	"time"
)

// tokenCache is a small bounded in-memory map of short-lived tokens (reply
// tokens by thread, markAsRead tokens by webhook event), oldest first out.
// Losing an entry is never wrong, only less good: a reply becomes a push, a
// read mark is skipped.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	seq     uint64
	entries map[string]tokenEntry
	// order lists insertions oldest first; an item whose seq no longer
	// matches its key's entry is stale and skipped.
	order []orderItem
}

type tokenEntry struct {
	token   string
	eventID string    // the webhook event the token came with
	at      time.Time // when the webhook arrived (the adapter's clock)
	seq     uint64
}

type orderItem struct {
	key string
	seq uint64
	at  time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: map[string]tokenEntry{}}
}

// put stores a token under key, replacing an older one, and forgets
// entries older than ttl and any beyond the bound.
func (c *tokenCache) put(key string, e tokenEntry, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok && old.at.After(e.at) {
		return // a newer event of the thread is already here
	}
	c.seq++
	e.seq = c.seq
	c.entries[key] = e
	c.order = append(c.order, orderItem{key: key, seq: e.seq, at: e.at})
	for len(c.order) > 0 {
		front := c.order[0]
		cur, ok := c.entries[front.key]
		switch {
		case !ok || cur.seq != front.seq:
			// stale: the key was replaced or taken
		case len(c.entries) > c.max || e.at.Sub(front.at) > ttl:
			delete(c.entries, front.key)
		default:
			c.compact()
			return
		}
		c.order = c.order[1:]
	}
}

// compact rebuilds order when replaced keys left too many stale items in
// it (one customer writing very fast).
func (c *tokenCache) compact() {
	if len(c.order) <= 2*len(c.entries)+1024 {
		return
	}
	c.order = c.order[:0:0]
	for k, e := range c.entries {
		c.order = append(c.order, orderItem{key: k, seq: e.seq, at: e.at})
	}
	sort.Slice(c.order, func(i, j int) bool { return c.order[i].seq < c.order[j].seq })
}

// take removes and returns the token under key if it is at most ttl old.
func (c *tokenCache) take(key string, now time.Time, ttl time.Duration) (tokenEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return tokenEntry{}, false
	}
	delete(c.entries, key)
	if age := now.Sub(e.at); age > ttl || age < -ttl {
		return tokenEntry{}, false
	}
	return e, true
}

// get returns the token under key if it is at most ttl old, leaving it.
func (c *tokenCache) get(key string, now time.Time, ttl time.Duration) (tokenEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return tokenEntry{}, false
	}
	if age := now.Sub(e.at); age > ttl || age < -ttl {
		return tokenEntry{}, false
	}
	return e, true
}

// restore puts back a token that was taken but not used (the platform
// refused the call before using it), unless a newer one came meanwhile.
func (c *tokenCache) restore(key string, e tokenEntry, ttl time.Duration) {
	c.mu.Lock()
	_, newer := c.entries[key]
	c.mu.Unlock()
	if !newer {
		c.put(key, e, ttl)
	}
}

// len is the number of live entries (for tests).
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
