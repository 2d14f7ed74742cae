package app

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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

// TestChatInTheBrowser is issue 5's chat acceptance in a real browser
// against the real app: the demo site's widget, the API, and back.
func TestChatInTheBrowser(t *testing.T) {
	exe := chromiumPath(t)
	h := start(t, func(c *Config) { c.Demo = true })
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	connected := `#parley-chat[data-state="connected"]`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/demo/site"),
		chromedp.WaitVisible(chromedp.CSS(`#parley-launcher`)),
		chromedp.WaitReady(chromedp.CSS(connected)),
		chromedp.Click(chromedp.CSS(`#parley-launcher`)),
		chromedp.WaitVisible(chromedp.CSS(`#parley-input`)),
		chromedp.SendKeys(chromedp.CSS(`#parley-input`), "Hello, I need help with my order"),
		chromedp.Click(chromedp.CSS(`#parley-send`)),
	); err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []apiCase }
	eventually(t, "the chat becomes a case", func() bool {
		h.mustDo("GET", "/api/v1/cases?channel_type=chat", h.admin, nil, 200, &list)
		return len(list.Items) == 1
	})
	caseID := list.Items[0].ID
	if ms := h.messages(caseID); len(ms) != 1 || ms[0].Text != "Hello, I need help with my order" {
		t.Fatalf("chat message: %+v", ms)
	}
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]any{"content": map[string]any{"type": "quick_replies", "text": "Is it about delivery?",
		"options": []map[string]string{{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No, something else"}}}}, 202, nil)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`.parley-quick-reply[data-option-id="yes"]`)),
		chromedp.Click(chromedp.CSS(`.parley-quick-reply[data-option-id="yes"]`)),
	); err != nil {
		t.Fatal(err)
	}
	var choice *choiceView
	eventually(t, "the click is recorded as a choice", func() bool { choice = lastChoice(t, h, caseID); return choice != nil })
	if len(choice.OptionIDs) != 1 || choice.OptionIDs[0] != "yes" {
		t.Fatalf("choice: %+v", choice)
	}
	// Reload: the same visitor, the history still there.
	if err := chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitReady(chromedp.CSS(connected)),
		chromedp.Click(chromedp.CSS(`#parley-launcher`)),
		chromedp.WaitVisible(chromedp.CSS(`.parley-msg`)),
	); err != nil {
		t.Fatal(err)
	}
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".parley-msg")).map(m => m.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "Hello, I need help with my order") || !strings.Contains(all, "Is it about delivery?") {
		t.Fatalf("history after reload: %q", texts)
	}
}
