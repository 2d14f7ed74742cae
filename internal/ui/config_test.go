package ui_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	tfake "github.com/parleyhq/parley/internal/channel/telegram/fake"
	wfake "github.com/parleyhq/parley/internal/channel/whatsapp/fake"
	"github.com/parleyhq/parley/internal/ui"
)

// startConfig is the harness on the app's own server, whose UI is built
// as internal/app builds it: with the channel registry, the script store
// and engine and the automation engine the configuration pages need.
func startConfig(t *testing.T) *harness {
	t.Helper()
	h := start(t)
	c := *h
	c.url = h.app.URL()
	return &c
}

// sessions signs in an administrator, a supervisor and an agent.
type configUsers struct{ admin, supervisor, agent string }

func (h *harness) configSessions() configUsers {
	h.t.Helper()
	h.createUser("super@example.com", "supervisor", nil)
	h.createUser("agent@example.com", "agent", nil)
	return configUsers{admin: h.session(adminEmail, adminPassword), supervisor: h.session("super@example.com", adminPassword),
		agent: h.session("agent@example.com", adminPassword)}
}

func (h *harness) configWorkspace() string {
	h.t.Helper()
	var me struct {
		WorkspaceID string `json:"workspace_id"`
	}
	h.mustDo("GET", "/api/v1/me", h.admin, nil, 200, &me)
	return me.WorkspaceID
}

type configPoint struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Settings       map[string]any `json:"settings"`
	DefaultSkillID *string        `json:"default_skill_id"`
	DefaultScript  string         `json:"default_script"`
	Credentials    []string       `json:"credentials_set"`
}

func (h *harness) configPointOf(id string) configPoint {
	h.t.Helper()
	var p configPoint
	h.mustDo("GET", "/api/v1/points-of-contact/"+id, h.admin, nil, 200, &p)
	return p
}

func (h *harness) configCreateScript(name, source string) string {
	h.t.Helper()
	var sc struct{ ID string }
	h.mustDo("POST", "/api/v1/scripts", h.admin, map[string]string{"name": name, "source": source}, 201, &sc)
	return sc.ID
}

type configScript struct {
	ID, Name, Source string
	Version          int
}

func (h *harness) configScripts() []configScript {
	h.t.Helper()
	var out struct{ Items []configScript }
	h.mustDo("GET", "/api/v1/scripts", h.admin, nil, 200, &out)
	return out.Items
}

type configRule struct {
	ID         string
	Name       string
	Enabled    bool
	Trigger    struct{ Type, From, To, Direction string }
	Conditions [][]struct {
		Field, Op string
		Value     json.RawMessage
	}
	DelaySeconds int64 `json:"delay_seconds"`
	Actions      []struct {
		Type     string
		Tags     []string
		Priority *int
		Text     string
	}
}

func (h *harness) configRules() []configRule {
	h.t.Helper()
	var out struct{ Items []configRule }
	h.mustDo("GET", "/api/v1/automation/rules", h.admin, nil, 200, &out)
	return out.Items
}

