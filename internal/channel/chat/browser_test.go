package chat

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
)

// chromium finds Debian's Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("browser test skipped: neither /usr/bin/chromium nor chromium on PATH (install Debian's chromium package)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile.
func newBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}

// TestBrowserWidget drives the real widget in Chromium, embedded by a shop
// page on another origin: a typed message reaches the ingestor, a quick
// reply pushed with Send is clicked and comes back as its choice id, and
// after a reload the history is there.
func TestBrowserWidget(t *testing.T) {
	chromium(t)
	e := newEnv(t, nil)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Shop</title></head><body><h1>Test shop</h1>
<script src="%s/widget.js?v=%s" data-point-of-contact="%s" async></script></body></html>`, e.srv.URL, e.a.Version(), e.poc.ID)
	}))
	defer shop.Close()
	if _, err := e.points.Update(context.Background(), e.ws, "", e.poc.ID, channel.Patch{Settings: map[string]any{
		SettingAllowedOrigins: []any{shop.URL}, SettingGreeting: "Hi! How can we help?"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := newBrowser(t)
	defer cancel()

	connected := `#parley-chat[data-state="connected"]`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(shop.URL),
		chromedp.WaitVisible(chromedp.CSS(`#parley-launcher`)),
		chromedp.WaitReady(chromedp.CSS(connected)),
		chromedp.Click(chromedp.CSS(`#parley-launcher`)),
		chromedp.WaitVisible(chromedp.CSS(`#parley-input`)),
		chromedp.SendKeys(chromedp.CSS(`#parley-input`), "Hello from the browser <img src=x onerror=window.pwned=1>"),
		chromedp.Click(chromedp.CSS(`#parley-send`)),
	); err != nil {
		t.Fatal(err)
	}
	ev := e.inbox.waitAny(t, func(ev channel.InboundEvent) bool { return ev.Kind == channel.EventMessage })
	if ev.Text != "Hello from the browser <img src=x onerror=window.pwned=1>" || !strings.HasPrefix(ev.ThreadID, "v_") {
		t.Fatalf("typed message: %+v", ev)
	}
	visitor := ev.ThreadID
	// Acknowledged: the tick appears.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.parley-msg-mine[data-status="received"]`))); err != nil {
		t.Fatal(err)
	}

	// The agent answers with quick replies; the visitor clicks one.
	msg := render(t, "out-1", quickReplies)
	msg.ThreadExternalID = visitor
	e.inbox.addOutbound(visitor, msg)
	if _, err := e.a.Send(context.Background(), e.poc, msg); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`.parley-quick-reply[data-option-id="no"]`)),
		chromedp.Click(chromedp.CSS(`.parley-quick-reply[data-option-id="no"]`)),
	); err != nil {
		t.Fatal(err)
	}
	ev = e.inbox.waitAny(t, func(ev channel.InboundEvent) bool { return ev.Kind == channel.EventMessage && ev.ChoiceID != "" })
	if ev.ChoiceID != "no" || ev.Text != "No" || ev.ReplyToPlatformID != "out-1" || ev.ThreadID != visitor {
		t.Fatalf("choice: %+v", ev)
	}
	// The agent's message was seen: a read receipt.
	ev = e.inbox.waitAny(t, func(ev channel.InboundEvent) bool { return ev.Kind == channel.EventStatus })
	if ev.StatusMessageID != "out-1" || ev.Status != "read" {
		t.Fatalf("read receipt: %+v", ev)
	}
	// Sanitised HTML from the server is rendered; nothing from the visitor ran.
	html := render(t, "out-2", content.Content{Type: content.TypeHTML, Text: `<p>Your order <b>shipped</b><script>window.pwned=2</script></p>`})
	html.ThreadExternalID = visitor
	e.inbox.addOutbound(visitor, html)
	if _, err := e.a.Send(context.Background(), e.poc, html); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.parley-html b`))); err != nil {
		t.Fatal(err)
	}
	bold, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.parley-html b`)))
	if err != nil {
		t.Fatal(err)
	}
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned !== undefined || document.querySelector(".parley-msg-mine img") !== null`))
	if err != nil {
		t.Fatal(err)
	}
	if pwned || bold != "shipped" {
		t.Fatalf("html: pwned=%v bold=%q", pwned, bold)
	}

	// Reload: same visitor (token in localStorage), history shown again.
	if err := chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitReady(chromedp.CSS(connected)),
		chromedp.Click(chromedp.CSS(`#parley-launcher`)),
		chromedp.WaitVisible(chromedp.CSS(`.parley-quick-reply[data-option-id="yes"]`)),
	); err != nil {
		t.Fatal(err)
	}
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".parley-msg")).map(m => m.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	reloadedVisitor, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.ParleyChat.visitorID()`))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(texts, "\n")
	if reloadedVisitor != visitor || !strings.Contains(all, "Hello from the browser <img") || !strings.Contains(all, "Was this helpful?") ||
		!strings.Contains(all, "No") || !strings.Contains(all, "Your order shipped") || len(texts) != 4 {
		t.Fatalf("history after reload (%s): %q", reloadedVisitor, texts)
	}
}
