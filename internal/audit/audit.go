// Package audit records who changed what. Entries are written in the same
// transaction as the change they describe, so the log never disagrees with
// the data.
package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Entry is one audited change.
type Entry struct {
	ID          string         `json:"id"`
	WorkspaceID string         `json:"-"`
	ActorType   string         `json:"actor_type"` // user, system, channel, api
	ActorID     string         `json:"actor_id,omitempty"`
	Action      string         `json:"action"` // e.g. case.status_changed
	EntityType  string         `json:"entity_type"`
	EntityID    string         `json:"entity_id"`
	Details     map[string]any `json:"details,omitempty"`
	At          time.Time      `json:"at"`
}

// Record writes an entry with q (normally the change's transaction).
func Record(ctx context.Context, q store.Querier, e Entry) error {
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return err
		}
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (id, workspace_id, actor_type, actor_id, action, entity_type, entity_id, details, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, store.NewID(), e.WorkspaceID, e.ActorType, e.ActorID, e.Action, e.EntityType, e.EntityID, string(details), store.Micros(e.At))
	return err
}

// List returns the entries about one entity, oldest first.
func List(ctx context.Context, q store.Querier, workspaceID, entityType, entityID string) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, actor_type, actor_id, action, entity_type, entity_id, details, created_at FROM audit_log
		WHERE workspace_id = ? AND entity_type = ? AND entity_id = ? ORDER BY created_at, id`, workspaceID, entityType, entityID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var details string
		var at int64
		if err := rows.Scan(&e.ID, &e.ActorType, &e.ActorID, &e.Action, &e.EntityType, &e.EntityID, &details, &at); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(details), &e.Details)
		e.At = store.Time(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