func configForm(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func configContains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// TestConfigPermissions: every configuration page and action is for
// administrators; supervisors and agents get 403 and change nothing.
func TestConfigPermissions(t *testing.T) {
	h := startConfig(t)
	s := h.configSessions()
	p := h.createBYOC("Passerelle", "https://mw.example.com/cb")
	scriptID := h.configCreateScript("Tri", `add_tag("tri")`)
	var rule struct{ ID string }
	h.mustDo("POST", "/api/v1/automation/rules", h.admin, map[string]any{"name": "Étiquetage", "trigger": map[string]string{"type": "case_created"},
		"actions": []map[string]any{{"type": "add_tag", "tags": []string{"neuf"}}}}, 201, &rule)

	pages := []string{"/ui/admin/points/" + p.ID, "/ui/admin/templates", "/ui/admin/points/" + p.ID + "/templates", "/ui/admin/scripts",
		"/ui/admin/scripts/" + scriptID, "/ui/admin/scripts/" + scriptID + "/versions/1", "/ui/admin/automation", "/ui/admin/automation/new",
		"/ui/admin/automation/" + rule.ID}
	for _, path := range pages {
		if status, body := h.page(path, s.admin); status != 200 {
			t.Errorf("admin %s: %d %.300s", path, status, body)
		}
		for role, ses := range map[string]string{"supervisor": s.supervisor, "agent": s.agent} {
			if status, body := h.page(path, ses); status != 403 || !strings.Contains(body, "Administrators only.") {
				t.Errorf("%s %s: %d", role, path, status)
			}
		}
	}
	// The admin's pages link to each other; others' navigation hides them.
	_, body := h.page("/ui/inbox", s.admin)
	configContains(t, "admin navigation", body, `href="/ui/admin/templates"`, `href="/ui/admin/scripts"`, `href="/ui/admin/automation"`)
	if _, body := h.page("/ui/inbox", s.supervisor); strings.Contains(body, `href="/ui/admin/scripts"`) {
		t.Error("a supervisor's navigation links to the scripts")
	}
	if _, body := h.page("/ui/admin/points", s.admin); !strings.Contains(body, `href="/ui/admin/points/`+p.ID+`"`) {
		t.Error("the points of contact list has no edit link")
	}

	actions := []struct{ path, body string }{
		{"/ui/admin/points/" + p.ID, configForm("name", "Renamed")},
		{"/ui/admin/points/" + p.ID + "/register-webhook", ""},
		{"/ui/admin/points/" + p.ID + "/templates/sync", ""},
		{"/ui/admin/scripts", configForm("name", "New", "source", `add_tag("x")`)},
		{"/ui/admin/scripts/" + scriptID, configForm("source", `add_tag("changed")`)},
		{"/ui/admin/scripts/" + scriptID + "/test", configForm("source", `add_tag("x")`)},
		{"/ui/admin/scripts/" + scriptID + "/delete", ""},
		{"/ui/admin/automation", configForm("name", "Other", "trigger", "case_created", "act_type_0", "add_tag", "act_tags_0", "x")},
		{"/ui/admin/automation/" + rule.ID, configForm("name", "Renamed", "trigger", "case_created", "act_type_0", "add_tag", "act_tags_0", "x")},
		{"/ui/admin/automation/" + rule.ID + "/disable", ""},
		{"/ui/admin/automation/" + rule.ID + "/delete", ""},
	}
	for _, a := range actions {
		for role, ses := range map[string]string{"supervisor": s.supervisor, "agent": s.agent} {
			if status, _, _ := h.form(a.path, ses, a.body); status != 403 {
				t.Errorf("%s POST %s: %d", role, a.path, status)
			}
		}
	}
	// Signed out: changes are refused, pages send to the login page.
	if status, _, _ := h.do("POST", "/ui/admin/scripts/"+scriptID+"/delete", "", ""); status != 401 {
		t.Errorf("signed out delete: %d", status)
	}
	if status, _, hdr := h.do("GET", "/ui/admin/scripts", "", nil); status != 303 || !strings.HasPrefix(hdr.Get("Location"), "/ui/login") {
		t.Errorf("signed out page: %d %q", status, hdr.Get("Location"))
	}
	if got := h.configPointOf(p.ID); got.Name != "Passerelle" {
		t.Errorf("point of contact changed by a refused request: %+v", got)
	}
	if got := h.configScripts(); len(got) != 1 || got[0].Version != 1 {
		t.Errorf("scripts changed by refused requests: %+v", got)
	}
	if got := h.configRules(); len(got) != 1 || got[0].Name != "Étiquetage" || !got[0].Enabled {
		t.Errorf("rules changed by refused requests: %+v", got)
	}
}

// TestConfigPointEdit: name, default skill and script, settings of every
// type, business hours and write-only credentials change through the
// edit form; refused input shows the field next to the form and changes
// nothing.
func TestConfigPointEdit(t *testing.T) {
	h := startConfig(t)
	ses := h.session(adminEmail, adminPassword)
	p := h.createBYOC("Passerelle WeChat", "https://mw.example.com/cb")
	var skill struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "Ventes"}, 201, &skill)
	scriptID := h.configCreateScript("Accueil", `add_tag("accueil")`)
	path := "/ui/admin/points/" + p.ID

	status, body := h.page(path, ses)
	if status != 200 {
		t.Fatalf("edit page: %d %s", status, body)
	}
	configContains(t, "edit page", body, `value="Passerelle WeChat"`, `id="poc-webhook"`, "/api/v1/byoc/"+p.ID+"/messages", `data-copy="poc-webhook"`,
		`value="https://mw.example.com/cb"`, `name="cred_name_0" value="secret"`, `<option value="`+scriptID+`">Accueil · v1</option>`, "Paste this URL")
	if strings.Contains(body, p.Secret) || strings.Contains(body, p.Token) {
		t.Fatal("the edit page shows a credential")
	}
	if strings.Contains(body, `id="register-webhook"`) {
		t.Error("BYOC offers to register a webhook")
	}
	// Registering is refused for a type that has nothing to register.
	if status, body, _ := h.form(path+"/register-webhook", ses, ""); status != 422 || !strings.Contains(body, "does not register webhooks") {
		t.Errorf("register on BYOC: %d", status)
	}

	// Bad input, each naming its field; nothing changes.
	good := []string{"name", "Passerelle WeChat", "skill", "", "script", "", "set_key_0", "callback_url", "set_val_0", "https://mw.example.com/cb",
		"set_key_1", "", "set_new_1", "1", "set_val_1", "", "cred_name_0", "secret", "cred_val_0", ""}
	for _, c := range []struct {
		name    string
		extra   []string
		field   string
		control string
	}{
		{"bad callback", []string{"set_val_0", "not a url"}, "settings.callback_url", `id="set-err-0"`},
		{"bad hours", []string{"bh_mon", "9h-17h"}, "settings.business_hours.weekly.mon", `id="err-business_hours"`},
		{"bad zone", []string{"bh_tz", "Mars/Olympus", "bh_mon", "09:00-17:00"}, "settings.business_hours.timezone", `id="err-business_hours"`},
		{"no name", []string{"name", " "}, "name", `id="err-name"`},
		{"unknown skill", []string{"skill", "0190f7a4-0000-7000-8000-000000000000"}, "default_skill_id", `id="err-skill"`},
		{"unknown script", []string{"script", "0190f7a4-0000-7000-8000-000000000000"}, "default_script", `id="err-script"`},
		{"unknown setting", []string{"set_key_1", "colour", "set_val_1", "blue"}, "settings.colour", `id="set-err-1"`},
		{"bad JSON", []string{"set_key_1", "supports_rich_content", "set_val_1", "{oops"}, "settings.supports_rich_content", `id="set-err-1"`},
		{"secret removed", []string{"cred_del_0", "1"}, "credentials.secret", `id="cred-err-0"`},
	} {
		v := url.Values{}
		for i := 0; i+1 < len(good); i += 2 {
			v.Set(good[i], good[i+1])
		}
		for i := 0; i+1 < len(c.extra); i += 2 {
			v.Set(c.extra[i], c.extra[i+1])
		}
		status, body, _ := h.form(path, ses, v.Encode())
		if status != 400 || !strings.Contains(body, `id="form-errors"`) || !strings.Contains(body, c.field) || !strings.Contains(body, c.control) {
			t.Errorf("%s: %d, want 400 naming %s at %s\n%.3000s", c.name, status, c.field, c.control, body[strings.Index(body, "<main"):])
		}
	}
	if got := h.configPointOf(p.ID); got.Name != "Passerelle WeChat" || got.DefaultSkillID != nil || got.DefaultScript != "" || len(got.Settings) != 1 {
		t.Fatalf("refused edits changed the point of contact: %+v", got)
	}

	// A good edit: every part at once.
	status, _, hdr := h.form(path, ses, configForm("name", "Passerelle Chine", "skill", skill.ID, "script", scriptID,
		"set_key_0", "callback_url", "set_val_0", "https://mw2.example.com/cb",
		"set_key_1", "supports_attachments", "set_new_1", "1", "set_val_1", "true",
		"set_key_2", "", "set_new_2", "1", "set_val_2", "",
		"bh_tz", "Asia/Shanghai", "bh_mon", "9:00-12:00, 13:30-18:00", "bh_tue", "09:00–18:00", "bh_holidays", "2026-10-01\n2026-10-02",
		"cred_name_0", "secret", "cred_val_0", "whsec_replaced_by_hand_0123456789"))
	if status != 303 || hdr.Get("Location") != path+"?saved=1" {
		t.Fatalf("save: %d %v", status, hdr)
	}
	got := h.configPointOf(p.ID)
	bh, _ := json.Marshal(got.Settings["business_hours"])
	if got.Name != "Passerelle Chine" || got.DefaultSkillID == nil || *got.DefaultSkillID != skill.ID || got.DefaultScript != scriptID ||
		got.Settings["callback_url"] != "https://mw2.example.com/cb" || got.Settings["supports_attachments"] != true ||
		string(bh) != `{"holidays":["2026-10-01","2026-10-02"],"timezone":"Asia/Shanghai","weekly":{"mon":[{"end":"12:00","start":"09:00"},{"end":"18:00","start":"13:30"}],"tue":[{"end":"18:00","start":"09:00"}]}}` {
		t.Fatalf("after the edit: %+v %s", got, bh)
	}
	stored, err := h.app.Points.Get(context.Background(), h.configWorkspace(), p.ID)
	if err != nil || stored.Credential("secret") != "whsec_replaced_by_hand_0123456789" {
		t.Fatalf("the credential was not replaced: %v", err)
	}
	_, body = h.page(path+"?saved=1", ses)
	configContains(t, "saved page", body, "The point of contact was saved.", `value="Asia/Shanghai"`, `value="09:00-12:00, 13:30-18:00"`,
		`name="set_json_1" value="1"`, `<option value="`+skill.ID+`" selected>`, `<option value="`+scriptID+`" selected>`)
	if strings.Contains(body, "whsec_replaced_by_hand") {
		t.Fatal("the edit page shows the new credential")
	}
	// The form as shown, sent back untouched, changes nothing.
	before, _ := json.Marshal(h.configPointOf(p.ID))
	if status, body, _ := h.form(path, ses, configFormValues(t, body, "poc-form").Encode()); status != 303 {
		t.Fatalf("untouched form: %d %s", status, body)
	}
	if after, _ := json.Marshal(h.configPointOf(p.ID)); string(after) != string(before) {
		t.Errorf("the untouched form changed the point of contact:\n%s\n%s", before, after)
	}
	if stored, _ := h.app.Points.Get(context.Background(), h.configWorkspace(), p.ID); stored.Credential("secret") != "whsec_replaced_by_hand_0123456789" {
		t.Error("the untouched form changed the credential")
	}

	// An empty credential field keeps the value; clearing the hours and
	// removing a setting go through.
	status, body, _ = h.form(path, ses, configForm("name", "Passerelle Chine", "skill", skill.ID, "script", scriptID,
		"set_key_0", "callback_url", "set_val_0", "https://mw2.example.com/cb", "set_key_1", "supports_attachments", "set_json_1", "1", "set_val_1", "true", "set_del_1", "1",
		"cred_name_0", "secret", "cred_val_0", ""))
	if status != 303 {
		t.Fatalf("second save: %d %s", status, body)
	}
	got = h.configPointOf(p.ID)
	if _, ok := got.Settings["business_hours"]; ok || got.Settings["supports_attachments"] != nil {
		t.Errorf("hours and setting not removed: %+v", got.Settings)
	}
	if stored, _ := h.app.Points.Get(context.Background(), h.configWorkspace(), p.ID); stored.Credential("secret") != "whsec_replaced_by_hand_0123456789" {
		t.Error("an empty credential field changed the credential")
	}
}

