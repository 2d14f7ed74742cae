package inbox

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

func caseSummary(c *Case) map[string]any {
	return map[string]any{"id": c.ID, "status": c.Status, "thread_id": c.ThreadID, "point_of_contact_id": c.PointOfContactID,
		"channel_type": c.ChannelType, "contact_id": c.ContactID, "skill_id": c.SkillID, "priority": c.Priority, "subject": c.Subject}
}

func recordStatusChange(ctx context.Context, q store.Querier, workspaceID, actorType, actorID, caseID string, from, to Status, why string, at time.Time) error {
	return audit.Record(ctx, q, audit.Entry{WorkspaceID: workspaceID, ActorType: actorType, ActorID: actorID, Action: "case.status_changed",
		EntityType: "case", EntityID: caseID, Details: map[string]any{"from": from, "to": to, "why": why}, At: at})
}

const caseColumns = `c.id, c.workspace_id, c.thread_id, c.point_of_contact_id, c.channel_type, c.contact_id, k.name, c.status, c.trashed_from, c.priority,
	c.skill_id, c.assignee_id, c.owner_id, c.subject, c.custom_fields, c.created_at, c.updated_at, c.last_message_at, c.last_inbound_at,
	c.first_response_at, c.resolved_at, c.closed_at, c.routing_state, c.last_reply_at, c.sla_kind, c.sla_started_at, c.sla_warn_at, c.sla_due_at, c.sla_state`

const caseFrom = ` FROM cases c JOIN contacts k ON k.id = c.contact_id`

func scanCase(row interface{ Scan(...any) error }) (*Case, error) {
	c := &Case{}
	var status, trashedFrom, custom string
	var skill, assignee, owner sql.NullString
	var created, updated, lastMsg int64
	var lastIn, firstResp, resolved, closed, lastReply, slaStart, slaWarn, slaDue sql.NullInt64
	var slaKind, slaState string
	err := row.Scan(&c.ID, &c.workspaceID, &c.ThreadID, &c.PointOfContactID, &c.ChannelType, &c.ContactID, &c.ContactName, &status, &trashedFrom,
		&c.Priority, &skill, &assignee, &owner, &c.Subject, &custom, &created, &updated, &lastMsg, &lastIn, &firstResp, &resolved, &closed,
		&c.RoutingState, &lastReply, &slaKind, &slaStart, &slaWarn, &slaDue, &slaState)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.Status, c.trashedFrom = Status(status), Status(trashedFrom)
	c.AllowedStatuses = AllowedTransitions(c.Status, c.trashedFrom)
	c.SkillID, c.AssigneeID, c.OwnerID = nullPtr(skill), nullPtr(assignee), nullPtr(owner)
	c.CustomFields = json.RawMessage(custom)
	c.CreatedAt, c.UpdatedAt, c.LastMessageAt = store.Time(created), store.Time(updated), store.Time(lastMsg)
	c.LastInboundAt, c.FirstResponseAt, c.ResolvedAt, c.ClosedAt = store.NullTime(lastIn), store.NullTime(firstResp), store.NullTime(resolved), store.NullTime(closed)
	c.LastReplyAt = store.NullTime(lastReply)
	if slaKind != "" && slaDue.Valid {
		c.SLA = &SLATimer{Kind: slaKind, StartedAt: store.Time(slaStart.Int64), WarnAt: store.Time(slaWarn.Int64), DueAt: store.Time(slaDue.Int64), State: slaState}
		// Answered since the timer started: met, even before the SLA
		// checker has recorded it.
		if (slaState == "running" || slaState == "warning" || slaState == "breached") && c.LastReplyAt != nil && !c.LastReplyAt.Before(c.SLA.StartedAt) {
			if slaState == "breached" {
				c.SLA.State = "breached"
			} else {
				c.SLA.State = "met"
			}
			c.SLA.RespondedAt = c.LastReplyAt
		}
	}
	c.Tags = []string{}
	return c, nil
}

func nullPtr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

