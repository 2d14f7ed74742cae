package routing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// SLA timer kinds and states (cases.sla_kind, cases.sla_state).
const (
	SLAFirstResponse = "first_response"
	SLANextResponse  = "next_response"

	SLARunning  = "running"
	SLAWarning  = "warning"
	SLABreached = "breached"
	SLAMet      = "met"
)

// BusinessClock counts time in business hours.
type BusinessClock interface {
	// Add returns the moment d of business time after t.
	Add(t time.Time, d time.Duration) time.Time
}

// HoursParser turns a skill's business-hours document into a clock; the
// router does not depend on the calendar's format (internal/hours).
type HoursParser func(raw json.RawMessage) (BusinessClock, error)

// StartSLA starts a case's response timer inside the caller's transaction:
// the first response when the case is created, the next response when the
// customer writes again after an agent's answer. Targets come from the
// case's skill; without a target nothing is started. A timer already
// running is left alone (the customer writing twice does not move it).
func (r *Router) StartSLA(ctx context.Context, tx *store.Tx, caseID, kind string, at time.Time) error {
	var skill sql.NullString
	var state string
	if err := tx.QueryRowContext(ctx, `SELECT skill_id, sla_state FROM cases WHERE id = ?`, caseID).Scan(&skill, &state); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	if !skill.Valid || state == SLARunning || state == SLAWarning {
		return nil
	}
	var first, next, warnPct int64
	var hours string
	err := tx.QueryRowContext(ctx, `SELECT sla_first_response_seconds, sla_next_response_seconds, sla_warning_percent, business_hours FROM skills WHERE id = ?`, skill.String).
		Scan(&first, &next, &warnPct, &hours)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	target := first
	if kind == SLANextResponse {
		target = next
	}
	if target <= 0 {
		return nil
	}
	if warnPct <= 0 || warnPct > 100 {
		warnPct = 80
	}
	total := time.Duration(target) * time.Second
	warnAfter := total * time.Duration(warnPct) / 100
	due, warn := at.Add(total), at.Add(warnAfter)
	if hours != "" && hours != "null" && r.hours != nil {
		clock, err := r.hours(json.RawMessage(hours))
		if err != nil {
			r.log.Warn("sla: unreadable business hours; counting calendar time", "skill", skill.String, "err", err)
		} else {
			due, warn = clock.Add(at, total), clock.Add(at, warnAfter)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE cases SET sla_kind = ?, sla_started_at = ?, sla_warn_at = ?, sla_due_at = ?, sla_state = 'running' WHERE id = ?`,
		kind, store.Micros(at), store.Micros(warn), store.Micros(due), caseID)
	return err
}

// CheckSLA moves timers whose warning or due time has passed: answered
// since the start → met; otherwise warning, then breached, each with a
// live event. It returns how many warnings and breaches it raised.
func (r *Router) CheckSLA(ctx context.Context) (warned, breached int, err error) {
	now := r.now().UTC()
	nowUS := store.Micros(now)
	err = r.db.InTx(ctx, func(tx *store.Tx) error {
		warned, breached = 0, 0
		rows, err := tx.QueryContext(ctx, `SELECT id, workspace_id, point_of_contact_id, sla_kind, sla_started_at, sla_due_at, sla_state, last_reply_at, status, assignee_id, skill_id
			FROM cases WHERE sla_state IN ('running', 'warning') AND sla_warn_at <= ? ORDER BY sla_warn_at LIMIT 500`, nowUS)
		if err != nil {
			return err
		}
		type timer struct {
			id, ws, poc, kind, state, status string
			started, due                     int64
			reply                            sql.NullInt64
			assignee, skill                  sql.NullString
		}
		var ts []timer
		for rows.Next() {
			var t timer
			if err := rows.Scan(&t.id, &t.ws, &t.poc, &t.kind, &t.started, &t.due, &t.state, &t.reply, &t.status, &t.assignee, &t.skill); err != nil {
				rows.Close()
				return err
			}
			ts = append(ts, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, t := range ts {
			next := ""
			switch {
			case t.reply.Valid && t.reply.Int64 >= t.started:
				next = SLAMet
			case t.status == "closed" || t.status == "trashed" || t.status == "resolved":
				next = SLAMet // nothing left to answer
			case nowUS >= t.due:
				next = SLABreached
			case t.state == SLARunning:
				next = SLAWarning
			default:
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET sla_state = ? WHERE id = ?`, next, t.id); err != nil {
				return err
			}
			data := map[string]any{"case_id": t.id, "kind": t.kind, "due_at": store.Time(t.due), "assignee_id": t.assignee.String, "skill_id": t.skill.String}
			switch next {
			case SLAWarning:
				warned++
				r.emit(tx, Event{Type: EventSLAWarning, WorkspaceID: t.ws, PointOfContactID: t.poc, CaseID: t.id, Data: data, At: now})
			case SLABreached:
				breached++
				r.emit(tx, Event{Type: EventSLABreached, WorkspaceID: t.ws, PointOfContactID: t.poc, CaseID: t.id, Data: data, At: now})
			}
		}
		return nil
	})
	return warned, breached, err
}
