// Package reports owns the reporting SQL: per group (channel, skill,
// agent or point of contact) over a range of days, the cases created,
// resolved and closed, the messages in and out, first-response and handle
// times, SLA attainment and per-day volumes for a chart. It only reads the
// inbox's and the router's tables; every query is scoped by workspace_id.
//
// Definitions (wall-clock time, not business hours):
//
//   - Days are calendar days in the workspace's time zone (the "timezone"
//     of the workspace's settings, an IANA name), else UTC. A range is from
//     the start of its first day to the end of its last, both included.
//   - Created: cases whose created_at falls in the range. First-response
//     time and SLA attainment are measured on these cases.
//   - Resolved: cases whose resolved_at falls in the range. A case that a
//     customer reopened has no resolved_at until it is resolved again, and
//     a case resolved twice counts once, at its last resolution. Handle
//     time is measured on these cases.
//   - Closed: cases whose closed_at falls in the range.
//   - Messages in: customer messages (author "contact") created in the
//     range; bounces and auto-replies (stored as system messages) are left
//     out. Messages out: every outbound message created in the range
//     (agents, bots, automation), whatever its delivery status. Messages
//     are grouped by their case's channel, skill, owner or point of contact.
//   - First-response time: first_response_at − created_at, the first reply
//     on the case by an agent, a bot or automation. Cases started by an
//     outbound message (proactive; their first_response_at is their
//     created_at) are not customer requests and are left out.
//   - Handle time: resolved_at − the start of handling, which is the
//     earlier of the case's first agent assignment (the first accepted
//     offer: pushed and accepted, pulled, or transferred to an agent) and
//     its first response. A case taken by hand (assigned without an offer)
//     thus starts at its first response. Cases resolved with neither have
//     no handle time.
//   - Median and 90th percentile are linearly interpolated between the
//     nearest ranks (as PostgreSQL's percentile_cont); mean is also given.
//   - SLA: the case's response timer (cases.sla_*; one per case: the first
//     response, or the next response once the customer wrote again) counts
//     as met when recorded met, or when the case was answered since the
//     timer started and the checker has not yet recorded it (as the inbox
//     shows it); breached when recorded breached; running otherwise.
//     Percent is met / (met + breached) × 100, null when neither.
//   - Groups: channel (cases.channel_type), skill (cases.skill_id), agent
//     (cases.owner_id: the last agent the case was routed to, who owns its
//     metrics) and point_of_contact. The key "" gathers cases without a
//     skill or without an owner.
package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // workspace zones must not depend on the host's zoneinfo

	"github.com/parleyhq/parley/internal/store"
)

// Groupings.
const (
	ByChannel        = "channel"
	BySkill          = "skill"
	ByAgent          = "agent"
	ByPointOfContact = "point_of_contact"
)

// Groups lists the groupings a report accepts.
var Groups = []string{ByChannel, BySkill, ByAgent, ByPointOfContact}

// MaxDays bounds a report's range.
const MaxDays = 366

// DefaultDays is the range when a query gives no start: the 30 days up to
// and including the end.
const DefaultDays = 30

const dateLayout = "2006-01-02"

