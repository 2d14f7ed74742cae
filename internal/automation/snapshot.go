package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parleyhq/parley/internal/store"
)

// The engine reads the inbox's tables (never writes them) to see a case as
// it is when a job runs. Every query is scoped by workspace.

// loadFacts reads the case, its tags, whether the customer wrote after the
// event, and the event's message. store.ErrNotFound: no such case.
func (e *Engine) loadFacts(ctx context.Context, workspaceID, caseID string, ev Event) (*facts, error) {
	f := &facts{event: ev, caseLoaded: true}
	c := &f.kase
	var (
		skillID, assigneeID sql.NullString
		custom              string
	)
	err := e.db.QueryRowContext(ctx, `SELECT id, status, channel_type, point_of_contact_id, skill_id, priority, assignee_id, subject, custom_fields
		FROM cases WHERE workspace_id = ? AND id = ?`, workspaceID, caseID).
		Scan(&c.ID, &c.Status, &c.ChannelType, &c.PointOfContactID, &skillID, &c.Priority, &assigneeID, &c.Subject, &custom)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.SkillID, c.AssigneeID = skillID.String, assigneeID.String
	c.CustomFields = map[string]any{}
	_ = json.Unmarshal([]byte(custom), &c.CustomFields) // a malformed document reads as no fields
	c.Tags = []string{}
	rows, err := e.db.QueryContext(ctx, `SELECT tag FROM case_tags WHERE workspace_id = ? AND case_id = ? ORDER BY tag`, workspaceID, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		c.Tags = append(c.Tags, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// "After the event": strictly later than its time, and not the event's
	// own message (a message_created event and its message share a time).
	if err := e.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE workspace_id = ? AND case_id = ? AND direction = 'inbound'
		AND created_at > ? AND id <> ?)`, workspaceID, caseID, store.Micros(ev.At), ev.MessageID).Scan(&c.InboundSinceTrigger); err != nil {
		return nil, err
	}
	if ev.MessageID == "" {
		f.messageLoaded = true // no message: its fields read as empty
		return f, nil
	}
	if err := loadMessage(ctx, e.db, f); err != nil {
		return nil, err
	}
	return f, nil
}

// loadMessage reads the event's message into f. A message that cannot be
// found reads as empty: its conditions then compare with "".
func loadMessage(ctx context.Context, q store.Querier, f *facts) error {
	m := &f.message
	err := q.QueryRowContext(ctx, `SELECT id, direction, text FROM messages WHERE workspace_id = ? AND id = ?`, f.event.WorkspaceID, f.event.MessageID).
		Scan(&m.ID, &m.Direction, &m.Text)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	f.messageLoaded = true
	return nil
}
