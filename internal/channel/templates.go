package channel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

// Templates stores the message templates synchronised from platforms.
type Templates struct {
	db       *store.DB
	registry *Registry
	now      func() time.Time
}

// NewTemplates makes the store.
func NewTemplates(db *store.DB, registry *Registry, now func() time.Time) *Templates {
	return &Templates{db: db, registry: registry, now: now}
}

// StoredTemplate is a template as Parley keeps it.
type StoredTemplate struct {
	ID               string    `json:"id"`
	PointOfContactID string    `json:"point_of_contact_id"`
	SyncedAt         time.Time `json:"synced_at"`
	Template
}

// Sync fetches the point of contact's templates from the platform and
// replaces the stored set (templates gone from the platform are removed).
func (ts *Templates) Sync(ctx context.Context, actorID string, poc *PointOfContact) ([]StoredTemplate, error) {
	adapter, _ := ts.registry.Get(poc.Type)
	syncer, ok := adapter.(TemplateSyncer)
	if !ok {
		return nil, ErrUnsupported
	}
	list, err := syncer.SyncTemplates(ctx, poc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPlatform, err)
	}
	now := ts.now().UTC()
	err = ts.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM templates WHERE workspace_id = ? AND point_of_contact_id = ?`, poc.WorkspaceID, poc.ID); err != nil {
			return err
		}
		for _, t := range list {
			components := t.Components
			if len(components) == 0 {
				components = json.RawMessage("[]")
			}
			params, _ := json.Marshal(t.Parameters)
			if t.Parameters == nil {
				params = []byte("[]")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO templates (id, workspace_id, point_of_contact_id, name, language, category, status, components, parameters, synced_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (point_of_contact_id, name, language) DO NOTHING`,
				store.NewID(), poc.WorkspaceID, poc.ID, t.Name, t.Language, t.Category, strings.ToLower(t.Status), string(components), string(params), store.Micros(now)); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: poc.WorkspaceID, ActorType: "user", ActorID: actorID, Action: "templates.synced",
			EntityType: "point_of_contact", EntityID: poc.ID, Details: map[string]any{"count": len(list)}, At: now})
	})
	if err != nil {
		return nil, err
	}
	return ts.List(ctx, poc.WorkspaceID, poc.ID)
}

// ErrPlatform wraps a failure reported by the platform.
var ErrPlatform = errors.New("channel: the platform refused or could not be reached")

const templateColumns = `id, point_of_contact_id, name, language, category, status, components, parameters, synced_at`

func scanTemplate(row interface{ Scan(...any) error }) (StoredTemplate, error) {
	var t StoredTemplate
	var components, params string
	var synced int64
	err := row.Scan(&t.ID, &t.PointOfContactID, &t.Name, &t.Language, &t.Category, &t.Status, &components, &params, &synced)
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.Components = json.RawMessage(components)
	_ = json.Unmarshal([]byte(params), &t.Parameters)
	if t.Parameters == nil {
		t.Parameters = []TemplateParameter{}
	}
	t.SyncedAt = store.Time(synced)
	return t, nil
}

// List lists a point of contact's templates.
func (ts *Templates) List(ctx context.Context, workspaceID, pocID string) ([]StoredTemplate, error) {
	rows, err := ts.db.QueryContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE workspace_id = ? AND point_of_contact_id = ? ORDER BY name, language`, workspaceID, pocID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []StoredTemplate{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Get reads one template by name and language.
func (ts *Templates) Get(ctx context.Context, q store.Querier, workspaceID, pocID, name, language string) (StoredTemplate, error) {
	return scanTemplate(q.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE workspace_id = ? AND point_of_contact_id = ? AND name = ? AND language = ?`,
		workspaceID, pocID, name, language))
}

var templateVar = regexp.MustCompile(`\{\{\s*(\d+)\s*\}\}`)

// Validate checks parameter values against a template: it must be
// approved, and the values must match its variables in count and type. It
// returns the template's body text with the values filled in (the
// transcript's version of the message).
func (t StoredTemplate) Validate(values []string) (string, error) {
	if t.Status != "approved" {
		return "", &ValidationError{"template", fmt.Sprintf("template %s (%s) is %s, not approved", t.Name, t.Language, t.Status)}
	}
	if len(values) != len(t.Parameters) {
		return "", &ValidationError{"template.parameters", fmt.Sprintf("template %s takes %d parameters, got %d", t.Name, len(t.Parameters), len(values))}
	}
	for i, p := range t.Parameters {
		v := values[i]
		switch p.Type {
		case "text", "":
			if strings.TrimSpace(v) == "" || len(v) > 1024 || strings.ContainsAny(v, "\n\t") && p.Component != "body" {
				return "", &ValidationError{fmt.Sprintf("template.parameters[%d]", i), "non-empty text, at most 1024 characters"}
			}
		case "image", "document", "video":
			if !strings.HasPrefix(v, "https://") {
				return "", &ValidationError{fmt.Sprintf("template.parameters[%d]", i), "an https link to the " + p.Type}
			}
		case "currency", "date_time":
			if strings.TrimSpace(v) == "" {
				return "", &ValidationError{fmt.Sprintf("template.parameters[%d]", i), "required"}
			}
		}
	}
	filled := t.FilledBody(values)
	if filled == "" {
		filled = "[template " + t.Name + "]"
	}
	return filled, nil
}

