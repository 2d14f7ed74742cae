package routing

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"hash/fnv"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Routing states of a case (cases.routing_state).
const (
	StateNone     = ""
	StatePending  = "pending" // new; its default script has not run yet
	StateQueued   = "queued"
	StateOffered  = "offered"
	StateAssigned = "assigned"
)

// Live events the router publishes.
const (
	EventOfferCreated   = "offer.created"
	EventOfferAccepted  = "offer.accepted"
	EventOfferRejected  = "offer.rejected"
	EventOfferExpired   = "offer.expired"
	EventOfferCancelled = "offer.cancelled"
	EventAgentState     = "agent.state"
	EventCaseRequeued   = "case.updated"
	EventCaseAssigned   = "case.updated"
	EventSLAWarning     = "sla.warning"
	EventSLABreached    = "sla.breached"
)

// Errors the API maps to status codes.
var (
	// ErrOfferGone: the offer was answered, withdrawn or timed out (409).
	ErrOfferGone = errors.New("routing: the offer is no longer open")
	// ErrQueueEmpty: nothing waits that this agent can take (404 on pull).
	ErrQueueEmpty = errors.New("routing: no waiting case for this agent")
	// ErrNoCapacity: the agent is at capacity or not available (409).
	ErrNoCapacity = errors.New("routing: the agent has no free capacity or is not available")
)

// Event is a live event the router emits after its transaction commits.
type Event struct {
	Type             string
	WorkspaceID      string
	PointOfContactID string
	CaseID           string
	Data             any
	At               time.Time
}

// Publisher receives events after commit (the realtime hub).
type Publisher interface {
	Publish(events ...realtime.Event)
	Active() bool
}

// Options configure a Router.
type Options struct {
	DB        *store.DB
	Now       func() time.Time
	Publisher Publisher
	Logger    *slog.Logger
	// Tick is how often the router looks at every workspace with waiting
	// cases or open offers on its own (offers time out, priorities age, a
	// kick may have been missed on another node). Default 1 s.
	Tick time.Duration
	// OnAssigned, when set, is told after commit which cases got an agent
	// (the inbox, to push live updates; tests).
	OnAssigned func(workspaceID, caseID, userID string)
	// Hours reads skills' business hours for SLA deadlines (nil: SLA
	// targets count calendar time).
	Hours HoursParser
}

// Router is the digital ACD: per-skill queues ordered by effective priority
// then arrival, offers to the best available agent with the skill, offer
// time-outs, pull mode, transfers. Every change that can add to an agent's
// load runs under a per-workspace lock (a PostgreSQL advisory transaction
// lock; SQLite has one writer), so several nodes on one database never
// offer a case twice or put an agent over capacity; a unique index on
// pending offers backs the first guarantee in the database itself.
type Router struct {
	db   *store.DB
	now  func() time.Time
	pub  Publisher
	log  *slog.Logger
	tick time.Duration

	onAssigned func(workspaceID, caseID, userID string)
	hours      HoursParser

	mu     sync.Mutex
	kicked map[string]bool
	wake   chan struct{}
}

// New makes a router; call Run to route in the background.
func New(o Options) *Router {
	r := &Router{db: o.DB, now: o.Now, pub: o.Publisher, log: o.Logger, tick: o.Tick, onAssigned: o.OnAssigned, hours: o.Hours,
		kicked: map[string]bool{}, wake: make(chan struct{}, 1)}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.tick <= 0 {
		r.tick = time.Second
	}
	return r
}

// Kick asks the background loop to route a workspace soon.
func (r *Router) Kick(workspaceID string) {
	r.mu.Lock()
	r.kicked[workspaceID] = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run routes kicked workspaces at once and every workspace with waiting
// work on each tick, until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	t := time.NewTicker(r.tick)
	defer t.Stop()
	for {
		var all bool
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-t.C:
			all = true
		}
		r.mu.Lock()
		ws := make([]string, 0, len(r.kicked))
		for id := range r.kicked {
			ws = append(ws, id)
		}
		clear(r.kicked)
		r.mu.Unlock()
		if all {
			more, err := r.busyWorkspaces(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("routing: listing workspaces", "err", err)
			}
			ws = append(ws, more...)
		}
		done := map[string]bool{}
		for _, id := range ws {
			if done[id] {
				continue
			}
			done[id] = true
			if _, err := r.Route(ctx, id); err != nil && ctx.Err() == nil {
				r.log.Warn("routing pass failed", "workspace", id, "err", err)
			}
		}
	}
}

