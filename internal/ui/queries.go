package ui

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/store"
)

// The UI's own read-only SQL: the inbox's counts per status and the
// reports. The inbox package has no such queries yet; they read the inbox's
// tables with the same workspace and visibility rules as inbox.ListCases
// (and belong there, or in a reports package, when those grow them).

// where builds the conditions of a case filter the way inbox.ListCases
// does, without the status (counts are per status).
func caseWhere(u *account.User, f inbox.CaseFilter) (string, []any, bool) {
	where := []string{"c.workspace_id = ?"}
	args := []any{u.WorkspaceID}
	if !u.SeesAll() {
		ids := u.VisiblePointsOfContact()
		if len(ids) == 0 {
			where = append(where, "1 = 0")
		} else {
			where = append(where, "c.point_of_contact_id IN ("+placeholders(len(ids))+")")
			for _, id := range ids {
				args = append(args, id)
			}
		}
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("c.point_of_contact_id", f.PointOfContactID)
	eq("c.channel_type", f.ChannelType)
	eq("c.skill_id", f.SkillID)
	eq("c.contact_id", f.ContactID)
	if f.AssigneeID == "none" {
		where = append(where, "c.assignee_id IS NULL")
	} else {
		eq("c.assignee_id", f.AssigneeID)
	}
	if f.Tag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM case_tags t WHERE t.case_id = c.id AND t.tag = ?)")
		args = append(args, strings.ToLower(f.Tag))
	}
	join := false
	if f.Text != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(f.Text)) + "%"
		where = append(where, `(LOWER(c.subject) LIKE ? ESCAPE '\' OR LOWER(k.name) LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM messages m WHERE m.case_id = c.id AND LOWER(m.text) LIKE ? ESCAPE '\'))`)
		args = append(args, like, like, like)
		join = true
	}
	return strings.Join(where, " AND "), args, join
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// countByStatus counts the cases a filter selects, per status.
func (h *Handler) countByStatus(ctx context.Context, u *account.User, f inbox.CaseFilter) (map[inbox.Status]int, error) {
	where, args, join := caseWhere(u, f)
	q := `SELECT c.status, COUNT(*) FROM cases c`
	if join {
		q += ` JOIN contacts k ON k.id = c.contact_id`
	}
	rows, err := h.d.DB.QueryContext(ctx, q+` WHERE `+where+` GROUP BY c.status`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[inbox.Status]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[inbox.Status(s)] = n
	}
	return out, rows.Err()
}

// reportRow is one group of a report.
type reportRow struct {
	Key, Label       string
	Volume           int
	Answered         int
	AvgFirstResponse float64 // seconds, over answered cases
	SLAMet           int
	SLABreached      int
}

// SLAPercent is the share of cases with an SLA target that met it.
func (r reportRow) SLAPercent() float64 {
	if r.SLAMet+r.SLABreached == 0 {
		return -1
	}
	return 100 * float64(r.SLAMet) / float64(r.SLAMet+r.SLABreached)
}

// report groups the cases created in [from, to) by channel type, skill or
// owner: volume, first-response time, SLA attainment. A timer counts as
// met once the case was answered in time, even before the SLA checker has
// recorded it (as inbox.Case.SLA shows it).
func (h *Handler) report(ctx context.Context, workspaceID, by string, from, to time.Time) ([]reportRow, error) {
	var key, label, join string
	switch by {
	case "skill":
		key, label, join = "c.skill_id", "s.name", ` LEFT JOIN skills s ON s.id = c.skill_id`
	case "agent":
		key, label, join = "c.owner_id", "u.name", ` LEFT JOIN users u ON u.id = c.owner_id`
	default:
		key, label = "c.channel_type", "c.channel_type"
	}
	q := `SELECT ` + key + `, MAX(` + label + `), COUNT(*),
		SUM(CASE WHEN c.first_response_at IS NOT NULL THEN 1 ELSE 0 END),
		CAST(AVG(CASE WHEN c.first_response_at IS NOT NULL THEN c.first_response_at - c.created_at END) AS DOUBLE PRECISION),
		SUM(CASE WHEN c.sla_state = 'met' OR (c.sla_state IN ('running', 'warning') AND c.last_reply_at IS NOT NULL AND c.last_reply_at >= c.sla_started_at) THEN 1 ELSE 0 END),
		SUM(CASE WHEN c.sla_state = 'breached' THEN 1 ELSE 0 END)
		FROM cases c` + join + ` WHERE c.workspace_id = ? AND c.created_at >= ? AND c.created_at < ?
		GROUP BY ` + key + ` ORDER BY COUNT(*) DESC`
	rows, err := h.d.DB.QueryContext(ctx, q, workspaceID, store.Micros(from), store.Micros(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reportRow
	for rows.Next() {
		var r reportRow
		var k, l sql.NullString
		var avg sql.NullFloat64
		var answered, met, breached sql.NullInt64
		if err := rows.Scan(&k, &l, &r.Volume, &answered, &avg, &met, &breached); err != nil {
			return nil, err
		}
		r.Key, r.Label = k.String, l.String
		r.Answered, r.SLAMet, r.SLABreached = int(answered.Int64), int(met.Int64), int(breached.Int64)
		if avg.Valid {
			r.AvgFirstResponse = avg.Float64 / 1e6 // microseconds → seconds
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
