package routing

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a workspace with one point of contact per channel class.
type fixture struct {
	t    testing.TB
	db   *store.DB
	clk  *clock
	r    *Router
	ws   string
	pocs map[Class]string
	n    int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := storetest.Open(t)
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	f := &fixture{t: t, db: db, clk: clk, ws: "ws-1", pocs: map[Class]string{}}
	f.r = New(Options{DB: db, Now: clk.Now})
	us := store.Micros(clk.Now())
	f.exec(`INSERT INTO workspaces (id, name, created_at) VALUES (?, 'Sim', ?)`, f.ws, us)
	for cl, typ := range map[Class]string{ClassChat: "chat", ClassMessaging: "whatsapp", ClassEmail: "email", ClassSocial: "facebook"} {
		id := "poc-" + string(cl)
		f.exec(`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`, id, f.ws, typ, id, us, us)
		f.pocs[cl] = id
	}
	f.exec(`INSERT INTO contacts (id, workspace_id, name, created_at, updated_at) VALUES ('contact-1', ?, 'Ana', ?, ?)`, f.ws, us, us)
	return f
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.ExecContext(context.Background(), q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) skill(name string, step, interval, maxPrio, timeout int) string {
	f.t.Helper()
	id := "skill-" + name
	f.exec(`INSERT INTO skills (id, workspace_id, name, created_at, priority_step, priority_interval_seconds, priority_max, offer_timeout_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, f.ws, name, store.Micros(f.clk.Now()), step, interval, maxPrio, timeout)
	return id
}

func (f *fixture) agent(id string, c Capacity, skills map[string]int) {
	f.t.Helper()
	us := store.Micros(f.clk.Now())
	f.exec(`INSERT INTO users (id, workspace_id, email, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, 'agent', ?, ?)`, id, f.ws, id+"@sim.test", id, us, us)
	ctx := context.Background()
	if _, err := f.r.SetCapacity(ctx, f.ws, id, id, c); err != nil {
		f.t.Fatal(err)
	}
	var as []AgentSkill
	for s, p := range skills {
		as = append(as, AgentSkill{SkillID: s, Proficiency: p})
	}
	if _, err := f.r.SetSkills(ctx, f.ws, id, id, as); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.r.SetState(ctx, f.ws, id, id, StateAvailable, ""); err != nil {
		f.t.Fatal(err)
	}
}

// queueCase inserts a new case waiting in a skill's queue.
func (f *fixture) queueCase(skill string, class Class, priority int) string {
	f.t.Helper()
	f.n++
	id := fmt.Sprintf("case-%05d", f.n)
	thread := "thread-" + id
	us := store.Micros(f.clk.Now())
	poc := f.pocs[class]
	typ := map[Class]string{ClassChat: "chat", ClassMessaging: "whatsapp", ClassEmail: "email", ClassSocial: "facebook"}[class]
	f.exec(`INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, created_at) VALUES (?, ?, ?, 'contact-1', ?, ?)`, thread, f.ws, poc, thread, us)
	f.exec(`INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, priority, skill_id, created_at, updated_at, last_message_at,
		routing_state, queued_at) VALUES (?, ?, ?, ?, ?, 'contact-1', 'new', ?, ?, ?, ?, ?, 'queued', ?)`, id, f.ws, thread, poc, typ, priority, skill, us, us, us, us)
	return id
}

// recorder is a Publisher that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []realtime.Event
}

func (r *recorder) Publish(events ...realtime.Event) {
	r.mu.Lock()
	r.events = append(r.events, events...)
	r.mu.Unlock()
}

func (r *recorder) Active() bool { return true }

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}