func (r *Router) busyWorkspaces(ctx context.Context) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT DISTINCT workspace_id FROM cases WHERE routing_state = 'queued'
		UNION SELECT DISTINCT workspace_id FROM offers WHERE status = 'pending'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// lock serialises load-changing routing work of one workspace across nodes.
func (r *Router) lock(ctx context.Context, tx *store.Tx, workspaceID string) error {
	if tx.Dialect() != store.Postgres {
		return nil // one writer: the transaction is already exclusive
	}
	h := fnv.New64a()
	h.Write([]byte("parley.routing:" + workspaceID))
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(h.Sum64()))
	return err
}

func (r *Router) emit(tx *store.Tx, events ...Event) {
	if r.pub == nil || len(events) == 0 {
		return
	}
	tx.AfterCommit(func() {
		if !r.pub.Active() {
			return
		}
		out := make([]realtime.Event, len(events))
		for i, e := range events {
			b, _ := json.Marshal(e.Data)
			out[i] = realtime.Event{ID: store.NewID(), Type: e.Type, WorkspaceID: e.WorkspaceID, PointOfContactID: e.PointOfContactID, CaseID: e.CaseID, Data: b, At: e.At}
		}
		r.pub.Publish(out...)
	})
}

// Enqueue puts a case in a skill's queue inside the caller's transaction
// (after its script ran, on a transfer, on reopening). A case already in
// the queue keeps its place.
func Enqueue(ctx context.Context, tx *store.Tx, caseID, skillID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE cases SET skill_id = ?, routing_state = 'queued', queued_at = COALESCE(queued_at, ?)
		WHERE id = ? AND routing_state IN ('', 'pending', 'queued')`, skillID, store.Micros(now), caseID)
	return err
}

// ---- The routing pass ----

type skillConf struct {
	step, intervalS, max, timeoutS int64
}

// effective is a case's priority after ageing: it rises by step every
// interval it has waited, up to max (never below its own priority).
func (k skillConf) effective(priority int64, queuedAt, now int64) int64 {
	if k.step <= 0 || k.intervalS <= 0 {
		return priority
	}
	age := (now - queuedAt) / 1e6
	if age < 0 {
		age = 0
	}
	p := priority + k.step*(age/k.intervalS)
	return max(priority, min(p, k.max))
}

type queued struct {
	id, skill, poc string
	class          Class
	eff            int64
	queuedAt       int64
}

// less orders a queue: higher effective priority first, then earlier
// arrival, then id (a total order, so every node agrees).
func less(a, b *queued) bool {
	if a.eff != b.eff {
		return a.eff > b.eff
	}
	if a.queuedAt != b.queuedAt {
		return a.queuedAt < b.queuedAt
	}
	return a.id < b.id
}

type candidate struct {
	id       string
	capacity Capacity
	load     Capacity
	lastWork int64
	// workToday counts the cases the agent took today (UTC): among agents
	// with the same room, the one who took fewer goes first, so identical
	// agents end the day with the same share.
	workToday int
	skills    map[string]int // skill → proficiency
}

func (c *candidate) free(cl Class) int {
	return min(c.capacity.Of(cl)-c.load.Of(cl), c.capacity.Total-c.load.Total)
}

// heads is a heap of each skill's next case.
type heads []*skillQueue

type skillQueue struct {
	skill string
	cases []*queued
	next  int
}

func (h heads) Len() int           { return len(h) }
func (h heads) Less(i, j int) bool { return less(h[i].cases[h[i].next], h[j].cases[h[j].next]) }
func (h heads) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heads) Push(x any)        { *h = append(*h, x.(*skillQueue)) }
func (h *heads) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Route runs one routing pass for a workspace: expired offers go back to
// the queue, then waiting cases are offered, best first, to the best
// available agents with room. Order within a skill is strict: a case is
// never offered while a case of the same skill with a higher effective
// priority, or the same priority and an earlier arrival, still waits; a
// head that no agent can take now holds its skill back. Among the agents
// who can take a case, the pick is: not having declined it, most free
// capacity, longest idle, highest proficiency. It returns the offers made.
func (r *Router) Route(ctx context.Context, workspaceID string) (int, error) {
	// Nothing to do without an available agent or an offer to expire: find
	// out with a read, so an idle router never takes the writer.
	var busy int
	if err := r.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM agent_states WHERE workspace_id = ? AND state = 'available')
		+ (SELECT COUNT(*) FROM offers WHERE workspace_id = ? AND status = 'pending')`, workspaceID, workspaceID).Scan(&busy); err != nil {
		return 0, err
	}
	if busy == 0 {
		return 0, nil
	}
	var made []offerMade
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		made = made[:0]
		var err error
		made, err = r.route(ctx, tx, workspaceID)
		return err
	})
	return len(made), err
}

