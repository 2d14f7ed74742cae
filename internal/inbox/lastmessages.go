package inbox

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/store"
)

// LastMessage is the latest message of a case, for lists.
type LastMessage struct {
	Inbound bool
	Author  string // contact, agent, bot, system
	Text    string
	At      time.Time
}

// LastMessages reads the latest message of each given case the user may
// see, in one statement (each through the messages_case index).
func (s *Service) LastMessages(ctx context.Context, u *account.User, caseIDs []string) (map[string]LastMessage, error) {
	out := map[string]LastMessage{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	args := []any{u.WorkspaceID}
	for _, id := range caseIDs {
		args = append(args, id)
	}
	cond, vis := visibility(u, "c.point_of_contact_id")
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, m.direction, m.author_type, m.text, m.created_at FROM cases c
		JOIN messages m ON m.id = (SELECT l.id FROM messages l WHERE l.workspace_id = c.workspace_id AND l.case_id = c.id ORDER BY l.created_at DESC, l.id DESC LIMIT 1)
		WHERE c.workspace_id = ? AND c.id IN (`+placeholders(len(caseIDs))+`)`+cond, append(args, vis...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, dir string
		var m LastMessage
		var at int64
		if err := rows.Scan(&id, &dir, &m.Author, &m.Text, &at); err != nil {
			return nil, err
		}
		m.Inbound, m.At = dir == Inbound, store.Time(at)
		out[id] = m
	}
	return out, rows.Err()
}
