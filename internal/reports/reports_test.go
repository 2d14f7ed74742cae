package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/reports"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// The fake clock: reports default to the days up to "today".
var now = at("2026-03-31 10:00")

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func tp(s string) *time.Time {
	t := at(s)
	return &t
}

// fixture writes rows straight into the inbox's and router's tables, so
// every time in the data set is exact.
type fixture struct {
	t   testing.TB
	db  *store.DB
	ws  string
	seq int
}

func newWorkspace(t testing.TB, db *store.DB, name, settings string) *fixture {
	f := &fixture{t: t, db: db, ws: store.NewID()}
	f.exec(`INSERT INTO workspaces (id, name, settings, created_at) VALUES (?, ?, ?, ?)`, f.ws, name, settings, store.Micros(at("2026-01-01 00:00")))
	return f
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.ExecContext(context.Background(), q, args...); err != nil {
		f.t.Fatalf("%.60s: %v", q, err)
	}
}

func (f *fixture) next() int { f.seq++; return f.seq }

func (f *fixture) user(name string) string {
	id := store.NewID()
	f.exec(`INSERT INTO users (id, workspace_id, email, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, 'agent', 0, 0)`,
		id, f.ws, fmt.Sprintf("%s-%s@example.com", strings.ToLower(name), id), name)
	return id
}

func (f *fixture) skill(name string) string {
	id := store.NewID()
	f.exec(`INSERT INTO skills (id, workspace_id, name, created_at) VALUES (?, ?, ?, 0)`, id, f.ws, name)
	return id
}

type poc struct{ id, typ string }

func (f *fixture) poc(typ, name string) poc {
	id := store.NewID()
	f.exec(`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0)`, id, f.ws, typ, name)
	return poc{id, typ}
}

// kase is one case of the data set; nil times are NULL.
type kase struct {
	poc                             poc
	skill, owner, status            string
	created                         string
	firstResponse, resolved, closed *time.Time
	lastReply                       *time.Time
	slaKind, slaState               string
	slaStarted                      *time.Time
	messages                        []msg
	acceptedOffers                  []string // answered_at of accepted offers
	otherOffers                     []string // rejected ones: never the start of handling
}

type msg struct{ dir, author, at, status string }

func (f *fixture) kase(k kase) (id, thread string) {
	f.t.Helper()
	n := f.next()
	contact, thread, id := store.NewID(), store.NewID(), store.NewID()
	created := store.Micros(at(k.created))
	f.exec(`INSERT INTO contacts (id, workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, contact, f.ws, fmt.Sprintf("Customer %d", n), created, created)
	f.exec(`INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		thread, f.ws, k.poc.id, contact, fmt.Sprintf("ext-%d", n), created)
	us := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return store.Micros(*t)
	}
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	status := k.status
	if status == "" {
		status = "open"
	}
	var due any
	if k.slaStarted != nil {
		due = store.Micros(k.slaStarted.Add(time.Hour))
	}
	f.exec(`INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, skill_id, owner_id,
		created_at, updated_at, last_message_at, first_response_at, resolved_at, closed_at, last_reply_at, sla_kind, sla_started_at, sla_warn_at, sla_due_at, sla_state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, f.ws, thread, k.poc.id, k.poc.typ, contact, status, null(k.skill), null(k.owner),
		created, created, created, us(k.firstResponse), us(k.resolved), us(k.closed), us(k.lastReply), k.slaKind, us(k.slaStarted), due, due, k.slaState)
	for _, m := range k.messages {
		t := store.Micros(at(m.at))
		st := m.status
		if st == "" {
			st = map[string]string{"inbound": "received", "outbound": "delivered"}[m.dir]
		}
		f.exec(`INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, store.NewID(), f.ws, id, thread, k.poc.id, m.dir, m.author, st, t, t)
	}
	offer := func(answered, status string) {
		user := k.owner
		if user == "" {
			f.t.Fatal("an offer needs the case's owner")
		}
		t := store.Micros(at(answered))
		f.exec(`INSERT INTO offers (id, workspace_id, case_id, user_id, kind, status, offered_at, expires_at, answered_at) VALUES (?, ?, ?, ?, 'push', ?, ?, ?, ?)`,
			store.NewID(), f.ws, id, user, status, t, t+30e6, t)
	}
	for _, a := range k.acceptedOffers {
		offer(a, "accepted")
	}
	for _, a := range k.otherOffers {
		offer(a, "rejected")
	}
	return id, thread
}

