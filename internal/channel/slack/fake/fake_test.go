package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func call(t *testing.T, s *Server, method, token, contentType, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/"+method, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, resp.Header
}

const jsonCT = "application/json; charset=utf-8"

func TestPostMessageValidatesLikeSlack(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok := s.Options().BotToken
	button := func(text string) string {
		return `{"type":"button","text":{"type":"plain_text","text":"` + text + `"},"action_id":"a` + text + `","value":"v"}`
	}
	for _, tc := range []struct {
		name, token, ct, body, wantErr string
	}{
		{"text", tok, jsonCT, `{"channel":"D0123ABC","text":"hi"}`, ""},
		{"text as a form", tok, "application/x-www-form-urlencoded", "channel=C0123ABC&text=hi&thread_ts=1795500000.000001", ""},
		{"blocks as a form's JSON string", tok, "application/x-www-form-urlencoded", url.Values{"channel": {"C0123ABC"}, "blocks": {`[{"type":"divider"}]`}}.Encode(), ""},
		{"to a user: the app's DM", tok, jsonCT, `{"channel":"U0123ABC","text":"hi"}`, ""},
		{"no token", "", jsonCT, `{"channel":"D0123ABC","text":"hi"}`, "not_authed"},
		{"wrong token", "xoxb-nope", jsonCT, `{"channel":"D0123ABC","text":"hi"}`, "invalid_auth"},
		{"no channel", tok, jsonCT, `{"text":"hi"}`, "channel_not_found"},
		{"no text", tok, jsonCT, `{"channel":"D0123ABC"}`, "no_text"},
		{"text too long", tok, jsonCT, `{"channel":"D0123ABC","text":"` + strings.Repeat("a", MaxTextLength+1) + `"}`, "msg_too_long"},
		{"blocks not an array", tok, jsonCT, `{"channel":"D0123ABC","blocks":{"type":"divider"}}`, "invalid_blocks"},
		{"blocks a broken string", tok, "application/x-www-form-urlencoded", "channel=D0123ABC&blocks=%5B", "invalid_blocks_format"},
		{"button text of 76", tok, jsonCT, `{"channel":"D0123ABC","blocks":[{"type":"actions","elements":[` + button(strings.Repeat("b", 76)) + `]}]}`, "invalid_blocks"},
		{"26 elements", tok, jsonCT, `{"channel":"D0123ABC","blocks":[{"type":"actions","elements":[` + strings.TrimSuffix(strings.Repeat(button("x")+",", 26), ",") + `]}]}`, "invalid_blocks"},
		{"section text of 3001", tok, jsonCT, `{"channel":"D0123ABC","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("s", 3001) + `"}}]}`, "invalid_blocks"},
		{"51 blocks", tok, jsonCT, `{"channel":"D0123ABC","blocks":[` + strings.TrimSuffix(strings.Repeat(`{"type":"divider"},`, 51), ",") + `]}`, "invalid_blocks"},
		{"menu with 101 options", tok, jsonCT, `{"channel":"D0123ABC","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"?"},"accessory":{"type":"static_select","action_id":"c","options":[` +
			strings.TrimSuffix(strings.Repeat(`{"text":{"type":"plain_text","text":"o"},"value":"v"},`, 101), ",") + `]}}]}`, "invalid_blocks"},
		{"image without alt text", tok, jsonCT, `{"channel":"D0123ABC","blocks":[{"type":"image","image_url":"https://x.example/a.png"}]}`, "invalid_blocks"},
		{"unknown block", tok, jsonCT, `{"channel":"D0123ABC","blocks":[{"type":"carousel"}]}`, "invalid_blocks"},
		{"bad thread_ts", tok, jsonCT, `{"channel":"D0123ABC","text":"hi","thread_ts":"yesterday"}`, "invalid_thread_ts"},
		{"not JSON", tok, jsonCT, `{"channel":`, "invalid_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out, _ := call(t, s, "chat.postMessage", tc.token, tc.ct, tc.body)
			if status != 200 {
				t.Fatalf("HTTP %d", status)
			}
			if tc.wantErr == "" {
				if out["ok"] != true || out["ts"] == "" {
					t.Fatalf("refused: %v", out)
				}
				return
			}
			if out["ok"] != false || out["error"] != tc.wantErr {
				t.Fatalf("got %v, want error %s", out, tc.wantErr)
			}
		})
	}
	// Slack's own messages explain invalid blocks with a JSON pointer.
	_, out, _ := call(t, s, "chat.postMessage", tok, jsonCT, `{"channel":"D0123ABC","blocks":[{"type":"actions","elements":[`+button(strings.Repeat("b", 76))+`]}]}`)
	msgs, _ := out["response_metadata"].(map[string]any)["messages"].([]any)
	if len(msgs) != 1 || !strings.Contains(msgs[0].(string), "json-pointer:/blocks/0/elements/0/text/text") {
		t.Fatalf("messages: %v", out)
	}
	// JSON without a charset is accepted with Slack's warning.
	_, out, _ = call(t, s, "chat.postMessage", tok, "application/json", `{"channel":"D0123ABC","text":"hi"}`)
	if out["ok"] != true || out["warning"] != "missing_charset" {
		t.Fatalf("charset warning: %v", out)
	}
	if _, out, _ = call(t, s, "chat.unknown", tok, jsonCT, `{}`); out["error"] != "unknown_method" {
		t.Fatalf("unknown method: %v", out)
	}
	// Accepted messages are recorded, with a channel for a user id.
	var dm bool
	for _, m := range s.Messages() {
		if m.Channel == DMChannel("U0123ABC") {
			dm = true
		}
	}
	if !dm || len(s.Messages()) != 5 {
		t.Fatalf("messages: %+v", s.Messages())
	}
}

