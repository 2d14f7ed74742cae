package app

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	linefake "github.com/parleyhq/parley/internal/channel/line/fake"
	tgfake "github.com/parleyhq/parley/internal/channel/telegram/fake"
)

// Channel policies from the registry, enforced before anything is queued:
// no proactive outbound on LINE, Telegram or Apple Messages for Business;
// no attachments from a business on LINE.
func TestSecondWavePolicies(t *testing.T) {
	h := start(t, nil)
	create := func(typ string, settings map[string]any, creds map[string]string) string {
		var out struct {
			PointOfContact struct{ ID string } `json:"point_of_contact"`
		}
		h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": typ, "name": typ, "settings": settings, "credentials": creds}, 201, &out)
		return out.PointOfContact.ID
	}
	lf, err := linefake.Start(linefake.Options{ChannelAccessToken: "line-token", ChannelSecret: "line-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	line := create("line", map[string]any{"api_base_url": lf.URL(), "api_data_base_url": lf.URL()}, map[string]string{"channel_secret": "line-secret", "channel_access_token": "line-token"})
	telegram := create("telegram", map[string]any{"api_base_url": "http://127.0.0.1:9"}, map[string]string{"bot_token": "123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456789"})
	apple := create("apple_messages", map[string]any{"business_id": "biz-1", "api_base_url": "http://127.0.0.1:9"},
		map[string]string{"msp_id": "msp-1", "msp_secret": base64.StdEncoding.EncodeToString([]byte("a-sixteen-byte-secret!"))})
	for _, id := range []string{line, telegram, apple} {
		_, body, _ := h.do("POST", "/api/v1/points-of-contact/"+id+"/conversations", h.admin, map[string]any{"to": map[string]string{"id": "someone"}, "text": "Hello"})
		if !strings.Contains(string(body), `"status":409`) {
			t.Errorf("proactive on %s: %s", id, body)
		}
	}
	// A LINE customer writes; the agent's answer with a file is refused.
	status, answer, err := lf.DeliverSigned(h.url+"/webhooks/"+line, "line-secret", "alice", "Alice", "Hi there", "", time.Now())
	if err != nil || status != 200 {
		t.Fatalf("LINE webhook: %d %s %v", status, answer, err)
	}
	var list struct{ Items []struct{ ID string } }
	eventually(t, "the LINE case", func() bool {
		h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+line, h.admin, nil, 200, &list)
		return len(list.Items) == 1
	})
	_, body, _ := h.do("POST", "/api/v1/cases/"+list.Items[0].ID+"/messages", h.admin, map[string]any{"text": "Here is the invoice",
		"attachments": []map[string]string{{"data": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4")), "mime_type": "application/pdf", "name": "invoice.pdf"}}})
	if !strings.Contains(string(body), `"status":400`) || !strings.Contains(string(body), "does not take attachments") {
		t.Fatalf("attachment to LINE: %s", body)
	}
	// Text alone goes.
	h.mustDo("POST", "/api/v1/cases/"+list.Items[0].ID+"/messages", h.admin, map[string]any{"text": "Here is the link: https://example.com/invoice.pdf"}, 202, nil)
	eventually(t, "the LINE answer delivered", func() bool { return len(lf.Received("alice")) == 1 })
}

// A customer who blocked the Telegram bot: the send fails with Telegram's
// reason, the address is marked unreachable, and the next answer is
// refused before it is queued — until the customer writes again.
func TestTelegramBlockedContactIsUnreachable(t *testing.T) {
	h := start(t, nil)
	tf, err := tgfake.Start(tgfake.Options{LocalWebhooks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	var out struct {
		PointOfContact      struct{ ID string }     `json:"point_of_contact"`
		WebhookRegistration struct{ Status string } `json:"webhook_registration"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "telegram", "name": "Bot", "settings": map[string]any{"api_base_url": tf.URL},
		"credentials": map[string]string{"bot_token": tgfake.DefaultToken, "secret_token": "sandbox-secret-token"}}, 201, &out)
	if out.WebhookRegistration.Status != "registered" {
		t.Fatalf("setWebhook on creation: %+v", out.WebhookRegistration)
	}
	say := func(text string) {
		resp, err := tf.CustomerSays(h.url+"/webhooks/"+out.PointOfContact.ID, "sandbox-secret-token", "4242", "Ana", text, time.Now())
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("telegram webhook: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	say("Hello")
	var list struct{ Items []struct{ ID string } }
	eventually(t, "the Telegram case", func() bool {
		h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+out.PointOfContact.ID, h.admin, nil, 200, &list)
		return len(list.Items) == 1
	})
	caseID := list.Items[0].ID
	tf.Block(4242)
	var m struct{ ID string }
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]any{"text": "Are you there?"}, 202, &m)
	eventually(t, "the send failed", func() bool {
		for _, x := range h.messages(caseID) {
			if x.ID == m.ID && x.Status == "failed" && strings.Contains(x.StatusReason, "blocked") {
				return true
			}
		}
		return false
	})
	_, body, _ := h.do("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]any{"text": "Hello?"})
	if !strings.Contains(string(body), `"status":409`) || !strings.Contains(string(body), "cannot be reached") {
		t.Fatalf("second answer: %s", body)
	}
	time.Sleep(2 * time.Millisecond) // the next message must be later than the mark
	say("Sorry, I unblocked you")
	eventually(t, "answers allowed again", func() bool {
		status, _, _ := h.do("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]any{"text": "Welcome back"})
		return status == 202
	})
}