func in(t string) msg     { return msg{dir: "inbound", author: "contact", at: t} }
func out(t string) msg    { return msg{dir: "outbound", author: "agent", at: t} }
func bounce(t string) msg { return msg{dir: "inbound", author: "system", at: t} }

// dataSet is workspace A (UTC) of the report tests; the figures the tests
// expect are worked out by hand next to each case.
type dataSet struct {
	*fixture
	chat, whatsapp poc
	billing, tech  string
	alice, bob     string
}

func seedA(t testing.TB, db *store.DB) *dataSet {
	f := newWorkspace(t, db, "A", `{}`)
	d := &dataSet{fixture: f}
	d.chat, d.whatsapp = f.poc("chat", "Web chat"), f.poc("whatsapp", "WhatsApp +33")
	d.billing, d.tech = f.skill("Billing"), f.skill("Tech")
	d.alice, d.bob = f.user("Alice"), f.user("Bob")
	// c1: routed (offer accepted 09:01, a rejected one earlier), answered
	// after 120 s, resolved an hour after the assignment, closed on the 30th.
	f.kase(kase{poc: d.chat, skill: d.billing, owner: d.alice, status: "closed", created: "2026-03-28 09:00",
		firstResponse: tp("2026-03-28 09:02"), lastReply: tp("2026-03-28 10:00"), resolved: tp("2026-03-28 10:01"), closed: tp("2026-03-30 10:01"),
		slaKind: "first_response", slaState: "met", slaStarted: tp("2026-03-28 09:00"),
		acceptedOffers: []string{"2026-03-28 09:01"}, otherOffers: []string{"2026-03-28 09:00"},
		messages: []msg{in("2026-03-28 09:00"), out("2026-03-28 09:02"), in("2026-03-28 09:30"), out("2026-03-28 10:00")}})
	// c2: taken by hand (no offer): handling starts at the first response
	// (600 s after creation); resolved two hours later, past midnight. Its
	// SLA timer is still "running" but answered since it started: met.
	f.kase(kase{poc: d.chat, skill: d.billing, owner: d.bob, status: "resolved", created: "2026-03-28 23:30",
		firstResponse: tp("2026-03-28 23:40"), lastReply: tp("2026-03-28 23:40"), resolved: tp("2026-03-29 01:40"),
		slaKind: "first_response", slaState: "running", slaStarted: tp("2026-03-28 23:30"),
		messages: []msg{in("2026-03-28 23:30"), out("2026-03-28 23:40")}})
	// c3: two accepted offers (12:10, then a transfer at 13:00): handling
	// starts at the first; answered after 1800 s; resolved a day after the
	// assignment; SLA breached (and stays so though answered later). A
	// bounce is not a customer message; a failed send still went out.
	f.kase(kase{poc: d.whatsapp, skill: d.tech, owner: d.alice, status: "resolved", created: "2026-03-29 12:00",
		firstResponse: tp("2026-03-29 12:30"), lastReply: tp("2026-03-30 09:00"), resolved: tp("2026-03-30 12:10"),
		slaKind: "first_response", slaState: "breached", slaStarted: tp("2026-03-29 12:00"),
		acceptedOffers: []string{"2026-03-29 12:10", "2026-03-29 13:00"},
		messages:       []msg{in("2026-03-29 12:00"), out("2026-03-29 12:30"), bounce("2026-03-29 12:31"), {dir: "outbound", author: "agent", at: "2026-03-30 09:00", status: "failed"}}})
	// c4: new, unanswered, no skill, no owner, no SLA.
	f.kase(kase{poc: d.whatsapp, status: "new", created: "2026-03-30 08:00", messages: []msg{in("2026-03-30 08:00")}})
	// c5: answered after 300 s; the customer wrote again and the next-
	// response timer runs unanswered.
	f.kase(kase{poc: d.chat, skill: d.tech, owner: d.bob, created: "2026-03-30 20:00",
		firstResponse: tp("2026-03-30 20:05"), lastReply: tp("2026-03-30 20:05"),
		slaKind: "next_response", slaState: "running", slaStarted: tp("2026-03-30 20:10"),
		messages: []msg{in("2026-03-30 20:00"), out("2026-03-30 20:05"), in("2026-03-30 20:10")}})
	// c6: started by an outbound message (proactive): no first-response time.
	f.kase(kase{poc: d.whatsapp, skill: d.tech, owner: d.alice, status: "pending", created: "2026-03-29 15:00",
		firstResponse: tp("2026-03-29 15:00"), lastReply: tp("2026-03-29 15:00"), messages: []msg{out("2026-03-29 15:00")}})
	// c7: created before the range, resolved in it (handling from the first
	// response, 10:05 the day before: 51,900 s), closed after it.
	f.kase(kase{poc: d.chat, skill: d.billing, owner: d.alice, status: "closed", created: "2026-03-27 10:00",
		firstResponse: tp("2026-03-27 10:05"), lastReply: tp("2026-03-28 00:20"), resolved: tp("2026-03-28 00:30"), closed: tp("2026-03-31 01:00"),
		messages: []msg{in("2026-03-27 10:00"), out("2026-03-27 10:05"), out("2026-03-28 00:20")}})
	// c8: after the range.
	f.kase(kase{poc: d.chat, status: "new", created: "2026-03-31 01:00", messages: []msg{in("2026-03-31 01:00")}})
	// c9: answered after 1200 s, then reopened by the customer: no
	// resolved_at any more.
	f.kase(kase{poc: d.chat, skill: d.billing, owner: d.bob, created: "2026-03-29 09:00",
		firstResponse: tp("2026-03-29 09:20"), lastReply: tp("2026-03-29 09:20"),
		slaKind: "first_response", slaState: "met", slaStarted: tp("2026-03-29 09:00"),
		messages: []msg{in("2026-03-29 09:00"), out("2026-03-29 09:20"), in("2026-03-29 11:00")}})
	return d
}

