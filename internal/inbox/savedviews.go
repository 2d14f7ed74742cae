package inbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

// Saved views: inbox filters an agent keeps under a name and opens in one
// click. A view is private to its owner, or shared with the whole workspace
// (only supervisors and administrators share: a shared view appears in
// every colleague's inbox).

const (
	// MaxSavedViewName bounds a view's name (in characters).
	MaxSavedViewName = 80
	// MaxSavedViews bounds how many views one user owns: the inbox lists
	// them all on every load.
	MaxSavedViews = 50
	// maxFilterText bounds the search text and the ids a view keeps.
	maxFilterText = 200
)

// ErrShareNotAllowed: an agent tried to share a view with the workspace.
// It is an ErrForbidden.
var ErrShareNotAllowed = fmt.Errorf("%w: only supervisors and administrators may share a view with the workspace", ErrForbidden)

// ViewFilters are the inbox filters a saved view keeps, named as
// GET /api/v1/cases takes them. AssigneeID "me" means whoever opens the
// view, so a shared "my cases" view works for everyone.
type ViewFilters struct {
	Statuses         []Status `json:"statuses,omitempty"` // empty: every status
	ChannelType      string   `json:"channel_type,omitempty"`
	PointOfContactID string   `json:"point_of_contact_id,omitempty"`
	SkillID          string   `json:"skill_id,omitempty"`
	AssigneeID       string   `json:"assignee_id,omitempty"` // a user id, "me" or "none"
	OwnerID          string   `json:"owner_id,omitempty"`    // a user id, "me" or "none"
	// CreatedFrom and CreatedTo bound the cases' creation day (YYYY-MM-DD,
	// UTC, both days included).
	CreatedFrom string `json:"created_from,omitempty"`
	CreatedTo   string `json:"created_to,omitempty"`
	Tag         string `json:"tag,omitempty"`
	Text        string `json:"q,omitempty"`
	Sort        string `json:"sort,omitempty"`
}

// CaseFilter is the case list the view selects for u (the first page).
func (f ViewFilters) CaseFilter(u *account.User) CaseFilter {
	out := CaseFilter{Statuses: append([]Status(nil), f.Statuses...), ChannelType: f.ChannelType, PointOfContactID: f.PointOfContactID,
		SkillID: f.SkillID, AssigneeID: f.AssigneeID, OwnerID: f.OwnerID, Tag: f.Tag, Text: f.Text, Sort: f.Sort}
	if out.AssigneeID == "me" {
		out.AssigneeID = u.ID
	}
	if out.OwnerID == "me" {
		out.OwnerID = u.ID
	}
	if t, err := time.Parse(time.DateOnly, f.CreatedFrom); err == nil {
		out.CreatedAfter = &t
	}
	if t, err := time.Parse(time.DateOnly, f.CreatedTo); err == nil {
		end := t.AddDate(0, 0, 1)
		out.CreatedBefore = &end
	}
	return out
}

// sorts are the orders ListCases knows.
var sorts = map[string]bool{"": true, "last_message_at": true, "-last_message_at": true, "created_at": true, "-created_at": true,
	"updated_at": true, "-updated_at": true}

// normalise checks the filters and puts them in one canonical form
// (statuses deduplicated in lifecycle order, tag lower-cased, text
// trimmed), so the same filters saved twice compare equal.
func (f ViewFilters) normalise() (ViewFilters, error) {
	seen := map[Status]bool{}
	for _, st := range f.Statuses {
		if !st.Valid() {
			return f, &ValidationError{"filters.statuses", fmt.Sprintf("unknown status %q", st)}
		}
		seen[st] = true
	}
	f.Statuses = nil
	for _, st := range Statuses {
		if seen[st] {
			f.Statuses = append(f.Statuses, st)
		}
	}
	if len(f.Statuses) == len(Statuses) {
		f.Statuses = nil // every status is no status filter
	}
	for _, v := range []struct {
		field string
		value *string
	}{{"filters.channel_type", &f.ChannelType}, {"filters.point_of_contact_id", &f.PointOfContactID}, {"filters.skill_id", &f.SkillID},
		{"filters.assignee_id", &f.AssigneeID}, {"filters.owner_id", &f.OwnerID}, {"filters.q", &f.Text}} {
		*v.value = strings.TrimSpace(*v.value)
		if utf8.RuneCountInString(*v.value) > maxFilterText || strings.ContainsAny(*v.value, "\r\n\t") {
			return f, &ValidationError{v.field, fmt.Sprintf("at most %d characters on one line", maxFilterText)}
		}
	}
	for _, d := range []struct {
		field string
		value *string
	}{{"filters.created_from", &f.CreatedFrom}, {"filters.created_to", &f.CreatedTo}} {
		if *d.value = strings.TrimSpace(*d.value); *d.value == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, *d.value); err != nil {
			return f, &ValidationError{d.field, "a date as YYYY-MM-DD"}
		}
	}
	if f.CreatedFrom != "" && f.CreatedTo != "" && f.CreatedTo < f.CreatedFrom {
		return f, &ValidationError{"filters.created_to", "on or after created_from"}
	}
	if f.Tag = strings.TrimSpace(f.Tag); f.Tag != "" {
		t, err := normaliseTag(f.Tag)
		if err != nil {
			return f, &ValidationError{"filters.tag", "1–64 characters without commas"}
		}
		f.Tag = t
	}
	if !sorts[f.Sort] {
		return f, &ValidationError{"filters.sort", "one of last_message_at, created_at, updated_at, each optionally prefixed with - for descending"}
	}
	return f, nil
}