// ValidationError names the query parameter that is wrong.
type ValidationError struct{ Field, Reason string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// FieldName and FieldReason let the HTTP layer show the field.
func (e *ValidationError) FieldName() string   { return e.Field }
func (e *ValidationError) FieldReason() string { return e.Reason }

// Query selects a report. From and To are days (YYYY-MM-DD) in the
// workspace's time zone, both included; an empty To is today and an empty
// From the DefaultDays days up to To. Group is one of Groups (default
// channel).
type Query struct {
	From, To string
	Group    string
}

// Report is the result of a query.
type Report struct {
	From     string `json:"from"`
	To       string `json:"to"`
	TimeZone string `json:"time_zone"`
	Group    string `json:"group"`
	Rows     []Row  `json:"rows"`
	Totals   Row    `json:"totals"`
}

// Row is one group's figures (or the totals of every group).
type Row struct {
	Key           string    `json:"key"`
	Label         string    `json:"label"`
	Created       int       `json:"created"`
	Resolved      int       `json:"resolved"`
	Closed        int       `json:"closed"`
	MessagesIn    int       `json:"messages_in"`
	MessagesOut   int       `json:"messages_out"`
	FirstResponse Durations `json:"first_response"`
	HandleTime    Durations `json:"handle_time"`
	SLA           SLA       `json:"sla"`
	Days          []Day     `json:"days"`
}

// Day is one day's volumes.
type Day struct {
	Date        string `json:"date"`
	Created     int    `json:"created"`
	Resolved    int    `json:"resolved"`
	Closed      int    `json:"closed"`
	MessagesIn  int    `json:"messages_in"`
	MessagesOut int    `json:"messages_out"`
}

// Durations summarises durations in seconds; without any (Count 0) the
// statistics are null in JSON.
type Durations struct {
	Count  int
	Mean   float64
	Median float64
	P90    float64
}

// MarshalJSON writes the statistics, null when there is nothing measured.
func (d Durations) MarshalJSON() ([]byte, error) {
	type out struct {
		Count  int      `json:"count"`
		Mean   *float64 `json:"mean_seconds"`
		Median *float64 `json:"median_seconds"`
		P90    *float64 `json:"p90_seconds"`
	}
	if d.Count == 0 {
		return json.Marshal(out{})
	}
	return json.Marshal(out{Count: d.Count, Mean: &d.Mean, Median: &d.Median, P90: &d.P90})
}

// SLA is response-timer attainment.
type SLA struct {
	Met      int `json:"met"`
	Breached int `json:"breached"`
	Running  int `json:"running"`
}

// Percent is met / (met + breached) × 100, or -1 when neither.
func (s SLA) Percent() float64 {
	if s.Met+s.Breached == 0 {
		return -1
	}
	return 100 * float64(s.Met) / float64(s.Met+s.Breached)
}

// MarshalJSON adds the percentage (null when undefined).
func (s SLA) MarshalJSON() ([]byte, error) {
	type plain SLA
	out := struct {
		plain
		Percent *float64 `json:"percent"`
	}{plain: plain(s)}
	if p := s.Percent(); p >= 0 {
		out.Percent = &p
	}
	return json.Marshal(out)
}

// Service runs reports.
type Service struct {
	db  *store.DB
	now func() time.Time
}

// New makes the service; now defaults to time.Now.
func New(db *store.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// timeZone is the workspace's report zone: its settings' "timezone" when
// that is a valid IANA name, else UTC.
func (s *Service) timeZone(ctx context.Context, workspaceID string) (*time.Location, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT settings FROM workspaces WHERE id = ?`, workspaceID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var settings struct {
		Timezone string `json:"timezone"`
	}
	if json.Unmarshal([]byte(raw), &settings) != nil || settings.Timezone == "" {
		return time.UTC, nil
	}
	return zone(settings.Timezone), nil
}

// zone loads an IANA zone, refusing "Local" (a report must mean the same on
// every node whatever its host's zone); anything unusable is UTC.
func zone(name string) *time.Location {
	if name == "Local" || len(name) > 64 || strings.ContainsAny(name, "\x00\\") || strings.HasPrefix(name, "/") {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// span is a query resolved to instants.
type span struct {
	from, to   string    // dates, inclusive
	start, end time.Time // [start, end)
	firstDay   int64     // local day number of from (days since 1970-01-01)
	days       int
	segments   []segment // the zone's offsets over [start, end)
}

// segment is a stretch of time with one UTC offset.
type segment struct {
	start  int64 // unix microseconds
	offset int64 // microseconds east of UTC
}

// resolve validates a query's dates in loc and fills the defaults.
func resolve(q Query, loc *time.Location, now time.Time) (span, error) {
	var sp span
	parse := func(field, v string) (time.Time, error) {
		d, err := time.ParseInLocation(dateLayout, v, loc)
		if err != nil {
			return time.Time{}, &ValidationError{field, "a date, YYYY-MM-DD"}
		}
		return d, nil
	}
	today := now.In(loc)
	to := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	var err error
	if q.To != "" {
		if to, err = parse("to", q.To); err != nil {
			return sp, err
		}
	}
	from := to.AddDate(0, 0, -(DefaultDays - 1))
	if q.From != "" {
		if from, err = parse("from", q.From); err != nil {
			return sp, err
		}
	}
	if from.After(to) {
		return sp, &ValidationError{"from", "must not be after to"}
	}
	sp.from, sp.to = from.Format(dateLayout), to.Format(dateLayout)
	sp.firstDay = civilDay(from)
	sp.days = int(civilDay(to)-sp.firstDay) + 1
	if sp.days > MaxDays {
		return sp, &ValidationError{"from", fmt.Sprintf("a range of at most %d days", MaxDays)}
	}
	sp.start = from
	sp.end = time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	sp.segments = segments(sp.start, sp.end, loc)
	return sp, nil
}

// civilDay numbers a date's calendar day (days since 1970-01-01).
func civilDay(t time.Time) int64 {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// segments lists the zone's UTC offsets over [start, end), in order.
func segments(start, end time.Time, loc *time.Location) []segment {
	var out []segment
	for t := start; t.Before(end); {
		lt := t.In(loc)
		_, off := lt.Zone()
		out = append(out, segment{start: store.Micros(t), offset: int64(off) * 1e6})
		_, next := lt.ZoneBounds()
		if next.IsZero() || !next.After(t) {
			break
		}
		t = next
	}
	return out
}

// dayExpr is the SQL for the local day number (days since 1970-01-01 in
// the zone) of a time column holding unix microseconds: its offset from
// UTC is picked by the zone segment it falls in, so days are right across
// daylight-saving changes. It returns the SQL and its arguments.
func (sp span) dayExpr(col string) (string, []any) {
	if len(sp.segments) == 1 {
		return "(" + col + " + CAST(? AS BIGINT)) / 86400000000", []any{sp.segments[0].offset}
	}
	var b strings.Builder
	var args []any
	b.WriteString("(" + col + " + CASE")
	for i := len(sp.segments) - 1; i > 0; i-- {
		b.WriteString(" WHEN " + col + " >= ? THEN CAST(? AS BIGINT)")
		args = append(args, sp.segments[i].start, sp.segments[i].offset)
	}
	b.WriteString(" ELSE CAST(? AS BIGINT) END) / 86400000000")
	args = append(args, sp.segments[0].offset)
	return b.String(), args
}

// day is the local day number of a time in unix microseconds, by the same
// arithmetic as dayExpr.
func (sp span) day(us int64) int64 {
	off := sp.segments[0].offset
	for _, sg := range sp.segments[1:] {
		if us >= sg.start {
			off = sg.offset
		}
	}
	return (us + off) / 86400e6
}

// groupKey is the column a grouping reads on cases c.
func groupKey(group string) (string, error) {
	switch group {
	case ByChannel:
		return "c.channel_type", nil
	case BySkill:
		return "c.skill_id", nil
	case ByAgent:
		return "c.owner_id", nil
	case ByPointOfContact:
		return "c.point_of_contact_id", nil
	}
	return "", &ValidationError{"group", "one of " + strings.Join(Groups, ", ")}
}

// SLA outcomes of a case's timer, as caseColumns reads them.
const (
	slaNone = iota
	slaMet
	slaBreached
	slaRunning
)

// caseColumns read, on cases c, what a report needs of each case after
// its group key: created_at, first_response_at, resolved_at, closed_at,
// and the outcome of its SLA timer (met when recorded met, or answered
// since the timer started before the checker recorded it: the rule
// inbox.Case.SLA applies).
const caseColumns = `c.created_at, c.first_response_at, c.resolved_at, c.closed_at,
	CASE WHEN c.sla_state = 'met' OR (c.sla_state IN ('running', 'warning') AND c.last_reply_at IS NOT NULL AND c.last_reply_at >= c.sla_started_at) THEN 1
		WHEN c.sla_state = 'breached' THEN 2 WHEN c.sla_state IN ('running', 'warning') THEN 3 ELSE 0 END`

// casesQuery reads the cases created, resolved or closed in the range
// with, for those resolved in it, the time of their first accepted offer.
// Its arguments: the range's start and end (for that offer), on
// PostgreSQL the workspace, then the workspace and the range three times.
//
// The dialects differ on the offer: SQLite looks it up per resolved case
// (a correlated subquery read only when the CASE needs it: 4× faster than
// joining every offer of the workspace); PostgreSQL's planner costs that
// subquery for every row, which takes a 100,000-case workspace past
// jit_above_cost and spends more compiling than running, so it joins the
// first accepted offers, hashed.
func casesQuery(d store.Dialect, key string) string {
	const where = ` WHERE c.workspace_id = ?
		AND ((c.created_at >= ? AND c.created_at < ?) OR (c.resolved_at >= ? AND c.resolved_at < ?) OR (c.closed_at >= ? AND c.closed_at < ?))`
	if d == store.Postgres {
		return `SELECT ` + key + `, ` + caseColumns + `, CASE WHEN c.resolved_at >= ? AND c.resolved_at < ? THEN fo.at END
			FROM cases c LEFT JOIN (SELECT case_id, MIN(answered_at) AS at FROM offers WHERE workspace_id = ? AND status = 'accepted' GROUP BY case_id) fo
			ON fo.case_id = c.id` + where
	}
	return `SELECT ` + key + `, ` + caseColumns + `, CASE WHEN c.resolved_at >= ? AND c.resolved_at < ? THEN
		(SELECT MIN(o.answered_at) FROM offers o WHERE o.case_id = c.id AND o.workspace_id = c.workspace_id AND o.status = 'accepted') END
		FROM cases c` + where
}

// Run builds a report for a workspace.
//
// The cases created, resolved or closed in the range are read in one scan
// and summed here (durations need every value for their percentiles);
// messages, far more numerous, are summed by the database per group and
// day.
func (s *Service) Run(ctx context.Context, workspaceID string, q Query) (*Report, error) {
	if q.Group == "" {
		q.Group = ByChannel
	}
	key, err := groupKey(q.Group)
	if err != nil {
		return nil, err
	}
	loc, err := s.timeZone(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	sp, err := resolve(q, loc, s.now())
	if err != nil {
		return nil, err
	}
	b := &builder{sp: sp, rows: map[string]*group{}}
	b.total = b.newGroup("")
	if err := b.cases(ctx, s.db, workspaceID, key); err != nil {
		return nil, err
	}
	pocs, err := s.points(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if err := b.messages(ctx, s.db, workspaceID, q.Group, key, pocs); err != nil {
		return nil, err
	}
	labels, err := s.labels(ctx, workspaceID, q.Group, pocs)
	if err != nil {
		return nil, err
	}
	rep := &Report{From: sp.from, To: sp.to, TimeZone: loc.String(), Group: q.Group, Rows: []Row{}}
	for k, g := range b.rows {
		g.row.Label = k
		if l, ok := labels[k]; ok {
			g.row.Label = l
		}
		rep.Rows = append(rep.Rows, g.finish())
	}
	rep.Totals = b.total.finish()
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, c := rep.Rows[i], rep.Rows[j]
		if a.Created != c.Created {
			return a.Created > c.Created
		}
		return a.Key < c.Key
	})
	return rep, nil
}

// builder gathers figures per group key and per day.
type builder struct {
	sp    span
	rows  map[string]*group
	total *group
}

// group is a row being built, with its raw durations (microseconds).
type group struct {
	row           Row
	frt, handling []int64
}

func (b *builder) newGroup(key string) *group {
	g := &group{row: Row{Key: key, Days: make([]Day, b.sp.days)}}
	for i := range g.row.Days {
		g.row.Days[i].Date = time.Unix((b.sp.firstDay+int64(i))*86400, 0).UTC().Format(dateLayout)
	}
	return g
}

// groups returns the row of a key and the totals, to add to both.
func (b *builder) groups(key string) [2]*group {
	g := b.rows[key]
	if g == nil {
		g = b.newGroup(key)
		b.rows[key] = g
	}
	return [2]*group{g, b.total}
}

// index is the position in Days of a time in the range, or -1.
func (b *builder) index(us sql.NullInt64) int {
	if !us.Valid || us.Int64 < store.Micros(b.sp.start) || us.Int64 >= store.Micros(b.sp.end) {
		return -1
	}
	return int(b.sp.day(us.Int64) - b.sp.firstDay)
}

// cases reads the cases created, resolved or closed in the range.
func (b *builder) cases(ctx context.Context, db *store.DB, workspaceID, key string) error {
	start, end := store.Micros(b.sp.start), store.Micros(b.sp.end)
	args := []any{start, end}
	if db.Dialect() == store.Postgres {
		args = append(args, workspaceID)
	}
	rows, err := db.QueryContext(ctx, casesQuery(db.Dialect(), key), append(args, workspaceID, start, end, start, end, start, end)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k sql.NullString
		var created, firstResponse, resolved, closed, offer sql.NullInt64
		var sla int
		if err := rows.Scan(&k, &created, &firstResponse, &resolved, &closed, &sla, &offer); err != nil {
			return err
		}
		for _, g := range b.groups(k.String) {
			r := &g.row
			if i := b.index(created); i >= 0 {
				r.Created++
				r.Days[i].Created++
				// An outbound-first case was "answered" when it was made.
				if firstResponse.Valid && firstResponse.Int64 > created.Int64 {
					g.frt = append(g.frt, firstResponse.Int64-created.Int64)
				}
				switch sla {
				case slaMet:
					r.SLA.Met++
				case slaBreached:
					r.SLA.Breached++
				case slaRunning:
					r.SLA.Running++
				}
			}
			if i := b.index(resolved); i >= 0 {
				r.Resolved++
				r.Days[i].Resolved++
				start := offer
				if firstResponse.Valid && (!start.Valid || firstResponse.Int64 < start.Int64) {
					start = firstResponse
				}
				if start.Valid && start.Int64 <= resolved.Int64 {
					g.handling = append(g.handling, resolved.Int64-start.Int64)
				}
			}
			if i := b.index(closed); i >= 0 {
				r.Closed++
				r.Days[i].Closed++
			}
		}
	}
	return rows.Err()
}

// messages sums the messages created in the range per group and day. By
// channel or point of contact the message's own point of contact tells
// its group (cases take their channel type from it), which spares a join.
func (b *builder) messages(ctx context.Context, db *store.DB, workspaceID, group, key string, pocs map[string]point) error {
	day, dayArgs := b.sp.dayExpr("m.created_at")
	args := append(dayArgs, workspaceID, store.Micros(b.sp.start), store.Micros(b.sp.end))
	// Summed per day and point of contact, or per day and case. The day
	// comes first in GROUP BY: ordered by point of contact, SQLite would
	// walk an index in that order and read every message.
	col := "m.point_of_contact_id"
	if group == BySkill || group == ByAgent {
		col = "m.case_id"
	}
	q := `SELECT ` + day + ` AS d, ` + col + ` AS k,
		CAST(SUM(CASE WHEN m.direction = 'inbound' AND m.author_type = 'contact' THEN 1 ELSE 0 END) AS BIGINT) AS i,
		CAST(SUM(CASE WHEN m.direction = 'outbound' THEN 1 ELSE 0 END) AS BIGINT) AS o
		FROM messages m WHERE m.workspace_id = ? AND m.created_at >= ? AND m.created_at < ? GROUP BY 1, 2`
	if col == "m.case_id" {
		// Then grouped by the case's skill or owner: one case lookup per
		// case and day, not per message.
		q = `SELECT x.d, ` + key + `, CAST(SUM(x.i) AS BIGINT), CAST(SUM(x.o) AS BIGINT)
			FROM (` + q + `) x JOIN cases c ON c.id = x.k AND c.workspace_id = ? GROUP BY 1, 2`
		args = append(args, workspaceID)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d, in, out int64
		var k sql.NullString
		if err := rows.Scan(&d, &k, &in, &out); err != nil {
			return err
		}
		i := d - b.sp.firstDay
		if i < 0 || i >= int64(b.sp.days) {
			return fmt.Errorf("reports: day %d outside the range", d)
		}
		if group == ByChannel {
			k.String = pocs[k.String].typ
		}
		for _, g := range b.groups(k.String) {
			g.row.MessagesIn += int(in)
			g.row.MessagesOut += int(out)
			g.row.Days[i].MessagesIn += int(in)
			g.row.Days[i].MessagesOut += int(out)
		}
	}
	return rows.Err()
}

// finish computes the durations' statistics, in seconds.
func (g *group) finish() Row {
	g.row.FirstResponse = summarise(g.frt)
	g.row.HandleTime = summarise(g.handling)
	return g.row
}

// summarise gives the count, mean, median and 90th percentile of
// durations in microseconds, in seconds. Percentiles are interpolated
// linearly between the nearest ranks, as PostgreSQL's percentile_cont.
func summarise(us []int64) Durations {
	if len(us) == 0 {
		return Durations{}
	}
	sort.Slice(us, func(i, j int) bool { return us[i] < us[j] })
	var sum float64
	for _, v := range us {
		sum += float64(v)
	}
	pct := func(p float64) float64 {
		h := p * float64(len(us)-1)
		lo := int(math.Floor(h))
		hi := min(lo+1, len(us)-1)
		return float64(us[lo]) + (h-float64(lo))*float64(us[hi]-us[lo])
	}
	return Durations{Count: len(us), Mean: sum / float64(len(us)) / 1e6, Median: pct(0.5) / 1e6, P90: pct(0.9) / 1e6}
}

// point is what reports need of a point of contact.
type point struct{ name, typ string }

// points reads the workspace's points of contact (retired ones too: their
// cases and messages stay).
func (s *Service) points(ctx context.Context, workspaceID string) (map[string]point, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, type FROM points_of_contact WHERE workspace_id = ?`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]point{}
	for rows.Next() {
		var id string
		var p point
		if err := rows.Scan(&id, &p.name, &p.typ); err != nil {
			return nil, err
		}
		out[id] = p
	}
	return out, rows.Err()
}

// labels names the keys of a grouping: skill, user and point-of-contact
// names; channel types are their own label.
func (s *Service) labels(ctx context.Context, workspaceID, group string, pocs map[string]point) (map[string]string, error) {
	var q string
	switch group {
	case BySkill:
		q = `SELECT id, name FROM skills WHERE workspace_id = ?`
	case ByAgent:
		q = `SELECT id, name FROM users WHERE workspace_id = ?`
	case ByPointOfContact:
		out := map[string]string{}
		for id, p := range pocs {
			out[id] = p.name
		}
		return out, nil
	default:
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, q, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}
