package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/store"
)

// scriptRunner runs a point of contact's default script for a customer
// message and applies its actions through the inbox and the router, as the
// system. A script that fails (syntax, step or time limit, a bad argument)
// applies nothing: the failure is written to the case's history and the
// case keeps its point of contact's default skill.
type scriptRunner struct {
	db      *store.DB
	scripts *script.Store
	engine  *script.Engine
	inbox   *inbox.Service
	router  *routing.Router
	log     *slog.Logger
	now     func() time.Time
}

func (s *scriptRunner) Run(ctx context.Context, poc *channel.PointOfContact, n inbox.FlowNotice) scriptOutcome {
	prog, version, err := s.scripts.Program(ctx, poc.WorkspaceID, poc.DefaultScript)
	if err != nil {
		s.failed(ctx, poc, n, 0, fmt.Errorf("loading script %s: %w", poc.DefaultScript, err))
		return scriptOutcome{}
	}
	in, err := s.input(ctx, poc, n)
	if err != nil {
		s.log.Warn("script input", "case", n.CaseID, "err", err)
		return scriptOutcome{}
	}
	res := s.engine.Run(context.WithValue(ctx, pocKey{}, poc), prog, in)
	if res.Err != nil {
		s.failed(ctx, poc, n, version, res.Err)
		return scriptOutcome{}
	}
	return s.apply(ctx, poc, n, version, res)
}

// failed records a script failure on the case (its history).
func (s *scriptRunner) failed(ctx context.Context, poc *channel.PointOfContact, n inbox.FlowNotice, version int, err error) {
	s.log.Warn("default script failed; the case keeps its default skill", "point_of_contact", poc.ID, "case", n.CaseID, "err", err)
	_ = s.db.InTx(ctx, func(tx *store.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: poc.WorkspaceID, ActorType: "system", Action: "script.failed", EntityType: "case", EntityID: n.CaseID,
			Details: map[string]any{"script_id": poc.DefaultScript, "version": version, "error": err.Error()}, At: s.now()})
	})
}

// input reads what the script sees.
func (s *scriptRunner) input(ctx context.Context, poc *channel.PointOfContact, n inbox.FlowNotice) (script.Input, error) {
	in := script.Input{Event: script.EventMessage, Now: s.now(), Channel: script.Channel{Type: poc.Type, PointOfContactID: poc.ID, Name: poc.Name}}
	if n.NewCase {
		in.Event = script.EventCaseCreated
	}
	if raw, ok := poc.Settings["business_hours"]; ok && raw != nil {
		if b, err := json.Marshal(raw); err == nil {
			if sch, err := parseSchedule(b); err == nil {
				cal := sch.Calendar()
				in.Calendar = cal
				in.Hours = &sch
			}
		}
	}
	var skill, assignee, contactID, caseFields sql.NullString
	c := &in.Case
	err := s.db.QueryRowContext(ctx, `SELECT c.status, c.subject, c.priority, c.custom_fields, c.contact_id, s.name, u.email
		FROM cases c LEFT JOIN skills s ON s.id = c.skill_id LEFT JOIN users u ON u.id = c.assignee_id
		WHERE c.id = ? AND c.workspace_id = ?`, n.CaseID, poc.WorkspaceID).Scan(&c.Status, &c.Subject, &c.Priority, &caseFields, &contactID, &skill, &assignee)
	if err != nil {
		return in, err
	}
	c.ID, c.Skill, c.Assignee, c.New = n.CaseID, skill.String, assignee.String, n.NewCase
	_ = json.Unmarshal([]byte(caseFields.String), &c.Fields)
	c.Tags = []string{}
	rows, err := s.db.QueryContext(ctx, `SELECT tag FROM case_tags WHERE case_id = ? ORDER BY tag`, n.CaseID)
	if err != nil {
		return in, err
	}
	for rows.Next() {
		var t string
		if rows.Scan(&t) == nil {
			c.Tags = append(c.Tags, t)
		}
	}
	rows.Close()
	k := &in.Contact
	var contactFields string
	if err := s.db.QueryRowContext(ctx, `SELECT id, name, email, phone, custom_fields FROM contacts WHERE id = ?`, contactID.String).Scan(&k.ID, &k.Name, &k.Email, &k.Phone, &contactFields); err != nil {
		return in, err
	}
	_ = json.Unmarshal([]byte(contactFields), &k.Fields)
	rows, err = s.db.QueryContext(ctx, `SELECT channel_type, address FROM contact_identities WHERE workspace_id = ? AND contact_id = ? ORDER BY created_at`, poc.WorkspaceID, k.ID)
	if err != nil {
		return in, err
	}
	for rows.Next() {
		var id script.Identity
		if rows.Scan(&id.Channel, &id.Address) == nil {
			k.Identities = append(k.Identities, id)
		}
	}
	rows.Close()
	if n.MessageID != "" {
		m := &script.Message{ID: n.MessageID, ContentType: "text"}
		var contentRaw, choiceRaw sql.NullString
		if err := s.db.QueryRowContext(ctx, `SELECT text, content, choice, (SELECT COUNT(*) FROM attachments a WHERE a.message_id = m.id) FROM messages m WHERE m.id = ?`, n.MessageID).
			Scan(&m.Text, &contentRaw, &choiceRaw, &m.Attachments); err != nil {
			return in, err
		}
		if contentRaw.Valid {
			var ct struct{ Type string }
			if json.Unmarshal([]byte(contentRaw.String), &ct) == nil && ct.Type != "" {
				m.ContentType = ct.Type
			}
		}
		if choiceRaw.Valid {
			var ch struct {
				OptionIDs []string `json:"option_ids"`
			}
			if json.Unmarshal([]byte(choiceRaw.String), &ch) == nil {
				m.ChoiceOptionIDs = ch.OptionIDs
			}
		}
		in.Message = m
	}
	return in, nil
}