type offerMade struct {
	offerID, caseID, userID string
}

func (r *Router) route(ctx context.Context, tx *store.Tx, workspaceID string) ([]offerMade, error) {
	if err := r.lock(ctx, tx, workspaceID); err != nil {
		return nil, err
	}
	now := r.now().UTC()
	nowUS := store.Micros(now)
	if err := r.expireOffers(ctx, tx, workspaceID, now); err != nil {
		return nil, err
	}
	agents, err := r.candidates(ctx, tx, workspaceID)
	if err != nil || len(agents) == 0 {
		return nil, err
	}
	// Skills some agent with room has; only those queues are read.
	skillsWithRoom := map[string]bool{}
	for _, a := range agents {
		if a.capacity.Total-a.load.Total > 0 {
			for s := range a.skills {
				skillsWithRoom[s] = true
			}
		}
	}
	if len(skillsWithRoom) == 0 {
		return nil, nil
	}
	confs, err := skillConfs(ctx, tx, workspaceID)
	if err != nil {
		return nil, err
	}
	queues, err := r.queues(ctx, tx, workspaceID, confs, skillsWithRoom, nowUS)
	if err != nil || len(queues) == 0 {
		return nil, err
	}
	declined, err := declinedPairs(ctx, tx, workspaceID)
	if err != nil {
		return nil, err
	}
	h := make(heads, 0, len(queues))
	for _, q := range queues {
		h = append(h, q)
	}
	heap.Init(&h)
	var made []offerMade
	for h.Len() > 0 {
		q := h[0]
		c := q.cases[q.next]
		a := pickAgent(agents, c, declined)
		if a == nil {
			heap.Pop(&h) // strict order: this skill waits for its head
			continue
		}
		offerID := store.NewID()
		timeout := confs[c.skill].timeoutS
		if timeout <= 0 {
			timeout = 30
		}
		// Stamped when made, not when the pass began: on PostgreSQL the pass
		// sees answers committed while it ran, and an offer's lifetime must
		// start after the previous offer of its case ended.
		at := r.now().UTC()
		expires := at.Add(time.Duration(timeout) * time.Second)
		if _, err := tx.ExecContext(ctx, `INSERT INTO offers (id, workspace_id, case_id, user_id, skill_id, kind, status, offered_at, expires_at) VALUES (?, ?, ?, ?, ?, 'push', 'pending', ?, ?)`,
			offerID, workspaceID, c.id, a.id, c.skill, store.Micros(at), store.Micros(expires)); err != nil {
			return nil, err
		}
		res, err := tx.ExecContext(ctx, `UPDATE cases SET routing_state = 'offered' WHERE id = ? AND routing_state = 'queued'`, c.id)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, errors.New("routing: case left the queue during a locked pass")
		}
		// Within the pass the agent counts as just served; the stored idle
		// time moves only when work is taken (assign): an agent who lets
		// offers go is not pushed back for cases they never got.
		a.load.add(c.class, 1)
		a.lastWork = nowUS
		made = append(made, offerMade{offerID, c.id, a.id})
		r.emit(tx, Event{Type: EventOfferCreated, WorkspaceID: workspaceID, PointOfContactID: c.poc, CaseID: c.id,
			Data: map[string]any{"offer_id": offerID, "case_id": c.id, "user_id": a.id, "skill_id": c.skill, "expires_at": expires, "effective_priority": c.eff}, At: now})
		q.next++
		if q.next == len(q.cases) {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return made, nil
}

// pickAgent chooses who gets a case, or nil when nobody can take it now.
func pickAgent(agents []*candidate, c *queued, declined map[[2]string]bool) *candidate {
	var best *candidate
	var bestDeclined bool
	for _, a := range agents {
		prof, ok := a.skills[c.skill]
		if !ok || a.free(c.class) <= 0 {
			continue
		}
		d := declined[[2]string{c.id, a.id}]
		if best == nil {
			best, bestDeclined = a, d
			continue
		}
		// Someone who has not declined the case beats someone who has;
		// declining is a preference, not a ban, so a case everyone
		// declined still finds an agent.
		if d != bestDeclined {
			if !d {
				best, bestDeclined = a, d
			}
			continue
		}
		fa, fb := a.capacity.Total-a.load.Total, best.capacity.Total-best.load.Total
		switch {
		case fa != fb:
			if fa > fb {
				best = a
			}
		case a.workToday != best.workToday:
			if a.workToday < best.workToday {
				best = a
			}
		case a.lastWork != best.lastWork:
			if a.lastWork < best.lastWork {
				best = a
			}
		case prof != best.skills[c.skill]:
			if prof > best.skills[c.skill] {
				best = a
			}
		case a.id < best.id:
			best = a
		}
	}
	return best
}

// candidates reads the available agents with their skills and loads.
func (r *Router) candidates(ctx context.Context, tx *store.Tx, workspaceID string) ([]*candidate, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.user_id, a.cap_chat, a.cap_messaging, a.cap_email, a.cap_social, a.cap_total, a.last_work_at,
		CASE WHEN a.work_day = ? THEN a.work_count ELSE 0 END
		FROM agent_states a JOIN users u ON u.id = a.user_id WHERE a.workspace_id = ? AND a.state = 'available' AND NOT u.disabled ORDER BY a.user_id`, dayOf(r.now()), workspaceID)
	if err != nil {
		return nil, err
	}
	byID := map[string]*candidate{}
	var out []*candidate
	for rows.Next() {
		a := &candidate{skills: map[string]int{}}
		if err := rows.Scan(&a.id, &a.capacity.Chat, &a.capacity.Messaging, &a.capacity.Email, &a.capacity.Social, &a.capacity.Total, &a.lastWork, &a.workToday); err != nil {
			rows.Close()
			return nil, err
		}
		byID[a.id] = a
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return nil, err
	}
	srows, err := tx.QueryContext(ctx, `SELECT user_id, skill_id, proficiency FROM user_skills WHERE workspace_id = ?`, workspaceID)
	if err != nil {
		return nil, err
	}
	for srows.Next() {
		var uid, sid string
		var p int
		if err := srows.Scan(&uid, &sid, &p); err != nil {
			srows.Close()
			return nil, err
		}
		if a := byID[uid]; a != nil {
			a.skills[sid] = p
		}
	}
	srows.Close()
	if err := srows.Err(); err != nil {
		return nil, err
	}
	loads, err := loadsOf(ctx, tx, workspaceID)
	if err != nil {
		return nil, err
	}
	for id, l := range loads {
		if a := byID[id]; a != nil {
			a.load = l.all()
		}
	}
	return out, nil
}

func skillConfs(ctx context.Context, q store.Querier, workspaceID string) (map[string]skillConf, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, priority_step, priority_interval_seconds, priority_max, offer_timeout_seconds FROM skills WHERE workspace_id = ?`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]skillConf{}
	for rows.Next() {
		var id string
		var k skillConf
		if err := rows.Scan(&id, &k.step, &k.intervalS, &k.max, &k.timeoutS); err != nil {
			return nil, err
		}
		out[id] = k
	}
	return out, rows.Err()
}

