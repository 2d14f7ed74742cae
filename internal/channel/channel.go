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
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
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
	// ReplyToPlatformID is the platform id of the message this one quotes
	// (a WhatsApp context, a Messenger reply_to), or reacts to.
	ReplyToPlatformID string
	// Reaction is an emoji reaction to ReplyToPlatformID; the event is then
	// stored as a message whose text is the emoji.
	Reaction string
	// OptOut, when set, records the customer's STOP (true) or START
	// (false) for this address on this point of contact; later sends to an
	// opted-out address are refused.
	OptOut *bool
	// Subject is the email subject (cases take it as their subject).
	Subject string
	// HTML is the sanitised HTML body of an email, kept beside Text.
	HTML string
	// Automated marks bounces and auto-replies: stored on the thread they
	// belong to when known, but never opening or reopening a case.
	Automated bool
	// Public marks a message everyone can see on the platform (a comment
	// on a post) rather than a private one; only public messages can be
	// hidden, deleted or liked.
	Public bool

	// For delivery receipts of our outbound messages.
	StatusMessageID string // our message id or the platform's id for it
	Status          string // delivered, read, failed
	Reason          string // for failed: the platform's code and text
	// Watermark, when set instead of StatusMessageID, applies Status to
	// every outbound message of the thread ThreadID created before it
	// (Messenger delivery and read watermarks).
	Watermark time.Time
}

