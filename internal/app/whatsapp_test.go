package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	wfake "github.com/parleyhq/parley/internal/channel/whatsapp/fake"
)

func (h *harness) createWhatsApp(fk *wfake.Server, token, appSecret string) metaPoint {
	h.t.Helper()
	o := fk.Options()
	var out struct {
		PointOfContact struct {
			ID         string
			WebhookURL string `json:"webhook_url"`
		} `json:"point_of_contact"`
		VerifyToken string `json:"verify_token"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "whatsapp", "name": "Support line",
		"settings":    map[string]any{"phone_number_id": o.PhoneNumberID, "waba_id": o.WABAID, "api_base_url": fk.URL},
		"credentials": map[string]string{"access_token": token, "app_secret": appSecret}}, 201, &out)
	return metaPoint{ID: out.PointOfContact.ID, VerifyToken: out.VerifyToken, WebhookURL: out.PointOfContact.WebhookURL}
}

// TestWhatsAppEndToEnd: issue 4's WhatsApp acceptance through the HTTP API
// and the fake Cloud API.
func TestWhatsAppEndToEnd(t *testing.T) {
	clock := newTestClock()
	fk, err := wfake.Start(wfake.Options{PhoneNumberID: "106540352242922", WABAID: "102290129340398", AccessToken: "wa-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()
	fk.AddTemplate(wfake.Template{ID: "t1", Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
		Components: []byte(`[{"type":"BODY","text":"Hello {{1}}, your order {{2}} has shipped."}]`)})
	fk.AddTemplate(wfake.Template{ID: "t2", Name: "promo", Language: "en_US", Category: "MARKETING", Status: "PENDING",
		Components: []byte(`[{"type":"BODY","text":"Sale!"}]`)})
	h := start(t, func(c *Config) { c.Now = clock.Now })
	const secret = "wa-app-secret"
	p := h.createWhatsApp(fk, "wa-token", secret)

	status, body, _ := h.do("GET", "/webhooks/"+p.ID+"?hub.mode=subscribe&hub.verify_token="+p.VerifyToken+"&hub.challenge=42", "", nil)
	if status != 200 || string(body) != "42" {
		t.Fatalf("handshake: %d %q", status, body)
	}

	// A batch: two entries, one with two changes; a photo to download; a
	// change for another number, ignored.
	biz := fk.Business()
	ana := wfake.Customer{WaID: "16505551234", Name: "Ana"}
	ben := wfake.Customer{WaID: "16505559876", Name: "Ben"}
	fk.AddMedia("MEDIA1", "image/jpeg", []byte("\xff\xd8\xff\xe0fake-jpeg-bytes"))
	now := clock.Now()
	other := biz
	other.PhoneNumberID = "999"
	batch := wfake.Payload(
		biz.Entry(biz.Change(wfake.Text(ana, "wamid.A1", "Hi, where is my order?", now)), biz.Change(wfake.Image(ana, "wamid.A2", "MEDIA1", "image/jpeg", "this box", now))),
		biz.Entry(biz.Change(wfake.Text(ben, "wamid.B1", "Hello", now)), other.Change(wfake.Text(ben, "wamid.X1", "not ours", now))),
	)
	if s := postWebhook(t, p.WebhookURL, "wrong", batch); s != 401 {
		t.Fatalf("bad signature: %d", s)
	}
	if countRows(t, h, "messages") != 0 {
		t.Fatal("stored from a badly signed webhook")
	}
	for i := 0; i < 2; i++ { // Meta retries deliveries
		if s := postWebhook(t, p.WebhookURL, secret, batch); s != 200 {
			t.Fatalf("webhook: %d", s)
		}
	}
	if n := countRows(t, h, "messages"); n != 3 {
		t.Fatalf("%d messages stored, want 3", n)
	}
	var list struct{ Items []apiCase }
	h.mustDo("GET", "/api/v1/cases?channel_type=whatsapp", h.admin, nil, 200, &list)
	var caseAna string
	for _, c := range list.Items {
		if ms := h.messages(c.ID); len(ms) == 2 {
			caseAna = c.ID
			if len(ms[1].Attachments) != 1 || ms[1].Attachments[0].MimeType != "image/jpeg" || ms[1].Text != "this box" {
				t.Fatalf("photo: %+v", ms[1])
			}
		}
	}
	if caseAna == "" || len(list.Items) != 2 {
		t.Fatalf("cases: %+v", list.Items)
	}

	// 3 reply buttons and a 10-row list reach the fake as interactive
	// messages.
	h.mustDo("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]any{"content": map[string]any{"type": "quick_replies", "text": "Is it about delivery?",
		"options": []map[string]string{{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}, {"id": "other", "label": "Something else"}}}}, 202, nil)
	var opts []map[string]string
	for i := 1; i <= 10; i++ {
		opts = append(opts, map[string]string{"id": fmt.Sprintf("o%d", i), "label": fmt.Sprintf("Option %d", i)})
	}
	h.mustDo("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]any{"content": map[string]any{"type": "list_picker", "text": "Pick one", "options": opts}}, 202, nil)
	eventually(t, "two interactive sends", func() bool { return len(fk.Messages()) == 2 })
	for i, want := range []string{`"type":"button"`, `"type":"list"`} {
		if js := string(fk.Messages()[i].JSON); !strings.Contains(js, `"type":"interactive"`) || !strings.Contains(js, want) || !strings.Contains(js, `"to":"16505551234"`) {
			t.Fatalf("send %d: %s", i, js)
		}
	}
	// A tapped list row and a typed "2" on the same prompt: the same choice.
	tap := biz.Webhook(wfake.ListReply(ana, "wamid.A3", fk.Messages()[1].MessageID, "o2", "Option 2", "", clock.Now()))
	postWebhook(t, p.WebhookURL, secret, tap)
	tapped := lastChoice(t, h, caseAna)
	h.mustDo("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]any{"content": map[string]any{"type": "list_picker", "text": "Pick one", "options": opts}}, 202, nil)
	postWebhook(t, p.WebhookURL, secret, biz.Webhook(wfake.Text(ana, "wamid.A4", "2", clock.Now())))
	typed := lastChoice(t, h, caseAna)
	if tapped == nil || typed == nil || tapped.OptionIDs[0] != "o2" || typed.OptionIDs[0] != "o2" || tapped.Source != "native" || typed.Source != "number" {
		t.Fatalf("tapped %+v, typed %+v", tapped, typed)
	}

	// Windows on the fake clock: 23 h 59 min free text goes; 24 h 01 min
	// refused with 409, and a template goes through.
	eventually(t, "third send", func() bool { return len(fk.Messages()) == 3 })
	clock.Advance(23*time.Hour + 59*time.Minute)
	h.mustDo("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]string{"text": "Still there?"}, 202, nil)
	eventually(t, "free text at 23:59", func() bool { return len(fk.Messages()) == 4 })
	clock.Advance(2 * time.Minute)
	var c struct {
		ReplyWindow struct{ State string } `json:"reply_window"`
	}
	h.mustDo("GET", "/api/v1/cases/"+caseAna, h.admin, nil, 200, &c)
	if c.ReplyWindow.State != "templates_only" {
		t.Fatalf("window at 24:01: %+v", c.ReplyWindow)
	}
	status, body, _ = h.do("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]string{"text": "Hello?"})
	if status != 409 {
		t.Fatalf("free text at 24:01: %d %s", status, body)
	}
	var synced struct {
		Items []struct{ Name, Status string }
	}
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/templates/sync", h.admin, nil, 200, &synced)
	if len(synced.Items) != 2 {
		t.Fatalf("templates: %+v", synced.Items)
	}
	h.mustDo("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]any{"template": map[string]any{"name": "promo", "language": "en_US", "parameters": []string{}}}, 400, nil)
	h.mustDo("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]any{"template": map[string]any{"name": "order_update", "language": "en_US", "parameters": []string{"Ana"}}}, 400, nil)
	var tm struct{ Text string }
	h.mustDo("POST", "/api/v1/cases/"+caseAna+"/messages", h.admin, map[string]any{"template": map[string]any{"name": "order_update", "language": "en_US", "parameters": []string{"Ana", "A-1001"}}}, 202, &tm)
	if tm.Text != "Hello Ana, your order A-1001 has shipped." {
		t.Fatalf("template transcript: %q", tm.Text)
	}
	eventually(t, "template sent", func() bool { return len(fk.Messages()) == 5 })
	if js := string(fk.Messages()[4].JSON); !strings.Contains(js, `"type":"template"`) || !strings.Contains(js, `"A-1001"`) {
		t.Fatalf("template send: %s", js)
	}
	// Proactive: WhatsApp allows it with an approved template only.
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/conversations", h.admin, map[string]any{"to": map[string]string{"id": "16505550000"}, "text": "hi"}, 409, nil)
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/conversations", h.admin, map[string]any{"to": map[string]string{"id": "16505550000"},
		"template": map[string]any{"name": "order_update", "language": "en_US", "parameters": []string{"Zoe", "A-7"}}}, 202, nil)
	eventually(t, "proactive template sent", func() bool { return len(fk.Messages()) == 6 })

	// Failures: 429 with Retry-After then 200 → sent once; 131047 → failed
	// with the platform's code and text.
	postWebhook(t, p.WebhookURL, secret, biz.Webhook(wfake.Text(ben, "wamid.B2", "are you there?", clock.Now())))
	var caseBen string
	for _, cs := range list.Items {
		if cs.ID != caseAna {
			caseBen = cs.ID
		}
	}
	fk.FailNext(wfake.RateLimited("1"))
	var m struct{ ID string }
	h.mustDo("POST", "/api/v1/cases/"+caseBen+"/messages", h.admin, map[string]string{"text": "Yes, here"}, 202, &m)
	stopTicking := tick(clock)
	eventually(t, "sent after the rate limit", func() bool { return messageStatus(h, caseBen, m.ID) == "sent" })
	stopTicking()
	n := 0
	for _, r := range fk.Messages() {
		if strings.Contains(string(r.JSON), "Yes, here") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("delivered %d times", n)
	}
	fk.FailNext(wfake.ReEngagement())
	h.mustDo("POST", "/api/v1/cases/"+caseBen+"/messages", h.admin, map[string]string{"text": "one more"}, 202, &m)
	eventually(t, "failed", func() bool { return messageStatus(h, caseBen, m.ID) == "failed" })
	for _, mm := range h.messages(caseBen) {
		if mm.ID == m.ID && !strings.Contains(mm.StatusReason, "131047") {
			t.Fatalf("reason: %q", mm.StatusReason)
		}
	}
	// Receipts: delivered then read.
	postWebhook(t, p.WebhookURL, secret, biz.Webhook(wfake.Read(fk.Messages()[0].MessageID, ana.WaID, clock.Now())))
	eventually(t, "read receipt", func() bool {
		for _, mm := range h.messages(caseAna) {
			if mm.PlatformMessageID != nil && *mm.PlatformMessageID == fk.Messages()[0].MessageID {
				return mm.Status == "read"
			}
		}
		return false
	})
}

type choiceView struct {
	OptionIDs []string `json:"option_ids"`
	Source    string
}

func lastChoice(t *testing.T, h *harness, caseID string) *choiceView {
	t.Helper()
	var page struct {
		Items []struct {
			Direction string
			Choice    *choiceView
		}
	}
	h.mustDo("GET", "/api/v1/cases/"+caseID+"/messages", h.admin, nil, 200, &page)
	for i := len(page.Items) - 1; i >= 0; i-- {
		if page.Items[i].Direction == "inbound" {
			return page.Items[i].Choice
		}
	}
	return nil
}

func messageStatus(h *harness, caseID, id string) string {
	for _, m := range h.messages(caseID) {
		if m.ID == id {
			return m.Status
		}
	}
	return ""
}

// tick moves the test clock forward in the background so retry backoffs
// (scheduled on that clock) come due.
func tick(clock *testClock) func() {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				clock.Advance(250 * time.Millisecond)
			}
		}
	}()
	return func() { close(done) }
}
