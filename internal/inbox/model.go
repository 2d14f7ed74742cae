// Package inbox is the digital inbox: contacts and their identities,
// threads, cases and messages, notes and tags. It owns their SQL. Inbound
// traffic is ingested here (idempotently, in one transaction with the work
// it triggers); outbound messages are accepted here together with their
// delivery work, which internal/outbox then performs.
package inbox

import (
	"encoding/json"

	"errors"
	"fmt"
	"github.com/parleyhq/parley/internal/channel"
	"time"
)

// Status is a case's state in the digital inbox (DESIGN.md).
type Status string

const (
	StatusNew       Status = "new"       // no agent reply yet
	StatusOpen      Status = "open"      // being worked
	StatusPending   Status = "pending"   // the agent replied and waits on the customer
	StatusEscalated Status = "escalated" // waiting on another team or a supervisor
	StatusResolved  Status = "resolved"  // answered; a new customer message reopens it
	StatusClosed    Status = "closed"    // final; a new customer message starts a new case
	StatusTrashed   Status = "trashed"   // spam or irrelevant; restorable
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusEscalated, StatusResolved, StatusClosed, StatusTrashed}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// manualTransitions are the changes a person (or the API) may make. Inbound
// messages and agent replies move cases by the rules in ingest.go and
// outbound.go, which are a subset of these.
var manualTransitions = map[Status][]Status{
	StatusNew:       {StatusOpen, StatusPending, StatusEscalated, StatusResolved, StatusTrashed},
	StatusOpen:      {StatusPending, StatusEscalated, StatusResolved, StatusTrashed},
	StatusPending:   {StatusOpen, StatusEscalated, StatusResolved, StatusTrashed},
	StatusEscalated: {StatusOpen, StatusPending, StatusResolved, StatusTrashed},
	StatusResolved:  {StatusOpen, StatusClosed, StatusTrashed},
	StatusClosed:    {},
	StatusTrashed:   {StatusOpen}, // restore; also back to the status it was trashed from
}

// AllowedTransitions lists where a case may go from its status. A trashed
// case may also return to the status it had before (trashedFrom).
func AllowedTransitions(from Status, trashedFrom Status) []Status {
	out := append([]Status(nil), manualTransitions[from]...)
	if from == StatusTrashed && trashedFrom != "" && trashedFrom != StatusOpen && trashedFrom != StatusTrashed {
		out = append(out, trashedFrom)
	}
	return out
}

// TransitionError is an illegal status change → 409.
type TransitionError struct {
	From, To Status
	Allowed  []Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("a %s case cannot become %s (allowed: %v)", e.From, e.To, e.Allowed)
}

// UnreachableError: the platform said this customer can no longer be
// messaged (blocked the bot, unsubscribed) and they have not written since
// → 409.
type UnreachableError struct{ Reason string }

func (e *UnreachableError) Error() string {
	return "the customer cannot be reached on this channel until they write again (" + e.Reason + ")"
}

// WindowError is a send the channel's reply window forbids → 409.
type WindowError struct {
	Window *channel.WindowView
	Reason string
}

func (e *WindowError) Error() string { return e.Reason }

// Errors the HTTP layer maps to status codes.
var (
	// ErrProactiveNotAllowed: the channel forbids business-initiated
	// conversations (Messenger, Instagram, LINE, Telegram, Apple) → 409.
	// ErrOptedOut: the customer replied STOP on this number → 409.
	ErrOptedOut            = errors.New("inbox: the contact has opted out (replied STOP) on this point of contact; they must send START first")
	ErrProactiveNotAllowed = errors.New("inbox: this channel does not allow starting a conversation with a contact who has not written")
	ErrForbidden           = errors.New("inbox: not permitted")
	ErrCaseClosed          = errors.New("inbox: the case is closed or trashed; reply on the thread's current case")
)

