package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	wfake "github.com/parleyhq/parley/internal/channel/whatsapp/fake"
)

func chromiumPath(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("browser test skipped: Debian's chromium is not installed (.ci/run installs it)")
	return ""
}

// screenshotDir is where screenshots go: $PARLEY_TEST_OUTPUT, or
// os.TempDir()/parley-ui-screenshots; never the repository.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("PARLEY_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "parley-ui-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab that records every JavaScript
// dialog (and dismisses it) and every console error.
type browser struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	dialogs  []string
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-US"), chromedp.WindowSize(1440, 1000), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.problems = append(b.problems, string(m.Type)+": "+m.Text+" @ "+m.URL)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(v, out); err != nil {
		b.t.Fatalf("evaluate %s: %s: %v", expr, v, err)
	}
}

// waitJS waits until a JavaScript expression is truthy; it evaluates
// again through navigations (a form posted, a redirect followed).
func (b *browser) waitJS(what, expr string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && v {
			return
		}
		last = err
		time.Sleep(25 * time.Millisecond)
	}
	var text string
	b.eval(`document.body ? document.body.innerText.slice(0, 1500) : ""`, &text)
	b.t.Fatalf("waiting for %s (%s): %v\npage text: %s", what, expr, last, text)
}

func (b *browser) screenshot(name string) string {
	b.t.Helper()
	// The top bar is sticky: from the top of the page it is drawn where it
	// belongs, not over the content.
	b.eval(`window.scrollTo(0, 0), 1`, new(int))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir(b.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

func (b *browser) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		b.t.Errorf("JavaScript dialogs opened: %q", b.dialogs)
	}
	if len(b.problems) > 0 {
		b.t.Errorf("console errors: %q", b.problems)
	}
}

