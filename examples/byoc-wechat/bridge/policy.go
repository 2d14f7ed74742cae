package bridge

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// WeChat's customer-service rule (as announced for June 2023): after a
// follower's message, the Official Account may send that follower at most 5
// customer-service messages, within 48 hours. Outside the window WeChat
// answers 45015, over the count 45047.
const (
	DefaultReplyWindow = 48 * time.Hour
	DefaultReplyLimit  = 5
)

// PolicyError is a send the policy refuses before WeChat is called.
type PolicyError struct {
	Code   string // "window", "limit" or "unfollowed"
	Reason string // for the agent
}

func (e *PolicyError) Error() string { return e.Reason }

// Policy enforces WeChat's customer-service window in the middleware, so a
// message WeChat would refuse is reported failed at once, with a reason the
// agent can act on. It tracks, per follower, the time of their last message
// and the messages sent since.
//
// A follower the middleware has not seen (it keeps this in memory, so after
// a restart it knows nobody) is not judged: WeChat decides, and its 45015 /
// 45047 answers are reported the same way.
type Policy struct {
	Window time.Duration // 0 means DefaultReplyWindow
	Limit  int           // 0 means DefaultReplyLimit
	Now    func() time.Time
	// Disabled turns local enforcement off: every send goes to WeChat.
	Disabled bool

	mu      sync.Mutex
	users   map[string]*follower
	touches int
}

type follower struct {
	lastMessage time.Time // the follower's last message (zero: unknown)
	lastMsgID   string    // its MsgId
	sent        int       // customer-service messages sent since lastMessage
	reserved    int       // sends in progress
	unfollowed  bool
	refusedWith int       // WeChat's errcode (45015, 45047) for the last send, until the follower writes
	touched     time.Time // last change, for pruning
}

// NewPolicy makes a policy; now may be nil (time.Now).
func NewPolicy(window time.Duration, limit int, now func() time.Time) *Policy {
	return &Policy{Window: window, Limit: limit, Now: now}
}

func (p *Policy) window() time.Duration {
	if p.Window > 0 {
		return p.Window
	}
	return DefaultReplyWindow
}

func (p *Policy) limit() int {
	if p.Limit > 0 {
		return p.Limit
	}
	return DefaultReplyLimit
}