// seedB is another workspace, in Paris (CET, then CEST from 29 March 2026
// 01:00 UTC), with chat cases around local midnight.
func seedB(t testing.TB, db *store.DB) *fixture {
	f := newWorkspace(t, db, "B", `{"timezone": "Europe/Paris"}`)
	chat := f.poc("chat", "Chat B")
	bob := f.user("Bob")
	// 28 Mar 00:30 CET: inside a Paris range starting on the 28th.
	f.kase(kase{poc: chat, created: "2026-03-27 23:30", messages: []msg{in("2026-03-27 23:30")}})
	// 28 Mar 23:30 CET.
	f.kase(kase{poc: chat, created: "2026-03-28 22:30", owner: bob, firstResponse: tp("2026-03-28 22:40"), resolved: tp("2026-03-28 23:40"),
		acceptedOffers: []string{"2026-03-28 22:35"}, slaKind: "first_response", slaState: "breached", slaStarted: tp("2026-03-28 22:30")})
	// 29 Mar 00:30 CET.
	f.kase(kase{poc: chat, created: "2026-03-28 23:30", firstResponse: tp("2026-03-28 23:35"), messages: []msg{in("2026-03-28 23:30"), out("2026-03-28 23:35")}})
	// 30 Mar 00:30 CEST.
	f.kase(kase{poc: chat, created: "2026-03-29 22:30"})
	// 31 Mar 00:30 CEST: after a Paris range ending on the 30th.
	f.kase(kase{poc: chat, created: "2026-03-30 22:30"})
	return f
}

func run(t *testing.T, s *reports.Service, ws string, q reports.Query) *reports.Report {
	t.Helper()
	r, err := s.Run(context.Background(), ws, q)
	if err != nil {
		t.Fatalf("report %+v: %v", q, err)
	}
	return r
}

func rowByKey(t *testing.T, r *reports.Report, key string) reports.Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Key == key {
			return row
		}
	}
	t.Fatalf("no row %q in %+v", key, r.Rows)
	return reports.Row{}
}

