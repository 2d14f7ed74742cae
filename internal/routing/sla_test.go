package routing

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// officeHours is a business clock open 09:00–17:00 every day (UTC).
type officeHours struct{}

func (officeHours) Add(t time.Time, d time.Duration) time.Time {
	for d > 0 {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		open, shut := day.Add(9*time.Hour), day.Add(17*time.Hour)
		if t.Before(open) {
			t = open
		}
		if !t.Before(shut) {
			t = open.Add(24 * time.Hour)
			continue
		}
		step := min(d, shut.Sub(t))
		t, d = t.Add(step), d-step
	}
	return t
}

func TestSLATimersWarnBreachAndMeet(t *testing.T) {
	f := newFixture(t)
	f.r.hours = func(json.RawMessage) (BusinessClock, error) { return officeHours{}, nil }
	ctx := context.Background()
	skill := f.skill("support", 0, 60, 0, 30)
	f.exec(`UPDATE skills SET sla_first_response_seconds = 3600, sla_next_response_seconds = 1800, sla_warning_percent = 75, business_hours = '{"weekly":{}}' WHERE id = ?`, skill)
	events := &recorder{}
	f.r.pub = events

	// 16:30: one hour of business time ends at 09:30 the next morning.
	f.clk.t = time.Date(2026, 11, 24, 16, 30, 0, 0, time.UTC)
	late := f.queueCase(skill, ClassMessaging, 0)
	answered := f.queueCase(skill, ClassMessaging, 0)
	for _, id := range []string{late, answered} {
		if err := f.db.InTx(ctx, func(tx *store.Tx) error { return f.r.StartSLA(ctx, tx, id, SLAFirstResponse, f.clk.Now()) }); err != nil {
			t.Fatal(err)
		}
	}
	var due, warn int64
	if err := f.db.QueryRowContext(ctx, `SELECT sla_due_at, sla_warn_at FROM cases WHERE id = ?`, late).Scan(&due, &warn); err != nil {
		t.Fatal(err)
	}
	if got, want := store.Time(due), time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("due %s, want %s (business hours)", got, want)
	}
	if got, want := store.Time(warn), time.Date(2026, 11, 25, 9, 15, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("warning at %s, want %s (75 %%)", got, want)
	}
	// The agent answers one case in the evening.
	f.exec(`UPDATE cases SET last_reply_at = ? WHERE id = ?`, store.Micros(time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)), answered)

	f.clk.t = time.Date(2026, 11, 25, 9, 16, 0, 0, time.UTC)
	if w, b, err := f.r.CheckSLA(ctx); err != nil || w != 1 || b != 0 {
		t.Fatalf("at 09:16: %d warnings, %d breaches, %v; want 1, 0", w, b, err)
	}
	f.clk.t = time.Date(2026, 11, 25, 9, 31, 0, 0, time.UTC)
	if w, b, err := f.r.CheckSLA(ctx); err != nil || w != 0 || b != 1 {
		t.Fatalf("at 09:31: %d warnings, %d breaches, %v; want 0, 1", w, b, err)
	}
	states := map[string]string{}
	for _, id := range []string{late, answered} {
		var s string
		if err := f.db.QueryRowContext(ctx, `SELECT sla_state FROM cases WHERE id = ?`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		states[id] = s
	}
	if states[late] != SLABreached || states[answered] != SLAMet {
		t.Fatalf("states %v", states)
	}
	if got := events.types(); len(got) != 2 || got[0] != EventSLAWarning || got[1] != EventSLABreached {
		t.Fatalf("events %v", got)
	}

	// The customer writes again: the next-response timer starts.
	if err := f.db.InTx(ctx, func(tx *store.Tx) error { return f.r.StartSLA(ctx, tx, answered, SLANextResponse, f.clk.Now()) }); err != nil {
		t.Fatal(err)
	}
	var kind, state string
	if err := f.db.QueryRowContext(ctx, `SELECT sla_kind, sla_state, sla_due_at FROM cases WHERE id = ?`, answered).Scan(&kind, &state, &due); err != nil {
		t.Fatal(err)
	}
	if kind != SLANextResponse || state != SLARunning || !store.Time(due).Equal(f.clk.Now().Add(30*time.Minute)) {
		t.Fatalf("next response timer: %s %s due %s", kind, state, store.Time(due))
	}
}
