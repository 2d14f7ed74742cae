package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/byoc"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/store"
)

// DemoPassword is the password of the demo agents.
const DemoPassword = "parley-demo"

// SeedDemo fills an empty database with a demo workspace: agents, skills, a
// BYOC point of contact answered by the built-in sandbox middleware, and
// cases in every status. A database that already has points of contact is
// left alone.
func (a *App) SeedDemo(ctx context.Context, out io.Writer) error {
	admin, err := a.firstAdmin(ctx)
	if err != nil {
		return err
	}
	existing, err := a.Points.List(ctx, admin.WorkspaceID)
	if err != nil || len(existing) > 0 {
		return err
	}
	general, err := a.Skills.Create(ctx, admin.WorkspaceID, admin.ID, "General", "Everything else")
	if err != nil {
		return err
	}
	if _, err := a.Skills.Create(ctx, admin.WorkspaceID, admin.ID, "Billing", "Invoices, refunds, payments"); err != nil {
		return err
	}
	for _, u := range []account.NewUser{
		{Email: "alice@demo.parley.local", Name: "Alice (agent)", Role: account.RoleAgent, Password: DemoPassword},
		{Email: "bob@demo.parley.local", Name: "Bob (agent)", Role: account.RoleAgent, Password: DemoPassword},
		{Email: "sam@demo.parley.local", Name: "Sam (supervisor)", Role: account.RoleSupervisor, Password: DemoPassword},
	} {
		if _, err := a.Accounts.CreateUser(ctx, a.DB, admin.WorkspaceID, u); err != nil {
			return err
		}
	}
	poc, _, err := a.Points.Create(ctx, admin.WorkspaceID, admin.ID, channel.NewPointOfContact{Type: byoc.Type, Name: "Demo BYOC (sandbox)",
		Settings: map[string]any{"callback_url": a.PublicURL() + "/sandbox/byoc"}, DefaultSkillID: &general.ID})
	if err != nil {
		return err
	}
	people := []struct {
		name, text string
		to         []inbox.Status
	}{
		{"Nina New", "Hello, my parcel has not arrived.", nil},
		{"Oscar Open", "Can I change my delivery address?", []inbox.Status{inbox.StatusOpen}},
		{"Paula Pending", "Do you ship to Belgium?", []inbox.Status{inbox.StatusPending}},
		{"Eric Escalated", "I was charged twice!", []inbox.Status{inbox.StatusEscalated}},
		{"Rita Resolved", "Thanks, all good now.", []inbox.Status{inbox.StatusResolved}},
		{"Carl Closed", "How do I reset my password?", []inbox.Status{inbox.StatusResolved, inbox.StatusClosed}},
		{"Spam Bot", "Cheap watches!!!", []inbox.Status{inbox.StatusTrashed}},
	}
	for i, p := range people {
		id := fmt.Sprintf("demo-%d", i+1)
		res, err := a.Inbox.Ingest(ctx, &poc, []inbox.InboundItem{{Event: channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id + "-m1",
			ThreadID: id, AuthorID: id, AuthorName: p.name, Text: p.text, SentAt: a.cfg.Now()}}})
		if err != nil {
			return err
		}
		for _, st := range p.to {
			if st == inbox.StatusPending {
				if _, err := a.Inbox.Reply(ctx, admin, res[0].CaseID, inbox.NewMessage{Text: "Yes, we ship to all EU countries."}); err != nil {
					return err
				}
				continue
			}
			st := st
			if _, err := a.Inbox.UpdateCase(ctx, admin, res[0].CaseID, inbox.CasePatch{Status: &st}); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "Demo data: agents alice@demo.parley.local and bob@demo.parley.local, supervisor sam@demo.parley.local (password %q);\n", DemoPassword)
	fmt.Fprintf(out, "BYOC point of contact %s answered by the built-in sandbox middleware.\n", poc.ID)
	return nil
}

func (a *App) firstAdmin(ctx context.Context) (*account.User, error) {
	ws, err := a.Accounts.FirstWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	users, err := a.Accounts.ListUsers(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.IsAdmin() && !u.Disabled {
			return &u, nil
		}
	}
	return nil, fmt.Errorf("no administrator")
}

// sandboxBYOC is a built-in BYOC middleware for the demo: it verifies the
// callback signature like a real middleware, answers with an id, and then
// reports the message delivered and read, so a newcomer sees the whole
// lifecycle with no integration of their own.
func (a *App) sandboxBYOC(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	var cb struct {
		MessageID        string `json:"message_id"`
		PointOfContactID string `json:"point_of_contact_id"`
	}
	if json.Unmarshal(body, &cb) != nil || cb.PointOfContactID == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	poc, err := a.Points.Lookup(r.Context(), cb.PointOfContactID)
	if err != nil || !strings.HasSuffix(poc.SettingString("callback_url"), "/sandbox/byoc") {
		http.Error(w, "unknown point of contact", http.StatusNotFound)
		return
	}
	if err := byoc.Verify(poc.Credential("secret"), r.Header.Get("X-Parley-Signature"), body, a.cfg.Now(), 5*time.Minute); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": "sandbox-" + cb.MessageID})
	go func() {
		for _, st := range []string{"delivered", "read"} {
			time.Sleep(time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := a.Inbox.Ingest(ctx, &poc, []inbox.InboundItem{{Event: channel.InboundEvent{Kind: channel.EventStatus, StatusMessageID: cb.MessageID, Status: st}}})
			cancel()
			if err != nil && err != store.ErrNotFound {
				a.log.Warn("sandbox receipt", "err", err)
			}
		}
	}()
}
