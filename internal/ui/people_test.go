package ui_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// userID finds a user's id by email through the API.
func (h *harness) userID(email string) string {
	h.t.Helper()
	var users struct{ Items []struct{ ID, Email string } }
	h.mustDo("GET", "/api/v1/users", h.admin, nil, 200, &users)
	for _, u := range users.Items {
		if u.Email == email {
			return u.ID
		}
	}
	h.t.Fatalf("no user %s", email)
	return ""
}

// patchContact sets a contact's details through the API.
func (h *harness) patchContact(id string, fields map[string]any) {
	h.t.Helper()
	h.mustDo("PATCH", "/api/v1/contacts/"+id, h.admin, fields, 200, nil)
}

type apiContact struct {
	ID, Name, Email, Phone string
	CustomFields           map[string]any `json:"custom_fields"`
	MergedInto             *string        `json:"merged_into"`
	Identities             []struct {
		Address          string
		PointOfContactID string `json:"point_of_contact_id"`
	}
}

func (h *harness) contact(id string) apiContact {
	h.t.Helper()
	var c apiContact
	h.mustDo("GET", "/api/v1/contacts/"+id, h.admin, nil, 200, &c)
	return c
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s shows %q", what, w)
		}
	}
}

// TestPeopleEditContact: the customer card shows the contact, their
// identities and cases with the last message, and saves name, email, phone
// and custom fields through inbox.UpdateContact; refused values come back
// with the field named and the input kept. Whoever may see the contact may
// edit it (as PATCH /api/v1/contacts/{id}); an agent who may not see it
// gets 404.
func TestPeopleEditContact(t *testing.T) {
	h := start(t)
	_, p := h.middleware("Acme middleware")
	_, other := h.middleware("Other middleware")
	res := h.inbound(p, "m1", "t1", "u-ana", "Ana Lima", "Where is my parcel?")
	h.patchContact(res.ContactID, map[string]any{"custom_fields": map[string]any{"tier": "gold", "orders": 3}})
	ses := h.session(adminEmail, adminPassword)
	card := "/ui/contacts/" + res.ContactID

	status, body := h.page(card, ses)
	if status != 200 {
		t.Fatalf("card: %d %s", status, body)
	}
	mustContain(t, "the card", body, `id="contact-form"`, `value="Ana Lima"`, "u-ana", "Acme middleware", "Chat t1", "Where is my parcel?",
		`name="cf_key" value="orders"`, `name="cf_key" value="tier"`, `name="cf_value" value="gold"`, `value="3"`, "JSON value", `data-case-id="`+res.CaseID+`"`)

	form := url.Values{"name": {"Ana Maria Lima"}, "email": {" ana@example.com "}, "phone": {"+33 6 12 34 56 78"},
		"cf_key": {"orders", "tier", "", "language"}, "cf_value": {"4", "platinum", "", "pt-BR"}, "cf_json": {"1", "0", "0", "0"}}
	status, body, hdr := h.form(card, ses, form.Encode())
	if status != 303 || hdr.Get("Location") != card+"?saved=1" {
		t.Fatalf("save: %d %q %s", status, hdr.Get("Location"), body)
	}
	c := h.contact(res.ContactID)
	if c.Name != "Ana Maria Lima" || c.Email != "ana@example.com" || c.Phone != "+33 6 12 34 56 78" {
		t.Errorf("after saving: %+v", c)
	}
	if cf, _ := json.Marshal(c.CustomFields); string(cf) != `{"language":"pt-BR","orders":4,"tier":"platinum"}` {
		t.Errorf("custom fields: %s", cf)
	}
	_, body = h.page(card+"?saved=1", ses)
	mustContain(t, "the saved card", body, "Customer card saved.", `value="Ana Maria Lima"`, `value="pt-BR"`)

	// Refused: the field is named, marked, and what was typed stays.
	for _, tc := range []struct {
		form           url.Values
		detail, marked string
	}{
		{url.Values{"name": {"Ana"}, "email": {"not-an-email"}, "phone": {""}}, "email: not an email address", `id="contact-email" name="email" value="not-an-email" autocomplete="off" aria-invalid="true"`},
		{url.Values{"phone": {strings.Repeat("1", 40)}}, "phone: at most 32 characters", `id="contact-phone" name="phone" value="` + strings.Repeat("1", 40)},
		{url.Values{"cf_key": {"orders"}, "cf_value": {"{nope"}, "cf_json": {"1"}}, "custom_fields[0].value: not valid JSON", `id="cf-value-0-error"`},
		{url.Values{"cf_key": {"", "a", "a"}, "cf_value": {"orphan", "1", "2"}, "cf_json": {"0", "0", "0"}}, "custom_fields[0].key: a field needs a name", `id="cf-key-0-error"`},
		{url.Values{"cf_key": {"a", "a"}, "cf_value": {"1", "2"}, "cf_json": {"0", "0"}}, "custom_fields[1].key: the field a is listed twice", `id="cf-key-1-error"`},
	} {
		status, body, _ := h.form(card, ses, tc.form.Encode())
		if status != 400 {
			t.Errorf("%v: %d", tc.form, status)
			continue
		}
		mustContain(t, "refused "+tc.detail, body, "Please check what you entered.", tc.detail, tc.marked)
	}
	if c := h.contact(res.ContactID); c.Email != "ana@example.com" || c.CustomFields["orders"] != 4.0 {
		t.Errorf("a refused change changed the contact: %+v", c)
	}

	// Agents: who may see the contact may edit it; others get 404.
	h.createUser("seer@example.com", "agent", map[string][]string{p.ID: {"reply", "note"}})
	h.createUser("blind@example.com", "agent", map[string][]string{other.ID: {"reply", "note"}})
	seer, blind := h.session("seer@example.com", adminPassword), h.session("blind@example.com", adminPassword)
	if status, body, _ := h.form(card, seer, "name=Ana+L."); status != 303 {
		t.Errorf("agent who sees the contact: %d %s", status, body)
	}
	if status, _ := h.page(card, blind); status != 404 {
		t.Errorf("agent who may not see the contact, card: %d", status)
	}
	if status, _, _ := h.form(card, blind, "name=Hacked"); status != 404 {
		t.Errorf("agent who may not see the contact, save: %d", status)
	}
	if status, _, _ := h.do("PATCH", "/api/v1/contacts/"+res.ContactID, "", map[string]string{"name": "Hacked"}, "Cookie", "parley_session="+blind); status != 404 {
		t.Errorf("the API answers %d to the same agent", status)
	}
	if c := h.contact(res.ContactID); c.Name != "Ana L." {
		t.Errorf("name after the agents: %q", c.Name)
	}
	if status, _, _ := h.form(card, "", "name=Anon"); status != 401 {
		t.Errorf("signed out: %d", status)
	}
}

