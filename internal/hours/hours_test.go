package hours

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// at reads "2006-01-02 15:04" as wall time in loc; for an ambiguous wall
// time (clocks going back) Go picks one of the two instants, so tests that
// care use utc instead.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func utc(t testing.TB, s string) time.Time { return at(t, time.UTC, s) }

func officeHours(tz string, holidays ...string) Schedule {
	day := []Interval{{"09:00", "17:30"}}
	return Schedule{Timezone: tz, Holidays: holidays, Weekly: map[string][]Interval{
		"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
	}}
}

func sundays(ivs ...Interval) Schedule {
	return Schedule{Weekly: map[string][]Interval{"sun": ivs}}
}

func withZone(s Schedule, tz string) Schedule { s.Timezone = tz; return s }

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		s     Schedule
		field string // "" = valid
	}{
		{"empty is 24/7", Schedule{}, ""},
		{"office hours", officeHours("Europe/Paris", "2026-12-25"), ""},
		{"24:00 end", sundays(Interval{"22:00", "24:00"}), ""},
		{"touching intervals", sundays(Interval{"08:00", "12:00"}, Interval{"12:00", "13:00"}), ""},
		{"unknown zone", withZone(Schedule{}, "Mars/Olympus"), "timezone"},
		{"Local refused", withZone(Schedule{}, "Local"), "timezone"},
		{"unknown day", Schedule{Weekly: map[string][]Interval{"monday": {{"09:00", "10:00"}}}}, "weekly.monday"},
		{"bad start", sundays(Interval{"9:00", "10:00"}), "weekly.sun[0].start"},
		{"start 24:00", sundays(Interval{"24:00", "24:00"}), "weekly.sun[0].start"},
		{"end past 24:00", sundays(Interval{"09:00", "24:30"}), "weekly.sun[0].end"},
		{"bad minutes", sundays(Interval{"09:00", "10:60"}), "weekly.sun[0].end"},
		{"end before start", sundays(Interval{"22:00", "06:00"}), "weekly.sun[0].end"},
		{"empty interval", sundays(Interval{"10:00", "10:00"}), "weekly.sun[0].end"},
		{"overlap", sundays(Interval{"08:00", "12:00"}, Interval{"11:00", "13:00"}), "weekly.sun[1]"},
		{"bad holiday", Schedule{Holidays: []string{"2026-02-30"}}, "holidays[0]"},
		{"holiday format", Schedule{Holidays: []string{"2026-12-25", "25/12/2026"}}, "holidays[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError on %s", err, tt.field)
			}
			if ve.Field != tt.field || ve.FieldName() != tt.field || ve.Reason == "" {
				t.Fatalf("Validate = %+v, want field %s", ve, tt.field)
			}
		})
	}
	many := Schedule{}
	for i := 0; i <= MaxHolidays; i++ {
		many.Holidays = append(many.Holidays, "2026-01-01")
	}
	if err := many.Validate(); err == nil {
		t.Fatal("too many holidays accepted")
	}
}

func TestJSON(t *testing.T) {
	var s Schedule
	raw := `{"timezone":"Europe/Paris","weekly":{"mon":[{"start":"09:00","end":"17:30"}]},"holidays":["2026-12-25"]}`
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	paris := zone(t, "Europe/Paris")
	if !s.Open(at(t, paris, "2026-12-21 09:00")) || s.Open(at(t, paris, "2026-12-21 17:30")) {
		t.Fatal("decoded schedule does not open Monday 09:00–17:30")
	}
}

