package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// call is one Applier or Notifier call as the fakes saw it.
type call struct {
	Method  string
	CaseID  string
	Args    string
	Content json.RawMessage
	Cause   Cause
	At      time.Time
}

// fakeApplier records calls and changes the cases table the way the inbox
// would, reporting status changes back to the engine (with the depth the
// context gives) as the inbox must.
type fakeApplier struct {
	db  *store.DB
	clk *clock
	eng *Engine // set once the engine exists

	mu    sync.Mutex
	calls []call
	// fail makes the next n calls of a method fail (permanently when
	// failPermanent is set).
	fail          map[string]int
	failPermanent bool
	// called, when set, receives every call (tests waiting on Run).
	called chan call
}

func (a *fakeApplier) record(ctx context.Context, method, caseID, args string, content json.RawMessage) error {
	cause, _ := CauseFrom(ctx)
	c := call{Method: method, CaseID: caseID, Args: args, Content: content, Cause: cause, At: a.clk.Now()}
	a.mu.Lock()
	a.calls = append(a.calls, c)
	n := a.fail[method]
	if n > 0 {
		a.fail[method] = n - 1
	}
	permanent := a.failPermanent
	ch := a.called
	a.mu.Unlock()
	if ch != nil {
		ch <- c
	}
	if n > 0 {
		err := fmt.Errorf("%s: injected failure", method)
		if permanent {
			return Permanent(err)
		}
		return err
	}
	return nil
}

func (a *fakeApplier) failNext(method string, n int, permanent bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail == nil {
		a.fail = map[string]int{}
	}
	a.fail[method] = n
	a.failPermanent = permanent
}

func (a *fakeApplier) Calls() []call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *fakeApplier) callsOf(method string) []call {
	var out []call
	for _, c := range a.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (a *fakeApplier) AddTags(ctx context.Context, workspaceID, caseID string, tags []string) error {
	if err := a.record(ctx, "AddTags", caseID, strings.Join(tags, ","), nil); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := a.db.ExecContext(ctx, `INSERT INTO case_tags (workspace_id, case_id, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, workspaceID, caseID, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *fakeApplier) RemoveTags(ctx context.Context, workspaceID, caseID string, tags []string) error {
	if err := a.record(ctx, "RemoveTags", caseID, strings.Join(tags, ","), nil); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := a.db.ExecContext(ctx, `DELETE FROM case_tags WHERE workspace_id = ? AND case_id = ? AND tag = ?`, workspaceID, caseID, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *fakeApplier) SetStatus(ctx context.Context, workspaceID, caseID, status string) error {
	if err := a.record(ctx, "SetStatus", caseID, status, nil); err != nil {
		return err
	}
	var from string
	if err := a.db.QueryRowContext(ctx, `SELECT status FROM cases WHERE workspace_id = ? AND id = ?`, workspaceID, caseID).Scan(&from); err != nil {
		return err
	}
	if from == status {
		return nil
	}
	if _, err := a.db.ExecContext(ctx, `UPDATE cases SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
		status, store.Micros(a.clk.Now()), workspaceID, caseID); err != nil {
		return err
	}
	return a.eng.Handle(ctx, Event{Type: TriggerStatusChanged, WorkspaceID: workspaceID, CaseID: caseID, FromStatus: from, ToStatus: status,
		At: a.clk.Now(), Depth: DepthFrom(ctx)})
}

func (a *fakeApplier) SetPriority(ctx context.Context, workspaceID, caseID string, priority int) error {
	if err := a.record(ctx, "SetPriority", caseID, fmt.Sprint(priority), nil); err != nil {
		return err
	}
	_, err := a.db.ExecContext(ctx, `UPDATE cases SET priority = ? WHERE workspace_id = ? AND id = ?`, priority, workspaceID, caseID)
	return err
}

func (a *fakeApplier) SetField(ctx context.Context, workspaceID, caseID, name string, value any) error {
	b, _ := json.Marshal(value)
	if err := a.record(ctx, "SetField", caseID, name+"="+string(b), nil); err != nil {
		return err
	}
	var doc string
	if err := a.db.QueryRowContext(ctx, `SELECT custom_fields FROM cases WHERE workspace_id = ? AND id = ?`, workspaceID, caseID).Scan(&doc); err != nil {
		return err
	}
	fields := map[string]any{}
	_ = json.Unmarshal([]byte(doc), &fields)
	if value == nil {
		delete(fields, name)
	} else {
		fields[name] = value
	}
	nb, _ := json.Marshal(fields)
	_, err := a.db.ExecContext(ctx, `UPDATE cases SET custom_fields = ? WHERE workspace_id = ? AND id = ?`, string(nb), workspaceID, caseID)
	return err
}

func (a *fakeApplier) Reroute(ctx context.Context, workspaceID, caseID, skillID string) error {
	if err := a.record(ctx, "Reroute", caseID, skillID, nil); err != nil {
		return err
	}
	_, err := a.db.ExecContext(ctx, `UPDATE cases SET skill_id = ? WHERE workspace_id = ? AND id = ?`, skillID, workspaceID, caseID)
	return err
}

func (a *fakeApplier) SendMessage(ctx context.Context, workspaceID, caseID, text string, content json.RawMessage) error {
	return a.record(ctx, "SendMessage", caseID, text, content)
}

// fakeNotifier records emails; it fails the next `fail` sends.
type fakeNotifier struct {
	mu    sync.Mutex
	sent  []email
	fail  int
	calls int
}

type email struct {
	To            []string
	Subject, Body string
}

func (n *fakeNotifier) Notify(ctx context.Context, to []string, subject, body string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	if n.fail > 0 {
		n.fail--
		return errors.New("smtp: 451 try again later")
	}
	n.sent = append(n.sent, email{To: to, Subject: subject, Body: body})
	return nil
}

func (n *fakeNotifier) Sent() []email {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent)
}