// TestConfigRegisterWebhook: Telegram is told the webhook URL from the
// edit page; the platform's refusal is shown with its reason.
func TestConfigRegisterWebhook(t *testing.T) {
	h := startConfig(t)
	ses := h.session(adminEmail, adminPassword)
	fk, err := tfake.Start(tfake.Options{LocalWebhooks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()
	var out struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "telegram", "name": "Bot Telegram",
		"settings": map[string]any{"api_base_url": fk.URL}, "credentials": map[string]string{"bot_token": tfake.DefaultToken}}, 201, &out)
	id := out.PointOfContact.ID
	path := "/ui/admin/points/" + id
	_, body := h.page(path, ses)
	configContains(t, "telegram edit page", body, `id="register-webhook"`, `name="cred_name_0" value="bot_token"`)
	if strings.Contains(body, tfake.DefaultToken) {
		t.Fatal("the bot token is shown")
	}
	before := len(fk.Requests())
	status, body, _ := h.form(path+"/register-webhook", ses, "")
	if status != 200 || !strings.Contains(body, "The platform was told the webhook URL.") {
		t.Fatalf("register: %d %s", status, body)
	}
	if wh := fk.Webhook(); wh.URL != h.app.URL()+"/webhooks/"+id || len(fk.Requests()) != before+1 {
		t.Errorf("setWebhook: %+v", wh)
	}
	fk.FailNext(tfake.BadRequest("bad webhook: HTTPS url must be provided for webhook"))
	status, body, _ = h.form(path+"/register-webhook", ses, "")
	if status != 502 || !strings.Contains(body, "The platform could not be told the webhook URL") || !strings.Contains(body, "HTTPS url must be provided") {
		t.Errorf("refused registration: %d %s", status, body)
	}
}

