package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Callback is the body Parley POSTs to the point of contact's callback_url
// for every outbound message (an agent's reply, a bot, a campaign).
type Callback struct {
	MessageID        string `json:"message_id"` // Parley's message id: dedupe on it
	PointOfContactID string `json:"point_of_contact_id"`
	Thread           struct {
		ID string `json:"id"`
	} `json:"thread"`
	Recipient struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"recipient"`
	Text        string               `json:"text"`     // always usable plain text
	Content     json.RawMessage      `json:"content"`  // canonical rich content, or null
	Rendered    json.RawMessage      `json:"rendered"` // what Parley rendered for this channel, or null
	Attachments []CallbackAttachment `json:"attachments"`
}

// CallbackAttachment is a file of an outbound message. URL is a time-limited
// signed Parley URL: GET it (no Authorization header needed) while it is valid.
type CallbackAttachment struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	URL      string `json:"url"`
}

// CallbackHandler serves Parley's callbacks: it verifies the signature on the
// raw body before anything else, drops duplicates, hands the message to the
// work queue and answers at once with the id the middleware gives it.
type CallbackHandler struct {
	Secret    []byte
	Tolerance time.Duration    // 0 means DefaultTolerance
	MaxBody   int64            // 0 means 1 MiB
	Now       func() time.Time // nil means time.Now
	Seen      *SeenSet
	Work      chan<- Callback // buffered; when full the handler answers 503 and Parley retries
	Log       *slog.Logger
}

func (h *CallbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	maxBody := h.MaxBody
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "Body too large", fmt.Sprintf("the limit is %d bytes", maxBody))
			return
		}
		writeProblem(w, http.StatusBadRequest, "Unreadable body", err.Error())
		return
	}

	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	tolerance := h.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if err := VerifySignature(h.Secret, r.Header.Get(SignatureHeader), body, now(), tolerance); err != nil {
		h.Log.Warn("callback refused", "remote", r.RemoteAddr, "err", err)
		writeProblem(w, http.StatusUnauthorized, "Invalid signature", err.Error())
		return
	}

	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		writeProblem(w, http.StatusBadRequest, "Malformed JSON", err.Error())
		return
	}
	var missing []string
	if cb.MessageID == "" {
		missing = append(missing, "message_id")
	}
	if cb.Thread.ID == "" {
		missing = append(missing, "thread.id")
	}
	if cb.Recipient.ID == "" {
		missing = append(missing, "recipient.id")
	}
	if len(missing) > 0 {
		writeProblem(w, http.StatusBadRequest, "Missing fields", strings.Join(missing, ", ")+" required")
		return
	}

	// The id we answer with is derived from Parley's, so a duplicate gets the
	// same answer as the original without having to remember anything else.
	answer := map[string]string{"id": "echo-" + cb.MessageID}
	log := h.Log.With("message_id", cb.MessageID, "thread_id", cb.Thread.ID,
		"attempt", r.Header.Get("X-Parley-Delivery-Attempt"))

	if !h.Seen.Add(cb.MessageID) {
		log.Info("duplicate callback ignored")
		writeJSON(w, http.StatusOK, answer)
		return
	}
	select {
	case h.Work <- cb:
	default:
		h.Seen.Remove(cb.MessageID) // not handled: let Parley's retry through
		log.Warn("work queue full, asking parley to retry")
		w.Header().Set("Retry-After", "5")
		writeProblem(w, http.StatusServiceUnavailable, "Busy", "work queue full, retry later")
		return
	}
	log.Info("callback accepted", "recipient_id", cb.Recipient.ID, "attachments", len(cb.Attachments))
	writeJSON(w, http.StatusOK, answer)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": title, "status": status, "detail": detail,
	})
}

// SeenSet remembers the last N message ids (first in, first out). Parley's
// delivery is at-least-once, so the same message_id can arrive twice; a real
// middleware keeps this in its database, next to the platform message id.
type SeenSet struct {
	mu    sync.Mutex
	ids   map[string]int // id → its slot in order
	order []string       // ring buffer of ids in insertion order
	next  int
}

// NewSeenSet returns a set holding at most capacity ids.
func NewSeenSet(capacity int) *SeenSet {
	if capacity <= 0 {
		capacity = 1
	}
	return &SeenSet{ids: make(map[string]int, capacity), order: make([]string, capacity)}
}

// Add records id and reports whether it was new.
func (s *SeenSet) Add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}
	if old := s.order[s.next]; old != "" && s.ids[old] == s.next {
		delete(s.ids, old)
	}
	s.order[s.next] = id
	s.ids[id] = s.next
	s.next = (s.next + 1) % len(s.order)
	return true
}

// Remove forgets id (its slot in the ring is reused later).
func (s *SeenSet) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

// Echoer does the slow part after the callback has been answered: it reports
// the message delivered and posts an inbound "echo: …" message back as the
// customer, on the same thread. One goroutine handles the queue in order, so
// the echoes of one thread reach Parley in the order Parley sent them.
type Echoer struct {
	Parley *ParleyClient
	Log    *slog.Logger
	Now    func() time.Time
}

// Run handles callbacks from work until stopping is closed, then finishes
// what is already queued and returns. Cancel ctx to abandon the queue.
func (e *Echoer) Run(ctx context.Context, work <-chan Callback, stopping <-chan struct{}) {
	for {
		select {
		case cb := <-work:
			e.Handle(ctx, cb)
		case <-stopping:
			for {
				select {
				case cb := <-work:
					e.Handle(ctx, cb)
				default:
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// Handle sends the receipt and the echo for one callback.
func (e *Echoer) Handle(ctx context.Context, cb Callback) {
	log := e.Log.With("message_id", cb.MessageID, "thread_id", cb.Thread.ID)
	if ctx.Err() != nil {
		log.Warn("shutting down, echo dropped")
		return
	}

	// A real middleware would now call the platform (WeChat, …) and report
	// "delivered" or "failed" from the platform's own answer or receipt.
	if err := e.Parley.PostStatus(ctx, Status{MessageID: cb.MessageID, Status: "delivered"}); err != nil {
		log.Error("delivered receipt failed", "err", err)
	} else {
		log.Info("delivered receipt sent")
	}

	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	in := InboundMessage{
		ID:     "echo-in-" + cb.MessageID, // deterministic, so a retry or a redelivery is deduplicated by Parley
		Thread: Ref{ID: cb.Thread.ID},
		Author: Ref{ID: cb.Recipient.ID, Name: cb.Recipient.Name},
		Text:   EchoText(cb),
		SentAt: now().UTC().Format(time.RFC3339Nano),
	}
	res, err := e.Parley.PostMessage(ctx, in)
	if err != nil {
		log.Error("echo failed", "err", err)
		return
	}
	log.Info("echo posted", "echo_id", in.ID, "parley_message_id", res.MessageID,
		"case_id", res.CaseID, "duplicate", res.Duplicate)
}

// EchoText is what the customer "answers": the agent's text, prefixed.
func EchoText(cb Callback) string {
	text := "echo: " + cb.Text
	if len(cb.Attachments) > 0 {
		names := make([]string, 0, len(cb.Attachments))
		for _, a := range cb.Attachments {
			names = append(names, fmt.Sprintf("%s (%s, %d bytes)", a.Name, a.MimeType, a.Size))
		}
		if cb.Text != "" {
			text += " "
		}
		text += "[attachments: " + strings.Join(names, ", ") + "]"
	}
	return text
}
