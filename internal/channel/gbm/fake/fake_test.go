package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+path, strings.NewReader(body))
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

// TestValidation: the fake refuses what the platform refused, with
// Google's error shape.
func TestValidation(t *testing.T) {
	s, err := Start(Options{AccessToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	path := "/v1/conversations/c1/messages"
	rep := `"representative":{"representativeType":"BOT"}`
	chip := func(text string) string { return `{"reply":{"text":"` + text + `","postbackData":"p"}}` }
	chips := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = chip("x")
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		name, token, body string
		status            int
		grpc              string
	}{
		{"text", "tok", `{"messageId":"m1",` + rep + `,"text":"hi"}`, 200, ""},
		{"duplicate", "tok", `{"messageId":"m1",` + rep + `,"text":"hi"}`, 409, "ALREADY_EXISTS"},
		{"bad token", "nope", `{"messageId":"m2",` + rep + `,"text":"hi"}`, 401, "UNAUTHENTICATED"},
		{"no messageId", "tok", `{` + rep + `,"text":"hi"}`, 400, "INVALID_ARGUMENT"},
		{"no representative", "tok", `{"messageId":"m3","text":"hi"}`, 400, "INVALID_ARGUMENT"},
		{"bad representative", "tok", `{"messageId":"m3","representative":{"representativeType":"AGENT"},"text":"hi"}`, 400, "INVALID_ARGUMENT"},
		{"text and image", "tok", `{"messageId":"m3",` + rep + `,"text":"hi","image":{"contentInfo":{"fileUrl":"https://x/a.png"}}}`, 400, "INVALID_ARGUMENT"},
		{"nothing", "tok", `{"messageId":"m3",` + rep + `}`, 400, "INVALID_ARGUMENT"},
		{"14 chips", "tok", `{"messageId":"m3",` + rep + `,"text":"?","suggestions":[` + chips(14) + `]}`, 400, "INVALID_ARGUMENT"},
		{"long chip", "tok", `{"messageId":"m3",` + rep + `,"text":"?","suggestions":[` + chip(strings.Repeat("x", 26)) + `]}`, 400, "INVALID_ARGUMENT"},
		{"13 chips", "tok", `{"messageId":"m4",` + rep + `,"text":"?","suggestions":[` + chips(13) + `]}`, 200, ""},
		{"one-card carousel", "tok", `{"messageId":"m5",` + rep + `,"richCard":{"carouselCard":{"cardWidth":"MEDIUM","cardContents":[{"title":"a"}]}}}`, 400, "INVALID_ARGUMENT"},
		{"image without URL", "tok", `{"messageId":"m5",` + rep + `,"image":{"contentInfo":{"fileUrl":"menu.png"}}}`, 400, "INVALID_ARGUMENT"},
		{"card", "tok", `{"messageId":"m6",` + rep + `,"richCard":{"standaloneCard":{"cardContent":{"title":"a","suggestions":[{"action":{"text":"Open","postbackData":"o","openUrlAction":{"url":"https://x"}}}]}}}}`, 200, ""},
	} {
		status, out := post(t, s, path, c.token, c.body)
		if status != c.status {
			t.Errorf("%s: %d %v", c.name, status, out)
			continue
		}
		if c.grpc != "" {
			e, _ := out["error"].(map[string]any)
			if e == nil || e["status"] != c.grpc || e["code"] != float64(c.status) || e["message"] == "" {
				t.Errorf("%s: %v", c.name, out)
			}
		} else if out["name"] != "conversations/c1/messages/"+out["messageId"].(string) {
			t.Errorf("%s: %v", c.name, out)
		}
	}
	if n := len(s.Messages()); n != 3 || len(s.Received("c1")) != 3 {
		t.Fatalf("%d accepted", n)
	}
	s.Expire("c1")
	if status, out := post(t, s, path, "tok", `{"messageId":"m9",`+rep+`,"text":"hi"}`); status != 404 {
		t.Fatalf("expired: %d %v", status, out)
	}
}

// TestCustomer: the sandbox's deliveries are signed and carry the
// customer's words or tap.
func TestCustomer(t *testing.T) {
	s, err := Start(Options{ClientToken: "ct"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var bodies [][]byte
	var sigs []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies, sigs = append(bodies, b), append(sigs, r.Header.Get("X-Goog-Signature"))
	}))
	defer hook.Close()
	at := time.Unix(1_700_000_000, 0)
	for _, send := range []func() (*http.Response, error){
		func() (*http.Response, error) { return s.CustomerSays(hook.URL, "", "conv-1", "Ana", "hello", at) },
		func() (*http.Response, error) {
			return s.CustomerTaps(hook.URL, "", "conv-1", "Ana", "size_m", "Medium", "msg-1", at)
		},
	} {
		resp, err := send()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i, b := range bodies {
		if sigs[i] != Sign("ct", b) || !strings.Contains(string(b), `"conversationId":"conv-1"`) || !strings.Contains(string(b), `"displayName":"Ana"`) {
			t.Fatalf("%s %s", sigs[i], b)
		}
	}
	if !strings.Contains(string(bodies[0]), `"text":"hello"`) || !strings.Contains(string(bodies[1]), `"postbackData":"size_m"`) ||
		!strings.Contains(string(bodies[1]), `"message":"conversations/conv-1/messages/msg-1"`) {
		t.Fatalf("%s\n%s", bodies[0], bodies[1])
	}
}
