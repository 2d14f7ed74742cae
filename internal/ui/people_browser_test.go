package ui_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// peopleCatalog is a language's whole catalog: the shared file and this
// area's.
func peopleCatalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	m := catalog(t, lang)
	raw, err := os.ReadFile(filepath.Join("i18n", "people."+lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var part map[string]string
	if err := json.Unmarshal(raw, &part); err != nil {
		t.Fatal(err)
	}
	for k, v := range part {
		m[k] = v
	}
	return m
}

// TestPeopleMergeInTheBrowser: an administrator opens a customer card,
// sees a likely duplicate with its reason, merges it after the
// confirmation, and sees the merged contact's identity and case on the
// card; then the card in French.
func TestPeopleMergeInTheBrowser(t *testing.T) {
	h := start(t)
	b := newBrowser(t)
	_, web := h.middleware("Website middleware")
	_, kiosk := h.middleware("Store kiosk")
	a := h.inbound(web, "a1", "web-1", "visitor-81", "Ana Lima", "Where is my parcel?")
	dup := h.inbound(kiosk, "k1", "kiosk-1", "kiosk-ana", "A. Lima", "Can I return these shoes?")
	h.patchContact(a.ContactID, map[string]any{"email": "ana.lima@example.com", "custom_fields": map[string]any{"tier": "gold"}})
	h.patchContact(dup.ContactID, map[string]any{"email": "Ana.Lima@example.com", "phone": "+33 6 12 34 56 78"})

	b.login(h.url, adminEmail, adminPassword)
	b.do("open the card", chromedp.Navigate(h.url+"/ui/contacts/"+a.ContactID), chromedp.WaitVisible(chromedp.CSS(`#duplicates`)))
	var reason string
	b.eval(fmt.Sprintf(`document.querySelector('[data-duplicate-id=%q] [data-reason]').textContent`, dup.ContactID), &reason)
	if reason != "Same email address ana.lima@example.com" {
		t.Errorf("duplicate reason: %q", reason)
	}
	var identities int
	b.eval(`document.querySelectorAll("aside.people-side > section:first-child .people-identities li").length`, &identities)
	if identities != 1 {
		t.Errorf("identities before the merge: %d", identities)
	}
	b.screenshot("contact-duplicates.png")
	assertLabelled(t, b, "customer card")

	b.do("ask to merge", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-merge=%q]`, dup.ContactID))), chromedp.WaitVisible(chromedp.CSS(`#merge-confirm`)))
	var confirm string
	b.eval(`document.getElementById("merge-confirm-panel").textContent`, &confirm)
	for _, want := range []string{"Merge these contacts?", "A. Lima", "identities: 1, cases: 1", "kiosk-ana", "Store kiosk"} {
		if !strings.Contains(confirm, want) {
			t.Errorf("the confirmation lacks %q: %s", want, confirm)
		}
	}
	b.screenshot("contact-merge-confirm.png")
	b.do("confirm", chromedp.Click(chromedp.CSS(`#merge-confirm`)))
	b.waitJS("the merged card", fmt.Sprintf(`location.search === "?merged=%s" && !!document.querySelector('#contact-cases tr[data-case-id=%q]')`, dup.ContactID, dup.CaseID), 5*time.Second)
	var after struct {
		Identities []string
		Cases      int
		Notice     string
		Duplicates int
		Phone      string
	}
	b.eval(`({Identities: [...document.querySelectorAll("aside.people-side > section:first-child .people-address")].map(e => e.textContent),
		Cases: document.querySelectorAll("#contact-cases tbody tr").length,
		Notice: (document.querySelector(".alert.notice") || {}).textContent || "",
		Duplicates: document.querySelectorAll("[data-duplicate-id]").length,
		Phone: document.getElementById("contact-phone").value})`, &after)
	if len(after.Identities) != 2 || after.Identities[0] != "visitor-81" || after.Identities[1] != "kiosk-ana" {
		t.Errorf("identities after the merge: %q", after.Identities)
	}
	if after.Cases != 2 || after.Duplicates != 0 || after.Phone != "+33 6 12 34 56 78" || !strings.Contains(after.Notice, "Contacts merged") {
		t.Errorf("card after the merge: %+v", after)
	}
	b.screenshot("contact-merged.png")
	b.check()

	// The card and its form in French.
	en, fr := peopleCatalog(t, "en"), peopleCatalog(t, "fr")
	b.do("switch to French", chromedp.SetValue(chromedp.CSS(`#lang-select`), "fr"))
	b.waitJS("the French card", `document.documentElement.lang === "fr" && !!document.getElementById("contact-form")`, 5*time.Second)
	assertNoEnglish(t, b, "customer card", en, fr)
	b.check()
}

// TestPeopleSupervisorInTheBrowser: an administrator opens an agent from
// the live supervision board, sets their chat capacity and sees it on the
// board; the board stays live (a new case shows in its queue without a
// reload) and the open panel keeps what it holds.
func TestPeopleSupervisorInTheBrowser(t *testing.T) {
	h := start(t)
	b := newBrowser(t)
	_, p := h.middleware("Acme middleware")
	var skill struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "Billing"}, 201, &skill)
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"default_skill_id": skill.ID}, 200, nil)
	h.createUser("agent@example.com", "agent", nil)
	id := h.userID("agent@example.com")
	h.mustDo("PUT", "/api/v1/agents/"+id+"/skills", h.admin, map[string]any{"skills": []map[string]any{{"skill_id": skill.ID, "proficiency": 7}}}, 200, nil)

	b.login(h.url, adminEmail, adminPassword)
	b.do("supervision", chromedp.Navigate(h.url+"/ui/supervisor"), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	b.waitJS("the event stream", `document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
	b.do("manage the agent", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-manage=%q]`, id))), chromedp.WaitVisible(chromedp.CSS(`#capacity-form`)))
	b.do("set the chat capacity",
		chromedp.SetValue(chromedp.CSS(`#cap-chat`), "7"),
		chromedp.Click(chromedp.CSS(`#capacity-save`)),
	)
	chat := fmt.Sprintf(`document.querySelector('#board tr[data-agent-id=%q] td[data-class="chat"] .meter-text')`, id)
	b.waitJS("the new capacity on the board", `location.search.includes("saved=capacity") && `+chat+`.textContent === "0 / 7"`, 5*time.Second)
	var notice string
	b.eval(`document.querySelector(".alert.notice").textContent`, &notice)
	if notice != "Capacity saved." {
		t.Errorf("notice: %q", notice)
	}
	b.screenshot("supervisor-manage.png")
	if a := h.agent(id); a.Capacity.Chat != 7 {
		t.Errorf("capacity through the API: %+v", a.Capacity)
	}

	// Still live: a new case appears in the Billing queue without a reload,
	// and the panel keeps what the supervisor is typing.
	b.waitJS("the event stream", `document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
	b.do("type without saving", chromedp.SetValue(chromedp.CSS(`#cap-email`), "4"))
	b.eval(`window.__noReload = 1`, new(int))
	res := h.inbound(p, "m1", "t1", "c1", "Ana Lima", "My invoice is wrong")
	b.waitJS("the case waiting in Billing", fmt.Sprintf(`document.querySelector('#board tr[data-skill-id=%q] [data-waiting]').textContent === "1"`, skill.ID), 5*time.Second)
	var kept struct {
		NoReload int
		Email    string
	}
	b.eval(`({NoReload: window.__noReload || 0, Email: document.getElementById("cap-email").value})`, &kept)
	if kept.NoReload != 1 || kept.Email != "4" {
		t.Errorf("after the live refresh: %+v", kept)
	}
	// Open the queue: the case is listed with its move action.
	b.do("open the queue", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#board tr[data-skill-id=%q] th a`, skill.ID))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#sup-cases [data-move=%q]`, res.CaseID))))
	b.do("move it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#sup-cases [data-move=%q]`, res.CaseID))), chromedp.WaitVisible(chromedp.CSS(`#move-form`)))
	b.screenshot("supervisor-move.png")
	assertLabelled(t, b, "supervision")
	b.check()

	// The board and both panels in French.
	b.do("manage in French", chromedp.Navigate(h.url+"/ui/supervisor?agent="+id+"&move="+res.CaseID), chromedp.WaitVisible(chromedp.CSS(`#capacity-form`)),
		chromedp.SetValue(chromedp.CSS(`#lang-select`), "fr"))
	b.waitJS("the French supervision", `document.documentElement.lang === "fr" && !!document.getElementById("capacity-form") && !!document.getElementById("move-form")`, 5*time.Second)
	assertNoEnglish(t, b, "supervision", peopleCatalog(t, "en"), peopleCatalog(t, "fr"))
	b.check()
}