func TestAlwaysOpen(t *testing.T) {
	if !(Schedule{}).AlwaysOpen() || !(Schedule{Weekly: map[string][]Interval{"mon": nil}}).AlwaysOpen() {
		t.Fatal("no intervals should be 24/7")
	}
	if officeHours("").AlwaysOpen() {
		t.Fatal("office hours are not 24/7")
	}
	// No intervals but holidays: open all day every day except those.
	s := Schedule{Timezone: "Europe/Paris", Holidays: []string{"2026-12-25"}}
	if s.AlwaysOpen() {
		t.Fatal("a schedule with holidays is not 24/7")
	}
	paris := zone(t, "Europe/Paris")
	if s.Open(at(t, paris, "2026-12-25 12:00")) || !s.Open(at(t, paris, "2026-12-24 23:59")) || !s.Open(at(t, paris, "2026-12-26 00:00")) {
		t.Fatal("24/7 with a holiday")
	}
	if got := s.Between(at(t, paris, "2026-12-24 12:00"), at(t, paris, "2026-12-26 12:00")); got != 24*time.Hour {
		t.Fatalf("Between across a holiday = %v, want 24h", got)
	}
	var zero Calendar
	if !zero.AlwaysOpen() || !zero.Open(time.Unix(0, 0)) || zero.Location() != time.UTC {
		t.Fatal("the zero Calendar is not open around the clock in UTC")
	}
	start := time.Date(2026, 3, 1, 10, 0, 0, 5, time.UTC)
	if got := (Schedule{}).Add(start, 90*time.Minute); !got.Equal(start.Add(90 * time.Minute)) {
		t.Fatalf("Add on 24/7 = %v", got)
	}
}

func TestOpen(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	s := officeHours("Europe/Paris", "2026-12-25")
	tests := []struct {
		at   string
		open bool
	}{
		{"2026-03-23 08:59", false}, // Monday
		{"2026-03-23 09:00", true},
		{"2026-03-23 17:29", true},
		{"2026-03-23 17:30", false},
		{"2026-03-28 12:00", false}, // Saturday
		{"2026-12-25 12:00", false}, // Friday, holiday
		{"2026-12-24 12:00", true},
	}
	for _, tt := range tests {
		if got := s.Open(at(t, paris, tt.at)); got != tt.open {
			t.Errorf("Open(%s Paris) = %v, want %v", tt.at, got, tt.open)
		}
	}
	// The zone decides, not the instant's location.
	if !s.Open(utc(t, "2026-03-23 08:30")) { // 09:30 CET
		t.Error("Open(08:30Z) in Paris office hours = false")
	}
	last := at(t, paris, "2026-03-23 17:30").Add(-time.Nanosecond)
	if !s.Open(last) {
		t.Error("the last nanosecond before closing is open")
	}
}