// visibility returns the SQL condition limiting cases to the points of
// contact a user may see, and its arguments.
func visibility(u *account.User, col string) (string, []any) {
	if u.SeesAll() {
		return "", nil
	}
	ids := u.VisiblePointsOfContact()
	if len(ids) == 0 {
		return " AND 1 = 0", nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return " AND " + col + " IN (" + placeholders(len(ids)) + ")", args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// GetCase reads a case the user may see.
func (s *Service) GetCase(ctx context.Context, u *account.User, id string) (*Case, error) {
	return s.getCase(ctx, s.db, u, id)
}

func (s *Service) getCase(ctx context.Context, q store.Querier, u *account.User, id string) (*Case, error) {
	cond, args := visibility(u, "c.point_of_contact_id")
	c, err := scanCase(q.QueryRowContext(ctx, `SELECT `+caseColumns+caseFrom+` WHERE c.workspace_id = ? AND c.id = ?`+cond,
		append([]any{u.WorkspaceID, id}, args...)...))
	if err != nil {
		return nil, err
	}
	tags, err := s.caseTags(ctx, q, u.WorkspaceID, []string{c.ID})
	if err != nil {
		return nil, err
	}
	c.Tags = tags[c.ID]
	if c.Tags == nil {
		c.Tags = []string{}
	}
	s.setWindow(c)
	return c, nil
}

func (s *Service) setWindow(c *Case) {
	if s.channels != nil {
		c.ReplyWindow = s.channels.ViewWindow(c.ChannelType, c.LastInboundAt, s.now())
	}
}

func (s *Service) caseTags(ctx context.Context, q store.Querier, workspaceID string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{workspaceID}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := q.QueryContext(ctx, `SELECT case_id, tag FROM case_tags WHERE workspace_id = ? AND case_id IN (`+placeholders(len(ids))+`) ORDER BY tag`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return nil, err
		}
		out[id] = append(out[id], tag)
	}
	return out, rows.Err()
}

// CaseFilter selects cases. Empty fields do not filter.
type CaseFilter struct {
	Statuses         []Status
	PointOfContactID string
	ChannelType      string
	SkillID          string
	AssigneeID       string // a user id, or "none"
	OwnerID          string // a user id, or "none"
	Tag              string
	Text             string // in the subject, the contact's name or any message
	ContactID        string
	CreatedAfter     *time.Time
	CreatedBefore    *time.Time
	Sort             string // [-]last_message_at (default: most recent activity first), [-]created_at, [-]updated_at
	Limit            int    // 1–200, default 50
	Cursor           string
}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ErrBadCursor means a cursor this server did not make.
var ErrBadCursor = &ValidationError{"cursor", "invalid cursor"}

func encodeCursor(v int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(v, 10) + "|" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	vs, id, ok := strings.Cut(string(b), "|")
	v, err := strconv.ParseInt(vs, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", ErrBadCursor
	}
	return v, id, nil
}

// caseConditions are the WHERE terms of a case filter for a user (on cases
// c), every filter but Statuses, Sort, Limit and Cursor: the workspace, the
// points of contact the user may see, and the filter's fields. The list and
// the per-status counts share them.
func (s *Service) caseConditions(u *account.User, f CaseFilter) ([]string, []any) {
	where := []string{"c.workspace_id = ?"}
	args := []any{u.WorkspaceID}
	if cond, a := visibility(u, "c.point_of_contact_id"); cond != "" {
		where = append(where, strings.TrimPrefix(cond, " AND "))
		args = append(args, a...)
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
	for col, v := range map[string]string{"c.assignee_id": f.AssigneeID, "c.owner_id": f.OwnerID} {
		if v == "none" {
			where = append(where, col+" IS NULL")
		} else {
			eq(col, v)
		}
	}
	if f.Tag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM case_tags t WHERE t.case_id = c.id AND t.tag = ?)")
		args = append(args, strings.ToLower(f.Tag))
	}
	if f.Text != "" {
		cond, a := s.textCondition(u.WorkspaceID, f.Text)
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.CreatedAfter != nil {
		where = append(where, "c.created_at >= ?")
		args = append(args, store.Micros(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		where = append(where, "c.created_at < ?")
		args = append(args, store.Micros(*f.CreatedBefore))
	}
	return where, args
}

// ListCases lists the cases a user may see, with filters and a cursor.
func (s *Service) ListCases(ctx context.Context, u *account.User, f CaseFilter) (Page[*Case], error) {
	if f.Text != "" {
		if err := s.catchUpSearch(ctx); err != nil {
			return Page[*Case]{}, err
		}
	}
	where, args := s.caseConditions(u, f)
	if len(f.Statuses) > 0 {
		where = append(where, "c.status IN ("+placeholders(len(f.Statuses))+")")
		for _, st := range f.Statuses {
			if !st.Valid() {
				return Page[*Case]{}, &ValidationError{"status", fmt.Sprintf("unknown status %q", st)}
			}
			args = append(args, string(st))
		}
	}
	col, desc := "c.last_message_at", true
	switch f.Sort {
	case "", "-last_message_at":
	case "last_message_at":
		desc = false
	case "-updated_at":
		col = "c.updated_at"
	case "updated_at":
		col, desc = "c.updated_at", false
	case "created_at":
		col, desc = "c.created_at", false
	case "-created_at":
		col = "c.created_at"
	default:
		return Page[*Case]{}, &ValidationError{"sort", "one of last_message_at, created_at, updated_at, each optionally prefixed with - for descending"}
	}
	if f.Cursor != "" {
		v, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page[*Case]{}, err
		}
		op := ">"
		if desc {
			op = "<"
		}
		where = append(where, fmt.Sprintf("(%s %s ? OR (%s = ? AND c.id %s ?))", col, op, col, op))
		args = append(args, v, v, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 200 {
		return Page[*Case]{}, &ValidationError{"limit", "at most 200"}
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	q := `SELECT ` + caseColumns + caseFrom + ` WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(" ORDER BY %s %s, c.id %s LIMIT %d", col, dir, dir, limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return Page[*Case]{}, err
	}
	defer rows.Close()
	var items []*Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return Page[*Case]{}, err
		}
		items = append(items, c)
	}
	if err := rows.Err(); err != nil {
		return Page[*Case]{}, err
	}
	page := Page[*Case]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := page.Items[limit-1]
		v := last.LastMessageAt
		switch col {
		case "c.created_at":
			v = last.CreatedAt
		case "c.updated_at":
			v = last.UpdatedAt
		}
		page.NextCursor = encodeCursor(store.Micros(v), last.ID)
	}
	ids := make([]string, len(page.Items))
	for i, c := range page.Items {
		ids[i] = c.ID
	}
	tags, err := s.caseTags(ctx, s.db, u.WorkspaceID, ids)
	if err != nil {
		return Page[*Case]{}, err
	}
	for _, c := range page.Items {
		if t := tags[c.ID]; t != nil {
			c.Tags = t
		}
		s.setWindow(c)
	}
	if page.Items == nil {
		page.Items = []*Case{}
	}
	return page, nil
}

// CasePatch changes a case; nil fields are unchanged. An empty string for
// SkillID or AssigneeID clears it.
type CasePatch struct {
	Status       *Status          `json:"status"`
	Priority     *int             `json:"priority"`
	SkillID      *string          `json:"skill_id"`
	AssigneeID   *string          `json:"assignee_id"`
	Subject      *string          `json:"subject"`
	CustomFields *json.RawMessage `json:"custom_fields"`
}

// UpdateCase applies a patch as the given user: illegal status transitions
// are refused with a *TransitionError; assignees must be users of the
// workspace and skills skills of it.
func (s *Service) UpdateCase(ctx context.Context, u *account.User, id string, p CasePatch) (*Case, error) {
	var out *Case
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.getCase(ctx, tx, u, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		sets := []string{"updated_at = ?"}
		args := []any{store.Micros(now)}
		changes := map[string]any{}
		if p.Status != nil && *p.Status != c.Status {
			to := *p.Status
			if !to.Valid() {
				return &ValidationError{"status", fmt.Sprintf("unknown status %q", to)}
			}
			allowed := AllowedTransitions(c.Status, c.trashedFrom)
			ok := false
			for _, a := range allowed {
				ok = ok || a == to
			}
			if !ok {
				return &TransitionError{From: c.Status, To: to, Allowed: allowed}
			}
			sets = append(sets, "status = ?")
			args = append(args, string(to))
			switch to {
			case StatusResolved:
				sets = append(sets, "resolved_at = ?")
				args = append(args, store.Micros(now))
			case StatusClosed:
				sets = append(sets, "closed_at = ?")
				args = append(args, store.Micros(now))
			case StatusTrashed:
				sets = append(sets, "trashed_from = ?")
				args = append(args, string(c.Status))
			}
			if c.Status == StatusTrashed {
				sets = append(sets, "trashed_from = ''")
			}
			if err := recordStatusChange(ctx, tx, u.WorkspaceID, "user", u.ID, c.ID, c.Status, to, "", now); err != nil {
				return err
			}
			s.threads.invalidate() // holding the write connection: see threadCache
			changes["previous_status"] = c.Status
			changes["status"] = to
		}
		if p.Priority != nil {
			if *p.Priority < 0 || *p.Priority > 100 {
				return &ValidationError{"priority", "between 0 and 100"}
			}
			sets = append(sets, "priority = ?")
			args = append(args, *p.Priority)
			changes["priority"] = *p.Priority
		}
		if p.SkillID != nil {
			v := emptyNil(*p.SkillID)
			if v != nil {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM skills WHERE workspace_id = ? AND id = ?`, u.WorkspaceID, *v).Scan(&n); err != nil {
					return err
				}
				if n == 0 {
					return &ValidationError{"skill_id", "no such skill in this workspace"}
				}
			}
			sets = append(sets, "skill_id = ?")
			args = append(args, v)
			changes["skill_id"] = v
		}
		if p.AssigneeID != nil {
			v := emptyNil(*p.AssigneeID)
			if v != nil {
				assignee, err := scanAssignee(ctx, tx, u.WorkspaceID, *v)
				if err != nil {
					return err
				}
				if !assignee.CanSee(c.PointOfContactID) {
					return &ValidationError{"assignee_id", "this user has no permission on the case's point of contact"}
				}
				if !u.IsSupervisor() && *v != u.ID {
					return ErrForbidden // agents may take a case, not hand it to others
				}
				// The inbox assignee has the case open now; the owner is the
				// last agent it went to, who owns its metrics.
				sets = append(sets, "owner_id = ?")
				args = append(args, *v)
				changes["owner_id"] = *v
			}
			sets = append(sets, "assignee_id = ?")
			args = append(args, v)
			changes["assignee_id"] = v
		}
		if p.Subject != nil {
			sets = append(sets, "subject = ?")
			args = append(args, truncate(strings.TrimSpace(*p.Subject), 200))
			changes["subject"] = *p.Subject
		}
		if p.CustomFields != nil {
			var obj map[string]any
			if err := json.Unmarshal(*p.CustomFields, &obj); err != nil || obj == nil {
				return &ValidationError{"custom_fields", "must be a JSON object"}
			}
			if len(*p.CustomFields) > 16<<10 {
				return &ValidationError{"custom_fields", "at most 16 KiB"}
			}
			merged := map[string]any{}
			_ = json.Unmarshal(c.CustomFields, &merged)
			for k, v := range obj {
				if v == nil {
					delete(merged, k)
				} else {
					merged[k] = v
				}
			}
			b, _ := json.Marshal(merged)
			sets = append(sets, "custom_fields = ?")
			args = append(args, string(b))
			changes["custom_fields"] = merged
		}
		if len(changes) == 0 {
			out = c
			return nil
		}
		args = append(args, u.WorkspaceID, c.ID)
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET `+strings.Join(sets, ", ")+` WHERE workspace_id = ? AND id = ?`, args...); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: actorType(u), ActorID: u.ID, Action: "case.updated",
			EntityType: "case", EntityID: c.ID, Details: changes, At: now}); err != nil {
			return err
		}
		if out, err = s.getCase(ctx, tx, u, id); err != nil {
			return err
		}
		changes["id"] = c.ID
		s.publish(tx, event(realtime.TypeCaseUpdated, u.WorkspaceID, c.PointOfContactID, c.ID, changes, now))
		return nil
	})
	return out, err
}

func scanAssignee(ctx context.Context, q store.Querier, workspaceID, id string) (*account.User, error) {
	var perms string
	var disabled bool
	u := &account.User{ID: id, WorkspaceID: workspaceID}
	var role string
	err := q.QueryRowContext(ctx, `SELECT role, channel_permissions, disabled FROM users WHERE workspace_id = ? AND id = ?`, workspaceID, id).Scan(&role, &perms, &disabled)
	if errors.Is(err, sql.ErrNoRows) || disabled {
		return nil, &ValidationError{"assignee_id", "no such active user in this workspace"}
	}
	if err != nil {
		return nil, err
	}
	u.Role = account.Role(role)
	_ = json.Unmarshal([]byte(perms), &u.ChannelPermissions)
	return u, nil
}

func emptyNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// normaliseTag lower-cases and checks a tag.
func normaliseTag(t string) (string, error) {
	t = strings.ToLower(strings.TrimSpace(t))
	if t == "" || len(t) > 64 || strings.ContainsAny(t, ",\n\r\t") {
		return "", &ValidationError{"tags", "tags are 1–64 characters without commas"}
	}
	return t, nil
}

// SetTags adds and removes tags on a case.
func (s *Service) SetTags(ctx context.Context, u *account.User, caseID string, add, remove []string) (*Case, error) {
	var out *Case
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.getCase(ctx, tx, u, caseID)
		if err != nil {
			return err
		}
		for _, t := range add {
			t, err := normaliseTag(t)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO case_tags (workspace_id, case_id, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, u.WorkspaceID, c.ID, t); err != nil {
				return err
			}
		}
		for _, t := range remove {
			if _, err := tx.ExecContext(ctx, `DELETE FROM case_tags WHERE workspace_id = ? AND case_id = ? AND tag = ?`, u.WorkspaceID, c.ID, strings.ToLower(strings.TrimSpace(t))); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET updated_at = ? WHERE id = ?`, store.Micros(now), c.ID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: actorType(u), ActorID: u.ID, Action: "case.tags_changed",
			EntityType: "case", EntityID: c.ID, Details: map[string]any{"added": add, "removed": remove}, At: now}); err != nil {
			return err
		}
		if out, err = s.getCase(ctx, tx, u, caseID); err != nil {
			return err
		}
		sort.Strings(out.Tags)
		s.publish(tx, event(realtime.TypeCaseUpdated, u.WorkspaceID, c.PointOfContactID, c.ID, map[string]any{"id": c.ID, "tags": out.Tags}, now))
		return nil
	})
	return out, err
}

