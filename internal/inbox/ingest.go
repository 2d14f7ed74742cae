package inbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// InboundItem is one parsed inbound event with its files already stored.
type InboundItem struct {
	Event channel.InboundEvent
	Files []File
}

// ErrUnknownMessage is a receipt for a message this point of contact never sent.
var ErrUnknownMessage = errors.New("inbox: no such message on this point of contact")

// Ingest stores what a platform delivered, in one transaction together with
// the work it triggers (the case waiting for routing is that work), and
// returns only after the commit. The same platform message id never makes a
// second message: a retry returns the first one's ids, marked Duplicate.
// Receipts that name an unknown message are reported per item, and do not
// fail the rest.
func (s *Service) Ingest(ctx context.Context, poc *channel.PointOfContact, items []InboundItem) ([]channel.IngestResult, error) {
	if s.batcher != nil {
		return s.batcher.submit(ctx, poc, items)
	}
	var results []channel.IngestResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			var e error
			results, e = s.ingestTx(ctx, tx, nil, poc, items)
			return e
		})
		// Two nodes creating the same contact, thread or case at once: one
		// wins the unique index, the other retries and finds its rows.
		if !store.IsUniqueViolation(err) {
			break
		}
	}
	return results, err
}

func (s *Service) ingestTx(ctx context.Context, tx *store.Tx, tc *ingestCacheTx, poc *channel.PointOfContact, items []InboundItem) ([]channel.IngestResult, error) {
	results := make([]channel.IngestResult, len(items))
	for i := range items {
		it := &items[i]
		results[i].Event = &it.Event
		switch it.Event.Kind {
		case channel.EventMessage:
			if err := s.ingestMessage(ctx, tx, tc, poc, it, &results[i]); err != nil {
				return nil, err
			}
		case channel.EventStatus:
			if err := s.applyReceipt(ctx, tx, poc, &it.Event, &results[i]); err != nil {
				if errors.Is(err, ErrUnknownMessage) {
					results[i].Err = err
					continue
				}
				return nil, err
			}
		default:
			results[i].Err = fmt.Errorf("inbox: unknown event kind %q", it.Event.Kind)
		}
	}
	return results, nil
}