// TestConfigTemplates: a WhatsApp number's templates are synchronised from
// the platform and listed with their approval status; the platform's
// refusal is shown with its reason; channels without templates say so.
func TestConfigTemplates(t *testing.T) {
	h := startConfig(t)
	ses := h.session(adminEmail, adminPassword)
	fk, err := wfake.Start(wfake.Options{PhoneNumberID: "106540352242922", WABAID: "102290129340398", AccessToken: "wa-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()
	fk.AddTemplate(
		wfake.Template{Name: "order_shipped", Language: "fr", Category: "UTILITY", Status: "APPROVED", Components: json.RawMessage(`[{"type":"BODY","text":"Bonjour {{1}}, votre commande est partie."}]`)},
		wfake.Template{Name: "promo_noel", Language: "fr", Category: "MARKETING", Status: "REJECTED", Components: json.RawMessage(`[{"type":"BODY","text":"<b>-20 %</b> ce soir"}]`)},
		wfake.Template{Name: "rappel", Language: "fr", Category: "UTILITY", Status: "PENDING"},
	)
	var wa struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "whatsapp", "name": "Numéro service client",
		"settings":    map[string]any{"phone_number_id": "106540352242922", "waba_id": "102290129340398", "api_base_url": fk.URL},
		"credentials": map[string]string{"access_token": "wa-token", "app_secret": "wa-secret"}}, 201, &wa)
	byoc := h.createBYOC("Passerelle", "https://mw.example.com/cb")
	id := wa.PointOfContact.ID
	path := "/ui/admin/points/" + id + "/templates"

	_, body := h.page("/ui/admin/templates", ses)
	configContains(t, "overview", body, `href="/ui/admin/points/`+id+`/templates"`, "Numéro service client", "never")
	if strings.Contains(body, byoc.ID) {
		t.Error("the overview lists a BYOC point of contact, which has no templates")
	}
	_, body = h.page(path, ses)
	configContains(t, "empty list", body, `id="no-templates"`, `id="sync-templates"`)
	// The edit page of a WhatsApp number shows the verify token Meta asks
	// for (as the API does) and links to the templates.
	_, body = h.page("/ui/admin/points/"+id, ses)
	configContains(t, "whatsapp edit page", body, `id="poc-verify"`, `href="/ui/admin/points/`+id+`/templates"`)
	if strings.Contains(body, "wa-token") || strings.Contains(body, "wa-secret") {
		t.Fatal("the edit page shows a WhatsApp credential")
	}

	status, _, hdr := h.form(path+"/sync", ses, "")
	if status != 303 || hdr.Get("Location") != path+"?synced=1" {
		t.Fatalf("sync: %d %v", status, hdr)
	}
	_, body = h.page(path+"?synced=1", ses)
	configContains(t, "templates", body, "Templates synchronised: 3.", `data-template="order_shipped"`, `tpl-status tpl-approved">Approved<`,
		`tpl-status tpl-rejected">Rejected<`, `tpl-status tpl-pending">Awaiting review<`, "Bonjour {{1}}, votre commande est partie.",
		"&lt;b&gt;-20 %&lt;/b&gt; ce soir", ">Utility<", ">Marketing<")

	fk.FailNext(wfake.Failure{Endpoint: "templates", Status: 400, Code: 200, Message: "(#200) Permissions error"})
	status, body, _ = h.form(path+"/sync", ses, "")
	if status != 502 || !strings.Contains(body, "The platform refused or could not be reached.") || !strings.Contains(body, "Permissions error") {
		t.Errorf("refused sync: %d %s", status, body)
	}
	if !strings.Contains(body, `data-template="order_shipped"`) {
		t.Error("a refused sync lost the stored templates")
	}

	_, body = h.page("/ui/admin/points/"+byoc.ID+"/templates", ses)
	if strings.Contains(body, `id="sync-templates"`) || !strings.Contains(body, "This channel has no platform templates to synchronise.") {
		t.Error("BYOC offers to synchronise templates")
	}
	if status, body, _ := h.form("/ui/admin/points/"+byoc.ID+"/templates/sync", ses, ""); status != 422 || !strings.Contains(body, "This channel has no platform templates.") {
		t.Errorf("sync on BYOC: %d", status)
	}
	if status, _ := h.page("/ui/admin/points/0190f7a4-0000-7000-8000-000000000000/templates", ses); status != 404 {
		t.Errorf("unknown point of contact: %d", status)
	}
}

