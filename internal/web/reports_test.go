package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// TestReportsAPI: the report as JSON and CSV with exact figures on a small
// data set (another workspace's case on the same day and channel is not
// counted), for supervisors and administrators only, with bad parameters
// named.
func TestReportsAPI(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	acc := account.New(db, clock)
	acc.BcryptCost = 4
	us := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return store.Micros(tm)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.50s: %v", q, err)
		}
	}
	type ws struct {
		id, poc string
		users   map[account.Role]account.User
	}
	seed := func(name string) ws {
		w, err := acc.CreateWorkspace(ctx, db, name)
		if err != nil {
			t.Fatal(err)
		}
		out := ws{id: w.ID, poc: store.NewID(), users: map[account.Role]account.User{}}
		for _, role := range []account.Role{account.RoleAdmin, account.RoleSupervisor, account.RoleAgent} {
			u, err := acc.CreateUser(ctx, db, w.ID, account.NewUser{Email: string(role) + "@" + name + ".example.com", Name: "Ana " + string(role), Role: role, Password: "correct horse"})
			if err != nil {
				t.Fatal(err)
			}
			out.users[role] = u
		}
		exec(`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES (?, ?, 'chat', 'Site chat', 0, 0)`, out.poc, w.ID)
		return out
	}
	kase := func(w ws, created string, owner any, firstResponse, resolved any, slaState string) string {
		contact, thread, id := store.NewID(), store.NewID(), store.NewID()
		c := us(created)
		exec(`INSERT INTO contacts (id, workspace_id, created_at, updated_at) VALUES (?, ?, ?, ?)`, contact, w.id, c, c)
		exec(`INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`, thread, w.id, w.poc, contact, id, c)
		exec(`INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, owner_id, created_at, updated_at, last_message_at,
			first_response_at, last_reply_at, resolved_at, sla_kind, sla_started_at, sla_due_at, sla_state) VALUES (?, ?, ?, ?, 'chat', ?, 'open', ?, ?, ?, ?, ?, ?, ?, 'first_response', ?, ?, ?)`,
			id, w.id, thread, w.poc, contact, owner, c, c, c, firstResponse, firstResponse, resolved, c, c+3600e6, slaState)
		exec(`INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'inbound', 'contact', 'received', ?, ?)`, store.NewID(), w.id, id, thread, w.poc, c, c)
		if firstResponse != nil {
			exec(`INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, status, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 'outbound', 'agent', 'delivered', ?, ?)`, store.NewID(), w.id, id, thread, w.poc, firstResponse, firstResponse)
		}
		return id
	}
	a, b := seed("a"), seed("b")
	agent := a.users[account.RoleAgent].ID
	// Answered after 300 s; routed at 10:01 (an accepted offer), resolved
	// an hour later; SLA met.
	k1 := kase(a, "2026-03-30 10:00", agent, us("2026-03-30 10:05"), us("2026-03-30 11:01"), "met")
	exec(`INSERT INTO offers (id, workspace_id, case_id, user_id, kind, status, offered_at, expires_at, answered_at) VALUES (?, ?, ?, ?, 'push', 'accepted', ?, ?, ?)`,
		store.NewID(), a.id, k1, agent, us("2026-03-30 10:00"), us("2026-03-30 10:02"), us("2026-03-30 10:01"))
	// Waiting, its timer running.
	kase(a, "2026-03-30 12:00", nil, nil, nil, "running")
	// The other workspace's case, answered, same day and channel.
	kase(b, "2026-03-30 09:00", nil, us("2026-03-30 09:01"), nil, "met")

	s := New(Deps{DB: db, Accounts: acc, Now: clock}, Options{PublicURL: "http://parley.test"})
	h := s.Handler()
	tokens := map[account.Role]string{}
	for role, u := range a.users {
		tok, _, err := acc.CreateToken(ctx, &u, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = tok
	}
	get := func(role account.Role, path string) *http.Response {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		if role != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[role])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	body := func(res *http.Response) string {
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}

	figures := `"created":2,"resolved":1,"closed":0,"messages_in":2,"messages_out":1,
		"first_response":{"count":1,"mean_seconds":300,"median_seconds":300,"p90_seconds":300},
		"handle_time":{"count":1,"mean_seconds":3600,"median_seconds":3600,"p90_seconds":3600},
		"sla":{"met":1,"breached":0,"running":1,"percent":100},
		"days":[{"date":"2026-03-30","created":2,"resolved":1,"closed":0,"messages_in":2,"messages_out":1}]`
	want := `{"from":"2026-03-30","to":"2026-03-30","time_zone":"UTC","group":"channel",
		"rows":[{"key":"chat","label":"chat",` + figures + `}],
		"totals":{"key":"","label":"",` + figures + `}}`
	for _, role := range []account.Role{account.RoleSupervisor, account.RoleAdmin} {
		res := get(role, "/api/v1/reports?from=2026-03-30&to=2026-03-30&group=channel")
		raw := body(res)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", role, res.StatusCode, raw)
		}
		var got, exp any
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(want), &exp); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: report\n got %s\nwant %s", role, raw, want)
		}
	}

	res := get(account.RoleSupervisor, "/api/v1/reports.csv?from=2026-03-30&to=2026-03-30&group=agent")
	csv := body(res)
	wantCSV := "agent,key,created,answered,avg_first_response_seconds,median_first_response_seconds,p90_first_response_seconds,resolved,handled,avg_handle_seconds,median_handle_seconds,p90_handle_seconds,closed,messages_in,messages_out,sla_met,sla_breached,sla_running,sla_attainment_percent\n" +
		",,1,0,,,,0,0,,,,0,1,0,0,0,1,\n" + // no owner: key "" sorts first among equals
		"Ana agent," + agent + ",1,1,300.0,300.0,300.0,1,1,3600.0,3600.0,3600.0,0,1,1,1,0,0,100.0\n" +
		"total,,2,1,300.0,300.0,300.0,1,1,3600.0,3600.0,3600.0,0,2,1,1,0,1,100.0\n"
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="parley-report-agent-2026-03-30-2026-03-30.csv"` || csv != wantCSV {
		t.Errorf("CSV: %d %v\n%s\nwant\n%s", res.StatusCode, res.Header, csv, wantCSV)
	}

	// Defaults: the 30 days up to today, by channel.
	var rep struct{ From, To, Group string }
	if res := get(account.RoleAdmin, "/api/v1/reports"); res.StatusCode != 200 {
		t.Fatalf("defaults: %d", res.StatusCode)
	} else if err := json.NewDecoder(res.Body).Decode(&rep); err != nil || rep != (struct{ From, To, Group string }{"2026-03-02", "2026-03-31", "channel"}) {
		t.Errorf("defaults: %+v %v", rep, err)
	}

	// Agents are refused; so is a caller without a token.
	for _, path := range []string{"/api/v1/reports", "/api/v1/reports.csv"} {
		if res := get(account.RoleAgent, path); res.StatusCode != 403 {
			t.Errorf("agent on %s: %d", path, res.StatusCode)
		}
		if res := get("", path); res.StatusCode != 401 {
			t.Errorf("no token on %s: %d", path, res.StatusCode)
		}
	}
	// Bad parameters: 400 naming the field, as problem+json.
	for query, field := range map[string]string{"group=team": "group", "from=2026-13-01": "from", "to=yesterday": "to",
		"from=2026-03-30&to=2026-03-01": "from", "from=2024-01-01&to=2026-03-01": "from"} {
		for _, path := range []string{"/api/v1/reports?", "/api/v1/reports.csv?"} {
			res := get(account.RoleSupervisor, path+query)
			var p Problem
			_ = json.NewDecoder(res.Body).Decode(&p)
			if res.StatusCode != 400 || res.Header.Get("Content-Type") != "application/problem+json" || len(p.Errors) != 1 || p.Errors[0].Field != field {
				t.Errorf("%s%s: %d %+v, want 400 on %s", path, query, res.StatusCode, p, field)
			}
		}
	}
}
