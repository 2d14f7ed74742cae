package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

// ErrNameTaken: another rule of the workspace has the name → 400.
var ErrNameTaken = &ValidationError{Field: "name", Reason: "a rule with this name already exists"}

// SecretBox seals call_url secrets at rest; *secret.Box implements it.
type SecretBox interface {
	Seal(plaintext []byte, context string) string
	Open(sealed, context string) ([]byte, error)
}

// maxCachedWorkspaces bounds the rule cache; past it the cache starts over
// (a workspace's rules are one query away).
const maxCachedWorkspaces = 10000

// ruleCache keeps each workspace's compiled rules, so an event costs no
// query. Entries expire after a TTL — the bound on how long another node's
// change goes unseen here — and this node's own changes invalidate at once.
// generation keeps a load that raced with an invalidation from storing
// what it read before the change.
type ruleCache struct {
	mu          sync.Mutex
	ttl         time.Duration
	generation  uint64
	byWorkspace map[string]cachedRules
}

type cachedRules struct {
	loadedAt time.Time
	rules    []*compiledRule
}

func (c *ruleCache) get(workspaceID string, now time.Time) ([]*compiledRule, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byWorkspace[workspaceID]
	if !ok || now.Sub(e.loadedAt) >= c.ttl || now.Before(e.loadedAt) {
		return nil, c.generation, false
	}
	return e.rules, c.generation, true
}

func (c *ruleCache) put(workspaceID string, rules []*compiledRule, generation uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if generation != c.generation {
		return
	}
	if len(c.byWorkspace) >= maxCachedWorkspaces {
		clear(c.byWorkspace)
	}
	c.byWorkspace[workspaceID] = cachedRules{loadedAt: now, rules: rules}
}

func (c *ruleCache) invalidate(workspaceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	delete(c.byWorkspace, workspaceID)
}

// rulesFor returns a workspace's rules, enabled or not, oldest first.
func (e *Engine) rulesFor(ctx context.Context, workspaceID string) ([]*compiledRule, error) {
	now := e.now()
	rules, generation, ok := e.cache.get(workspaceID, now)
	if ok {
		return rules, nil
	}
	rows, err := e.db.QueryContext(ctx, `SELECT `+ruleColumns+` FROM automation_rules WHERE workspace_id = ? ORDER BY created_at, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("automation: load rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := e.scanRule(rows)
		if err != nil {
			// One unreadable rule (written by a newer version, say) must not
			// stop the others.
			e.log.Error("automation: skipping a stored rule that does not load", "workspace", workspaceID, "err", err)
			continue
		}
		rules = append(rules, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("automation: load rules: %w", err)
	}
	e.cache.put(workspaceID, rules, generation, now)
	return rules, nil
}

const ruleColumns = `id, name, enabled, trigger, conditions, delay_seconds, actions, secret, created_at, updated_at`

// scanRule reads a rule row and compiles it for evaluation.
func (e *Engine) scanRule(row interface{ Scan(...any) error }) (*compiledRule, error) {
	r, sealed, err := decodeRule(row)
	if err != nil {
		return nil, err
	}
	secret, err := e.openSecret(r.ID, sealed)
	if err != nil {
		return nil, fmt.Errorf("rule %s: secret: %w", r.ID, err)
	}
	cr, err := compile(r, secret)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	return cr, nil
}

// decodeRule reads a rule row as stored, without compiling it: the API
// shows a rule even if it no longer compiles (so that it can be fixed).
func decodeRule(row interface{ Scan(...any) error }) (r Rule, sealedSecret string, err error) {
	var (
		trigger, conds, acts string
		created, updated     int64
	)
	if err := row.Scan(&r.ID, &r.Name, &r.Enabled, &trigger, &conds, &r.DelaySeconds, &acts, &sealedSecret, &created, &updated); err != nil {
		return Rule{}, "", err
	}
	r.CreatedAt, r.UpdatedAt = store.Time(created), store.Time(updated)
	r.HasSecret = sealedSecret != ""
	if err := json.Unmarshal([]byte(trigger), &r.Trigger); err != nil {
		return Rule{}, "", fmt.Errorf("rule %s: trigger: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(conds), &r.Conditions); err != nil {
		return Rule{}, "", fmt.Errorf("rule %s: conditions: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(acts), &r.Actions); err != nil {
		return Rule{}, "", fmt.Errorf("rule %s: actions: %w", r.ID, err)
	}
	return r, sealedSecret, nil
}

func secretContext(ruleID string) string { return "automation_rule:" + ruleID }

func (e *Engine) sealSecret(ruleID string, secret []byte) string {
	if len(secret) == 0 {
		return ""
	}
	if e.secrets == nil {
		return string(secret)
	}
	return e.secrets.Seal(secret, secretContext(ruleID))
}

func (e *Engine) openSecret(ruleID, sealed string) ([]byte, error) {
	if sealed == "" {
		return nil, nil
	}
	if e.secrets == nil {
		return []byte(sealed), nil
	}
	return e.secrets.Open(sealed, secretContext(ruleID))
}

// loadRule reads one rule as it is now.
func (e *Engine) loadRule(ctx context.Context, q store.Querier, workspaceID, id string) (*compiledRule, error) {
	r, err := e.scanRule(q.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM automation_rules WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return r, err
}

// stamp is the clock at the database's precision, so what Create returns
// equals what Get reads back.
func (e *Engine) stamp() time.Time { return store.Time(store.Micros(e.now())) }

// checkSkills refuses reroute actions to skills the workspace does not have.
func checkSkills(ctx context.Context, q store.Querier, workspaceID string, actions []Action) error {
	for i, a := range actions {
		if a.Type != ActionReroute {
			continue
		}
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM skills WHERE workspace_id = ? AND id = ?`, workspaceID, a.SkillID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return invalid(fmt.Sprintf("actions[%d].skill_id", i), "no such skill in this workspace")
		}
	}
	return nil
}