// SavedView is a named set of inbox filters.
type SavedView struct {
	ID        string      `json:"id"`
	OwnerID   string      `json:"owner_id"`
	Name      string      `json:"name"`
	Shared    bool        `json:"shared"`
	Filters   ViewFilters `json:"filters"`
	CreatedAt time.Time   `json:"created_at"`
}

// NewSavedView is the input of CreateSavedView.
type NewSavedView struct {
	Name    string      `json:"name"`
	Shared  bool        `json:"shared"`
	Filters ViewFilters `json:"filters"`
}

const savedViewColumns = `id, user_id, name, shared, filters, created_at`

func scanSavedView(row interface{ Scan(...any) error }) (SavedView, error) {
	var v SavedView
	var filters string
	var created int64
	err := row.Scan(&v.ID, &v.OwnerID, &v.Name, &v.Shared, &filters, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return v, store.ErrNotFound
	}
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(filters), &v.Filters); err != nil {
		return v, fmt.Errorf("inbox: saved view %s filters: %w", v.ID, err)
	}
	v.CreatedAt = store.Time(created)
	return v, nil
}

// CreateSavedView saves filters under a name for u. Sharing with the
// workspace is for supervisors and administrators (ErrShareNotAllowed).
func (s *Service) CreateSavedView(ctx context.Context, u *account.User, in NewSavedView) (SavedView, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxSavedViewName || strings.ContainsAny(name, "\r\n\t") {
		return SavedView{}, &ValidationError{"name", fmt.Sprintf("1 to %d characters on one line", MaxSavedViewName)}
	}
	if in.Shared && !u.IsSupervisor() {
		return SavedView{}, ErrShareNotAllowed
	}
	filters, err := in.Filters.normalise()
	if err != nil {
		return SavedView{}, err
	}
	raw, err := json.Marshal(filters)
	if err != nil {
		return SavedView{}, err
	}
	now := s.now().UTC()
	v := SavedView{ID: store.NewID(), OwnerID: u.ID, Name: name, Shared: in.Shared, Filters: filters, CreatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM saved_views WHERE workspace_id = ? AND user_id = ?`, u.WorkspaceID, u.ID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxSavedViews {
			return &ValidationError{"name", fmt.Sprintf("you already have %d saved views: delete one first", MaxSavedViews)}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO saved_views (id, workspace_id, user_id, name, shared, filters, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, v.ID, u.WorkspaceID, u.ID, v.Name, v.Shared, string(raw), store.Micros(now), store.Micros(now))
		if store.IsUniqueViolation(err) {
			return &ValidationError{"name", "you already have a view with this name"}
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: actorType(u), ActorID: u.ID, Action: "saved_view.created",
			EntityType: "saved_view", EntityID: v.ID, Details: map[string]any{"name": v.Name, "shared": v.Shared}, At: now})
	})
	if err != nil {
		return SavedView{}, err
	}
	return v, nil
}

// ListSavedViews lists the views u may open: their own (private or shared)
// first, then those colleagues shared, each group by name.
func (s *Service) ListSavedViews(ctx context.Context, u *account.User) ([]SavedView, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+savedViewColumns+` FROM saved_views WHERE workspace_id = ? AND (user_id = ? OR shared = ?)
		ORDER BY CASE WHEN user_id = ? THEN 0 ELSE 1 END, LOWER(name), id`, u.WorkspaceID, u.ID, true, u.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SavedView{}
	for rows.Next() {
		v, err := scanSavedView(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// GetSavedView reads one view u may open (their own, or a shared one);
// another user's private view is not found.
func (s *Service) GetSavedView(ctx context.Context, u *account.User, id string) (SavedView, error) {
	return scanSavedView(s.db.QueryRowContext(ctx, `SELECT `+savedViewColumns+` FROM saved_views WHERE workspace_id = ? AND id = ? AND (user_id = ? OR shared = ?)`,
		u.WorkspaceID, id, u.ID, true))
}

// DeleteSavedView deletes a view: its owner may, and an administrator may
// delete any view of the workspace. A colleague's shared view is
// ErrForbidden; a colleague's private view is not found (it is invisible).
func (s *Service) DeleteSavedView(ctx context.Context, u *account.User, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var owner, name string
		var shared bool
		err := tx.QueryRowContext(ctx, `SELECT user_id, name, shared FROM saved_views WHERE workspace_id = ? AND id = ?`, u.WorkspaceID, id).Scan(&owner, &name, &shared)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if owner != u.ID && !u.IsAdmin() {
			if !shared {
				return store.ErrNotFound
			}
			return ErrForbidden
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM saved_views WHERE workspace_id = ? AND id = ?`, u.WorkspaceID, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: actorType(u), ActorID: u.ID, Action: "saved_view.deleted",
			EntityType: "saved_view", EntityID: id, Details: map[string]any{"name": name, "owner_id": owner, "shared": shared}, At: s.now().UTC()})
	})
}

// CanDeleteSavedView tells whether u may delete v (DeleteSavedView's rule,
// for showing the button).
func CanDeleteSavedView(u *account.User, v SavedView) bool {
	return v.OwnerID == u.ID || u.IsAdmin()
}
