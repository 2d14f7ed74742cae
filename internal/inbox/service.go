package inbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Publisher receives live events once their transaction has committed.
type Publisher interface {
	Publish(events ...realtime.Event)
	// Active tells whether anyone listens; events are not built otherwise.
	Active() bool
}

// Waker is told that outbound work was committed, so a worker can start
// at once instead of at its next poll.
type Waker interface{ Wake() }

// ContentPolicy is the rich-content engine as the inbox uses it: it
// validates and renders outbound content, and maps inbound replies onto a
// thread's pending prompt. Without one, only text is accepted.
type ContentPolicy interface {
	// Prepare validates content for sending on channelType by a sender
	// with the given role (agents are limited to their channel's agent
	// table; "" is a bot or the system) and renders it. messageID becomes
	// the id of the prompt the message opens, if any.
	Prepare(channelType string, role account.Role, content json.RawMessage, text, messageID string) (Prepared, error)
	// Validate checks inbound canonical content.
	Validate(content json.RawMessage) error
	// Resolve maps an inbound reply onto a pending prompt.
	Resolve(prompt json.RawMessage, text, nativeID string, now time.Time) (ReplyOutcome, error)
}

// Prepared is rendered outbound content.
type Prepared struct {
	Rendered json.RawMessage // what the channel receives, stored beside the canonical content
	Text     string          // the plain-text fallback
	Prompt   json.RawMessage // the prompt this message opens, or nil
}

// ReplyOutcome is what an inbound reply did to the pending prompt.
type ReplyOutcome struct {
	Choice      json.RawMessage // the structured answer, or nil (free text)
	ClearPrompt bool            // the prompt is answered, expired or cancelled
	Prompt      json.RawMessage // otherwise the prompt as it now stands
	AskAgain    json.RawMessage // content to send back (ambiguous answer, next form question), or nil
}

// ChannelPolicies tells the inbox each channel type's reply window and
// proactive policy (the channel registry implements it).
type ChannelPolicies interface {
	ViewWindow(channelType string, lastInbound *time.Time, now time.Time) *channel.WindowView
	Proactive(channelType string) channel.Proactive
	// MaxAttachments is the most files one message may carry on a channel
	// type; limited is false when there is no limit.
	MaxAttachments(channelType string) (n int, limited bool)
}

// TemplateLookup finds a point of contact's stored message template.
type TemplateLookup interface {
	Get(ctx context.Context, q store.Querier, workspaceID, pocID, name, language string) (channel.StoredTemplate, error)
}

// Options configure the service.
type Options struct {
	DB        *store.DB
	Now       func() time.Time
	Publisher Publisher
	Waker     Waker
	Content   ContentPolicy
	Channels  ChannelPolicies
	Templates TemplateLookup
	Logger    *slog.Logger
	// ReplySetsPending moves a case to pending when an agent replies
	// (the reference product's behaviour; on by default).
	ReplySetsPending *bool
	// GroupCommit batches concurrent ingests into one SQLite transaction.
	GroupCommit bool
	// MaxBatch bounds a group commit (default 256 requests).
	MaxBatch int
	// Registerer receives the inbox metrics (optional).
	Registerer prometheus.Registerer
	// Flow is told, after commit, of every customer message stored (to run
	// the default script, start SLA timers and route).
	Flow FlowSink
	// Moderators (optional) find the adapter that hides, deletes and likes
	// public messages on a point of contact's platform.
	Moderators ModeratorLookup
}

// FlowSink receives inbound messages after they are committed. It must not
// block: the ingest path calls it.
type FlowSink interface {
	Inbound(FlowNotice)
}

// FlowNotice is one stored customer message.
type FlowNotice struct {
	WorkspaceID      string
	PointOfContactID string
	CaseID           string
	MessageID        string
	NewCase          bool // the message opened the case
	Reopened         bool // the message reopened a pending or resolved case
}

// Service is the digital inbox.
type Service struct {
	db               *store.DB
	now              func() time.Time
	pub              Publisher
	waker            Waker
	content          ContentPolicy
	channels         ChannelPolicies
	templates        TemplateLookup
	log              *slog.Logger
	replySetsPending bool
	batcher          *batcher
	threads          *threadCache // nil unless group commit
	signer           AttachmentSigner
	flow             FlowSink
	moderators       ModeratorLookup
}

// New makes the service. Call Run to start the group-commit loop when
// GroupCommit is on.
func New(o Options) *Service {
	s := &Service{db: o.DB, now: o.Now, pub: o.Publisher, waker: o.Waker, content: o.Content, channels: o.Channels, templates: o.Templates,
		log: o.Logger, replySetsPending: true, flow: o.Flow, moderators: o.Moderators}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if o.ReplySetsPending != nil {
		s.replySetsPending = *o.ReplySetsPending
	}
	if o.GroupCommit {
		max := o.MaxBatch
		if max <= 0 {
			max = 256
		}
		s.batcher = newBatcher(s, max)
		s.threads = newThreadCache()
		if o.Registerer != nil {
			o.Registerer.MustRegister(s.batcher.sizes)
		}
	}
	return s
}

// Run serves group commits until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if s.batcher == nil {
		<-ctx.Done()
		return nil
	}
	return s.batcher.run(ctx)
}

// pendingEvent is an event whose data is marshalled only if someone
// listens when its transaction commits.
type pendingEvent struct {
	typ, workspaceID, pocID, caseID string
	data                            any
	at                              time.Time
}

func (s *Service) publish(tx *store.Tx, events ...pendingEvent) {
	if s.pub == nil || len(events) == 0 {
		return
	}
	tx.AfterCommit(func() {
		if !s.pub.Active() {
			return
		}
		out := make([]realtime.Event, len(events))
		for i, e := range events {
			b, _ := json.Marshal(e.data)
			out[i] = realtime.Event{ID: store.NewID(), Type: e.typ, WorkspaceID: e.workspaceID, PointOfContactID: e.pocID, CaseID: e.caseID, Data: b, At: e.at}
		}
		s.pub.Publish(out...)
	})
}

// actorType is how the audit log names who acted: a user, or the system
// (scripts, automation rules and bots act through a user without an id).
func actorType(u *account.User) string {
	if u.ID == "" {
		return "system"
	}
	return "user"
}

// System is the actor scripts and automation rules act as: it sees the
// whole workspace, and its replies are stored as a bot's.
func System(workspaceID, name string) *account.User {
	return &account.User{WorkspaceID: workspaceID, Name: name, Role: account.RoleAdmin}
}

func event(typ, workspaceID, pocID, caseID string, data any, at time.Time) pendingEvent {
	return pendingEvent{typ: typ, workspaceID: workspaceID, pocID: pocID, caseID: caseID, data: data, at: at}
}
