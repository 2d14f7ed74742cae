package app

import (
	"encoding/json"
	"net/url"
	"testing"
)

// sandboxFlow plays issue 4's sandbox story on one channel: write as the
// customer, see the case arrive, answer with a list picker, tap a row, see
// the choice.
func sandboxFlow(t *testing.T, h *harness, channelType, customer string) {
	t.Helper()
	var sent struct {
		WebhookStatus    int    `json:"webhook_status"`
		PointOfContactID string `json:"point_of_contact_id"`
	}
	h.mustDo("POST", "/sandbox/"+channelType+"/customer", "", map[string]string{"from": customer, "name": "Alice", "text": "Hi, I need help"}, 200, &sent)
	if sent.WebhookStatus != 200 {
		t.Fatalf("%s: webhook answered %d", channelType, sent.WebhookStatus)
	}
	var list struct{ Items []apiCase }
	h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+sent.PointOfContactID, h.admin, nil, 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%s: %d cases", channelType, len(list.Items))
	}
	caseID := list.Items[0].ID
	picker := map[string]any{"type": "list_picker", "text": "What is it about?", "options": []map[string]string{
		{"id": "order", "label": "My order"}, {"id": "refund", "label": "A refund"}, {"id": "other", "label": "Something else"}}}
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]any{"content": picker}, 202, nil)
	eventually(t, channelType+": the customer's phone shows the picker", func() bool {
		var phone struct{ Received []json.RawMessage }
		h.mustDo("GET", "/sandbox/"+channelType+"/phone?to="+url.QueryEscape(customer), "", nil, 200, &phone)
		return len(phone.Received) == 1
	})
	h.mustDo("POST", "/sandbox/"+channelType+"/customer", "", map[string]string{"from": customer, "text": "A refund", "choice_id": "refund"}, 200, nil)
	var page struct {
		Items []struct {
			Choice *struct {
				OptionIDs []string `json:"option_ids"`
			}
		}
	}
	h.mustDo("GET", "/api/v1/cases/"+caseID+"/messages", h.admin, nil, 200, &page)
	last := page.Items[len(page.Items)-1]
	if last.Choice == nil || last.Choice.OptionIDs[0] != "refund" {
		t.Fatalf("%s: the tap gave %+v", channelType, last.Choice)
	}
}

func TestSandboxFlows(t *testing.T) {
	h := start(t, func(c *Config) { c.Demo = true })
	for ch, customer := range map[string]string{"whatsapp": "15551230001", "messenger": "alice-psid", "instagram_direct": "alice-igsid",
		"sms": "+33612340000", "email": "alice@example.org"} {
		sandboxFlow(t, h, ch, customer)
	}
}

// TestSandboxSurvivesRestart: a second --demo start on the same data
// rewires the existing demo points of contact to the new fakes.
func TestSandboxSurvivesRestart(t *testing.T) {
	dbURL, dir := storetestURL(t)
	for i := 0; i < 2; i++ {
		h := startOn(t, dbURL, dir, func(c *Config) { c.Demo = true })
		var sent struct {
			WebhookStatus int `json:"webhook_status"`
		}
		h.mustDo("POST", "/sandbox/whatsapp/customer", "", map[string]string{"from": "15551230000", "text": "run " + string(rune('1'+i))}, 200, &sent)
		if sent.WebhookStatus != 200 {
			t.Fatalf("run %d: webhook %d", i, sent.WebhookStatus)
		}
		var list struct{ Items []apiCase }
		h.mustDo("GET", "/api/v1/cases?channel_type=whatsapp&status=new,open", h.admin, nil, 200, &list)
		h.mustDo("POST", "/api/v1/cases/"+list.Items[0].ID+"/messages", h.admin, map[string]string{"text": "hello again"}, 202, nil)
		eventually(t, "the reply reaches the new fake", func() bool {
			var phone struct{ Received []json.RawMessage }
			h.mustDo("GET", "/sandbox/whatsapp/phone?to=15551230000", "", nil, 200, &phone)
			return len(phone.Received) == 1
		})
		h.stop()
	}
}
