package inbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/outbox"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// NewMessage is an outbound message as an agent, bot or the API writes it.
type NewMessage struct {
	Text    string          `json:"text"`
	Content json.RawMessage `json:"content"`
	Files   []File          `json:"-"`
	// Template sends an approved platform template instead (WhatsApp).
	Template *TemplateRequest `json:"template"`
	// ReplyTo quotes one of the case's messages (its Parley id).
	ReplyTo string `json:"reply_to"`
}

// TemplateRequest names a template and its parameter values.
type TemplateRequest struct {
	Name       string   `json:"name"`
	Language   string   `json:"language"`
	Parameters []string `json:"parameters"`
}

// MaxTextLength bounds a message's text.
const MaxTextLength = 64 << 10

// Reply accepts an outbound message on a case: it is stored as `pending`
// together with its delivery work in one transaction, and delivered by the
// outbox. The case moves to `pending` (the agent replied and waits on the
// customer) unless configured otherwise.
func (s *Service) Reply(ctx context.Context, u *account.User, caseID string, in NewMessage) (*Message, error) {
	if len(in.Text) > MaxTextLength {
		return nil, &ValidationError{"text", "at most 64 KiB"}
	}
	hasContent := len(in.Content) > 0 && string(in.Content) != "null"
	if strings.TrimSpace(in.Text) == "" && !hasContent && len(in.Files) == 0 && in.Template == nil {
		return nil, &ValidationError{"text", "a message needs text, content, attachments or a template"}
	}
	if in.Template != nil && (hasContent || len(in.Files) > 0 || strings.TrimSpace(in.Text) != "") {
		return nil, &ValidationError{"template", "a template message has no text, content or attachments of its own"}
	}
	var m *Message
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.getCase(ctx, tx, u, caseID)
		if err != nil {
			return err
		}
		if !u.Can(account.ActionReply, c.PointOfContactID) {
			return ErrForbidden
		}
		if c.Status == StatusClosed || c.Status == StatusTrashed {
			return ErrCaseClosed
		}
		now := s.now().UTC()
		if err := s.checkWindow(c, in, true, now); err != nil {
			return err
		}
		author := Author{Type: "agent", ID: u.ID}
		if u.ID == "" {
			author = Author{Type: "bot"}
		}
		if m, err = s.insertOutbound(ctx, tx, c, author, u.Role, in, now); err != nil {
			return err
		}
		events := []pendingEvent{event(realtime.TypeMessageCreated, u.WorkspaceID, c.PointOfContactID, c.ID, m, now)}
		if u.ID == "" {
			// A script's or a rule's message is not an agent's answer: the
			// case keeps its status and its response timers.
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET last_message_at = ? WHERE id = ?`, store.Micros(now), c.ID); err != nil {
				return err
			}
			s.publish(tx, events...)
			return nil
		}
		to := c.Status
		if s.replySetsPending && c.Status != StatusPending {
			to = StatusPending
		} else if c.Status == StatusNew {
			to = StatusOpen
		}
		nowUS := store.Micros(now)
		sets := `updated_at = ?, last_message_at = ?, last_reply_at = ?, first_response_at = COALESCE(first_response_at, ?)`
		args := []any{nowUS, nowUS, nowUS, nowUS}
		if to != c.Status {
			s.threads.invalidate() // holding the write connection: see threadCache
			sets += `, status = ?`
			args = append(args, string(to))
			if err := recordStatusChange(ctx, tx, u.WorkspaceID, "user", u.ID, c.ID, c.Status, to, "agent reply", now); err != nil {
				return err
			}
			events = append(events, event(realtime.TypeCaseUpdated, u.WorkspaceID, c.PointOfContactID, c.ID,
				map[string]any{"id": c.ID, "status": to, "previous_status": c.Status, "reason": "agent_reply"}, now))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET `+sets+` WHERE id = ?`, append(args, c.ID)...); err != nil {
			return err
		}
		s.publish(tx, events...)
		return nil
	})
	return m, err
}

