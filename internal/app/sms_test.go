package app

import (
	"io"
	"net/url"
	"strings"
	"testing"

	sfake "github.com/parleyhq/parley/internal/channel/sms/fake"
)

// TestSMSEndToEnd: issue 5's SMS acceptance through the real app and the
// fake Twilio API.
func TestSMSEndToEnd(t *testing.T) {
	tw, err := sfake.Start(sfake.Options{AccountSID: "AC00000000000000000000000000000001", AuthToken: "twilio-token", Number: "+15550001111"})
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Close()
	h := start(t, nil)
	var created struct {
		PointOfContact struct {
			ID         string
			WebhookURL string `json:"webhook_url"`
		} `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "sms", "name": "Support number",
		"settings":    map[string]any{"account_sid": tw.Options().AccountSID, "from_number": "+15550001111", "api_base_url": tw.URL},
		"credentials": map[string]string{"auth_token": "twilio-token"}}, 201, &created)
	hook := created.PointOfContact.WebhookURL
	post := func(token string, form url.Values) int {
		t.Helper()
		resp, err := sfake.SendWebhook(hook, token, form)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	acct := tw.Options().AccountSID
	if s := post("wrong-token", sfake.InboundSMS(acct, "+33612345678", "+15550001111", "Bonjour")); s != 403 {
		t.Fatalf("wrong signature: %d", s)
	}
	if countRows(t, h, "messages") != 0 {
		t.Fatal("stored from a badly signed request")
	}
	// An MMS stores its media.
	photo := tw.AddMedia("image/jpeg", []byte("\xff\xd8\xff\xe0jpeg"))
	if s := post("twilio-token", sfake.InboundMMS(acct, "+33612345678", "+15550001111", "Here is the box", sfake.MediaRef{URL: photo, ContentType: "image/jpeg"})); s != 200 {
		t.Fatalf("MMS: %d", s)
	}
	var list struct{ Items []apiCase }
	h.mustDo("GET", "/api/v1/cases?channel_type=sms", h.admin, nil, 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("cases: %d", len(list.Items))
	}
	caseID := list.Items[0].ID
	ms := h.messages(caseID)
	if len(ms) != 1 || len(ms[0].Attachments) != 1 || ms[0].Attachments[0].Size != 8 {
		t.Fatalf("MMS media: %+v", ms)
	}
	// Segments shown before sending.
	var pv struct {
		Segments int
		Encoding string
	}
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/preview", h.admin, map[string]string{"text": strings.Repeat("a", 161)}, 200, &pv)
	if pv.Segments != 2 || pv.Encoding != "GSM-7" {
		t.Fatalf("preview: %+v", pv)
	}
	// A reply goes out; the status callback moves it to delivered.
	var m struct{ ID string }
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]string{"text": "Thanks, we are on it."}, 202, &m)
	eventually(t, "sent to Twilio", func() bool { return len(tw.Messages()) == 1 && messageStatus(h, caseID, m.ID) == "sent" })
	sid := tw.Messages()[0].SID
	if s := post("twilio-token", sfake.StatusCallback(acct, sid, "+15550001111", "+33612345678", "delivered", "", "")); s != 200 {
		t.Fatalf("status callback: %d", s)
	}
	if st := messageStatus(h, caseID, m.ID); st != "delivered" {
		t.Fatalf("after the callback: %s", st)
	}
	// STOP, then an agent reply is refused; START lifts it.
	post("twilio-token", sfake.InboundSMS(acct, "+33612345678", "+15550001111", "STOP"))
	status, body, _ := h.do("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]string{"text": "one more thing"})
	if status != 409 || !strings.Contains(string(body), "opted out") {
		t.Fatalf("after STOP: %d %s", status, body)
	}
	post("twilio-token", sfake.InboundSMS(acct, "+33612345678", "+15550001111", "START"))
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]string{"text": "welcome back"}, 202, nil)
	eventually(t, "sent after START", func() bool { return len(tw.Messages()) == 2 })
	// A retried webhook is stored once.
	form := sfake.InboundSMS(acct, "+33612345678", "+15550001111", "again")
	post("twilio-token", form)
	post("twilio-token", form)
	n := 0
	for _, mm := range h.messages(caseID) {
		if mm.Text == "again" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("retried SMS stored %d times", n)
	}
}
