package inbox

import (
	"context"
	"strings"

	"github.com/parleyhq/parley/internal/account"
)

// CountCasesByStatus counts, per status, the cases a filter selects for a
// user: the workspace, the points of contact the user may see and every
// filter as ListCases applies them (the inbox's tabs show these counts
// beside the list). The filter's Statuses, Sort, Limit and Cursor are
// ignored: every status is counted. Statuses without a case are absent.
func (s *Service) CountCasesByStatus(ctx context.Context, u *account.User, f CaseFilter) (map[Status]int, error) {
	if f.Text != "" {
		if err := s.catchUpSearch(ctx); err != nil {
			return nil, err
		}
	}
	where, args := s.caseConditions(u, f)
	rows, err := s.db.QueryContext(ctx, `SELECT c.status, COUNT(*) FROM cases c WHERE `+strings.Join(where, " AND ")+` GROUP BY c.status`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[Status]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[Status(st)] = n
	}
	return out, rows.Err()
}