// otherWorkspace writes a second workspace with a contact into the
// database (the API has no way to create workspaces).
func (h *harness) otherWorkspace(contactID, name, email, phone, address string) {
	h.t.Helper()
	ctx := context.Background()
	now := store.Micros(time.Now())
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO workspaces (id, name, created_at) VALUES ('ws-other', 'Other', ?)`, []any{now}},
		{`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES ('poc-other', 'ws-other', 'whatsapp', 'Other WA', ?, ?)`, []any{now, now}},
		{`INSERT INTO contacts (id, workspace_id, name, email, phone, created_at, updated_at) VALUES (?, 'ws-other', ?, ?, ?, ?, ?)`, []any{contactID, name, email, phone, now, now}},
		{`INSERT INTO contact_identities (id, workspace_id, contact_id, point_of_contact_id, channel_type, address, created_at) VALUES (?, 'ws-other', ?, 'poc-other', 'whatsapp', ?, ?)`,
			[]any{store.NewID(), contactID, address, now}},
	} {
		if _, err := h.app.DB.ExecContext(ctx, q.sql, q.args...); err != nil {
			h.t.Fatalf("%s: %v", q.sql, err)
		}
	}
}

// dupIDs lists the duplicates a card shows, with their reasons.
func dupIDs(body string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)data-duplicate-id="([^"]+)".*?<ul class="people-reasons">(.*?)</ul>`).FindAllStringSubmatch(body, -1) {
		var rs []string
		for _, r := range regexp.MustCompile(`data-reason="([^"]+)"`).FindAllStringSubmatch(m[2], -1) {
			rs = append(rs, r[1])
		}
		out[m[1]] = strings.Join(rs, ",")
	}
	return out
}

