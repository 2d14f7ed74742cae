package chat

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"golang.org/x/time/rate"
)

const (
	connBuffer      = 64 // frames waiting for one slow widget before it is dropped
	maxVisitors     = 100_000
	maxPending      = 50 // messages kept for one offline visitor's email
	visitorIdleDrop = 24 * time.Hour
)

// conn is one open widget.
type conn struct {
	send   chan []byte
	done   chan struct{}
	once   sync.Once
	reason string
	// onPush, when set, learns the ids of outbound messages pushed to it
	// (the widget may mark those read).
	onPush func(ids ...string)
}

// push queues a frame; a full buffer drops the connection.
func (c *conn) push(b []byte) {
	select {
	case <-c.done:
	case c.send <- b:
	default:
		c.close("too slow")
	}
}

func (c *conn) close(reason string) {
	c.once.Do(func() {
		c.reason = reason
		close(c.done)
	})
}

// visitor is what this node knows of one visitor of one point of contact.
type visitor struct {
	conns    map[*conn]struct{}
	email    string
	lastSeen time.Time
	poc      *channel.PointOfContact
	pending  []*channel.OutboundMessage
	timer    *time.Timer
}

type hub struct {
	a        *Adapter
	mu       sync.Mutex
	visitors map[string]*visitor
	closed   bool
}

func newHub(a *Adapter) *hub { return &hub{a: a, visitors: map[string]*visitor{}} }

func visitorKey(pocID, visitorID string) string { return pocID + "\x00" + visitorID }

// get returns the visitor, creating it; nil when the table is full.
func (h *hub) get(key string) *visitor {
	v := h.visitors[key]
	if v != nil {
		return v
	}
	if len(h.visitors) >= maxVisitors {
		h.sweep()
		if len(h.visitors) >= maxVisitors {
			return nil
		}
	}
	v = &visitor{conns: map[*conn]struct{}{}}
	h.visitors[key] = v
	return v
}

func (h *hub) sweep() {
	cutoff := h.a.now().Add(-visitorIdleDrop)
	for k, v := range h.visitors {
		if len(v.conns) == 0 && v.timer == nil && v.lastSeen.Before(cutoff) {
			delete(h.visitors, k)
		}
	}
}

// attach registers an open widget; false when closed or full.
func (h *hub) attach(poc *channel.PointOfContact, s session, c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	v := h.get(visitorKey(poc.ID, s.VisitorID))
	if v == nil {
		return false
	}
	v.conns[c] = struct{}{}
	v.lastSeen = h.a.now()
	v.poc = poc
	if s.Email != "" {
		v.email = s.Email
	}
	// Back online: what was waiting for email is in the history instead.
	if v.timer != nil {
		v.timer.Stop()
		v.timer = nil
	}
	v.pending = nil
	return true
}

func (h *hub) detach(pocID, visitorID string, c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.visitors[visitorKey(pocID, visitorID)]; v != nil {
		delete(v.conns, c)
		v.lastSeen = h.a.now()
	}
}

// rememberEmail records a visitor's email given at session time.
func (h *hub) rememberEmail(pocID, visitorID, email string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.get(visitorKey(pocID, visitorID)); v != nil {
		v.email = email
		if v.lastSeen.IsZero() {
			v.lastSeen = h.a.now()
		}
	}
}

// broadcast pushes a frame to every open widget of a visitor (except
// skip) and tells how many got it.
func (h *hub) broadcast(pocID, visitorID string, b []byte, skip *conn) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.visitors[visitorKey(pocID, visitorID)]
	if v == nil {
		return 0
	}
	n := 0
	for c := range v.conns {
		if c != skip {
			c.push(b)
			n++
		}
	}
	return n
}

// deliver pushes an outbound message, or keeps it for the email fallback
// when the visitor is not connected. It reports whether a widget got it.
func (h *hub) deliver(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage, b []byte, after time.Duration) bool {
	key := visitorKey(poc.ID, msg.ThreadExternalID)
	h.mu.Lock()
	v := h.visitors[key]
	if v != nil && len(v.conns) > 0 {
		h.pushAll(v, msg.ID, b)
		h.mu.Unlock()
		return true
	}
	email := ""
	if v != nil {
		email = v.email
	}
	h.mu.Unlock()
	if h.a.email == nil {
		return false
	}
	if email == "" && h.a.state != nil {
		e, err := h.a.state.Load(ctx, poc.ID, stateKeyEmail(msg.ThreadExternalID))
		if err != nil {
			h.a.log.Warn("chat: load visitor email", "point_of_contact", poc.ID, "err", err)
		}
		email = e
	}
	if email == "" {
		return false
	}
	now := h.a.now()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return false
	}
	v = h.get(key)
	if v == nil {
		h.mu.Unlock()
		return false
	}
	if len(v.conns) > 0 { // came back meanwhile
		h.pushAll(v, msg.ID, b)
		h.mu.Unlock()
		return true
	}
	v.email, v.poc = email, poc
	if v.lastSeen.IsZero() {
		v.lastSeen = now // unknown here (restart): wait the full delay
	}
	if len(v.pending) < maxPending {
		v.pending = append(v.pending, msg)
	}
	due := v.lastSeen.Add(after).Sub(now)
	if v.timer == nil {
		if due < 0 {
			due = 0
		}
		v.timer = time.AfterFunc(due, func() { h.flush(key) })
	}
	h.mu.Unlock()
	return false
}

func (h *hub) pushAll(v *visitor, id string, b []byte) {
	for c := range v.conns {
		if c.onPush != nil {
			c.onPush(id)
		}
		c.push(b)
	}
}

// count tells how many widgets a visitor has open.
func (h *hub) count(pocID, visitorID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.visitors[visitorKey(pocID, visitorID)]; v != nil {
		return len(v.conns)
	}
	return 0
}

// flush sends a visitor's pending messages by email if they are still away.
func (h *hub) flush(key string) {
	h.mu.Lock()
	v := h.visitors[key]
	if v == nil || h.closed {
		h.mu.Unlock()
		return
	}
	v.timer = nil
	if len(v.conns) > 0 {
		v.pending = nil
		h.mu.Unlock()
		return
	}
	msgs, email, poc := v.pending, v.email, v.poc
	v.pending = nil
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := h.a.email.ContinueByEmail(ctx, poc, email, m); err != nil {
			h.a.log.Warn("chat: continue by email", "point_of_contact", poc.ID, "message", m.ID, "err", err)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, v := range h.visitors {
		if v.timer != nil {
			v.timer.Stop()
			v.timer = nil
		}
		for c := range v.conns {
			c.close("server shutting down")
		}
	}
}

func stateKeyEmail(visitorID string) string { return "visitor_email:" + visitorID }

// limiter is a bounded set of token buckets. It fails closed: when the
// table is full of active keys, new keys are refused.
type limiter struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	max   int
	m     map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	last time.Time
}

const maxBuckets = 200_000

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{r: rate.Limit(perSecond), burst: burst, max: maxBuckets, m: map[string]*bucket{}}
}

func (l *limiter) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= l.max {
			for k, old := range l.m {
				if now.Sub(old.last) > 10*time.Minute {
					delete(l.m, k)
				}
			}
			if len(l.m) >= l.max {
				return false
			}
		}
		b = &bucket{l: rate.NewLimiter(l.r, l.burst)}
		l.m[key] = b
	}
	b.last = now
	return b.l.AllowN(now, 1)
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
