package fake

import (
	"encoding/base64"
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
	req.Header.Set("Content-Type", "application/json")
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

// TestValidation: the fake refuses what X refuses, with X's problem shape.
func TestValidation(t *testing.T) {
	s, err := Start(Options{AccessToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	status, up := post(t, s, "/2/media/upload", "tok", `{"media":"`+base64.StdEncoding.EncodeToString([]byte(pngPixel))+`","media_category":"dm_image","media_type":"image/png"}`)
	data, _ := up["data"].(map[string]any)
	mediaID, _ := data["id"].(string)
	if status != 200 || mediaID == "" || data["media_key"] != "3_"+mediaID {
		t.Fatalf("upload: %d %v", status, up)
	}
	dm := "/2/dm_conversations/with/3805104374/messages"
	for _, c := range []struct {
		name, path, token, body string
		status                  int
	}{
		{"text", dm, "tok", `{"text":"hi"}`, 201},
		{"image", dm, "tok", `{"attachments":[{"media_id":"` + mediaID + `"}]}`, 201},
		{"bad token", dm, "nope", `{"text":"hi"}`, 401},
		{"no token", dm, "", `{"text":"hi"}`, 401},
		{"empty", dm, "tok", `{}`, 400},
		{"unknown media", dm, "tok", `{"text":"x","attachments":[{"media_id":"42"}]}`, 400},
		{"two media", dm, "tok", `{"attachments":[{"media_id":"` + mediaID + `"},{"media_id":"` + mediaID + `"}]}`, 400},
		{"too long", dm, "tok", `{"text":"` + strings.Repeat("a", MaxTextLength+1) + `"}`, 400},
		{"unknown field", dm, "tok", `{"text":"x","quick_reply":{}}`, 400},
		{"not an id", "/2/dm_conversations/with/ana/messages", "tok", `{"text":"x"}`, 400},
		{"ourselves", "/2/dm_conversations/with/" + DefaultUserID + "/messages", "tok", `{"text":"x"}`, 403},
		{"video one-shot", "/2/media/upload", "tok", `{"media":"AAAA","media_category":"dm_video","media_type":"video/mp4"}`, 400},
		{"not base64", "/2/media/upload", "tok", `{"media":"@@","media_category":"dm_image"}`, 400},
		{"unknown endpoint", "/2/tweets", "tok", `{"text":"x"}`, 404},
	} {
		status, out := post(t, s, c.path, c.token, c.body)
		if status != c.status {
			t.Errorf("%s: %d %v", c.name, status, out)
			continue
		}
		if status >= 400 && (out["title"] == nil || out["type"] == nil) {
			t.Errorf("%s: not a problem: %v", c.name, out)
		}
	}
	if n := len(s.Messages()); n != 2 {
		t.Fatalf("%d accepted", n)
	}
	if got := s.Received("3805104374"); len(got) != 2 || string(got[0]) != `{"text":"hi"}` {
		t.Fatalf("received: %s", got)
	}
	s.Block("3805104374")
	if status, out := post(t, s, dm, "tok", `{"text":"hi"}`); status != 403 || out["detail"] != "You cannot send messages to this user" {
		t.Fatalf("blocked: %d %v", status, out)
	}
}

func TestRateLimitedHeaders(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reset := time.Unix(1_800_000_000, 0)
	s.FailNext(RateLimited(reset))
	req, _ := http.NewRequest("POST", s.URL()+"/2/dm_conversations/with/1/messages", strings.NewReader(`{"text":"x"}`))
	req.Header.Set("Authorization", "Bearer any")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("X-Rate-Limit-Reset") != "1800000000" || resp.Header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}

// TestCustomerSays: the sandbox's delivery is signed with the secret and
// carries the customer's text and name.
func TestCustomerSays(t *testing.T) {
	s, err := Start(Options{ConsumerSecret: "cs"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []byte
	var sig string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		sig = r.Header.Get("X-Twitter-Webhooks-Signature")
	}))
	defer hook.Close()
	resp, err := s.CustomerSays(hook.URL, "", "3805104374", "Ana", "hello", time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sig != Sign("cs", got) || !strings.Contains(string(got), `"text":"hello"`) || !strings.Contains(string(got), `"name":"Ana"`) ||
		!strings.Contains(string(got), `"for_user_id":"`+DefaultUserID+`"`) {
		t.Fatalf("%s %s", sig, got)
	}
}
