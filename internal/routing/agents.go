package routing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

// Agent presence.
const (
	StateAvailable = "available"
	StateAway      = "away"
	StateOffline   = "offline"
)

// Class groups channel types for capacity: an agent can hold, say, 3
// chats, 5 messaging conversations and 10 emails, and 10 cases in all.
type Class string

const (
	ClassChat      Class = "chat"
	ClassMessaging Class = "messaging"
	ClassEmail     Class = "email"
	ClassSocial    Class = "social"
)

// ClassOf maps a channel type (DESIGN.md) to its capacity class.
func ClassOf(channelType string) Class {
	switch channelType {
	case "chat":
		return ClassChat
	case "email":
		return ClassEmail
	case "facebook", "instagram", "x", "linkedin", "youtube", "google_play", "google_places", "app_store":
		return ClassSocial
	}
	return ClassMessaging
}

// Capacity is how many cases of each class an agent may hold at once, and
// in total. The same shape reports loads.
type Capacity struct {
	Chat      int `json:"chat"`
	Messaging int `json:"messaging"`
	Email     int `json:"email"`
	Social    int `json:"social"`
	Total     int `json:"total"`
}

// Of returns the limit (or load) of one class.
func (c Capacity) Of(cl Class) int {
	switch cl {
	case ClassChat:
		return c.Chat
	case ClassEmail:
		return c.Email
	case ClassSocial:
		return c.Social
	}
	return c.Messaging
}

func (c *Capacity) add(cl Class, n int) {
	switch cl {
	case ClassChat:
		c.Chat += n
	case ClassEmail:
		c.Email += n
	case ClassSocial:
		c.Social += n
	default:
		c.Messaging += n
	}
	c.Total += n
}

// DefaultCapacity is what an agent gets until an admin sets it.
var DefaultCapacity = Capacity{Chat: 3, Messaging: 5, Email: 10, Social: 10, Total: 10}

func (c Capacity) validate() error {
	for _, v := range []struct {
		name string
		n    int
	}{{"capacity.chat", c.Chat}, {"capacity.messaging", c.Messaging}, {"capacity.email", c.Email}, {"capacity.social", c.Social}, {"capacity.total", c.Total}} {
		if v.n < 0 || v.n > 1000 {
			return &ValidationError{v.name, "0 to 1000"}
		}
	}
	return nil
}

// AgentSkill is a skill an agent has, with a proficiency from 1 to 10.
type AgentSkill struct {
	SkillID     string `json:"skill_id"`
	Proficiency int    `json:"proficiency"`
}

// Agent is an agent's routing view: presence, capacity, current load.
type Agent struct {
	UserID     string       `json:"user_id"`
	Name       string       `json:"name"`
	Email      string       `json:"email"`
	State      string       `json:"state"`
	AwayReason string       `json:"away_reason,omitempty"`
	StateSince time.Time    `json:"state_since"`
	Capacity   Capacity     `json:"capacity"`
	Load       Capacity     `json:"load"`
	Offers     int          `json:"pending_offers"`
	Skills     []AgentSkill `json:"skills"`
	LastWorkAt *time.Time   `json:"last_work_at"`
}

// ErrUnknownAgent: no such user in the workspace.
var ErrUnknownAgent = errors.New("routing: no such agent")