// queues reads the waiting cases of the given skills, each queue sorted.
func (r *Router) queues(ctx context.Context, q store.Querier, workspaceID string, confs map[string]skillConf, skills map[string]bool, nowUS int64) (map[string]*skillQueue, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, skill_id, point_of_contact_id, channel_type, priority, queued_at FROM cases
		WHERE workspace_id = ? AND routing_state = 'queued' AND status IN `+activeStatuses, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*skillQueue{}
	for rows.Next() {
		var c queued
		var skill sql.NullString
		var ct string
		var prio int64
		var at sql.NullInt64
		if err := rows.Scan(&c.id, &skill, &c.poc, &ct, &prio, &at); err != nil {
			return nil, err
		}
		if !skill.Valid || !skills[skill.String] {
			continue
		}
		c.skill, c.class, c.queuedAt = skill.String, ClassOf(ct), at.Int64
		c.eff = confs[c.skill].effective(prio, c.queuedAt, nowUS)
		sq := out[c.skill]
		if sq == nil {
			sq = &skillQueue{skill: c.skill}
			out[c.skill] = sq
		}
		sq.cases = append(sq.cases, &c)
	}
	for _, sq := range out {
		sort.Slice(sq.cases, func(i, j int) bool { return less(sq.cases[i], sq.cases[j]) })
	}
	return out, rows.Err()
}

// declinedPairs lists (case, agent) pairs where the agent rejected the
// waiting case or let its offer time out.
func declinedPairs(ctx context.Context, q store.Querier, workspaceID string) (map[[2]string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT o.case_id, o.user_id FROM offers o JOIN cases c ON c.id = o.case_id
		WHERE c.workspace_id = ? AND c.routing_state = 'queued' AND o.status IN ('rejected', 'expired')`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]bool{}
	for rows.Next() {
		var c, u string
		if err := rows.Scan(&c, &u); err != nil {
			return nil, err
		}
		out[[2]string{c, u}] = true
	}
	return out, rows.Err()
}

