package inbox

import "sync"

// threadCache remembers, for the ingest hot path, each thread's ids and its
// active case with that case's status, saving a lookup per inbound message
// (about a fifth of SQLite ingest time). It exists only with group commit:
// SQLite, one node, every write through this process's one write
// connection.
//
// Correctness rests on a generation number. Every transaction that changes
// a case's status or a thread's contact outside ingest calls invalidate
// while it holds the write connection; entries are valid only for the
// generation they were made in; and a batch applies the entries it learned
// only after its commit and only if the generation has not moved since the
// batch began. Since batches also run on that one connection, no batch can
// observe a state older than an invalidation that preceded it.
type threadCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[threadKey]threadEntry
}

type threadKey struct{ poc, external string }

type threadEntry struct {
	threadID, contactID, caseID string
	status                      Status
	hasPrompt                   bool // the thread has a pending rich prompt
	gen                         uint64
}

const maxCachedThreads = 200_000

func newThreadCache() *threadCache { return &threadCache{m: map[threadKey]threadEntry{}} }

// invalidate drops every entry (lazily, by moving the generation on).
func (c *threadCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

func (c *threadCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *threadCache) get(k threadKey) (threadEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok && e.gen == c.gen
}

// apply stores what a committed batch learned, unless an invalidation
// happened since the batch began at generation gen.
func (c *threadCache) apply(gen uint64, learned map[threadKey]threadEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m)+len(learned) > maxCachedThreads {
		c.m = map[threadKey]threadEntry{}
	}
	for k, e := range learned {
		e.gen = gen
		c.m[k] = e
	}
}

// ingestCacheTx is one ingest transaction's view of the cache: what it has
// learned so far (consulted first, so later messages of the same batch see
// earlier ones' changes) and the generation it began in.
type ingestCacheTx struct {
	cache   *threadCache
	gen     uint64
	learned map[threadKey]threadEntry
}

func (c *threadCache) begin() *ingestCacheTx {
	if c == nil {
		return nil
	}
	return &ingestCacheTx{cache: c, gen: c.generation(), learned: map[threadKey]threadEntry{}}
}

func (t *ingestCacheTx) lookup(k threadKey) (threadEntry, bool) {
	if t == nil {
		return threadEntry{}, false
	}
	if e, ok := t.learned[k]; ok {
		return e, true
	}
	return t.cache.get(k)
}

func (t *ingestCacheTx) learn(k threadKey, e threadEntry) {
	if t != nil {
		t.learned[k] = e
	}
}

// commit publishes what was learned; call after the transaction commits.
func (t *ingestCacheTx) commit() {
	if t != nil && len(t.learned) > 0 {
		t.cache.apply(t.gen, t.learned)
	}
}