func TestChannelStatesAndFailures(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok := s.Options().BotToken
	s.Archive("C0ARCHIVED")
	s.Kick("C0KICKED01")
	s.Delete("D0DELETED1")
	for ch, want := range map[string]string{"C0ARCHIVED": "is_archived", "C0KICKED01": "not_in_channel", "D0DELETED1": "channel_not_found", "nope": "channel_not_found"} {
		if _, out, _ := call(t, s, "chat.postMessage", tok, jsonCT, `{"channel":"`+ch+`","text":"hi"}`); out["error"] != want {
			t.Errorf("%s: %v", ch, out)
		}
	}
	s.FailNext(Failure{Method: "files.getUploadURLExternal", Error: "internal_error"}, RateLimited("12"))
	status, out, h := call(t, s, "chat.postMessage", tok, jsonCT, `{"channel":"D0123ABC","text":"hi"}`)
	if status != 429 || out["error"] != "ratelimited" || h.Get("Retry-After") != "12" {
		t.Fatalf("rate limit: %d %v %v", status, out, h)
	}
	if _, out, _ = call(t, s, "chat.postMessage", tok, jsonCT, `{"channel":"D0123ABC","text":"hi"}`); out["ok"] != true {
		t.Fatalf("after failure: %v", out)
	}
	if _, out, _ = call(t, s, "files.getUploadURLExternal", tok, "application/x-www-form-urlencoded", "filename=a.txt&length=1"); out["error"] != "internal_error" {
		t.Fatalf("method failure: %v", out)
	}
	s.FailNext(ServerError())
	if status, _, _ = call(t, s, "chat.postMessage", tok, jsonCT, `{"channel":"D0123ABC","text":"hi"}`); status != 503 {
		t.Fatalf("server error: %d", status)
	}
}