// TestPeopleDuplicates: the card lists the contacts of the same workspace
// with the same email (whatever its case) or the same phone (however
// written), with the reason; never a contact of another workspace, nor one
// without a shared signal. Supervisors and admins get the merge action,
// agents only the list.
func TestPeopleDuplicates(t *testing.T) {
	h := start(t)
	_, p1 := h.middleware("Web middleware")
	_, p2 := h.middleware("Kiosk middleware")
	a := h.inbound(p1, "a1", "ta", "ua", "Ana Lima", "Hello")
	b := h.inbound(p2, "b1", "tb", "ub", "A. Lima", "Hello again")
	c := h.inbound(p1, "c1", "tc", "uc", "Zoe", "Hi")
	d := h.inbound(p2, "d1", "td", "ud", "Dan", "Hey")
	h.patchContact(a.ContactID, map[string]any{"email": "ana@example.com", "phone": "+33 6 12 34 56 78"})
	h.patchContact(b.ContactID, map[string]any{"email": "ANA@Example.com"})
	h.patchContact(c.ContactID, map[string]any{"phone": "0033 612 345 678"})
	h.patchContact(d.ContactID, map[string]any{"email": "dan@example.com", "phone": "+44 20 7946 0000"})
	h.otherWorkspace("contact-elsewhere", "Ana Lima", "ana@example.com", "+33612345678", "33612345678")

	ses := h.session(adminEmail, adminPassword)
	status, body := h.page("/ui/contacts/"+a.ContactID, ses)
	if status != 200 {
		t.Fatalf("card: %d %s", status, body)
	}
	got := dupIDs(body)
	want := map[string]string{b.ContactID: "same_email", c.ContactID: "same_phone"}
	if len(got) != len(want) || got[b.ContactID] != want[b.ContactID] || got[c.ContactID] != want[c.ContactID] {
		t.Errorf("duplicates: %v, want %v", got, want)
	}
	mustContain(t, "the duplicates", body, "Same email address", "ana@example.com", "Same phone number", "33612345678", "Kiosk middleware",
		`href="/ui/contacts/`+a.ContactID+`/merge?from=`+b.ContactID+`"`)
	mustNotContain(t, "the duplicates", body, "contact-elsewhere", d.ContactID)
	// From the other side too.
	_, body = h.page("/ui/contacts/"+b.ContactID, ses)
	if got := dupIDs(body); len(got) != 1 || got[a.ContactID] != "same_email" {
		t.Errorf("duplicates of b: %v", got)
	}
	_, body = h.page("/ui/contacts/"+d.ContactID, ses)
	mustContain(t, "a contact without duplicates", body, "No other contact looks like this one.")

	// An agent sees the list, without the merge action.
	h.createUser("agent@example.com", "agent", map[string][]string{"*": {"reply", "note"}})
	agent := h.session("agent@example.com", adminPassword)
	_, body = h.page("/ui/contacts/"+a.ContactID, agent)
	if got := dupIDs(body); len(got) != 2 {
		t.Errorf("agent's duplicates: %v", got)
	}
	mustContain(t, "the agent's card", body, "Supervisors and administrators merge contacts.")
	mustNotContain(t, "the agent's card", body, "data-merge=")
	// An agent limited to the kiosk sees only what came through it.
	h.createUser("kiosk@example.com", "agent", map[string][]string{p2.ID: {"reply"}})
	_, body = h.page("/ui/contacts/"+b.ContactID, h.session("kiosk@example.com", adminPassword))
	if got := dupIDs(body); len(got) != 0 {
		t.Errorf("an agent sees duplicates on points of contact they may not see: %v", got)
	}
}

