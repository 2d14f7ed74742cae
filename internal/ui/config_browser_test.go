package ui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	wfake "github.com/parleyhq/parley/internal/channel/whatsapp/fake"
)

// TestConfigBrowser is the configuration pages' main flow in a real
// Chromium against the real app: an administrator writes a script, test-
// runs it and sees the action it would take (in place, through htmx),
// makes it a point of contact's default script, builds an automation rule
// with the structured form (only the chosen action's parameters showing),
// and reads the pages in French with no English left.
func TestConfigBrowser(t *testing.T) {
	h := startConfig(t)
	b := newBrowser(t)
	p := h.createBYOC("Boutique en ligne", "https://mw.example.com/parley")
	b.login(h.url, adminEmail, adminPassword)

	// 1. Create a script.
	source := "if event == \"message\" and \"facture\" in message.text.lower():\n    set_skill(\"Facturation\")\n    add_tag(\"facture\")\n    log(\"facture détectée\")\n"
	b.do("create a script",
		chromedp.Navigate(h.url+"/ui/admin/scripts"),
		chromedp.WaitVisible(chromedp.CSS(`#new-script`)),
		chromedp.SendKeys(chromedp.CSS(`#ns-name`), "Tri des factures"),
		chromedp.SetValue(chromedp.CSS(`#ns-source`), source),
		chromedp.Click(chromedp.CSS(`#create-script`)),
	)
	b.waitJS("the script editor", `location.pathname.startsWith("/ui/admin/scripts/") && !!document.getElementById("script-source")`, 5*time.Second)
	list := h.configScripts()
	if len(list) != 1 || list[0].Name != "Tri des factures" || list[0].Source != source {
		t.Fatalf("created: %+v", list)
	}
	scriptID := list[0].ID
	var lines int
	b.eval(`document.querySelectorAll(".gutter span").length`, &lines)
	if lines < 5 {
		t.Errorf("line numbers: %d", lines)
	}

	// 2. Test-run it: the result comes in place, with the action.
	b.eval(`window.__noReload = 1`, new(int))
	b.do("run the test",
		chromedp.SendKeys(chromedp.CSS(`#test-text`), "Bonjour, ma FACTURE est fausse"),
		chromedp.SetValue(chromedp.CSS(`#test-channel`), "whatsapp"),
		chromedp.Click(chromedp.CSS(`#run-test`)),
	)
	b.waitJS("the action it would take", `!!document.querySelector('#test-actions li[data-action="set_skill"]')`, 5*time.Second)
	var result struct {
		Actions  []string
		Logs     string
		Reloaded bool
	}
	b.eval(`({Actions: [...document.querySelectorAll("#test-actions li")].map(li => li.textContent.replace(/\s+/g, " ").trim()),
		Logs: (document.querySelector(".test-logs") || {}).textContent || "", Reloaded: window.__noReload !== 1})`, &result)
	if len(result.Actions) != 2 || !strings.Contains(result.Actions[0], "Route to skill") || !strings.Contains(result.Actions[0], "Facturation") ||
		!strings.Contains(result.Actions[1], "facture") || !strings.Contains(result.Logs, "facture détectée") || result.Reloaded {
		t.Errorf("test run: %+v", result)
	}
	// A draft with a mistake: the error names its line; nothing is saved.
	b.do("break the draft",
		chromedp.SetValue(chromedp.CSS(`#script-source`), "add_tag(\"a\")\nx = 1 // 0\n"),
		chromedp.Click(chromedp.CSS(`#run-test`)),
	)
	b.waitJS("the error with its line", `!!document.getElementById("test-error") && document.getElementById("test-error").textContent.includes("at line 2")`, 5*time.Second)
	if got := h.configScripts(); got[0].Version != 1 {
		t.Fatal("a test run saved the script")
	}
	b.do("restore the draft", chromedp.SetValue(chromedp.CSS(`#script-source`), source), chromedp.Click(chromedp.CSS(`#run-test`)))
	b.waitJS("the test passing again", `!!document.querySelector('#test-actions li[data-action="set_skill"]')`, 5*time.Second)
	b.screenshot("config-script.png")
	assertLabelled(t, b, "script editor")

	// 3. Make it the point of contact's default script.
	b.do("edit the point of contact",
		chromedp.Navigate(h.url+"/ui/admin/points"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-edit-point=%q]`, p.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-edit-point=%q]`, p.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#poc-form`)),
		chromedp.SetValue(chromedp.CSS(`#poc-script`), scriptID),
		chromedp.SetValue(chromedp.CSS(`#bh-tz`), "Europe/Paris"),
		chromedp.SetValue(chromedp.CSS(`#bh-mon`), "09:00-18:00"),
		chromedp.Click(chromedp.CSS(`#poc-save`)),
	)
	b.waitJS("the saved point of contact", `!!document.querySelector(".alert.notice") && location.search === "?saved=1"`, 5*time.Second)
	if got := h.configPointOf(p.ID); got.DefaultScript != scriptID || got.Settings["business_hours"] == nil {
		t.Fatalf("default script: %+v", got)
	}
	var webhook string
	b.eval(`document.getElementById("poc-webhook").value`, &webhook)
	if webhook != h.app.URL()+"/api/v1/byoc/"+p.ID+"/messages" {
		t.Errorf("webhook URL to copy: %q", webhook)
	}
	b.screenshot("config-point.png")
	assertLabelled(t, b, "point of contact")

	// 4. A rule with the structured form: only the chosen action's
	// parameters show.
	b.do("new rule",
		chromedp.Navigate(h.url+"/ui/admin/automation/new"),
		chromedp.WaitVisible(chromedp.CSS(`#rule-form`)),
		chromedp.SendKeys(chromedp.CSS(`#rule-name-input`), "Relance après résolution"),
		chromedp.SetValue(chromedp.CSS(`#rule-trigger`), "status_changed"),
		chromedp.SetValue(chromedp.CSS(`#rule-to`), "resolved"),
		chromedp.SetValue(chromedp.CSS(`#cond-field-0`), "case.priority"),
		chromedp.SetValue(chromedp.CSS(`#cond-op-0`), "gte"),
		chromedp.SetValue(chromedp.CSS(`#cond-value-0`), "5"),
		chromedp.SetValue(chromedp.CSS(`#rule-delay`), "3"),
		chromedp.SetValue(chromedp.CSS(`#rule-unit`), "days"),
		chromedp.SetValue(chromedp.CSS(`#act-type-0`), "add_tag"),
	)
	var shown struct{ Tags, Status, Direction, To bool }
	b.eval(`({Tags: !!document.getElementById("act-tags-0").offsetParent, Status: !!document.getElementById("act-status-0").offsetParent,
		Direction: !!document.getElementById("rule-direction").offsetParent, To: !!document.getElementById("rule-to").offsetParent})`, &shown)
	if !shown.Tags || shown.Status || shown.Direction || !shown.To {
		t.Errorf("fields shown for add_tag on status_changed: %+v", shown)
	}
	b.do("save the rule", chromedp.SendKeys(chromedp.CSS(`#act-tags-0`), "relance"), chromedp.Click(chromedp.CSS(`#save-rule`)))
	b.waitJS("the saved rule", `!!document.querySelector(".alert.notice") && !!document.getElementById("rule-name")`, 5*time.Second)
	rs := h.configRules()
	if len(rs) != 1 || rs[0].DelaySeconds != 3*86400 || rs[0].Trigger.To != "resolved" || len(rs[0].Conditions) != 1 || strings.Join(rs[0].Actions[0].Tags, ",") != "relance" {
		t.Fatalf("rule: %+v", rs)
	}
	b.screenshot("config-rule.png")
	assertLabelled(t, b, "rule")
	b.do("rules", chromedp.Navigate(h.url+"/ui/admin/automation"), chromedp.WaitVisible(chromedp.CSS(`#rules`)))
	b.screenshot("config-rules.png")

	// 5. A WhatsApp number's templates, synchronised from the platform.
	fk, err := wfake.Start(wfake.Options{PhoneNumberID: "106540352242922", WABAID: "102290129340398", AccessToken: "wa-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()
	fk.AddTemplate(
		wfake.Template{Name: "commande_expediee", Language: "fr", Category: "UTILITY", Status: "APPROVED", Components: json.RawMessage(`[{"type":"BODY","text":"Bonjour {{1}}, votre commande {{2}} est en route."}]`)},
		wfake.Template{Name: "soldes_hiver", Language: "fr", Category: "MARKETING", Status: "PENDING", Components: json.RawMessage(`[{"type":"BODY","text":"Les soldes commencent demain !"}]`)},
		wfake.Template{Name: "code_connexion", Language: "en_US", Category: "AUTHENTICATION", Status: "REJECTED"},
	)
	var wa struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "whatsapp", "name": "WhatsApp service client",
		"settings":    map[string]any{"phone_number_id": "106540352242922", "waba_id": "102290129340398", "api_base_url": fk.URL},
		"credentials": map[string]string{"access_token": "wa-token", "app_secret": "wa-secret"}}, 201, &wa)
	b.do("templates",
		chromedp.Navigate(h.url+"/ui/admin/templates"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/ui/admin/points/%s/templates"]`, wa.PointOfContact.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#sync-templates`)),
		chromedp.Click(chromedp.CSS(`#sync-templates`)),
	)
	b.waitJS("the synchronised templates", `document.querySelectorAll("#templates tbody tr").length === 3`, 5*time.Second)
	b.screenshot("config-templates.png")
	b.check()

	// 6. French: the language switch, then every page.
	english := configEnglish(configCatalogs(t))
	if len(english) < 400 {
		t.Fatalf("only %d catalog texts to look for", len(english))
	}
	b.do("switch to French", chromedp.SetValue(chromedp.CSS(`#lang-select`), "fr"))
	b.waitJS("the French templates", `document.documentElement.lang === "fr" && !!document.getElementById("templates")`, 5*time.Second)
	for _, path := range []string{"/ui/admin/automation", "/ui/admin/automation/" + rs[0].ID, "/ui/admin/scripts", "/ui/admin/scripts/" + scriptID,
		"/ui/admin/scripts/" + scriptID + "/versions/1", "/ui/admin/points/" + p.ID, "/ui/admin/points/" + wa.PointOfContact.ID, "/ui/admin/templates",
		"/ui/admin/points/" + wa.PointOfContact.ID + "/templates"} {
		b.do("French "+path, chromedp.Navigate(h.url+path), chromedp.WaitVisible(chromedp.CSS(`main`)))
		if path == "/ui/admin/scripts/"+scriptID {
			b.do("French test run", chromedp.SendKeys(chromedp.CSS(`#test-text`), "facture"), chromedp.Click(chromedp.CSS(`#run-test`)))
			b.waitJS("the French result", `!!document.querySelector('#test-actions li[data-action="set_skill"]')`, 5*time.Second)
			b.screenshot("config-script-fr.png")
		}
		configAssertFrench(t, b, path, english)
	}
	b.check()
}

// configAssertFrench checks the page's own text and accessible labels
// hold no English catalog text; what users typed (data-entered), names,
// code and times are left out.
func configAssertFrench(t *testing.T, b *browser, page string, english englishTexts) {
	t.Helper()
	var text string
	b.eval(`(() => {
		const clone = document.body.cloneNode(true);
		clone.querySelectorAll("[data-entered], [data-customer], [data-name], script, option[value=en], dialog, time, textarea, pre").forEach(e => e.remove());
		const labels = [];
		clone.querySelectorAll("[placeholder],[title],[aria-label],[alt]").forEach(e => {
			for (const a of ["placeholder", "title", "aria-label", "alt"]) if (e.hasAttribute(a)) labels.push(e.getAttribute(a));
		});
		return clone.textContent + "\n" + labels.join("\n");
	})()`, &text)
	for _, f := range english.left(text) {
		t.Errorf("%s in French still shows English %s", page, f)
	}
}
