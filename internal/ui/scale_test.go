package ui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
	"github.com/parleyhq/parley/internal/ui"
)

// scaleCases is how many cases TestInboxWith100kCases inserts
// (PARLEY_UI_SCALE_CASES overrides it).
func scaleCases() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_UI_SCALE_CASES")); err == nil && n > 0 {
		return n
	}
	if raceEnabled {
		// CI runs everything under -race, where 100,000 inserts and the
		// timed renders take over ten minutes: a smaller smoke run. The
		// figure is measured without -race:
		//   go test ./internal/ui -run TestInboxWith100kCases -v
		return 5_000
	}
	return 100_000
}

// TestInboxWith100kCases measures the server time of the inbox page (the
// whole handler: session, lookups, the case list, the counts per status,
// the template) with 100,000 cases in the database, inserted in bulk with
// SQL. The target is under 300 ms; the test fails only far above it (the
// machine is shared) and logs every measurement.
func TestInboxWith100kCases(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 100,000 cases")
	}
	n := scaleCases()
	ctx := context.Background()
	dbURL, dir := storetest.URL(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, app.Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL, AdminEmail: adminEmail, AdminPassword: adminPassword,
		BcryptCost: 4, Getenv: func(string) string { return "" }}, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.DB.Close() })
	admin, err := a.Accounts.Login(ctx, adminEmail, adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	ses, _, err := a.Accounts.CreateSession(ctx, &admin)
	if err != nil {
		t.Fatal(err)
	}
	var pocs []channel.PointOfContact
	for i := 0; i < 3; i++ {
		p, _, err := a.Points.Create(ctx, admin.WorkspaceID, admin.ID, channel.NewPointOfContact{Type: "byoc", Name: fmt.Sprintf("Middleware %d", i),
			Settings: map[string]any{"callback_url": "https://middleware.example/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		pocs = append(pocs, p)
	}
	skill, err := a.Skills.Create(ctx, admin.WorkspaceID, admin.ID, "Billing", "")
	if err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	insertCases(t, a.DB, admin.WorkspaceID, admin.ID, skill.ID, pocs, n)
	t.Logf("inserted %d contacts, threads, cases and messages on %s in %v", n, storetest.Describe(), time.Since(began).Round(time.Millisecond))

	h, err := ui.New(ui.Deps{DB: a.DB, Accounts: a.Accounts, Inbox: a.Inbox, Points: a.Points, Skills: a.Skills, Router: a.Router, Templates: a.Templates, Logger: log}, ui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	measure := func(path string) (time.Duration, time.Duration, string) {
		var times []time.Duration
		var body string
		for i := 0; i < 6; i++ {
			req := httptest.NewRequest("GET", path, nil)
			req.AddCookie(&http.Cookie{Name: ui.SessionCookie, Value: ses})
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			d := time.Since(start)
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			if i > 0 { // the first run warms caches and prepares statements
				times = append(times, d)
			}
			body = rec.Body.String()
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return times[len(times)/2], times[len(times)-1], body
	}
	median, worst, body := measure("/ui/inbox")
	if c := strings.Count(body, `class="case-row`); c != 50 {
		t.Fatalf("the inbox shows %d cases, want a page of 50", c)
	}
	t.Logf("inbox page (active cases, newest activity first, counts per status) with %d cases: median %v, worst %v (target < 300ms)", n, median.Round(time.Millisecond), worst.Round(time.Millisecond))
	if median > 2*time.Second {
		t.Errorf("inbox page median %v with %d cases: far above the 300 ms target", median, n)
	}
	for _, q := range []string{"/ui/inbox?status=all", "/ui/inbox?status=new&channel=byoc", "/ui/inbox?poc=" + pocs[1].ID + "&sort=created_at",
		"/ui/inbox?tag=vip", "/ui/inbox?assignee=none&skill=" + skill.ID, "/ui/inbox/list", "/ui/inbox?q=parcel+4242"} {
		m, w, _ := measure(q)
		t.Logf("%s: median %v, worst %v", q, m.Round(time.Millisecond), w.Round(time.Millisecond))
	}
}

// insertCases writes n cases (each with its contact, thread and one inbound
// message) in multi-row INSERTs inside one transaction.
func insertCases(t *testing.T, db *store.DB, ws, adminID, skillID string, pocs []channel.PointOfContact, n int) {
	t.Helper()
	ctx := context.Background()
	statuses := []string{"new", "open", "pending", "escalated", "resolved", "closed", "open", "pending", "new", "resolved"}
	now := time.Now().UTC()
	const batch = 400
	err := db.InTx(ctx, func(tx *store.Tx) error {
		for from := 0; from < n; from += batch {
			to := min(n, from+batch)
			var contacts, threads, cases, messages, tags []string
			var ca, ta, cs, ma, tg []any
			for i := from; i < to; i++ {
				p := pocs[i%len(pocs)]
				contact, thread, c, m := store.NewID(), store.NewID(), store.NewID(), store.NewID()
				created := now.Add(-time.Duration(n-i) * 77 * time.Second)
				last := created.Add(time.Duration(i%600) * time.Second)
				us, lastUS := store.Micros(created), store.Micros(last)
				contacts = append(contacts, "(?, ?, ?, ?, ?)")
				ca = append(ca, contact, ws, fmt.Sprintf("Customer %d", i), us, us)
				threads = append(threads, "(?, ?, ?, ?, ?, ?, ?)")
				ta = append(ta, thread, ws, p.ID, contact, fmt.Sprintf("ext-%d", i), fmt.Sprintf("Thread %d", i), us)
				status := statuses[i%len(statuses)]
				var skill, assignee any
				if i%3 == 0 {
					skill = skillID
				}
				if i%7 == 0 {
					assignee = adminID
				}
				cases = append(cases, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				cs = append(cs, c, ws, thread, p.ID, p.Type, contact, status, i%5, skill, assignee, fmt.Sprintf("Order %d: where is my parcel?", i), us, lastUS, lastUS, lastUS, assignee)
				messages = append(messages, "(?, ?, ?, ?, ?, 'inbound', 'contact', ?, ?, 'received', ?, ?)")
				ma = append(ma, m, ws, c, thread, p.ID, contact, fmt.Sprintf("Hello, parcel %d has not arrived", i), lastUS, lastUS)
				if i%50 == 0 {
					tags = append(tags, "(?, ?, ?)")
					tg = append(tg, ws, c, "vip")
				}
			}
			for _, s := range []struct {
				q    string
				rows []string
				args []any
			}{
				{`INSERT INTO contacts (id, workspace_id, name, created_at, updated_at) VALUES `, contacts, ca},
				{`INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, name, created_at) VALUES `, threads, ta},
				{`INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, priority, skill_id, assignee_id, subject,
					created_at, updated_at, last_message_at, last_inbound_at, owner_id) VALUES `, cases, cs},
				{`INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, author_id, text, status, created_at, updated_at) VALUES `, messages, ma},
				{`INSERT INTO case_tags (workspace_id, case_id, tag) VALUES `, tags, tg},
			} {
				if len(s.rows) == 0 {
					continue
				}
				if _, err := tx.ExecContext(ctx, s.q+strings.Join(s.rows, ", "), s.args...); err != nil {
					return fmt.Errorf("%.40s: %w", s.q, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	if db.Dialect() == store.SQLite {
		// What the running server's checkpointer does every 500 ms.
		if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
	}
}
