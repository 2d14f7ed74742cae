// Package hours is Parley's business-hours calendar: the weekly opening
// hours and holidays of a point of contact, in its time zone, and the
// arithmetic SLA timers and scripts need on them — is it open now, when does
// it open next, what is the deadline after so much business time, how much
// business time passed between two instants.
//
// Semantics. An instant is open when its wall-clock time in the schedule's
// zone falls inside one of the intervals listed for its local weekday and
// its local date is not a holiday. Everything else follows from that rule,
// which keeps daylight-saving changes unsurprising:
//
//   - on the night clocks go forward, an interval that crosses the missing
//     hour is an hour shorter (00:00–24:00 lasts 23 hours);
//   - on the night clocks go back, an interval that crosses the repeated hour
//     is an hour longer (00:00–24:00 lasts 25 hours), and an interval that
//     starts inside the repeated hour is open during both of its copies from
//     that wall time on.
//
// Intervals do not cross midnight: write 22:00–24:00 on one day and
// 00:00–06:00 on the next. "24:00" is allowed as an end.
//
// Add and Between never step minute by minute: they walk the open intervals
// day by day, so their cost is proportional to the number of calendar days
// covered. A Schedule recompiles itself (parses times, loads its zone) on
// every call; code that evaluates one schedule many times (SLA timers)
// should hold a *Calendar from Schedule.Calendar, which is immutable and safe
// for concurrent use.
package hours

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	// The hours of a point of contact are meaningless without its zone's
	// rules, and Parley ships as one binary that may run where the host has
	// no zoneinfo (scratch containers, Windows): embed the database (~450 KB).
	_ "time/tzdata"
)

// Schedule is a point of contact's business hours as stored and sent over
// the API.
type Schedule struct {
	// Timezone is an IANA zone name ("Europe/Paris"); empty means UTC.
	Timezone string `json:"timezone"`
	// Weekly maps "mon".."sun" to that day's open intervals. A schedule
	// with no interval on any day is open around the clock (except on its
	// holidays).
	Weekly map[string][]Interval `json:"weekly"`
	// Holidays are whole local days ("2026-12-25") closed in Timezone.
	Holidays []string `json:"holidays"`
}

// Interval is one opening of a day, in the schedule's wall-clock time:
// "HH:MM", start inclusive, end exclusive, end after start, end may be
// "24:00".
type Interval struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Limits on what a schedule may hold, so that a stored schedule stays cheap
// to evaluate.
const (
	MaxIntervalsPerDay = 24
	MaxHolidays        = 1000
)

// ValidationError names the field of a Schedule that is wrong ("timezone",
// "weekly.mon[1].end", "holidays[3]") and why.
type ValidationError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// FieldName and FieldReason let the HTTP layer show the error as a 400
// without depending on this package.
func (e *ValidationError) FieldName() string   { return e.Field }
func (e *ValidationError) FieldReason() string { return e.Reason }

// WeekdayKeys are the keys of Schedule.Weekly, Monday first.
func WeekdayKeys() []string { return []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} }

// WeekdayKey returns the Schedule.Weekly key of a weekday ("mon").
func WeekdayKey(d time.Weekday) string {
	return [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}[d]
}

func weekdayOfKey(k string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if WeekdayKey(d) == k {
			return d, true
		}
	}
	return 0, false
}

// Validate checks the schedule and returns the first problem as a
// *ValidationError: an unknown zone, an unknown weekday key, a malformed or
// empty or overlapping interval, a malformed holiday, or too many of them.
func (s Schedule) Validate() error {
	_, err := s.compile()
	if err != nil {
		return err
	}
	return nil
}

// AlwaysOpen reports whether the schedule is open around the clock: no
// interval on any day and no holiday.
func (s Schedule) AlwaysOpen() bool {
	for _, ivs := range s.Weekly {
		if len(ivs) > 0 {
			return false
		}
	}
	return len(s.Holidays) == 0
}

// Calendar prepares the schedule for repeated evaluation. It never fails:
// parts that do not validate are left out (an unknown zone is UTC, a bad
// interval or holiday is ignored), so call Validate when the schedule is
// saved.
func (s Schedule) Calendar() *Calendar {
	c, _ := s.compile()
	return c
}

// Open reports whether t is within business hours.
func (s Schedule) Open(t time.Time) bool { return s.Calendar().Open(t) }

// NextOpen returns t when it is within business hours, else the start of
// the next opening (see Calendar.NextOpen).
func (s Schedule) NextOpen(t time.Time) time.Time { return s.Calendar().NextOpen(t) }

