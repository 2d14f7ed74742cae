package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	wfake "github.com/parleyhq/parley/internal/channel/whatsapp/fake"
	"github.com/parleyhq/parley/internal/store/storetest"
	"github.com/parleyhq/parley/internal/ui"
)

// agentFileLimit is the per-file attachment limit in these tests (small,
// so "over the limit" needs no big upload).
const agentFileLimit = 64 << 10

// agentClock is a clock the tests move by hand (reply windows).
type agentClock struct {
	mu sync.Mutex
	t  time.Time
}

func newAgentClock() *agentClock { return &agentClock{t: time.Now().UTC()} }

func (c *agentClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *agentClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startAgent runs Parley as the binary does, with the UI the app mounts
// itself (it has the channel registry: attachment policies, SMS
// segments), on the given clock (nil: the real one), with attachments
// stored by the app's ingress path.
func startAgent(t *testing.T, clock *agentClock) *harness {
	t.Helper()
	dbURL, dir := storetest.URL(t)
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL, AdminEmail: adminEmail, AdminPassword: adminPassword,
		BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 50 * time.Millisecond, Lease: 5 * time.Second, MaxAttempts: 4,
		CallbackTimeout: 2 * time.Second, BcryptCost: 4, AllowPrivateFetch: true, Getenv: func(string) string { return "" }}
	cfg.MaxAttachmentBytes = agentFileLimit
	if clock != nil {
		cfg.Now = clock.Now
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatalf("start parley on %s: %v", storetest.Describe(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	h := &harness{t: t, app: a, ui: a.UI, url: a.URL()}
	var tok struct{ Token string }
	h.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": adminEmail, "password": adminPassword}, 201, &tok)
	h.admin = tok.Token
	return h
}

// cookie is the Cookie header of a session (and a language).
func cookie(session string, lang ...string) string {
	c := ui.SessionCookie + "=" + session
	for _, l := range lang {
		c += "; " + ui.LangCookie + "=" + l
	}
	return c
}

type upload struct {
	name, mimeType string
	data           []byte
}

// multipartPost posts fields and files as the composer's form does.
func (h *harness) multipartPost(path, session string, fields [][2]string, files ...upload) (int, string, http.Header) {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			h.t.Fatal(err)
		}
	}
	if len(files) == 0 {
		// A file input with nothing chosen still sends an empty part.
		hd := textproto.MIMEHeader{}
		hd.Set("Content-Disposition", `form-data; name="files"; filename=""`)
		hd.Set("Content-Type", "application/octet-stream")
		if _, err := mw.CreatePart(hd); err != nil {
			h.t.Fatal(err)
		}
	}
	for _, f := range files {
		hd := textproto.MIMEHeader{}
		hd.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename=%q`, f.name))
		hd.Set("Content-Type", f.mimeType)
		p, err := mw.CreatePart(hd)
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = p.Write(f.data)
	}
	_ = mw.Close()
	status, raw, hdr := h.do("POST", path, "", body.Bytes(), "Cookie", cookie(session), "Content-Type", mw.FormDataContentType())
	return status, string(raw), hdr
}

// agentCase is a case as the API shows it.
type agentMessage struct {
	ID, Direction, Text, Status string
	Template                    json.RawMessage
	Attachments                 []struct{ Name, MimeType string }
}

func (h *harness) messages(caseID string) []agentMessage {
	h.t.Helper()
	var page struct{ Items []agentMessage }
	h.mustDo("GET", "/api/v1/cases/"+caseID+"/messages", h.admin, nil, 200, &page)
	return page.Items
}

func outbound(ms []agentMessage) []agentMessage {
	var out []agentMessage
	for _, m := range ms {
		if m.Direction == "outbound" {
			out = append(out, m)
		}
	}
	return out
}

type savedView struct {
	ID, Name string
	OwnerID  string `json:"owner_id"`
	Shared   bool
	Filters  map[string]any
}

// TestAgentSavedViews: saving the inbox's filters through the UI and the
// API; private views stay with their owner, shared ones (supervisors only)
// reach everyone in the workspace and nobody outside it; counts; deleting
// (owner, or an administrator; a colleague's shared view is 403).
func TestAgentSavedViews(t *testing.T) {
	h := startAgent(t, nil)
	_, p := h.middleware("Acme middleware")
	h.inbound(p, "m1", "t1", "u1", "Ana Lima", "Where is my parcel?")
	h.inbound(p, "m2", "t2", "u2", "Ben Okafor", "Refund please")
	h.inbound(p, "m3", "t3", "u3", "Chloé Martin", "Parcel damaged")
	h.createUser("agent1@example.com", "agent", nil)
	h.createUser("agent2@example.com", "agent", nil)
	h.createUser("sup@example.com", "supervisor", nil)
	agent1 := h.session("agent1@example.com", adminPassword)
	agent2 := h.session("agent2@example.com", adminPassword)
	sup := h.session("sup@example.com", adminPassword)
	admin := h.session(adminEmail, adminPassword)

	// Another workspace with its own administrator.
	ctx := context.Background()
	ws, err := h.app.Accounts.CreateWorkspace(ctx, h.app.DB, "Elsewhere Ltd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.Accounts.CreateUser(ctx, h.app.DB, ws.ID, account.NewUser{Email: "boss@elsewhere.example", Role: account.RoleAdmin, Password: adminPassword}); err != nil {
		t.Fatal(err)
	}
	stranger := h.session("boss@elsewhere.example", adminPassword)

	// The inbox offers the save form with the filters it shows.
	status, body := h.page("/ui/inbox?q=parcel&sort=-created_at", agent1)
	if status != 200 || !strings.Contains(body, `id="save-view-form"`) || !strings.Contains(body, `name="q" value="parcel"`) ||
		!strings.Contains(body, `name="sort" value="-created_at"`) || strings.Contains(body, `id="view-shared"`) {
		t.Fatalf("inbox save form for an agent: %d", status)
	}
	if _, body := h.page("/ui/inbox", sup); !strings.Contains(body, `id="view-shared"`) {
		t.Error("a supervisor is not offered to share")
	}

	// An agent saves a private view; the inbox opens on it.
	status, body, hdr := h.form("/ui/views", agent1, "name=Parcels&status=&q=parcel&sort=-created_at")
	if status != 303 || hdr.Get("Location") != "/ui/inbox?q=parcel&sort=-created_at" {
		t.Fatalf("save: %d %q %s", status, hdr.Get("Location"), body)
	}
	status, body = h.page("/ui/inbox/views?q=parcel&sort=-created_at", agent1, "HX-Request", "true")
	if status != 200 || !strings.HasPrefix(strings.TrimSpace(body), `<div id="saved-views"`) {
		t.Fatalf("views fragment: %d %s", status, body)
	}
	if !regexp.MustCompile(`(?s)<li class="view-item current"[^>]*>\s*<a class="view-link" href="/ui/inbox\?q=parcel&amp;sort=-created_at" aria-current="true">\s*<span class="view-name" data-name>Parcels</span>\s*<span class="count"[^>]*>2</span>`).MatchString(body) {
		t.Errorf("the saved view, current, with its 2 cases: %s", body)
	}
	var views struct{ Items []savedView }
	h.mustDoCookie("GET", "/api/v1/saved-views", agent1, nil, 200, &views)
	if len(views.Items) != 1 || views.Items[0].Name != "Parcels" || views.Items[0].Shared || views.Items[0].Filters["q"] != "parcel" {
		t.Fatalf("API list: %+v", views.Items)
	}
	parcels := views.Items[0].ID

	// Agents may not share, in the UI or in the API; nothing is created.
	if status, body, _ := h.form("/ui/views", agent1, "name=Everyone&shared=1"); status != 403 || !strings.Contains(body, "Only supervisors and administrators can share") {
		t.Errorf("agent sharing in the UI: %d", status)
	}
	if status, raw, _ := h.do("POST", "/api/v1/saved-views", "", map[string]any{"name": "Everyone", "shared": true}, "Cookie", cookie(agent1)); status != 403 {
		t.Errorf("agent sharing in the API: %d %s", status, raw)
	}
	h.mustDoCookie("GET", "/api/v1/saved-views", agent1, nil, 200, &views)
	if len(views.Items) != 1 {
		t.Errorf("a refused share created a view: %+v", views.Items)
	}

	// A supervisor shares "unassigned, any status" with the workspace.
	if status, _, hdr := h.form("/ui/views", sup, "name=Unassigned&status=all&assignee=none&shared=1"); status != 303 || hdr.Get("Location") != "/ui/inbox?assignee=none&status=all" {
		t.Fatalf("supervisor shares: %d %q", status, hdr.Get("Location"))
	}
	h.mustDoCookie("GET", "/api/v1/saved-views", sup, nil, 200, &views)
	if len(views.Items) != 1 || !views.Items[0].Shared {
		t.Fatalf("supervisor's views: %+v", views.Items)
	}
	unassigned := views.Items[0].ID

	// The other agent sees the shared view (with its owner and count), not
	// agent1's private one, and cannot delete the shared one.
	_, body = h.page("/ui/inbox/views", agent2, "HX-Request", "true")
	if !strings.Contains(body, ">Unassigned<") || !strings.Contains(body, "User sup@example.com") || strings.Contains(body, "Parcels") {
		t.Errorf("agent2's views: %s", body)
	}
	if !regexp.MustCompile(`(?s)>Unassigned</span>\s*<span class="count"[^>]*>3</span>`).MatchString(body) {
		t.Errorf("count of the shared view: %s", body)
	}
	if strings.Contains(body, "/ui/views/"+unassigned+"/delete") {
		t.Error("an agent is offered to delete a colleague's shared view")
	}
	if status, _, _ := h.do("GET", "/api/v1/saved-views/"+parcels, "", nil, "Cookie", cookie(agent2)); status != 404 {
		t.Errorf("API: another agent's private view: %d", status)
	}
	if status, _, _ := h.form("/ui/views/"+parcels+"/delete", agent2, "next=/ui/inbox"); status != 404 {
		t.Errorf("UI: deleting another agent's private view: %d", status)
	}
	if status, body, _ := h.form("/ui/views/"+unassigned+"/delete", agent2, "next=/ui/inbox"); status != 403 || !strings.Contains(body, "Only the view’s owner or an administrator") {
		t.Errorf("UI: an agent deleting a shared view: %d", status)
	}
	if status, _, _ := h.do("DELETE", "/api/v1/saved-views/"+unassigned, "", nil, "Cookie", cookie(agent2)); status != 403 {
		t.Errorf("API: an agent deleting a shared view: %d", status)
	}

	// Another workspace sees none of it.
	_, body = h.page("/ui/inbox/views", stranger, "HX-Request", "true")
	if strings.Contains(body, "Unassigned") || strings.Contains(body, "Parcels") || !strings.Contains(body, "No saved view yet") {
		t.Errorf("another workspace's views: %s", body)
	}
	h.mustDoCookie("GET", "/api/v1/saved-views", stranger, nil, 200, &views)
	if len(views.Items) != 0 {
		t.Errorf("API: another workspace lists %+v", views.Items)
	}
	for _, id := range []string{parcels, unassigned} {
		if status, _, _ := h.do("GET", "/api/v1/saved-views/"+id, "", nil, "Cookie", cookie(stranger)); status != 404 {
			t.Errorf("API: another workspace reads %s: %d", id, status)
		}
		if status, _, _ := h.form("/ui/views/"+id+"/delete", stranger, ""); status != 404 {
			t.Errorf("UI: another workspace deletes %s: %d", id, status)
		}
	}

	// The owner deletes their view and comes back to the inbox as it was;
	// an administrator deletes anyone's.
	if status, _, hdr := h.form("/ui/views/"+parcels+"/delete", agent1, "next="+url.QueryEscape("/ui/inbox?q=parcel")); status != 303 || hdr.Get("Location") != "/ui/inbox?q=parcel" {
		t.Errorf("owner deletes: %d %q", status, hdr.Get("Location"))
	}
	if status, _, _ := h.form("/ui/views/"+unassigned+"/delete", admin, "next=https://evil.example/"); status != 303 {
		t.Errorf("admin deletes a shared view: %d", status)
	}
	h.mustDoCookie("GET", "/api/v1/saved-views", agent2, nil, 200, &views)
	if len(views.Items) != 0 {
		t.Errorf("after deletes: %+v", views.Items)
	}

	// The API: create, read, delete; an invalid view is 400.
	var created savedView
	h.mustDo("POST", "/api/v1/saved-views", h.admin, map[string]any{"name": "WhatsApp, mine", "shared": true,
		"filters": map[string]any{"channel_type": "whatsapp", "assignee_id": "me", "statuses": []string{"open", "new"}}}, 201, &created)
	if sts, _ := created.Filters["statuses"].([]any); len(sts) != 2 || sts[0] != "new" || created.OwnerID == "" {
		t.Errorf("API create: %+v", created)
	}
	h.mustDo("GET", "/api/v1/saved-views/"+created.ID, h.admin, nil, 200, nil)
	if status, raw, _ := h.do("POST", "/api/v1/saved-views", h.admin, map[string]any{"name": "Bad", "filters": map[string]any{"sort": "name"}}); status != 400 {
		t.Errorf("API invalid sort: %d %s", status, raw)
	}
	// Owner and creation days travel too.
	if status, _, hdr := h.form("/ui/views", admin, "name=Mine+in+2025&status=all&owner=me&from=2025-01-01&to=2025-12-31"); status != 303 ||
		hdr.Get("Location") != "/ui/inbox?from=2025-01-01&owner=me&status=all&to=2025-12-31" {
		t.Errorf("owner and dates: %d %q", status, hdr.Get("Location"))
	}
	if status, body, _ := h.form("/ui/views", admin, "name=Reversed&from=2025-02-01&to=2025-01-01"); status != 400 || !strings.Contains(body, "filters.created_to") {
		t.Errorf("reversed dates: %d", status)
	}
	if status, _, _ := h.form("/ui/views", admin, "name=&q=x"); status != 400 {
		t.Errorf("UI: a view without a name: %d", status)
	}
	h.mustDo("DELETE", "/api/v1/saved-views/"+created.ID, h.admin, nil, 204, nil)
	// Signed out: the fragment answers 401, the form too.
	if status, _, _ := h.do("GET", "/ui/inbox/views", "", nil, "HX-Request", "true"); status != 401 {
		t.Errorf("signed out fragment: %d", status)
	}
}

// mustDoCookie calls the API with a browser session.
func (h *harness) mustDoCookie(method, path, session string, body any, want int, out any) {
	h.t.Helper()
	status, raw, _ := h.do(method, path, "", body, "Cookie", cookie(session))
	if status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TestAgentSettings: the signed-in user changes their name and password
// (the current one required, the new one twice, the account's length
// rules; a refusal changes nothing; wrong current passwords are limited),
// their language and presence with an away reason.
func TestAgentSettings(t *testing.T) {
	h := startAgent(t, nil)
	h.createUser("ana@example.com", "agent", nil)
	ses := h.session("ana@example.com", adminPassword)

	if status, _, hdr := h.do("GET", "/ui/settings", "", nil); status != 303 || !strings.HasPrefix(hdr.Get("Location"), "/ui/login") {
		t.Fatalf("signed out: %d", status)
	}
	status, body := h.page("/ui/settings", ses)
	if status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	for _, want := range []string{`id="settings-link"`, `aria-current="page"`, `id="profile-form"`, `value="User ana@example.com"`, `id="password-form"`,
		`minlength="8"`, `id="s-lang"`, `id="s-state"`, `id="s-reason"`, "ana@example.com", `<span class="badge presence-offline" id="presence-now">Offline</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if _, body := h.page("/ui/inbox", ses); !strings.Contains(body, `href="/ui/settings"`) {
		t.Error("no settings link next to the user's name")
	}

	// Name.
	if status, _, hdr := h.form("/ui/settings/profile", ses, "name=Ana+Lima"); status != 303 || hdr.Get("Location") != "/ui/settings?done=profile" {
		t.Fatalf("save name: %d %q", status, hdr.Get("Location"))
	}
	_, body = h.page("/ui/settings?done=profile", ses)
	if !strings.Contains(body, "Your name was saved.") || !strings.Contains(body, `<span class="me-name" data-name>Ana Lima</span>`) {
		t.Error("the new name is not shown")
	}
	if status, body, _ := h.form("/ui/settings/profile", ses, "name=+"); status != 400 || !strings.Contains(body, "name: must not be empty") {
		t.Errorf("empty name: %d", status)
	}

	// Password: refusals change nothing.
	const next = "a-much-better-secret"
	for _, c := range []struct{ form, want string }{
		{"current=wrong-password&new=" + next + "&confirm=" + next, "The current password is wrong"},
		{"current=" + adminPassword + "&new=" + next + "&confirm=" + next + "x", "The two new passwords differ"},
		{"current=" + adminPassword + "&new=short&confirm=short", "From 8 to 72 characters."},
	} {
		status, body, _ := h.form("/ui/settings/password", ses, c.form)
		if status != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want 400 with %q", c.form, status, c.want)
		}
	}
	if status, _, _ := h.do("POST", "/api/v1/auth/token", "", map[string]string{"email": "ana@example.com", "password": next}); status != 401 {
		t.Fatalf("a refused change changed the password: %d", status)
	}
	other := h.session("ana@example.com", adminPassword) // still the old one; another device
	if status, _, hdr := h.form("/ui/settings/password", ses, "current="+url.QueryEscape(adminPassword)+"&new="+next+"&confirm="+next); status != 303 || hdr.Get("Location") != "/ui/settings?done=password" {
		t.Fatalf("change password: %d %q", status, hdr.Get("Location"))
	}
	// The other device is signed out; this one stays.
	if status, _, _ := h.do("GET", "/api/v1/me", "", nil, "Cookie", ui.SessionCookie+"="+other); status != 401 {
		t.Errorf("another session after the password change: %d, want 401", status)
	}
	if _, body := h.page("/ui/settings?done=password", ses); !strings.Contains(body, "Your password was changed.") {
		t.Error("no confirmation")
	}
	h.session("ana@example.com", next)
	if status, _, _ := h.do("POST", "/api/v1/auth/token", "", map[string]string{"email": "ana@example.com", "password": adminPassword}); status != 401 {
		t.Errorf("the old password still works: %d", status)
	}

	// Wrong current passwords are limited: after five, even the right one
	// waits.
	h.createUser("ben@example.com", "agent", nil)
	ben := h.session("ben@example.com", adminPassword)
	for i := 0; i < 5; i++ {
		if status, _, _ := h.form("/ui/settings/password", ben, "current=nope-nope&new="+next+"&confirm="+next); status != 400 {
			t.Fatalf("wrong attempt %d: %d", i, status)
		}
	}
	if status, body, _ := h.form("/ui/settings/password", ben, "current="+url.QueryEscape(adminPassword)+"&new="+next+"&confirm="+next); status != 429 || !strings.Contains(body, "Too many wrong passwords") {
		t.Errorf("after five wrong attempts: %d", status)
	}

	// Presence with a reason, and language, through the existing routes.
	if status, _, hdr := h.form("/ui/presence", ses, "state=away&reason=Lunch+break&next=%2Fui%2Fsettings"); status != 303 || hdr.Get("Location") != "/ui/settings" {
		t.Fatalf("presence: %d %q", status, hdr.Get("Location"))
	}
	_, body = h.page("/ui/settings", ses)
	if !strings.Contains(body, `<option value="away" selected>`) || !strings.Contains(body, `value="Lunch break"`) || !strings.Contains(body, "presence-away") {
		t.Error("presence not shown on the settings page")
	}
	status, _, hdr := h.form("/ui/lang", ses, "lang=fr&next=%2Fui%2Fsettings")
	if status != 303 || hdr.Get("Location") != "/ui/settings" || !strings.Contains(hdr.Get("Set-Cookie"), "parley_lang=fr") {
		t.Fatalf("language: %d %v", status, hdr)
	}
	_, body = h.page("/ui/settings", "", "Cookie", cookie(ses, "fr"))
	if !strings.Contains(body, `<html lang="fr">`) || !strings.Contains(body, "Changer de mot de passe") || !strings.Contains(body, `<option value="fr" selected>`) {
		t.Error("the settings page is not in French")
	}
}

// TestAgentAttachments: files go with the reply through inbox.Reply and
// reach the platform; a file over the limit or an executable is refused
// with the reason and nothing is sent; an agent who may not reply there
// gets 403 and nothing is stored.
func TestAgentAttachments(t *testing.T) {
	h := startAgent(t, nil)
	mw, p := h.middleware("Acme middleware")
	_, other := h.middleware("Other middleware")
	res := h.inbound(p, "m1", "t1", "u1", "Ana Lima", "Here is the broken part")
	h.createUser("agent@example.com", "agent", map[string][]string{p.ID: {"reply", "note"}, other.ID: {"note"}})
	ses := h.session("agent@example.com", adminPassword)
	casePath := "/ui/cases/" + res.CaseID

	_, body := h.page(casePath, ses)
	for _, want := range []string{`enctype="multipart/form-data"`, `action="` + casePath + `/send"`, `hx-get="` + casePath + `/attachments"`, `id="emoji-toggle"`, `id="composer-preview"`} {
		if !strings.Contains(body, want) {
			t.Errorf("composer lacks %q", want)
		}
	}
	status, body := h.page(casePath+"/attachments", ses, "HX-Request", "true")
	if status != 200 || !strings.Contains(body, `id="reply-files"`) || !strings.Contains(body, "multiple") || !strings.Contains(body, `data-max-bytes="65536"`) ||
		!strings.Contains(body, "Up to 64 KB per file") {
		t.Fatalf("file input: %d %s", status, body)
	}

	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 2000)...)
	status, body, hdr := h.multipartPost(casePath+"/send", ses, [][2]string{{"text", "Thanks, we will replace it"}}, upload{"photo.png", "image/png", png})
	if status != 303 || hdr.Get("Location") != casePath {
		t.Fatalf("send with a file: %d %s", status, body)
	}
	eventually(t, "the middleware got the file", 5*time.Second, func() bool { return len(mw.Received()) == 1 })
	got := mw.Received()[0]
	if got.Text != "Thanks, we will replace it" || len(got.Attachments) != 1 || got.Attachments[0].Name != "photo.png" || got.Attachments[0].MimeType != "image/png" || got.Attachments[0].Size != int64(len(png)) {
		t.Fatalf("callback: %+v", got)
	}
	out := outbound(h.messages(res.CaseID))
	if len(out) != 1 || len(out[0].Attachments) != 1 {
		t.Fatalf("stored: %+v", out)
	}
	// Text alone through the same route (the composer's form is always
	// multipart; no file chosen sends an empty part).
	if status, body, _ := h.multipartPost(casePath+"/send", ses, [][2]string{{"text", "Anything else?"}}); status != 303 {
		t.Fatalf("text alone: %d %s", status, body)
	}

	// Over the limit: refused with the reason, the text kept, nothing sent.
	big := bytes.Repeat([]byte("a"), agentFileLimit+1)
	status, body, _ = h.multipartPost(casePath+"/send", ses, [][2]string{{"text", "Here is the manual"}}, upload{"manual.pdf", "application/pdf", big})
	if status != 413 || !strings.Contains(body, "A file is too large: nothing was sent.") || !strings.Contains(body, "manual.pdf is larger than 64 KB.") ||
		!strings.Contains(body, ">Here is the manual</textarea>") {
		t.Fatalf("over the limit: %d %s", status, body)
	}
	// An executable: the ingress path's reason.
	status, body, _ = h.multipartPost(casePath+"/send", ses, [][2]string{{"text", "Run this"}}, upload{"tool.exe", "application/octet-stream", []byte("MZ\x90\x00rest")})
	if status != 400 || !strings.Contains(body, "executable files are not accepted") {
		t.Fatalf("executable: %d %s", status, body)
	}
	if n := len(outbound(h.messages(res.CaseID))); n != 2 {
		t.Errorf("refused sends stored messages: %d outbound", n)
	}

	// No reply permission on the other point of contact: 403 before any
	// file is read; no file input offered.
	otherCase := h.inbound(other, "m2", "t2", "u2", "Ben", "Hello")
	status, _, _ = h.multipartPost("/ui/cases/"+otherCase.CaseID+"/send", ses, [][2]string{{"text", "Hi"}}, upload{"a.png", "image/png", png})
	if status != 403 {
		t.Errorf("send without the reply permission: %d", status)
	}
	if _, body := h.page("/ui/cases/"+otherCase.CaseID+"/attachments", ses, "HX-Request", "true"); strings.Contains(body, `id="reply-files"`) {
		t.Error("a file input is offered where the agent may not reply")
	}
	if len(h.messages(otherCase.CaseID)) != 1 {
		t.Error("a forbidden send stored a message")
	}
	eventually(t, "the text-only reply", 5*time.Second, func() bool { return len(mw.Received()) == 2 })
}

