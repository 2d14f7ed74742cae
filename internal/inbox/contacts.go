package inbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

const contactColumns = `id, name, email, phone, custom_fields, merged_into, created_at, updated_at`

func scanContact(row interface{ Scan(...any) error }) (*Contact, error) {
	c := &Contact{Identities: []Identity{}}
	var custom string
	var merged sql.NullString
	var created, updated int64
	err := row.Scan(&c.ID, &c.Name, &c.Email, &c.Phone, &custom, &merged, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.CustomFields = json.RawMessage(custom)
	c.MergedInto = nullPtr(merged)
	c.CreatedAt, c.UpdatedAt = store.Time(created), store.Time(updated)
	return c, nil
}

func (s *Service) loadIdentities(ctx context.Context, q store.Querier, workspaceID string, c *Contact) error {
	rows, err := q.QueryContext(ctx, `SELECT id, point_of_contact_id, channel_type, address, display_name, created_at FROM contact_identities
		WHERE workspace_id = ? AND contact_id = ? ORDER BY created_at, id`, workspaceID, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var i Identity
		var at int64
		if err := rows.Scan(&i.ID, &i.PointOfContactID, &i.ChannelType, &i.Address, &i.DisplayName, &at); err != nil {
			return err
		}
		i.CreatedAt = store.Time(at)
		c.Identities = append(c.Identities, i)
	}
	return rows.Err()
}

// GetContact reads a contact with its identities. A merged contact is
// returned as it was, with merged_into pointing at the survivor.
func (s *Service) GetContact(ctx context.Context, u *account.User, id string) (*Contact, error) {
	c, err := scanContact(s.db.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE workspace_id = ? AND id = ?`, u.WorkspaceID, id))
	if err != nil {
		return nil, err
	}
	if !u.SeesAll() {
		// Agents limited to some points of contact see only the contacts
		// who wrote to them.
		cond, args := visibility(u, "point_of_contact_id")
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM contact_identities WHERE workspace_id = ? AND contact_id = ?`+cond,
			append([]any{u.WorkspaceID, id}, args...)...).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, store.ErrNotFound
		}
	}
	return c, s.loadIdentities(ctx, s.db, u.WorkspaceID, c)
}

