package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/smtp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/automation"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/store"
)

// automationApplier carries out rule actions through the inbox and the
// router, as the system; every change goes through the same checks,
// audit and live events as a person's.
type automationApplier struct {
	inbox  *inbox.Service
	router *routing.Router
	engine func() *automation.Engine
	tap    *automationTap
}

func (a *automationApplier) user(workspaceID string) *account.User {
	return inbox.System(workspaceID, "automation")
}

func permanentIfRefused(err error) error {
	var te *inbox.TransitionError
	var ve *inbox.ValidationError
	if errors.As(err, &te) || errors.As(err, &ve) || errors.Is(err, store.ErrNotFound) || errors.Is(err, inbox.ErrCaseClosed) {
		return automation.Permanent(err)
	}
	return err
}

// within marks the case as being changed by a rule at depth d while fn
// runs, so the events it causes carry the depth (the loop guard).
func (a *automationApplier) within(ctx context.Context, caseID string, fn func() error) error {
	a.tap.setDepth(caseID, automation.DepthFrom(ctx))
	defer a.tap.setDepth(caseID, -1)
	return permanentIfRefused(fn())
}

func (a *automationApplier) AddTags(ctx context.Context, ws, caseID string, tags []string) error {
	return a.within(ctx, caseID, func() error { _, err := a.inbox.SetTags(ctx, a.user(ws), caseID, tags, nil); return err })
}

func (a *automationApplier) RemoveTags(ctx context.Context, ws, caseID string, tags []string) error {
	return a.within(ctx, caseID, func() error { _, err := a.inbox.SetTags(ctx, a.user(ws), caseID, nil, tags); return err })
}

func (a *automationApplier) SetStatus(ctx context.Context, ws, caseID, status string) error {
	c, err := a.inbox.GetCase(ctx, a.user(ws), caseID)
	if err != nil {
		return permanentIfRefused(err)
	}
	if string(c.Status) == status {
		return nil
	}
	if status == string(inbox.StatusClosed) {
		if err := a.engine().BeforeClose(ctx, ws, caseID); err != nil {
			return err
		}
	}
	st := inbox.Status(status)
	return a.within(ctx, caseID, func() error {
		_, err := a.inbox.UpdateCase(ctx, a.user(ws), caseID, inbox.CasePatch{Status: &st})
		return err
	})
}

func (a *automationApplier) SetPriority(ctx context.Context, ws, caseID string, priority int) error {
	return a.within(ctx, caseID, func() error {
		_, err := a.inbox.UpdateCase(ctx, a.user(ws), caseID, inbox.CasePatch{Priority: &priority})
		return err
	})
}

func (a *automationApplier) SetField(ctx context.Context, ws, caseID, name string, value any) error {
	b, err := json.Marshal(map[string]any{name: value})
	if err != nil {
		return automation.Permanent(err)
	}
	raw := json.RawMessage(b)
	return a.within(ctx, caseID, func() error {
		_, err := a.inbox.UpdateCase(ctx, a.user(ws), caseID, inbox.CasePatch{CustomFields: &raw})
		return err
	})
}

func (a *automationApplier) Reroute(ctx context.Context, ws, caseID, skillID string) error {
	return a.within(ctx, caseID, func() error { return a.router.Transfer(ctx, ws, "", caseID, skillID, "") })
}

func (a *automationApplier) SendMessage(ctx context.Context, ws, caseID, text string, content json.RawMessage) error {
	return a.within(ctx, caseID, func() error {
		_, err := a.inbox.Reply(ctx, a.user(ws), caseID, inbox.NewMessage{Text: text, Content: content})
		return err
	})
}

// automationTap sits between the inbox/router and the realtime hub: it
// passes every event on, and turns this node's case and message events
// into automation triggers (events that came from other nodes through
// PostgreSQL do not pass here, so each is handled once).
type automationTap struct {
	next   *realtime.Hub
	engine func() *automation.Engine
	// rules reports whether any enabled rule exists, so events are built
	// for automation only when someone may need them.
	rules atomic.Bool
	mu    sync.Mutex
	depth map[string]int // case → depth of the rule changing it now
	queue []automation.Event
	wake  chan struct{}
}

