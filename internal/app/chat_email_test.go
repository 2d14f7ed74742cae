package app

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/channel/email/mailtest"
)

// TestChatContinuesByEmail: a visitor who gave an email leaves the chat;
// the agent's answer reaches them by email, and the contact carries the
// pre-chat details.
func TestChatContinuesByEmail(t *testing.T) {
	outbox, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer outbox.Close()
	h := start(t, nil)
	host, port, _ := net.SplitHostPort(outbox.Addr)
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "email", "name": "Support mail", "settings": map[string]any{
		"address": "support@shop.example", "receive": "smtp", "smtp_host": host, "smtp_port": port, "smtp_tls": "none"}}, 201, nil)
	var chatPoc struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "chat", "name": "Website", "settings": map[string]any{
		"allow_any_origin": true, "offline_email_after": "300ms",
		"prechat_form": map[string]any{"enabled": true, "fields": []map[string]any{{"name": "name", "label": "Name", "type": "text"}, {"name": "email", "label": "Email", "type": "email", "required": true}}}}}, 201, &chatPoc)
	poc := chatPoc.PointOfContact.ID

	var sess struct {
		VisitorID string `json:"visitor_id"`
		Token     string
	}
	status, raw, _ := h.do("POST", "/chat/"+poc+"/session", "", map[string]any{"prechat": map[string]string{"name": "Grace", "email": "grace@example.org"}}, "Origin", h.url)
	if status != 200 || json.Unmarshal(raw, &sess) != nil {
		t.Fatalf("session: %d %s", status, raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(h.url, "http", "ws", 1)+"/chat/"+poc+"/ws?token="+sess.Token,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": []string{h.url}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"message","client_id":"client-0001","text":"Do you ship to Canada?"}`)); err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []apiCase }
	eventually(t, "the chat case", func() bool {
		h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+poc, h.admin, nil, 200, &list)
		return len(list.Items) == 1
	})
	var contact struct{ Name, Email string }
	h.mustDo("GET", "/api/v1/contacts/"+list.Items[0].ContactID, h.admin, nil, 200, &contact)
	if contact.Name != "Grace" || contact.Email != "grace@example.org" {
		t.Fatalf("pre-chat details on the contact: %+v", contact)
	}
	conn.Close(websocket.StatusNormalClosure, "leaving") // the visitor leaves
	h.mustDo("POST", "/api/v1/cases/"+list.Items[0].ID+"/messages", h.admin, map[string]string{"text": "Yes, we ship to Canada in 5 days."}, 202, nil)
	got, err := outbox.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("no email: %v", err)
	}
	if got[0].To[0] != "grace@example.org" || !strings.Contains(string(got[0].Data), "we ship to Canada") {
		t.Fatalf("email: to %v\n%s", got[0].To, got[0].Data)
	}
}
