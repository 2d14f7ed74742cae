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

// RememberVisitor records what a website visitor told us (pre-chat form or
// verified identity) on their contact, creating the contact and its chat
// identity if they have not written yet. Empty values change nothing.
func (s *Service) RememberVisitor(ctx context.Context, poc *channel.PointOfContact, address, name, email, phone string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now().UTC()
		var contactID string
		err := tx.QueryRowContext(ctx, `SELECT contact_id FROM contact_identities WHERE point_of_contact_id = ? AND address = ?`, poc.ID, address).Scan(&contactID)
		if errors.Is(err, sql.ErrNoRows) {
			contactID = store.NewID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, workspace_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				contactID, poc.WorkspaceID, name, email, phone, store.Micros(now), store.Micros(now)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO contact_identities (id, workspace_id, contact_id, point_of_contact_id, channel_type, address, display_name, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, store.NewID(), poc.WorkspaceID, contactID, poc.ID, poc.Type, address, name, store.Micros(now))
			return err
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE contacts SET name = CASE WHEN ? <> '' THEN ? ELSE name END, email = CASE WHEN ? <> '' THEN ? ELSE email END,
			phone = CASE WHEN ? <> '' THEN ? ELSE phone END, updated_at = ? WHERE id = ?`, name, name, email, email, phone, phone, store.Micros(now), contactID)
		return err
	})
}

// ContinueByEmail sends an agent's chat message to a visitor who left, by
// email, on a case of the email point of contact linked to the same
// contact; the visitor's reply threads back to that case.
func (s *Service) ContinueByEmail(ctx context.Context, emailPoc *channel.PointOfContact, chatPocID, visitorID, visitorEmail string, msg *channel.OutboundMessage) error {
	visitorEmail = strings.ToLower(strings.TrimSpace(visitorEmail))
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now().UTC()
		nowUS := store.Micros(now)
		var contactID, chatSubject string
		if err := tx.QueryRowContext(ctx, `SELECT t.contact_id, COALESCE((SELECT subject FROM cases c WHERE c.thread_id = t.id ORDER BY created_at DESC LIMIT 1), '')
			FROM threads t WHERE t.point_of_contact_id = ? AND t.external_id = ?`, chatPocID, visitorID).Scan(&contactID, &chatSubject); err != nil {
			return err
		}
		// The same person on the email channel: link the address to them.
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_identities (id, workspace_id, contact_id, point_of_contact_id, channel_type, address, display_name, created_at)
			VALUES (?, ?, ?, ?, 'email', ?, '', ?) ON CONFLICT (point_of_contact_id, address) DO NOTHING`, store.NewID(), emailPoc.WorkspaceID, contactID, emailPoc.ID, visitorEmail, nowUS); err != nil {
			return err
		}
		threadExt := "<chat-" + store.NewID() + "@parley.continue>"
		threadID, caseID := store.NewID(), store.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			threadID, emailPoc.WorkspaceID, emailPoc.ID, contactID, threadExt, "Continued from chat", nowUS); err != nil {
			return err
		}
		subject := "Your conversation with us"
		if chatSubject != "" {
			subject = truncate("Re: "+chatSubject, 200)
		}
		c := &Case{ID: caseID, ThreadID: threadID, PointOfContactID: emailPoc.ID, ChannelType: emailPoc.Type, ContactID: contactID, Status: StatusPending,
			Subject: subject, workspaceID: emailPoc.WorkspaceID}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, subject, created_at, updated_at, last_message_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`, caseID, emailPoc.WorkspaceID, threadID, emailPoc.ID, emailPoc.Type, contactID, subject, nowUS, nowUS, nowUS); err != nil {
			return err
		}
		text := msg.Text + "\n\n— You left our website chat before this answer arrived. Reply to this email to continue the conversation."
		m, err := s.insertOutbound(ctx, tx, c, Author{Type: "bot"}, "", NewMessage{Text: text}, now)
		if err != nil {
			return err
		}
		s.publish(tx, event(realtime.TypeCaseCreated, emailPoc.WorkspaceID, emailPoc.ID, caseID, caseSummary(c), now),
			event(realtime.TypeMessageCreated, emailPoc.WorkspaceID, emailPoc.ID, caseID, m, now))
		return nil
	})
}
