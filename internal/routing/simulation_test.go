package routing

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// TestSimulation is the router's acceptance simulation on a fake clock:
// 2,000 cases over 5 skills with mixed priorities, 50 agents with different
// skills, proficiencies and capacities, each offer randomly accepted,
// rejected or left to time out. It checks, tick by tick, that no agent is
// ever over capacity and that every offer went to the best waiting case of
// its skill; at the end, that every case was routed and that identical
// agents got shares within 10 % of their group's mean.
func TestSimulation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(20261124, 6))

	type skillDef struct {
		id                           string
		step, interval, max, timeout int
	}
	skills := []skillDef{
		{f.skill("support", 0, 60, 0, 20), 0, 60, 0, 20},
		{f.skill("billing", 1, 30, 20, 30), 1, 30, 20, 30},
		{f.skill("sales", 2, 60, 30, 15), 2, 60, 30, 15},
		{f.skill("tech", 1, 10, 50, 25), 1, 10, 50, 25},
		{f.skill("vip", 0, 60, 0, 10), 0, 60, 0, 10},
	}
	// The test's own copy of each skill's ageing rule, to recompute
	// effective priorities independently of the router's queues.
	confs := map[string]skillConf{}
	for _, s := range skills {
		confs[s.id] = skillConf{step: int64(s.step), intervalS: int64(s.interval), max: int64(s.max), timeoutS: int64(s.timeout)}
	}
	capacities := map[string]Capacity{}
	groups := map[string][]string{}
	addAgent := func(group string, c Capacity, sk map[string]int) {
		id := fmt.Sprintf("agent-%02d", len(capacities)+1)
		f.agent(id, c, sk)
		capacities[id] = c
		if group != "" {
			groups[group] = append(groups[group], id)
		}
	}
	// Three groups of ten identical agents, twenty individuals.
	for range 10 {
		addAgent("support-only", Capacity{Chat: 2, Messaging: 3, Email: 4, Social: 2, Total: 4}, map[string]int{skills[0].id: 6})
	}
	for range 10 {
		addAgent("billing+support", Capacity{Chat: 3, Messaging: 4, Email: 5, Social: 3, Total: 5}, map[string]int{skills[1].id: 8, skills[0].id: 3})
	}
	for range 10 {
		addAgent("sales+tech", Capacity{Chat: 2, Messaging: 3, Email: 3, Social: 2, Total: 3}, map[string]int{skills[2].id: 7, skills[3].id: 4})
	}
	for range 20 {
		sk := map[string]int{}
		for _, s := range skills {
			if rng.IntN(2) == 0 {
				sk[s.id] = 1 + rng.IntN(10)
			}
		}
		if len(sk) == 0 {
			sk[skills[4].id] = 1 + rng.IntN(10)
		}
		addAgent("", Capacity{Chat: 1 + rng.IntN(3), Messaging: 1 + rng.IntN(5), Email: 1 + rng.IntN(8), Social: 1 + rng.IntN(3), Total: 2 + rng.IntN(6)}, sk)
	}

	const total = 2000
	classes := []Class{ClassChat, ClassMessaging, ClassMessaging, ClassEmail, ClassSocial}
	priorities := []int{0, 0, 0, 1, 5, 10}
	type plan struct {
		decideAt time.Time
		action   string // accept, reject, ignore
	}
	plans := map[string]plan{}          // offer id → what the agent will do
	resolveAt := map[string]time.Time{} // case id → when its agent finishes
	accepted := map[string]int{}        // agent → cases accepted
	routed := map[string]bool{}
	var arrived, offersMade, rejects, timeouts, orderViolations, capacityViolations, passes int
	var waits []time.Duration
	arrivalAt := map[string]time.Time{}

	for tick := 0; len(routed) < total; tick++ {
		if tick > 20000 {
			t.Fatalf("not every case was routed after %d ticks: %d of %d", tick, len(routed), total)
		}
		now := f.clk.Now()
		// Arrivals: 1.5 a second on average until all have come; support
		// busiest, vip quietest.
		for n := rng.IntN(4); n > 0 && arrived < total; n-- {
			s := skills[pickWeighted(rng, []int{30, 25, 15, 18, 12})]
			id := f.queueCase(s.id, classes[rng.IntN(len(classes))], priorities[rng.IntN(len(priorities))])
			arrivalAt[id] = now
			arrived++
		}
		before := offersMade
		n, err := f.r.Route(ctx, f.ws)
		if err != nil {
			t.Fatal(err)
		}
		passes++
		offersMade += n
		if offersMade > before {
			orderViolations += checkOrder(t, f, now, confs)
		}
		capacityViolations += checkCapacity(t, f, capacities)
		// New offers get a plan: 75 % accepted, 15 % rejected, 10 % left
		// to time out, after 0 to 8 seconds.
		offers := pendingOffers(t, f)
		for _, o := range offers {
			if _, ok := plans[o.ID]; ok {
				continue
			}
			p := plan{decideAt: now.Add(time.Duration(rng.IntN(9)) * time.Second)}
			switch x := rng.IntN(100); {
			case x < 75:
				p.action = "accept"
			case x < 90:
				p.action = "reject"
			default:
				p.action = "ignore"
			}
			plans[o.ID] = p
		}
		for _, o := range offers {
			p := plans[o.ID]
			if p.decideAt.After(now) {
				continue
			}
			switch p.action {
			case "accept":
				if _, err := f.r.Accept(ctx, f.ws, o.UserID, o.ID); err != nil {
					if err == ErrOfferGone {
						continue
					}
					t.Fatal(err)
				}
				accepted[o.UserID]++
				routed[o.CaseID] = true
				waits = append(waits, now.Sub(arrivalAt[o.CaseID]))
				resolveAt[o.CaseID] = now.Add(time.Duration(40+rng.IntN(41)) * time.Second)
			case "reject":
				if err := f.r.Reject(ctx, f.ws, o.UserID, o.ID); err != nil && err != ErrOfferGone {
					t.Fatal(err)
				}
				rejects++
			}
		}
		// Agents finish their cases.
		var done []string
		for id, at := range resolveAt {
			if !at.After(now) {
				done = append(done, id)
			}
		}
		sort.Strings(done)
		for _, id := range done {
			f.exec(`UPDATE cases SET status = 'resolved' WHERE id = ?`, id)
			delete(resolveAt, id)
		}
		f.clk.Advance(time.Second)
	}
	var expired int
	if err := f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM offers WHERE status = 'expired'`).Scan(&expired); err != nil {
		t.Fatal(err)
	}
	timeouts = expired
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	t.Logf("simulation (%s): %d cases, 50 agents, %d passes, %d offers (%d rejected, %d timed out), all routed; median wait %s, p95 %s",
		f.db.Dialect(), total, passes, offersMade, rejects, timeouts, waits[len(waits)/2], waits[len(waits)*95/100])
	t.Logf("capacity violations: %d; order violations: %d", capacityViolations, orderViolations)
	if capacityViolations != 0 || orderViolations != 0 {
		t.Errorf("capacity violations %d, order violations %d: want 0", capacityViolations, orderViolations)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		var sum float64
		lo, hi := math.MaxInt, 0
		for _, id := range groups[g] {
			n := accepted[id]
			sum += float64(n)
			lo, hi = min(lo, n), max(hi, n)
		}
		mean := sum / float64(len(groups[g]))
		worst := math.Max(mean-float64(lo), float64(hi)-mean) / mean
		t.Logf("group %-16s mean %.1f cases per agent, min %d, max %d, largest deviation %.1f %% of the mean", g, mean, lo, hi, 100*worst)
		if worst > 0.10 {
			t.Errorf("group %s: an agent's share is %.1f %% off the mean (want ≤ 10 %%)", g, 100*worst)
		}
	}
}

func pickWeighted(rng *rand.Rand, weights []int) int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	x := rng.IntN(sum)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// checkOrder verifies the offers made at now: no case still waiting in the
// same skill has a higher effective priority, or the same and an earlier
// arrival. Effective priority is recomputed here from the case's fields.
func checkOrder(t *testing.T, f *fixture, now time.Time, confs map[string]skillConf) int {
	t.Helper()
	type row struct {
		id, skill      string
		prio, queuedAt int64
		offered        bool
	}
	rows, err := f.db.QueryContext(context.Background(), `SELECT c.id, c.skill_id, c.priority, c.queued_at,
		EXISTS (SELECT 1 FROM offers o WHERE o.case_id = c.id AND o.offered_at = ? AND o.kind = 'push')
		FROM cases c WHERE c.workspace_id = ? AND (c.routing_state = 'queued' OR c.id IN (SELECT case_id FROM offers WHERE offered_at = ? AND kind = 'push'))`,
		store.Micros(now), f.ws, store.Micros(now))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	worstOffered := map[string]*queued{}
	bestWaiting := map[string]*queued{}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.skill, &r.prio, &r.queuedAt, &r.offered); err != nil {
			t.Fatal(err)
		}
		k := confs[r.skill]
		eff := r.prio
		if k.step > 0 {
			eff = r.prio + k.step*((store.Micros(now)-r.queuedAt)/1e6/k.intervalS)
			eff = max(r.prio, min(eff, k.max))
		}
		q := &queued{id: r.id, skill: r.skill, eff: eff, queuedAt: r.queuedAt}
		if r.offered {
			if w := worstOffered[r.skill]; w == nil || less(w, q) {
				worstOffered[r.skill] = q
			}
		} else if b := bestWaiting[r.skill]; b == nil || less(q, b) {
			bestWaiting[r.skill] = q
		}
	}
	bad := 0
	for skill, w := range worstOffered {
		if b := bestWaiting[skill]; b != nil && less(b, w) {
			t.Errorf("at %s case %s (eff %d, queued %d) was offered while %s (eff %d, queued %d) waited in %s", now.Format(time.TimeOnly), w.id, w.eff, w.queuedAt, b.id, b.eff, b.queuedAt, skill)
			bad++
		}
	}
	return bad
}

func checkCapacity(t *testing.T, f *fixture, caps map[string]Capacity) int {
	t.Helper()
	loads, err := loadsOf(context.Background(), f.db, f.ws)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for id, l := range loads {
		c := caps[id]
		held := l.held
		for _, cl := range []Class{ClassChat, ClassMessaging, ClassEmail, ClassSocial} {
			if held.Of(cl)+l.offers.Of(cl) > c.Of(cl) {
				t.Errorf("agent %s holds %d %s cases with a capacity of %d", id, held.Of(cl)+l.offers.Of(cl), cl, c.Of(cl))
				bad++
			}
		}
		if held.Total+l.offers.Total > c.Total {
			t.Errorf("agent %s holds %d cases with a total capacity of %d", id, held.Total+l.offers.Total, c.Total)
			bad++
		}
	}
	return bad
}

func pendingOffers(t *testing.T, f *fixture) []Offer {
	t.Helper()
	rows, err := f.db.QueryContext(context.Background(), `SELECT `+offerColumns+` FROM offers WHERE workspace_id = ? AND status = 'pending' ORDER BY id`, f.ws)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Offer
	for rows.Next() {
		o, err := scanOffer(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}