// checkWindow refuses, before anything reaches the platform, a send the
// channel's reply window forbids.
func (s *Service) checkWindow(c *Case, in NewMessage, human bool, now time.Time) error {
	if s.channels == nil {
		return nil
	}
	w := s.channels.ViewWindow(c.ChannelType, c.LastInboundAt, now)
	if w == nil {
		return nil
	}
	switch {
	case w.State == "open":
		return nil
	case w.State == "human_agent" && human && in.Template == nil:
		return nil
	case w.State == "templates_only" && in.Template != nil:
		return nil
	case w.State == "templates_only":
		return &WindowError{Window: w, Reason: "the customer's last message is more than 24 hours old: only an approved template may be sent now"}
	case w.State == "human_agent":
		return &WindowError{Window: w, Reason: "outside the 24-hour window only a human agent may reply (until 7 days after the customer's last message)"}
	default:
		return &WindowError{Window: w, Reason: "the reply window has closed: the customer must write again first"}
	}
}

// insertOutbound stores an outbound message on a case with its delivery
// work: rendered for the channel when it has rich content, and opening the
// thread's pending prompt when it asks a question.
func (s *Service) insertOutbound(ctx context.Context, tx *store.Tx, c *Case, author Author, role account.Role, in NewMessage, now time.Time) (*Message, error) {
	var optedOut int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM contact_optouts o JOIN threads t ON t.point_of_contact_id = o.point_of_contact_id AND t.external_id = o.address
		WHERE t.id = ?`, c.ThreadID).Scan(&optedOut); err != nil {
		return nil, err
	}
	if optedOut > 0 {
		return nil, ErrOptedOut
	}
	var markedAt sql.NullInt64
	var why string
	err := tx.QueryRowContext(ctx, `SELECT u.marked_at, u.reason FROM contact_unreachable u JOIN threads t ON t.point_of_contact_id = u.point_of_contact_id AND t.external_id = u.address
		WHERE t.id = ?`, c.ThreadID).Scan(&markedAt, &why)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	// Unreachable until the customer writes again.
	if markedAt.Valid && (c.LastInboundAt == nil || store.Micros(*c.LastInboundAt) <= markedAt.Int64) {
		return nil, &UnreachableError{Reason: why}
	}
	if s.channels != nil && len(in.Files) > 0 {
		if n, limited := s.channels.MaxAttachments(c.ChannelType); limited && len(in.Files) > n {
			if n == 0 {
				return nil, &ValidationError{"attachments", fmt.Sprintf("%s does not take attachments from a business: send the file as a link in the text", c.ChannelType)}
			}
			return nil, &ValidationError{"attachments", fmt.Sprintf("%s takes at most %d attachment(s) per message", c.ChannelType, n)}
		}
	}
	m := &Message{ID: store.NewID(), CaseID: c.ID, ThreadID: c.ThreadID, PointOfContactID: c.PointOfContactID, Direction: Outbound,
		Author: author, Text: in.Text, Content: nilIfNull(in.Content), Status: MsgPending, CreatedAt: now, Attachments: []Attachment{}, workspaceID: c.workspaceID,
		Visibility: VisibilityPrivate}
	if in.Template != nil {
		if s.templates == nil {
			return nil, &ValidationError{"template", "templates are not available"}
		}
		t, err := s.templates.Get(ctx, tx, c.workspaceID, c.PointOfContactID, in.Template.Name, in.Template.Language)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &ValidationError{"template", fmt.Sprintf("no template %q in language %q on this point of contact (sync templates first)", in.Template.Name, in.Template.Language)}
		}
		if err != nil {
			return nil, err
		}
		if m.Text, err = t.Validate(in.Template.Parameters); err != nil {
			return nil, err
		}
		params := in.Template.Parameters
		if params == nil {
			params = []string{}
		}
		if m.Template, err = json.Marshal(channel.TemplateMessage{Name: t.Name, Language: t.Language, Parameters: params, Template: t.Template}); err != nil {
			return nil, err
		}
	}
	if in.ReplyTo != "" {
		var pid sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT platform_message_id FROM messages WHERE workspace_id = ? AND case_id = ? AND id = ?`, c.workspaceID, c.ID, in.ReplyTo).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !pid.Valid) {
			return nil, &ValidationError{"reply_to", "no message of this case with a platform id to quote"}
		}
		if err != nil {
			return nil, err
		}
		m.ReplyToPlatformID = &pid.String
	}
	if len(m.Content) > 0 {
		if s.content == nil {
			return nil, &ValidationError{"content", "rich content is not available on this server"}
		}
		prep, err := s.content.Prepare(c.ChannelType, role, m.Content, in.Text, m.ID)
		if err != nil {
			return nil, err
		}
		m.Rendered = prep.Rendered
		if strings.TrimSpace(m.Text) == "" {
			m.Text = prep.Text
		}
		if len(prep.Prompt) > 0 {
			// The last question asked is the one answers map to.
			s.threads.invalidate() // holding the write connection: see threadCache
			if _, err := tx.ExecContext(ctx, `UPDATE threads SET pending_prompt = ? WHERE id = ?`, string(prep.Prompt), c.ThreadID); err != nil {
				return nil, err
			}
		}
	}
	nowUS := store.Micros(now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, author_id, text, content, rendered,
		template, reply_to_platform_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'outbound', ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
		m.ID, c.workspaceID, c.ID, c.ThreadID, c.PointOfContactID, author.Type, author.ID, m.Text, nullJSON(m.Content), nullJSON(m.Rendered),
		nullJSON(m.Template), m.ReplyToPlatformID, nowUS, nowUS); err != nil {
		return nil, err
	}
	for _, f := range in.Files {
		a, err := insertAttachment(ctx, tx, c.workspaceID, m.ID, f, now)
		if err != nil {
			return nil, err
		}
		m.Attachments = append(m.Attachments, a)
	}
	if err := outbox.Enqueue(ctx, tx, c.workspaceID, m.ID, c.ThreadID, c.PointOfContactID, now); err != nil {
		return nil, err
	}
	if s.waker != nil {
		tx.AfterCommit(s.waker.Wake)
	}
	return m, nil
}

func nilIfNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

const messageColumns = `id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, author_id, text, content, rendered,
	choice, template, reply_to_platform_id, reaction, COALESCE(html, ''), automated, visibility, hidden, deleted, liked, platform_message_id, status, status_reason,
	created_at, platform_sent_at, sent_at, delivered_at, read_at, failed_at`

func scanMessage(row interface{ Scan(...any) error }) (*Message, error) {
	m := &Message{Attachments: []Attachment{}}
	var content, rendered, choice, template, replyTo, platformID sql.NullString
	var created int64
	var pSent, sent, delivered, read, failed sql.NullInt64
	err := row.Scan(&m.ID, &m.workspaceID, &m.CaseID, &m.ThreadID, &m.PointOfContactID, &m.Direction, &m.Author.Type, &m.Author.ID, &m.Text,
		&content, &rendered, &choice, &template, &replyTo, &m.Reaction, &m.HTML, &m.Automated,
		&m.Visibility, &m.Hidden, &m.Deleted, &m.Liked, &platformID, &m.Status, &m.StatusReason, &created, &pSent, &sent, &delivered, &read, &failed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if content.Valid {
		m.Content = json.RawMessage(content.String)
	}
	if rendered.Valid {
		m.Rendered = json.RawMessage(rendered.String)
	}
	if choice.Valid {
		m.Choice = json.RawMessage(choice.String)
	}
	if template.Valid {
		m.Template = json.RawMessage(template.String)
	}
	m.ReplyToPlatformID = nullPtr(replyTo)
	m.PlatformMessageID = nullPtr(platformID)
	m.CreatedAt = store.Time(created)
	m.PlatformSentAt, m.SentAt, m.DeliveredAt, m.ReadAt, m.FailedAt = store.NullTime(pSent), store.NullTime(sent), store.NullTime(delivered), store.NullTime(read), store.NullTime(failed)
	return m, nil
}

// ListMessages lists a case's messages, oldest first, with a cursor.
func (s *Service) ListMessages(ctx context.Context, u *account.User, caseID string, limit int, cursor string) (Page[*Message], error) {
	if _, err := s.GetCase(ctx, u, caseID); err != nil {
		return Page[*Message]{}, err
	}
	if limit <= 0 {
		limit = 100
	}
	if limit > 500 {
		return Page[*Message]{}, &ValidationError{"limit", "at most 500"}
	}
	where := `workspace_id = ? AND case_id = ?`
	args := []any{u.WorkspaceID, caseID}
	if cursor != "" {
		v, id, err := decodeCursor(cursor)
		if err != nil {
			return Page[*Message]{}, err
		}
		where += ` AND (created_at > ? OR (created_at = ? AND id > ?))`
		args = append(args, v, v, id)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE `+where+` ORDER BY created_at, id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return Page[*Message]{}, err
	}
	defer rows.Close()
	page := Page[*Message]{Items: []*Message{}}
	byID := map[string]*Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, m)
		byID[m.ID] = m
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Items) > limit {
		delete(byID, page.Items[limit].ID)
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(store.Micros(last.CreatedAt), last.ID)
	}
	if err := s.attachFiles(ctx, u.WorkspaceID, byID); err != nil {
		return page, err
	}
	return page, nil
}