// ensureAgent creates the agent's state row (offline, default capacity)
// when it does not exist yet.
func (r *Router) ensureAgent(ctx context.Context, tx *store.Tx, workspaceID, userID string, now time.Time) error {
	var ok int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE workspace_id = ? AND id = ? AND NOT disabled`, workspaceID, userID).Scan(&ok)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownAgent
	}
	if err != nil {
		return err
	}
	us := store.Micros(now)
	_, err = tx.ExecContext(ctx, `INSERT INTO agent_states (user_id, workspace_id, state, state_since, updated_at) VALUES (?, ?, 'offline', ?, ?)
		ON CONFLICT (user_id) DO NOTHING`, userID, workspaceID, us, us)
	return err
}

// SetState changes an agent's presence. Going away stops new offers and
// returns pending ones to the queue; going offline also returns the
// agent's active cases to their queues (the owner is kept: it is who the
// case was last routed to).
func (r *Router) SetState(ctx context.Context, workspaceID, actorID, userID, state, reason string) (Agent, error) {
	switch state {
	case StateAvailable, StateOffline:
		reason = ""
	case StateAway:
		reason = strings.TrimSpace(reason)
		if len(reason) > 100 {
			return Agent{}, &ValidationError{"away_reason", "at most 100 characters"}
		}
	default:
		return Agent{}, &ValidationError{"state", "one of available, away, offline"}
	}
	now := r.now().UTC()
	var requeued []string
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		requeued = requeued[:0]
		if err := r.lock(ctx, tx, workspaceID); err != nil {
			return err
		}
		if err := r.ensureAgent(ctx, tx, workspaceID, userID, now); err != nil {
			return err
		}
		var prev string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM agent_states WHERE user_id = ?`, userID).Scan(&prev); err != nil {
			return err
		}
		us := store.Micros(now)
		if _, err := tx.ExecContext(ctx, `UPDATE agent_states SET state = ?, away_reason = ?, updated_at = ?,
			state_since = CASE WHEN state = ? THEN state_since ELSE ? END WHERE user_id = ?`, state, reason, us, state, us, userID); err != nil {
			return err
		}
		if state != StateAvailable {
			ids, err := r.cancelOffersOf(ctx, tx, workspaceID, userID, now)
			if err != nil {
				return err
			}
			requeued = append(requeued, ids...)
		}
		if state == StateOffline {
			ids, err := r.requeueAssigned(ctx, tx, workspaceID, userID, now)
			if err != nil {
				return err
			}
			requeued = append(requeued, ids...)
		}
		if prev != state {
			r.emit(tx, Event{Type: EventAgentState, WorkspaceID: workspaceID, Data: map[string]any{"user_id": userID, "state": state, "away_reason": reason, "previous_state": prev}, At: now})
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "agent.state_changed", EntityType: "user", EntityID: userID,
			Details: map[string]any{"from": prev, "to": state, "reason": reason, "requeued": len(requeued)}, At: now})
	})
	if err != nil {
		return Agent{}, err
	}
	r.Kick(workspaceID)
	return r.Agent(ctx, workspaceID, userID)
}

// cancelOffersOf withdraws an agent's pending offers; their cases go back
// to the queue.
func (r *Router) cancelOffersOf(ctx context.Context, tx *store.Tx, workspaceID, userID string, now time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, case_id FROM offers WHERE user_id = ? AND status = 'pending'`, userID)
	if err != nil {
		return nil, err
	}
	type pair struct{ offer, kase string }
	var ps []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.offer, &p.kase); err != nil {
			rows.Close()
			return nil, err
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range ps {
		if _, err := tx.ExecContext(ctx, `UPDATE offers SET status = 'cancelled', answered_at = ? WHERE id = ? AND status = 'pending'`, store.Micros(now), p.offer); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET routing_state = 'queued' WHERE id = ? AND routing_state = 'offered'`, p.kase); err != nil {
			return nil, err
		}
		r.emit(tx, Event{Type: EventOfferCancelled, WorkspaceID: workspaceID, CaseID: p.kase, Data: map[string]any{"offer_id": p.offer, "user_id": userID, "case_id": p.kase}, At: now})
		ids = append(ids, p.kase)
	}
	return ids, nil
}

// requeueAssigned returns an agent's active cases to their skills' queues
// (cases without a skill just lose their inbox assignee).
func (r *Router) requeueAssigned(ctx context.Context, tx *store.Tx, workspaceID, userID string, now time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, point_of_contact_id, skill_id FROM cases WHERE assignee_id = ? AND workspace_id = ? AND status IN ('new','open','escalated')`, userID, workspaceID)
	if err != nil {
		return nil, err
	}
	type c struct {
		id, poc string
		skill   sql.NullString
	}
	var cs []c
	for rows.Next() {
		var x c
		if err := rows.Scan(&x.id, &x.poc, &x.skill); err != nil {
			rows.Close()
			return nil, err
		}
		cs = append(cs, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	us := store.Micros(now)
	var ids []string
	for _, x := range cs {
		state := ""
		if x.skill.Valid {
			state = StateQueued
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET assignee_id = NULL, routing_state = ?, queued_at = COALESCE(queued_at, created_at), updated_at = ? WHERE id = ?`, state, us, x.id); err != nil {
			return nil, err
		}
		r.emit(tx, Event{Type: EventCaseRequeued, WorkspaceID: workspaceID, PointOfContactID: x.poc, CaseID: x.id,
			Data: map[string]any{"id": x.id, "assignee_id": nil, "previous_assignee_id": userID, "reason": "agent_offline", "routing_state": state}, At: now})
		ids = append(ids, x.id)
	}
	return ids, nil
}

