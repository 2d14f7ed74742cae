package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestValidation: the fake refuses what the platform refuses, with the
// Graph error shape.
func TestValidation(t *testing.T) {
	s, err := Start(Options{AccessToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	path := "/" + DefaultPhoneNumberID + "/messages"
	button := func(id, title string) string {
		return `{"type":"reply","reply":{"id":"` + id + `","title":"` + title + `"}}`
	}
	for _, c := range []struct {
		name, path, token, body string
		status, code            int
	}{
		{"ok", path, "tok", `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"hi"}}`, 200, 0},
		{"bad token", path, "nope", `{"messaging_product":"whatsapp","to":"1","text":{"body":"hi"}}`, 401, 190},
		{"no product", path, "tok", `{"to":"1","type":"text","text":{"body":"hi"}}`, 400, 100},
		{"no to", path, "tok", `{"messaging_product":"whatsapp","type":"text","text":{"body":"hi"}}`, 400, 100},
		{"other number", "/42/messages", "tok", `{"messaging_product":"whatsapp","to":"1","text":{"body":"hi"}}`, 400, 100},
		{"four buttons", path, "tok", `{"messaging_product":"whatsapp","to":"1","type":"interactive","interactive":{"type":"button","body":{"text":"?"},"action":{"buttons":[` +
			button("a", "A") + "," + button("b", "B") + "," + button("c", "C") + "," + button("d", "D") + `]}}}`, 400, 131009},
		{"long title", path, "tok", `{"messaging_product":"whatsapp","to":"1","type":"interactive","interactive":{"type":"button","body":{"text":"?"},"action":{"buttons":[` +
			button("a", strings.Repeat("x", 21)) + `]}}}`, 400, 131009},
		{"read", path, "tok", `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"}`, 200, 0},
	} {
		status, out := post(t, s, c.path, c.token, c.body)
		if status != c.status {
			t.Errorf("%s: %d %v", c.name, status, out)
			continue
		}
		if c.code != 0 {
			e, _ := out["error"].(map[string]any)
			if e == nil || e["code"] != float64(c.code) || e["message"] == "" || e["fbtrace_id"] == "" {
				t.Errorf("%s: %v", c.name, out)
			}
		}
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("%d accepted", n)
	}
	if n := len(s.Requests()); n != 8 {
		t.Fatalf("%d recorded", n)
	}
}