func (s *Service) attachFiles(ctx context.Context, workspaceID string, byID map[string]*Message) error {
	if len(byID) == 0 {
		return nil
	}
	args := []any{workspaceID}
	for id := range byID {
		args = append(args, id)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, message_id, name, mime_type, size, sha256, blob_key FROM attachments
		WHERE workspace_id = ? AND message_id IN (`+placeholders(len(byID))+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a Attachment
		var mid string
		if err := rows.Scan(&a.ID, &mid, &a.Name, &a.MimeType, &a.Size, &a.SHA256, &a.BlobKey); err != nil {
			return err
		}
		if m := byID[mid]; m != nil {
			m.Attachments = append(m.Attachments, a)
		}
	}
	return rows.Err()
}

// GetAttachment returns an attachment's metadata by id alone; callers
// authorise first (a signed URL, or a user who can see its case).
func (s *Service) GetAttachment(ctx context.Context, id string) (Attachment, string, error) {
	var a Attachment
	var workspaceID string
	err := s.db.QueryRowContext(ctx, `SELECT id, workspace_id, name, mime_type, size, sha256, blob_key FROM attachments WHERE id = ?`, id).
		Scan(&a.ID, &workspaceID, &a.Name, &a.MimeType, &a.Size, &a.SHA256, &a.BlobKey)
	if errors.Is(err, sql.ErrNoRows) {
		return a, "", store.ErrNotFound
	}
	return a, workspaceID, err
}

// AttachmentSigner makes the time-limited URLs platforms fetch files from.
type AttachmentSigner interface {
	SignedURL(attachmentID string) string
}

// SetAttachmentSigner wires the signer used by LoadOutbound.
func (s *Service) SetAttachmentSigner(signer AttachmentSigner) { s.signer = signer }

// LoadOutbound implements outbox.Messages.
func (s *Service) LoadOutbound(ctx context.Context, messageID string, attempt int) (string, *channel.OutboundMessage, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ? AND direction = 'outbound'`, messageID))
	if err != nil {
		return "", nil, err
	}
	out := &channel.OutboundMessage{ID: m.ID, WorkspaceID: m.workspaceID, CaseID: m.CaseID, Text: m.Text, Content: m.Content, Rendered: m.Rendered,
		Attempt: attempt, Attachments: []channel.OutboundAttachment{}, AuthorType: m.Author.Type}
	if m.ReplyToPlatformID != nil {
		out.ReplyToPlatformID = *m.ReplyToPlatformID
	}
	if len(m.Template) > 0 {
		var tm channel.TemplateMessage
		if err := json.Unmarshal(m.Template, &tm); err != nil {
			return "", nil, fmt.Errorf("inbox: message %s template: %w", m.ID, err)
		}
		out.Template = &tm
	}
	// The customer's last message on this thread decides the platform's
	// window at send time.
	var lastIn sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(last_inbound_at) FROM cases WHERE thread_id = ?`, m.ThreadID).Scan(&lastIn); err != nil {
		return "", nil, err
	}
	if lastIn.Valid {
		out.LastInboundAt = store.Time(lastIn.Int64)
	}
	if err := s.threadContext(ctx, m, out); err != nil {
		return "", nil, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT t.external_id, i.address, i.display_name FROM threads t
		JOIN contact_identities i ON i.contact_id = t.contact_id AND i.point_of_contact_id = t.point_of_contact_id
		WHERE t.id = ? ORDER BY i.created_at LIMIT 1`, m.ThreadID).Scan(&out.ThreadExternalID, &out.RecipientID, &out.RecipientName); err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			return "", nil, err
		}
		// A thread whose contact was merged keeps its external id; the
		// recipient is then the thread itself.
		if err := s.db.QueryRowContext(ctx, `SELECT external_id FROM threads WHERE id = ?`, m.ThreadID).Scan(&out.ThreadExternalID); err != nil {
			return "", nil, err
		}
		out.RecipientID = out.ThreadExternalID
	}
	byID := map[string]*Message{m.ID: m}
	if err := s.attachFiles(ctx, m.workspaceID, byID); err != nil {
		return "", nil, err
	}
	for _, a := range m.Attachments {
		oa := channel.OutboundAttachment{ID: a.ID, Name: a.Name, MimeType: a.MimeType, Size: a.Size}
		if s.signer != nil {
			oa.URL = s.signer.SignedURL(a.ID)
		}
		out.Attachments = append(out.Attachments, oa)
	}
	return m.PointOfContactID, out, nil
}