// TestPeopleMerge: a supervisor merges a duplicate into the card after a
// confirmation; its identities and cases then show on the card, and its own
// card points to the survivor. An agent gets 403 (as from the API), and
// nothing is merged.
func TestPeopleMerge(t *testing.T) {
	h := start(t)
	_, p1 := h.middleware("Web middleware")
	_, p2 := h.middleware("Kiosk middleware")
	a := h.inbound(p1, "a1", "ta", "ua", "Ana Lima", "Hello")
	b := h.inbound(p2, "b1", "tb1", "ub", "A. Lima", "First question")
	h.inbound(p2, "b2", "tb2", "ub", "A. Lima", "Second question")
	h.patchContact(a.ContactID, map[string]any{"email": "ana@example.com"})
	h.patchContact(b.ContactID, map[string]any{"email": "ana@example.com", "phone": "+351 912 345 678"})
	h.createUser("agent@example.com", "agent", map[string][]string{"*": {"reply", "note"}})
	h.createUser("sup@example.com", "supervisor", nil)
	agent, sup := h.session("agent@example.com", adminPassword), h.session("sup@example.com", adminPassword)
	card := "/ui/contacts/" + a.ContactID
	mergeForm := "from=" + b.ContactID

	if status, body := h.page(card+"/merge?from="+b.ContactID, agent); status != 403 || !strings.Contains(body, "Supervisors and administrators only.") {
		t.Errorf("agent, confirmation: %d", status)
	}
	if status, body, _ := h.form(card+"/merge", agent, mergeForm); status != 403 || !strings.Contains(body, "Supervisors and administrators only.") {
		t.Errorf("agent, merge: %d", status)
	}
	if status, _, _ := h.do("POST", "/api/v1/contacts/"+a.ContactID+"/merge", "", map[string]string{"from_id": b.ContactID}, "Cookie", "parley_session="+agent); status != 403 {
		t.Errorf("the API answers %d to the same agent", status)
	}
	if c := h.contact(b.ContactID); c.MergedInto != nil {
		t.Fatal("an agent merged contacts")
	}

	// The confirmation says what moves.
	status, body := h.page(card+"/merge?from="+b.ContactID, sup)
	if status != 200 {
		t.Fatalf("confirmation: %d %s", status, body)
	}
	mustContain(t, "the confirmation", body, `id="merge-confirm"`, "Merge these contacts?", "identities: 1, cases: 2", "A. Lima", "ub",
		`<input type="hidden" name="from" value="`+b.ContactID+`">`)
	if status, _ := h.page(card+"/merge?from=no-such-contact", sup); status != 404 {
		t.Errorf("confirmation for an unknown contact: %d", status)
	}
	if status, _ := h.page(card+"/merge?from="+a.ContactID, sup); status != 400 {
		t.Errorf("confirmation of a merge into itself: %d", status)
	}

	status, _, hdr := h.form(card+"/merge", sup, mergeForm)
	if status != 303 || hdr.Get("Location") != card+"?merged="+b.ContactID {
		t.Fatalf("merge: %d %q", status, hdr.Get("Location"))
	}
	_, body = h.page(hdr.Get("Location"), sup)
	mustContain(t, "the card after the merge", body, "Contacts merged", "ub", "Kiosk middleware", "Chat tb1", "Chat tb2", "Second question", "&#43;351 912 345 678") // html/template writes + as &#43;
	if got := dupIDs(body); len(got) != 0 {
		t.Errorf("duplicates after the merge: %v", got)
	}
	if c := h.contact(b.ContactID); c.MergedInto == nil || *c.MergedInto != a.ContactID {
		t.Errorf("merged contact: %+v", c)
	}
	var cases struct{ Items []struct{ ID string } }
	h.mustDo("GET", "/api/v1/cases?contact_id="+a.ContactID, h.admin, nil, 200, &cases)
	if len(cases.Items) != 3 {
		t.Errorf("cases of the survivor: %d", len(cases.Items))
	}
	_, body = h.page("/ui/contacts/"+b.ContactID, sup)
	mustContain(t, "the merged contact's card", body, `id="merged-into"`, "This contact was merged into", `href="/ui/contacts/`+a.ContactID+`"`)
	mustNotContain(t, "the merged contact's card", body, `id="contact-form"`, `id="duplicates"`)
	// Twice, or into itself: refused with the reason.
	if status, body, _ := h.form(card+"/merge", sup, mergeForm); status != 400 || !strings.Contains(body, "was already merged") {
		t.Errorf("merging again: %d", status)
	}
	if status, _, _ := h.form(card+"/merge", sup, "from="+a.ContactID); status != 400 {
		t.Errorf("merging into itself: %d", status)
	}
}

// capacityForm is the capacity form's fields.
func capacityForm(chat, messaging, email, social, total string) string {
	return url.Values{"capacity.chat": {chat}, "capacity.messaging": {messaging}, "capacity.email": {email}, "capacity.social": {social}, "capacity.total": {total}}.Encode()
}

type apiAgent struct {
	State    string
	Capacity struct{ Chat, Messaging, Email, Social, Total int }
	Skills   []struct {
		SkillID     string `json:"skill_id"`
		Proficiency int
	}
}

