package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/meta"
)

func post(t *testing.T, url, auth, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, resp.Header
}

func errCode(m map[string]any) float64 {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

func TestValidatesLikeThePlatform(t *testing.T) {
	s, err := Start(Options{Pages: []string{"1"}, InstagramAccounts: []string{"9"}, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok := `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"text":"hi"}}`
	for _, tc := range []struct {
		name, path, auth, body string
		status                 int
		code                   float64
	}{
		{"text", "/1/messages", "Bearer tok", ok, 200, 0},
		{"token as parameter", "/1/messages?access_token=tok", "", ok, 200, 0},
		{"no token", "/1/messages", "", ok, 400, 2500},
		{"wrong token", "/1/messages", "Bearer nope", ok, 400, 190},
		{"unknown page", "/2/messages", "Bearer tok", ok, 400, 100},
		{"no recipient", "/1/messages", "Bearer tok", `{"messaging_type":"RESPONSE","message":{"text":"hi"}}`, 400, 100},
		{"no messaging type", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"message":{"text":"hi"}}`, 400, 100},
		{"tag without MESSAGE_TAG", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","tag":"HUMAN_AGENT","message":{"text":"hi"}}`, 400, 100},
		{"MESSAGE_TAG without tag", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"MESSAGE_TAG","message":{"text":"hi"}}`, 400, 100},
		{"HUMAN_AGENT", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"hi"}}`, 200, 0},
		{"text and attachment", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"text":"hi","attachment":{"type":"image","payload":{"url":"https://x/y.png"}}}}`, 400, 100},
		{"text too long", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"text":"` + strings.Repeat("a", 2001) + `"}}`, 400, 100},
		{"instagram text limit", "/9/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"text":"` + strings.Repeat("a", 1001) + `"}}`, 400, 100},
		{"14 quick replies", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"text":"?","quick_replies":[` + strings.Repeat(`{"content_type":"text","title":"a","payload":"a"},`, 13) + `{"content_type":"text","title":"a","payload":"a"}]}}`, 400, 100},
		{"button template without buttons", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"x","buttons":[]}}}}`, 400, 100},
		{"generic with 11 elements", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"generic","elements":[` + strings.Repeat(`{"title":"a"},`, 10) + `{"title":"a"}]}}}}`, 400, 100},
		{"sender action", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"sender_action":"typing_on"}`, 200, 0},
		{"bad sender action", "/1/messages", "Bearer tok", `{"recipient":{"id":"u"},"sender_action":"dance"}`, 400, 100},
		{"GET", "/1/messages", "Bearer tok", ``, 400, 100},
	} {
		method := "POST"
		if tc.name == "GET" {
			method = "GET"
		}
		req, _ := http.NewRequest(method, s.URL+tc.path, strings.NewReader(tc.body))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != tc.status || errCode(m) != tc.code {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, m)
		}
	}
	if n := len(s.Sent()); n != 3 {
		t.Errorf("%d accepted sends recorded, want 3", n)
	}
	if r := s.Requests()[1]; strings.Contains(r.Query, "=tok") || r.Token != "tok" {
		t.Errorf("token parameter: %+v", r)
	}
}

func TestFailNextAndWebhooks(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := Start(Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.FailNext(RateLimited("30"), OutsideWindow())
	ok := `{"recipient":{"id":"u"},"messaging_type":"RESPONSE","message":{"text":"hi"}}`
	st, m, h := post(t, s.URL+"/1/messages", "Bearer t", ok)
	if st != 429 || errCode(m) != 80007 || h.Get("Retry-After") != "30" {
		t.Fatalf("%d %v %v", st, m, h)
	}
	if st, m, _ = post(t, s.URL+"/1/messages", "Bearer t", ok); st != 400 || errCode(m) != 10 {
		t.Fatalf("%d %v", st, m)
	}
	if st, m, _ = post(t, s.URL+"/1/messages", "Bearer t", ok); st != 200 || m["message_id"] != MessageID(1) || m["recipient_id"] != "u" {
		t.Fatalf("%d %v", st, m)
	}

	// Webhooks are signed like Meta's, and open the customer's window.
	var sig string
	var body []byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		sig = r.Header.Get("X-Hub-Signature-256")
	}))
	defer hook.Close()
	payload := PagePayload("1", Text("u", "m_1", "hi", now.Add(-30*time.Hour)), Echo("u", "m_2", "ours", now))
	resp, err := s.SendWebhook(hook.URL, "secret", payload)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sig != meta.Sign("secret", payload) || string(body) != string(payload) {
		t.Fatalf("signature %q", sig)
	}
	var env struct {
		Object string
		Entry  []struct {
			ID        string
			Messaging []map[string]any
		}
	}
	if err := json.Unmarshal(payload, &env); err != nil || env.Object != "page" || env.Entry[0].ID != "1" || len(env.Entry[0].Messaging) != 2 {
		t.Fatalf("payload %s", payload)
	}
	echo := env.Entry[0].Messaging[1]
	if echo["sender"].(map[string]any)["id"] != "1" || echo["recipient"].(map[string]any)["id"] != "u" {
		t.Fatalf("echo %v", echo)
	}
	if st, m, _ = post(t, s.URL+"/1/messages", "Bearer t", ok); st != 400 || errCode(m) != 10 {
		t.Fatalf("RESPONSE at 30 h: %d %v", st, m)
	}
	if st, _, _ = post(t, s.URL+"/1/messages", "Bearer t", `{"recipient":{"id":"u"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"hi"}}`); st != 200 {
		t.Fatalf("HUMAN_AGENT at 30 h: %d", st)
	}

	// Media served like a CDN.
	s.AddMedia("doc.pdf", "application/pdf", []byte("%PDF-1.4"))
	for name, want := range map[string]string{"doc.pdf": "application/pdf", "any.png": "image/png"} {
		r, err := http.Get(s.MediaURL(name))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != want {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
}