func TestDST(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	ny := zone(t, "America/New_York")
	tests := []struct {
		name string
		s    Schedule
		a, b time.Time
		want time.Duration
	}{
		// Paris: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
		{"Paris spring day is 23h", withZone(sundays(Interval{"00:00", "24:00"}), "Europe/Paris"),
			at(t, paris, "2026-03-28 12:00"), at(t, paris, "2026-03-30 12:00"), 23 * time.Hour},
		{"Paris autumn day is 25h", withZone(sundays(Interval{"00:00", "24:00"}), "Europe/Paris"),
			at(t, paris, "2026-10-24 12:00"), at(t, paris, "2026-10-26 12:00"), 25 * time.Hour},
		{"Paris 01:00–04:00 loses the gap", withZone(sundays(Interval{"01:00", "04:00"}), "Europe/Paris"),
			utc(t, "2026-03-28 12:00"), utc(t, "2026-03-30 12:00"), 2 * time.Hour},
		{"Paris 01:00–04:00 gains the repeat", withZone(sundays(Interval{"01:00", "04:00"}), "Europe/Paris"),
			utc(t, "2026-10-24 12:00"), utc(t, "2026-10-26 12:00"), 4 * time.Hour},
		{"Paris interval inside the gap never opens", withZone(sundays(Interval{"02:15", "02:45"}), "Europe/Paris"),
			utc(t, "2026-03-28 12:00"), utc(t, "2026-03-30 12:00"), 0},
		{"Paris interval inside the repeat opens twice", withZone(sundays(Interval{"02:15", "02:45"}), "Europe/Paris"),
			utc(t, "2026-10-24 12:00"), utc(t, "2026-10-26 12:00"), time.Hour},
		{"Paris office week across spring", officeHours("Europe/Paris"),
			at(t, paris, "2026-03-27 09:00"), at(t, paris, "2026-03-30 17:30"), 17 * time.Hour},
		// New York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
		{"NY spring day is 23h", withZone(sundays(Interval{"00:00", "24:00"}), "America/New_York"),
			at(t, ny, "2026-03-07 12:00"), at(t, ny, "2026-03-09 12:00"), 23 * time.Hour},
		{"NY autumn day is 25h", withZone(sundays(Interval{"00:00", "24:00"}), "America/New_York"),
			at(t, ny, "2026-10-31 12:00"), at(t, ny, "2026-11-02 12:00"), 25 * time.Hour},
		// 01:30–03:00 on the autumn Sunday: 01:30–02:00 EDT (05:30–06:00Z),
		// then the clock reads 01:00 again and 01:30–03:00 EST (06:30–08:00Z).
		{"NY interval starting in the repeat", withZone(sundays(Interval{"01:30", "03:00"}), "America/New_York"),
			utc(t, "2026-10-31 12:00"), utc(t, "2026-11-02 12:00"), 2 * time.Hour},
		{"NY part of the repeat", withZone(sundays(Interval{"01:30", "03:00"}), "America/New_York"),
			utc(t, "2026-11-01 05:45"), utc(t, "2026-11-01 06:45"), 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Between(tt.a, tt.b); got != tt.want {
				t.Fatalf("Between = %v, want %v", got, tt.want)
			}
			if got := tt.s.Between(tt.b, tt.a); got != -tt.want {
				t.Fatalf("Between reversed = %v, want %v", got, -tt.want)
			}
			if tt.want > 0 {
				end := tt.s.Add(tt.a, tt.want)
				if got := tt.s.Between(tt.a, end); got != tt.want || end.After(tt.b) {
					t.Fatalf("Add = %v (Between %v), want ≤ %v", end, got, tt.b)
				}
			}
		})
	}

	nyRepeat := withZone(sundays(Interval{"01:30", "03:00"}), "America/New_York")
	for _, c := range []struct {
		at   string
		open bool
	}{
		{"2026-11-01 05:29", false}, // 01:29 EDT
		{"2026-11-01 05:45", true},  // 01:45 EDT
		{"2026-11-01 06:15", false}, // 01:15 EST
		{"2026-11-01 06:45", true},  // 01:45 EST
		{"2026-11-01 08:00", false}, // 03:00 EST
	} {
		if got := nyRepeat.Open(utc(t, c.at)); got != c.open {
			t.Errorf("NY Open(%sZ) = %v, want %v", c.at, got, c.open)
		}
	}
	// 45 minutes from Saturday: 30 in the EDT copy, 15 in the EST one.
	if got, want := nyRepeat.Add(utc(t, "2026-10-31 12:00"), 45*time.Minute), utc(t, "2026-11-01 06:45"); !got.Equal(want) {
		t.Errorf("NY Add across the repeat = %v, want %v", got, want)
	}
	if got, want := nyRepeat.NextOpen(utc(t, "2026-11-01 06:10")), utc(t, "2026-11-01 06:30"); !got.Equal(want) {
		t.Errorf("NY NextOpen inside the repeat = %v, want %v", got, want)
	}
}