func (s *Service) ingestMessage(ctx context.Context, tx *store.Tx, tc *ingestCacheTx, poc *channel.PointOfContact, it *InboundItem, res *channel.IngestResult) error {
	ev := &it.Event
	now := s.now().UTC()
	nowUS := store.Micros(now)
	var events []pendingEvent

	// The thread and its active case: from the cache, or in one lookup.
	key := threadKey{poc.ID, ev.ThreadID}
	var caseID, caseStatus sql.NullString
	var hasPrompt bool
	var err error
	if e, ok := tc.lookup(key); ok {
		res.ThreadID, res.ContactID, hasPrompt = e.threadID, e.contactID, e.hasPrompt
		caseID, caseStatus = sql.NullString{String: e.caseID, Valid: true}, sql.NullString{String: string(e.status), Valid: true}
	} else {
		err = tx.QueryRowContext(ctx, `SELECT t.id, t.contact_id, t.pending_prompt IS NOT NULL, c.id, c.status FROM threads t
			LEFT JOIN cases c ON c.thread_id = t.id AND c.status <> 'closed'
			WHERE t.point_of_contact_id = ? AND t.external_id = ?`, poc.ID, ev.ThreadID).Scan(&res.ThreadID, &res.ContactID, &hasPrompt, &caseID, &caseStatus)
	}
	hot := err == nil && caseID.Valid
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if ev.OptOut != nil {
		if err := s.recordOptOut(ctx, tx, poc, ev.AuthorID, *ev.OptOut, now); err != nil {
			return err
		}
	}
	if ev.Automated {
		// A bounce or an auto-reply never opens or reopens a case; it is
		// kept on the case it belongs to, if any.
		if !hot {
			return nil
		}
		return s.ingestAutomated(ctx, tx, poc, ev, res, caseID.String, now)
	}
	if !hot {
		// A thread or case is about to be created: make sure this is not a
		// platform retry first, so a retry never creates anything.
		if dup, err := s.findDuplicate(ctx, tx, poc, ev, res); dup || err != nil {
			return err
		}
		if errors.Is(err, sql.ErrNoRows) || res.ThreadID == "" {
			if err := s.createThread(ctx, tx, poc, ev, now, res); err != nil {
				return err
			}
		}
	}

	// The message. On the hot path the unique index on the platform id is
	// the dedupe check: a retry inserts nothing and changes nothing.
	if !caseID.Valid {
		c := &Case{ID: store.NewID(), ThreadID: res.ThreadID, PointOfContactID: poc.ID, ChannelType: poc.Type, ContactID: res.ContactID,
			Status: StatusNew, SkillID: poc.DefaultSkillID, Subject: subjectOf(ev), CreatedAt: now, UpdatedAt: now, LastMessageAt: now, LastInboundAt: &now,
			workspaceID: poc.WorkspaceID}
		// routing_state 'pending': the case waits for its default script
		// and routing, durably (see Service.flow).
		if _, err := tx.ExecContext(ctx, `INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, skill_id, subject,
			created_at, updated_at, last_message_at, last_inbound_at, routing_state) VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, 'pending')`,
			c.ID, poc.WorkspaceID, c.ThreadID, poc.ID, poc.Type, c.ContactID, c.SkillID, c.Subject, nowUS, nowUS, nowUS, nowUS); err != nil {
			return err
		}
		res.CaseID = c.ID
		events = append(events, event(realtime.TypeCaseCreated, poc.WorkspaceID, poc.ID, c.ID, caseSummary(c), now))
	} else {
		res.CaseID = caseID.String
	}
	// An answer to the thread's pending rich prompt becomes a structured
	// choice (RICH_CONTENT.md); the customer's words stay the message.
	var outcome *ReplyOutcome
	if hasPrompt && s.content != nil {
		var prompt sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT pending_prompt FROM threads WHERE id = ?`, res.ThreadID).Scan(&prompt); err != nil {
			return err
		}
		if prompt.Valid {
			o, err := s.content.Resolve(json.RawMessage(prompt.String), ev.Text, ev.ChoiceID, now)
			if err != nil {
				return err
			}
			outcome = &o
		}
	}
	text := ev.Text
	if ev.Reaction != "" && text == "" {
		text = ev.Reaction
	}
	m := &Message{ID: store.NewID(), CaseID: res.CaseID, ThreadID: res.ThreadID, PointOfContactID: poc.ID, Direction: Inbound,
		Author: Author{Type: "contact", ID: res.ContactID}, Text: text, Reaction: ev.Reaction, ReplyToPlatformID: emptyNil(ev.ReplyToPlatformID), Content: ev.Content, Status: MsgReceived, CreatedAt: now,
		PlatformMessageID: &ev.PlatformMessageID, workspaceID: poc.WorkspaceID, Attachments: []Attachment{}, HTML: ev.HTML, Visibility: VisibilityPrivate}
	if ev.Public {
		m.Visibility = VisibilityPublic
	}
	var platformSent sql.NullInt64
	if !ev.SentAt.IsZero() {
		t := ev.SentAt.UTC()
		m.PlatformSentAt = &t
		platformSent = sql.NullInt64{Int64: store.Micros(t), Valid: true}
	}
	if outcome != nil {
		m.Choice = outcome.Choice
	}
	ins, err := tx.ExecContext(ctx, `INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, author_id, text, content,
		choice, reply_to_platform_id, reaction, html, platform_message_id, status, platform_sent_at, visibility, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'inbound', 'contact', ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)
		ON CONFLICT (point_of_contact_id, direction, platform_message_id) DO NOTHING`,
		m.ID, poc.WorkspaceID, m.CaseID, m.ThreadID, poc.ID, res.ContactID, m.Text, nullJSON(m.Content), nullJSON(m.Choice), m.ReplyToPlatformID, m.Reaction,
		emptyNil(ev.HTML), ev.PlatformMessageID, platformSent, m.Visibility, nowUS, nowUS)
	if err != nil {
		return err
	}
	if n, _ := ins.RowsAffected(); n == 0 {
		// Only reachable on the hot path (the cold path checked first),
		// where nothing was written before the insert.
		_, err := s.findDuplicate(ctx, tx, poc, ev, res)
		return err
	}
	for _, f := range it.Files {
		a, err := insertAttachment(ctx, tx, poc.WorkspaceID, m.ID, f, now)
		if err != nil {
			return err
		}
		m.Attachments = append(m.Attachments, a)
	}
	res.MessageID = m.ID

	// The case: an inbound message reopens a pending or resolved case.
	from := Status(caseStatus.String)
	if caseID.Valid && (from == StatusPending || from == StatusResolved) {
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET status = 'open', updated_at = ?, last_message_at = ?, last_inbound_at = ?, resolved_at = NULL WHERE id = ?`,
			nowUS, nowUS, nowUS, res.CaseID); err != nil {
			return err
		}
		events = append(events, event(realtime.TypeCaseUpdated, poc.WorkspaceID, poc.ID, res.CaseID,
			map[string]any{"id": res.CaseID, "status": StatusOpen, "previous_status": from, "reason": "inbound_message"}, now))
		if err := recordStatusChange(ctx, tx, poc.WorkspaceID, "system", "", res.CaseID, from, StatusOpen, "inbound message", now); err != nil {
			return err
		}
	} else if caseID.Valid {
		// Conversation activity only: updated_at (indexed) tracks changes
		// to the case itself, so a message does not move an index entry —
		// measured as a fifth of the ingest cost on SQLite.
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET last_message_at = ?, last_inbound_at = ? WHERE id = ?`,
			nowUS, nowUS, res.CaseID); err != nil {
			return err
		}
	}
	events = append(events, event(realtime.TypeMessageCreated, poc.WorkspaceID, poc.ID, m.CaseID, m, now))
	if outcome != nil {
		if hasPrompt, err = s.applyReplyOutcome(ctx, tx, poc, res, outcome, now, &events); err != nil {
			return err
		}
	}
	s.publish(tx, events...)
	if s.flow != nil {
		n := FlowNotice{WorkspaceID: poc.WorkspaceID, PointOfContactID: poc.ID, CaseID: res.CaseID, MessageID: m.ID,
			NewCase: !caseID.Valid, Reopened: caseID.Valid && (from == StatusPending || from == StatusResolved)}
		tx.AfterCommit(func() { s.flow.Inbound(n) })
	}
	status := from
	if !caseID.Valid {
		status = StatusNew
	} else if from == StatusPending || from == StatusResolved {
		status = StatusOpen
	}
	tc.learn(key, threadEntry{threadID: res.ThreadID, contactID: res.ContactID, caseID: res.CaseID, status: status, hasPrompt: hasPrompt})
	return nil
}

// applyReplyOutcome updates the thread's pending prompt after an answer and
// sends what the engine asks to send back (the tied options of an ambiguous
// answer, the next question of a form) as a bot message. It reports whether
// the thread still has a pending prompt.
func (s *Service) applyReplyOutcome(ctx context.Context, tx *store.Tx, poc *channel.PointOfContact, res *channel.IngestResult, o *ReplyOutcome, now time.Time, events *[]pendingEvent) (bool, error) {
	pending := !o.ClearPrompt
	var prompt sql.NullString
	if !o.ClearPrompt && len(o.Prompt) > 0 {
		prompt = sql.NullString{String: string(o.Prompt), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE threads SET pending_prompt = ? WHERE id = ?`, prompt, res.ThreadID); err != nil {
		return false, err
	}
	if !prompt.Valid {
		pending = false
	}
	if len(o.AskAgain) > 0 {
		c := &Case{ID: res.CaseID, ThreadID: res.ThreadID, PointOfContactID: poc.ID, ChannelType: poc.Type, workspaceID: poc.WorkspaceID}
		m, err := s.insertOutbound(ctx, tx, c, Author{Type: "bot"}, "", NewMessage{Content: o.AskAgain}, now)
		if err != nil {
			return false, err
		}
		*events = append(*events, event(realtime.TypeMessageCreated, poc.WorkspaceID, poc.ID, c.ID, m, now))
		pending = true
	}
	return pending, nil
}

