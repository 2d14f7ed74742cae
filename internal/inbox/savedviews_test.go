package inbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// TestSavedViews: views are per user and per workspace; an agent keeps
// private views only; supervisors share; another user's private view and
// another workspace's views are invisible; owners delete their own and
// administrators any; filters are validated and kept in one canonical form.
func TestSavedViews(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	accounts := account.New(db, time.Now)
	accounts.BcryptCost = 4
	svc := inbox.New(inbox.Options{DB: db})

	user := func(ws account.Workspace, email string, role account.Role) *account.User {
		t.Helper()
		u, err := accounts.CreateUser(ctx, db, ws.ID, account.NewUser{Email: email, Role: role, Password: "password123"})
		if err != nil {
			t.Fatal(err)
		}
		return &u
	}
	acme, err := accounts.CreateWorkspace(ctx, db, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	other, err := accounts.CreateWorkspace(ctx, db, "Other")
	if err != nil {
		t.Fatal(err)
	}
	admin := user(acme, "admin@acme.test", account.RoleAdmin)
	sup := user(acme, "sup@acme.test", account.RoleSupervisor)
	ana := user(acme, "ana@acme.test", account.RoleAgent)
	ben := user(acme, "ben@acme.test", account.RoleAgent)
	stranger := user(other, "admin@other.test", account.RoleAdmin)

	// An agent's private view, with filters put in canonical form.
	mine, err := svc.CreateSavedView(ctx, ana, inbox.NewSavedView{Name: "  My WhatsApp  ", Filters: inbox.ViewFilters{
		Statuses: []inbox.Status{inbox.StatusPending, inbox.StatusNew, inbox.StatusNew}, ChannelType: "whatsapp", AssigneeID: "me", Tag: " VIP ", Sort: "-created_at"}})
	if err != nil {
		t.Fatal(err)
	}
	if mine.Name != "My WhatsApp" || mine.Shared || mine.OwnerID != ana.ID || mine.Filters.Tag != "vip" ||
		len(mine.Filters.Statuses) != 2 || mine.Filters.Statuses[0] != inbox.StatusNew || mine.Filters.Statuses[1] != inbox.StatusPending {
		t.Fatalf("created: %+v", mine)
	}
	if f := mine.Filters.CaseFilter(ana); f.AssigneeID != ana.ID || f.ChannelType != "whatsapp" || f.Tag != "vip" {
		t.Errorf("case filter for the owner: %+v", f)
	}
	dated, err := svc.CreateSavedView(ctx, ana, inbox.NewSavedView{Name: "March, mine", Filters: inbox.ViewFilters{OwnerID: "me", CreatedFrom: "2025-03-01", CreatedTo: "2025-03-31"}})
	if err != nil {
		t.Fatal(err)
	}
	if f := dated.Filters.CaseFilter(ben); f.OwnerID != ben.ID || f.CreatedAfter == nil || !f.CreatedAfter.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) ||
		f.CreatedBefore == nil || !f.CreatedBefore.Equal(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("owner and creation days: %+v", f)
	}
	if err := svc.DeleteSavedView(ctx, ana, dated.ID); err != nil {
		t.Fatal(err)
	}
	// Agents may not share.
	if _, err := svc.CreateSavedView(ctx, ana, inbox.NewSavedView{Name: "For everyone", Shared: true}); !errors.Is(err, inbox.ErrShareNotAllowed) || !errors.Is(err, inbox.ErrForbidden) {
		t.Errorf("agent sharing: %v", err)
	}
	shared, err := svc.CreateSavedView(ctx, sup, inbox.NewSavedView{Name: "Unassigned", Shared: true, Filters: inbox.ViewFilters{AssigneeID: "none"}})
	if err != nil {
		t.Fatal(err)
	}
	supPrivate, err := svc.CreateSavedView(ctx, sup, inbox.NewSavedView{Name: "Escalations", Filters: inbox.ViewFilters{Statuses: []inbox.Status{inbox.StatusEscalated}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateSavedView(ctx, stranger, inbox.NewSavedView{Name: "Elsewhere", Shared: true}); err != nil {
		t.Fatal(err)
	}

	names := func(u *account.User) string {
		t.Helper()
		vs, err := svc.ListSavedViews(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(ana); got != "My WhatsApp,Unassigned" {
		t.Errorf("ana sees %q", got)
	}
	if got := names(ben); got != "Unassigned" {
		t.Errorf("ben sees %q", got)
	}
	if got := names(sup); got != "Escalations,Unassigned" {
		t.Errorf("the supervisor sees %q", got)
	}
	if got := names(stranger); got != "Elsewhere" {
		t.Errorf("another workspace sees %q", got)
	}
	if _, err := svc.GetSavedView(ctx, ben, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another agent's private view: %v", err)
	}
	if _, err := svc.GetSavedView(ctx, stranger, shared.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another workspace's shared view: %v", err)
	}
	if got, err := svc.GetSavedView(ctx, ben, shared.ID); err != nil || got.Filters.AssigneeID != "none" {
		t.Errorf("a shared view: %+v %v", got, err)
	}

	// Validation.
	for _, in := range []inbox.NewSavedView{
		{Name: ""},
		{Name: strings.Repeat("x", inbox.MaxSavedViewName+1)},
		{Name: "two\nlines"},
		{Name: "bad status", Filters: inbox.ViewFilters{Statuses: []inbox.Status{"archived"}}},
		{Name: "bad sort", Filters: inbox.ViewFilters{Sort: "name"}},
		{Name: "bad tag", Filters: inbox.ViewFilters{Tag: "a,b"}},
		{Name: "long search", Filters: inbox.ViewFilters{Text: strings.Repeat("y", 201)}},
		{Name: "bad date", Filters: inbox.ViewFilters{CreatedFrom: "01/03/2025"}},
		{Name: "dates reversed", Filters: inbox.ViewFilters{CreatedFrom: "2025-03-02", CreatedTo: "2025-03-01"}},
		{Name: "my whatsapp"}, // the same name, whatever its case
	} {
		var ve *inbox.ValidationError
		if _, err := svc.CreateSavedView(ctx, ana, in); !errors.As(err, &ve) {
			t.Errorf("%q: %v", in.Name, err)
		}
	}
	// Every status is no status filter.
	all, err := svc.CreateSavedView(ctx, ben, inbox.NewSavedView{Name: "Everything", Filters: inbox.ViewFilters{Statuses: inbox.Statuses}})
	if err != nil || all.Filters.Statuses != nil {
		t.Errorf("every status: %+v %v", all.Filters, err)
	}

	// Deleting: a colleague's shared view is forbidden, a colleague's
	// private view and another workspace's view are not found; the owner
	// and an administrator may.
	if err := svc.DeleteSavedView(ctx, ana, shared.ID); !errors.Is(err, inbox.ErrForbidden) {
		t.Errorf("agent deleting a shared view: %v", err)
	}
	if err := svc.DeleteSavedView(ctx, ben, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("agent deleting another's private view: %v", err)
	}
	if err := svc.DeleteSavedView(ctx, stranger, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another workspace deleting: %v", err)
	}
	if err := svc.DeleteSavedView(ctx, ana, mine.ID); err != nil {
		t.Errorf("owner deleting: %v", err)
	}
	if err := svc.DeleteSavedView(ctx, admin, supPrivate.ID); err != nil {
		t.Errorf("admin deleting a private view: %v", err)
	}
	if err := svc.DeleteSavedView(ctx, admin, shared.ID); err != nil {
		t.Errorf("admin deleting a shared view: %v", err)
	}
	if got := names(sup); got != "" {
		t.Errorf("after deletes the supervisor sees %q", got)
	}
	if !inbox.CanDeleteSavedView(admin, all) || inbox.CanDeleteSavedView(ana, all) || !inbox.CanDeleteSavedView(ben, all) {
		t.Error("CanDeleteSavedView disagrees with DeleteSavedView")
	}

	// The limit per user.
	for i := 0; i < inbox.MaxSavedViews-1; i++ {
		if _, err := svc.CreateSavedView(ctx, ben, inbox.NewSavedView{Name: "View " + string(rune('A'+i%26)) + string(rune('a'+i/26))}); err != nil {
			t.Fatal(err)
		}
	}
	var ve *inbox.ValidationError
	if _, err := svc.CreateSavedView(ctx, ben, inbox.NewSavedView{Name: "One too many"}); !errors.As(err, &ve) {
		t.Errorf("over the limit: %v", err)
	}
}