// SearchContacts finds contacts by name, email, phone or channel address.
func (s *Service) SearchContacts(ctx context.Context, u *account.User, text string, limit int, cursor string) (Page[*Contact], error) {
	if limit <= 0 {
		limit = 50
	}
	if limit > 200 {
		return Page[*Contact]{}, &ValidationError{"limit", "at most 200"}
	}
	where := `c.workspace_id = ? AND c.merged_into IS NULL`
	args := []any{u.WorkspaceID}
	if text = strings.TrimSpace(text); text != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(text)) + "%"
		where += ` AND (LOWER(c.name) LIKE ? ESCAPE '\' OR LOWER(c.email) LIKE ? ESCAPE '\' OR c.phone LIKE ? ESCAPE '\'
			OR EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = c.id AND LOWER(i.address) LIKE ? ESCAPE '\'))`
		args = append(args, like, like, like, like)
	}
	if !u.SeesAll() {
		cond, a := visibility(u, "i.point_of_contact_id")
		where += ` AND EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = c.id` + cond + `)`
		args = append(args, a...)
	}
	if cursor != "" {
		v, id, err := decodeCursor(cursor)
		if err != nil {
			return Page[*Contact]{}, err
		}
		where += ` AND (c.created_at < ? OR (c.created_at = ? AND c.id < ?))`
		args = append(args, v, v, id)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+prefixed("c.", contactColumns)+` FROM contacts c WHERE `+where+` ORDER BY c.created_at DESC, c.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return Page[*Contact]{}, err
	}
	defer rows.Close()
	page := Page[*Contact]{Items: []*Contact{}}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	rows.Close()
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(store.Micros(last.CreatedAt), last.ID)
	}
	for _, c := range page.Items {
		if err := s.loadIdentities(ctx, s.db, u.WorkspaceID, c); err != nil {
			return page, err
		}
	}
	return page, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ", ")
}

// ContactPatch changes a contact's details.
type ContactPatch struct {
	Name         *string          `json:"name"`
	Email        *string          `json:"email"`
	Phone        *string          `json:"phone"`
	CustomFields *json.RawMessage `json:"custom_fields"`
}

// MergeContacts merges `from` into `into`: identities, threads and cases
// move to the survivor, and `from` keeps a pointer to it so old links still
// resolve. Supervisors and admins only.
func (s *Service) MergeContacts(ctx context.Context, u *account.User, into, from string) (*Contact, error) {
	if !u.IsSupervisor() {
		return nil, ErrForbidden
	}
	if into == from {
		return nil, &ValidationError{"from_id", "cannot merge a contact into itself"}
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range []string{into, from} {
			c, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE workspace_id = ? AND id = ?`, u.WorkspaceID, id))
			if err != nil {
				return err
			}
			if c.MergedInto != nil {
				return &ValidationError{"from_id", "contact " + id + " was already merged"}
			}
		}
		now := store.Micros(s.now())
		s.threads.invalidate() // threads change contact: see threadCache
		for _, q := range []string{
			`UPDATE contact_identities SET contact_id = ? WHERE workspace_id = ? AND contact_id = ?`,
			`UPDATE threads SET contact_id = ? WHERE workspace_id = ? AND contact_id = ?`,
			`UPDATE cases SET contact_id = ? WHERE workspace_id = ? AND contact_id = ?`,
			`UPDATE contacts SET merged_into = ? WHERE workspace_id = ? AND id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, into, u.WorkspaceID, from); err != nil {
				return err
			}
		}
		// Fill the survivor's empty details from the merged contact.
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET
			name = CASE WHEN name = '' THEN (SELECT name FROM contacts WHERE id = ?) ELSE name END,
			email = CASE WHEN email = '' THEN (SELECT email FROM contacts WHERE id = ?) ELSE email END,
			phone = CASE WHEN phone = '' THEN (SELECT phone FROM contacts WHERE id = ?) ELSE phone END,
			updated_at = ? WHERE workspace_id = ? AND id = ?`, from, from, from, now, u.WorkspaceID, into); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: actorType(u), ActorID: u.ID, Action: "contact.merged",
			EntityType: "contact", EntityID: into, Details: map[string]any{"merged": from}, At: s.now()})
	})
	if err != nil {
		return nil, err
	}
	return s.GetContact(ctx, u, into)
}

// UpdateContact changes a contact's name, email, phone or custom fields.
func (s *Service) UpdateContact(ctx context.Context, u *account.User, id string, p ContactPatch) (*Contact, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE workspace_id = ? AND id = ?`, u.WorkspaceID, id))
		if err != nil {
			return err
		}
		if p.Name != nil {
			c.Name = truncate(strings.TrimSpace(*p.Name), 200)
		}
		if p.Email != nil {
			c.Email = strings.TrimSpace(*p.Email)
			if c.Email != "" && (!strings.Contains(c.Email, "@") || len(c.Email) > 254) {
				return &ValidationError{"email", "not an email address"}
			}
		}
		if p.Phone != nil {
			c.Phone = strings.TrimSpace(*p.Phone)
			if len(c.Phone) > 32 {
				return &ValidationError{"phone", "at most 32 characters"}
			}
		}
		if p.CustomFields != nil {
			var obj map[string]any
			if json.Unmarshal(*p.CustomFields, &obj) != nil || obj == nil || len(*p.CustomFields) > 16<<10 {
				return &ValidationError{"custom_fields", "a JSON object of at most 16 KiB"}
			}
			c.CustomFields = *p.CustomFields
		}
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET name = ?, email = ?, phone = ?, custom_fields = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
			c.Name, c.Email, c.Phone, string(c.CustomFields), store.Micros(s.now()), u.WorkspaceID, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: actorType(u), ActorID: u.ID, Action: "contact.updated", EntityType: "contact", EntityID: id, At: s.now()})
	})
	if err != nil {
		return nil, err
	}
	return s.GetContact(ctx, u, id)
}
