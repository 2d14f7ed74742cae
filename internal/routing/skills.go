// Package routing is the digital ACD. For now it owns skills — the queues
// cases land in (each point of contact has a default skill) — which the
// skills-based router builds on.
package routing

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

// Skill is a routing queue and the ability agents need to take its cases.
type Skill struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// ValidationError names the field that is wrong.
type ValidationError struct{ Field, Reason string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// ErrSkillNameTaken is a duplicate skill name in a workspace.
var ErrSkillNameTaken = &ValidationError{"name", "a skill with this name already exists"}

// ErrSkillInUse means cases or points of contact still use the skill.
var ErrSkillInUse = errors.New("routing: skill still used by points of contact or open cases")

// Skills stores skills.
type Skills struct {
	db  *store.DB
	now func() time.Time
}

// NewSkills makes the store.
func NewSkills(db *store.DB, now func() time.Time) *Skills { return &Skills{db: db, now: now} }

// Create adds a skill.
func (s *Skills) Create(ctx context.Context, workspaceID, actorID, name, description string) (Skill, error) {
	sk := Skill{ID: store.NewID(), Name: strings.TrimSpace(name), Description: strings.TrimSpace(description), CreatedAt: s.now().UTC()}
	if sk.Name == "" || len(sk.Name) > 100 {
		return Skill{}, &ValidationError{"name", "1 to 100 characters"}
	}
	if len(sk.Description) > 1000 {
		return Skill{}, &ValidationError{"description", "at most 1000 characters"}
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO skills (id, workspace_id, name, description, created_at) VALUES (?, ?, ?, ?, ?)`,
			sk.ID, workspaceID, sk.Name, sk.Description, store.Micros(sk.CreatedAt)); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrSkillNameTaken
			}
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "skill.created", EntityType: "skill", EntityID: sk.ID,
			Details: map[string]any{"name": sk.Name}, At: sk.CreatedAt})
	})
	return sk, err
}

// CreateTx adds a skill inside a caller's transaction (demo data, setup).
func (s *Skills) CreateTx(ctx context.Context, tx *store.Tx, workspaceID, name string) (Skill, error) {
	sk := Skill{ID: store.NewID(), Name: name, CreatedAt: s.now().UTC()}
	_, err := tx.ExecContext(ctx, `INSERT INTO skills (id, workspace_id, name, description, created_at) VALUES (?, ?, ?, '', ?)`, sk.ID, workspaceID, name, store.Micros(sk.CreatedAt))
	return sk, err
}

// List lists a workspace's skills by name.
func (s *Skills) List(ctx context.Context, workspaceID string) ([]Skill, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, description, created_at FROM skills WHERE workspace_id = ? ORDER BY name, id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Skill{}
	for rows.Next() {
		var sk Skill
		var at int64
		if err := rows.Scan(&sk.ID, &sk.Name, &sk.Description, &at); err != nil {
			return nil, err
		}
		sk.CreatedAt = store.Time(at)
		out = append(out, sk)
	}
	return out, rows.Err()
}

// Get reads one skill.
func (s *Skills) Get(ctx context.Context, workspaceID, id string) (Skill, error) {
	var sk Skill
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, description, created_at FROM skills WHERE workspace_id = ? AND id = ?`, workspaceID, id).Scan(&sk.ID, &sk.Name, &sk.Description, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return sk, store.ErrNotFound
	}
	sk.CreatedAt = store.Time(at)
	return sk, err
}

// Update renames or re-describes a skill.
func (s *Skills) Update(ctx context.Context, workspaceID, actorID, id string, name, description *string) (Skill, error) {
	sk, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return sk, err
	}
	if name != nil {
		sk.Name = strings.TrimSpace(*name)
		if sk.Name == "" || len(sk.Name) > 100 {
			return Skill{}, &ValidationError{"name", "1 to 100 characters"}
		}
	}
	if description != nil {
		sk.Description = strings.TrimSpace(*description)
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE skills SET name = ?, description = ? WHERE workspace_id = ? AND id = ?`, sk.Name, sk.Description, workspaceID, id); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrSkillNameTaken
			}
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "skill.updated", EntityType: "skill", EntityID: id, At: s.now()})
	})
	return sk, err
}

// Delete removes a skill no point of contact or unfinished case uses.
func (s *Skills) Delete(ctx context.Context, workspaceID, actorID, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM points_of_contact WHERE workspace_id = ? AND default_skill_id = ? AND deleted_at IS NULL)
			+ (SELECT COUNT(*) FROM cases WHERE workspace_id = ? AND skill_id = ? AND status NOT IN ('closed','trashed'))`, workspaceID, id, workspaceID, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrSkillInUse
		}
		for _, q := range []string{
			`UPDATE cases SET skill_id = NULL WHERE workspace_id = ? AND skill_id = ?`,
			`UPDATE points_of_contact SET default_skill_id = NULL WHERE workspace_id = ? AND default_skill_id = ?`,
			`DELETE FROM user_skills WHERE workspace_id = ? AND skill_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, workspaceID, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM skills WHERE workspace_id = ? AND id = ?`, workspaceID, id)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return store.ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "skill.deleted", EntityType: "skill", EntityID: id, At: s.now()})
	})
}