// AddNote adds an internal note; agents need the note permission.
func (s *Service) AddNote(ctx context.Context, u *account.User, caseID, body string) (Note, error) {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > 16<<10 {
		return Note{}, &ValidationError{"body", "1 character to 16 KiB"}
	}
	var n Note
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.getCase(ctx, tx, u, caseID)
		if err != nil {
			return err
		}
		if !u.Can(account.ActionNote, c.PointOfContactID) {
			return ErrForbidden
		}
		now := s.now().UTC()
		n = Note{ID: store.NewID(), CaseID: c.ID, AuthorID: u.ID, Body: body, CreatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notes (id, workspace_id, case_id, author_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			n.ID, u.WorkspaceID, c.ID, u.ID, body, store.Micros(now)); err != nil {
			return err
		}
		s.publish(tx, event("note.created", u.WorkspaceID, c.PointOfContactID, c.ID, n, now))
		return nil
	})
	return n, err
}

// ListNotes lists a case's notes, oldest first.
func (s *Service) ListNotes(ctx context.Context, u *account.User, caseID string) ([]Note, error) {
	if _, err := s.GetCase(ctx, u, caseID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, case_id, author_id, body, created_at FROM notes WHERE workspace_id = ? AND case_id = ? ORDER BY created_at, id`, u.WorkspaceID, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Note{}
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &n.CaseID, &n.AuthorID, &n.Body, &at); err != nil {
			return nil, err
		}
		n.CreatedAt = store.Time(at)
		out = append(out, n)
	}
	return out, rows.Err()
}

// CaseHistory is the case's audit trail.
func (s *Service) CaseHistory(ctx context.Context, u *account.User, caseID string) ([]audit.Entry, error) {
	if _, err := s.GetCase(ctx, u, caseID); err != nil {
		return nil, err
	}
	return audit.List(ctx, s.db, u.WorkspaceID, "case", caseID)
}