func (h *harness) agent(id string) apiAgent {
	h.t.Helper()
	var a apiAgent
	h.mustDo("GET", "/api/v1/agents/"+id, h.admin, nil, 200, &a)
	return a
}

// TestPeopleSupervisorCapacity: capacity is the administrators' (as PUT
// /api/v1/agents/{id}/capacity): a supervisor sees it read-only and gets
// 403 when posting, as from the API; an admin's change is saved and shown
// on the board; a bad value is refused with the field named.
func TestPeopleSupervisorCapacity(t *testing.T) {
	h := start(t)
	h.createUser("agent@example.com", "agent", nil)
	h.createUser("sup@example.com", "supervisor", nil)
	id := h.userID("agent@example.com")
	agent, sup, admin := h.session("agent@example.com", adminPassword), h.session("sup@example.com", adminPassword), h.session(adminEmail, adminPassword)
	manage := "/ui/supervisor?agent=" + id
	post := "/ui/supervisor/agents/" + id + "/capacity"

	status, body := h.page(manage, sup)
	if status != 200 {
		t.Fatalf("supervisor's view: %d %s", status, body)
	}
	mustContain(t, "the supervisor's panel", body, `id="manage"`, `id="presence-form"`, "Only administrators change capacity and skills.")
	mustNotContain(t, "the supervisor's panel", body, `id="cap-chat"`, `id="capacity-save"`)
	if status, body, _ := h.form(post, sup, capacityForm("7", "5", "10", "10", "12")); status != 403 || !strings.Contains(body, "Administrators only.") {
		t.Errorf("supervisor posting capacity: %d", status)
	}
	if status, _, _ := h.do("PUT", "/api/v1/agents/"+id+"/capacity", "", map[string]int{"chat": 7, "total": 12}, "Cookie", "parley_session="+sup); status != 403 {
		t.Errorf("the API answers %d to the same supervisor", status)
	}
	if status, _, _ := h.form(post, agent, capacityForm("7", "5", "10", "10", "12")); status != 403 {
		t.Errorf("agent posting capacity: %d", status)
	}
	if status, _ := h.page(manage, agent); status != 403 {
		t.Errorf("agent on the supervision page: %d", status)
	}
	if a := h.agent(id); a.Capacity.Chat != 3 || a.Capacity.Total != 10 {
		t.Fatalf("a refused change changed the capacity: %+v", a.Capacity)
	}

	_, body = h.page(manage, admin)
	mustContain(t, "the admin's panel", body, `id="cap-chat" name="capacity.chat" value="3"`, `id="capacity-save"`)
	status, _, hdr := h.form(post, admin, capacityForm("7", "5", "10", "10", "12"))
	if status != 303 || hdr.Get("Location") != manage+"&saved=capacity" {
		t.Fatalf("admin saving capacity: %d %q", status, hdr.Get("Location"))
	}
	if a := h.agent(id); a.Capacity.Chat != 7 || a.Capacity.Total != 12 || a.Capacity.Email != 10 {
		t.Errorf("capacity after saving: %+v", a.Capacity)
	}
	_, body = h.page(hdr.Get("Location"), admin)
	mustContain(t, "the board after saving", body, "Capacity saved.", `id="cap-chat" name="capacity.chat" value="7"`)
	row := regexp.MustCompile(`(?s)<tr data-agent-id="` + id + `".*?</tr>`).FindString(body)
	mustContain(t, "the agent's row", row, `data-class="chat"`, "0 / 7", "0 / 12")

	for _, tc := range []struct{ form, detail, input string }{
		{capacityForm("abc", "5", "10", "10", "12"), "capacity.chat: a whole number from 0 to 1000", `id="cap-chat" name="capacity.chat" value="abc"`},
		{capacityForm("-1", "5", "10", "10", "12"), "capacity.chat: 0 to 1000", `id="cap-chat" name="capacity.chat" value="-1"`},
		{capacityForm("3", "5", "10", "10", "1001"), "capacity.total: 0 to 1000", `id="cap-total" name="capacity.total" value="1001"`},
		{capacityForm("3", "", "10", "10", "10"), "capacity.messaging: a whole number", `id="cap-messaging" name="capacity.messaging" value=""`},
	} {
		status, body, _ := h.form(post, admin, tc.form)
		if status != 400 {
			t.Errorf("%s: %d", tc.form, status)
			continue
		}
		mustContain(t, "refused "+tc.form, body, tc.detail, tc.input, `aria-invalid="true" aria-describedby="`+regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(tc.input)[1]+`-error"`)
	}
	if a := h.agent(id); a.Capacity.Chat != 7 || a.Capacity.Total != 12 {
		t.Errorf("a refused change changed the capacity: %+v", a.Capacity)
	}
	if status, _, _ := h.form("/ui/supervisor/agents/no-such-user/capacity", admin, capacityForm("1", "1", "1", "1", "1")); status != 404 {
		t.Errorf("unknown agent: %d", status)
	}
}