// Add returns the instant at which d of business time has passed since t
// (see Calendar.Add).
func (s Schedule) Add(t time.Time, d time.Duration) time.Time { return s.Calendar().Add(t, d) }

// Between returns the business time elapsed from a to b (see
// Calendar.Between).
func (s Schedule) Between(a, b time.Time) time.Duration { return s.Calendar().Between(a, b) }

var clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-4]):([0-5][0-9])$`)

// parseClock turns "HH:MM" into seconds since midnight; 24:00 only as an end.
func parseClock(s string, isEnd bool) (int32, string) {
	m := clockPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Sprintf("%q is not a time of day (HH:MM, 24-hour clock)", s)
	}
	h, _ := strconv.Atoi(m[1])
	min, _ := strconv.Atoi(m[2])
	if h == 24 && (min != 0 || !isEnd) {
		if isEnd {
			return 0, fmt.Sprintf("%q is after 24:00", s)
		}
		return 0, "24:00 is only allowed as an end"
	}
	return int32(h*3600 + min*60), ""
}

// compile builds the calendar, leaving out invalid parts, and reports the
// first problem found.
func (s Schedule) compile() (*Calendar, error) {
	var first *ValidationError
	fail := func(field, reason string) {
		if first == nil {
			first = &ValidationError{Field: field, Reason: reason}
		}
	}
	c := &Calendar{loc: time.UTC, holidays: map[int64]bool{}}
	if s.Timezone != "" {
		loc, err := loadZone(s.Timezone)
		if err != nil {
			fail("timezone", fmt.Sprintf("%q is not an IANA time zone", s.Timezone))
		} else {
			c.loc = loc
		}
	}

	keys := make([]string, 0, len(s.Weekly))
	for k := range s.Weekly {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the same first error every time
	anyInterval := false
	for _, key := range keys {
		ivs := s.Weekly[key]
		day, ok := weekdayOfKey(key)
		if !ok {
			fail("weekly."+key, "unknown day (use "+strings.Join(WeekdayKeys(), ", ")+")")
			continue
		}
		if len(ivs) > MaxIntervalsPerDay {
			fail("weekly."+key, fmt.Sprintf("at most %d intervals a day", MaxIntervalsPerDay))
		}
		var ws []window
		for i, iv := range ivs {
			field := fmt.Sprintf("weekly.%s[%d]", key, i)
			start, why := parseClock(iv.Start, false)
			if why != "" {
				fail(field+".start", why)
				continue
			}
			end, why := parseClock(iv.End, true)
			if why != "" {
				fail(field+".end", why)
				continue
			}
			if end <= start {
				fail(field+".end", "must be after start (split intervals that cross midnight: 22:00–24:00 and 00:00–06:00 on the next day)")
				continue
			}
			for j, w := range ws {
				if start < w.end && w.start < end {
					fail(field, fmt.Sprintf("overlaps weekly.%s[%d]", key, j))
				}
			}
			ws = append(ws, window{start, end})
		}
		c.weekly[day] = mergeWindows(ws)
		anyInterval = anyInterval || len(ws) > 0
	}
	if !anyInterval {
		for d := range c.weekly {
			c.weekly[d] = []window{{0, secondsPerDay}}
		}
	}

	if len(s.Holidays) > MaxHolidays {
		fail("holidays", fmt.Sprintf("at most %d holidays", MaxHolidays))
	}
	for i, h := range s.Holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil {
			fail(fmt.Sprintf("holidays[%d]", i), fmt.Sprintf("%q is not a date (YYYY-MM-DD)", h))
			continue
		}
		c.holidays[dayNumber(d.Date())] = true
	}
	c.limited = anyInterval || len(c.holidays) > 0
	if first != nil {
		return c, first
	}
	return c, nil
}

// loadZone loads an IANA zone, refusing "Local": a schedule must mean the
// same thing on every node whatever its host's zone.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" || len(name) > 64 || strings.ContainsAny(name, "\x00\\") || strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("hours: bad time zone %q", name)
	}
	return time.LoadLocation(name)
}

// mergeWindows sorts windows and joins overlapping or touching ones, so a
// day's windows are disjoint even when built from a schedule that was not
// validated.
func mergeWindows(ws []window) []window {
	if len(ws) == 0 {
		return nil
	}
	slices.SortFunc(ws, func(a, b window) int { return int(a.start - b.start) })
	out := ws[:1]
	for _, w := range ws[1:] {
		last := &out[len(out)-1]
		if w.start <= last.end {
			last.end = max(last.end, w.end)
			continue
		}
		out = append(out, w)
	}
	return out
}