// Validate checks a rule without saving it (the editor's "check" button).
// Checks that need the database, such as a reroute's skill, happen on save.
func Validate(in RuleInput) error {
	in.normalise()
	var secret []byte
	if in.Secret != nil {
		secret = []byte(*in.Secret)
	}
	_, err := compile(Rule{Name: in.Name, Trigger: in.Trigger, Conditions: in.Conditions, DelaySeconds: in.DelaySeconds, Actions: in.Actions}, secret)
	return err
}

// CreateRule saves a new rule; it is enabled unless in.Enabled says not.
func (e *Engine) CreateRule(ctx context.Context, workspaceID, actorID string, in RuleInput) (Rule, error) {
	in.normalise()
	now := e.stamp()
	r := Rule{ID: store.NewID(), Name: in.Name, Enabled: in.Enabled == nil || *in.Enabled, Trigger: in.Trigger, Conditions: in.Conditions,
		DelaySeconds: in.DelaySeconds, Actions: in.Actions, CreatedAt: now, UpdatedAt: now}
	var secret []byte
	if in.Secret != nil {
		secret = []byte(*in.Secret)
	}
	if _, err := compile(r, secret); err != nil {
		return Rule{}, err
	}
	r.HasSecret = len(secret) > 0
	trigger, conds, acts := marshalRule(r)
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		if err := checkSkills(ctx, tx, workspaceID, r.Actions); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM automation_rules WHERE workspace_id = ?`, workspaceID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxRulesPerWorkspace {
			return invalid("workspace", "a workspace has at most %d rules", MaxRulesPerWorkspace)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_rules (id, workspace_id, name, enabled, trigger, conditions, delay_seconds, actions, secret, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, workspaceID, r.Name, r.Enabled, trigger, conds, r.DelaySeconds, acts,
			e.sealSecret(r.ID, secret), store.Micros(now), store.Micros(now)); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrNameTaken
			}
			return err
		}
		tx.AfterCommit(func() { e.cache.invalidate(workspaceID) })
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "automation_rule.created",
			EntityType: "automation_rule", EntityID: r.ID, Details: map[string]any{"name": r.Name}, At: now})
	})
	if err != nil {
		return Rule{}, err
	}
	return r, nil
}

func marshalRule(r Rule) (trigger, conditions, actions string) {
	t, _ := json.Marshal(r.Trigger)
	c, _ := json.Marshal(r.Conditions)
	a, _ := json.Marshal(r.Actions)
	return string(t), string(c), string(a)
}

// UpdateRule replaces a rule's definition. in.Enabled nil keeps the rule's
// state; in.Secret nil keeps its secret. Pending jobs of the rule run with
// the rule as it is when they come due.
func (e *Engine) UpdateRule(ctx context.Context, workspaceID, actorID, id string, in RuleInput) (Rule, error) {
	in.normalise()
	var out Rule
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		// Only what the update keeps is read: a stored rule that no longer
		// compiles must still be fixable.
		var (
			enabled bool
			sealed  string
			created int64
		)
		err := tx.QueryRowContext(ctx, `SELECT enabled, secret, created_at FROM automation_rules WHERE workspace_id = ? AND id = ?`, workspaceID, id).
			Scan(&enabled, &sealed, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		now := e.stamp()
		r := Rule{ID: id, Name: in.Name, Enabled: enabled, Trigger: in.Trigger, Conditions: in.Conditions, DelaySeconds: in.DelaySeconds,
			Actions: in.Actions, CreatedAt: store.Time(created), UpdatedAt: now}
		if in.Enabled != nil {
			r.Enabled = *in.Enabled
		}
		var secret []byte
		if in.Secret != nil {
			secret = []byte(*in.Secret)
		} else if secret, err = e.openSecret(id, sealed); err != nil {
			return fmt.Errorf("automation: rule %s: secret: %w", id, err)
		}
		if _, err := compile(r, secret); err != nil {
			return err
		}
		if err := checkSkills(ctx, tx, workspaceID, r.Actions); err != nil {
			return err
		}
		r.HasSecret = len(secret) > 0
		trigger, conds, acts := marshalRule(r)
		if _, err := tx.ExecContext(ctx, `UPDATE automation_rules SET name = ?, enabled = ?, trigger = ?, conditions = ?, delay_seconds = ?, actions = ?, secret = ?, updated_at = ?
			WHERE workspace_id = ? AND id = ?`, r.Name, r.Enabled, trigger, conds, r.DelaySeconds, acts, e.sealSecret(id, secret), store.Micros(now),
			workspaceID, id); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrNameTaken
			}
			return err
		}
		tx.AfterCommit(func() { e.cache.invalidate(workspaceID) })
		out = r
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "automation_rule.updated",
			EntityType: "automation_rule", EntityID: id, Details: map[string]any{"name": r.Name}, At: now})
	})
	if err != nil {
		return Rule{}, err
	}
	return out, nil
}

// GetRule reads one rule.
func (e *Engine) GetRule(ctx context.Context, workspaceID, id string) (Rule, error) {
	r, _, err := decodeRule(e.db.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM automation_rules WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Rule{}, store.ErrNotFound
	}
	return r, err
}

// ListRules lists a workspace's rules, oldest first.
func (e *Engine) ListRules(ctx context.Context, workspaceID string) ([]Rule, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT `+ruleColumns+` FROM automation_rules WHERE workspace_id = ? ORDER BY created_at, id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Rule{}
	for rows.Next() {
		r, _, err := decodeRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteRule removes a rule. Its pending jobs are skipped when they come
// due; its finished jobs stay as history until purged.
func (e *Engine) DeleteRule(ctx context.Context, workspaceID, actorID, id string) error {
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM automation_rules WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		tx.AfterCommit(func() { e.cache.invalidate(workspaceID) })
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "automation_rule.deleted",
			EntityType: "automation_rule", EntityID: id, At: e.now()})
	})
}

// EnableRule turns a rule on.
func (e *Engine) EnableRule(ctx context.Context, workspaceID, actorID, id string) error {
	return e.setEnabled(ctx, workspaceID, actorID, id, true)
}

// DisableRule turns a rule off: it triggers nothing more, and its pending
// jobs are skipped when they come due (unless it is enabled again first).
func (e *Engine) DisableRule(ctx context.Context, workspaceID, actorID, id string) error {
	return e.setEnabled(ctx, workspaceID, actorID, id, false)
}

func (e *Engine) setEnabled(ctx context.Context, workspaceID, actorID, id string, enabled bool) error {
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		now := e.stamp()
		res, err := tx.ExecContext(ctx, `UPDATE automation_rules SET enabled = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
			enabled, store.Micros(now), workspaceID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		tx.AfterCommit(func() { e.cache.invalidate(workspaceID) })
		action := "automation_rule.disabled"
		if enabled {
			action = "automation_rule.enabled"
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: action,
			EntityType: "automation_rule", EntityID: id, At: now})
	})
}