// TestPeopleSupervisorAgentsAndCases: from the supervision page a
// supervisor changes presence and moves cases (to an available agent, back
// to a skill's queue; an unavailable agent is refused); skills and
// proficiencies are the administrators'. The board's live fragment keeps
// the selection.
func TestPeopleSupervisorAgentsAndCases(t *testing.T) {
	h := start(t)
	_, p := h.middleware("Acme middleware")
	var billing, returns struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "Billing"}, 201, &billing)
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "Returns"}, 201, &returns)
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"default_skill_id": billing.ID}, 200, nil)
	h.createUser("one@example.com", "agent", nil)
	h.createUser("two@example.com", "agent", nil)
	h.createUser("sup@example.com", "supervisor", nil)
	one, two := h.userID("one@example.com"), h.userID("two@example.com")
	sup, admin, agent := h.session("sup@example.com", adminPassword), h.session(adminEmail, adminPassword), h.session("one@example.com", adminPassword)

	// Skills: admins only; proficiency 1 to 10.
	skillsForm := url.Values{"skill": {billing.ID, returns.ID}, "proficiency:" + billing.ID: {"8"}, "proficiency:" + returns.ID: {"3"}}.Encode()
	if status, _, _ := h.form("/ui/supervisor/agents/"+one+"/skills", sup, skillsForm); status != 403 {
		t.Errorf("supervisor posting skills: %d", status)
	}
	if status, body, _ := h.form("/ui/supervisor/agents/"+one+"/skills", admin, skillsForm); status != 303 {
		t.Fatalf("admin posting skills: %d %s", status, body)
	}
	if a := h.agent(one); len(a.Skills) != 2 {
		t.Errorf("skills: %+v", a.Skills)
	} else {
		for _, s := range a.Skills {
			if (s.SkillID == billing.ID && s.Proficiency != 8) || (s.SkillID == returns.ID && s.Proficiency != 3) {
				t.Errorf("skills: %+v", a.Skills)
			}
		}
	}
	bad := url.Values{"skill": {returns.ID}, "proficiency:" + billing.ID: {"8"}, "proficiency:" + returns.ID: {"11"}}.Encode()
	status, body, _ := h.form("/ui/supervisor/agents/"+one+"/skills", admin, bad)
	if status != 400 {
		t.Fatalf("proficiency 11: %d", status)
	}
	mustContain(t, "refused proficiency", body, "skills[0].proficiency: 1 to 10", `name="proficiency:`+returns.ID+`" value="11"`, "A whole number from 1 to 10.")
	_, body = h.page("/ui/supervisor?agent="+one, admin)
	mustContain(t, "the skills form", body, `name="proficiency:`+billing.ID+`" value="8"`, `name="skill" value="`+returns.ID+`" checked`)

	// Presence: the supervisor puts both agents to work.
	for _, id := range []string{one, two} {
		status, _, hdr := h.form("/ui/supervisor/agents/"+id+"/state", sup, "state=available")
		if status != 303 || hdr.Get("Location") != "/ui/supervisor?agent="+id+"&saved=state" {
			t.Fatalf("presence: %d %q", status, hdr.Get("Location"))
		}
	}
	if a := h.agent(two); a.State != "available" {
		t.Errorf("state: %q", a.State)
	}
	if status, body, _ := h.form("/ui/supervisor/agents/"+two+"/state", sup, "state=asleep"); status != 400 || !strings.Contains(body, "state: one of available, away, offline") {
		t.Errorf("unknown state: %d", status)
	}
	if status, _, _ := h.form("/ui/supervisor/agents/"+two+"/state", agent, "state=offline"); status != 403 {
		t.Errorf("an agent changing another's presence: %d", status)
	}

	res := h.inbound(p, "m1", "t1", "c1", "Ana Lima", "My invoice is wrong")
	move := "/ui/supervisor/cases/" + res.CaseID + "/transfer"
	type apiCase struct {
		AssigneeID *string `json:"assignee_id"`
		SkillID    *string `json:"skill_id"`
	}
	getCase := func() apiCase {
		var c apiCase
		h.mustDo("GET", "/api/v1/cases/"+res.CaseID, h.admin, nil, 200, &c)
		return c
	}
	eventually(t, "the case in Billing", 5*time.Second, func() bool { c := getCase(); return c.SkillID != nil && *c.SkillID == billing.ID })

	// The move panel, opened from the queue.
	status, body = h.page("/ui/supervisor?queue="+billing.ID+"&move="+res.CaseID, sup)
	if status != 200 {
		t.Fatalf("move panel: %d", status)
	}
	mustContain(t, "the move panel", body, `id="move-form"`, `action="/ui/supervisor/cases/`+res.CaseID+`/transfer"`, `value="user:`+two+`"`, `value="skill:`+returns.ID+`"`,
		`<input type="hidden" name="queue" value="`+billing.ID+`">`, `id="sup-cases"`)

	status, _, hdr := h.form(move, sup, url.Values{"to": {"user:" + two}, "queue": {billing.ID}}.Encode())
	if status != 303 || hdr.Get("Location") != "/ui/supervisor?queue="+billing.ID+"&saved=moved" {
		t.Fatalf("move to an agent: %d %q", status, hdr.Get("Location"))
	}
	if c := getCase(); c.AssigneeID == nil || *c.AssigneeID != two {
		t.Errorf("after moving to two: %+v", c)
	}
	_, body = h.page("/ui/supervisor?agent="+two, sup)
	mustContain(t, "two's cases", body, "Cases held by", `data-case-id="`+res.CaseID+`"`, `href="/ui/supervisor?agent=`+two+`&amp;move=`+res.CaseID+`"`)

	status, _, _ = h.form(move, sup, url.Values{"to": {"skill:" + returns.ID}, "agent": {two}}.Encode())
	if status != 303 {
		t.Fatalf("move to a queue: %d", status)
	}
	if c := getCase(); c.SkillID == nil || *c.SkillID != returns.ID || (c.AssigneeID != nil && *c.AssigneeID == two) {
		t.Errorf("after moving to Returns: %+v", c)
	}

	// Refused moves: nobody chosen; an agent who is offline.
	h.createUser("three@example.com", "agent", nil)
	status, body, _ = h.form(move, sup, "to=")
	if status != 400 {
		t.Errorf("no target: %d", status)
	}
	mustContain(t, "no target", body, "to: choose an agent or a queue", `id="move-to-error"`)
	status, body, _ = h.form(move, sup, "to=user:"+h.userID("three@example.com"))
	if status != 409 || !strings.Contains(body, "This agent is not available or has no room for this channel.") {
		t.Errorf("offline agent: %d", status)
	}
	if status, _, _ := h.form(move, agent, "to=skill:"+billing.ID); status != 403 {
		t.Errorf("an agent on the supervisor's move: %d", status)
	}
	if status, _, _ := h.form("/ui/supervisor/cases/no-such-case/transfer", sup, "to=skill:"+billing.ID); status != 404 {
		t.Errorf("unknown case: %d", status)
	}

	// Offline returns the agent's active cases to the queues.
	if status, body, _ := h.form(move, sup, "to=user:"+two); status != 303 {
		t.Fatalf("move back to two: %d %s", status, body)
	}
	if status, _, _ := h.form("/ui/supervisor/agents/"+two+"/state", sup, "state=offline"); status != 303 {
		t.Fatalf("offline: %d", status)
	}
	if a, c := h.agent(two), getCase(); a.State != "offline" || (c.AssigneeID != nil && *c.AssigneeID == two) {
		t.Errorf("after offline: %s %+v", a.State, c)
	}

	// The live fragment keeps the selection.
	status, body = h.page("/ui/supervisor/live?agent="+one, sup, "HX-Request", "true")
	if status != 200 || !strings.HasPrefix(strings.TrimSpace(body), `<div id="board"`) {
		t.Fatalf("fragment: %d %.200s", status, body)
	}
	mustContain(t, "the fragment", body, `hx-get="/ui/supervisor/live?agent=`+one+`"`, `id="sup-cases"`, `<tr data-agent-id="`+one+`" class="selected"`)
	mustNotContain(t, "the fragment", body, `id="manage"`, `<form`)
}
