package app

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestSandboxSecondWave plays the sandbox story on the second wave of
// channels, on one Parley: the customer writes through the fake platform, a
// case appears with the message, the agent answers with quick replies, the
// customer's phone shows them (as the platform's native buttons where the
// adapter renders them), and a tap comes back as a structured choice.
func TestSandboxSecondWave(t *testing.T) {
	h := start(t, func(c *Config) { c.Demo = true })
	for _, tc := range []struct {
		channel, customer string
		// native is what the sent message carries when the adapter renders
		// quick replies natively; on X, which has no buttons, the label in
		// the numbered text.
		native string
	}{
		{"telegram", "alice", `"inline_keyboard"`},             // a name: mapped to a numeric user id
		{"viber", "01234567890A=", `"keyboard"`},               // Viber's own id shape
		{"slack", "alice", `"actions"`},                        // mapped to a U… user, in their DM
		{"teams", "29:1a2b3c-alice", `"suggestedActions"`},     // suggested actions
		{"x_dm", "alice", "A refund"},                          // no buttons: numbered text
		{"google_business_messages", "alice", `"suggestions"`}, // suggested replies
		{"line", "alice", `"quickReply"`},
		{"apple_messages", "alice", `"interactiveData"`},
	} {
		t.Run(tc.channel, func(t *testing.T) { secondWaveFlow(t, h, tc.channel, tc.customer, tc.native) })
	}
}

func secondWaveFlow(t *testing.T, h *harness, channelType, customer, native string) {
	var sent struct {
		WebhookStatus    int    `json:"webhook_status"`
		WebhookResponse  string `json:"webhook_response"`
		PointOfContactID string `json:"point_of_contact_id"`
	}
	h.mustDo("POST", "/sandbox/"+channelType+"/customer", "", map[string]string{"from": customer, "name": "Alice Martin", "text": "Hi, I need help"}, 200, &sent)
	if sent.WebhookStatus/100 != 2 {
		t.Fatalf("webhook answered %d: %s", sent.WebhookStatus, sent.WebhookResponse)
	}
	type message struct {
		Direction, Text string
		Choice          *struct {
			OptionIDs []string `json:"option_ids"`
		}
	}
	messages := func(caseID string) []message {
		var page struct{ Items []message }
		h.mustDo("GET", "/api/v1/cases/"+caseID+"/messages", h.admin, nil, 200, &page)
		return page.Items
	}
	var caseID string
	eventually(t, channelType+": a case with the customer's message", func() bool {
		var list struct{ Items []apiCase }
		h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+sent.PointOfContactID, h.admin, nil, 200, &list)
		if len(list.Items) != 1 {
			return false
		}
		caseID = list.Items[0].ID
		for _, m := range messages(caseID) {
			if m.Direction == "inbound" && m.Text == "Hi, I need help" {
				return true
			}
		}
		return false
	})

	replies := map[string]any{"type": "quick_replies", "text": "What is it about?", "options": []map[string]string{
		{"id": "order", "label": "My order"}, {"id": "refund", "label": "A refund"}, {"id": "other", "label": "Something else"}}}
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]any{"content": replies}, 202, nil)
	var received []json.RawMessage
	eventually(t, channelType+": the customer's phone shows the quick replies", func() bool {
		var phone struct{ Received []json.RawMessage }
		h.mustDo("GET", "/sandbox/"+channelType+"/phone?to="+url.QueryEscape(customer), "", nil, 200, &phone)
		received = phone.Received
		return len(received) > 0
	})
	all := ""
	for _, r := range received {
		all += string(r) + "\n"
	}
	if !strings.Contains(all, native) || !strings.Contains(all, "What is it about?") {
		t.Fatalf("the phone shows no %s prompt:\n%s", native, all)
	}

	h.mustDo("POST", "/sandbox/"+channelType+"/customer", "", map[string]string{"from": customer, "text": "A refund", "choice_id": "refund"}, 200, &sent)
	if sent.WebhookStatus/100 != 2 {
		t.Fatalf("tap: webhook answered %d: %s", sent.WebhookStatus, sent.WebhookResponse)
	}
	var last message
	eventually(t, channelType+": the tap is stored as a choice", func() bool {
		for _, m := range messages(caseID) {
			if m.Direction == "inbound" {
				last = m
			}
		}
		return last.Choice != nil
	})
	if len(last.Choice.OptionIDs) != 1 || last.Choice.OptionIDs[0] != "refund" {
		t.Fatalf("the tap gave %+v", last.Choice)
	}
}
