package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
)

func tenOptionList() map[string]any {
	var opts []map[string]string
	for i := 1; i <= 10; i++ {
		opts = append(opts, map[string]string{"id": fmt.Sprintf("opt%d", i), "label": fmt.Sprintf("Option %d", i)})
	}
	return map[string]any{"type": "list_picker", "text": "Which one?", "options": opts}
}

// TestRichContentAPI covers issue 3's API: capabilities per channel type,
// render previews, validation errors naming the field, and rich content on
// an outbound message stored with its rendered variant.
func TestRichContentAPI(t *testing.T) {
	mw, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	h := start(t, nil)

	var caps struct {
		Send, Agent map[string]string
	}
	h.mustDo("GET", "/api/v1/channel-types/email/capabilities", h.admin, nil, 200, &caps)
	if caps.Send["quick_replies"] != "fallback_text" || caps.Send["html_markdown"] != "native" || caps.Agent["quick_replies"] != "plain_text" || len(caps.Send) != 7 {
		t.Fatalf("email capabilities: %+v", caps)
	}
	h.mustDo("GET", "/api/v1/channel-types/fax/capabilities", h.admin, nil, 404, nil)

	var wa struct {
		Type   string
		Native map[string]any
		Text   string
	}
	h.mustDo("POST", "/api/v1/channel-types/whatsapp/render", h.admin, tenOptionList(), 200, &wa)
	if wa.Native["type"] != "interactive" {
		t.Fatalf("whatsapp render: %+v", wa)
	}
	if inter, _ := wa.Native["interactive"].(map[string]any); inter["type"] != "list" {
		t.Fatalf("whatsapp interactive type: %+v", wa.Native)
	}
	var sms struct {
		Native json.RawMessage
		Text   string
	}
	h.mustDo("POST", "/api/v1/channel-types/sms/render", h.admin, tenOptionList(), 200, &sms)
	if len(sms.Native) != 0 || !strings.Contains(sms.Text, "1) Option 1") || !strings.Contains(sms.Text, "10) Option 10") {
		t.Fatalf("sms render: %+v", sms)
	}
	var email struct{ HTML, Text string }
	h.mustDo("POST", "/api/v1/channel-types/email/render", h.admin, tenOptionList(), 200, &email)
	if !strings.Contains(email.HTML, "<") || email.Text == "" {
		t.Fatalf("email render: %+v", email)
	}
	status, body, _ := h.do("POST", "/api/v1/channel-types/whatsapp/render", h.admin, map[string]any{"type": "quick_replies", "text": "x", "options": []any{}})
	if status != 400 || !strings.Contains(string(body), "options") {
		t.Fatalf("invalid content: %d %s", status, body)
	}

	// Rich content sent on a BYOC case: stored canonical + rendered; the
	// callback carries both.
	p := h.createBYOC(mw.URL)
	mw.SetSecret(p.Secret)
	res := h.inbound(p, "m1", "t1", "u1", "hi")
	var m struct {
		Text     string
		Content  json.RawMessage
		Rendered struct{ Type, Text string }
	}
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]any{"content": tenOptionList()}, 202, &m)
	if len(m.Content) == 0 || m.Rendered.Text == "" || !strings.Contains(m.Text, "Option 10") {
		t.Fatalf("stored rich message: %+v", m)
	}
	eventually(t, "rich callback", func() bool { return len(mw.Received()) == 1 })
	if cb := mw.Received()[0]; len(cb.Content) == 0 || !strings.Contains(cb.Text, "Option 1") {
		t.Fatalf("callback: %+v", cb)
	}
	// An agent may only send what the channel's agent table allows: BYOC
	// has no rich content for agents.
	h.mustDo("POST", "/api/v1/users", h.admin, map[string]any{"email": "agent@example.com", "password": "agent-password", "role": "agent"}, 201, nil)
	var tok struct{ Token string }
	h.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": "agent@example.com", "password": "agent-password"}, 201, &tok)
	status, body, _ = h.do("POST", "/api/v1/cases/"+res.CaseID+"/messages", tok.Token, map[string]any{"content": tenOptionList()})
	if status != 400 || !strings.Contains(string(body), "agents cannot send") {
		t.Fatalf("agent rich content on byoc: %d %s", status, body)
	}
	// Inbound content is validated too.
	status, _, _ = h.do("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"},
		"author": map[string]string{"id": "u1"}, "content": map[string]any{"type": "quick_replies", "options": []any{}}})
	if status != 400 {
		t.Fatalf("invalid inbound content: %d", status)
	}
}

// TestLinkPreviewRefusesPrivateAddresses: the preview endpoint is the
// server fetching a URL for a user; loopback, private and metadata
// addresses are refused (SSRF).
func TestLinkPreviewRefusesPrivateAddresses(t *testing.T) {
	h := start(t, func(c *Config) { c.AllowPrivateFetch = false })
	for _, u := range []string{"https://127.0.0.1/", "http://localhost:8080/", "https://169.254.169.254/latest/meta-data", "https://10.0.0.1/", "https://[::1]/"} {
		status, body, _ := h.do("POST", "/api/v1/link-preview", h.admin, map[string]string{"url": u})
		if status != 400 || !strings.Contains(string(body), "not allowed") {
			t.Errorf("%s: %d %s", u, status, body)
		}
	}
	h.mustDo("POST", "/api/v1/link-preview", h.admin, map[string]string{"url": "file:///etc/passwd"}, 400, nil)
}