// findDuplicate looks up an inbound message by its platform id; when found
// it fills res with the first delivery's ids and marks it Duplicate.
func (s *Service) findDuplicate(ctx context.Context, tx *store.Tx, poc *channel.PointOfContact, ev *channel.InboundEvent, res *channel.IngestResult) (bool, error) {
	var r channel.IngestResult
	err := tx.QueryRowContext(ctx, `SELECT m.id, m.case_id, m.thread_id, t.contact_id FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE m.point_of_contact_id = ? AND m.direction = 'inbound' AND m.platform_message_id = ?`, poc.ID, ev.PlatformMessageID).
		Scan(&r.MessageID, &r.CaseID, &r.ThreadID, &r.ContactID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res.MessageID, res.CaseID, res.ThreadID, res.ContactID, res.Duplicate = r.MessageID, r.CaseID, r.ThreadID, r.ContactID, true
	return true, nil
}

func (s *Service) createThread(ctx context.Context, tx *store.Tx, poc *channel.PointOfContact, ev *channel.InboundEvent, now time.Time, res *channel.IngestResult) error {
	nowUS := store.Micros(now)
	// The contact: found by this point of contact's address for the author,
	// or created with its identity.
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(c.merged_into, c.id) FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
		WHERE i.point_of_contact_id = ? AND i.address = ?`, poc.ID, ev.AuthorID).Scan(&res.ContactID)
	if errors.Is(err, sql.ErrNoRows) {
		res.ContactID = store.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			res.ContactID, poc.WorkspaceID, ev.AuthorName, nowUS, nowUS); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_identities (id, workspace_id, contact_id, point_of_contact_id, channel_type, address, display_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, store.NewID(), poc.WorkspaceID, res.ContactID, poc.ID, poc.Type, ev.AuthorID, ev.AuthorName, nowUS); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	res.ThreadID = store.NewID()
	_, err = tx.ExecContext(ctx, `INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		res.ThreadID, poc.WorkspaceID, poc.ID, res.ContactID, ev.ThreadID, ev.ThreadName, nowUS)
	return err
}

