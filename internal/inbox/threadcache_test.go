package inbox

import "testing"

func TestThreadCacheGenerations(t *testing.T) {
	c := newThreadCache()
	k := threadKey{"poc", "t1"}
	tx := c.begin()
	tx.learn(k, threadEntry{caseID: "c1", status: StatusNew})
	if e, ok := tx.lookup(k); !ok || e.caseID != "c1" {
		t.Fatal("a transaction must see what it learned")
	}
	if _, ok := c.get(k); ok {
		t.Fatal("learned entries must not be visible before commit")
	}
	tx.commit()
	if e, ok := c.get(k); !ok || e.caseID != "c1" {
		t.Fatal("committed entry missing")
	}
	c.invalidate()
	if _, ok := c.get(k); ok {
		t.Fatal("invalidate must hide older entries")
	}
	// A batch that began before an invalidation must not publish.
	stale := c.begin()
	stale.learn(k, threadEntry{caseID: "c1", status: StatusPending})
	c.invalidate()
	stale.commit()
	if _, ok := c.get(k); ok {
		t.Fatal("entries learned before an invalidation were published")
	}
	var none *threadCache
	none.invalidate() // nil cache (PostgreSQL): a no-op
	if tx := none.begin(); tx != nil {
		t.Fatal("nil cache must give a nil transaction view")
	}
}
