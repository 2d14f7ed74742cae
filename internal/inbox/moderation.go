package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Message visibility on its platform.
const (
	VisibilityPrivate = "private"
	VisibilityPublic  = "public"
)

// ModeratorLookup finds a point of contact and its adapter's moderation
// side (nil when the channel type has none).
type ModeratorLookup interface {
	Moderator(ctx context.Context, workspaceID, pocID string) (channel.Moderator, *channel.PointOfContact, error)
}

// ModerationError is a moderation the channel cannot do (→ 409) or the
// platform refused (→ 502, with the platform's reason).
type ModerationError struct {
	Unsupported bool
	Reason      string
	Platform    *channel.SendError
}

func (e *ModerationError) Error() string { return e.Reason }

// permissionFor maps a moderation action to the channel permission it
// needs (MISSION §1): unhide needs hide, unlike needs like.
func permissionFor(a channel.ModerationAction) (string, bool) {
	switch a {
	case channel.ModerationHide, channel.ModerationUnhide:
		return account.ActionHide, true
	case channel.ModerationDelete:
		return account.ActionDelete, true
	case channel.ModerationLike, channel.ModerationUnlike:
		return account.ActionLike, true
	}
	return "", false
}

// Moderate hides, shows, deletes, likes or unlikes a customer's public
// message on its platform, then records it. The platform is called first:
// the message's flags say what is true on the platform, never what was
// merely asked (a refusal changes nothing and returns the platform's
// reason). The user needs the matching channel permission on the message's
// point of contact (ErrForbidden otherwise, before anything else happens).
func (s *Service) Moderate(ctx context.Context, u *account.User, messageID string, action channel.ModerationAction) (*Message, error) {
	perm, ok := permissionFor(action)
	if !ok {
		return nil, &ValidationError{"action", "one of hide, unhide, delete, like, unlike"}
	}
	m, err := s.getMessage(ctx, u, messageID)
	if err != nil {
		return nil, err
	}
	if !u.Can(perm, m.PointOfContactID) {
		return nil, ErrForbidden
	}
	if m.Direction != Inbound || m.Author.Type != "contact" {
		return nil, &ModerationError{Unsupported: true, Reason: "only customers' messages can be moderated"}
	}
	if m.Visibility != VisibilityPublic {
		return nil, &ModerationError{Unsupported: true, Reason: "this message is private: only public messages (comments, posts) can be hidden, deleted or liked"}
	}
	if m.Deleted {
		return nil, &ModerationError{Unsupported: true, Reason: "this message was deleted on the platform"}
	}
	if m.PlatformMessageID == nil || *m.PlatformMessageID == "" {
		return nil, &ModerationError{Unsupported: true, Reason: "the message has no platform id to act on"}
	}
	if s.moderators == nil {
		return nil, &ModerationError{Unsupported: true, Reason: "moderation is not available"}
	}
	mod, poc, err := s.moderators.Moderator(ctx, u.WorkspaceID, m.PointOfContactID)
	if err != nil {
		return nil, err
	}
	if mod == nil || !mod.Moderates(poc, action) {
		return nil, &ModerationError{Unsupported: true, Reason: fmt.Sprintf("this channel cannot %s messages", action)}
	}
	// Nothing to do, on the platform or here, when the message already is so.
	if alreadySo(m, action) {
		return m, nil
	}
	var thread, author string
	if err := s.db.QueryRowContext(ctx, `SELECT t.external_id, COALESCE(i.address, '') FROM threads t
		LEFT JOIN contact_identities i ON i.contact_id = t.contact_id AND i.point_of_contact_id = t.point_of_contact_id
		WHERE t.workspace_id = ? AND t.id = ?`, u.WorkspaceID, m.ThreadID).Scan(&thread, &author); err != nil {
		return nil, err
	}
	if err := mod.Moderate(ctx, poc, channel.ModerationRequest{Action: action, MessageID: m.ID, PlatformMessageID: *m.PlatformMessageID,
		ThreadExternalID: thread, AuthorID: author}); err != nil {
		var se *channel.SendError
		if !errors.As(err, &se) {
			se = &channel.SendError{Retryable: true, Reason: err.Error()}
		}
		return nil, &ModerationError{Reason: "the platform refused: " + se.Error(), Platform: se}
	}
	hidden, deleted, liked := m.Hidden, m.Deleted, m.Liked
	switch action {
	case channel.ModerationHide:
		hidden = true
	case channel.ModerationUnhide:
		hidden = false
	case channel.ModerationDelete:
		deleted = true
	case channel.ModerationLike:
		liked = true
	case channel.ModerationUnlike:
		liked = false
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET hidden = ?, deleted = ?, liked = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
			hidden, deleted, liked, store.Micros(now), u.WorkspaceID, m.ID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: actorType(u), ActorID: u.ID, Action: "message." + string(action),
			EntityType: "case", EntityID: m.CaseID, Details: map[string]any{"message_id": m.ID, "point_of_contact_id": m.PointOfContactID}}); err != nil {
			return err
		}
		s.publish(tx, event(realtime.TypeMessageModerated, u.WorkspaceID, m.PointOfContactID, m.CaseID,
			map[string]any{"id": m.ID, "case_id": m.CaseID, "action": string(action), "hidden": hidden, "deleted": deleted, "liked": liked}, now))
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.Hidden, m.Deleted, m.Liked = hidden, deleted, liked
	return m, nil
}

func alreadySo(m *Message, a channel.ModerationAction) bool {
	switch a {
	case channel.ModerationHide:
		return m.Hidden
	case channel.ModerationUnhide:
		return !m.Hidden
	case channel.ModerationLike:
		return m.Liked
	case channel.ModerationUnlike:
		return !m.Liked
	}
	return false
}

// GetMessage returns one message the user may see (its case's point of
// contact must be visible to them).
func (s *Service) GetMessage(ctx context.Context, u *account.User, id string) (*Message, error) {
	return s.getMessage(ctx, u, id)
}

func (s *Service) getMessage(ctx context.Context, u *account.User, id string) (*Message, error) {
	cond, args := visibility(u, "point_of_contact_id")
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE workspace_id = ? AND id = ?`+cond,
		append([]any{u.WorkspaceID, id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	byID := map[string]*Message{m.ID: m}
	if err := s.attachFiles(ctx, u.WorkspaceID, byID); err != nil {
		return nil, err
	}
	return m, nil
}