func (p *Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// get returns the follower's record, creating it; call with p.mu held.
func (p *Policy) get(openID string) *follower {
	if p.users == nil {
		p.users = map[string]*follower{}
	}
	f := p.users[openID]
	if f == nil {
		f = &follower{}
		p.users[openID] = f
	}
	f.touched = p.now()
	p.touches++
	if p.touches%1024 == 0 {
		p.prune()
	}
	return f
}

// prune forgets followers not heard of for two windows (they are then
// "unknown", which lets WeChat judge): memory stays bounded by the
// followers active in the last two windows.
func (p *Policy) prune() {
	cutoff := p.now().Add(-2 * p.window())
	for id, f := range p.users {
		if f.reserved == 0 && f.touched.Before(cutoff) && f.lastMessage.Before(cutoff) {
			delete(p.users, id)
		}
	}
}

// Message records the follower's message msgID, sent at at (WeChat's
// CreateTime): it opens a new window with a fresh allowance. A time in the
// future (clock skew) counts as now. A retry of the last message, or an
// older message arriving late, changes nothing.
func (p *Policy) Message(openID, msgID string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	f := p.get(openID)
	f.unfollowed = false // only followers can write
	if at.Before(f.lastMessage) || (at.Equal(f.lastMessage) && msgID == f.lastMsgID) {
		return
	}
	f.lastMessage, f.lastMsgID, f.sent, f.refusedWith = at, msgID, 0, 0
}

// Unfollowed records an unsubscribe event: nothing can be sent to the
// follower until they follow again and write.
func (p *Policy) Unfollowed(openID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.get(openID)
	f.unfollowed, f.lastMessage, f.sent, f.refusedWith = true, time.Time{}, 0, 0
}

// Followed records a subscribe event. It does not open the 5-message window
// (WeChat gives a follow only a few messages within a minute, which an agent
// reply never meets); the follower's first message does.
func (p *Policy) Followed(openID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.get(openID).unfollowed = false
}

// Reservation is room for n sends, held while they are in progress.
type Reservation struct {
	p      *Policy
	openID string
	held   int
}

// Reserve makes room for n sends to the follower, or says why WeChat would
// refuse them. Call Used after each successful send and Release when done.
func (p *Policy) Reserve(openID string, n int) (*Reservation, error) {
	r := &Reservation{p: p, openID: openID}
	if p.Disabled || n <= 0 {
		return r, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, known := p.users[openID]
	if !known {
		return r, nil // never seen (or forgotten): WeChat decides
	}
	if f.unfollowed {
		return nil, &PolicyError{Code: "unfollowed", Reason: "Not sent: the customer unfollowed the WeChat Official Account, and WeChat " +
			"delivers customer-service messages only to followers. They must follow again and write first."}
	}
	switch f.refusedWith {
	case ErrcodeResponseOutOfTime:
		return nil, &PolicyError{Code: "window", Reason: "Not sent: WeChat refused the previous message to this customer with 45015 " +
			"(outside the reply window, or the customer unfollowed) and will refuse more until the customer writes again."}
	case ErrcodeResponseCountLimit:
		return nil, &PolicyError{Code: "limit", Reason: "Not sent: WeChat refused the previous message to this customer with 45047 " +
			"(reply limit reached) and will refuse more until the customer writes again."}
	}
	if f.lastMessage.IsZero() {
		return r, nil
	}
	now := p.now()
	if end := f.lastMessage.Add(p.window()); !now.Before(end) {
		return nil, &PolicyError{Code: "window", Reason: fmt.Sprintf("Not sent: WeChat's %s reply window is closed — the customer last wrote at %s, %s ago. "+
			"WeChat accepts customer-service messages only within %s of the customer's last message (it would answer 45015); the customer must write first.",
			span(p.window(), true), f.lastMessage.UTC().Format(time.RFC3339), span(now.Sub(f.lastMessage), false), span(p.window(), false))}
	}
	if used := f.sent + f.reserved; used+n > p.limit() {
		detail := fmt.Sprintf("%d already sent since the customer's last message", used)
		if n > 1 {
			detail += fmt.Sprintf(", and this message needs %d", n)
		}
		return nil, &PolicyError{Code: "limit", Reason: fmt.Sprintf("Not sent: WeChat's reply limit is reached — WeChat allows %d customer-service messages "+
			"per customer message (within %s); %s (it would answer 45047). The customer must write again.", p.limit(), span(p.window(), false), detail)}
	}
	f.reserved += n
	r.held = n
	return r, nil
}

// Used turns one reserved send into a sent one.
func (r *Reservation) Used() {
	if r == nil || r.held == 0 {
		return
	}
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	r.held--
	if f := r.p.users[r.openID]; f != nil {
		f.reserved--
		f.sent++
	}
}

// Release gives back what was reserved and not used.
func (r *Reservation) Release() {
	if r == nil || r.held == 0 {
		return
	}
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	if f := r.p.users[r.openID]; f != nil {
		f.reserved -= r.held
	}
	r.held = 0
}

// WeChatRefused records what WeChat's own refusal says, so later sends fail
// at once: 45015 closes the window, 45047 uses up the allowance.
func (p *Policy) WeChatRefused(openID string, errcode int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if errcode == ErrcodeResponseOutOfTime || errcode == ErrcodeResponseCountLimit {
		p.get(openID).refusedWith = errcode
	}
}

// span writes a duration for people: "48 hours", "48-hour" (adjective),
// "49h5m".
func span(d time.Duration, adjective bool) string {
	d = d.Round(time.Minute)
	if d%time.Hour == 0 && d > 0 {
		if adjective {
			return fmt.Sprintf("%d-hour", int(d/time.Hour))
		}
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return strings.TrimSuffix(d.String(), "0s")
}