// TestConfigScripts: create (a compile error shows its line and creates
// nothing), edit into new versions, view an old one and restore it, test
// runs (actions, logs, errors with their line, business hours of a point
// of contact), and delete refused while a point of contact uses the
// script.
func TestConfigScripts(t *testing.T) {
	h := startConfig(t)
	ses := h.session(adminEmail, adminPassword)

	_, body := h.page("/ui/admin/scripts", ses)
	configContains(t, "scripts page", body, `id="new-script"`, "set_skill(&#34;Billing&#34;)", `class="gutter"`)

	bad := "add_tag(\"ok\")\nif True\n    add_tag(\"x\")\n"
	status, body, _ := h.form("/ui/admin/scripts", ses, configForm("name", "Routage", "source", bad))
	pos := regexp.MustCompile(`id="err-source" data-entered>line (\d+):\d+: `).FindStringSubmatch(body)
	if status != 400 || !strings.Contains(body, `id="form-errors"`) || pos == nil || !strings.Contains(body, `<span class="err">`+pos[1]+`</span>`) ||
		!strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "if True\n    add_tag") {
		t.Fatalf("compile error: %d %s", status, body)
	}
	if len(h.configScripts()) != 0 {
		t.Fatal("a script that does not compile was created")
	}
	v1 := "# tri\r\nif \"facture\" in message.text.lower():\r\n    set_skill(\"Facturation\")\r\n    log(\"facture vue\")\r\n"
	status, _, hdr := h.form("/ui/admin/scripts", ses, configForm("name", "Routage", "source", v1))
	if status != 303 {
		t.Fatalf("create: %d", status)
	}
	list := h.configScripts()
	if len(list) != 1 || list[0].Source != strings.ReplaceAll(v1, "\r\n", "\n") || hdr.Get("Location") != "/ui/admin/scripts/"+list[0].ID {
		t.Fatalf("created: %+v %v", list, hdr)
	}
	id := list[0].ID
	if status, _, _ := h.form("/ui/admin/scripts", ses, configForm("name", "Routage", "source", v1)); status != 400 {
		t.Errorf("duplicate name: %d", status)
	}
	path := "/ui/admin/scripts/" + id
	_, body = h.page(path, ses)
	configContains(t, "editor", body, `id="script-source"`, "set_skill(&#34;Facturation&#34;)", `id="run-test"`, `hx-post="/ui/admin/scripts/`+id+`/test"`,
		`href="/ui/admin/scripts/`+id+`/versions/1"`)

	// Save a new version; a broken one is refused and shown with its line.
	v2 := "if \"urgent\" in message.text:\n    set_priority(90)\n    add_tag(\"urgent\")\nlog(\"v2\")\n"
	if status, _, hdr := h.form(path, ses, configForm("source", v2)); status != 303 || hdr.Get("Location") != path+"?saved=1" {
		t.Fatalf("save: %d %v", status, hdr)
	}
	status, body, _ = h.form(path, ses, configForm("source", "set_priority(1)\nset_priority(\n"))
	if status != 400 || !strings.Contains(body, "line 3:") && !strings.Contains(body, "line 2:") || !strings.Contains(body, "set_priority(\n") {
		t.Errorf("broken save: %d %s", status, body)
	}
	if got := h.configScripts(); got[0].Version != 2 || got[0].Source != v2 {
		t.Fatalf("after saves: %+v", got)
	}
	_, body = h.page(path+"?saved=1", ses)
	configContains(t, "saved editor", body, "the script is now at version 2", `href="/ui/admin/scripts/`+id+`/versions/2"`)
	_, body = h.page(path+"/versions/1", ses)
	configContains(t, "version 1", body, `id="viewed-version">version 1<`, "log(&#34;facture vue&#34;)", `id="restore-version"`)
	if status, _ := h.page(path+"/versions/9", ses); status != 404 {
		t.Errorf("missing version: %d", status)
	}

	// Test runs: the draft in the editor, not what is saved.
	status, frag, _ := h.do("POST", path+"/test", "", configForm("source", v1, "test_event", "message", "test_text", "Ma FACTURE est fausse", "test_channel", "whatsapp", "test_day", "mon", "test_hour", "10"),
		"Cookie", ui.SessionCookie+"="+ses, "Content-Type", "application/x-www-form-urlencoded", "HX-Request", "true")
	if status != 200 || !strings.HasPrefix(strings.TrimSpace(string(frag)), `<div id="script-test-result"`) {
		t.Fatalf("test fragment: %d %s", status, frag)
	}
	configContains(t, "test run", string(frag), `data-action="set_skill"`, "Route to skill", "Facturation", "facture vue", "The script ran without error. Actions: 1.")
	status, frag, _ = h.do("POST", path+"/test", "", configForm("source", "add_tag(\"a\")\nx = 1 // 0\n", "test_text", "bonjour"),
		"Cookie", ui.SessionCookie+"="+ses, "Content-Type", "application/x-www-form-urlencoded", "HX-Request", "true")
	configContains(t, "failing test run", string(frag), `id="test-error"`, "at line 2, column", "division by zero", "No action.")
	status, frag, _ = h.do("POST", path+"/test", "", configForm("source", "if True\n"),
		"Cookie", ui.SessionCookie+"="+ses, "Content-Type", "application/x-www-form-urlencoded", "HX-Request", "true")
	configContains(t, "test of a broken draft", string(frag), "The script does not compile:")
	if !regexp.MustCompile(`line \d+:\d+: `).Match(frag) {
		t.Errorf("the compile error has no position: %s", frag)
	}
	// Without htmx the whole editor comes back, with the draft and result.
	status, body, _ = h.form(path+"/test", ses, configForm("source", v1, "test_text", "facture", "test_point", ""))
	if status != 200 || !strings.Contains(body, `id="script-source"`) || !strings.Contains(body, `data-action="set_skill"`) {
		t.Errorf("test without htmx: %d", status)
	}
	if got := h.configScripts(); got[0].Version != 2 {
		t.Fatal("a test run saved the script")
	}
	// Business hours of a point of contact decide in_business_hours().
	p := h.createBYOC("Boutique", "https://mw.example.com/cb")
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"settings": map[string]any{"business_hours": map[string]any{
		"timezone": "Europe/Paris", "weekly": map[string]any{"mon": []map[string]string{{"start": "09:00", "end": "17:00"}}}}}}, 200, nil)
	hoursScript := "if in_business_hours():\n    add_tag(\"ouvert\")\nelse:\n    add_tag(\"ferme\")\nlog(channel.type, now().hour, now().timezone)\n"
	for hour, want := range map[string]string{"10": "ouvert", "20": "ferme"} {
		_, frag, _ = h.do("POST", path+"/test", "", configForm("source", hoursScript, "test_point", p.ID, "test_day", "mon", "test_hour", hour),
			"Cookie", ui.SessionCookie+"="+ses, "Content-Type", "application/x-www-form-urlencoded", "HX-Request", "true")
		configContains(t, "hours test at "+hour, string(frag), `<span class="mono" data-entered>`+want+`</span>`, "byoc "+strings.TrimLeft(hour, "0")+" Europe/Paris")
	}

	// Restore version 1 as version 3.
	_, body = h.page(path+"/versions/1", ses)
	m := regexp.MustCompile(`name="source" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no restore form")
	}
	if status, _, _ := h.form(path, ses, configForm("source", configUnescape(m[1]))); status != 303 {
		t.Fatalf("restore: %d", status)
	}
	if got := h.configScripts(); got[0].Version != 3 || got[0].Source != strings.ReplaceAll(v1, "\r\n", "\n") {
		t.Fatalf("restored: %+v", got)
	}

	// Delete: refused while a point of contact uses it.
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"default_script": id}, 200, nil)
	status, body, _ = h.form(path+"/delete", ses, "")
	if status != 409 || !strings.Contains(body, "This script is the default script of a point of contact") || !strings.Contains(body, "Boutique") {
		t.Errorf("delete in use: %d %s", status, body)
	}
	if len(h.configScripts()) != 1 {
		t.Fatal("a script in use was deleted")
	}
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"default_script": ""}, 200, nil)
	if status, _, hdr := h.form(path+"/delete", ses, ""); status != 303 || hdr.Get("Location") != "/ui/admin/scripts" {
		t.Errorf("delete: %d", status)
	}
	if len(h.configScripts()) != 0 {
		t.Error("the script was not deleted")
	}
	if status, _ := h.page(path, ses); status != 404 {
		t.Errorf("deleted script's page: %d", status)
	}
}

func configUnescape(s string) string {
	n, err := xhtml.Parse(strings.NewReader(`<p title="` + s + `">`))
	if err != nil {
		return s
	}
	var out string
	var walk func(*xhtml.Node)
	walk = func(n *xhtml.Node) {
		for _, a := range n.Attr {
			if a.Key == "title" {
				out = a.Val
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// configFormValues is what a browser would submit of a page's form
// untouched: its inputs, checked boxes, selected options and text areas
// (the first submit button's value aside).
func configFormValues(t *testing.T, page, formID string) url.Values {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *xhtml.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	out := url.Values{}
	var walk func(n *xhtml.Node, in bool)
	walk = func(n *xhtml.Node, in bool) {
		if n.Type == xhtml.ElementNode {
			if id, _ := attr(n, "id"); n.Data == "form" && id == formID {
				in = true
			}
			name, named := attr(n, "name")
			if in && named {
				switch n.Data {
				case "input":
					typ, _ := attr(n, "type")
					_, checked := attr(n, "checked")
					if (typ != "checkbox" && typ != "radio") || checked {
						v, _ := attr(n, "value")
						out.Add(name, v)
					}
				case "textarea":
					var b strings.Builder
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						b.WriteString(c.Data)
					}
					out.Add(name, strings.TrimPrefix(b.String(), "\n"))
				case "select":
					first, chosen := "", ""
					found, seen := false, false
					for o := n.FirstChild; o != nil; o = o.NextSibling {
						if o.Type != xhtml.ElementNode || o.Data != "option" {
							continue
						}
						v, _ := attr(o, "value")
						if !seen {
							first, seen = v, true
						}
						if _, sel := attr(o, "selected"); sel && !found {
							chosen, found = v, true
						}
					}
					if !found {
						chosen = first
					}
					out.Add(name, chosen)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, in)
		}
	}
	walk(doc, false)
	return out
}

// TestConfigAutomation: rules are created and changed with the structured
// form (condition sets, delay, actions) and as JSON; the engine's
// refusals are shown next to the row or field they name and change
// nothing; rules are turned off and on and deleted; the list shows each
// rule's waiting jobs.
func TestConfigAutomation(t *testing.T) {
	h := startConfig(t)
	ses := h.session(adminEmail, adminPassword)
	var skill struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "Fidélité"}, 201, &skill)

	_, body := h.page("/ui/admin/automation/new", ses)
	configContains(t, "new rule", body, `id="rule-form"`, `id="rule-document"`, `<datalist id="rule-fields">`, `value="case.custom_fields."`, `name="act_type_1"`)

	base := []string{"name", "Relance VIP", "enabled", "1", "trigger", "status_changed", "trigger_to", "resolved", "delay", "2", "delay_unit", "hours",
		"cond_set_0", "1", "cond_field_0", "case.priority", "cond_op_0", "gte", "cond_value_0", "5",
		"cond_set_1", "1", "cond_field_1", "case.channel_type", "cond_op_1", "in", "cond_value_1", "whatsapp, messenger",
		"cond_set_2", "2", "cond_field_2", "case.tags", "cond_op_2", "contains", "cond_value_2", "vip",
		"cond_set_3", "2", "cond_field_3", "", "cond_op_3", "eq", "cond_value_3", "",
		"act_type_0", "add_tag", "act_tags_0", "relance, vip", "act_type_1", "", "act_tags_1", "ignored",
		"act_type_2", "set_priority", "act_priority_2", "80", "act_type_3", "reroute", "act_skill_3", skill.ID,
		"act_type_4", "send_message", "act_text_4", "Dossier {{case.id}} : tout va bien ?"}
	with := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(base); i += 2 {
			v.Set(base[i], base[i+1])
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, c := range []struct {
		name, field, at string
		kv              []string
	}{
		{"priority out of range", "actions[1].priority", `action-row invalid-row" data-row="2"`, []string{"act_priority_2", "500"}},
		{"priority not a number", "actions[1].priority", `action-row invalid-row" data-row="2"`, []string{"act_priority_2", "lots"}},
		{"number compared with text", "conditions[0][0].value", `id="cond-err-0"`, []string{"cond_op_0", "gt", "cond_value_0", "high"}},
		{"unknown field", "conditions[1][0].field", `id="cond-err-2"`, []string{"cond_field_2", "case.colour"}},
		{"no name", "name", `id="err-name"`, []string{"name", ""}},
		{"delay too long", "delay_seconds", `id="err-delay"`, []string{"delay", "91", "delay_unit", "days"}},
		{"a change to the same status", "trigger.to", `id="err-trigger"`, []string{"trigger_from", "resolved"}},
		{"unknown skill", "actions[2].skill_id", `action-row invalid-row" data-row="3"`, []string{"act_skill_3", "0190f7a4-0000-7000-8000-000000000000"}},
	} {
		status, body, _ := h.form("/ui/admin/automation", ses, with(c.kv...))
		if status != 400 || !strings.Contains(body, `id="form-errors"`) || !strings.Contains(body, c.field) || !strings.Contains(body, c.at) {
			t.Errorf("%s: %d, want 400 naming %s at %s", c.name, status, c.field, c.at)
		}
		if !strings.Contains(body, `value="Relance VIP"`) && c.name != "no name" {
			t.Errorf("%s: the form lost what was typed", c.name)
		}
	}
	if n := len(h.configRules()); n != 0 {
		t.Fatalf("refused forms created %d rules", n)
	}

	status, _, hdr := h.form("/ui/admin/automation", ses, with())
	if status != 303 {
		t.Fatalf("create: %d", status)
	}
	rs := h.configRules()
	if len(rs) != 1 {
		t.Fatalf("rules: %+v", rs)
	}
	r := rs[0]
	conds, _ := json.Marshal(r.Conditions)
	if hdr.Get("Location") != "/ui/admin/automation/"+r.ID+"?saved=1" || !r.Enabled || r.Trigger.Type != "status_changed" || r.Trigger.To != "resolved" ||
		r.DelaySeconds != 7200 || string(conds) != `[[{"Field":"case.priority","Op":"gte","Value":5},{"Field":"case.channel_type","Op":"in","Value":["whatsapp","messenger"]}],[{"Field":"case.tags","Op":"contains","Value":"vip"}]]` ||
		len(r.Actions) != 4 || strings.Join(r.Actions[0].Tags, ",") != "relance,vip" || *r.Actions[1].Priority != 80 || r.Actions[3].Text != "Dossier {{case.id}} : tout va bien ?" {
		t.Fatalf("created rule: %+v %s", r, conds)
	}
	path := "/ui/admin/automation/" + r.ID
	_, body = h.page(path+"?saved=1", ses)
	configContains(t, "rule page", body, "The rule was saved.", `value="whatsapp, messenger"`, `<option value="2" selected>Set 2</option>`,
		`<option value="hours" selected>hours</option>`, `value="relance, vip"`, `&#34;delay_seconds&#34;: 7200`, `id="toggle-rule"`)

	// The form as shown, sent back untouched, changes nothing.
	before, _ := json.Marshal(h.configRules()[0])
	if status, body, _ := h.form(path, ses, configFormValues(t, body, "rule-form").Encode()); status != 303 {
		t.Fatalf("untouched form: %d %s", status, body)
	}
	if after, _ := json.Marshal(h.configRules()[0]); string(after) != string(before) {
		t.Errorf("the untouched form changed the rule:\n%s\n%s", before, after)
	}

	// Edit with the form: fewer conditions, a delay in days (the hidden
	// direction field of another trigger does not count).
	status, body, _ = h.form(path, ses, configForm("name", "Relance VIP", "enabled", "1", "trigger", "status_changed", "trigger_to", "resolved", "trigger_direction", "inbound", "delay", "1", "delay_unit", "days",
		"cond_set_0", "1", "cond_field_0", "case.custom_fields.segment", "cond_op_0", "eq", "cond_value_0", "42",
		"act_type_0", "set_field", "act_field_0", "relance", "act_value_0", `{"faite": true}`))
	if status != 303 {
		t.Fatalf("update: %d %s", status, body)
	}
	r = h.configRules()[0]
	if conds, _ := json.Marshal(r.Conditions); string(conds) != `[[{"Field":"case.custom_fields.segment","Op":"eq","Value":42}]]` || r.DelaySeconds != 86400 || len(r.Actions) != 1 ||
		r.Trigger.Direction != "" || r.Trigger.To != "resolved" {
		t.Errorf("updated rule: %+v %s", r, conds)
	}

	// The JSON editor: strict, validated by the engine, field-named errors.
	doc := `{"name":"Relance VIP","enabled":true,"trigger":{"type":"case_created"},"conditions":[],"delay_seconds":0,
		"actions":[{"type":"send_message","content":{"type":"quick_replies","text":"Besoin d'aide ?","options":[{"id":"oui","label":"Oui"},{"id":"non","label":"Non"}]}}]}`
	for _, c := range []struct{ name, doc, want string }{
		{"syntax", `{"name": }`, "json"},
		{"unknown field", `{"name":"x","colour":1}`, `unknown field &#34;colour&#34;`},
		{"engine", strings.Replace(doc, "case_created", "case_sneezed", 1), "trigger.type"},
	} {
		status, body, _ := h.form(path, ses, configForm("mode", "json", "document", c.doc))
		if status != 400 || !strings.Contains(body, c.want) || !strings.Contains(body, `id="json-editor" open`) {
			t.Errorf("JSON %s: %d, want %q\n%s", c.name, status, c.want, body)
		}
	}
	status, body, _ = h.form(path, ses, configForm("mode", "json", "check", "1", "document", doc))
	if status != 200 || !strings.Contains(body, "The rule is valid.") {
		t.Errorf("check: %d", status)
	}
	if r := h.configRules()[0]; r.Trigger.Type != "status_changed" {
		t.Fatal("checking saved the rule")
	}
	if status, _, _ := h.form(path, ses, configForm("mode", "json", "document", doc)); status != 303 {
		t.Fatalf("save JSON: %d", status)
	}
	// Rich content is beyond the form: the page offers the JSON editor only.
	_, body = h.page(path, ses)
	if !strings.Contains(body, `id="json-only"`) || strings.Contains(body, `id="rule-form"`) || !strings.Contains(body, "Besoin d&#39;aide ?") {
		t.Error("a rule with rich content is offered in the structured form")
	}

	// Off and on, from the list and from the rule's page.
	if status, _, hdr := h.form(path+"/disable", ses, ""); status != 303 || hdr.Get("Location") != "/ui/admin/automation" || h.configRules()[0].Enabled {
		t.Errorf("disable: %d", status)
	}
	_, body = h.page("/ui/admin/automation", ses)
	configContains(t, "list", body, `data-rule-id="`+r.ID+`"`, "badge rule-off", `data-toggle="on"`, "A case is created")
	if status, _, hdr := h.form(path+"/enable", ses, configForm("next", path)); status != 303 || hdr.Get("Location") != path || !h.configRules()[0].Enabled {
		t.Errorf("enable: %d", status)
	}
	if status, _, hdr := h.form(path+"/enable", ses, configForm("next", "https://evil.example/")); status != 303 || hdr.Get("Location") != "/ui/inbox" {
		t.Errorf("open redirect: %q", hdr.Get("Location"))
	}

	// A delayed rule's waiting jobs are counted on the list. The app
	// notices that rules exist within a second: until then new cases
	// trigger nothing, so cases keep coming until one does.
	var closing struct{ ID string }
	h.mustDo("POST", "/api/v1/automation/rules", h.admin, map[string]any{"name": "Clôture", "trigger": map[string]string{"type": "case_created"}, "delay_seconds": 86400,
		"actions": []map[string]any{{"type": "set_status", "status": "closed"}}}, 201, &closing)
	_, p := h.middleware("Passerelle")
	pendingRE := regexp.MustCompile(`data-rule-id="` + closing.ID + `">(?s:.*?)data-pending="(\d+)"`)
	onPage := func() int {
		_, body := h.page("/ui/admin/automation", ses)
		m := pendingRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("the list lacks the rule %s", closing.ID)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	sent := 0
	eventually(t, "a waiting job of the delayed rule", 10*time.Second, func() bool {
		if onPage() > 0 {
			return true
		}
		sent++
		h.inbound(p, "m"+strconv.Itoa(sent), "t"+strconv.Itoa(sent), "u"+strconv.Itoa(sent), "Chloé", "Bonjour")
		return false
	})
	eventually(t, "the list counting the rule's waiting jobs", 5*time.Second, func() bool {
		var n int
		if err := h.app.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM automation_jobs WHERE rule_id = ? AND status = 'pending'`, closing.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0 && onPage() == n
	})

	if status, _, hdr := h.form(path+"/delete", ses, ""); status != 303 || hdr.Get("Location") != "/ui/admin/automation?deleted=1" {
		t.Errorf("delete: %d", status)
	}
	if rs := h.configRules(); len(rs) != 1 || rs[0].Name != "Clôture" {
		t.Errorf("after delete: %+v", rs)
	}
	if status, _ := h.page(path, ses); status != 404 {
		t.Errorf("deleted rule's page: %d", status)
	}
}

// configCatalogs reads the English and French texts: the shared catalog
// and this area's.
func configCatalogs(t *testing.T) (en, fr map[string]string) {
	t.Helper()
	read := func(lang string) map[string]string {
		m := map[string]string{}
		for _, name := range []string{lang + ".json", "config." + lang + ".json"} {
			raw, err := os.ReadFile(filepath.Join("i18n", name))
			if err != nil {
				t.Fatal(err)
			}
			part := map[string]string{}
			if err := json.Unmarshal(raw, &part); err != nil {
				t.Fatal(err)
			}
			for k, v := range part {
				m[k] = v
			}
		}
		return m
	}
	return read("en"), read("fr")
}

// configPageText is what a reader sees of a page: its text and accessible
// labels, without what users typed (data-entered, data-customer,
// data-name), scripts, styles and the language switch's "English".
func configPageText(t *testing.T, page string) string {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(*xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode {
			switch n.Data {
			case "script", "style", "time", "textarea", "pre":
				return
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "data-entered", a.Key == "data-customer", a.Key == "data-name", n.Data == "option" && a.Key == "value" && a.Val == "en":
					return
				case a.Key == "placeholder", a.Key == "title", a.Key == "aria-label", a.Key == "alt", a.Key == "label":
					b.WriteString(a.Val + "\n")
				}
			}
		}
		if n.Type == xhtml.TextNode {
			b.WriteString(n.Data + "\n")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String()
}

// englishTexts are the English catalog texts a French page must not
// show: those French translates differently and that are not French
// words too ("Total", "Note"), each as a whole-word pattern.
type englishTexts []struct {
	key, text string
	re        *regexp.Regexp
}

func configEnglish(en, fr map[string]string) englishTexts {
	var french strings.Builder
	for _, v := range fr {
		french.WriteString(v + "\n")
	}
	verbs := regexp.MustCompile(`%[a-z0-9]+|\{n\}`)
	var out englishTexts
	for k, v := range en {
		if fr[k] == v {
			continue
		}
		for _, part := range verbs.Split(v, -1) {
			part = strings.TrimSpace(part)
			if len([]rune(part)) < 3 {
				continue
			}
			word := regexp.MustCompile(`(^|[^\p{L}])` + regexp.QuoteMeta(part) + `($|[^\p{L}])`)
			if word.MatchString(french.String()) {
				continue
			}
			out = append(out, struct {
				key, text string
				re        *regexp.Regexp
			}{k, part, word})
		}
	}
	return out
}

// left lists the English texts found in text.
func (e englishTexts) left(text string) []string {
	var found []string
	for _, x := range e {
		if strings.Contains(text, x.text) && x.re.MatchString(text) {
			found = append(found, x.key+": "+x.text)
		}
	}
	return found
}

// TestConfigFrench: every configuration page, with data and with errors,
// renders in French with no English catalog text left.
func TestConfigFrench(t *testing.T) {
	h := startConfig(t)
	ses := h.session(adminEmail, adminPassword)
	en, fr := configCatalogs(t)
	p := h.createBYOC("Passerelle", "https://mw.example.com/cb")
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"settings": map[string]any{"business_hours": map[string]any{
		"timezone": "Europe/Paris", "weekly": map[string]any{"mon": []map[string]string{{"start": "09:00", "end": "17:00"}}}}}}, 200, nil)
	id := h.configCreateScript("Tri", "add_tag(\"a\")\nlog(\"b\")\n")
	h.mustDo("PUT", "/api/v1/scripts/"+id, h.admin, map[string]string{"source": "add_tag(\"c\")\n"}, 200, nil)
	var rule struct{ ID string }
	h.mustDo("POST", "/api/v1/automation/rules", h.admin, map[string]any{"name": "Relance", "trigger": map[string]string{"type": "status_changed", "to": "resolved"},
		"delay_seconds": 3600, "conditions": [][]map[string]any{{{"field": "case.priority", "op": "gte", "value": 3}}},
		"actions": []map[string]any{{"type": "add_tag", "tags": []string{"x"}}}}, 201, &rule)
	fren := []string{"Accept-Language", "fr-FR,fr;q=0.9"}
	cookieFR := "Cookie"

	type shot struct{ name, body string }
	var shots []shot
	for _, path := range []string{"/ui/admin/points/" + p.ID, "/ui/admin/templates", "/ui/admin/points/" + p.ID + "/templates", "/ui/admin/scripts",
		"/ui/admin/scripts/" + id, "/ui/admin/scripts/" + id + "/versions/1", "/ui/admin/automation", "/ui/admin/automation/new", "/ui/admin/automation/" + rule.ID,
		"/ui/admin/points"} {
		status, body := h.page(path, ses, fren...)
		if status != 200 || !strings.Contains(body, `<html lang="fr">`) {
			t.Fatalf("%s in French: %d", path, status)
		}
		shots = append(shots, shot{path, body})
	}
	post := func(path, body string, hx bool) string {
		hd := []string{cookieFR, ui.SessionCookie + "=" + ses, "Content-Type", "application/x-www-form-urlencoded", "Accept-Language", "fr"}
		if hx {
			hd = append(hd, "HX-Request", "true")
		}
		_, raw, _ := h.do("POST", path, "", body, hd...)
		return string(raw)
	}
	shots = append(shots,
		shot{"point refused", post("/ui/admin/points/"+p.ID, configForm("name", "", "bh_mon", "9h"), false)},
		shot{"register refused", post("/ui/admin/points/"+p.ID+"/register-webhook", "", false)},
		shot{"script refused", post("/ui/admin/scripts", configForm("name", "X", "source", "if True\n"), false)},
		shot{"test run", post("/ui/admin/scripts/"+id+"/test", configForm("source", "add_tag(\"a\")\nlog(\"b\")\n", "test_text", "bonjour"), true)},
		shot{"failed test run", post("/ui/admin/scripts/"+id+"/test", configForm("source", "x = 1 // 0\n"), true)},
		shot{"rule refused", post("/ui/admin/automation", configForm("name", "Y", "trigger", "case_created", "act_type_0", "set_priority", "act_priority_0", "500"), false)},
		shot{"JSON checked", post("/ui/admin/automation/"+rule.ID, configForm("mode", "json", "check", "1", "document", `{"name":"Z","trigger":{"type":"case_created"},"actions":[{"type":"add_tag","tags":["a"]}]}`), false)},
	)
	english := configEnglish(en, fr)
	if len(english) < 400 {
		t.Fatalf("only %d catalog texts to look for", len(english))
	}
	for _, s := range shots {
		for _, f := range english.left(configPageText(t, s.body)) {
			t.Errorf("%s in French still shows English %s", s.name, f)
		}
	}
	// And the pages do show this area's French.
	for _, want := range []string{"Enregistrer les modifications", "Heures d&#39;ouverture", "Lancer l&#39;essai", "Règles d&#39;automatisation", "Modèles de messages"} {
		found := false
		for _, s := range shots {
			found = found || strings.Contains(s.body, want)
		}
		if !found {
			t.Errorf("no page shows %q", want)
		}
	}
}
