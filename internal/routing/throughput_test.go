package routing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// BenchmarkRouteOffers measures routing throughput: 10,000 queued cases
// over 5 skills and 200 available agents with room for all of them; one
// op is the passes it takes to offer every case. Reported as offers/s.
//
//	go test ./internal/routing -run '^$' -bench RouteOffers -benchtime 3x
//	PARLEY_TEST_POSTGRES_URL=… go test ./internal/routing -run '^$' -bench RouteOffers -benchtime 3x
func BenchmarkRouteOffers(b *testing.B) {
	const cases, agents = 10000, 200
	ctx := context.Background()
	var total time.Duration
	var offers int
	for range b.N {
		b.StopTimer()
		f := newFixture(b)
		var skills []string
		for i := range 5 {
			skills = append(skills, f.skill(fmt.Sprintf("s%d", i), 1, 60, 50, 30))
		}
		for i := range agents {
			sk := map[string]int{skills[i%5]: 5, skills[(i+1)%5]: 3}
			f.agent(fmt.Sprintf("agent-%03d", i), Capacity{Chat: 100, Messaging: 100, Email: 100, Social: 100, Total: 100}, sk)
		}
		// Bulk insert the queue.
		us := store.Micros(f.clk.Now())
		err := f.db.InTx(ctx, func(tx *store.Tx) error {
			for i := range cases {
				id := fmt.Sprintf("case-%05d", i)
				thread := "thread-" + id
				if _, err := tx.ExecContext(ctx, `INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, created_at) VALUES (?, ?, ?, 'contact-1', ?, ?)`,
					thread, f.ws, f.pocs[ClassMessaging], thread, us); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, priority, skill_id,
					created_at, updated_at, last_message_at, routing_state, queued_at) VALUES (?, ?, ?, ?, 'whatsapp', 'contact-1', 'new', ?, ?, ?, ?, ?, 'queued', ?)`,
					id, f.ws, thread, f.pocs[ClassMessaging], i%7, skills[i%5], us, us, us, us+int64(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		b.StartTimer()
		start := time.Now()
		n := 0
		for n < cases {
			k, err := f.r.Route(ctx, f.ws)
			if err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				b.Fatalf("stuck at %d offers", n)
			}
			n += k
		}
		total += time.Since(start)
		offers += n
	}
	b.ReportMetric(float64(offers)/total.Seconds(), "offers/s")
}