func TestAddAndNextOpen(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	s := officeHours("Europe/Paris", "2026-12-25")
	tests := []struct {
		name  string
		from  string
		d     time.Duration
		want  string
		fromL *time.Location
	}{
		{"within the day", "2026-03-23 10:00", 2 * time.Hour, "2026-03-23 12:00", paris},
		{"runs out at closing", "2026-03-23 16:30", time.Hour, "2026-03-23 17:30", paris},
		{"over the weekend and the DST change", "2026-03-27 16:30", 2 * time.Hour, "2026-03-30 10:00", paris},
		{"starting at night", "2026-03-23 22:00", 30 * time.Minute, "2026-03-24 09:30", paris},
		{"skips the holiday", "2026-12-24 17:00", time.Hour, "2026-12-28 09:30", paris},
		{"a business week", "2026-03-23 09:00", 5 * 510 * time.Minute, "2026-03-27 17:30", paris},
		{"zero", "2026-03-28 12:00", 0, "2026-03-28 12:00", paris},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := at(t, tt.fromL, tt.from)
			got := s.Add(from, tt.d)
			if want := at(t, paris, tt.want); !got.Equal(want) {
				t.Fatalf("Add(%s, %v) = %v, want %v", tt.from, tt.d, got.In(paris), want)
			}
			if got.Location() != from.Location() {
				t.Fatalf("Add returned location %v, want %v", got.Location(), from.Location())
			}
			if b := s.Between(from, got); b != tt.d {
				t.Fatalf("Between(from, Add) = %v, want %v", b, tt.d)
			}
		})
	}

	for _, c := range []struct{ from, want string }{
		{"2026-03-23 10:00", "2026-03-23 10:00"}, // open: itself
		{"2026-03-23 17:30", "2026-03-24 09:00"},
		{"2026-03-28 10:00", "2026-03-30 09:00"},
		{"2026-12-24 18:00", "2026-12-28 09:00"},
	} {
		if got, want := s.NextOpen(at(t, paris, c.from)), at(t, paris, c.want); !got.Equal(want) {
			t.Errorf("NextOpen(%s) = %v, want %v", c.from, got.In(paris), want)
		}
	}
}

func TestNeverOpenAgain(t *testing.T) {
	// Open on Sundays only, and every Sunday for 100 weeks is a holiday: the
	// walk must cross all of them (and not give up early).
	s := Schedule{Weekly: map[string][]Interval{"sun": {{"09:00", "10:00"}}}}
	first := time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC) // a Sunday
	for i := range 100 {
		s.Holidays = append(s.Holidays, first.AddDate(0, 0, 7*i).Format(time.DateOnly))
	}
	want := first.AddDate(0, 0, 7*100).Add(9 * time.Hour)
	if got := s.NextOpen(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); !got.Equal(want) {
		t.Fatalf("NextOpen past 100 holiday Sundays = %v, want %v", got, want)
	}

	// A calendar with no opening at all (only constructible inside the
	// package) must end the walk rather than loop.
	closedForever := Calendar{limited: true}
	if got := closedForever.Add(time.Unix(0, 0), time.Hour); !got.IsZero() {
		t.Fatalf("Add on a calendar that never opens = %v, want zero", got)
	}
	if got := closedForever.NextOpen(time.Unix(0, 0)); !got.IsZero() {
		t.Fatalf("NextOpen on a calendar that never opens = %v, want zero", got)
	}
	if got := closedForever.Between(time.Unix(0, 0), time.Unix(1e6, 0)); got != 0 {
		t.Fatalf("Between on a calendar that never opens = %v", got)
	}
}

// referenceSchedules cover the shapes that stress the walk: whole days,
// windows touching midnight, windows inside DST changes, split days,
// holidays next to transitions.
func referenceSchedules() []Schedule {
	all := []Interval{{"00:00", "24:00"}}
	return []Schedule{
		{Weekly: map[string][]Interval{"mon": all, "tue": all, "wed": all, "thu": all, "fri": all, "sat": all, "sun": all}},
		{Weekly: map[string][]Interval{"sat": {{"23:00", "24:00"}}, "sun": {{"00:00", "03:30"}, {"22:45", "24:00"}}, "mon": {{"00:00", "00:30"}}}},
		{Weekly: map[string][]Interval{"sun": {{"01:00", "01:45"}, {"02:00", "02:30"}, {"02:45", "04:00"}}, "sat": {{"09:00", "12:00"}, {"13:00", "18:00"}}}},
		officeHours(""),
		{Holidays: []string{"2026-03-29", "2026-04-05", "2026-10-25", "2026-11-01", "2026-03-08"}},
	}
}

