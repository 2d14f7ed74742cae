package ui_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestModerationInTheBrowser: on a public comment, an agent without the
// "hide" channel permission has no hide button, and the API answers the
// browser's own request 403 (the platform hears nothing); an agent with it
// hides the comment from the case view, the platform (the fake middleware)
// is asked, and the timeline shows it hidden.
func TestModerationInTheBrowser(t *testing.T) {
	h := start(t)
	mw, p := h.middleware("Facebook page (BYOC)")
	res := h.comment(p, "fb-c-1", "post-launch", "fan-9", "Noah Leroy", "This launch is a scam, do not buy!")
	h.comment(p, "fb-c-2", "post-launch", "fan-9", "Noah Leroy", "Seriously, avoid.")
	h.createUser("plain@example.com", "agent", map[string][]string{p.ID: {"reply", "note"}})
	h.createUser("moderator@example.com", "agent", map[string][]string{p.ID: {"reply", "note", "hide", "like", "delete"}})

	b := newBrowser(t)
	b.login(h.url, "plain@example.com", adminPassword)
	b.do("open the case", chromedp.Navigate(h.url+"/ui/cases/"+res.CaseID), chromedp.WaitVisible(chromedp.CSS(`#timeline`)))
	var buttons int
	b.eval(`document.querySelectorAll('[data-action="hide"], [data-action="delete"], [data-action="like"]').length`, &buttons)
	if buttons != 0 {
		t.Fatalf("an agent without moderation permissions sees %d moderation buttons", buttons)
	}
	b.eval(fmt.Sprintf(`fetch("/api/v1/messages/%s/hide", {method: "POST", credentials: "same-origin"}).then(r => { window.__hideStatus = r.status }), 1`, res.MessageID), new(int))
	b.waitJS("the API's answer", `window.__hideStatus !== undefined`, 5*time.Second)
	var status int
	b.eval(`window.__hideStatus`, &status)
	if status != 403 {
		t.Fatalf("the API answered the agent's hide with %d, want 403", status)
	}
	if n := len(mw.Moderations()); n != 0 {
		t.Fatalf("the platform was asked %d times", n)
	}
	// Chromium logs the refused request itself as a console error: that
	// one was expected; any other stays.
	b.mu.Lock()
	kept := b.problems[:0]
	for _, p := range b.problems {
		if !strings.Contains(p, "403") || !strings.Contains(p, "/api/v1/messages/"+res.MessageID+"/hide") {
			kept = append(kept, p)
		}
	}
	b.problems = kept
	b.mu.Unlock()
	b.do("sign out", chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#login-email`)))

	b.login(h.url, "moderator@example.com", adminPassword)
	b.do("open the case", chromedp.Navigate(h.url+"/ui/cases/"+res.CaseID), chromedp.WaitVisible(chromedp.CSS(`#timeline`)))
	sel := fmt.Sprintf(`[data-message-id="%s"]`, res.MessageID)
	b.do("hide the comment", chromedp.Click(chromedp.CSS(sel+` [data-action="hide"]`)))
	b.waitJS("the comment shown hidden", fmt.Sprintf(`!!document.querySelector('%s [data-moderation="hidden"]') && !!document.querySelector('%s [data-action="unhide"]')`, sel, sel), 5*time.Second)
	b.do("like the other comment", chromedp.Click(chromedp.CSS(`article.msg:not(`+sel+`) [data-action="like"]`)))
	b.waitJS("the like shown", `!!document.querySelector('article.msg [data-moderation="liked"]')`, 5*time.Second)
	got := mw.Moderations()
	if len(got) != 2 || got[0].Action != "hide" || got[0].Message.PlatformID != "fb-c-1" || got[1].Action != "like" || got[1].Message.PlatformID != "fb-c-2" {
		t.Fatalf("the platform was asked: %+v", got)
	}
	b.screenshot("case-social.png")
	b.check()
}