// fixture is a workspace with a point of contact, a contact, a skill and an
// engine on a fresh database (SQLite, or PostgreSQL with
// PARLEY_TEST_POSTGRES_URL).
type fixture struct {
	t        testing.TB
	db       *store.DB
	clk      *clock
	applier  *fakeApplier
	notifier *fakeNotifier
	eng      *Engine
	ws       string
	n        int
}

// startTime is when every test's clock starts.
func startTime() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }

func newFixture(t testing.TB, opts ...func(*Options)) *fixture {
	t.Helper()
	db := storetest.Open(t)
	return newFixtureOn(t, db, opts...)
}

func newFixtureOn(t testing.TB, db *store.DB, opts ...func(*Options)) *fixture {
	t.Helper()
	clk := &clock{t: startTime()}
	f := &fixture{t: t, db: db, clk: clk, ws: "ws-1", notifier: &fakeNotifier{}}
	f.applier = &fakeApplier{db: db, clk: clk}
	f.eng = f.engine(db, opts...)
	f.applier.eng = f.eng
	us := store.Micros(clk.Now())
	f.exec(`INSERT INTO workspaces (id, name, created_at) VALUES (?, 'Test', ?)`, f.ws, us)
	f.exec(`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES ('poc-1', ?, 'whatsapp', 'WhatsApp', ?, ?)`, f.ws, us, us)
	f.exec(`INSERT INTO contacts (id, workspace_id, name, created_at, updated_at) VALUES ('contact-1', ?, 'Ana', ?, ?)`, f.ws, us, us)
	f.exec(`INSERT INTO skills (id, workspace_id, name, created_at) VALUES ('skill-billing', ?, 'Billing', ?)`, f.ws, us)
	return f
}

