package inbox_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// TestCountCasesByStatus checks the inbox's counts per status against
// ListCases itself, for every kind of user and filter, and one exact case.
func TestCountCasesByStatus(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.50s: %v", q, err)
		}
	}
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	type ws struct{ id, chat, mail, skill, user string }
	seed := func(name string, n int) ws {
		w := ws{id: store.NewID(), chat: store.NewID(), mail: store.NewID(), skill: store.NewID(), user: store.NewID()}
		exec(`INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, 0)`, w.id, name)
		exec(`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES (?, ?, 'chat', 'Chat', 0, 0), (?, ?, 'email', 'Mail', 0, 0)`,
			w.chat, w.id, w.mail, w.id)
		exec(`INSERT INTO skills (id, workspace_id, name, created_at) VALUES (?, ?, 'Billing', 0)`, w.skill, w.id)
		exec(`INSERT INTO users (id, workspace_id, email, name, role, created_at, updated_at) VALUES (?, ?, ?, 'Ana', 'agent', 0, 0)`, w.user, w.id, w.user+"@example.com")
		statuses := inbox.Statuses
		for i := 0; i < n; i++ {
			poc, typ := w.chat, "chat"
			if i%3 == 2 {
				poc, typ = w.mail, "email"
			}
			contact, thread, id := store.NewID(), store.NewID(), store.NewID()
			created := store.Micros(base.Add(time.Duration(i) * time.Hour))
			name := fmt.Sprintf("Customer %d", i)
			if i%5 == 0 {
				name = "Zoë Parcel"
			}
			exec(`INSERT INTO contacts (id, workspace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, contact, w.id, name, created, created)
			exec(`INSERT INTO threads (id, workspace_id, point_of_contact_id, contact_id, external_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				thread, w.id, poc, contact, fmt.Sprint(i), created)
			var skill, assignee, owner any
			if i%2 == 0 {
				skill = w.skill
			}
			if i%4 == 1 {
				assignee, owner = w.user, w.user
			} else if i%4 == 2 {
				owner = w.user
			}
			subject := fmt.Sprintf("Order %d", i)
			if i%7 == 0 {
				subject = "Refund_100%"
			}
			exec(`INSERT INTO cases (id, workspace_id, thread_id, point_of_contact_id, channel_type, contact_id, status, skill_id, assignee_id, owner_id, subject,
				created_at, updated_at, last_message_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, w.id, thread, poc, typ, contact, string(statuses[i%len(statuses)]), skill, assignee, owner, subject, created, created, created)
			text := "hello"
			if i%6 == 0 {
				text = "where is my parcel?"
			}
			exec(`INSERT INTO messages (id, workspace_id, case_id, thread_id, point_of_contact_id, direction, author_type, text, status, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, 'inbound', 'contact', ?, 'received', ?, ?)`, store.NewID(), w.id, id, thread, poc, text, created, created)
			if i%3 == 0 {
				exec(`INSERT INTO case_tags (workspace_id, case_id, tag) VALUES (?, ?, 'vip')`, w.id, id)
			}
		}
		return w
	}
	a := seed("A", 60)
	b := seed("B", 25) // same statuses, tags and texts: must never be counted for A
	svc := inbox.New(inbox.Options{DB: db})

	admin := &account.User{ID: store.NewID(), WorkspaceID: a.id, Role: account.RoleAdmin}
	chatAgent := &account.User{ID: a.user, WorkspaceID: a.id, Role: account.RoleAgent, ChannelPermissions: account.Permissions{a.chat: {"reply"}}}
	allAgent := &account.User{ID: a.user, WorkspaceID: a.id, Role: account.RoleAgent, ChannelPermissions: account.Permissions{"*": {"reply"}}}
	noAgent := &account.User{ID: a.user, WorkspaceID: a.id, Role: account.RoleAgent}
	bAdmin := &account.User{ID: store.NewID(), WorkspaceID: b.id, Role: account.RoleAdmin}
	after, before := base.Add(10*time.Hour), base.Add(40*time.Hour)
	filters := map[string]inbox.CaseFilter{
		"none":             {},
		"point of contact": {PointOfContactID: a.mail},
		"channel":          {ChannelType: "chat"},
		"skill":            {SkillID: a.skill},
		"unassigned":       {AssigneeID: "none"},
		"assignee":         {AssigneeID: a.user},
		"no owner":         {OwnerID: "none"},
		"owner":            {OwnerID: a.user},
		"tag":              {Tag: "VIP"},
		"text in subject":  {Text: "refund_100%"},
		"text in name":     {Text: "zoë"},
		"text in message":  {Text: "PARCEL"},
		"created range":    {CreatedAfter: &after, CreatedBefore: &before},
		"combined":         {ChannelType: "chat", SkillID: a.skill, Tag: "vip", AssigneeID: "none"},
		// Ignored by the counts: every status is counted.
		"statuses": {Statuses: []inbox.Status{inbox.StatusNew}},
	}
	for _, u := range []*account.User{admin, chatAgent, allAgent, noAgent, bAdmin} {
		for name, f := range filters {
			got, err := svc.CountCasesByStatus(ctx, u, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			lf := f
			lf.Statuses, lf.Limit = inbox.Statuses, 200
			page, err := svc.ListCases(ctx, u, lf)
			if err != nil {
				t.Fatalf("%s: list: %v", name, err)
			}
			want := map[inbox.Status]int{}
			for _, c := range page.Items {
				want[c.Status]++
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s user, filter %s: counts %v, ListCases %v", u.Role, name, got, want)
			}
			if u == admin && len(page.Items) == 0 {
				t.Errorf("filter %s selects nothing for an admin: the comparison proves little", name)
			}
		}
	}
	// Exactly: cases 0–59 cycle through the 7 statuses.
	got, err := svc.CountCasesByStatus(ctx, admin, inbox.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[inbox.Status]int{"new": 9, "open": 9, "pending": 9, "escalated": 9, "resolved": 8, "closed": 8, "trashed": 8}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("admin, no filter: %v, want %v", got, want)
	}
	if got, _ := svc.CountCasesByStatus(ctx, noAgent, inbox.CaseFilter{}); len(got) != 0 {
		t.Errorf("an agent without points of contact counts %v", got)
	}
}
