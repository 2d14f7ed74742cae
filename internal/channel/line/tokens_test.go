package line

import (
	"strconv"
	"testing"
	"time"
)

func TestTokenCache(t *testing.T) {
	c := newTokenCache(100)
	at := t0
	for i := range 1000 {
		at = at.Add(10 * time.Millisecond)
		c.put("k"+strconv.Itoa(i), tokenEntry{token: "t" + strconv.Itoa(i), at: at}, time.Minute)
	}
	if n := c.len(); n != 100 {
		t.Fatalf("%d entries, want the bound 100", n)
	}
	if _, ok := c.get("k0", at, time.Minute); ok {
		t.Fatal("the oldest entry survived the bound")
	}
	if e, ok := c.get("k999", at, time.Minute); !ok || e.token != "t999" {
		t.Fatal("the newest entry is gone")
	}
	// Expired entries go as newer ones arrive.
	c.put("late", tokenEntry{token: "x", at: at.Add(2 * time.Minute)}, time.Minute)
	if n := c.len(); n != 1 {
		t.Fatalf("%d entries after expiry", n)
	}
	// One key written again and again stays one entry, in bounded order.
	for i := range 10_000 {
		c.put("same", tokenEntry{token: strconv.Itoa(i), at: at.Add(2 * time.Minute)}, time.Minute)
	}
	if c.len() != 2 || len(c.order) > 2*c.len()+1025 {
		t.Fatalf("%d entries, %d order items", c.len(), len(c.order))
	}
	// take is single-use and honours the age; an older event never
	// replaces a newer one.
	c.put("k", tokenEntry{token: "new", at: at}, time.Minute)
	c.put("k", tokenEntry{token: "old", at: at.Add(-time.Second)}, time.Minute)
	if e, ok := c.take("k", at.Add(30*time.Second), time.Minute); !ok || e.token != "new" {
		t.Fatalf("take %+v %v", e, ok)
	}
	if _, ok := c.take("k", at, time.Minute); ok {
		t.Fatal("a token was taken twice")
	}
	c.put("k", tokenEntry{token: "t", at: at}, time.Minute)
	if _, ok := c.take("k", at.Add(61*time.Second), time.Minute); ok {
		t.Fatal("an expired token was taken")
	}
}