// SetCapacity changes an agent's limits.
func (r *Router) SetCapacity(ctx context.Context, workspaceID, actorID, userID string, c Capacity) (Agent, error) {
	if err := c.validate(); err != nil {
		return Agent{}, err
	}
	now := r.now().UTC()
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		if err := r.ensureAgent(ctx, tx, workspaceID, userID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agent_states SET cap_chat = ?, cap_messaging = ?, cap_email = ?, cap_social = ?, cap_total = ?, updated_at = ? WHERE user_id = ?`,
			c.Chat, c.Messaging, c.Email, c.Social, c.Total, store.Micros(now), userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "agent.capacity_changed", EntityType: "user", EntityID: userID,
			Details: map[string]any{"capacity": c}, At: now})
	})
	if err != nil {
		return Agent{}, err
	}
	r.Kick(workspaceID)
	return r.Agent(ctx, workspaceID, userID)
}

// SetSkills replaces an agent's skills and proficiencies.
func (r *Router) SetSkills(ctx context.Context, workspaceID, actorID, userID string, skills []AgentSkill) (Agent, error) {
	seen := map[string]bool{}
	for i, s := range skills {
		if s.Proficiency == 0 {
			skills[i].Proficiency = 5
		} else if s.Proficiency < 1 || s.Proficiency > 10 {
			return Agent{}, &ValidationError{fmt.Sprintf("skills[%d].proficiency", i), "1 to 10"}
		}
		if seen[s.SkillID] {
			return Agent{}, &ValidationError{fmt.Sprintf("skills[%d].skill_id", i), "listed twice"}
		}
		seen[s.SkillID] = true
	}
	now := r.now().UTC()
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		if err := r.ensureAgent(ctx, tx, workspaceID, userID, now); err != nil {
			return err
		}
		for i, s := range skills {
			var ok int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM skills WHERE workspace_id = ? AND id = ?`, workspaceID, s.SkillID).Scan(&ok); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return &ValidationError{fmt.Sprintf("skills[%d].skill_id", i), "no such skill"}
				}
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_skills WHERE workspace_id = ? AND user_id = ?`, workspaceID, userID); err != nil {
			return err
		}
		for _, s := range skills {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_skills (workspace_id, user_id, skill_id, proficiency) VALUES (?, ?, ?, ?)`, workspaceID, userID, s.SkillID, s.Proficiency); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "agent.skills_changed", EntityType: "user", EntityID: userID,
			Details: map[string]any{"skills": skills}, At: now})
	})
	if err != nil {
		return Agent{}, err
	}
	r.Kick(workspaceID)
	return r.Agent(ctx, workspaceID, userID)
}

// Agent reads one agent's routing view.
func (r *Router) Agent(ctx context.Context, workspaceID, userID string) (Agent, error) {
	as, err := r.agents(ctx, workspaceID, userID)
	if err != nil {
		return Agent{}, err
	}
	if len(as) == 0 {
		return Agent{}, store.ErrNotFound
	}
	return as[0], nil
}

// Agents lists every enabled user of the workspace with presence, capacity
// and load (users who never set a state are offline).
func (r *Router) Agents(ctx context.Context, workspaceID string) ([]Agent, error) {
	return r.agents(ctx, workspaceID, "")
}

