// Package routing is the digital ACD: skills (the queues cases land in;
// each point of contact has a default skill) with their queue behaviour and
// service levels, agents' presence, capacity and proficiencies, and the
// router that offers waiting cases to the best available agent.
package routing

import (
	"context"
	"database/sql"
	"encoding/json"
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
	SkillSettings
}

// SkillSettings are a skill's queue behaviour and service levels.
type SkillSettings struct {
	// Ageing: a waiting case's priority rises by PriorityStep every
	// PriorityIntervalSeconds, up to PriorityMax (0 step: no ageing).
	PriorityStep            int `json:"priority_step"`
	PriorityIntervalSeconds int `json:"priority_interval_seconds"`
	PriorityMax             int `json:"priority_max"`
	// OfferTimeoutSeconds: how long an agent has to accept an offer.
	OfferTimeoutSeconds int `json:"offer_timeout_seconds"`
	SLA                 SLA `json:"sla"`
	// BusinessHours (internal/hours.Schedule as JSON; null = 24/7) count
	// the SLA targets in business time.
	BusinessHours json.RawMessage `json:"business_hours"`
}

// SLA are a skill's response targets; 0 = none.
type SLA struct {
	FirstResponseSeconds int `json:"first_response_seconds"`
	NextResponseSeconds  int `json:"next_response_seconds"`
	// WarningPercent of a target elapsed raises the warning (default 80).
	WarningPercent int `json:"warning_percent"`
}

// SkillPatch changes some of a skill's fields.
type SkillPatch struct {
	Name                    *string          `json:"name"`
	Description             *string          `json:"description"`
	PriorityStep            *int             `json:"priority_step"`
	PriorityIntervalSeconds *int             `json:"priority_interval_seconds"`
	PriorityMax             *int             `json:"priority_max"`
	OfferTimeoutSeconds     *int             `json:"offer_timeout_seconds"`
	SLA                     *SLA             `json:"sla"`
	BusinessHours           *json.RawMessage `json:"business_hours"`
}

// HoursValidator checks a business-hours document (internal/hours); the
// router does not depend on the calendar's format.
type HoursValidator func(raw json.RawMessage) error

func (ss *SkillSettings) validate(hours HoursValidator) error {
	switch {
	case ss.PriorityStep < 0 || ss.PriorityStep > 1000:
		return &ValidationError{"priority_step", "0 to 1000"}
	case ss.PriorityIntervalSeconds < 1 || ss.PriorityIntervalSeconds > 86400:
		return &ValidationError{"priority_interval_seconds", "1 to 86400"}
	case ss.PriorityMax < 0 || ss.PriorityMax > 1000000:
		return &ValidationError{"priority_max", "0 to 1000000"}
	case ss.OfferTimeoutSeconds < 5 || ss.OfferTimeoutSeconds > 3600:
		return &ValidationError{"offer_timeout_seconds", "5 to 3600"}
	case ss.SLA.FirstResponseSeconds < 0 || ss.SLA.NextResponseSeconds < 0:
		return &ValidationError{"sla", "targets are seconds, 0 for none"}
	case ss.SLA.WarningPercent < 1 || ss.SLA.WarningPercent > 100:
		return &ValidationError{"sla.warning_percent", "1 to 100"}
	}
	if len(ss.BusinessHours) > 0 && string(ss.BusinessHours) != "null" && hours != nil {
		if err := hours(ss.BusinessHours); err != nil {
			return &ValidationError{"business_hours", err.Error()}
		}
	}
	return nil
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
	// Hours validates business hours on save (set by the app).
	Hours HoursValidator
}

// NewSkills makes the store.
func NewSkills(db *store.DB, now func() time.Time) *Skills { return &Skills{db: db, now: now} }

// Create adds a skill.
func (s *Skills) Create(ctx context.Context, workspaceID, actorID, name, description string) (Skill, error) {
	sk := Skill{ID: store.NewID(), Name: strings.TrimSpace(name), Description: strings.TrimSpace(description), CreatedAt: s.now().UTC(), SkillSettings: defaultSettings()}
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
	sk := Skill{ID: store.NewID(), Name: name, CreatedAt: s.now().UTC(), SkillSettings: defaultSettings()}
	_, err := tx.ExecContext(ctx, `INSERT INTO skills (id, workspace_id, name, description, created_at) VALUES (?, ?, ?, '', ?)`, sk.ID, workspaceID, name, store.Micros(sk.CreatedAt))
	return sk, err
}

