package bridge

import "sync"

// SeenSet remembers the last N keys (first in, first out). WeChat retries a
// push it got no answer to, so the same MsgId can arrive up to four times.
type SeenSet struct {
	mu    sync.Mutex
	ids   map[string]int // key → its slot in order
	order []string       // ring buffer of keys in insertion order
	next  int
}

// NewSeenSet returns a set holding at most capacity keys.
func NewSeenSet(capacity int) *SeenSet {
	if capacity <= 0 {
		capacity = 1
	}
	return &SeenSet{ids: make(map[string]int, capacity), order: make([]string, capacity)}
}

// Add records key and reports whether it was new.
func (s *SeenSet) Add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[key]; ok {
		return false
	}
	if old := s.order[s.next]; old != "" && s.ids[old] == s.next {
		delete(s.ids, old)
	}
	s.order[s.next] = key
	s.ids[key] = s.next
	s.next = (s.next + 1) % len(s.order)
	return true
}

// Remove forgets key (its slot in the ring is reused later).
func (s *SeenSet) Remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, key)
}

// Ledger remembers what became of Parley's callbacks, by Parley's
// message_id. Parley delivers at least once, so a message can come again
// after it was handled (answer it the same way, send nothing twice), while
// it is being handled (ask Parley to come back later), or after a temporary
// failure part-way through (carry on from the first part not yet sent).
// It keeps the last N finished messages; a real deployment keeps this in
// its database.
type Ledger struct {
	mu       sync.Mutex
	entries  map[string]*ledgerEntry
	finished []string // ring of finished ids, oldest first from next
	next     int
}

type ledgerEntry struct {
	busy     bool
	finished bool
	prior    Prior
}

// Prior is what earlier attempts at a callback did.
type Prior struct {
	PartsSent int    // parts handed to WeChat
	Failed    string // for a finished message that failed: why
}

// Claim is the state of a callback when it arrives.
type Claim int

// What Begin found.
const (
	ClaimNew      Claim = iota // not seen, or seen and not finished: handle it
	ClaimBusy                  // being handled right now
	ClaimFinished              // handled before: answer as then
)

// NewLedger keeps at most capacity finished messages.
func NewLedger(capacity int) *Ledger {
	if capacity <= 0 {
		capacity = 1
	}
	return &Ledger{entries: map[string]*ledgerEntry{}, finished: make([]string, capacity)}
}

// Begin claims messageID, and tells what earlier attempts did: for
// ClaimNew, the parts an interrupted attempt already sent; for
// ClaimFinished, the outcome.
func (l *Ledger) Begin(messageID string) (Claim, Prior) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[messageID]
	switch {
	case e == nil:
		l.entries[messageID] = &ledgerEntry{busy: true}
		return ClaimNew, Prior{}
	case e.finished:
		return ClaimFinished, e.prior
	case e.busy:
		return ClaimBusy, Prior{}
	default:
		e.busy = true
		return ClaimNew, e.prior
	}
}

// Pause ends an attempt that will be retried: partsSent parts are done.
func (l *Ledger) Pause(messageID string, partsSent int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[messageID]; e != nil {
		e.busy, e.prior.PartsSent = false, partsSent
	}
}

// Finish records that messageID is handled for good: sent, or failed for
// the reason given.
func (l *Ledger) Finish(messageID string, outcome Prior) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[messageID]
	if e == nil {
		e = &ledgerEntry{}
		l.entries[messageID] = e
	}
	if e.finished {
		return
	}
	e.busy, e.finished, e.prior = false, true, outcome
	if old := l.finished[l.next]; old != "" {
		delete(l.entries, old)
	}
	l.finished[l.next] = messageID
	l.next = (l.next + 1) % len(l.finished)
}
