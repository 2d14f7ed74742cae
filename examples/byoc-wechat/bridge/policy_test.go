package bridge

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake clock for the policy.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mustReserve(t *testing.T, p *Policy, user string, n int) *Reservation {
	t.Helper()
	r, err := p.Reserve(user, n)
	if err != nil {
		t.Fatalf("Reserve(%s, %d): %v", user, n, err)
	}
	return r
}

func refusal(t *testing.T, p *Policy, user string, n int, code string) string {
	t.Helper()
	_, err := p.Reserve(user, n)
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("Reserve(%s, %d) = %v, want a %q refusal", user, n, err, code)
	}
	return pe.Reason
}

func TestPolicyWindow(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	p := NewPolicy(0, 0, c.Now)
	p.Message("oA", "1", c.Now())
	c.Advance(47*time.Hour + 59*time.Minute)
	r := mustReserve(t, p, "oA", 1)
	r.Used()
	r.Release()
	c.Advance(time.Minute) // exactly 48 h
	reason := refusal(t, p, "oA", 1, "window")
	for _, want := range []string{"48-hour", "2030-01-01T12:00:00Z", "must write first"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q does not say %q", reason, want)
		}
	}
	// A new message reopens it, with a fresh allowance.
	p.Message("oA", "m1", c.Now())
	mustReserve(t, p, "oA", 5).Release()
}

func TestPolicyLimit(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	p := NewPolicy(48*time.Hour, 5, c.Now)
	p.Message("oA", "m2", c.Now())
	r := mustReserve(t, p, "oA", 3)
	r.Used()
	r.Used()
	r.Release() // one was not sent: given back
	r = mustReserve(t, p, "oA", 3)
	// 2 sent + 3 reserved: nothing more while they are in flight.
	refusal(t, p, "oA", 1, "limit")
	r.Used()
	r.Used()
	r.Used()
	r.Release()
	reason := refusal(t, p, "oA", 1, "limit")
	if !strings.Contains(reason, "5 customer-service messages") || !strings.Contains(reason, "5 already sent") {
		t.Errorf("reason %q", reason)
	}
	// A late retry (of this message, or an older one) does not restore the
	// allowance…
	p.Message("oA", "m2", c.Now())
	p.Message("oA", "m0", c.Now().Add(-time.Hour))
	refusal(t, p, "oA", 1, "limit")
	// …a new message does, even within the same second…
	p.Message("oA", "m3", c.Now())
	mustReserve(t, p, "oA", 5).Release()
	// …and later ones.
	c.Advance(time.Second)
	p.Message("oA", "m4", c.Now())
	mustReserve(t, p, "oA", 5).Release()
	if reason := refusal(t, p, "oA", 6, "limit"); !strings.Contains(reason, "needs 6") {
		t.Errorf("reason %q", reason)
	}
}

func TestPolicyFollowersAndWeChatAnswers(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	p := NewPolicy(0, 0, c.Now)

	// Unknown followers are WeChat's to judge.
	mustReserve(t, p, "oNew", 50).Release()

	p.Message("oA", "m6", c.Now())
	p.Unfollowed("oA")
	refusal(t, p, "oA", 1, "unfollowed")
	p.Followed("oA") // following again does not open the window by itself
	if _, err := p.Reserve("oA", 1); err != nil {
		t.Fatalf("after following again (no message yet): %v", err) // unknown start: WeChat judges
	}
	p.Message("oA", "m7", c.Now())
	mustReserve(t, p, "oA", 1).Release()

	// WeChat's own refusals stick until the follower writes again.
	p.WeChatRefused("oB", ErrcodeResponseOutOfTime)
	if reason := refusal(t, p, "oB", 1, "window"); !strings.Contains(reason, "45015") {
		t.Errorf("reason %q", reason)
	}
	p.Message("oB", "m8", c.Now())
	p.WeChatRefused("oB", ErrcodeResponseCountLimit)
	if reason := refusal(t, p, "oB", 1, "limit"); !strings.Contains(reason, "45047") {
		t.Errorf("reason %q", reason)
	}
	c.Advance(time.Second)
	p.Message("oB", "m9", c.Now())
	mustReserve(t, p, "oB", 1).Release()

	// Disabled: everything goes to WeChat.
	p.Disabled = true
	mustReserve(t, p, "oA", 100).Release()
}

func TestPolicyPrunesOldFollowers(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	p := NewPolicy(time.Hour, 5, c.Now)
	p.Message("old", "m10", c.Now())
	c.Advance(3 * time.Hour)
	for i := range 2048 {
		p.Message("u"+string(rune('a'+i%26))+time.Duration(i).String(), "m", c.Now())
	}
	p.mu.Lock()
	_, kept := p.users["old"]
	p.mu.Unlock()
	if kept {
		t.Fatal("a follower silent for two windows was kept")
	}
}