// TestAgainstMinuteSteps checks the interval walk against the definition
// (an instant is open when Open says so), counted minute by minute around
// daylight-saving changes in zones with midnight transitions (Santiago),
// half-hour offsets and changes (Lord Howe), and none.
func TestAgainstMinuteSteps(t *testing.T) {
	zones := []struct {
		name    string
		windows []string // starts of 9-day windows, UTC
	}{
		{"Europe/Paris", []string{"2026-03-25 00:00", "2026-10-21 00:00"}},
		{"America/New_York", []string{"2026-03-04 00:00", "2026-10-28 00:00"}},
		{"America/Santiago", []string{"2026-04-01 00:00", "2026-09-02 00:00"}},
		{"Australia/Lord_Howe", []string{"2026-04-01 00:00", "2026-10-01 00:00"}},
		{"Asia/Kolkata", []string{"2026-03-25 00:00"}},
	}
	for _, z := range zones {
		for si, base := range referenceSchedules() {
			s := withZone(base, z.name)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			c := s.Calendar()
			for _, w := range z.windows {
				start := utc(t, w)
				end := start.Add(9 * 24 * time.Hour)
				name := fmt.Sprintf("%s/schedule%d/%s", z.name, si, w)
				var open time.Duration
				var firstOpenAfter []time.Time // per minute: next open minute
				minutes := int(end.Sub(start) / time.Minute)
				isOpen := make([]bool, minutes)
				for i := range minutes {
					isOpen[i] = c.Open(start.Add(time.Duration(i) * time.Minute))
					if isOpen[i] {
						open += time.Minute
					}
				}
				if got := c.Between(start, end); got != open {
					t.Fatalf("%s: Between = %v, minute steps = %v", name, got, open)
				}
				firstOpenAfter = make([]time.Time, minutes)
				var next time.Time
				for i := minutes - 1; i >= 0; i-- {
					if isOpen[i] {
						next = start.Add(time.Duration(i) * time.Minute)
					}
					firstOpenAfter[i] = next
				}
				// Spot-check NextOpen and Between on sub-ranges.
				for i := 0; i < minutes; i += 37 {
					from := start.Add(time.Duration(i) * time.Minute)
					if want := firstOpenAfter[i]; !want.IsZero() {
						if got := c.NextOpen(from); !got.Equal(want) {
							t.Fatalf("%s: NextOpen(%v) = %v, want %v", name, from, got, want)
						}
					}
					j := min(minutes, i+611)
					var sub time.Duration
					for k := i; k < j; k++ {
						if isOpen[k] {
							sub += time.Minute
						}
					}
					to := start.Add(time.Duration(j) * time.Minute)
					if got := c.Between(from, to); got != sub {
						t.Fatalf("%s: Between(%v, %v) = %v, minute steps = %v", name, from, to, got, sub)
					}
					if sub > 0 {
						if got := c.Add(from, sub); !got.Equal(lastOpenMinuteEnd(isOpen, start, i, j)) {
							t.Fatalf("%s: Add(%v, %v) = %v, want %v", name, from, sub, got, lastOpenMinuteEnd(isOpen, start, i, j))
						}
					}
				}
			}
		}
	}
}

// lastOpenMinuteEnd is the end of the last open minute in [i, j).
func lastOpenMinuteEnd(isOpen []bool, start time.Time, i, j int) time.Time {
	for k := j - 1; k >= i; k-- {
		if isOpen[k] {
			return start.Add(time.Duration(k+1) * time.Minute)
		}
	}
	return time.Time{}
}

func TestConcurrentCalendar(t *testing.T) {
	c := officeHours("Europe/Paris").Calendar()
	from := time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC)
	want := c.Add(from, 40*time.Hour)
	done := make(chan time.Time)
	for range 4 {
		go func() { done <- c.Add(from, 40*time.Hour) }()
	}
	for range 4 {
		if got := <-done; !got.Equal(want) {
			t.Fatalf("concurrent Add = %v, want %v", got, want)
		}
	}
}