// engine makes an engine on db sharing the fixture's clock and fakes.
func (f *fixture) engine(db *store.DB, opts ...func(*Options)) *Engine {
	o := Options{DB: db, Now: f.clk.Now, Applier: f.applier, Notifier: f.notifier}
	for _, opt := range opts {
		opt(&o)
	}
	return New(o)
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.ExecContext(context.Background(), q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

// newCase inserts a new case (in a thread of its own) and reports
// case_created.
func (f *fixture) newCase() string {
	f.t.Helper()
	f.n++
	id := fmt.Sprintf("case-%04d", f.n)
	thread := "thread-" + id
	us := store.Micros(f.clk.Now())
	f.exec(`INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, created_at) VALUES (?, ?, 'poc-1', 'contact-1', ?, ?)`,
		thread, f.ws, thread, us)
	f.exec(`INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, subject, created_at, updated_at, last_message_at)
		VALUES (?, ?, ?, 'poc-1', 'whatsapp', 'contact-1', 'new', 'Order 1234', ?, ?, ?)`, id, f.ws, thread, us, us, us)
	f.handle(Event{Type: TriggerCaseCreated, CaseID: id})
	return id
}

func (f *fixture) handle(ev Event) {
	f.t.Helper()
	ev.WorkspaceID = f.ws
	if ev.At.IsZero() {
		ev.At = f.clk.Now()
	}
	if err := f.eng.Handle(context.Background(), ev); err != nil {
		f.t.Fatalf("handle %+v: %v", ev, err)
	}
}

// setStatus changes a case's status as an agent would, and reports it.
func (f *fixture) setStatus(caseID, to string) {
	f.t.Helper()
	from := f.status(caseID)
	f.exec(`UPDATE cases SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`, to, store.Micros(f.clk.Now()), f.ws, caseID)
	f.handle(Event{Type: TriggerStatusChanged, CaseID: caseID, FromStatus: from, ToStatus: to})
}

// inbound stores a customer message on a case and reports it.
func (f *fixture) inbound(caseID, text string) string {
	f.t.Helper()
	id := store.NewID()
	us := store.Micros(f.clk.Now())
	f.exec(`INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, text, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'poc-1', 'inbound', 'contact', ?, 'received', ?, ?)`, id, f.ws, caseID, "thread-"+caseID, text, us, us)
	f.handle(Event{Type: TriggerMessageCreated, CaseID: caseID, MessageID: id, Direction: "inbound"})
	return id
}

func (f *fixture) status(caseID string) string {
	f.t.Helper()
	var s string
	if err := f.db.QueryRowContext(context.Background(), `SELECT status FROM cases WHERE workspace_id = ? AND id = ?`, f.ws, caseID).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) tags(caseID string) []string {
	f.t.Helper()
	fc, err := f.eng.loadFacts(context.Background(), f.ws, caseID, Event{CaseID: caseID, At: f.clk.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return fc.kase.Tags
}

func (f *fixture) rule(in RuleInput) Rule {
	f.t.Helper()
	r, err := f.eng.CreateRule(context.Background(), f.ws, "user-1", in)
	if err != nil {
		f.t.Fatalf("create rule %q: %v", in.Name, err)
	}
	return r
}

func (f *fixture) runDue() int {
	f.t.Helper()
	n, err := f.eng.RunDue(context.Background())
	if err != nil {
		f.t.Fatalf("RunDue: %v", err)
	}
	return n
}

func (f *fixture) jobs(caseID string) []Job {
	f.t.Helper()
	jobs, err := f.eng.ListJobs(context.Background(), f.ws, caseID)
	if err != nil {
		f.t.Fatal(err)
	}
	return jobs
}

// jobStatuses counts a case's jobs by status.
func (f *fixture) jobStatuses(caseID string) map[string]int {
	out := map[string]int{}
	for _, j := range f.jobs(caseID) {
		out[j.Status]++
	}
	return out
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func cond(field, op string, value any) Condition {
	c := Condition{Field: field, Op: op}
	if value != nil {
		c.Value = raw(value)
	}
	return c
}

func intp(n int) *int { return &n }

func sameCounts(a, b map[string]int) bool { return maps.Equal(a, b) }