func durations(count int, mean, median, p90 float64) reports.Durations {
	return reports.Durations{Count: count, Mean: mean, Median: median, P90: p90}
}

func days(d ...reports.Day) []reports.Day { return d }

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// approx compares durations to a microsecond.
func approx(t *testing.T, what string, got, want reports.Durations) {
	t.Helper()
	close := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if got.Count != want.Count || !close(got.Mean, want.Mean) || !close(got.Median, want.Median) || !close(got.P90, want.P90) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// TestReportByChannel checks every figure of a report grouped by channel
// on the fixed data set, while another workspace's cases sit in the same
// days on the same channel types.
func TestReportByChannel(t *testing.T) {
	db := storetest.Open(t)
	a := seedA(t, db)
	seedB(t, db)
	s := reports.New(db, func() time.Time { return now })
	r := run(t, s, a.ws, reports.Query{From: "2026-03-28", To: "2026-03-30", Group: "channel"})

	equal(t, "header", []string{r.From, r.To, r.TimeZone, r.Group}, []string{"2026-03-28", "2026-03-30", "UTC", "channel"})
	if len(r.Rows) != 2 || r.Rows[0].Key != "chat" || r.Rows[1].Key != "whatsapp" {
		t.Fatalf("rows (most cases created first): %+v", r.Rows)
	}
	chat, wa, tot := r.Rows[0], r.Rows[1], r.Totals
	type counts struct {
		Label, Key                         string
		Created, Resolved, Closed, In, Out int
		SLA                                reports.SLA
	}
	c := func(r reports.Row) counts {
		return counts{r.Label, r.Key, r.Created, r.Resolved, r.Closed, r.MessagesIn, r.MessagesOut, r.SLA}
	}
	// chat: created c1 c2 c5 c9; resolved c1 c2 c7; closed c1; messages
	// in c1×2 c2 c5×2 c9×2, out c1×2 c2 c5 c7 c9; SLA met c1 c2 c9,
	// running c5.
	equal(t, "chat", c(chat), counts{"chat", "chat", 4, 3, 1, 7, 6, reports.SLA{Met: 3, Running: 1}})
	// whatsapp: created c3 c4 c6; resolved c3; in c3 c4 (not the
	// bounce), out c3×2 (one failed) c6; SLA breached c3.
	equal(t, "whatsapp", c(wa), counts{"whatsapp", "whatsapp", 3, 1, 0, 2, 3, reports.SLA{Breached: 1}})
	equal(t, "totals", c(tot), counts{"", "", 7, 4, 1, 9, 9, reports.SLA{Met: 3, Breached: 1, Running: 1}})
	equal(t, "SLA percent", []float64{chat.SLA.Percent(), wa.SLA.Percent(), tot.SLA.Percent()}, []float64{100, 0, 75})

	// First response (s): chat 120 (c1), 600 (c2), 300 (c5), 1200 (c9);
	// whatsapp 1800 (c3; c6 was proactive).
	approx(t, "chat first response", chat.FirstResponse, durations(4, 555, 450, 1020))
	approx(t, "whatsapp first response", wa.FirstResponse, durations(1, 1800, 1800, 1800))
	approx(t, "total first response", tot.FirstResponse, durations(5, 804, 600, 1560))
	// Handle time (s): chat 3600 (c1, from its offer), 7200 (c2, from its
	// first response), 51900 (c7); whatsapp 86400 (c3, from its first
	// offer).
	approx(t, "chat handle time", chat.HandleTime, durations(3, 20900, 7200, 42960))
	approx(t, "whatsapp handle time", wa.HandleTime, durations(1, 86400, 86400, 86400))
	approx(t, "total handle time", tot.HandleTime, durations(4, 37275, 29550, 76050))

	equal(t, "chat days", chat.Days, days(
		reports.Day{Date: "2026-03-28", Created: 2, Resolved: 2, MessagesIn: 3, MessagesOut: 4},
		reports.Day{Date: "2026-03-29", Created: 1, Resolved: 1, MessagesIn: 2, MessagesOut: 1},
		reports.Day{Date: "2026-03-30", Created: 1, Closed: 1, MessagesIn: 2, MessagesOut: 1}))
	equal(t, "whatsapp days", wa.Days, days(
		reports.Day{Date: "2026-03-28"},
		reports.Day{Date: "2026-03-29", Created: 2, MessagesIn: 1, MessagesOut: 2},
		reports.Day{Date: "2026-03-30", Created: 1, Resolved: 1, MessagesIn: 1, MessagesOut: 1}))
	equal(t, "total days", tot.Days, days(
		reports.Day{Date: "2026-03-28", Created: 2, Resolved: 2, MessagesIn: 3, MessagesOut: 4},
		reports.Day{Date: "2026-03-29", Created: 3, Resolved: 1, MessagesIn: 3, MessagesOut: 3},
		reports.Day{Date: "2026-03-30", Created: 2, Resolved: 1, Closed: 1, MessagesIn: 3, MessagesOut: 2}))

	// The same figures by point of contact, labelled with its name.
	byPoc := run(t, s, a.ws, reports.Query{From: "2026-03-28", To: "2026-03-30", Group: "point_of_contact"})
	p := rowByKey(t, byPoc, a.chat.id)
	equal(t, "chat point of contact", c(p), counts{"Web chat", a.chat.id, 4, 3, 1, 7, 6, reports.SLA{Met: 3, Running: 1}})
	equal(t, "chat point of contact days", p.Days, chat.Days)
	equal(t, "whatsapp point of contact", rowByKey(t, byPoc, a.whatsapp.id).Label, "WhatsApp +33")
	equal(t, "totals do not depend on the grouping", byPoc.Totals, r.Totals)

	// JSON: durations in seconds, null statistics when nothing was measured.
	one := run(t, s, a.ws, reports.Query{From: "2026-03-30", To: "2026-03-30", Group: "channel"})
	raw, _ := json.Marshal(rowByKey(t, one, "whatsapp"))
	for _, want := range []string{`"first_response":{"count":0,"mean_seconds":null,"median_seconds":null,"p90_seconds":null}`,
		`"handle_time":{"count":1,"mean_seconds":86400,"median_seconds":86400,"p90_seconds":86400}`,
		`"sla":{"met":0,"breached":0,"running":0,"percent":null}`, `"days":[{"date":"2026-03-30","created":1,"resolved":1,"closed":0,"messages_in":1,"messages_out":1}]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("JSON lacks %s:\n%s", want, raw)
		}
	}
}

// TestReportBySkillAndAgent groups the same cases by skill and by owner,
// with names as labels and "" for cases without one.
func TestReportBySkillAndAgent(t *testing.T) {
	db := storetest.Open(t)
	a := seedA(t, db)
	seedB(t, db)
	s := reports.New(db, func() time.Time { return now })
	q := reports.Query{From: "2026-03-28", To: "2026-03-30", Group: "skill"}
	r := run(t, s, a.ws, q)
	type fig struct {
		Label                      string
		Created, Resolved, FRT, HT int
	}
	f := func(r reports.Row) fig {
		return fig{r.Label, r.Created, r.Resolved, r.FirstResponse.Count, r.HandleTime.Count}
	}
	if len(r.Rows) != 3 {
		t.Fatalf("skill rows: %+v", r.Rows)
	}
	// Billing: c1 c2 c9 created, c1 c2 c7 resolved; Tech: c3 c5 c6
	// created (c6 proactive), c3 resolved; none: c4.
	equal(t, "billing", f(rowByKey(t, r, a.billing)), fig{"Billing", 3, 3, 3, 3})
	equal(t, "tech", f(rowByKey(t, r, a.tech)), fig{"Tech", 3, 1, 2, 1})
	equal(t, "no skill", f(rowByKey(t, r, "")), fig{"", 1, 0, 0, 0})
	approx(t, "billing handle time", rowByKey(t, r, a.billing).HandleTime, durations(3, 20900, 7200, 42960))
	approx(t, "tech first response", rowByKey(t, r, a.tech).FirstResponse, durations(2, 1050, 1050, 1650))
	equal(t, "no skill is last", r.Rows[2].Key, "")

	q.Group = "agent"
	r = run(t, s, a.ws, q)
	// Alice owns c1 c3 c6 (created) and c1 c3 c7 (resolved); Bob c2 c5 c9
	// and c2; nobody c4.
	equal(t, "alice", f(rowByKey(t, r, a.alice)), fig{"Alice", 3, 3, 2, 3})
	equal(t, "bob", f(rowByKey(t, r, a.bob)), fig{"Bob", 3, 1, 3, 1})
	equal(t, "no owner", f(rowByKey(t, r, "")), fig{"", 1, 0, 0, 0})
	approx(t, "alice handle time", rowByKey(t, r, a.alice).HandleTime, durations(3, 47300, 51900, 79500))
	approx(t, "bob first response", rowByKey(t, r, a.bob).FirstResponse, durations(3, 700, 600, 1080))
}

// TestReportTimeZoneAndIsolation: workspace B reports in Paris time (days
// cut at local midnight across the change to summer time), sees none of
// A's cases, and A sees none of B's.
func TestReportTimeZoneAndIsolation(t *testing.T) {
	db := storetest.Open(t)
	a := seedA(t, db)
	b := seedB(t, db)
	s := reports.New(db, func() time.Time { return now })

	r := run(t, s, b.ws, reports.Query{From: "2026-03-28", To: "2026-03-30", Group: "channel"})
	equal(t, "zone", r.TimeZone, "Europe/Paris")
	if len(r.Rows) != 1 || r.Rows[0].Key != "chat" {
		t.Fatalf("B's rows: %+v", r.Rows)
	}
	var created []int
	for _, d := range r.Totals.Days {
		created = append(created, d.Created)
	}
	equal(t, "B's cases per Paris day", created, []int{2, 1, 1})
	equal(t, "B's other figures", []int{r.Totals.Created, r.Totals.Resolved, r.Totals.MessagesIn, r.Totals.MessagesOut, r.Totals.SLA.Breached},
		[]int{4, 1, 2, 1, 1})
	approx(t, "B's first response", r.Totals.FirstResponse, durations(2, 450, 450, 570))
	approx(t, "B's handle time (from the offer)", r.Totals.HandleTime, durations(1, 3900, 3900, 3900))
	// B's message of 27 Mar 23:30 UTC is on 28 Mar in Paris; the case
	// resolved at 23:40 UTC on the 28th was resolved on the 29th there.
	equal(t, "B's first days", r.Totals.Days[:2], days(reports.Day{Date: "2026-03-28", Created: 2, MessagesIn: 1},
		reports.Day{Date: "2026-03-29", Created: 1, Resolved: 1, MessagesIn: 1, MessagesOut: 1}))

	// Defaults: the 30 Paris days up to today (31 Mar in Paris).
	r = run(t, s, b.ws, reports.Query{})
	equal(t, "default range", []string{r.From, r.To, r.Group}, []string{"2026-03-02", "2026-03-31", "channel"})
	equal(t, "B's cases in 30 days", r.Totals.Created, 5)
	equal(t, "days in the default range", len(r.Totals.Days), 30)

	// A's report does not change with B's data, nor B's with A's.
	ra := run(t, s, a.ws, reports.Query{From: "2026-03-01", To: "2026-03-31"})
	equal(t, "A's cases in March", ra.Totals.Created, 9)
	equal(t, "A's messages in March", []int{ra.Totals.MessagesIn, ra.Totals.MessagesOut}, []int{11, 10})
	for _, g := range reports.Groups {
		r := run(t, s, b.ws, reports.Query{From: "2026-03-01", To: "2026-03-31", Group: g})
		for _, row := range r.Rows {
			if row.Key == a.chat.id || row.Key == a.billing || row.Key == a.alice || row.Key == a.bob || row.Key == "whatsapp" {
				t.Errorf("B's report by %s shows A's %q", g, row.Key)
			}
		}
		equal(t, "B's cases by "+g, r.Totals.Created, 5)
	}
	// A workspace without cases: no rows, zero totals.
	empty := newWorkspace(t, db, "C", `{"timezone": "Not/AZone"}`)
	r = run(t, s, empty.ws, reports.Query{From: "2026-03-28", To: "2026-03-30"})
	if len(r.Rows) != 0 || r.Totals.Created != 0 || r.TimeZone != "UTC" {
		t.Errorf("empty workspace with an unknown zone: %+v", r)
	}
}

func TestReportRefusesBadQueries(t *testing.T) {
	db := storetest.Open(t)
	a := seedA(t, db)
	s := reports.New(db, func() time.Time { return now })
	for _, c := range []struct {
		q     reports.Query
		field string
	}{
		{reports.Query{Group: "team"}, "group"},
		{reports.Query{From: "28/03/2026"}, "from"},
		{reports.Query{To: "2026-02-30"}, "to"},
		{reports.Query{From: "2026-03-30", To: "2026-03-28"}, "from"},
		{reports.Query{From: "2025-01-01", To: "2026-03-28"}, "from"},
	} {
		_, err := s.Run(context.Background(), a.ws, c.q)
		var ve *reports.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field {
			t.Errorf("%+v: %v, want a validation error on %s", c.q, err, c.field)
		}
	}
	if _, err := s.Run(context.Background(), store.NewID(), reports.Query{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown workspace: %v", err)
	}
	// The longest range allowed runs.
	if r, err := s.Run(context.Background(), a.ws, reports.Query{From: "2025-03-31", To: "2026-03-31"}); err != nil || len(r.Totals.Days) != reports.MaxDays {
		t.Errorf("a %d-day range: %v", reports.MaxDays, err)
	}
}

func TestReportCSV(t *testing.T) {
	db := storetest.Open(t)
	a := seedA(t, db)
	s := reports.New(db, func() time.Time { return now })
	r := run(t, s, a.ws, reports.Query{From: "2026-03-28", To: "2026-03-30"})
	r.Rows[1].Label = "=HYPERLINK(\"x\")" // a hostile label is not a formula
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	want := `channel,key,created,answered,avg_first_response_seconds,median_first_response_seconds,p90_first_response_seconds,resolved,handled,avg_handle_seconds,median_handle_seconds,p90_handle_seconds,closed,messages_in,messages_out,sla_met,sla_breached,sla_running,sla_attainment_percent
chat,chat,4,4,555.0,450.0,1020.0,3,3,20900.0,7200.0,42960.0,1,7,6,3,0,1,100.0
"'=HYPERLINK(""x"")",whatsapp,3,1,1800.0,1800.0,1800.0,1,1,86400.0,86400.0,86400.0,0,2,3,0,1,0,0.0
total,,7,5,804.0,600.0,1560.0,4,4,37275.0,29550.0,76050.0,1,9,9,3,1,1,75.0
`
	if got := buf.String(); got != want {
		t.Errorf("CSV:\n%s\nwant\n%s", got, want)
	}
}

// TestPercentilesMatchPostgres checks the interpolation against
// PostgreSQL's own percentile_cont on the data set.
func TestPercentilesMatchPostgres(t *testing.T) {
	storetest.RequirePostgres(t)
	db := storetest.Open(t)
	a := seedA(t, db)
	s := reports.New(db, func() time.Time { return now })
	r := run(t, s, a.ws, reports.Query{From: "2026-03-28", To: "2026-03-30"})
	var median, p90 float64
	err := db.QueryRowContext(context.Background(), `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), percentile_cont(0.9) WITHIN GROUP (ORDER BY v)
		FROM (SELECT CAST(first_response_at - created_at AS DOUBLE PRECISION) / 1000000 AS v FROM cases WHERE workspace_id = ? AND created_at >= ? AND created_at < ? AND first_response_at > created_at) x`,
		a.ws, store.Micros(at("2026-03-28 00:00")), store.Micros(at("2026-03-31 00:00"))).Scan(&median, &p90)
	if err != nil {
		t.Fatal(err)
	}
	approx(t, "percentile_cont", r.Totals.FirstResponse, durations(r.Totals.FirstResponse.Count, r.Totals.FirstResponse.Mean, median, p90))
}
