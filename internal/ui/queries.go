package ui

import (
	"context"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/reports"
)

// The UI holds no SQL: the inbox's counts per status come from the inbox
// (the same workspace, visibility and filter rules as its list) and the
// reports from internal/reports.

// countByStatus counts the cases a filter selects, per status.
func (h *Handler) countByStatus(ctx context.Context, u *account.User, f inbox.CaseFilter) (map[inbox.Status]int, error) {
	return h.d.Inbox.CountCasesByStatus(ctx, u, f)
}

// reports runs reports on the UI's database (read-only queries; the
// service holds nothing else).
func (h *Handler) reports() *reports.Service {
	return reports.New(h.d.DB, h.d.Now)
}
