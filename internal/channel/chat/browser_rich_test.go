package chat

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
)

// TestBrowserRichContent renders every native chat type in the widget and
// answers a multi-select list picker and a form.
func TestBrowserRichContent(t *testing.T) {
	chromium(t)
	e := newEnv(t, nil)
	ctx, cancel := newBrowser(t)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/demo/site?poc="+e.poc.ID),
		chromedp.WaitReady(chromedp.CSS(`#parley-chat[data-state="connected"]`)),
		chromedp.Click(chromedp.CSS(`#parley-launcher`)),
		chromedp.WaitVisible(chromedp.CSS(`#parley-input`)),
	); err != nil {
		t.Fatal(err)
	}
	visitor, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.ParleyChat.visitorID()`))
	if err != nil || visitor == "" {
		t.Fatal(visitor, err)
	}
	for i, raw := range []string{
		`{"type":"list_picker","text":"Which toppings?","multi_select":true,"options":[{"id":"cheese","label":"Cheese"},{"id":"ham","label":"Ham"},{"id":"olives","label":"Olives","description":"Green"}]}`,
		`{"type":"form","title":"Call-back","text":"We'll call you back.","fields":[{"name":"name","type":"text","label":"Your name","required":true},{"name":"email","type":"email","label":"Your email","required":true}]}`,
		`{"type":"carousel","text":"Bestsellers","items":[{"title":"Hat","subtitle":"25 EUR","media_url":"https://example.com/hat.jpg","actions":[{"id":"buy_hat","label":"Buy"}]},{"title":"Scarf","actions":[{"id":"info","label":"Details","kind":"url","postback":"https://example.com/scarf"}]}]}`,
		`{"type":"rich_link","text":"Catalogue:","link":{"url":"https://example.com/winter","title":"Winter catalogue"}}`,
		`{"type":"adaptive_card","fallback_text":"Order #123","adaptive_card":{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"Order #123","weight":"Bolder"},{"type":"FactSet","facts":[{"title":"Total","value":"54 EUR"}]},{"type":"Input.Text","id":"note","label":"Note"}],"actions":[{"type":"Action.Submit","title":"OK","data":{"choice":"ok"}},{"type":"Action.OpenUrl","title":"Track","url":"https://example.com/t"}]}}`,
		`{"type":"markdown","text":"**Bold** and [a link](https://example.com)"}`,
		`{"type":"time_picker","text":"Which slot?","timezone":"Europe/Paris","slots":[{"id":"s1","start":"2030-11-24T08:00:00Z","duration_sec":1800}]}`,
	} {
		var c content.Content
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			t.Fatal(err)
		}
		msg := render(t, "rich-"+string(rune('a'+i)), c)
		msg.ThreadExternalID = visitor
		e.inbox.addOutbound(visitor, msg)
		if _, err := e.a.Send(context.Background(), e.poc, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-id="rich-g"]`))); err != nil {
		t.Fatal(err)
	}
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`(() => {
		const n = s => document.querySelectorAll(s).length;
		return {rows: n(".parley-list-row"), fields: n(".parley-form .parley-field-input"), cards: n(".parley-carousel .parley-card"),
			links: n(".parley-rich-link"), facts: n(".parley-ac-facts dt"), acText: n(".parley-ac-text.parley-ac-bold"), html: n(".parley-html strong"),
			slotText: document.querySelector('[data-id="rich-g"]').textContent.includes("Reply with a number") ? 1 : 0};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"rows": 3, "fields": 2, "cards": 2, "links": 1, "facts": 1, "acText": 1, "html": 1, "slotText": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: got %d, want %d (%v)", k, counts[k], v, counts)
		}
	}
	// Multi-select: two rows, then Send.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.parley-list-row[data-option-id="cheese"]`)),
		chromedp.Click(chromedp.CSS(`.parley-list-row[data-option-id="olives"]`)),
		chromedp.Click(chromedp.CSS(`.parley-list-send`)),
	); err != nil {
		t.Fatal(err)
	}
	ev := e.inbox.waitAny(t, func(ev channel.InboundEvent) bool { return ev.ChoiceID == "cheese,olives" })
	if ev.Text != "Cheese, Olives" || ev.ReplyToPlatformID != "rich-a" {
		t.Errorf("list: %+v", ev)
	}
	// Form: an invalid email is caught in the browser, then a valid one sent.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`.parley-form input[name="name"]`), "Ana"),
		chromedp.SendKeys(chromedp.CSS(`.parley-form input[name="email"]`), "nope"),
		chromedp.Click(chromedp.CSS(`.parley-form .parley-form-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`.parley-form input[name="email"][aria-invalid="true"]`)),
		chromedp.SendKeys(chromedp.CSS(`.parley-form input[name="email"]`), "@example.com"),
		chromedp.Click(chromedp.CSS(`.parley-form .parley-form-submit`)),
	); err != nil {
		t.Fatal(err)
	}
	ev = e.inbox.waitAny(t, func(ev channel.InboundEvent) bool { return ev.ReplyToPlatformID == "rich-b" })
	if ev.Text != "email: nope@example.com\nname: Ana" || ev.ChoiceID != "" {
		t.Errorf("form: %+v", ev)
	}
	// Adaptive card submit: inputs and data as a form.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`.parley-ac input`), "ring twice"),
		chromedp.Click(chromedp.CSS(`.parley-ac button.parley-card-action`)),
	); err != nil {
		t.Fatal(err)
	}
	ev = e.inbox.waitAny(t, func(ev channel.InboundEvent) bool { return ev.ReplyToPlatformID == "rich-e" })
	if ev.Text != "choice: ok\nnote: ring twice" {
		t.Errorf("adaptive card: %+v", ev)
	}
}
