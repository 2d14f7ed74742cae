package app

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/store"
)

// flow is the per-message path after the acknowledgement (DESIGN.md, "Work
// after the acknowledgement"): run the point of contact's default script,
// start SLA timers, put the case in its skill's queue, wake the router. It
// runs in process right after the ingest commit; the durable state behind
// it is the case's routing_state ('pending' until this ran), so a crash
// loses nothing: on start, and every few seconds, cases still pending are
// taken again.
type flow struct {
	db      *store.DB
	points  *channel.Points
	router  *routing.Router
	scripts scriptHook // nil: no scripts
	log     *slog.Logger
	now     func() time.Time

	mu    sync.Mutex
	queue []inbox.FlowNotice
	wake  chan struct{}
}

// scriptHook runs a point of contact's default script for one customer
// message and applies what it asks.
type scriptHook interface {
	Run(ctx context.Context, poc *channel.PointOfContact, n inbox.FlowNotice) scriptOutcome
}

// scriptOutcome tells the flow what the script decided about routing.
type scriptOutcome struct {
	// NoQueue: the script closed, trashed or routed the case itself, or
	// handed it to a bot; it does not go to a queue now.
	NoQueue bool
}

func newFlow(db *store.DB, points *channel.Points, router *routing.Router, log *slog.Logger, now func() time.Time) *flow {
	return &flow{db: db, points: points, router: router, log: log, now: now, wake: make(chan struct{}, 1)}
}

// Inbound queues a stored customer message; it never blocks.
func (f *flow) Inbound(n inbox.FlowNotice) {
	f.mu.Lock()
	f.queue = append(f.queue, n)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run works the queue until ctx ends.
func (f *flow) Run(ctx context.Context) error {
	sweep := time.NewTicker(5 * time.Second)
	defer sweep.Stop()
	f.recover(ctx, 0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-sweep.C:
			f.recover(ctx, 5*time.Second)
		}
		for {
			f.mu.Lock()
			batch := f.queue
			f.queue = nil
			f.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			f.process(ctx, batch)
		}
	}
}

// recover takes cases whose flow never ran (the node stopped between the
// commit and the flow), older than minAge so as not to race the live path.
func (f *flow) recover(ctx context.Context, minAge time.Duration) {
	rows, err := f.db.QueryContext(ctx, `SELECT id, workspace_id, point_of_contact_id FROM cases WHERE routing_state = 'pending' AND created_at <= ? ORDER BY created_at LIMIT 1000`,
		store.Micros(f.now().Add(-minAge)))
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("flow: reading pending cases", "err", err)
		}
		return
	}
	var batch []inbox.FlowNotice
	for rows.Next() {
		var n inbox.FlowNotice
		if err := rows.Scan(&n.CaseID, &n.WorkspaceID, &n.PointOfContactID); err != nil {
			break
		}
		n.NewCase = true
		batch = append(batch, n)
	}
	rows.Close()
	if len(batch) > 0 {
		f.process(ctx, batch)
	}
}

// process runs scripts one message at a time, then queues and times the
// whole batch in one transaction.
func (f *flow) process(ctx context.Context, batch []inbox.FlowNotice) {
	skip := map[int]bool{}
	if f.scripts != nil {
		for i, n := range batch {
			poc, err := f.points.Lookup(ctx, n.PointOfContactID)
			if err != nil || poc.DefaultScript == "" {
				continue
			}
			if out := f.scripts.Run(ctx, &poc, n); out.NoQueue {
				skip[i] = true
			}
		}
	}
	now := f.now().UTC()
	// Most messages land on a case that is already queued or with its
	// agent and need nothing: find them with a read, so the single SQLite
	// writer is taken only for cases that change.
	var work []int
	for i, n := range batch {
		if skip[i] || n.NewCase || n.Reopened {
			work = append(work, i)
			continue
		}
		var state, slaState string
		var lastReply sql.NullInt64
		err := f.db.QueryRowContext(ctx, `SELECT routing_state, sla_state, last_reply_at FROM cases WHERE id = ?`, n.CaseID).Scan(&state, &slaState, &lastReply)
		if err != nil {
			work = append(work, i) // let the transaction find out
			continue
		}
		if state == routing.StatePending || (lastReply.Valid && slaState != routing.SLARunning && slaState != routing.SLAWarning) {
			work = append(work, i)
		}
	}
	if len(work) == 0 {
		return
	}
	kicked := map[string]bool{}
	err := f.db.InTx(ctx, func(tx *store.Tx) error {
		clear(kicked)
		for _, i := range work {
			n := batch[i]
			if err := f.route(ctx, tx, n, skip[i], now); err != nil {
				return err
			}
			kicked[n.WorkspaceID] = true
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			f.log.Error("flow: routing a batch", "cases", len(batch), "err", err)
		}
		return
	}
	for ws := range kicked {
		f.router.Kick(ws)
	}
}

// route queues a case that needs an agent and starts its response timer.
func (f *flow) route(ctx context.Context, tx *store.Tx, n inbox.FlowNotice, noQueue bool, now time.Time) error {
	var state, status string
	var skill, assignee sql.NullString
	var lastReply sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT routing_state, status, skill_id, assignee_id, last_reply_at FROM cases WHERE id = ?`, n.CaseID).
		Scan(&state, &status, &skill, &assignee, &lastReply)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	active := status == "new" || status == "open" || status == "escalated"
	if active && assignee.Valid && n.Reopened {
		// A reopened case goes back to its agent, unless they are offline.
		var agentState string
		err := tx.QueryRowContext(ctx, `SELECT state FROM agent_states WHERE user_id = ?`, assignee.String).Scan(&agentState)
		if err == nil && agentState == routing.StateOffline {
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET assignee_id = NULL, routing_state = '' WHERE id = ?`, n.CaseID); err != nil {
				return err
			}
			assignee, state = sql.NullString{}, routing.StateNone
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if state == routing.StatePending {
		// The first message of the case: its first-response clock starts.
		if err := f.router.StartSLA(ctx, tx, n.CaseID, routing.SLAFirstResponse, now); err != nil {
			return err
		}
	} else if lastReply.Valid {
		// The customer wrote again after an answer.
		if err := f.router.StartSLA(ctx, tx, n.CaseID, routing.SLANextResponse, now); err != nil {
			return err
		}
	}
	switch {
	case noQueue || !active || assignee.Valid:
		if state == routing.StatePending {
			_, err = tx.ExecContext(ctx, `UPDATE cases SET routing_state = ? WHERE id = ? AND routing_state = 'pending'`, stateFor(assignee.Valid), n.CaseID)
		}
		return err
	case !skill.Valid:
		// No skill and no default skill: the case waits in the inbox for
		// someone to pick it up by hand.
		_, err = tx.ExecContext(ctx, `UPDATE cases SET routing_state = '' WHERE id = ? AND routing_state = 'pending'`, n.CaseID)
		return err
	case state == routing.StatePending || state == routing.StateNone:
		return routing.Enqueue(ctx, tx, n.CaseID, skill.String, now)
	}
	return nil
}

func stateFor(assigned bool) string {
	if assigned {
		return routing.StateAssigned
	}
	return routing.StateNone
}

// runSLA checks response timers every tick.
func (a *App) runSLA(ctx context.Context) error {
	tick := a.cfg.RoutingTick
	if tick <= 0 {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, _, err := a.Router.CheckSLA(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("sla check failed", "err", err)
			}
		}
	}
}