// expireOffers times out offers past their deadline and withdraws offers
// for cases that no longer wait (resolved meanwhile); their cases go back
// to the queue.
func (r *Router) expireOffers(ctx context.Context, tx *store.Tx, workspaceID string, now time.Time) error {
	nowUS := store.Micros(now)
	rows, err := tx.QueryContext(ctx, `SELECT o.id, o.case_id, o.user_id, c.point_of_contact_id, c.status FROM offers o JOIN cases c ON c.id = o.case_id
		WHERE o.workspace_id = ? AND o.status = 'pending' AND (o.expires_at <= ? OR c.status NOT IN `+activeStatuses+`)`, workspaceID, nowUS)
	if err != nil {
		return err
	}
	type exp struct{ id, kase, user, poc, status string }
	var es []exp
	for rows.Next() {
		var e exp
		if err := rows.Scan(&e.id, &e.kase, &e.user, &e.poc, &e.status); err != nil {
			rows.Close()
			return err
		}
		es = append(es, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range es {
		status, typ, routing := "expired", EventOfferExpired, StateQueued
		if e.status != "new" && e.status != "open" && e.status != "escalated" {
			status, typ, routing = "cancelled", EventOfferCancelled, StateNone
		}
		if _, err := tx.ExecContext(ctx, `UPDATE offers SET status = ?, answered_at = ? WHERE id = ?`, status, nowUS, e.id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET routing_state = ? WHERE id = ? AND routing_state = 'offered'`, routing, e.kase); err != nil {
			return err
		}
		r.emit(tx, Event{Type: typ, WorkspaceID: workspaceID, PointOfContactID: e.poc, CaseID: e.kase, Data: map[string]any{"offer_id": e.id, "case_id": e.kase, "user_id": e.user}, At: now})
	}
	return nil
}

// ---- Answers, pull, transfer ----

// Offer is an offer as the API shows it.
type Offer struct {
	ID         string     `json:"id"`
	CaseID     string     `json:"case_id"`
	UserID     string     `json:"user_id"`
	SkillID    *string    `json:"skill_id"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	OfferedAt  time.Time  `json:"offered_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AnsweredAt *time.Time `json:"answered_at"`
}

const offerColumns = `id, case_id, user_id, skill_id, kind, status, offered_at, expires_at, answered_at`

func scanOffer(row interface{ Scan(...any) error }) (Offer, error) {
	var o Offer
	var skill sql.NullString
	var at, exp int64
	var ans sql.NullInt64
	if err := row.Scan(&o.ID, &o.CaseID, &o.UserID, &skill, &o.Kind, &o.Status, &at, &exp, &ans); err != nil {
		return o, err
	}
	if skill.Valid {
		o.SkillID = &skill.String
	}
	o.OfferedAt, o.ExpiresAt, o.AnsweredAt = store.Time(at), store.Time(exp), store.NullTime(ans)
	return o, nil
}

// Offers lists an agent's open offers, oldest first.
func (r *Router) Offers(ctx context.Context, workspaceID, userID string) ([]Offer, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+offerColumns+` FROM offers WHERE workspace_id = ? AND user_id = ? AND status = 'pending' AND expires_at > ? ORDER BY offered_at, id`,
		workspaceID, userID, store.Micros(r.now()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Offer{}
	for rows.Next() {
		o, err := scanOffer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Accept takes an offer: the agent becomes the case's inbox assignee and
// owner. An offer past its deadline cannot be accepted, even before a
// pass has expired it.
func (r *Router) Accept(ctx context.Context, workspaceID, userID, offerID string) (Offer, error) {
	now := r.now().UTC()
	var o Offer
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		nowUS := store.Micros(now)
		res, err := tx.ExecContext(ctx, `UPDATE offers SET status = 'accepted', answered_at = ? WHERE id = ? AND workspace_id = ? AND user_id = ? AND status = 'pending' AND expires_at > ?`,
			nowUS, offerID, workspaceID, userID, nowUS)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrOfferGone
		}
		if o, err = scanOffer(tx.QueryRowContext(ctx, `SELECT `+offerColumns+` FROM offers WHERE id = ?`, offerID)); err != nil {
			return err
		}
		return r.assign(ctx, tx, workspaceID, o.CaseID, userID, "offer_accepted", now)
	})
	if err == nil && r.onAssigned != nil {
		r.onAssigned(workspaceID, o.CaseID, userID)
	}
	return o, err
}

func (r *Router) assign(ctx context.Context, tx *store.Tx, workspaceID, caseID, userID, why string, now time.Time) error {
	var poc string
	var prev sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT point_of_contact_id, assignee_id FROM cases WHERE id = ? AND workspace_id = ?`, caseID, workspaceID).Scan(&poc, &prev); err != nil {
		return err
	}
	nowUS := store.Micros(now)
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET assignee_id = ?, owner_id = ?, routing_state = 'assigned', updated_at = ? WHERE id = ?`, userID, userID, nowUS, caseID); err != nil {
		return err
	}
	day := dayOf(now)
	if _, err := tx.ExecContext(ctx, `UPDATE agent_states SET last_work_at = ?, work_count = CASE WHEN work_day = ? THEN work_count + 1 ELSE 1 END, work_day = ? WHERE user_id = ?`,
		nowUS, day, day, userID); err != nil {
		return err
	}
	r.emit(tx, Event{Type: EventCaseAssigned, WorkspaceID: workspaceID, PointOfContactID: poc, CaseID: caseID,
		Data: map[string]any{"id": caseID, "assignee_id": userID, "owner_id": userID, "previous_assignee_id": prev.String, "reason": why}, At: now})
	return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "system", Action: "case.routed", EntityType: "case", EntityID: caseID,
		Details: map[string]any{"user_id": userID, "why": why}, At: now})
}

// Reject declines an offer; the case goes back to the queue (ahead of
// later arrivals) and is offered to someone else first.
func (r *Router) Reject(ctx context.Context, workspaceID, userID, offerID string) error {
	now := r.now().UTC()
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		nowUS := store.Micros(now)
		res, err := tx.ExecContext(ctx, `UPDATE offers SET status = 'rejected', answered_at = ? WHERE id = ? AND workspace_id = ? AND user_id = ? AND status = 'pending'`,
			nowUS, offerID, workspaceID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrOfferGone
		}
		var caseID string
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM offers WHERE id = ?`, offerID).Scan(&caseID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET routing_state = 'queued' WHERE id = ? AND routing_state = 'offered'`, caseID); err != nil {
			return err
		}
		r.emit(tx, Event{Type: EventOfferRejected, WorkspaceID: workspaceID, CaseID: caseID, Data: map[string]any{"offer_id": offerID, "case_id": caseID, "user_id": userID}, At: now})
		return nil
	})
	if err == nil {
		r.Kick(workspaceID)
	}
	return err
}

// RequestNext is pull mode: the agent asks for the next case. It takes the
// best head among the agent's skills' queues that fits the agent's free
// capacity, and assigns it at once.
func (r *Router) RequestNext(ctx context.Context, workspaceID, userID string) (string, error) {
	now := r.now().UTC()
	var caseID string
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		caseID = ""
		if err := r.lock(ctx, tx, workspaceID); err != nil {
			return err
		}
		agents, err := r.candidates(ctx, tx, workspaceID)
		if err != nil {
			return err
		}
		var me *candidate
		for _, a := range agents {
			if a.id == userID {
				me = a
			}
		}
		if me == nil || me.capacity.Total-me.load.Total <= 0 {
			return ErrNoCapacity
		}
		confs, err := skillConfs(ctx, tx, workspaceID)
		if err != nil {
			return err
		}
		nowUS := store.Micros(now)
		qs, err := r.queues(ctx, tx, workspaceID, confs, boolSet(me.skills), nowUS)
		if err != nil {
			return err
		}
		var best *queued
		for _, q := range qs {
			head := q.cases[0] // strict order: only a head may go
			if me.free(head.class) > 0 && (best == nil || less(head, best)) {
				best = head
			}
		}
		if best == nil {
			return ErrQueueEmpty
		}
		res, err := tx.ExecContext(ctx, `UPDATE cases SET routing_state = 'offered' WHERE id = ? AND routing_state = 'queued'`, best.id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errors.New("routing: case left the queue during a locked pull")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO offers (id, workspace_id, case_id, user_id, skill_id, kind, status, offered_at, expires_at, answered_at) VALUES (?, ?, ?, ?, ?, 'pull', 'accepted', ?, ?, ?)`,
			store.NewID(), workspaceID, best.id, userID, best.skill, nowUS, nowUS, nowUS); err != nil {
			return err
		}
		caseID = best.id
		return r.assign(ctx, tx, workspaceID, best.id, userID, "pulled", now)
	})
	if err == nil && r.onAssigned != nil {
		r.onAssigned(workspaceID, caseID, userID)
	}
	return caseID, err
}

