package channel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
)

// PointOfContact is one configured channel instance. Credentials are held
// decrypted in memory only and are never serialised.
type PointOfContact struct {
	ID             string         `json:"id"`
	WorkspaceID    string         `json:"workspace_id"`
	Type           string         `json:"type"`
	Name           string         `json:"name"`
	Settings       map[string]any `json:"settings"`
	DefaultSkillID *string        `json:"default_skill_id"`
	DefaultScript  string         `json:"default_script"`
	WebhookURL     string         `json:"webhook_url,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`

	credentials      map[string]string
	inboundTokenHash string
}

// Credential returns one decrypted credential.
func (p *PointOfContact) Credential(name string) string { return p.credentials[name] }

// CredentialNames lists which credentials are set (values never leave).
func (p *PointOfContact) CredentialNames() []string {
	out := make([]string, 0, len(p.credentials))
	for k := range p.credentials {
		out = append(out, k)
	}
	return out
}

// InboundTokenMatches checks a presented bearer token in constant time.
func (p *PointOfContact) InboundTokenMatches(token string) bool {
	if p.inboundTokenHash == "" || token == "" {
		return false
	}
	return constantTimeEqual(secret.HashToken(token), p.inboundTokenHash)
}

// SettingString reads a string setting.
func (p *PointOfContact) SettingString(name string) string {
	s, _ := p.Settings[name].(string)
	return s
}

// Points stores points of contact.
type Points struct {
	db       *store.DB
	box      *secret.Box
	registry *Registry
	now      func() time.Time

	// cache serves Lookup, which every inbound request makes. Local
	// changes invalidate it at once; on PostgreSQL, a change made on
	// another node is seen within cacheTTL.
	mu    sync.Mutex
	cache map[string]cachedPoint
}

type cachedPoint struct {
	p       PointOfContact
	expires time.Time
}

const cacheTTL = 2 * time.Second

// NewPoints makes the store.
func NewPoints(db *store.DB, box *secret.Box, registry *Registry, now func() time.Time) *Points {
	return &Points{db: db, box: box, registry: registry, now: now, cache: map[string]cachedPoint{}}
}

func (ps *Points) invalidate(id string) {
	ps.mu.Lock()
	delete(ps.cache, id)
	ps.mu.Unlock()
}

