// Package channel defines the contract every platform adapter implements
// (internal/channel/<platform>), the registry that finds an adapter by
// channel type, and the points of contact: configured channel instances with
// their settings and encrypted credentials.
//
// An adapter answers the platform's handshake, authenticates each request on
// its raw body, parses it into canonical inbound events, and sends canonical
// outbound messages, classifying failures as retryable or permanent. The
// core (internal/inbox, internal/outbox) does everything else, so a new
// channel only adds a package.
package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Errors adapters return; the HTTP layer maps them to status codes.
var (
	// ErrUnauthenticated: bad signature or token → 401.
	ErrUnauthenticated = errors.New("channel: request not authenticated")
	// ErrUnsupported: the adapter cannot do this (e.g. proactive outbound) → 422.
	ErrUnsupported = errors.New("channel: not supported by this channel")
)

// MalformedError is a request the adapter cannot parse → 400 with the reason.
type MalformedError struct {
	Field  string
	Reason string
}

func (e *MalformedError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Malformed builds a MalformedError.
func Malformed(field, format string, args ...any) error {
	return &MalformedError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Adapter is one platform's integration.
type Adapter interface {
	// Type is the channel type identifier (DESIGN.md), e.g. "byoc".
	Type() string
	// Configure validates settings and credentials when a point of contact
	// is created or changed, normalising them in place. It never needs the
	// platform to be reachable. It may generate secrets (Config.Generated):
	// the core stores them encrypted and shows them once.
	Configure(ctx context.Context, cfg *Config) error
}

// Config is what Configure checks and may complete.
type Config struct {
	PointOfContactID string
	Creating         bool
	Settings         map[string]any
	Credentials      map[string]string
	// InboundToken, when set by the adapter, is a bearer token the platform
	// or middleware presents on inbound requests; only its hash is stored.
	InboundToken string
	// Generated holds values to show the caller once (token, secret).
	Generated map[string]string
}

// Receiver is implemented by adapters that accept inbound traffic.
type Receiver interface {
	// Authenticate verifies the request (signature over the raw body, or a
	// bearer token) before anything is parsed or stored.
	Authenticate(r *http.Request, body []byte, poc *PointOfContact) error
	// Parse turns the body into canonical events; an empty slice is fine
	// (e.g. a batch of events the core does not handle).
	Parse(r *http.Request, body []byte, poc *PointOfContact) ([]InboundEvent, error)
}

// Handshaker answers a platform's verification request (e.g. Meta's GET
// hub.challenge). It reports whether it handled the request.
type Handshaker interface {
	Handshake(w http.ResponseWriter, r *http.Request, poc *PointOfContact) bool
}

// Responder writes the acknowledgement a platform expects after ingest;
// without it the core answers 200 with a JSON summary.
type Responder interface {
	Respond(w http.ResponseWriter, r *http.Request, results []IngestResult)
}

// Sender delivers outbound messages. It returns the platform's message id,
// or a *SendError (any other error is treated as retryable).
type Sender interface {
	Send(ctx context.Context, poc *PointOfContact, msg *OutboundMessage) (SendResult, error)
}

// EventKind tells what an inbound event is.
type EventKind string

const (
	EventMessage EventKind = "message"
	EventStatus  EventKind = "status"
)

// InboundEvent is one canonical thing a platform told us.
type InboundEvent struct {
	Kind EventKind

	// For messages.
	PlatformMessageID string
	ThreadID          string // the platform's conversation id (chat id, PSID, BYOC thread id…)
	ThreadName        string
	AuthorID          string // the platform's id of the customer
	AuthorName        string
	Text              string
	Content           json.RawMessage // canonical rich content, validated by the core
	// ChoiceID is the platform's structured answer to a rich prompt: the
	// option or slot id(s) of a tapped button or picked row (several
	// joined by commas for multi-select). Empty for typed text.
	ChoiceID    string
	Attachments []InboundAttachment
	SentAt      time.Time

	// For delivery receipts of our outbound messages.
	StatusMessageID string // our message id or the platform's id for it
	Status          string // delivered, read, failed
	Reason          string
}

// InboundAttachment is a file that came with a message: either bytes the
// platform sent, or a URL to fetch (with the adapter's headers).
type InboundAttachment struct {
	URL      string
	Header   http.Header
	Data     []byte
	MimeType string
	Name     string
}

// IngestResult tells the adapter what became of each event (for Respond).
type IngestResult struct {
	Event     *InboundEvent
	MessageID string
	CaseID    string
	ThreadID  string
	ContactID string
	Duplicate bool
	Status    string // for status events: the message's resulting status
	Err       error  // per-event failure (e.g. unknown message for a receipt)
}

// OutboundMessage is what the outbox hands a Sender.
type OutboundMessage struct {
	ID               string
	WorkspaceID      string
	CaseID           string
	ThreadExternalID string
	RecipientID      string
	RecipientName    string
	Text             string
	Content          json.RawMessage
	Rendered         json.RawMessage
	Attachments      []OutboundAttachment
	Attempt          int
}

// OutboundAttachment is a stored file with a signed URL the platform can GET.
type OutboundAttachment struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	URL      string `json:"url"`
}

// SendResult is a successful send.
type SendResult struct {
	PlatformMessageID string
}

// SendError is a failed send, classified.
type SendError struct {
	Retryable  bool
	RetryAfter time.Duration // the platform's own hint (429 Retry-After), 0 if none
	Code       string        // the platform's error code, e.g. "429" or "131047"
	Reason     string        // the platform's text, shown to agents
}

func (e *SendError) Error() string {
	if e.Code != "" {
		return e.Code + ": " + e.Reason
	}
	return e.Reason
}

// Registry finds adapters by channel type.
type Registry struct {
	adapters map[string]Adapter
}

// NewRegistry makes a registry with the given adapters.
func NewRegistry(adapters ...Adapter) *Registry {
	r := &Registry{adapters: map[string]Adapter{}}
	for _, a := range adapters {
		r.adapters[a.Type()] = a
	}
	return r
}

// Get returns the adapter for a channel type.
func (r *Registry) Get(channelType string) (Adapter, bool) {
	a, ok := r.adapters[channelType]
	return a, ok
}

// Types lists the registered channel types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.adapters))
	for t := range r.adapters {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