func subjectOf(ev *channel.InboundEvent) string {
	if ev.Subject != "" {
		return truncate(ev.Subject, 200)
	}
	if ev.ThreadName != "" {
		return truncate(ev.ThreadName, 200)
	}
	return truncate(strings.Join(strings.Fields(ev.Text), " "), 120)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func nullJSON(b []byte) sql.NullString {
	if len(b) == 0 || string(b) == "null" {
		return sql.NullString{}
	}
	return sql.NullString{String: string(b), Valid: true}
}

func insertAttachment(ctx context.Context, tx *store.Tx, workspaceID, messageID string, f File, now time.Time) (Attachment, error) {
	a := Attachment{ID: store.NewID(), Name: f.Name, MimeType: f.MimeType, Size: f.Size, SHA256: f.SHA256, BlobKey: f.BlobKey}
	_, err := tx.ExecContext(ctx, `INSERT INTO attachments (id, workspace_id, message_id, name, mime_type, size, sha256, blob_key, source_url, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, workspaceID, messageID, a.Name, a.MimeType, a.Size, a.SHA256, a.BlobKey, f.SourceURL, store.Micros(now))
	return a, err
}

// statusRank orders outbound delivery statuses: receipts never move a
// message backwards (a late "delivered" after "read" changes nothing).
var statusRank = map[string]int{MsgPending: 0, MsgSent: 1, MsgDelivered: 2, MsgRead: 3}

func (s *Service) applyReceipt(ctx context.Context, tx *store.Tx, poc *channel.PointOfContact, ev *channel.InboundEvent, res *channel.IngestResult) error {
	if !ev.Watermark.IsZero() {
		return s.applyWatermark(ctx, tx, poc, ev, res)
	}
	var id, caseID, status string
	err := tx.QueryRowContext(ctx, `SELECT id, case_id, status FROM messages WHERE point_of_contact_id = ? AND direction = 'outbound' AND (id = ? OR platform_message_id = ?)`,
		poc.ID, ev.StatusMessageID, ev.StatusMessageID).Scan(&id, &caseID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownMessage
	}
	if err != nil {
		return err
	}
	res.MessageID, res.CaseID, res.Status = id, caseID, status
	now := s.now().UTC()
	nowUS := store.Micros(now)
	var q string
	args := []any{}
	switch ev.Status {
	case MsgDelivered, MsgRead:
		if status == MsgFailed || statusRank[ev.Status] <= statusRank[status] {
			return nil
		}
		col := "delivered_at"
		if ev.Status == MsgRead {
			col = "read_at"
		}
		q = `UPDATE messages SET status = ?, ` + col + ` = ?, updated_at = ? WHERE id = ?`
		args = append(args, ev.Status, nowUS, nowUS, id)
	case MsgFailed:
		if status == MsgFailed || status == MsgRead {
			return nil
		}
		q = `UPDATE messages SET status = 'failed', status_reason = ?, failed_at = ?, updated_at = ? WHERE id = ?`
		args = append(args, truncate(ev.Reason, 1000), nowUS, nowUS, id)
	default:
		return fmt.Errorf("inbox: unknown receipt status %q", ev.Status)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return err
	}
	res.Status = ev.Status
	s.publish(tx, event(realtime.TypeMessageStatus, poc.WorkspaceID, poc.ID, caseID,
		map[string]any{"id": id, "case_id": caseID, "status": ev.Status, "reason": ev.Reason}, now))
	return nil
}

// applyWatermark applies a receipt to every outbound message of a thread
// created before the watermark (Messenger: "everything before this time
// was delivered/read"), never moving a message backwards.
func (s *Service) applyWatermark(ctx context.Context, tx *store.Tx, poc *channel.PointOfContact, ev *channel.InboundEvent, res *channel.IngestResult) error {
	if ev.Status != MsgDelivered && ev.Status != MsgRead {
		return fmt.Errorf("inbox: watermark receipts are delivered or read, not %q", ev.Status)
	}
	var threadID string
	err := tx.QueryRowContext(ctx, `SELECT id FROM threads WHERE point_of_contact_id = ? AND external_id = ?`, poc.ID, ev.ThreadID).Scan(&threadID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownMessage
	}
	if err != nil {
		return err
	}
	lower := []any{MsgPending, MsgSent}
	col := "delivered_at"
	if ev.Status == MsgRead {
		lower = append(lower, MsgDelivered)
		col = "read_at"
	}
	now := s.now().UTC()
	rows, err := tx.QueryContext(ctx, `SELECT id, case_id FROM messages WHERE thread_id = ? AND direction = 'outbound' AND platform_message_id IS NOT NULL
		AND created_at <= ? AND status IN (`+placeholders(len(lower))+`)`, append([]any{threadID, store.Micros(ev.Watermark)}, lower...)...)
	if err != nil {
		return err
	}
	type hit struct{ id, caseID string }
	var hits []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.caseID); err != nil {
			rows.Close()
			return err
		}
		hits = append(hits, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var events []pendingEvent
	for _, h := range hits {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, `+col+` = ?, updated_at = ? WHERE id = ?`, ev.Status, store.Micros(now), store.Micros(now), h.id); err != nil {
			return err
		}
		events = append(events, event(realtime.TypeMessageStatus, poc.WorkspaceID, poc.ID, h.caseID, map[string]any{"id": h.id, "case_id": h.caseID, "status": ev.Status}, now))
		res.MessageID, res.CaseID = h.id, h.caseID
	}
	res.Status = ev.Status
	s.publish(tx, events...)
	return nil
}