func (t *automationTap) setDepth(caseID string, d int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.depth == nil {
		t.depth = map[string]int{}
	}
	if d < 0 {
		delete(t.depth, caseID)
		return
	}
	t.depth[caseID] = d
}

func (t *automationTap) Active() bool { return t.next.Active() || t.rules.Load() }

func (t *automationTap) Publish(events ...realtime.Event) {
	if t.next.Active() {
		t.next.Publish(events...)
	}
	if !t.rules.Load() {
		return
	}
	// Matching rules and writing jobs is database work: it runs on the
	// tap's own goroutine, not in the committing transaction's hook (the
	// ingest batcher's).
	var evs []automation.Event
	t.mu.Lock()
	for _, e := range events {
		if ev, ok := triggerOf(e); ok {
			ev.Depth = t.depth[e.CaseID]
			evs = append(evs, ev)
		}
	}
	t.queue = append(t.queue, evs...)
	t.mu.Unlock()
	if len(evs) > 0 {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// run hands queued events to the engine until ctx ends.
func (t *automationTap) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.wake:
		}
		t.mu.Lock()
		batch := t.queue
		t.queue = nil
		t.mu.Unlock()
		for _, ev := range batch {
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_ = t.engine().Handle(hctx, ev)
			cancel()
		}
	}
}

// triggerOf maps a live event to an automation event.
func triggerOf(e realtime.Event) (automation.Event, bool) {
	ev := automation.Event{WorkspaceID: e.WorkspaceID, CaseID: e.CaseID, At: e.At}
	if e.CaseID == "" {
		return ev, false
	}
	var d struct {
		Status         string          `json:"status"`
		PreviousStatus string          `json:"previous_status"`
		Assignee       json.RawMessage `json:"assignee_id"`
		Direction      string          `json:"direction"`
		ID             string          `json:"id"`
	}
	_ = json.Unmarshal(e.Data, &d)
	switch e.Type {
	case realtime.TypeCaseCreated:
		ev.Type = automation.TriggerCaseCreated
	case realtime.TypeMessageCreated:
		ev.Type, ev.MessageID, ev.Direction = automation.TriggerMessageCreated, d.ID, d.Direction
	case realtime.TypeCaseUpdated:
		switch {
		case d.PreviousStatus != "" && d.Status != "" && d.Status != d.PreviousStatus:
			ev.Type, ev.FromStatus, ev.ToStatus = automation.TriggerStatusChanged, d.PreviousStatus, d.Status
		case len(d.Assignee) > 0:
			ev.Type = automation.TriggerAssigneeChanged
		default:
			return ev, false
		}
	default:
		return ev, false
	}
	return ev, true
}

// watchRules keeps the tap's "any rule?" flag fresh (rules created on
// other nodes show within a few seconds).
func (t *automationTap) watchRules(ctx context.Context, db *store.DB) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM automation_rules WHERE enabled`).Scan(&n); err == nil {
			t.rules.Store(n > 0)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// emailNotifier sends rules' notification emails through an SMTP relay
// (PARLEY_NOTIFY_SMTP_ADDR, PARLEY_NOTIFY_FROM); without one the action
// fails visibly on the job rather than pretending to send.
type emailNotifier struct {
	log  *slog.Logger
	addr string
	from string
}

func (n emailNotifier) Notify(ctx context.Context, to []string, subject, body string) error {
	if n.addr == "" {
		return automation.Permanent(errors.New("no SMTP relay configured for notifications (PARLEY_NOTIFY_SMTP_ADDR)"))
	}
	from := n.from
	if from == "" {
		from = "parley@localhost"
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", subject), body)
	return smtp.SendMail(n.addr, nil, from, to, []byte(msg.String()))
}