// List lists a workspace's skills by name.
func (s *Skills) List(ctx context.Context, workspaceID string) ([]Skill, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+skillColumns+` FROM skills WHERE workspace_id = ? ORDER BY name, id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Skill{}
	for rows.Next() {
		sk, err := scanSkill(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sk)
	}
	return out, rows.Err()
}

func defaultSettings() SkillSettings {
	return SkillSettings{PriorityIntervalSeconds: 60, PriorityMax: 100, OfferTimeoutSeconds: 30, SLA: SLA{WarningPercent: 80}}
}

const skillColumns = `id, name, description, created_at, priority_step, priority_interval_seconds, priority_max, offer_timeout_seconds,
	sla_first_response_seconds, sla_next_response_seconds, sla_warning_percent, business_hours`

func scanSkill(row interface{ Scan(...any) error }) (Skill, error) {
	var sk Skill
	var at int64
	var hours string
	err := row.Scan(&sk.ID, &sk.Name, &sk.Description, &at, &sk.PriorityStep, &sk.PriorityIntervalSeconds, &sk.PriorityMax, &sk.OfferTimeoutSeconds,
		&sk.SLA.FirstResponseSeconds, &sk.SLA.NextResponseSeconds, &sk.SLA.WarningPercent, &hours)
	sk.CreatedAt = store.Time(at)
	if hours != "" {
		sk.BusinessHours = json.RawMessage(hours)
	}
	return sk, err
}

// Get reads one skill.
func (s *Skills) Get(ctx context.Context, workspaceID, id string) (Skill, error) {
	sk, err := scanSkill(s.db.QueryRowContext(ctx, `SELECT `+skillColumns+` FROM skills WHERE workspace_id = ? AND id = ?`, workspaceID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sk, store.ErrNotFound
	}
	return sk, err
}

// Update changes a skill's name, description, queue behaviour or SLA.
func (s *Skills) Update(ctx context.Context, workspaceID, actorID, id string, p SkillPatch) (Skill, error) {
	sk, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return sk, err
	}
	if p.Name != nil {
		sk.Name = strings.TrimSpace(*p.Name)
		if sk.Name == "" || len(sk.Name) > 100 {
			return Skill{}, &ValidationError{"name", "1 to 100 characters"}
		}
	}
	if p.Description != nil {
		sk.Description = strings.TrimSpace(*p.Description)
		if len(sk.Description) > 1000 {
			return Skill{}, &ValidationError{"description", "at most 1000 characters"}
		}
	}
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(&sk.PriorityStep, p.PriorityStep)
	setInt(&sk.PriorityIntervalSeconds, p.PriorityIntervalSeconds)
	setInt(&sk.PriorityMax, p.PriorityMax)
	setInt(&sk.OfferTimeoutSeconds, p.OfferTimeoutSeconds)
	if p.SLA != nil {
		sk.SLA = *p.SLA
		if sk.SLA.WarningPercent == 0 {
			sk.SLA.WarningPercent = 80
		}
	}
	if p.BusinessHours != nil {
		sk.BusinessHours = *p.BusinessHours
		if string(sk.BusinessHours) == "null" {
			sk.BusinessHours = nil
		}
	}
	if err := sk.SkillSettings.validate(s.Hours); err != nil {
		return Skill{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE skills SET name = ?, description = ?, priority_step = ?, priority_interval_seconds = ?, priority_max = ?, offer_timeout_seconds = ?,
			sla_first_response_seconds = ?, sla_next_response_seconds = ?, sla_warning_percent = ?, business_hours = ? WHERE workspace_id = ? AND id = ?`,
			sk.Name, sk.Description, sk.PriorityStep, sk.PriorityIntervalSeconds, sk.PriorityMax, sk.OfferTimeoutSeconds,
			sk.SLA.FirstResponseSeconds, sk.SLA.NextResponseSeconds, sk.SLA.WarningPercent, string(sk.BusinessHours), workspaceID, id); err != nil {
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