// InboundAttachment is a file that came with a message: either bytes the
// platform sent, or a URL to fetch (with the adapter's headers).
type InboundAttachment struct {
	URL    string
	Header http.Header
	// MediaRef is a platform media id that the adapter's MediaFetcher
	// downloads (e.g. WhatsApp: GET /{media-id}, then its URL).
	MediaRef string
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

// MediaFetcher downloads platform-hosted media named by
// InboundAttachment.MediaRef, with the point of contact's credentials. The
// core stores what it returns (size- and type-checked) in the blob store.
type MediaFetcher interface {
	FetchMedia(ctx context.Context, poc *PointOfContact, ref string) (body io.ReadCloser, mimeType string, err error)
}

// Window is a platform's reply policy for one contact, computed from the
// time of the customer's last message.
type Window struct {
	// FreeUntil: until then any message may be sent. Zero means the
	// channel has no window (always open).
	FreeUntil time.Time
	// HumanAgentUntil: after FreeUntil and until then, a human agent (not a
	// bot) may still reply (Messenger/Instagram HUMAN_AGENT tag). Zero: none.
	HumanAgentUntil time.Time
	// TemplatesAfter: once the window has closed, approved templates may
	// still be sent (WhatsApp).
	TemplatesAfter bool
}

// WindowPolicy is implemented by adapters whose platform limits when a
// business may reply.
type WindowPolicy interface {
	Window(lastInbound time.Time) Window
}

// ProactivePolicy tells whether a conversation may be started with a
// contact who never wrote: never (Messenger, Instagram, LINE, Telegram),
// only with an approved template (WhatsApp), or freely (SMS, email, BYOC).
type ProactivePolicy interface {
	Proactive() Proactive
}

// Proactive is what a channel allows for business-initiated conversations.
type Proactive string

const (
	ProactiveNever         Proactive = "never"
	ProactiveTemplatesOnly Proactive = "templates_only"
	ProactiveAllowed       Proactive = "allowed"
)

// Template is a platform's approved message template (WhatsApp).
type Template struct {
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Status     string          `json:"status"` // approved, pending, rejected, paused, disabled
	Components json.RawMessage `json:"components"`
	// Parameters lists each variable the template needs, in order, e.g.
	// {"component":"body","index":1,"type":"text"}.
	Parameters []TemplateParameter `json:"parameters"`
}

// TemplateParameter is one variable of a template.
type TemplateParameter struct {
	Component string `json:"component"` // header, body, button
	Index     int    `json:"index"`     // 1-based, as {{1}} in the template
	Type      string `json:"type"`      // text, currency, date_time, image, document, video
}

// TemplateSyncer fetches a point of contact's templates from the platform.
type TemplateSyncer interface {
	SyncTemplates(ctx context.Context, poc *PointOfContact) ([]Template, error)
}

// TemplateMessage is a template to send, its parameters already validated
// against the template by the core.
type TemplateMessage struct {
	Name       string   `json:"name"`
	Language   string   `json:"language"`
	Parameters []string `json:"parameters"` // in the order of Template.Parameters
	Template   Template `json:"template"`   // the stored template, for rendering
}

// Typer shows typing indicators and read marks where the platform has them.
type Typer interface {
	Typing(ctx context.Context, poc *PointOfContact, threadExternalID, recipientID string, on bool) error
	MarkRead(ctx context.Context, poc *PointOfContact, platformMessageID string) error
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
	// AuthorType is agent, bot or system: the HUMAN_AGENT tag is for people.
	AuthorType string
	// LastInboundAt is the customer's last message on this thread (zero if
	// none): adapters with a window pick the message type from it at send
	// time, and fail a send that is no longer allowed.
	LastInboundAt time.Time
	// ReplyToPlatformID quotes a message (WhatsApp context, Messenger reply).
	ReplyToPlatformID string
	// Template, when set, is what to send instead of Text/Content.
	Template *TemplateMessage
	// AuthorName is the sending agent's display name (email From name).
	AuthorName string
	// Subject is the case's subject (email).
	Subject string
	// ThreadPlatformIDs are the platform ids of the thread's earlier
	// messages, oldest first, at most 20 (email References; the last
	// inbound one is In-Reply-To).
	ThreadPlatformIDs []string
	// LastInboundPlatformID is the platform id of the customer's last
	// message on the thread.
	LastInboundPlatformID string
}

// SegmentCounter is implemented by channels that bill by segment (SMS):
// what an agent sees before sending.
type SegmentCounter interface {
	Segments(text string) (segments int, encoding string)
}

// Ingestor delivers inbound events the way a webhook does: attachments
// fetched and stored, content validated, everything committed in one
// transaction before it returns.
type Ingestor interface {
	Ingest(ctx context.Context, poc *PointOfContact, events []InboundEvent) ([]IngestResult, error)
}

// StateStore keeps small per-point-of-contact state for runners (an IMAP
// mailbox's UIDVALIDITY and last UID), durably.
type StateStore interface {
	Load(ctx context.Context, pocID, key string) (string, error) // "" when unset
	Save(ctx context.Context, pocID, key, value string) error
}

// ThreadResolver finds the thread an email belongs to.
type ThreadResolver interface {
	// ThreadByMessageIDs returns the external id of the thread holding any
	// of these platform message ids (inbound or outbound), newest first.
	ThreadByMessageIDs(ctx context.Context, pocID string, ids []string) (threadExternalID string, ok bool, err error)
	// ThreadBySubject returns the latest thread with this normalised
	// subject from this author since the given time (the last resort).
	ThreadBySubject(ctx context.Context, pocID, authorID, subject string, since time.Time) (threadExternalID string, ok bool, err error)
}

// RunEnv is what a Runner gets from the core.
type RunEnv struct {
	// Points lists the current points of contact of the runner's type,
	// across workspaces (re-read it to notice new and deleted ones).
	Points  func(ctx context.Context) ([]PointOfContact, error)
	Ingest  Ingestor
	State   StateStore
	Threads ThreadResolver
	Logger  *slog.Logger
}

// Runner is implemented by adapters that receive by themselves (IMAP
// polling/IDLE, an SMTP receiver) rather than only through webhooks. Run
// serves every point of contact of its type until ctx ends.
type Runner interface {
	Run(ctx context.Context, env RunEnv) error
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
	// Unreachable: the platform says this recipient can no longer be
	// messaged at all (Telegram 403 "bot was blocked by the user"); the
	// core records it on the contact's address and refuses later sends.
	Unreachable bool
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

// RetryAfter reads an HTTP Retry-After header (seconds or an HTTP date),
// capped at a day so a platform's typo cannot park a message for ever.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return min(time.Duration(secs)*time.Second, 24*time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// WebhookRegistrar is implemented by adapters whose platform must be told
// where to send webhooks (Telegram setWebhook, Viber set_webhook). The core
// calls it after a point of contact is created (and on the "register
// webhook" action); a failure is reported to the admin but never undoes the
// creation: creating a point of contact does not need the platform.
type WebhookRegistrar interface {
	RegisterWebhook(ctx context.Context, poc *PointOfContact, webhookURL string) error
}

// ModerationAction is something a business does to a customer's public
// message on its platform (MISSION §1: hide, delete, like).
type ModerationAction string

const (
	ModerationHide   ModerationAction = "hide"
	ModerationUnhide ModerationAction = "unhide"
	ModerationDelete ModerationAction = "delete"
	ModerationLike   ModerationAction = "like"
	ModerationUnlike ModerationAction = "unlike"
)

// ModerationActions lists every action (a new slice each call).
func ModerationActions() []ModerationAction {
	return []ModerationAction{ModerationHide, ModerationUnhide, ModerationDelete, ModerationLike, ModerationUnlike}
}

// ModerationRequest names the message to act on.
type ModerationRequest struct {
	Action            ModerationAction
	MessageID         string // Parley's id
	PlatformMessageID string
	ThreadExternalID  string
	AuthorID          string // the customer's platform id
}

// Moderator acts on public messages on the platform. Moderates tells
// whether this point of contact offers the action at all (a platform
// without "like" answers false, and the core refuses with 409 before any
// call). Moderate returns nil or a *SendError with the platform's reason.
type Moderator interface {
	Moderates(poc *PointOfContact, action ModerationAction) bool
	Moderate(ctx context.Context, poc *PointOfContact, req ModerationRequest) error
}

// AttachmentPolicy limits the files one outbound message may carry (LINE
// takes none from a business, X DMs one). Adapters without it take any
// number. The outbound pipeline refuses a message over the limit with a
// clear error before anything is queued.
type AttachmentPolicy interface {
	// MaxAttachments is the most files one message may carry; 0: none.
	MaxAttachments() int
}

// Rate is a platform's sending limit for one point of contact.
type Rate struct {
	PerSecond float64 // sustained messages per second
	Burst     int     // messages that may go at once
}

// RateLimiter is implemented by adapters whose platform caps the sending
// rate (Telegram about 30 messages/s per bot); the outbox paces sends per
// point of contact so the platform's 429 stays the exception.
type RateLimiter interface {
	RateLimit() Rate
}