func (s *Service) recordOptOut(ctx context.Context, tx *store.Tx, poc *channel.PointOfContact, address string, out bool, now time.Time) error {
	if !out {
		_, err := tx.ExecContext(ctx, `DELETE FROM contact_optouts WHERE point_of_contact_id = ? AND address = ?`, poc.ID, address)
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO contact_optouts (workspace_id, point_of_contact_id, address, opted_out_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (point_of_contact_id, address) DO NOTHING`, poc.WorkspaceID, poc.ID, address, store.Micros(now))
	return err
}

// ingestAutomated stores a bounce or auto-reply on its case, changing
// nothing about the case.
func (s *Service) ingestAutomated(ctx context.Context, tx *store.Tx, poc *channel.PointOfContact, ev *channel.InboundEvent, res *channel.IngestResult, caseID string, now time.Time) error {
	nowUS := store.Micros(now)
	id := store.NewID()
	ins, err := tx.ExecContext(ctx, `INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, author_id, text, html,
		automated, platform_message_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'inbound', 'system', '', ?, ?, ?, ?, 'received', ?, ?)
		ON CONFLICT (point_of_contact_id, direction, platform_message_id) DO NOTHING`,
		id, poc.WorkspaceID, caseID, res.ThreadID, poc.ID, ev.Text, emptyNil(ev.HTML), true, ev.PlatformMessageID, nowUS, nowUS)
	if err != nil {
		return err
	}
	if n, _ := ins.RowsAffected(); n == 0 {
		_, err := s.findDuplicate(ctx, tx, poc, ev, res)
		return err
	}
	res.MessageID, res.CaseID = id, caseID
	return nil
}

// ThreadByMessageIDs implements channel.ThreadResolver.
func (s *Service) ThreadByMessageIDs(ctx context.Context, pocID string, ids []string) (string, bool, error) {
	if len(ids) == 0 {
		return "", false, nil
	}
	if len(ids) > 100 {
		ids = ids[len(ids)-100:]
	}
	args := []any{pocID}
	for _, id := range ids {
		args = append(args, id)
	}
	var ext string
	err := s.db.QueryRowContext(ctx, `SELECT t.external_id FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE m.point_of_contact_id = ? AND m.platform_message_id IN (`+placeholders(len(ids))+`) ORDER BY m.created_at DESC LIMIT 1`, args...).Scan(&ext)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return ext, err == nil, err
}

// ThreadBySubject implements channel.ThreadResolver: the latest thread of
// this author whose case has the same normalised subject.
func (s *Service) ThreadBySubject(ctx context.Context, pocID, authorID, subject string, since time.Time) (string, bool, error) {
	want := NormaliseSubject(subject)
	if want == "" {
		return "", false, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT t.external_id, c.subject FROM threads t
		JOIN contact_identities i ON i.contact_id = t.contact_id AND i.point_of_contact_id = t.point_of_contact_id
		JOIN cases c ON c.thread_id = t.id
		WHERE t.point_of_contact_id = ? AND i.address = ? AND c.last_message_at >= ? ORDER BY c.last_message_at DESC LIMIT 50`,
		pocID, authorID, store.Micros(since))
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	for rows.Next() {
		var ext, subj string
		if err := rows.Scan(&ext, &subj); err != nil {
			return "", false, err
		}
		if NormaliseSubject(subj) == want {
			return ext, true, nil
		}
	}
	return "", false, rows.Err()
}

var subjectPrefix = regexp.MustCompile(`(?i)^\s*((re|fw|fwd|tr|aw|sv|antw|wg|rif|r|vs)\s*(\[\d+\])?\s*:\s*|\[[^\]]{1,40}\]\s*)`)

// NormaliseSubject strips reply/forward prefixes and [tags], folds spaces
// and case: "Re: [Ticket 12] FW: Order late" → "order late".
func NormaliseSubject(s string) string {
	for {
		t := subjectPrefix.ReplaceAllString(s, "")
		if t == s {
			break
		}
		s = t
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