// FuzzAddBetween: whatever the zone, schedule, start and duration, the
// deadline is d of business time away, not before the start, and the
// instant just before it is open.
func FuzzAddBetween(f *testing.F) {
	f.Add(int64(1774400000), uint32(0), uint32(120), uint8(0), uint8(0))
	f.Add(int64(1792800000), uint32(999999999), uint32(6000), uint8(1), uint8(1))
	f.Add(int64(1775000000), uint32(123), uint32(1), uint8(2), uint8(2))
	f.Add(int64(1761000000), uint32(5), uint32(90000), uint8(3), uint8(3))
	zones := []string{"Europe/Paris", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "UTC", "Asia/Kathmandu"}
	var cals [][]*Calendar
	for _, z := range zones {
		var row []*Calendar
		for _, s := range referenceSchedules() {
			row = append(row, withZone(s, z).Calendar())
		}
		cals = append(cals, row)
	}
	f.Fuzz(func(t *testing.T, unix int64, nanos uint32, seconds uint32, zi, si uint8) {
		// 2000-01-01 … 2060-01-01, up to ~46 days of business time.
		const lo, span = 946684800, 60 * 365 * 86400
		unix = lo + ((unix%span)+span)%span
		start := time.Unix(unix, int64(nanos%1e9)).UTC()
		d := time.Duration(seconds%4_000_000)*time.Second + time.Duration(nanos%1000)
		c := cals[int(zi)%len(zones)][int(si)%len(cals[0])]
		end := c.Add(start, d)
		if end.IsZero() {
			t.Fatalf("Add(%v, %v) found no opening", start, d)
		}
		if end.Before(start) {
			t.Fatalf("Add(%v, %v) = %v, before the start", start, d, end)
		}
		if got := c.Between(start, end); got != d {
			t.Fatalf("Between(%v, Add(.., %v) = %v) = %v", start, d, end, got)
		}
		if d > 0 && !c.Open(end.Add(-time.Nanosecond)) {
			t.Fatalf("Add(%v, %v) = %v, but just before it is closed", start, d, end)
		}
		next := c.NextOpen(start)
		if next.Before(start) || !c.Open(next) || c.Between(start, next) != 0 {
			t.Fatalf("NextOpen(%v) = %v", start, next)
		}
	})
}

func benchCalendar() *Calendar {
	return officeHours("Europe/Paris", "2026-12-25", "2027-01-01").Calendar()
}

// BenchmarkCalendarAdd: a 40-business-hour SLA started on a Friday evening
// (crosses weekends and a DST change).
func BenchmarkCalendarAdd(b *testing.B) {
	c := benchCalendar()
	from := time.Date(2026, 3, 20, 17, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		c.Add(from, 40*time.Hour)
	}
}

// BenchmarkCalendarBetween30Days: business time over a month.
func BenchmarkCalendarBetween30Days(b *testing.B) {
	c := benchCalendar()
	from := time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 30)
	b.ReportAllocs()
	for b.Loop() {
		c.Between(from, to)
	}
}

// BenchmarkCalendarBetweenYear: business time over a year (365 days walked).
func BenchmarkCalendarBetweenYear(b *testing.B) {
	c := benchCalendar()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		c.Between(from, to)
	}
}

// BenchmarkScheduleAdd includes compiling the schedule (loading its zone)
// on every call: what Schedule's convenience methods cost.
func BenchmarkScheduleAdd(b *testing.B) {
	s := officeHours("Europe/Paris", "2026-12-25")
	from := time.Date(2026, 3, 20, 17, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		s.Add(from, 40*time.Hour)
	}
}

func BenchmarkCalendarOpen(b *testing.B) {
	c := benchCalendar()
	t := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		c.Open(t)
	}
}