// ValidationError names the field that is wrong → 400.
type ValidationError struct{ Field, Reason string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Case is a unit of work in the digital inbox.
type Case struct {
	ID               string          `json:"id"`
	ThreadID         string          `json:"thread_id"`
	PointOfContactID string          `json:"point_of_contact_id"`
	ChannelType      string          `json:"channel_type"`
	ContactID        string          `json:"contact_id"`
	ContactName      string          `json:"contact_name"`
	Status           Status          `json:"status"`
	AllowedStatuses  []Status        `json:"allowed_statuses"`
	Priority         int             `json:"priority"`
	SkillID          *string         `json:"skill_id"`
	AssigneeID       *string         `json:"assignee_id"`
	OwnerID          *string         `json:"owner_id"`
	Subject          string          `json:"subject"`
	Tags             []string        `json:"tags"`
	CustomFields     json.RawMessage `json:"custom_fields"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	LastMessageAt    time.Time       `json:"last_message_at"`
	LastInboundAt    *time.Time      `json:"last_inbound_at"`
	FirstResponseAt  *time.Time      `json:"first_response_at"`
	ResolvedAt       *time.Time      `json:"resolved_at"`
	ClosedAt         *time.Time      `json:"closed_at"`
	// ReplyWindow tells the agent, before they type, until when they may
	// reply freely and what they may send after (nil: the channel has no
	// window).
	ReplyWindow *channel.WindowView `json:"reply_window,omitempty"`
	// RoutingState: "" (not routed), pending (its script has not run),
	// queued, offered, assigned.
	RoutingState string     `json:"routing_state"`
	LastReplyAt  *time.Time `json:"last_reply_at"`
	// SLA is the case's current response timer (nil: no target).
	SLA *SLATimer `json:"sla"`

	workspaceID string
	trashedFrom Status
}

// SLATimer is a case's response target: first response, or the next
// response after the customer wrote again; warn and due times are in the
// skill's business hours.
type SLATimer struct {
	Kind        string     `json:"kind"` // first_response, next_response
	StartedAt   time.Time  `json:"started_at"`
	WarnAt      time.Time  `json:"warn_at"`
	DueAt       time.Time  `json:"due_at"`
	State       string     `json:"state"` // running, warning, breached, met
	RespondedAt *time.Time `json:"responded_at,omitempty"`
}

// Direction of a message.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// Delivery statuses of a message. Inbound messages are "received".
const (
	MsgReceived  = "received"
	MsgPending   = "pending"
	MsgSent      = "sent"
	MsgDelivered = "delivered"
	MsgRead      = "read"
	MsgFailed    = "failed"
)

// Author of a message.
type Author struct {
	Type string `json:"type"` // contact, agent, bot, system
	ID   string `json:"id,omitempty"`
}

// Message is one inbound or outbound message.
type Message struct {
	ID                string          `json:"id"`
	CaseID            string          `json:"case_id"`
	ThreadID          string          `json:"thread_id"`
	PointOfContactID  string          `json:"point_of_contact_id"`
	Direction         string          `json:"direction"`
	Author            Author          `json:"author"`
	Text              string          `json:"text"`
	Content           json.RawMessage `json:"content"`
	Rendered          json.RawMessage `json:"rendered"`
	Choice            json.RawMessage `json:"choice,omitempty"`               // an inbound answer to a rich prompt, structured
	Template          json.RawMessage `json:"template,omitempty"`             // a template message as sent: name, language, parameters
	ReplyToPlatformID *string         `json:"reply_to_platform_id,omitempty"` // the quoted (or reacted-to) message's platform id
	Reaction          string          `json:"reaction,omitempty"`
	HTML              string          `json:"html,omitempty"`      // an email's sanitised HTML
	Automated         bool            `json:"automated,omitempty"` // a bounce or auto-reply
	// Visibility is public (everyone on the platform sees it: a comment on
	// a post) or private. Hidden, Deleted and Liked are the business's
	// moderation of a public message, as done on the platform.
	Visibility        string       `json:"visibility"`
	Hidden            bool         `json:"hidden"`
	Deleted           bool         `json:"deleted"`
	Liked             bool         `json:"liked"`
	Attachments       []Attachment `json:"attachments"`
	PlatformMessageID *string      `json:"platform_message_id"`
	Status            string       `json:"status"`
	StatusReason      string       `json:"status_reason,omitempty"`
	CreatedAt         time.Time    `json:"created_at"`
	PlatformSentAt    *time.Time   `json:"platform_sent_at,omitempty"`
	SentAt            *time.Time   `json:"sent_at,omitempty"`
	DeliveredAt       *time.Time   `json:"delivered_at,omitempty"`
	ReadAt            *time.Time   `json:"read_at,omitempty"`
	FailedAt          *time.Time   `json:"failed_at,omitempty"`

	workspaceID string
}

// Attachment is a stored file of a message.
type Attachment struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	BlobKey  string `json:"-"`
}

// File is an attachment already written to the blob store, ready to be
// referenced by a message.
type File struct {
	Name      string
	MimeType  string
	Size      int64
	SHA256    string
	BlobKey   string
	SourceURL string
}

// Contact is a customer.
type Contact struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Email        string          `json:"email"`
	Phone        string          `json:"phone"`
	CustomFields json.RawMessage `json:"custom_fields"`
	Identities   []Identity      `json:"identities"`
	MergedInto   *string         `json:"merged_into,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// Identity is a contact's address on one point of contact.
type Identity struct {
	ID               string    `json:"id"`
	PointOfContactID string    `json:"point_of_contact_id"`
	ChannelType      string    `json:"channel_type"`
	Address          string    `json:"address"`
	DisplayName      string    `json:"display_name"`
	CreatedAt        time.Time `json:"created_at"`
}

// Note is an internal note on a case, never sent to the customer.
type Note struct {
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	AuthorID  string    `json:"author_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}
