package ui_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestPagesThroughTheHandler drives every page over real HTTP with a
// session from the session API: sign-in redirect, the inbox with counts,
// a case, the customer card, supervision, admin pages, reports and CSV.
func TestPagesThroughTheHandler(t *testing.T) {
	h := start(t)
	_, p := h.middleware("Acme middleware")

	status, _, hdr := h.do("GET", "/ui/inbox?status=all", "", nil)
	if status != 303 || hdr.Get("Location") != "/ui/login?next="+url.QueryEscape("/ui/inbox?status=all") {
		t.Fatalf("signed out: %d %q", status, hdr.Get("Location"))
	}
	if status, body := h.page("/ui/login", ""); status != 200 || !strings.Contains(body, `id="login-form"`) {
		t.Fatalf("login page: %d", status)
	}
	res := h.inbound(p, "m1", "t1", "u1", "Ana Lima", "Where is my parcel?")
	h.inbound(p, "m2", "t2", "u2", "Ben Okafor", "Refund please")
	ses := h.session(adminEmail, adminPassword)

	status, body := h.page("/ui/inbox", ses)
	if status != 200 {
		t.Fatalf("inbox: %d %s", status, body)
	}
	for _, want := range []string{"Ana Lima", "Chat t1", "Ben Okafor", `data-status-tab="new"`, "case-row unread"} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`data-status-tab="new">[^<]*<span class="count">(\d+)</span>`).FindStringSubmatch(body); m == nil || m[1] != "2" {
		t.Errorf("count of new cases: %v", m)
	}
	// Filters in the URL: text search.
	_, body = h.page("/ui/inbox?q=refund", ses)
	if !strings.Contains(body, "Ben Okafor") || strings.Contains(body, "Ana Lima") {
		t.Errorf("search: %s", body)
	}
	// The list fragment alone (live refresh).
	status, body = h.page("/ui/inbox/list?status=new", ses, "HX-Request", "true")
	if status != 200 || !strings.HasPrefix(strings.TrimSpace(body), `<div id="case-list"`) {
		t.Fatalf("fragment: %d %.200s", status, body)
	}

	status, body = h.page("/ui/cases/"+res.CaseID, ses)
	if status != 200 {
		t.Fatalf("case: %d %s", status, body)
	}
	for _, want := range []string{"Where is my parcel?", `data-status-action="resolved"`, `id="reply-text"`, "Customer", "this channel has no reply window"} {
		if !strings.Contains(body, want) {
			t.Errorf("case lacks %q", want)
		}
	}
	if strings.Contains(body, `data-status-action="closed"`) {
		t.Error("a new case offers 'close', which is not an allowed transition")
	}
	// Reply, then resolve: through the domain services.
	if status, body, hdr := h.form("/ui/cases/"+res.CaseID+"/reply", ses, "text=On+its+way"); status != 303 {
		t.Fatalf("reply: %d %s", status, body)
	} else if hdr.Get("Location") != "/ui/cases/"+res.CaseID {
		t.Fatalf("reply went to %q", hdr.Get("Location"))
	}
	if status, body, _ := h.form("/ui/cases/"+res.CaseID+"/status", ses, "status=resolved"); status != 303 {
		t.Fatalf("resolve: %d %s", status, body)
	}
	if status, body, _ := h.form("/ui/cases/"+res.CaseID+"/status", ses, "status=escalated"); status != 409 || !strings.Contains(body, "This status change is not allowed") {
		t.Fatalf("illegal transition: %d", status)
	}
	_, body = h.page("/ui/cases/"+res.CaseID, ses)
	if !strings.Contains(body, "On its way") || !strings.Contains(body, `badge status-resolved`) {
		t.Errorf("after reply and resolve: %s", body)
	}
	if status, body := h.page("/ui/contacts/"+res.ContactID, ses); status != 200 || !strings.Contains(body, "Ana Lima") {
		t.Errorf("contact: %d", status)
	}
	for _, path := range []string{"/ui/supervisor", "/ui/admin/points", "/ui/admin/skills", "/ui/admin/users", "/ui/reports"} {
		if status, body := h.page(path, ses); status != 200 {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
	status, raw, hdr := h.do("GET", "/ui/reports.csv", "", nil, "Cookie", "parley_session="+ses)
	if status != 200 || hdr.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(string(raw), "Bring your own channel,byoc,2,1,") {
		t.Errorf("csv: %d %s", status, raw)
	}
}

// TestHidePermission: an agent without the "hide" channel permission gets
// no hide button, a 403 from the UI and a 403 from the API, and the
// platform hears nothing; an agent with it gets the button and the hide
// reaches the platform (the fake middleware) and shows on the message.
// Agents limited to one point of contact do not see the others' cases at
// all (404), in the UI as in the API.
func TestHidePermission(t *testing.T) {
	h := start(t)
	mw, p := h.middleware("Public page")
	_, other := h.middleware("Other page")
	res := h.comment(p, "m1", "post-1", "u1", "Troll", "Rude comment")
	hidden := h.inbound(other, "m2", "t2", "u2", "Someone", "Elsewhere")
	h.createUser("plain@example.com", "agent", map[string][]string{p.ID: {"reply", "note"}})
	h.createUser("moderator@example.com", "agent", map[string][]string{p.ID: {"reply", "note", "hide"}})
	mid := res.MessageID
	hidePath := "/ui/cases/" + res.CaseID + "/messages/" + mid + "/hide"

	plain := h.session("plain@example.com", adminPassword)
	status, body := h.page("/ui/cases/"+res.CaseID, plain)
	if status != 200 || !strings.Contains(body, "Rude comment") || !strings.Contains(body, `class="badge public"`) {
		t.Fatalf("agent's case page: %d", status)
	}
	for _, a := range []string{"hide", "delete", "like"} {
		if strings.Contains(body, `data-action="`+a+`"`) {
			t.Errorf("an agent without the %s permission sees a %s button", a, a)
		}
	}
	if status, body, _ := h.form(hidePath, plain, ""); status != 403 || !strings.Contains(body, "Your channel permissions do not allow this") {
		t.Errorf("UI hide without permission: %d", status)
	}
	for _, a := range []string{"hide", "delete", "like"} {
		if status, body, _ := h.do("POST", "/api/v1/messages/"+mid+"/"+a, "", nil, "Cookie", "parley_session="+plain); status != 403 {
			t.Errorf("API %s without permission: %d %s", a, status, body)
		}
	}
	if len(mw.Moderations()) != 0 {
		t.Fatal("the platform was asked for a forbidden hide")
	}
	// The API refuses this agent what its permissions exclude: the other
	// point of contact's case.
	if status, _, _ := h.do("GET", "/api/v1/cases/"+hidden.CaseID, "", nil, "Cookie", "parley_session="+plain); status != 404 {
		t.Errorf("API: another point of contact's case: %d", status)
	}
	if status, _ := h.page("/ui/cases/"+hidden.CaseID, plain); status != 404 {
		t.Errorf("UI: another point of contact's case: %d", status)
	}
	if _, body := h.page("/ui/inbox?status=all", plain); strings.Contains(body, "Elsewhere") || strings.Contains(body, hidden.CaseID) {
		t.Error("the agent's inbox lists a case of a point of contact they may not see")
	}
	// Agents get no admin pages.
	if status, _ := h.page("/ui/admin/users", plain); status != 403 {
		t.Errorf("agent on admin page: %d", status)
	}
	if status, _, _ := h.form("/ui/admin/skills", plain, "name=x"); status != 403 {
		t.Errorf("agent creating a skill: %d", status)
	}

	mod := h.session("moderator@example.com", adminPassword)
	_, body = h.page("/ui/cases/"+res.CaseID, mod)
	if !strings.Contains(body, `data-action="hide"`) || strings.Contains(body, `data-action="delete"`) {
		t.Error("an agent with only the hide permission: wrong buttons")
	}
	if status, body, _ := h.form(hidePath, mod, ""); status != 303 {
		t.Errorf("hide with permission: %d %s", status, body)
	}
	if got := mw.Moderations(); len(got) != 1 || got[0].Action != "hide" || got[0].Message.PlatformID != "m1" {
		t.Errorf("moderation callbacks: %+v", got)
	}
	_, body = h.page("/ui/cases/"+res.CaseID, mod)
	if !strings.Contains(body, `data-moderation="hidden"`) || !strings.Contains(body, `data-action="unhide"`) {
		t.Error("the hidden comment is not shown as hidden with a show-again button")
	}
	// Cross-site form posts are refused before any handler runs.
	status, _, _ = h.do("POST", "/ui/cases/"+res.CaseID+"/messages/"+mid+"/unhide", "", "", "Cookie", "parley_session="+mod, "Content-Type", "application/x-www-form-urlencoded",
		"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if status != 403 || len(mw.Moderations()) != 1 {
		t.Errorf("cross-origin post: %d, calls %v", status, mw.Moderations())
	}
	// A private message offers no moderation at all, even to admins.
	dm := h.inbound(p, "dm-1", "dm-thread", "u9", "Private person", "A private question")
	adminSession := h.session(adminEmail, adminPassword)
	if _, body := h.page("/ui/cases/"+dm.CaseID, adminSession); strings.Contains(body, `data-action="hide"`) {
		t.Error("hide offered on a private message")
	}
}

// TestAdminFormsAndLanguage: skills, users with channel permissions and
// points of contact are created and changed through the admin forms (the
// same services as the API); the language follows Accept-Language, then
// the user's choice in a cookie.
func TestAdminFormsAndLanguage(t *testing.T) {
	h := start(t)
	ses := h.session(adminEmail, adminPassword)

	if status, body, _ := h.form("/ui/admin/skills", ses, "name=Billing&description=Invoices&sla_first_response_seconds=600&offer_timeout_seconds=45"); status != 303 {
		t.Fatalf("create skill: %d %s", status, body)
	}
	var skills struct {
		Items []struct {
			ID, Name string
			SLA      struct {
				FirstResponseSeconds int `json:"first_response_seconds"`
			} `json:"sla"`
			OfferTimeoutSeconds int `json:"offer_timeout_seconds"`
		}
	}
	h.mustDo("GET", "/api/v1/skills", h.admin, nil, 200, &skills)
	if len(skills.Items) != 1 || skills.Items[0].SLA.FirstResponseSeconds != 600 || skills.Items[0].OfferTimeoutSeconds != 45 {
		t.Fatalf("skill: %+v", skills)
	}

	status, body, _ := h.form("/ui/admin/points", ses, "type=byoc&name=WeChat+bridge&skill="+skills.Items[0].ID+"&settings="+url.QueryEscape("callback_url=https://mw.example.com/cb\nsupports_attachments=true"))
	if status != 201 || !regexp.MustCompile(`id="created-webhook" value="http://127\.0\.0\.1:\d+/api/v1/byoc/[0-9a-f-]+/messages"`).MatchString(body) ||
		!strings.Contains(body, "whsec_") || !strings.Contains(body, "byoc_") {
		t.Fatalf("create point of contact: %d %s", status, body)
	}
	if status, body, _ := h.form("/ui/admin/points", ses, "type=whatsapp&name=WA"); status != 400 || !strings.Contains(body, "settings.phone_number_id") {
		t.Errorf("invalid point of contact: %d", status)
	}
	var points struct{ Items []struct{ ID string } }
	h.mustDo("GET", "/api/v1/points-of-contact", h.admin, nil, 200, &points)

	if status, body, _ := h.form("/ui/admin/users", ses, "email=agent%40example.com&name=Agent+Smith&role=agent&password=password123"); status != 303 {
		t.Fatalf("create user: %d %s", status, body)
	}
	var users struct {
		Items []struct {
			ID, Email          string
			ChannelPermissions map[string][]string `json:"channel_permissions"`
		}
	}
	h.mustDo("GET", "/api/v1/users", h.admin, nil, 200, &users)
	var agentID string
	for _, u := range users.Items {
		if u.Email == "agent@example.com" {
			agentID = u.ID
		}
	}
	poc := points.Items[0].ID
	form := "name=Agent+Smith&role=agent&see%3A" + poc + "=1&act%3A" + poc + "=reply&act%3A" + poc + "=hide"
	if status, body, _ := h.form("/ui/admin/users/"+agentID, ses, form); status != 303 {
		t.Fatalf("update user: %d %s", status, body)
	}
	users.Items = nil // json.Unmarshal would merge into the old maps
	h.mustDo("GET", "/api/v1/users", h.admin, nil, 200, &users)
	for _, u := range users.Items {
		if u.ID == agentID && (len(u.ChannelPermissions) != 1 || strings.Join(u.ChannelPermissions[poc], ",") != "hide,reply") {
			t.Errorf("permissions after the form: %v", u.ChannelPermissions)
		}
	}
	var me struct{ ID string }
	h.mustDo("GET", "/api/v1/me", h.admin, nil, 200, &me)
	if status, _, _ := h.form("/ui/admin/users/"+me.ID, ses, "role=agent"); status != 409 {
		t.Errorf("an admin demoting themselves: %d", status)
	}

	// Language: the browser's first, then the user's choice.
	_, body = h.page("/ui/inbox", ses, "Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")
	if !strings.Contains(body, `<html lang="fr">`) || !strings.Contains(body, "Boîte de réception") {
		t.Error("Accept-Language fr does not give the French inbox")
	}
	status, _, hdr := h.form("/ui/lang", ses, "lang=en&next=%2Fui%2Fadmin%2Fskills")
	if status != 303 || hdr.Get("Location") != "/ui/admin/skills" || !strings.Contains(hdr.Get("Set-Cookie"), "parley_lang=en") {
		t.Fatalf("choose English: %d %v", status, hdr)
	}
	_, body = h.page("/ui/inbox", ses, "Accept-Language", "fr", "Cookie", "parley_session="+ses+"; parley_lang=en")
	if !strings.Contains(body, `<html lang="en">`) {
		t.Error("the cookie does not win over Accept-Language")
	}
	if _, _, hdr := h.form("/ui/lang", ses, "lang=fr&next=https%3A%2F%2Fevil.example"); hdr.Get("Location") != "/ui/inbox" {
		t.Errorf("open redirect: %q", hdr.Get("Location"))
	}
}
