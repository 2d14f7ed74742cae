package ui

import (
	"context"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
)

// lastMessages reads the latest message of each case (inbox.LastMessages),
// its text shortened for a list.
func (h *Handler) lastMessages(ctx context.Context, u *account.User, caseIDs []string) (map[string]inbox.LastMessage, error) {
	out, err := h.d.Inbox.LastMessages(ctx, u, caseIDs)
	for id, m := range out {
		m.Text = truncateRunes(m.Text, 140)
		out[id] = m
	}
	return out, err
}

// truncateRunes shortens s to at most n characters, with an ellipsis.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