func (r *Router) agents(ctx context.Context, workspaceID, only string) ([]Agent, error) {
	q := `SELECT u.id, u.name, u.email, COALESCE(a.state, 'offline'), COALESCE(a.away_reason, ''), COALESCE(a.state_since, u.created_at),
		COALESCE(a.cap_chat, ?), COALESCE(a.cap_messaging, ?), COALESCE(a.cap_email, ?), COALESCE(a.cap_social, ?), COALESCE(a.cap_total, ?), COALESCE(a.last_work_at, 0)
		FROM users u LEFT JOIN agent_states a ON a.user_id = u.id WHERE u.workspace_id = ? AND NOT u.disabled`
	d := DefaultCapacity
	args := []any{d.Chat, d.Messaging, d.Email, d.Social, d.Total, workspaceID}
	if only != "" {
		q += ` AND u.id = ?`
		args = append(args, only)
	}
	rows, err := r.db.QueryContext(ctx, q+` ORDER BY u.name, u.id`, args...)
	if err != nil {
		return nil, err
	}
	out := []Agent{}
	index := map[string]int{}
	for rows.Next() {
		var a Agent
		var since, last int64
		if err := rows.Scan(&a.UserID, &a.Name, &a.Email, &a.State, &a.AwayReason, &since, &a.Capacity.Chat, &a.Capacity.Messaging, &a.Capacity.Email,
			&a.Capacity.Social, &a.Capacity.Total, &last); err != nil {
			rows.Close()
			return nil, err
		}
		a.StateSince = store.Time(since)
		if last > 0 {
			t := store.Time(last)
			a.LastWorkAt = &t
		}
		a.Skills = []AgentSkill{}
		index[a.UserID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	loads, err := loadsOf(ctx, r.db, workspaceID)
	if err != nil {
		return nil, err
	}
	for id, l := range loads {
		if i, ok := index[id]; ok {
			out[i].Load = l.all()
			out[i].Offers = l.offers.Total
		}
	}
	srows, err := r.db.QueryContext(ctx, `SELECT user_id, skill_id, proficiency FROM user_skills WHERE workspace_id = ?`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	for srows.Next() {
		var uid string
		var s AgentSkill
		if err := srows.Scan(&uid, &s.SkillID, &s.Proficiency); err != nil {
			return nil, err
		}
		if i, ok := index[uid]; ok {
			out[i].Skills = append(out[i].Skills, s)
		}
	}
	for i := range out {
		sort.Slice(out[i].Skills, func(a, b int) bool { return out[i].Skills[a].SkillID < out[i].Skills[b].SkillID })
	}
	return out, srows.Err()
}

// load is what an agent holds: active assigned cases and pending offers.
type load struct {
	held, offers Capacity
}

// all is what counts against capacity: cases held plus offers open.
func (l load) all() Capacity {
	return Capacity{Chat: l.held.Chat + l.offers.Chat, Messaging: l.held.Messaging + l.offers.Messaging, Email: l.held.Email + l.offers.Email,
		Social: l.held.Social + l.offers.Social, Total: l.held.Total + l.offers.Total}
}

// activeStatuses are the statuses that take an agent's capacity. A pending
// case waits on the customer and frees its slot; when the customer answers
// it comes back to the same agent.
const activeStatuses = `('new','open','escalated')`

func loadsOf(ctx context.Context, q store.Querier, workspaceID string) (map[string]*load, error) {
	// One statement, so one snapshot: on PostgreSQL (read committed) two
	// statements could miss a case whose offer was accepted between them —
	// no longer a pending offer, not yet seen as assigned.
	rows, err := q.QueryContext(ctx, `SELECT 'held', assignee_id, channel_type, COUNT(*) FROM cases
		WHERE workspace_id = ? AND assignee_id IS NOT NULL AND status IN `+activeStatuses+` GROUP BY assignee_id, channel_type
		UNION ALL
		SELECT 'offer', o.user_id, c.channel_type, COUNT(*) FROM offers o JOIN cases c ON c.id = o.case_id
		WHERE o.workspace_id = ? AND o.status = 'pending' GROUP BY o.user_id, c.channel_type`, workspaceID, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*load{}
	for rows.Next() {
		var kind, id, ct string
		var n int
		if err := rows.Scan(&kind, &id, &ct, &n); err != nil {
			return nil, err
		}
		l := out[id]
		if l == nil {
			l = &load{}
			out[id] = l
		}
		if kind == "held" {
			l.held.add(ClassOf(ct), n)
		} else {
			l.offers.add(ClassOf(ct), n)
		}
	}
	return out, rows.Err()
}
