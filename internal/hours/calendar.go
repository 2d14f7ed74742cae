package hours

import (
	"math"
	"slices"
	"time"
)

const secondsPerDay = 86400

// maxOffset bounds how far a zone's wall clock may be from UTC (real zones
// stay within −12 h…+14 h; historical local mean times a little beyond), in
// seconds. It tells which instants can belong to a given local date.
const maxOffset = 26 * 3600

// Calendar is a Schedule prepared for evaluation: zone loaded, intervals
// parsed into seconds of the day, holidays into day numbers. It is
// immutable and safe for concurrent use. The zero Calendar is open around
// the clock, in UTC.
type Calendar struct {
	loc      *time.Location // nil means UTC
	limited  bool           // false: open around the clock, no holidays
	weekly   [7][]window    // by time.Weekday: sorted, disjoint
	holidays map[int64]bool // closed local dates, as day numbers
}

// window is an opening of a local day in seconds since local midnight,
// [start, end), end ≤ 86400.
type window struct{ start, end int32 }

// span is an opening in real time: unix seconds, [start, end).
type span struct{ start, end int64 }

// dayNumber counts days from 1970-01-01 to a civil date (negative before).
// It identifies a local date independently of any zone.
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
}

// weekdayOfDay is the weekday of a day number (1970-01-01 was a Thursday).
func weekdayOfDay(n int64) time.Weekday {
	return time.Weekday(((n % 7) + 7 + int64(time.Thursday)) % 7)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// AlwaysOpen reports whether every instant is open.
func (c *Calendar) AlwaysOpen() bool { return !c.limited }

// Open reports whether t is within business hours.
func (c *Calendar) Open(t time.Time) bool {
	if !c.limited {
		return true
	}
	lt := t.In(c.Location())
	if c.holidays[dayNumber(lt.Date())] {
		return false
	}
	sec := int32(lt.Hour()*3600 + lt.Minute()*60 + lt.Second())
	for _, w := range c.weekly[lt.Weekday()] {
		if sec >= w.start && sec < w.end {
			return true
		}
	}
	return false
}

// NextOpen returns t when it is within business hours, else the start of
// the next opening, in t's location. It returns the zero Time when the
// calendar never opens again (which a validated schedule cannot do).
func (c *Calendar) NextOpen(t time.Time) time.Time {
	if c.Open(t) {
		return t
	}
	t = t.Round(0)
	w := c.walk(t)
	for {
		s, ok := w.next()
		if !ok {
			return time.Time{}
		}
		start, end := time.Unix(s.start, 0), time.Unix(s.end, 0)
		if !end.After(t) {
			continue
		}
		if start.Before(t) {
			start = t
		}
		return start.In(t.Location())
	}
}

// Add returns the instant at which d of business time has passed since t:
// the deadline of an SLA of d started at t. Closed time does not count, so
// a deadline starting out of hours begins counting at the next opening, and
// one that runs out exactly at a closing is that closing instant. d ≤ 0
// returns t. The result is in t's location; it is the zero Time when the
// calendar never opens again.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	if !c.limited {
		return t.Add(d)
	}
	t = t.Round(0) // compare on the wall clock only
	w := c.walk(t)
	for {
		s, ok := w.next()
		if !ok {
			return time.Time{}
		}
		start, end := time.Unix(s.start, 0), time.Unix(s.end, 0)
		if !end.After(t) {
			continue
		}
		if start.Before(t) {
			start = t
		}
		if avail := end.Sub(start); d > avail {
			d -= avail
			continue
		}
		return start.Add(d).In(t.Location())
	}
}

// Between returns the business time elapsed from a to b; negative when b is
// before a. Between(t, Add(t, d)) == d.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	a, b = a.Round(0), b.Round(0)
	if b.Before(a) {
		return -c.Between(b, a)
	}
	if !c.limited {
		return b.Sub(a)
	}
	var sum time.Duration
	w := c.walk(a)
	for {
		s, ok := w.next()
		if !ok {
			return sum
		}
		start, end := time.Unix(s.start, 0), time.Unix(s.end, 0)
		if !start.Before(b) {
			return sum // spans come in order of start: none later overlaps
		}
		if start.Before(a) {
			start = a
		}
		if end.After(b) {
			end = b
		}
		if end.After(start) {
			sum += end.Sub(start)
		}
	}
}