// FilledBody is the template's body text with the body parameters filled
// in; a missing or blank value leaves its {{n}} in place (a preview shows
// what is still to fill).
func (t StoredTemplate) FilledBody(values []string) string {
	var comps []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(t.Components, &comps)
	body := ""
	for _, c := range comps {
		if strings.EqualFold(c.Type, "body") {
			body = c.Text
		}
	}
	var bodyValues []string
	for i, p := range t.Parameters {
		if p.Component == "body" {
			v := ""
			if i < len(values) {
				v = values[i]
			}
			bodyValues = append(bodyValues, v)
		}
	}
	return templateVar.ReplaceAllStringFunc(body, func(m string) string {
		n, _ := strconv.Atoi(templateVar.FindStringSubmatch(m)[1])
		if n >= 1 && n <= len(bodyValues) && strings.TrimSpace(bodyValues[n-1]) != "" {
			return bodyValues[n-1]
		}
		return m
	})
}

// WindowView is what an agent sees before typing: until when they may
// reply freely, and what they may send after.
type WindowView struct {
	// State now: open (anything), human_agent (human agents only, tagged),
	// templates_only (approved templates only), closed (nothing).
	State           string     `json:"state"`
	FreeUntil       *time.Time `json:"free_until,omitempty"`
	HumanAgentUntil *time.Time `json:"human_agent_until,omitempty"`
	// Then is the state after the current one ends ("" if it never does).
	Then string `json:"then,omitempty"`
}

// ViewWindow computes the window of a channel type for a contact whose last
// message was at lastInbound (nil: never wrote), at time now. It returns
// nil for channels with no window.
func (r *Registry) ViewWindow(channelType string, lastInbound *time.Time, now time.Time) *WindowView {
	a, ok := r.Get(channelType)
	if !ok {
		return nil
	}
	wp, ok := a.(WindowPolicy)
	if !ok {
		return nil
	}
	proactive := ProactiveAllowed
	if pp, ok := a.(ProactivePolicy); ok {
		proactive = pp.Proactive()
	}
	if lastInbound == nil {
		w := wp.Window(time.Time{})
		if w.TemplatesAfter || proactive == ProactiveTemplatesOnly {
			return &WindowView{State: "templates_only"}
		}
		return &WindowView{State: "closed"}
	}
	w := wp.Window(*lastInbound)
	v := &WindowView{}
	if !w.FreeUntil.IsZero() {
		t := w.FreeUntil.UTC()
		v.FreeUntil = &t
	}
	if !w.HumanAgentUntil.IsZero() {
		t := w.HumanAgentUntil.UTC()
		v.HumanAgentUntil = &t
	}
	after := "closed"
	if w.TemplatesAfter {
		after = "templates_only"
	}
	switch {
	case w.FreeUntil.IsZero() || !now.After(w.FreeUntil):
		v.State = "open"
		v.Then = after
		if !w.HumanAgentUntil.IsZero() {
			v.Then = "human_agent"
		}
		if w.FreeUntil.IsZero() {
			v.Then = ""
		}
	case !w.HumanAgentUntil.IsZero() && !now.After(w.HumanAgentUntil):
		v.State = "human_agent"
		v.Then = after
	default:
		v.State = after
	}
	return v
}

// Proactive tells what a channel type allows for business-initiated
// conversations.
func (r *Registry) Proactive(channelType string) Proactive {
	a, ok := r.Get(channelType)
	if !ok {
		return ProactiveNever
	}
	if pp, ok := a.(ProactivePolicy); ok {
		return pp.Proactive()
	}
	return ProactiveAllowed
}

// MaxAttachments tells the most files one outbound message may carry on a
// channel type (limited false: no limit).
func (r *Registry) MaxAttachments(channelType string) (int, bool) {
	a, ok := r.Get(channelType)
	if !ok {
		return 0, false
	}
	if p, ok := a.(AttachmentPolicy); ok {
		return p.MaxAttachments(), true
	}
	return 0, false
}
