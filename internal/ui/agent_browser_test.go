package ui_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestAgentInTheBrowser is the agent additions' acceptance in a real
// Chromium: save the inbox's filters as a view and reopen it in one click;
// insert an emoji with the keyboard only and send it; on WhatsApp 25 hours
// after the customer's last message, free text is refused and an approved
// template, filled field by field with a live preview, goes out; the
// settings page. No dialog, no console error; every control labelled.
func TestAgentInTheBrowser(t *testing.T) {
	clock := newAgentClock()
	h := startAgent(t, clock)
	b := newBrowser(t)
	mw, p := h.middleware("Acme middleware")
	parcel := h.inbound(p, "m1", "t1", "u1", "Ana Lima", "Where is my parcel?")
	h.inbound(p, "m2", "t2", "u2", "Ben Okafor", "Refund please")
	h.inbound(p, "m3", "t3", "u3", "Chloé Martin", "My parcel arrived damaged")

	// 1. Save the inbox's filters as a view, then reopen it in one click.
	b.login(h.url, adminEmail, adminPassword)
	b.waitJS("the saved views", `!!document.querySelector("#saved-views[data-live]")`, 5*time.Second)
	b.do("filter the inbox",
		chromedp.SendKeys(chromedp.CSS(`#f-q`), "parcel"),
		chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)),
	)
	b.waitJS("the filtered inbox", `new URLSearchParams(location.search).get("q") === "parcel" && document.querySelectorAll("#case-list .case-row").length === 2`, 5*time.Second)
	b.do("save the view",
		chromedp.Click(chromedp.CSS(`#save-view summary`)),
		chromedp.SendKeys(chromedp.CSS(`#view-name`), "lost parcels"),
		chromedp.Click(chromedp.CSS(`#view-shared`)),
		chromedp.Click(chromedp.CSS(`#save-view-submit`)),
	)
	b.waitJS("the saved view, current", `!!document.querySelector('#saved-views .view-item.current .view-link[aria-current="true"]') &&
		document.querySelector('#saved-views .view-item.current .view-name').textContent === "lost parcels"`, 5*time.Second)
	var shared bool
	b.eval(`!!document.querySelector('#saved-views .view-item.current .view-shared')`, &shared)
	if !shared {
		t.Error("the shared view has no shared badge")
	}
	b.screenshot("agent-saved-views.png")
	assertLabelled(t, b, "inbox with saved views")
	b.do("back to the whole inbox", chromedp.Navigate(h.url+"/ui/inbox"), chromedp.WaitVisible(chromedp.CSS(`#case-list`)))
	b.waitJS("the view listed, not current", `!!document.querySelector('#saved-views .view-link') && !document.querySelector('#saved-views .view-item.current')`, 5*time.Second)
	b.do("reopen the view", chromedp.Click(chromedp.CSS(`#saved-views .view-link`)))
	b.waitJS("the view's filters", `new URLSearchParams(location.search).get("q") === "parcel" && document.getElementById("f-q").value === "parcel" &&
		document.querySelectorAll("#case-list .case-row").length === 2 && !!document.querySelector('#saved-views .view-item.current')`, 5*time.Second)

	// 2. An emoji with the keyboard only, then send.
	b.do("open a case", chromedp.Navigate(h.url+"/ui/cases/"+parcel.CaseID), chromedp.WaitVisible(chromedp.CSS(`#reply-text`)))
	b.waitJS("the event stream", `document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
	b.do("type, then open the picker from the keyboard",
		chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Thanks for your patience "),
		chromedp.Focus(chromedp.CSS(`#emoji-toggle`)),
		chromedp.KeyEvent(kb.Enter),
	)
	b.waitJS("the picker open, focus on the first emoji", `!document.getElementById("emoji-panel").hidden &&
		document.getElementById("emoji-toggle").getAttribute("aria-expanded") === "true" && document.activeElement.dataset.emoji === "😀"`, 3*time.Second)
	// Right nine times: the tenth emoji (thumbs up); down, then up, is back there.
	for i := 0; i < 9; i++ {
		b.do("arrow right", chromedp.KeyEvent(kb.ArrowRight))
	}
	b.do("arrow down and up", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowUp))
	var label string
	b.eval(`document.activeElement.getAttribute("aria-label")`, &label)
	if label != "Thumbs up" {
		t.Fatalf("after the arrows the focus is on %q", label)
	}
	b.screenshot("agent-emoji-picker.png")
	b.do("insert it", chromedp.KeyEvent(kb.Enter))
	b.waitJS("the emoji in the reply, focus back in it", `document.getElementById("reply-text").value === "Thanks for your patience 👍" &&
		document.activeElement.id === "reply-text" && document.getElementById("emoji-panel").hidden`, 3*time.Second)
	// Escape closes the picker and gives the focus back to its button.
	b.do("open and escape", chromedp.Focus(chromedp.CSS(`#emoji-toggle`)), chromedp.KeyEvent(kb.Enter))
	b.waitJS("the picker open", `!document.getElementById("emoji-panel").hidden`, 3*time.Second)
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	b.waitJS("the picker closed, focus on its button", `document.getElementById("emoji-panel").hidden && document.activeElement.id === "emoji-toggle"`, 3*time.Second)
	b.do("back to the text, add more", chromedp.Focus(chromedp.CSS(`#reply-text`)), chromedp.KeyEvent(kb.End), chromedp.SendKeys(chromedp.CSS(`#reply-text`), " See you!"))
	b.waitJS("the live preview", `(document.querySelector("#composer-preview .msg-body") || {}).textContent === "Thanks for your patience 👍 See you!"`, 5*time.Second)
	b.do("send with Ctrl+Enter", chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitJS("the reply sent", `[...document.querySelectorAll(".msg.out")].some(m => m.textContent.includes("Thanks for your patience 👍 See you!"))`, 5*time.Second)
	eventually(t, "the middleware got the emoji", 5*time.Second, func() bool {
		r := mw.Received()
		return len(r) == 1 && r[0].Text == "Thanks for your patience 👍 See you!"
	})
	assertLabelled(t, b, "case with the composer's tools")

	// 3. WhatsApp, 25 hours after the customer wrote: a template.
	fk, point := waTemplates(t, h)
	waCase := waInbound(t, h, fk, point, "wamid.IN1", "Has my order shipped?", clock.Now())
	clock.Advance(25 * time.Hour)
	b.do("open the WhatsApp case", chromedp.Navigate(h.url+"/ui/cases/"+waCase), chromedp.WaitVisible(chromedp.CSS(`#reply-text`)))
	var state struct {
		Window  string
		Open    bool
		Preview string
	}
	b.waitJS("the file input", `!!document.getElementById("reply-files")`, 5*time.Second)
	b.eval(`({Window: document.getElementById("reply-window").className, Open: document.getElementById("templates").open})`, &state)
	if !strings.Contains(state.Window, "window-templates_only") || !state.Open {
		t.Fatalf("closed window: %+v", state)
	}
	b.do("free text", chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Hello, are you there?"))
	b.waitJS("the preview warns", `(document.querySelector("#composer-preview .preview-problem") || {}).textContent === "The reply window is closed: free text will be refused, send an approved template."`, 5*time.Second)
	b.do("send free text", chromedp.Click(chromedp.CSS(`#send`)))
	b.waitJS("the refusal", `!!document.querySelector(".alert.error") && document.querySelector(".alert.error").textContent.includes("The reply window does not allow this message")`, 5*time.Second)
	b.do("choose the template", chromedp.SetValue(chromedp.CSS(`#tpl`), "order_update|en_US"))
	b.waitJS("its fields, the text box set aside", `!document.getElementById("tpl-fields-0").hidden && document.getElementById("reply-text").disabled &&
		document.getElementById("reply-files").disabled`, 3*time.Second)
	b.do("fill the parameters",
		chromedp.SendKeys(chromedp.CSS(`#tp-0-0`), "Élodie"),
		chromedp.SendKeys(chromedp.CSS(`#tp-0-1`), "A-1001"),
	)
	b.waitJS("the filled preview", `(document.querySelector("#composer-preview .msg-body") || {}).textContent === "Hello Élodie, your order A-1001 has shipped." &&
		!document.querySelector("#composer-preview .preview-problem")`, 5*time.Second)
	b.screenshot("agent-template.png")
	assertLabelled(t, b, "WhatsApp case with templates")
	b.do("send the template", chromedp.Click(chromedp.CSS(`#send`)))
	b.waitJS("the template sent", `[...document.querySelectorAll(".msg.out")].some(m => m.textContent.includes("Hello Élodie, your order A-1001 has shipped.") &&
		m.textContent.includes("order_update (en_US)") && (m.dataset.status === "sent" || m.dataset.status === "delivered"))`, 5*time.Second)
	if n := len(fk.Messages()); n != 1 || !strings.Contains(string(fk.Messages()[0].JSON), `"type":"template"`) {
		t.Errorf("WhatsApp got %d messages: %v", n, fk.Messages())
	}

	// 4. The settings page.
	b.do("settings", chromedp.Click(chromedp.CSS(`#settings-link`)), chromedp.WaitVisible(chromedp.CSS(`#password-form`)))
	b.do("change the name",
		chromedp.Clear(chromedp.CSS(`#s-name`)),
		chromedp.SendKeys(chromedp.CSS(`#s-name`), "Alex Martin"),
		chromedp.Click(chromedp.CSS(`#profile-save`)),
	)
	b.waitJS("the new name", `document.querySelector(".me-name").textContent === "Alex Martin" && !!document.querySelector(".alert.notice")`, 5*time.Second)
	b.screenshot("agent-settings.png")
	assertLabelled(t, b, "settings")

	// 5. The language preference, then every addition in French.
	b.do("choose French", chromedp.SetValue(chromedp.CSS(`#s-lang`), "fr"), chromedp.Click(chromedp.CSS(`#language-save`)))
	b.waitJS("the French settings", `document.documentElement.lang === "fr" && location.pathname === "/ui/settings" && !!document.getElementById("password-form")`, 5*time.Second)
	en, fr := agentCatalog(t, "en"), agentCatalog(t, "fr")
	assertNoEnglish(t, b, "settings", en, fr)
	b.do("French case", chromedp.Navigate(h.url+"/ui/cases/"+waCase), chromedp.WaitVisible(chromedp.CSS(`#reply-text`)))
	b.waitJS("the French composer", `!!document.getElementById("reply-files") && document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
	b.do("French emoji picker", chromedp.Click(chromedp.CSS(`#emoji-toggle`)))
	b.waitJS("the picker", `!document.getElementById("emoji-panel").hidden`, 3*time.Second)
	assertNoEnglish(t, b, "case", en, fr)
	b.do("French inbox", chromedp.Navigate(h.url+"/ui/inbox"), chromedp.WaitVisible(chromedp.CSS(`#case-list`)))
	b.waitJS("the saved views", `!!document.querySelector("#saved-views[data-live] .view-link")`, 5*time.Second)
	b.do("open the save form", chromedp.Click(chromedp.CSS(`#save-view summary`)))
	assertNoEnglish(t, b, "inbox", en, fr)

	// The refused free text answered 409, as it should: Chromium logs
	// every 4xx navigation as a console error.
	b.forget("409 (Conflict) @ " + h.url + "/ui/cases/" + waCase + "/send")
	b.check()
}

// forget drops the console errors an expected refusal caused.
func (b *browser) forget(substr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.problems[:0]
	for _, p := range b.problems {
		if !strings.Contains(p, substr) {
			kept = append(kept, p)
		}
	}
	b.problems = kept
}

// agentCatalog is the base catalog with this area's.
func agentCatalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	m := catalog(t, lang)
	raw, err := os.ReadFile(filepath.Join("i18n", "agent."+lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var agent map[string]string
	if err := json.Unmarshal(raw, &agent); err != nil {
		t.Fatal(err)
	}
	for k, v := range agent {
		m[k] = v
	}
	return m
}