func (s *Service) messageEvent(ctx context.Context, tx *store.Tx, messageID string, extra map[string]any) error {
	var ws, poc, caseID, status, reason string
	if err := tx.QueryRowContext(ctx, `SELECT workspace_id, point_of_contact_id, case_id, status, status_reason FROM messages WHERE id = ?`, messageID).
		Scan(&ws, &poc, &caseID, &status, &reason); err != nil {
		return err
	}
	data := map[string]any{"id": messageID, "case_id": caseID, "status": status, "reason": reason}
	for k, v := range extra {
		data[k] = v
	}
	s.publish(tx, event(realtime.TypeMessageStatus, ws, poc, caseID, data, s.now()))
	return nil
}

// MarkSent implements outbox.Messages. A receipt may have arrived before
// the send call returned (the platform is fast): the status then stays
// where the receipt put it, and only the platform id and sent time are set.
func (s *Service) MarkSent(ctx context.Context, tx *store.Tx, messageID, platformID string) error {
	now := store.Micros(s.now())
	var pid sql.NullString
	if platformID != "" {
		pid = sql.NullString{String: platformID, Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = CASE WHEN status = 'pending' THEN 'sent' ELSE status END,
		status_reason = CASE WHEN status = 'pending' THEN '' ELSE status_reason END,
		platform_message_id = COALESCE(?, platform_message_id), sent_at = ?, updated_at = ? WHERE id = ?`, pid, now, now, messageID); err != nil {
		return err
	}
	return s.messageEvent(ctx, tx, messageID, map[string]any{"platform_message_id": platformID})
}

// MarkRetrying implements outbox.Messages: the message stays pending and
// shows why it has not gone yet.
func (s *Service) MarkRetrying(ctx context.Context, tx *store.Tx, messageID, reason string) error {
	now := store.Micros(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET status_reason = ?, updated_at = ? WHERE id = ? AND status = 'pending'`, reason, now, messageID); err != nil {
		return err
	}
	return s.messageEvent(ctx, tx, messageID, nil)
}

// MarkFailed implements outbox.Messages.
func (s *Service) MarkFailed(ctx context.Context, tx *store.Tx, messageID, reason string) error {
	now := store.Micros(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'failed', status_reason = ?, failed_at = ?, updated_at = ? WHERE id = ?`, reason, now, now, messageID); err != nil {
		return err
	}
	return s.messageEvent(ctx, tx, messageID, nil)
}

// MarkUnreachable records that the recipient of a message can no longer be
// messaged on its point of contact (in the outbox's transaction).
func (s *Service) MarkUnreachable(ctx context.Context, tx *store.Tx, messageID, reason string) error {
	var ws, poc, address string
	err := tx.QueryRowContext(ctx, `SELECT m.workspace_id, m.point_of_contact_id, t.external_id FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.id = ?`, messageID).
		Scan(&ws, &poc, &address)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO contact_unreachable (workspace_id, point_of_contact_id, address, reason, marked_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (point_of_contact_id, address) DO UPDATE SET reason = excluded.reason, marked_at = excluded.marked_at`, ws, poc, address, reason, store.Micros(s.now()))
	return err
}

// ValidateContent checks inbound canonical content with the content policy.
func (s *Service) ValidateContent(content json.RawMessage) error {
	if s.content == nil {
		return nil
	}
	return s.content.Validate(content)
}

// CanSeeAttachment tells whether a user may see the case an attachment
// belongs to.
func (s *Service) CanSeeAttachment(ctx context.Context, u *account.User, attachmentID string) (bool, error) {
	var caseID string
	err := s.db.QueryRowContext(ctx, `SELECT m.case_id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.workspace_id = ? AND a.id = ?`,
		u.WorkspaceID, attachmentID).Scan(&caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := s.GetCase(ctx, u, caseID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// threadContext adds what email needs to thread a reply: the author's name,
// the case subject, and the platform ids of the thread's earlier messages.
func (s *Service) threadContext(ctx context.Context, m *Message, out *channel.OutboundMessage) error {
	if m.Author.Type == "agent" && m.Author.ID != "" {
		if err := s.db.QueryRowContext(ctx, `SELECT name FROM users WHERE id = ?`, m.Author.ID).Scan(&out.AuthorName); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if err := s.db.QueryRowContext(ctx, `SELECT subject FROM cases WHERE id = ?`, m.CaseID).Scan(&out.Subject); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT platform_message_id, direction FROM messages WHERE thread_id = ? AND platform_message_id IS NOT NULL AND id <> ?
		ORDER BY created_at DESC, id DESC LIMIT 20`, m.ThreadID, m.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id, dir string
		if err := rows.Scan(&id, &dir); err != nil {
			return err
		}
		if dir == Inbound && out.LastInboundPlatformID == "" {
			out.LastInboundPlatformID = id
		}
		ids = append(ids, id)
	}
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	out.ThreadPlatformIDs = ids
	return rows.Err()
}

// ThreadMessages returns the latest messages of a thread, oldest first,
// with their attachments: what a chat visitor sees when they come back.
// Automated messages and notes are not part of it.
func (s *Service) ThreadMessages(ctx context.Context, pocID, threadExternalID string, limit int) ([]*Message, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE thread_id = (SELECT id FROM threads WHERE point_of_contact_id = ? AND external_id = ?) AND automated = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, pocID, threadExternalID, false, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Message
	byID := map[string]*Message{}
	ws := ""
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		byID[m.ID] = m
		ws = m.workspaceID
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, s.attachFiles(ctx, ws, byID)
}