// apply carries out the script's actions in order. An action that cannot
// be applied (an unknown skill, an illegal status change) is written to
// the case's history; the others still apply.
func (s *scriptRunner) apply(ctx context.Context, poc *channel.PointOfContact, n inbox.FlowNotice, version int, res script.Result) scriptOutcome {
	sys := inbox.System(poc.WorkspaceID, "script")
	var out scriptOutcome
	var problems []string
	note := func(a script.Action, err error) {
		if err != nil {
			problems = append(problems, a.Type+": "+err.Error())
		}
	}
	for _, a := range res.Actions {
		switch a.Type {
		case script.ActionSetSkill:
			var id string
			err := s.db.QueryRowContext(ctx, `SELECT id FROM skills WHERE workspace_id = ? AND name = ?`, poc.WorkspaceID, a.Skill).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				err = fmt.Errorf("no skill named %q", a.Skill)
			}
			if err == nil {
				_, err = s.inbox.UpdateCase(ctx, sys, n.CaseID, inbox.CasePatch{SkillID: &id})
			}
			note(a, err)
		case script.ActionSetPriority:
			p := a.Priority
			_, err := s.inbox.UpdateCase(ctx, sys, n.CaseID, inbox.CasePatch{Priority: &p})
			note(a, err)
		case script.ActionAddTag:
			_, err := s.inbox.SetTags(ctx, sys, n.CaseID, []string{a.Tag}, nil)
			note(a, err)
		case script.ActionRemoveTag:
			_, err := s.inbox.SetTags(ctx, sys, n.CaseID, nil, []string{a.Tag})
			note(a, err)
		case script.ActionSetField:
			b, err := json.Marshal(map[string]any{a.Field: a.Value})
			if err == nil {
				raw := json.RawMessage(b)
				_, err = s.inbox.UpdateCase(ctx, sys, n.CaseID, inbox.CasePatch{CustomFields: &raw})
			}
			note(a, err)
		case script.ActionReply:
			_, err := s.inbox.Reply(ctx, sys, n.CaseID, inbox.NewMessage{Text: a.Text, Content: a.Content})
			note(a, err)
		case script.ActionSetStatus:
			st := inbox.Status(a.Status)
			_, err := s.inbox.UpdateCase(ctx, sys, n.CaseID, inbox.CasePatch{Status: &st})
			note(a, err)
			if st != inbox.StatusOpen && st != inbox.StatusNew && st != inbox.StatusEscalated {
				out.NoQueue = true
			}
		case script.ActionRouteToAgent:
			var id string
			err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE workspace_id = ? AND (email = ? OR id = ?) AND NOT disabled`, poc.WorkspaceID, strings.ToLower(a.Agent), a.Agent).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				err = fmt.Errorf("no agent %q", a.Agent)
			}
			if err == nil {
				err = s.router.Transfer(ctx, poc.WorkspaceID, "", n.CaseID, "", id)
			}
			if err == nil {
				out.NoQueue = true
			}
			note(a, err) // without room the case goes to its queue
		case script.ActionHandToBot:
			out.NoQueue = true // the bot has the conversation
		case script.ActionHandBack:
			out.NoQueue = false
		case script.ActionStop:
			out.NoQueue = true
			note(a, s.stop(ctx, sys, n.CaseID, a.Stop))
		}
	}
	if len(problems) > 0 || len(res.Logs) > 0 {
		_ = s.db.InTx(ctx, func(tx *store.Tx) error {
			return audit.Record(ctx, tx, audit.Entry{WorkspaceID: poc.WorkspaceID, ActorType: "system", Action: "script.ran", EntityType: "case", EntityID: n.CaseID,
				Details: map[string]any{"script_id": poc.DefaultScript, "version": version, "problems": problems, "logs": res.Logs, "steps": res.Steps}, At: s.now()})
		})
	}
	return out
}

// stop closes (through resolved, as the status rules require) or trashes
// the case.
func (s *scriptRunner) stop(ctx context.Context, sys *account.User, caseID, how string) error {
	if how == "trash" {
		st := inbox.StatusTrashed
		_, err := s.inbox.UpdateCase(ctx, sys, caseID, inbox.CasePatch{Status: &st})
		return err
	}
	for _, st := range []inbox.Status{inbox.StatusResolved, inbox.StatusClosed} {
		st := st
		if _, err := s.inbox.UpdateCase(ctx, sys, caseID, inbox.CasePatch{Status: &st}); err != nil {
			return err
		}
	}
	return nil
}

// pocKey carries the point of contact whose script runs, for the bot
// directory.
type pocKey struct{}

// botDirectory finds a bot named by a script among the point of contact's
// settings: "bots": {"billing-bot": "https://bots.example/billing"}; the
// requests are signed with its "bot_secret" credential (encrypted at rest).
func botDirectory(ctx context.Context, bot string) (string, string, error) {
	poc, _ := ctx.Value(pocKey{}).(*channel.PointOfContact)
	if poc == nil {
		return "", "", errors.New("no point of contact")
	}
	bots, _ := poc.Settings["bots"].(map[string]any)
	url, _ := bots[bot].(string)
	if url == "" {
		return "", "", fmt.Errorf("no bot %q in the point of contact's settings (settings.bots)", bot)
	}
	return url, poc.Credential("bot_secret"), nil
}