// ValidationError names the field that is wrong.
type ValidationError struct{ Field, Reason string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// ErrUnknownSkill means a default skill id that is not in the workspace.
var ErrUnknownSkill = &ValidationError{"default_skill_id", "no such skill in this workspace"}

// NewPointOfContact is the input of Create.
type NewPointOfContact struct {
	Type           string            `json:"type"`
	Name           string            `json:"name"`
	Settings       map[string]any    `json:"settings"`
	Credentials    map[string]string `json:"credentials"`
	DefaultSkillID *string           `json:"default_skill_id"`
	DefaultScript  string            `json:"default_script"`
}

// Create configures a new point of contact; Generated holds secrets to show once.
func (ps *Points) Create(ctx context.Context, workspaceID, actorID string, in NewPointOfContact) (PointOfContact, map[string]string, error) {
	adapter, ok := ps.registry.Get(in.Type)
	if !ok {
		return PointOfContact{}, nil, &ValidationError{"type", fmt.Sprintf("unknown or unavailable channel type %q (available: %s)", in.Type, strings.Join(ps.registry.Types(), ", "))}
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 200 {
		return PointOfContact{}, nil, &ValidationError{"name", "required, at most 200 characters"}
	}
	now := ps.now().UTC()
	p := PointOfContact{ID: store.NewID(), WorkspaceID: workspaceID, Type: in.Type, Name: name, Settings: in.Settings,
		DefaultSkillID: emptyToNil(in.DefaultSkillID), DefaultScript: in.DefaultScript, CreatedAt: now, UpdatedAt: now}
	if p.Settings == nil {
		p.Settings = map[string]any{}
	}
	creds := in.Credentials
	if creds == nil {
		creds = map[string]string{}
	}
	cfg := &Config{PointOfContactID: p.ID, Creating: true, Settings: p.Settings, Credentials: creds, Generated: map[string]string{}}
	if err := configure(ctx, adapter, cfg); err != nil {
		return PointOfContact{}, nil, err
	}
	p.Settings, p.credentials = cfg.Settings, cfg.Credentials
	if cfg.InboundToken != "" {
		p.inboundTokenHash = secret.HashToken(cfg.InboundToken)
	}
	err := ps.db.InTx(ctx, func(tx *store.Tx) error {
		if err := checkSkill(ctx, tx, workspaceID, p.DefaultSkillID); err != nil {
			return err
		}
		settings, _ := json.Marshal(p.Settings)
		if _, err := tx.ExecContext(ctx, `INSERT INTO points_of_contact (id, workspace_id, type, name, settings, credentials, inbound_token_hash, default_skill_id, default_script, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, workspaceID, p.Type, p.Name, string(settings), ps.seal(p.ID, p.credentials),
			nullString(p.inboundTokenHash), p.DefaultSkillID, p.DefaultScript, store.Micros(now), store.Micros(now)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "point_of_contact.created",
			EntityType: "point_of_contact", EntityID: p.ID, Details: map[string]any{"type": p.Type, "name": p.Name}, At: now})
	})
	if err != nil {
		return PointOfContact{}, nil, err
	}
	return p, cfg.Generated, nil
}

func checkSkill(ctx context.Context, q store.Querier, workspaceID string, skillID *string) error {
	if skillID == nil {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM skills WHERE workspace_id = ? AND id = ?`, workspaceID, *skillID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrUnknownSkill
	}
	return nil
}

func (ps *Points) seal(id string, creds map[string]string) string {
	if len(creds) == 0 {
		return ""
	}
	b, _ := json.Marshal(creds)
	return ps.box.Seal(b, "point_of_contact:"+id)
}

const pocColumns = `id, workspace_id, type, name, settings, credentials, inbound_token_hash, default_skill_id, default_script, created_at, updated_at`

func (ps *Points) scan(row interface{ Scan(...any) error }) (PointOfContact, error) {
	var p PointOfContact
	var settings, sealed string
	var tokenHash, skill sql.NullString
	var created, updated int64
	err := row.Scan(&p.ID, &p.WorkspaceID, &p.Type, &p.Name, &settings, &sealed, &tokenHash, &skill, &p.DefaultScript, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = store.Time(created), store.Time(updated)
	p.inboundTokenHash = tokenHash.String
	if skill.Valid {
		p.DefaultSkillID = &skill.String
	}
	if err := json.Unmarshal([]byte(settings), &p.Settings); err != nil {
		return p, fmt.Errorf("point of contact %s settings: %w", p.ID, err)
	}
	p.credentials = map[string]string{}
	if sealed != "" {
		plain, err := ps.box.Open(sealed, "point_of_contact:"+p.ID)
		if err != nil {
			return p, fmt.Errorf("point of contact %s credentials: %w", p.ID, err)
		}
		if err := json.Unmarshal(plain, &p.credentials); err != nil {
			return p, fmt.Errorf("point of contact %s credentials: %w", p.ID, err)
		}
	}
	return p, nil
}

// Get reads a point of contact of a workspace.
func (ps *Points) Get(ctx context.Context, workspaceID, id string) (PointOfContact, error) {
	return ps.scan(ps.db.QueryRowContext(ctx, `SELECT `+pocColumns+` FROM points_of_contact WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`, workspaceID, id))
}

// Lookup reads a point of contact by id alone. Only inbound endpoints use
// it: the platform knows the id from the webhook URL, and the request is
// then authenticated with that point of contact's own credentials.
func (ps *Points) Lookup(ctx context.Context, id string) (PointOfContact, error) {
	if len(id) > 64 {
		return PointOfContact{}, store.ErrNotFound
	}
	now := time.Now()
	ps.mu.Lock()
	c, ok := ps.cache[id]
	ps.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.p.clone(), nil
	}
	p, err := ps.scan(ps.db.QueryRowContext(ctx, `SELECT `+pocColumns+` FROM points_of_contact WHERE id = ? AND deleted_at IS NULL`, id))
	if err != nil {
		return p, err
	}
	ps.mu.Lock()
	if len(ps.cache) > 10_000 {
		ps.cache = map[string]cachedPoint{}
	}
	ps.cache[id] = cachedPoint{p: p.clone(), expires: now.Add(cacheTTL)}
	ps.mu.Unlock()
	return p, nil
}

// clone copies the maps so callers cannot change the cached value.
func (p PointOfContact) clone() PointOfContact {
	settings := make(map[string]any, len(p.Settings))
	for k, v := range p.Settings {
		settings[k] = v
	}
	creds := make(map[string]string, len(p.credentials))
	for k, v := range p.credentials {
		creds[k] = v
	}
	p.Settings, p.credentials = settings, creds
	return p
}

// List lists a workspace's points of contact.
func (ps *Points) List(ctx context.Context, workspaceID string) ([]PointOfContact, error) {
	return ps.queryAll(ctx, `SELECT `+pocColumns+` FROM points_of_contact WHERE workspace_id = ? AND deleted_at IS NULL ORDER BY created_at, id`, workspaceID)
}

// ListByType lists the live points of contact of one channel type across
// all workspaces (for runners).
func (ps *Points) ListByType(ctx context.Context, channelType string) ([]PointOfContact, error) {
	return ps.queryAll(ctx, `SELECT `+pocColumns+` FROM points_of_contact WHERE type = ? AND deleted_at IS NULL ORDER BY created_at, id`, channelType)
}

func (ps *Points) queryAll(ctx context.Context, query string, args ...any) ([]PointOfContact, error) {
	rows, err := ps.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PointOfContact
	for rows.Next() {
		p, err := ps.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Patch changes a point of contact; nil fields are unchanged. Credentials
// given are merged (a key set to "" is removed).
type Patch struct {
	Name           *string           `json:"name"`
	Settings       map[string]any    `json:"settings"`
	Credentials    map[string]string `json:"credentials"`
	DefaultSkillID *string           `json:"default_skill_id"`
	DefaultScript  *string           `json:"default_script"`
}

// Update applies a patch.
func (ps *Points) Update(ctx context.Context, workspaceID, actorID, id string, patch Patch) (PointOfContact, error) {
	var out PointOfContact
	err := ps.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := ps.scan(tx.QueryRowContext(ctx, `SELECT `+pocColumns+` FROM points_of_contact WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`, workspaceID, id))
		if err != nil {
			return err
		}
		adapter, ok := ps.registry.Get(p.Type)
		if !ok {
			return &ValidationError{"type", "channel type no longer available"}
		}
		changed := []string{}
		if patch.Name != nil {
			n := strings.TrimSpace(*patch.Name)
			if n == "" || len(n) > 200 {
				return &ValidationError{"name", "required, at most 200 characters"}
			}
			p.Name = n
			changed = append(changed, "name")
		}
		if patch.Settings != nil {
			for k, v := range patch.Settings {
				if v == nil {
					delete(p.Settings, k)
				} else {
					p.Settings[k] = v
				}
			}
			changed = append(changed, "settings")
		}
		if patch.Credentials != nil {
			for k, v := range patch.Credentials {
				if v == "" {
					delete(p.credentials, k)
				} else {
					p.credentials[k] = v
				}
			}
			changed = append(changed, "credentials")
		}
		if patch.DefaultSkillID != nil {
			p.DefaultSkillID = emptyToNil(patch.DefaultSkillID)
			if err := checkSkill(ctx, tx, workspaceID, p.DefaultSkillID); err != nil {
				return err
			}
			changed = append(changed, "default_skill_id")
		}
		if patch.DefaultScript != nil {
			p.DefaultScript = *patch.DefaultScript
			changed = append(changed, "default_script")
		}
		cfg := &Config{PointOfContactID: p.ID, Settings: p.Settings, Credentials: p.credentials, Generated: map[string]string{}}
		if err := configure(ctx, adapter, cfg); err != nil {
			return err
		}
		p.Settings, p.credentials = cfg.Settings, cfg.Credentials
		p.UpdatedAt = ps.now().UTC()
		settings, _ := json.Marshal(p.Settings)
		if _, err := tx.ExecContext(ctx, `UPDATE points_of_contact SET name = ?, settings = ?, credentials = ?, default_skill_id = ?, default_script = ?, updated_at = ?
			WHERE workspace_id = ? AND id = ?`, p.Name, string(settings), ps.seal(p.ID, p.credentials), p.DefaultSkillID, p.DefaultScript,
			store.Micros(p.UpdatedAt), workspaceID, p.ID); err != nil {
			return err
		}
		out = p
		tx.AfterCommit(func() { ps.invalidate(p.ID) })
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "point_of_contact.updated",
			EntityType: "point_of_contact", EntityID: p.ID, Details: map[string]any{"changed": changed}, At: p.UpdatedAt})
	})
	return out, err
}

// RotateCredentials asks the adapter to generate fresh secrets (BYOC token
// and signing secret); the old ones stop working at once.
func (ps *Points) RotateCredentials(ctx context.Context, workspaceID, actorID, id string) (PointOfContact, map[string]string, error) {
	var out PointOfContact
	var generated map[string]string
	err := ps.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := ps.scan(tx.QueryRowContext(ctx, `SELECT `+pocColumns+` FROM points_of_contact WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`, workspaceID, id))
		if err != nil {
			return err
		}
		adapter, _ := ps.registry.Get(p.Type)
		if adapter == nil {
			return ErrUnsupported
		}
		cfg := &Config{PointOfContactID: p.ID, Creating: true, Settings: p.Settings, Credentials: map[string]string{}, Generated: map[string]string{}}
		if err := configure(ctx, adapter, cfg); err != nil {
			return err
		}
		if len(cfg.Generated) == 0 {
			return ErrUnsupported
		}
		p.credentials = cfg.Credentials
		p.inboundTokenHash = ""
		if cfg.InboundToken != "" {
			p.inboundTokenHash = secret.HashToken(cfg.InboundToken)
		}
		p.UpdatedAt = ps.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE points_of_contact SET credentials = ?, inbound_token_hash = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
			ps.seal(p.ID, p.credentials), nullString(p.inboundTokenHash), store.Micros(p.UpdatedAt), workspaceID, p.ID); err != nil {
			return err
		}
		out, generated = p, cfg.Generated
		tx.AfterCommit(func() { ps.invalidate(p.ID) })
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "point_of_contact.credentials_rotated",
			EntityType: "point_of_contact", EntityID: p.ID, At: p.UpdatedAt})
	})
	return out, generated, err
}