// walk returns the openings that may end after t, in order of start.
func (c *Calendar) walk(t time.Time) *spanWalker {
	// A span of local day m ends before (m+1) days + maxOffset in unix
	// seconds, so days before this one cannot reach t.
	first := floorDiv(t.Unix()-maxOffset, secondsPerDay) - 1
	return &spanWalker{c: c, day: first, idleLimit: 7 * (len(c.holidays) + 3)}
}

// spanWalker expands a calendar into real-time openings day after day.
//
// Openings of consecutive local days can interleave in real time (when
// clocks go back across midnight, as in Chile), so a span is handed out
// only once no day still to be expanded can produce an earlier one.
type spanWalker struct {
	c       *Calendar
	day     int64  // next local day to expand
	pending []span // expanded, sorted by start, from head on
	head    int

	// idle counts consecutive expanded days without an opening. Past
	// idleLimit the calendar never opens again: every weekday with hours
	// appears in any week free of holidays, and a week may lose one day to
	// a daylight-saving gap.
	idle, idleLimit int

	// zone caches the offset segment found last: most days fall in it.
	zone       zoneSegment
	zoneCached bool
}

// zoneSegment is a stretch of real time with one UTC offset: unix seconds
// [start, end).
type zoneSegment struct{ start, end, offset int64 }

func (w *spanWalker) next() (span, bool) {
	for {
		if w.head < len(w.pending) && w.pending[w.head].start < w.day*secondsPerDay-maxOffset {
			s := w.pending[w.head]
			w.head++
			return s, true
		}
		if w.idle > w.idleLimit {
			if w.head < len(w.pending) {
				s := w.pending[w.head]
				w.head++
				return s, true
			}
			return span{}, false
		}
		n := copy(w.pending, w.pending[w.head:])
		w.pending, w.head = w.pending[:n], 0
		if w.expand(w.day) {
			w.idle = 0
		} else {
			w.idle++
		}
		w.day++
	}
}

// expand appends the real-time openings of local day n and reports whether
// there were any.
//
// An instant x lies in a segment of constant offset o, where its wall clock
// reads x+o; it is open for a window [ws, we) of day n exactly when
// x+o ∈ [n·86400+ws, n·86400+we). Intersecting that with each segment the
// day touches gives the openings exactly, across any offset change.
func (w *spanWalker) expand(n int64) bool {
	if w.c.holidays[n] {
		return false
	}
	wins := w.c.weekly[weekdayOfDay(n)]
	if len(wins) == 0 {
		return false
	}
	base := n * secondsPerDay
	lo := base + int64(wins[0].start) - maxOffset
	hi := base + int64(wins[len(wins)-1].end) + maxOffset
	before := len(w.pending)
	for t := lo; t < hi; {
		seg := w.segmentAt(t)
		segEnd := min(seg.end, hi)
		for _, win := range wins {
			s := max(base+int64(win.start)-seg.offset, t)
			e := min(base+int64(win.end)-seg.offset, segEnd)
			if s < e {
				w.pending = append(w.pending, span{s, e})
			}
		}
		t = segEnd
	}
	if len(w.pending) == before {
		return false
	}
	slices.SortFunc(w.pending, func(a, b span) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	return true
}

// segmentAt returns the offset segment containing unix second t.
func (w *spanWalker) segmentAt(t int64) zoneSegment {
	if w.zoneCached && t >= w.zone.start && t < w.zone.end {
		return w.zone
	}
	tt := time.Unix(t, 0).In(w.c.Location())
	_, offset := tt.Zone()
	from, until := tt.ZoneBounds()
	seg := zoneSegment{start: math.MinInt64, end: math.MaxInt64, offset: int64(offset)}
	if !from.IsZero() {
		seg.start = from.Unix()
	}
	if !until.IsZero() {
		seg.end = until.Unix()
	}
	if seg.end <= t { // cannot happen; never loop on a confused zone
		seg.end = t + 1
	}
	w.zone, w.zoneCached = seg, true
	return seg
}