// dayOf numbers UTC days, for the daily work count.
func dayOf(t time.Time) int64 { return t.Unix() / 86400 }

func boolSet(m map[string]int) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// Transfer moves a case to another skill's queue (keeping its place by
// arrival) or straight to an agent, who must be available with room.
func (r *Router) Transfer(ctx context.Context, workspaceID, actorID, caseID, toSkillID, toUserID string) error {
	if (toSkillID == "") == (toUserID == "") {
		return &ValidationError{"skill_id", "give exactly one of skill_id or user_id"}
	}
	now := r.now().UTC()
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		if err := r.lock(ctx, tx, workspaceID); err != nil {
			return err
		}
		var status, channelType, poc string
		if err := tx.QueryRowContext(ctx, `SELECT status, channel_type, point_of_contact_id FROM cases WHERE id = ? AND workspace_id = ?`, caseID, workspaceID).Scan(&status, &channelType, &poc); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		if status == "closed" || status == "trashed" {
			return &ValidationError{"case", "a closed or trashed case cannot be transferred"}
		}
		nowUS := store.Micros(now)
		if _, err := tx.ExecContext(ctx, `UPDATE offers SET status = 'cancelled', answered_at = ? WHERE case_id = ? AND status = 'pending'`, nowUS, caseID); err != nil {
			return err
		}
		if toSkillID != "" {
			var ok int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM skills WHERE workspace_id = ? AND id = ?`, workspaceID, toSkillID).Scan(&ok); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return &ValidationError{"skill_id", "no such skill"}
				}
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET skill_id = ?, assignee_id = NULL, routing_state = 'queued', queued_at = COALESCE(queued_at, ?), updated_at = ? WHERE id = ?`,
				toSkillID, nowUS, nowUS, caseID); err != nil {
				return err
			}
			r.emit(tx, Event{Type: EventCaseRequeued, WorkspaceID: workspaceID, PointOfContactID: poc, CaseID: caseID,
				Data: map[string]any{"id": caseID, "skill_id": toSkillID, "assignee_id": nil, "reason": "transfer"}, At: now})
			return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "case.transferred", EntityType: "case", EntityID: caseID,
				Details: map[string]any{"skill_id": toSkillID}, At: now})
		}
		agents, err := r.candidates(ctx, tx, workspaceID)
		if err != nil {
			return err
		}
		var target *candidate
		for _, a := range agents {
			if a.id == toUserID {
				target = a
			}
		}
		if target == nil || target.free(ClassOf(channelType)) <= 0 {
			return ErrNoCapacity
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO offers (id, workspace_id, case_id, user_id, kind, status, offered_at, expires_at, answered_at) VALUES (?, ?, ?, ?, 'transfer', 'accepted', ?, ?, ?)`,
			store.NewID(), workspaceID, caseID, toUserID, nowUS, nowUS, nowUS); err != nil {
			return err
		}
		if err := r.assign(ctx, tx, workspaceID, caseID, toUserID, "transfer", now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "case.transferred", EntityType: "case", EntityID: caseID,
			Details: map[string]any{"user_id": toUserID}, At: now})
	})
	if err == nil {
		r.Kick(workspaceID)
	}
	return err
}

// AssignedByHand brings a case's routing state in line after someone set
// or cleared its assignee directly: an assigned case is no longer offered;
// an active case left without an assignee goes back to its skill's queue.
func (r *Router) AssignedByHand(ctx context.Context, workspaceID, caseID string) error {
	now := r.now().UTC()
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		if err := r.lock(ctx, tx, workspaceID); err != nil {
			return err
		}
		var assignee, skill sql.NullString
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT assignee_id, skill_id, status FROM cases WHERE id = ? AND workspace_id = ?`, caseID, workspaceID).Scan(&assignee, &skill, &status); err != nil {
			return err
		}
		nowUS := store.Micros(now)
		if _, err := tx.ExecContext(ctx, `UPDATE offers SET status = 'cancelled', answered_at = ? WHERE case_id = ? AND status = 'pending'`, nowUS, caseID); err != nil {
			return err
		}
		state := StateNone
		switch {
		case assignee.Valid:
			state = StateAssigned
		case skill.Valid && (status == "new" || status == "open" || status == "escalated"):
			state = StateQueued
		}
		if state == StateQueued {
			_, err := tx.ExecContext(ctx, `UPDATE cases SET routing_state = 'queued', queued_at = COALESCE(queued_at, ?) WHERE id = ?`, nowUS, caseID)
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE cases SET routing_state = ? WHERE id = ?`, state, caseID)
		return err
	})
	if err == nil {
		r.Kick(workspaceID)
	}
	return err
}

// QueueStat is one skill's queue as a supervisor sees it.
type QueueStat struct {
	SkillID      string     `json:"skill_id"`
	SkillName    string     `json:"skill_name"`
	Waiting      int        `json:"waiting"`
	Offered      int        `json:"offered"`
	OldestSince  *time.Time `json:"oldest_since"`
	AgentsOnline int        `json:"agents_available"`
	SLAAtRisk    int        `json:"sla_at_risk"`
	SLABreached  int        `json:"sla_breached"`
}

// Queues reports every skill's queue.
func (r *Router) Queues(ctx context.Context, workspaceID string) ([]QueueStat, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT s.id, s.name,
		(SELECT COUNT(*) FROM cases c WHERE c.workspace_id = s.workspace_id AND c.skill_id = s.id AND c.routing_state = 'queued' AND c.status IN `+activeStatuses+`),
		(SELECT COUNT(*) FROM cases c WHERE c.workspace_id = s.workspace_id AND c.skill_id = s.id AND c.routing_state = 'offered'),
		(SELECT MIN(c.queued_at) FROM cases c WHERE c.workspace_id = s.workspace_id AND c.skill_id = s.id AND c.routing_state = 'queued' AND c.status IN `+activeStatuses+`),
		(SELECT COUNT(*) FROM user_skills us JOIN agent_states a ON a.user_id = us.user_id WHERE us.skill_id = s.id AND a.state = 'available'),
		(SELECT COUNT(*) FROM cases c WHERE c.workspace_id = s.workspace_id AND c.skill_id = s.id AND c.sla_state = 'warning'),
		(SELECT COUNT(*) FROM cases c WHERE c.workspace_id = s.workspace_id AND c.skill_id = s.id AND c.sla_state = 'breached' AND c.status IN `+activeStatuses+`)
		FROM skills s WHERE s.workspace_id = ? ORDER BY s.name`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []QueueStat{}
	for rows.Next() {
		var q QueueStat
		var oldest sql.NullInt64
		if err := rows.Scan(&q.SkillID, &q.SkillName, &q.Waiting, &q.Offered, &oldest, &q.AgentsOnline, &q.SLAAtRisk, &q.SLABreached); err != nil {
			return nil, err
		}
		q.OldestSince = store.NullTime(oldest)
		out = append(out, q)
	}
	return out, rows.Err()
}
