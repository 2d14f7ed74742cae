package automation

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// TestTwoNodesNeverRunAJobTwice runs two engines, each with its own
// connection pool as two Parley nodes would have, against one database
// (PostgreSQL with PARLEY_TEST_POSTGRES_URL: claims use FOR UPDATE SKIP
// LOCKED), and checks that every job ran exactly once.
func TestTwoNodesNeverRunAJobTwice(t *testing.T) {
	t.Logf("database: %s", storetest.Describe())
	dbURL, dir := storetest.URL(t)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, store.Options{URL: dbURL, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB := open(), open()
	f := newFixtureOn(t, dbA, func(o *Options) { o.Workers = 4 })
	nodeB := f.engine(dbB, func(o *Options) { o.Workers = 4 })

	f.rule(RuleInput{Name: "Tag", Trigger: Trigger{Type: TriggerAssigneeChanged}, Actions: []Action{{Type: ActionAddTag, Tags: []string{"seen"}}}})
	const cases, busyCases, jobsPerBusyCase = 120, 10, 5
	var ids []string
	for range cases {
		ids = append(ids, f.newCase())
	}
	for _, id := range ids {
		f.handle(Event{Type: TriggerAssigneeChanged, CaseID: id})
	}
	// Some cases have several jobs: they must run one at a time.
	for _, id := range ids[:busyCases] {
		for range jobsPerBusyCase - 1 {
			f.handle(Event{Type: TriggerAssigneeChanged, CaseID: id})
		}
	}
	total := cases + busyCases*(jobsPerBusyCase-1)

	var ran atomic.Int64
	var perNode [2]atomic.Int64
	var wg sync.WaitGroup
	for i, node := range []*Engine{f.eng, nodeB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each node keeps claiming until every job has run; a node
			// finding nothing while the other still works tries again.
			for idle := 0; ran.Load() < int64(total) && idle < 10000; {
				n, err := node.RunDue(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				ran.Add(int64(n))
				perNode[i].Add(int64(n))
				if n == 0 {
					idle++
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("node A ran %d jobs, node B %d", perNode[0].Load(), perNode[1].Load())

	perJob := map[string]int{}
	perNodeCase := map[string]int{}
	for _, c := range f.applier.callsOf("AddTags") {
		perJob[c.Cause.JobID]++
		perNodeCase[c.CaseID]++
	}
	if len(perJob) != total || ran.Load() != int64(total) {
		t.Fatalf("%d distinct jobs ran (%d claimed), want %d", len(perJob), ran.Load(), total)
	}
	for id, n := range perJob {
		if n != 1 {
			t.Fatalf("job %s ran %d times", id, n)
		}
	}
	var left int
	if err := dbA.QueryRowContext(ctx, `SELECT COUNT(*) FROM automation_jobs WHERE status <> 'done'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d jobs not done", left)
	}
	for _, id := range ids[:busyCases] {
		if perNodeCase[id] != jobsPerBusyCase {
			t.Fatalf("case %s: %d runs, want %d", id, perNodeCase[id], jobsPerBusyCase)
		}
	}
}
