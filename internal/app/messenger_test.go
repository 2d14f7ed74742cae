package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	mfake "github.com/parleyhq/parley/internal/channel/messenger/fake"
)

type metaPoint struct {
	ID, VerifyToken, WebhookURL string
}

func (h *harness) createMessenger(graphURL, pageID, appSecret string) metaPoint {
	h.t.Helper()
	var out struct {
		PointOfContact struct {
			ID         string
			WebhookURL string `json:"webhook_url"`
		} `json:"point_of_contact"`
		VerifyToken string `json:"verify_token"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "messenger", "name": "Our page",
		"settings":    map[string]any{"page_id": pageID, "api_base_url": graphURL},
		"credentials": map[string]string{"page_access_token": "page-token", "app_secret": appSecret}}, 201, &out)
	if out.VerifyToken == "" || !strings.HasSuffix(out.PointOfContact.WebhookURL, "/webhooks/"+out.PointOfContact.ID) {
		h.t.Fatalf("creation: %+v", out)
	}
	// Later reads show the webhook URL and verify token, never the secrets.
	_, raw, _ := h.do("GET", "/api/v1/points-of-contact/"+out.PointOfContact.ID, h.admin, nil)
	if !strings.Contains(string(raw), out.VerifyToken) || strings.Contains(string(raw), appSecret) || strings.Contains(string(raw), "page-token") {
		h.t.Fatalf("point of contact view: %s", raw)
	}
	return metaPoint{ID: out.PointOfContact.ID, VerifyToken: out.VerifyToken, WebhookURL: out.PointOfContact.WebhookURL}
}

func postWebhook(t *testing.T, url, appSecret string, payload []byte) int {
	t.Helper()
	resp, err := mfake.SendWebhook(url, appSecret, payload)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMessengerEndToEnd: issue 4's Messenger acceptance through the HTTP
// API and a fake Send API: signed batches, dedupe, handshake, rich replies,
// the 24 h / HUMAN_AGENT / 8-day windows on a fake clock, rate limits and
// permanent errors.
func TestMessengerEndToEnd(t *testing.T) {
	clock := newTestClock()
	graph, err := mfake.Start(mfake.Options{Pages: []string{"PAGE1"}, Token: "page-token", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	h := start(t, func(c *Config) { c.Now = clock.Now })
	const secret = "app-secret-123"
	p := h.createMessenger(graph.URL, "PAGE1", secret)

	// Handshake: only the right verify token gets the challenge.
	status, body, _ := h.do("GET", "/webhooks/"+p.ID+"?hub.mode=subscribe&hub.verify_token="+p.VerifyToken+"&hub.challenge=1158201444", "", nil)
	if status != 200 || string(body) != "1158201444" {
		t.Fatalf("handshake: %d %q", status, body)
	}
	if status, _, _ = h.do("GET", "/webhooks/"+p.ID+"?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", "", nil); status != 403 {
		t.Fatalf("wrong verify token: %d", status)
	}

	// A batch: two entries, three messages from two customers (one for
	// another page, ignored).
	now := clock.Now()
	batch := mfake.Payload("page",
		mfake.Entry{ID: "PAGE1", Time: now, Items: []mfake.Item{mfake.Text("PSID-A", "m_a1", "Hello", now), mfake.Text("PSID-B", "m_b1", "Hi there", now)}},
		mfake.Entry{ID: "PAGE1", Time: now, Items: []mfake.Item{mfake.Text("PSID-A", "m_a2", "Anyone?", now)}},
		mfake.Entry{ID: "OTHERPAGE", Time: now, Items: []mfake.Item{mfake.Text("PSID-C", "m_c1", "not ours", now)}},
	)
	if s := postWebhook(t, p.WebhookURL, "wrong-secret", batch); s != 401 {
		t.Fatalf("bad signature: %d", s)
	}
	if n := countRows(t, h, "messages"); n != 0 {
		t.Fatalf("stored %d messages from a badly signed webhook", n)
	}
	if s := postWebhook(t, p.WebhookURL, secret, batch); s != 200 {
		t.Fatalf("webhook: %d", s)
	}
	if s := postWebhook(t, p.WebhookURL, secret, batch); s != 200 { // Meta retries
		t.Fatalf("retried webhook: %d", s)
	}
	var list struct{ Items []apiCase }
	h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+p.ID, h.admin, nil, 200, &list)
	if len(list.Items) != 2 || countRows(t, h, "messages") != 3 {
		t.Fatalf("after the batch: %d cases, %d messages", len(list.Items), countRows(t, h, "messages"))
	}
	var caseA string
	for _, c := range list.Items {
		if len(h.messages(c.ID)) == 2 {
			caseA = c.ID
		}
	}
	if caseA == "" {
		t.Fatal("customer A's two messages are not in one case")
	}

	// Quick replies go out natively, as RESPONSE.
	h.mustDo("POST", "/api/v1/cases/"+caseA+"/messages", h.admin, map[string]any{"content": map[string]any{"type": "quick_replies", "text": "Pick a colour",
		"options": []map[string]string{{"id": "red", "label": "Red"}, {"id": "blue", "label": "Blue"}}}}, 202, nil)
	eventually(t, "quick replies sent", func() bool { return len(graph.Sent()) == 1 })
	sent := graph.Sent()[0].JSON()
	if sent["messaging_type"] != "RESPONSE" || sent["recipient"].(map[string]any)["id"] != "PSID-A" {
		t.Fatalf("send: %v", sent)
	}
	if qr, _ := sent["message"].(map[string]any)["quick_replies"].([]any); len(qr) != 2 {
		t.Fatalf("quick replies: %v", sent)
	}
	// The customer taps Blue: a structured choice.
	tap := mfake.PagePayload("PAGE1", mfake.QuickReply("PSID-A", "m_a3", "Blue", "blue", clock.Now()))
	if s := postWebhook(t, p.WebhookURL, secret, tap); s != 200 {
		t.Fatalf("tap: %d", s)
	}
	var page struct {
		Items []struct {
			Text   string
			Choice *struct {
				OptionIDs []string `json:"option_ids"`
				Source    string
			}
		}
	}
	h.mustDo("GET", "/api/v1/cases/"+caseA+"/messages", h.admin, nil, 200, &page)
	last := page.Items[len(page.Items)-1]
	if last.Choice == nil || last.Choice.OptionIDs[0] != "blue" || last.Choice.Source != "native" {
		t.Fatalf("tap → %+v", last)
	}

	// Read watermark: the reply shows read.
	if s := postWebhook(t, p.WebhookURL, secret, mfake.PagePayload("PAGE1", mfake.Read("PSID-A", clock.Now().Add(time.Second)))); s != 200 {
		t.Fatalf("read: %d", s)
	}
	eventually(t, "read by watermark", func() bool {
		for _, m := range h.messages(caseA) {
			if m.Direction == "outbound" {
				return m.Status == "read"
			}
		}
		return false
	})

	// 3 days later: the window shows human_agent; an agent's reply goes
	// with the HUMAN_AGENT tag.
	clock.Advance(3 * 24 * time.Hour)
	var c struct {
		ReplyWindow struct{ State, Then string } `json:"reply_window"`
	}
	h.mustDo("GET", "/api/v1/cases/"+caseA, h.admin, nil, 200, &c)
	if c.ReplyWindow.State != "human_agent" || c.ReplyWindow.Then != "closed" {
		t.Fatalf("window at 3 days: %+v", c.ReplyWindow)
	}
	h.mustDo("POST", "/api/v1/cases/"+caseA+"/messages", h.admin, map[string]string{"text": "Sorry for the delay"}, 202, nil)
	eventually(t, "tagged send", func() bool { return len(graph.Sent()) == 2 })
	if tagged := graph.Sent()[1].JSON(); tagged["messaging_type"] != "MESSAGE_TAG" || tagged["tag"] != "HUMAN_AGENT" {
		t.Fatalf("3 days: %v", tagged)
	}
	// 8 days: refused with 409 before anything reaches the platform.
	clock.Advance(5 * 24 * time.Hour)
	status, body, _ = h.do("POST", "/api/v1/cases/"+caseA+"/messages", h.admin, map[string]string{"text": "too late"})
	if status != 409 || !strings.Contains(string(body), "reply_window") {
		t.Fatalf("8 days: %d %s", status, body)
	}
	if len(graph.Sent()) != 2 {
		t.Fatal("a refused message reached the platform")
	}
	// Proactive conversations are refused on Messenger.
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/conversations", h.admin, map[string]any{"to": map[string]string{"id": "PSID-Z"}, "text": "hello"}, 409, nil)

	// Customer B writes again: 429 with Retry-After, then delivered once.
	clock.Advance(time.Minute)
	postWebhook(t, p.WebhookURL, secret, mfake.PagePayload("PAGE1", mfake.Text("PSID-B", "m_b2", "still there?", clock.Now())))
	var caseB string
	for _, cs := range list.Items {
		if cs.ID != caseA {
			caseB = cs.ID
		}
	}
	graph.FailNext(mfake.RateLimited("1"))
	var m struct{ ID string }
	h.mustDo("POST", "/api/v1/cases/"+caseB+"/messages", h.admin, map[string]string{"text": "yes!"}, 202, &m)
	go func() { // the outbox's backoff waits on the clock we control
		for i := 0; i < 100; i++ {
			time.Sleep(50 * time.Millisecond)
			clock.Advance(200 * time.Millisecond)
		}
	}()
	eventually(t, "delivered after the rate limit", func() bool {
		for _, mm := range h.messages(caseB) {
			if mm.ID == m.ID {
				return mm.Status == "sent"
			}
		}
		return false
	})
	n := 0
	for _, r := range graph.Sent() {
		if r.Status == http.StatusOK && strings.Contains(string(r.Body), "yes!") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("delivered %d times", n)
	}
	// A permanent error: failed, with the platform's code and text.
	graph.FailNext(mfake.NoSuchUser())
	h.mustDo("POST", "/api/v1/cases/"+caseB+"/messages", h.admin, map[string]string{"text": "hello?"}, 202, &m)
	var failed apiMessage
	eventually(t, "failed", func() bool {
		for _, mm := range h.messages(caseB) {
			if mm.ID == m.ID {
				failed = mm
			}
		}
		return failed.Status == "failed"
	})
	if !strings.Contains(failed.StatusReason, "100") {
		t.Fatalf("reason: %q", failed.StatusReason)
	}
}