func (b *browser) login(base, email, password string) {
	b.t.Helper()
	b.do("sign in",
		chromedp.Navigate(base+"/ui/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`#login-email`)),
		chromedp.SendKeys(chromedp.CSS(`#login-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), password),
		chromedp.Click(chromedp.CSS(`#login-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#case-list`)),
	)
	b.waitJS("the event stream", `document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
}

// TestWorkspaceInTheBrowser is the agent workspace's acceptance in a real
// Chromium against the real app over loopback HTTP: sign in, a BYOC message
// appears live, reply, delivery ticks move live, resolve; quick replies on
// WhatsApp with native rendering and live read receipts; XSS vectors stay
// text with no dialog; French everywhere; keyboard shortcuts; screenshots.
func TestWorkspaceInTheBrowser(t *testing.T) {
	h := start(t)
	b := newBrowser(t)
	mw, p := h.middleware("Acme middleware")
	// A skill with a first-response target, the point of contact's default:
	// cases get an SLA timer (the reports show its attainment).
	var skill struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "Deliveries", "sla": map[string]int{"first_response_seconds": 3600, "warning_percent": 80}}, 201, &skill)
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"default_skill_id": skill.ID}, 200, nil)
	h.inbound(p, "seed-1", "seed-1", "s1", "Chloé Martin", "Can I change my delivery address?")
	h.inbound(p, "seed-2", "seed-2", "s2", "David Chen", "My invoice is wrong")

	// 1. Sign in with the session API.
	b.login(h.url, adminEmail, adminPassword)
	var rowsBefore int
	b.eval(`document.querySelectorAll("#case-list .case-row").length`, &rowsBefore)
	if rowsBefore != 2 {
		t.Fatalf("inbox shows %d cases, want 2", rowsBefore)
	}

	// 2. A new message appears in the open inbox within 2 s, without reload.
	b.eval(`window.__noReload = 1`, new(int))
	sent := time.Now()
	res := h.inbound(p, "live-1", "live-1", "c1", "Ana Lima", "Hello, my parcel never arrived")
	b.waitJS("the new case in the inbox", fmt.Sprintf(`!!document.querySelector('#case-list .case-row.unread[data-case-id=%q]')`, res.CaseID), 2*time.Second)
	t.Logf("new case visible in the inbox %v after the message was posted", time.Since(sent).Round(time.Millisecond))
	var kept int
	b.eval(`window.__noReload || 0`, &kept)
	if kept != 1 {
		t.Fatal("the inbox reloaded instead of updating in place")
	}
	var tabCount string
	b.eval(`document.querySelector('[data-status-tab="new"] .count').textContent`, &tabCount)

	// Keyboard: j/k move the selection.
	b.do("keys j j k", chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("k"))
	var selected string
	b.eval(`(document.querySelector("#case-list .case-row.selected")||{}).dataset.caseId || ""`, &selected)
	var first string
	b.eval(`document.querySelector("#case-list .case-row").dataset.caseId`, &first)
	if selected != first {
		t.Errorf("after j j k the first row should be selected: %q vs %q", selected, first)
	}
	b.screenshot("inbox.png")
	assertLabelled(t, b, "inbox")

	// 3. Open it, reply; the delivery ticks move live.
	b.do("open the case",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`.case-row[data-case-id=%q] a`, res.CaseID))),
		chromedp.WaitVisible(chromedp.CSS(`#reply-text`)),
	)
	var hasQuick bool
	b.eval(`!!document.getElementById("quick-replies")`, &hasQuick)
	if hasQuick {
		t.Error("BYOC's agent table has no quick replies, yet the composer offers them")
	}
	var focused string
	b.do("r focuses the reply box", chromedp.KeyEvent("r"))
	b.eval(`document.activeElement.id`, &focused)
	if focused != "reply-text" {
		t.Errorf("after r the focus is on %q", focused)
	}
	b.do("reply",
		chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Sorry about that! Let me check."),
		chromedp.Click(chromedp.CSS(`#send`)),
	)
	b.waitJS("the reply sent", `[...document.querySelectorAll(".msg.out")].some(m => m.textContent.includes("Let me check") && m.dataset.status === "sent")`, 5*time.Second)
	eventually(t, "the middleware got the callback", 5*time.Second, func() bool { return len(mw.Received()) == 1 })
	b.eval(`window.__noReload = 2`, new(int))
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/statuses", p.Token, map[string]string{"message_id": "mw-1", "status": "delivered"}, 200, nil)
	b.waitJS("the delivered ticks", `!!document.querySelector('.msg.out .ticks[data-status="delivered"]')`, 3*time.Second)
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/statuses", p.Token, map[string]string{"message_id": "mw-1", "status": "read"}, 200, nil)
	b.waitJS("the read ticks", `!!document.querySelector('.msg.out .ticks[data-status="read"]')`, 3*time.Second)
	b.eval(`window.__noReload || 0`, &kept)
	if kept != 2 {
		t.Fatal("the case page reloaded instead of updating in place")
	}

	// 4. Resolve (only allowed transitions have buttons).
	var actions []string
	b.eval(`[...document.querySelectorAll("[data-status-action]")].map(b => b.dataset.statusAction)`, &actions)
	sort.Strings(actions)
	if strings.Join(actions, ",") != "escalated,open,resolved,trashed" {
		t.Errorf("status buttons of a pending case: %v", actions)
	}
	b.do("resolve", chromedp.Click(chromedp.CSS(`[data-status-action="resolved"]`)), chromedp.WaitVisible(chromedp.CSS(`.case-head .badge.status-resolved`)))

	// 5. WhatsApp: quick replies render natively; read receipts arrive live.
	fk, err := wfake.Start(wfake.Options{PhoneNumberID: "106540352242922", WABAID: "102290129340398", AccessToken: "wa-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()
	var wa struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "whatsapp", "name": "Support WhatsApp",
		"settings":    map[string]any{"phone_number_id": "106540352242922", "waba_id": "102290129340398", "api_base_url": fk.URL},
		"credentials": map[string]string{"access_token": "wa-token", "app_secret": "wa-secret"}}, 201, &wa)
	customer := wfake.Customer{WaID: "33612345678", Name: "Élodie Bernard"}
	resp, err := wfake.SendWebhook(h.url+"/webhooks/"+wa.PointOfContact.ID, "wa-secret", fk.Business().Webhook(wfake.Text(customer, "wamid.IN1", "Bonjour, I need to rebook", time.Now())))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("whatsapp webhook: %v %v", err, resp)
	}
	resp.Body.Close()
	var list struct{ Items []struct{ ID string } }
	h.mustDo("GET", "/api/v1/cases?channel_type=whatsapp", h.admin, nil, 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("whatsapp cases: %+v", list)
	}
	waCase := list.Items[0].ID
	b.do("open the WhatsApp case",
		chromedp.Navigate(h.url+"/ui/cases/"+waCase),
		chromedp.WaitVisible(chromedp.CSS(`#quick-replies`)),
	)
	b.waitJS("the event stream", `document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
	var window string
	b.eval(`document.getElementById("reply-window").className`, &window)
	if !strings.Contains(window, "window-open") {
		t.Errorf("reply window shown before typing: %q", window)
	}
	b.do("quick replies",
		chromedp.Click(chromedp.CSS(`#quick-replies summary`)),
		chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Which day suits you?"),
		chromedp.SendKeys(chromedp.CSS(`#qr-1`), "Monday"),
		chromedp.SendKeys(chromedp.CSS(`#qr-2`), "Tuesday"),
		chromedp.SendKeys(chromedp.CSS(`#qr-3`), "Later"),
		chromedp.Click(chromedp.CSS(`#send`)),
	)
	b.waitJS("the quick replies sent", `[...document.querySelectorAll(".msg.out")].some(m => m.querySelector('.chip[data-option-id="o2"]') && m.dataset.status === "sent")`, 5*time.Second)
	var native bool
	b.eval(`[...document.querySelectorAll(".msg.out .rung")].some(r => r.textContent.includes("Native"))`, &native)
	if !native {
		t.Error("the quick replies are not shown as the native WhatsApp buttons the customer saw")
	}
	var wamid string
	eventually(t, "the platform id of the reply", 5*time.Second, func() bool {
		var page struct {
			Items []struct {
				Direction         string
				PlatformMessageID *string `json:"platform_message_id"`
			}
		}
		h.mustDo("GET", "/api/v1/cases/"+waCase+"/messages", h.admin, nil, 200, &page)
		for _, m := range page.Items {
			if m.Direction == "outbound" && m.PlatformMessageID != nil {
				wamid = *m.PlatformMessageID
			}
		}
		return wamid != ""
	})
	resp, err = wfake.SendWebhook(h.url+"/webhooks/"+wa.PointOfContact.ID, "wa-secret", fk.Business().Webhook(wfake.Read(wamid, customer.WaID, time.Now())))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status webhook: %v %v", err, resp)
	}
	resp.Body.Close()
	b.waitJS("the read receipt", `!!document.querySelector('.msg.out .ticks[data-status="read"]')`, 3*time.Second)
	// Richer content sent by a flow through the API, for the screenshot.
	for _, c := range []string{
		`{"type":"list_picker","text":"Pick a store","sections":[{"title":"Paris","option_ids":["p1","p2"]}],"options":[{"id":"p1","label":"Rivoli","description":"Open until 20:00"},{"id":"p2","label":"Opéra"}]}`,
		`{"type":"rich_link","text":"Your booking","link":{"url":"https://example.com/booking/42","title":"Booking #42"}}`,
	} {
		h.mustDo("POST", "/api/v1/cases/"+waCase+"/messages", h.admin, map[string]any{"content": json.RawMessage(c)}, 202, nil)
	}
	b.waitJS("the list picker", `!!document.querySelector(".rich-list_picker .rich-section-title")`, 3*time.Second)
	b.do("note", chromedp.Click(chromedp.CSS(`#note-box summary`)), chromedp.SendKeys(chromedp.CSS(`#note-body`), "VIP customer: offer a free rebooking"),
		chromedp.Submit(chromedp.CSS(`#note-body`)), chromedp.WaitVisible(chromedp.CSS(`.note`)))
	b.screenshot("case-rich.png")
	assertLabelled(t, b, "case")

	// 6. XSS vectors from a customer stay text; no dialog opens.
	xss := h.inbound(p, "xss-1", "xss-1", "evil", `<img src=x onerror=alert(1)>`,
		`<script>alert(1)</script> <img src=x onerror=alert(2)> <a href="javascript:alert(3)">click</a> javascript:alert(4)`)
	b.do("open the hostile case", chromedp.Navigate(h.url+"/ui/cases/"+xss.CaseID), chromedp.WaitVisible(chromedp.CSS(`.msg.in`)))
	var shown struct {
		Text    string
		Scripts int
		Imgs    int
		JSLinks int
		Name    string
	}
	b.eval(`({Text: document.querySelector(".msg.in .msg-body").textContent,
		Scripts: [...document.scripts].filter(s => !s.src).length + [...document.scripts].filter(s => s.src && !s.src.includes("/ui/assets/")).length,
		Imgs: document.querySelectorAll("img[onerror], img[src='x']").length,
		JSLinks: [...document.querySelectorAll("a")].filter(a => a.protocol === "javascript:").length,
		Name: document.querySelector("#case-heading").textContent})`, &shown)
	if !strings.Contains(shown.Text, `<script>alert(1)</script>`) || !strings.Contains(shown.Text, `<img src=x onerror=alert(2)>`) || !strings.Contains(shown.Text, `javascript:alert(4)`) {
		t.Errorf("the hostile text is not shown as text: %q", shown.Text)
	}
	if shown.Scripts != 0 || shown.Imgs != 0 || shown.JSLinks != 0 || shown.Name != `<img src=x onerror=alert(1)>` {
		t.Errorf("hostile markup reached the DOM: %+v", shown)
	}
	b.do("inbox with the hostile case", chromedp.Navigate(h.url+"/ui/inbox"), chromedp.WaitVisible(chromedp.CSS(`#case-list`)), chromedp.Sleep(300*time.Millisecond))
	b.check()

	// 7. Admin pages and reports (screenshots), then French.
	b.do("create a point of contact",
		chromedp.Navigate(h.url+"/ui/admin/points"),
		chromedp.WaitVisible(chromedp.CSS(`#new-point`)),
		chromedp.SetValue(chromedp.CSS(`#np-type`), "byoc"),
		chromedp.SendKeys(chromedp.CSS(`#np-name`), "WeChat middleware"),
		chromedp.SendKeys(chromedp.CSS(`#np-settings`), "callback_url=https://middleware.example.com/parley"),
		chromedp.Click(chromedp.CSS(`#new-point button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#created-webhook`)),
	)
	var webhook string
	b.eval(`document.getElementById("created-webhook").value`, &webhook)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/api/v1/byoc/[0-9a-f-]{36}/messages$`).MatchString(webhook) {
		t.Errorf("webhook URL to copy: %q", webhook)
	}
	b.screenshot("admin-points.png")
	assertLabelled(t, b, "points of contact")
	b.do("reports", chromedp.Navigate(h.url+"/ui/reports"), chromedp.WaitVisible(chromedp.CSS(`svg.bars`)))
	var bars int
	b.eval(`document.querySelectorAll("svg.bars rect.bar").length`, &bars)
	if bars < 3 {
		t.Errorf("report bars: %d", bars)
	}
	b.screenshot("reports.png")

	en, fr := catalog(t, "en"), catalog(t, "fr")
	b.do("switch to French",
		chromedp.Navigate(h.url+"/ui/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`#lang-select`)),
		chromedp.SetValue(chromedp.CSS(`#lang-select`), "fr"), // fires change: the form submits itself
	)
	b.waitJS("the French inbox", `document.documentElement.lang === "fr" && !!document.getElementById("case-list")`, 5*time.Second)
	b.waitJS("the event stream", `document.getElementById("live-state").textContent === "En direct"`, 5*time.Second)
	assertNoEnglish(t, b, "inbox", en, fr)
	b.do("French case view", chromedp.Navigate(h.url+"/ui/cases/"+waCase), chromedp.WaitVisible(chromedp.CSS(`#reply-text`)))
	b.waitJS("the event stream", `document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
	assertNoEnglish(t, b, "case", en, fr)
	var title string
	b.eval(`document.querySelector('[data-status-action="resolved"]').textContent`, &title)
	if title != "Résoudre" {
		t.Errorf("resolve button in French: %q", title)
	}
	b.check()
}

func catalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// assertNoEnglish checks that no English catalog text (one that French
// translates differently) remains in the page's own text or in its
// accessible labels, customers' content aside.
func assertNoEnglish(t *testing.T, b *browser, page string, en, fr map[string]string) {
	t.Helper()
	var ui struct {
		Text   string
		Labels []string
	}
	b.eval(`(() => {
		const clone = document.body.cloneNode(true);
		clone.querySelectorAll("[data-customer], [data-name], script, option[value=en], dialog").forEach(e => e.remove());
		const labels = [];
		clone.querySelectorAll("[placeholder],[title],[aria-label],[alt]").forEach(e => {
			for (const a of ["placeholder", "title", "aria-label", "alt"]) if (e.hasAttribute(a)) labels.push(e.getAttribute(a));
		});
		clone.querySelectorAll("time").forEach(e => e.remove());
		return {Text: clone.textContent, Labels: labels};
	})()`, &ui)
	all := ui.Text + "\n" + strings.Join(ui.Labels, "\n")
	french := strings.Join(mapValues(fr), "\n")
	checked := 0
	for k, v := range en {
		if fr[k] == v {
			continue // the same in both languages (names of platforms, units)
		}
		for _, part := range regexp.MustCompile(`%[a-z]|\{n\}`).Split(v, -1) {
			part = strings.TrimSpace(part)
			if len([]rune(part)) < 3 {
				continue
			}
			word := regexp.MustCompile(`(^|[^\p{L}])` + regexp.QuoteMeta(part) + `($|[^\p{L}])`)
			if word.MatchString(french) {
				continue // also a French word ("Note", "Total")
			}
			checked++
			if word.MatchString(all) {
				t.Errorf("%s in French still shows the English %q (%s)", page, part, k)
			}
		}
	}
	if checked < 250 {
		t.Fatalf("only %d catalog strings checked", checked)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestOffersInTheBrowser: an agent who goes available sees routing's offer
// appear live with a countdown, accepts it, and lands on the case, now
// theirs.
func TestOffersInTheBrowser(t *testing.T) {
	h := start(t)
	b := newBrowser(t)
	_, p := h.middleware("Acme middleware")
	var skill, me struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "Returns", "offer_timeout_seconds": 120}, 201, &skill)
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+p.ID, h.admin, map[string]any{"default_skill_id": skill.ID}, 200, nil)
	h.mustDo("GET", "/api/v1/me", h.admin, nil, 200, &me)
	h.mustDo("PUT", "/api/v1/agents/"+me.ID+"/skills", h.admin, map[string]any{"skills": []map[string]any{{"skill_id": skill.ID, "proficiency": 5}}}, 200, nil)

	b.login(h.url, adminEmail, adminPassword)
	b.do("go available", chromedp.SetValue(chromedp.CSS(`#presence-state`), "available"))
	b.waitJS("the new presence", `document.getElementById("presence-state").value === "available" && document.body.getAttribute("data-live-state") === "on"`, 5*time.Second)
	b.eval(`window.__noReload = 1`, new(int))
	res := h.inbound(p, "o-1", "o-1", "c1", "Farah Haddad", "I want to return a jacket")
	b.waitJS("the offer", `!!document.querySelector("#offers .offer")`, 5*time.Second)
	var offer struct {
		Text      string
		Countdown string
		Reloaded  bool
	}
	b.eval(`({Text: document.querySelector("#offers .offer").textContent, Countdown: document.querySelector("#offers .countdown").textContent, Reloaded: window.__noReload !== 1})`, &offer)
	if !strings.Contains(offer.Text, "Farah Haddad") || !regexp.MustCompile(`^Expires in \d+ s$`).MatchString(offer.Countdown) || offer.Reloaded {
		t.Errorf("offer: %+v", offer)
	}
	b.screenshot("inbox-offer.png")
	b.do("accept", chromedp.Click(chromedp.CSS(`#offers .offer button.primary`)))
	b.waitJS("the accepted case", fmt.Sprintf(`location.pathname === "/ui/cases/%s" && !!document.querySelector(".case-aside")`, res.CaseID), 5*time.Second)
	var assignee string
	b.eval(`document.querySelector(".case-aside [data-name]").textContent`, &assignee)
	if assignee != "Administrator" {
		t.Errorf("assignee after accepting: %q", assignee)
	}
	// e in the inbox resolves the selected case.
	b.do("back to the inbox", chromedp.Navigate(h.url+"/ui/inbox"), chromedp.WaitVisible(chromedp.CSS(`#case-list .case-row`)),
		chromedp.KeyEvent("j"), chromedp.KeyEvent("e"))
	b.waitJS("the case resolved", `location.pathname === "/ui/inbox" && !document.querySelector("#case-list .case-row")`, 5*time.Second)
	var status struct{ Status string }
	h.mustDo("GET", "/api/v1/cases/"+res.CaseID, h.admin, nil, 200, &status)
	if status.Status != "resolved" {
		t.Errorf("after e: %q", status.Status)
	}
	b.check()
}

// assertLabelled: every visible form control has a label (a <label>, or
// an aria-label).
func assertLabelled(t *testing.T, b *browser, page string) {
	t.Helper()
	var bare []string
	b.eval(`[...document.querySelectorAll("input, select, textarea")]
		.filter(e => e.type !== "hidden" && !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
		.map(e => e.outerHTML.slice(0, 120))`, &bare)
	if len(bare) > 0 {
		t.Errorf("%s: controls without a label: %q", page, bare)
	}
}