func TestUpload(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok := s.Options().BotToken
	form := "application/x-www-form-urlencoded"
	if _, out, _ := call(t, s, "files.getUploadURLExternal", tok, form, "filename=a.txt"); out["error"] != "invalid_arguments" {
		t.Fatalf("no length: %v", out)
	}
	_, out, _ := call(t, s, "files.getUploadURLExternal", tok, form, "filename=a.txt&length=5")
	uploadURL, id := out["upload_url"].(string), out["file_id"].(string)
	if out["ok"] != true || uploadURL == "" || id == "" {
		t.Fatalf("upload URL: %v", out)
	}
	// Sharing before the bytes arrived fails.
	if _, out, _ := call(t, s, "files.completeUploadExternal", tok, jsonCT, `{"files":[{"id":"`+id+`"}],"channel_id":"C0123ABC"}`); out["error"] != "file_not_found" {
		t.Fatalf("complete before upload: %v", out)
	}
	post := func(body string) int {
		resp, err := http.Post(uploadURL, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if post("toolong") != 400 || post("hello") != 200 || post("hello") != 404 {
		t.Fatal("upload lengths")
	}
	if _, out, _ := call(t, s, "files.completeUploadExternal", tok, form, url.Values{"files": {`[{"id":"` + id + `","title":"Greeting"}]`}, "channel_id": {"C0123ABC"}, "thread_ts": {"1795500000.000001"}}.Encode()); out["ok"] != true {
		t.Fatalf("complete: %v", out)
	}
	files := s.Files()
	if len(files) != 1 || string(files[0].Data) != "hello" || files[0].Title != "Greeting" || files[0].Channel != "C0123ABC" || files[0].ThreadTS != "1795500000.000001" || files[0].MimeType != "text/plain" {
		t.Fatalf("files: %+v", files)
	}
	// files.info, and the private download behind the token.
	_, out, _ = call(t, s, "files.info?file="+id, tok, "", "")
	f, _ := out["file"].(map[string]any)
	dl, _ := f["url_private_download"].(string)
	if out["ok"] != true || dl == "" {
		t.Fatalf("files.info: %v", out)
	}
	for _, withToken := range []bool{true, false} {
		req, _ := http.NewRequest(http.MethodGet, dl, nil)
		if withToken {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if withToken != (string(b) == "hello") || (!withToken && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")) {
			t.Fatalf("download (token %v): %q %s", withToken, b, resp.Header.Get("Content-Type"))
		}
	}
}

func TestWebhooksAndSandbox(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	s, err := Start(Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type delivery struct {
		header http.Header
		body   []byte
	}
	var got []delivery
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, delivery{r.Header.Clone(), b})
	}))
	defer hook.Close()
	secret := s.Options().SigningSecret

	resp, err := s.Deliver(hook.URL, secret, "alice", "Alice", "hello", "", now)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d := got[0]
	if d.header.Get(SignatureHeader) != Sign(secret, d.header.Get(TimestampHeader), d.body) || d.header.Get(TimestampHeader) != "1795510800" ||
		d.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %v", d.header)
	}
	var env struct {
		Type  string `json:"type"`
		Event struct {
			Type, Channel, ChannelType, User, Text string
		} `json:"event"`
	}
	_ = json.Unmarshal(d.body, &env)
	if env.Type != "event_callback" || env.Event.Type != "message" || env.Event.User != UserID("alice") || env.Event.Channel != DMChannel("alice") || env.Event.Text != "hello" {
		t.Fatalf("event: %s", d.body)
	}

	// The business answers with buttons; the customer taps one.
	tok := s.Options().BotToken
	_, out, _ := call(t, s, "chat.postMessage", tok, jsonCT, `{"channel":"`+DMChannel("alice")+`","text":"Colour?","blocks":[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Red"},"action_id":"choice:RED","value":"RED"}]}]}`)
	if out["ok"] != true {
		t.Fatal(out)
	}
	resp, err = s.Deliver(hook.URL, secret, "alice", "Alice", "", "RED", now)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d = got[1]
	form, _ := url.ParseQuery(string(d.body))
	var p struct {
		Type      string
		Container struct {
			MessageTS string `json:"message_ts"`
		}
		Actions []struct {
			ActionID string `json:"action_id"`
			Value    string
			Text     struct{ Text string }
		}
	}
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil || p.Type != "block_actions" || p.Container.MessageTS != out["ts"] ||
		len(p.Actions) != 1 || p.Actions[0].Value != "RED" || p.Actions[0].Text.Text != "Red" || p.Actions[0].ActionID != "choice:RED" {
		t.Fatalf("tap: %s", form.Get("payload"))
	}
	if d.header.Get(SignatureHeader) != Sign(secret, d.header.Get(TimestampHeader), d.body) {
		t.Fatal("tap not signed")
	}

	// What the customer received: the bodies sent to their DM.
	rec := s.Received("alice")
	if len(rec) != 1 || !bytes.Contains(rec[0], []byte(`"Colour?"`)) {
		t.Fatalf("received: %s", rec)
	}
	if len(s.Received(UserID("alice"))) != 1 || len(s.Received(DMChannel("alice"))) != 1 || len(s.Received("bob")) != 0 {
		t.Fatal("received by id")
	}
	// Two messages at the same instant get distinct ts.
	e1 := s.eventTime(now)
	e2 := s.eventTime(now)
	if !e2.After(e1) {
		t.Fatal("event times collide")
	}
}