// Delete retires a point of contact: it stops receiving and sending, and
// its threads and cases stay readable.
func (ps *Points) Delete(ctx context.Context, workspaceID, actorID, id string) error {
	return ps.db.InTx(ctx, func(tx *store.Tx) error {
		now := ps.now().UTC()
		res, err := tx.ExecContext(ctx, `UPDATE points_of_contact SET deleted_at = ?, inbound_token_hash = NULL, credentials = '' WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`,
			store.Micros(now), workspaceID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		tx.AfterCommit(func() { ps.invalidate(id) })
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "point_of_contact.deleted",
			EntityType: "point_of_contact", EntityID: id, At: now})
	})
}

func emptyToNil(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CoreSettings are point-of-contact settings every channel type accepts,
// read by the core rather than the adapter: the business hours scripts see
// ("business_hours", an internal/hours schedule) and the bots a script may
// hand a conversation to ("bots": name → URL, signed with the
// "bot_secret" credential).
var coreSettings = []string{"business_hours", "bots"}

// configure lets the adapter check its own settings, with the core's set
// aside and put back afterwards.
func configure(ctx context.Context, adapter Adapter, cfg *Config) error {
	kept := map[string]any{}
	for _, k := range coreSettings {
		if v, ok := cfg.Settings[k]; ok {
			kept[k] = v
			delete(cfg.Settings, k)
		}
	}
	if err := adapter.Configure(ctx, cfg); err != nil {
		for k, v := range kept {
			cfg.Settings[k] = v
		}
		return err
	}
	if cfg.Settings == nil && len(kept) > 0 {
		cfg.Settings = map[string]any{}
	}
	for k, v := range kept {
		if v == nil {
			continue // null removes a core setting
		}
		if k == "bots" {
			bots, ok := v.(map[string]any)
			if !ok {
				return &ValidationError{Field: "settings.bots", Reason: "an object of bot name → https URL"}
			}
			for name, u := range bots {
				if s, ok := u.(string); !ok || !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
					return &ValidationError{Field: "settings.bots." + name, Reason: "an http(s) URL"}
				}
			}
		}
		if k == "business_hours" {
			if _, ok := v.(map[string]any); !ok {
				return &ValidationError{Field: "settings.business_hours", Reason: "a business-hours object {timezone, weekly, holidays}"}
			}
		}
		cfg.Settings[k] = v
	}
	return nil
}
