package inbox

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Recipient is who a business-initiated conversation goes to: their
// address on the channel (phone number, PSID, middleware user id…).
type Recipient struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// StartConversation sends the first message to a contact on a point of
// contact, as the channel allows: freely (SMS, email, BYOC), only with an
// approved template (WhatsApp), or not at all (Messenger, Instagram, LINE,
// Telegram, Apple Messages for Business). A thread that already has an
// active case gets the message on that case, under its reply window.
func (s *Service) StartConversation(ctx context.Context, u *account.User, poc *channel.PointOfContact, to Recipient, in NewMessage) (*Message, *Case, error) {
	to.ID = strings.TrimSpace(to.ID)
	if to.ID == "" || len(to.ID) > 256 {
		return nil, nil, &ValidationError{"to.id", "required: the contact's address on this channel"}
	}
	if !u.Can(account.ActionReply, poc.ID) {
		return nil, nil, ErrForbidden
	}
	policy := channel.ProactiveAllowed
	if s.channels != nil {
		policy = s.channels.Proactive(poc.Type)
	}
	switch {
	case policy == channel.ProactiveNever:
		return nil, nil, ErrProactiveNotAllowed
	case policy == channel.ProactiveTemplatesOnly && in.Template == nil:
		return nil, nil, &WindowError{Window: &channel.WindowView{State: "templates_only"},
			Reason: "a conversation on this channel can only be started with an approved template"}
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Content) == 0 && len(in.Files) == 0 && in.Template == nil {
		return nil, nil, &ValidationError{"text", "a message needs text, content, attachments or a template"}
	}
	var m *Message
	var c *Case
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now().UTC()
		nowUS := store.Micros(now)
		ev := &channel.InboundEvent{ThreadID: to.ID, AuthorID: to.ID, AuthorName: to.Name}
		var res channel.IngestResult
		var caseID sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT t.id, t.contact_id, c.id FROM threads t LEFT JOIN cases c ON c.thread_id = t.id AND c.status <> 'closed'
			WHERE t.point_of_contact_id = ? AND t.external_id = ?`, poc.ID, to.ID).Scan(&res.ThreadID, &res.ContactID, &caseID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := s.createThread(ctx, tx, poc, ev, now, &res); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if caseID.Valid {
			if c, err = s.getCase(ctx, tx, u, caseID.String); err != nil {
				return err
			}
			if err := s.checkWindow(c, in, true, now); err != nil {
				return err
			}
		} else {
			// An outbound-first case waits on the customer: pending, owned
			// by the agent who started it.
			c = &Case{ID: store.NewID(), ThreadID: res.ThreadID, PointOfContactID: poc.ID, ChannelType: poc.Type, ContactID: res.ContactID,
				Status: StatusPending, SkillID: poc.DefaultSkillID, Subject: "Outbound: " + truncate(to.Name+" "+to.ID, 100), workspaceID: poc.WorkspaceID,
				AssigneeID: &u.ID, OwnerID: &u.ID, CreatedAt: now, UpdatedAt: now, LastMessageAt: now, Tags: []string{}}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, skill_id, subject,
				assignee_id, owner_id, created_at, updated_at, last_message_at, first_response_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ID, poc.WorkspaceID, c.ThreadID, poc.ID, poc.Type, c.ContactID, c.SkillID, c.Subject, u.ID, u.ID, nowUS, nowUS, nowUS, nowUS); err != nil {
				return err
			}
			s.publish(tx, event(realtime.TypeCaseCreated, poc.WorkspaceID, poc.ID, c.ID, caseSummary(c), now))
		}
		if m, err = s.insertOutbound(ctx, tx, c, Author{Type: "agent", ID: u.ID}, u.Role, in, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET last_message_at = ? WHERE id = ?`, nowUS, c.ID); err != nil {
			return err
		}
		s.publish(tx, event(realtime.TypeMessageCreated, poc.WorkspaceID, poc.ID, c.ID, m, now))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	c, err = s.GetCase(ctx, u, c.ID)
	return m, c, err
}

// Target is where a case's conversation lives on its platform.
type Target struct {
	PointOfContactID string
	ThreadExternalID string
	RecipientID      string
	LastInboundID    string // platform id of the customer's last message
}

// CaseTarget returns a case's platform coordinates, for typing indicators
// and read marks.
func (s *Service) CaseTarget(ctx context.Context, u *account.User, caseID string) (Target, error) {
	c, err := s.GetCase(ctx, u, caseID)
	if err != nil {
		return Target{}, err
	}
	if !u.Can(account.ActionReply, c.PointOfContactID) {
		return Target{}, ErrForbidden
	}
	t := Target{PointOfContactID: c.PointOfContactID}
	err = s.db.QueryRowContext(ctx, `SELECT t.external_id, COALESCE((SELECT address FROM contact_identities i WHERE i.contact_id = t.contact_id AND i.point_of_contact_id = t.point_of_contact_id ORDER BY created_at LIMIT 1), t.external_id)
		FROM threads t WHERE t.id = ?`, c.ThreadID).Scan(&t.ThreadExternalID, &t.RecipientID)
	if err != nil {
		return t, err
	}
	var last sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT platform_message_id FROM messages WHERE case_id = ? AND direction = 'inbound' ORDER BY created_at DESC, id DESC LIMIT 1`, c.ID).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return t, err
	}
	t.LastInboundID = last.String
	return t, nil
}
