package ui

import (
	"context"

	"github.com/parleyhq/parley/internal/store"
)

// lastMessages reads the latest message of each of the given cases (ids the
// caller already read through inbox.ListCases, so with its visibility
// rules). One statement; each case's latest message is found through the
// messages_case index (workspace_id, case_id, created_at, id). The inbox
// has no such read yet; it belongs there when it grows one.
func (h *Handler) lastMessages(ctx context.Context, workspaceID string, caseIDs []string) (map[string]lastMessage, error) {
	out := map[string]lastMessage{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	args := []any{workspaceID}
	for _, id := range caseIDs {
		args = append(args, id)
	}
	rows, err := h.d.DB.QueryContext(ctx, `SELECT c.id, m.direction, m.author_type, m.text, m.created_at FROM cases c
		JOIN messages m ON m.id = (SELECT l.id FROM messages l WHERE l.workspace_id = c.workspace_id AND l.case_id = c.id ORDER BY l.created_at DESC, l.id DESC LIMIT 1)
		WHERE c.workspace_id = ? AND c.id IN (`+placeholders(len(caseIDs))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, dir string
		var m lastMessage
		var at int64
		if err := rows.Scan(&id, &dir, &m.Author, &m.Text, &at); err != nil {
			return nil, err
		}
		m.Inbound, m.At = dir == "inbound", store.Time(at)
		m.Text = truncateRunes(m.Text, 140)
		out[id] = m
	}
	return out, rows.Err()
}

// truncateRunes shortens s to at most n characters, with an ellipsis.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