// waTemplates starts the fake WhatsApp Cloud API with an approved template
// taking two body parameters, and a point of contact on it.
func waTemplates(t *testing.T, h *harness) (*wfake.Server, string) {
	t.Helper()
	fk, err := wfake.Start(wfake.Options{PhoneNumberID: "106540352242922", WABAID: "102290129340398", AccessToken: "wa-token"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	fk.AddTemplate(wfake.Template{ID: "t1", Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
		Components: []byte(`[{"type":"BODY","text":"Hello {{1}}, your order {{2}} has shipped."}]`)})
	var wa struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "whatsapp", "name": "Support WhatsApp",
		"settings":    map[string]any{"phone_number_id": "106540352242922", "waba_id": "102290129340398", "api_base_url": fk.URL},
		"credentials": map[string]string{"access_token": "wa-token", "app_secret": "wa-secret"}}, 201, &wa)
	h.mustDo("POST", "/api/v1/points-of-contact/"+wa.PointOfContact.ID+"/templates/sync", h.admin, nil, 200, nil)
	return fk, wa.PointOfContact.ID
}

// waInbound posts a customer's WhatsApp message and returns its case.
func waInbound(t *testing.T, h *harness, fk *wfake.Server, pointID, wamid, text string, at time.Time) string {
	t.Helper()
	resp, err := wfake.SendWebhook(h.url+"/webhooks/"+pointID, "wa-secret", fk.Business().Webhook(wfake.Text(wfake.Customer{WaID: "33612345678", Name: "Élodie Bernard"}, wamid, text, at)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("whatsapp webhook: %v %v", err, resp)
	}
	resp.Body.Close()
	var list struct{ Items []struct{ ID string } }
	h.mustDo("GET", "/api/v1/cases?channel_type=whatsapp", h.admin, nil, 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("whatsapp cases: %+v", list)
	}
	return list.Items[0].ID
}

// TestAgentTemplateOnClosedWindow: 25 hours after the customer's last
// WhatsApp message free text is refused (409, nothing sent) while an
// approved template, its parameters filled one field each, goes out; the
// preview fills the template; text beside a template is refused.
func TestAgentTemplateOnClosedWindow(t *testing.T) {
	clock := newAgentClock()
	h := startAgent(t, clock)
	fk, point := waTemplates(t, h)
	caseID := waInbound(t, h, fk, point, "wamid.IN1", "Where is my order?", clock.Now())
	ses := h.session(adminEmail, adminPassword)
	casePath := "/ui/cases/" + caseID

	// While the window is open the template picker is there, closed.
	_, body := h.page(casePath, ses)
	if !strings.Contains(body, `<details class="composer-extra agent-templates" id="templates">`) || !strings.Contains(body, "window-open") {
		t.Errorf("open window: %s", body)
	}
	clock.Advance(25 * time.Hour)
	_, body = h.page(casePath, ses)
	for _, want := range []string{"window-templates_only", `id="templates" open`, "only an approved template can be sent now", `<option value="order_update|en_US">`,
		`name="tparam:order_update|en_US:0"`, `name="tparam:order_update|en_US:1"`, "Parameter 2 · body, variable 2"} {
		if !strings.Contains(body, want) {
			t.Errorf("closed window page lacks %q", want)
		}
	}

	// Free text: refused before anything reaches the platform.
	sentBefore := len(fk.Messages())
	status, body, _ := h.multipartPost(casePath+"/send", ses, [][2]string{{"text", "Hello?"}, {"template", ""}})
	if status != 409 || !strings.Contains(body, "The reply window does not allow this message") || !strings.Contains(body, "only an approved template may be sent now") {
		t.Fatalf("free text on a closed window: %d %s", status, body)
	}
	// The preview says so before sending, and fills the template.
	status, body, _ = h.form(casePath+"/preview", ses, "text=Hello%3F")
	if status != 200 || !strings.Contains(body, "free text will be refused") || !strings.Contains(body, "6 characters") {
		t.Errorf("text preview: %d %s", status, body)
	}
	tpl := "template=" + url.QueryEscape("order_update|en_US")
	status, body, _ = h.form(casePath+"/preview", ses, tpl+"&"+url.QueryEscape("tparam:order_update|en_US:0")+"=Élodie&"+url.QueryEscape("tparam:order_update|en_US:1")+"=")
	if status != 200 || !strings.Contains(body, "Hello Élodie, your order {{2}} has shipped.") || !strings.Contains(body, "template.parameters[1]") {
		t.Errorf("partial template preview: %d %s", status, body)
	}
	params := "&" + url.QueryEscape("tparam:order_update|en_US:0") + "=%C3%89lodie&" + url.QueryEscape("tparam:order_update|en_US:1") + "=A-1001"
	status, body, _ = h.form(casePath+"/preview", ses, tpl+params)
	if status != 200 || !strings.Contains(body, "Hello Élodie, your order A-1001 has shipped.") || strings.Contains(body, "preview-problem") {
		t.Errorf("template preview: %d %s", status, body)
	}

	// Text beside a template is refused (as the API refuses it).
	if status, body, _ := h.form(casePath+"/send", ses, tpl+params+"&text=Hi"); status != 400 || !strings.Contains(body, "a template message has no text") {
		t.Errorf("template with text: %d %s", status, body)
	}
	if len(outbound(h.messages(caseID))) != 0 {
		t.Fatal("a refused send stored a message")
	}
	// The template goes, one field per parameter.
	status, body, hdr := h.multipartPost(casePath+"/send", ses, [][2]string{{"template", "order_update|en_US"}, {"tparam:order_update|en_US:0", "Élodie"},
		{"tparam:order_update|en_US:1", "A-1001"}})
	if status != 303 || hdr.Get("Location") != casePath {
		t.Fatalf("template send: %d %s", status, body)
	}
	eventually(t, "the template on the platform", 5*time.Second, func() bool { return len(fk.Messages()) == sentBefore+1 })
	if js := string(fk.Messages()[sentBefore].JSON); !strings.Contains(js, `"type":"template"`) || !strings.Contains(js, `"A-1001"`) || !strings.Contains(js, `"order_update"`) {
		t.Errorf("sent to WhatsApp: %s", js)
	}
	out := outbound(h.messages(caseID))
	if len(out) != 1 || out[0].Text != "Hello Élodie, your order A-1001 has shipped." || len(out[0].Template) == 0 {
		t.Errorf("stored: %+v", out)
	}

	// Agents without the case: 404 on every composer route.
	h.createUser("other@example.com", "agent", map[string][]string{"00000000-0000-0000-0000-000000000000": {"reply"}})
	other := h.session("other@example.com", adminPassword)
	for _, path := range []string{"/send", "/preview"} {
		if status, _, _ := h.form(casePath+path, other, "text=hi"); status != 404 {
			t.Errorf("%s for an agent who cannot see the case: %d", path, status)
		}
	}
	if status, _ := h.page(casePath+"/attachments", other, "HX-Request", "true"); status != 404 {
		t.Errorf("attachments for an agent who cannot see the case: %d", status)
	}
}
