package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// call makes a Bot API request and decodes the envelope.
func call(t *testing.T, s *Server, token, method, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(s.URL+"/bot"+token+"/"+method, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAPIShapes(t *testing.T) {
	s := start(t, Options{})
	s.AddChat(User{ID: 42, FirstName: "Ana"})
	const j = "application/json"
	for _, tc := range []struct {
		name, token, method, ct, body string
		status                        int
		description                   string
	}{
		{"wrong token", "1:nope", "getMe", j, `{}`, 401, "Unauthorized"},
		{"unknown method", DefaultToken, "sendTelepathy", j, `{}`, 404, "Not Found"},
		{"no chat_id", DefaultToken, "sendMessage", j, `{"text":"hi"}`, 400, "Bad Request: chat_id is empty"},
		{"unknown chat", DefaultToken, "sendMessage", j, `{"chat_id":7,"text":"hi"}`, 400, "Bad Request: chat not found"},
		{"empty text", DefaultToken, "sendMessage", j, `{"chat_id":42,"text":" "}`, 400, "Bad Request: message text is empty"},
		{"too long", DefaultToken, "sendMessage", j, `{"chat_id":42,"text":"` + strings.Repeat("x", 4097) + `"}`, 400, "Bad Request: message is too long"},
		{"callback data too long", DefaultToken, "sendMessage", j, `{"chat_id":42,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"` + strings.Repeat("d", 65) + `"}]]}}`, 400, "Bad Request: BUTTON_DATA_INVALID"},
		{"text-only button", DefaultToken, "sendMessage", j, `{"chat_id":42,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"a"}]]}}`, 400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"},
		{"tel: url button", DefaultToken, "sendMessage", j, `{"chat_id":42,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"a","url":"tel:+331"}]]}}`, 400, "Bad Request: BUTTON_URL_INVALID"},
		{"quote not found", DefaultToken, "sendMessage", j, `{"chat_id":42,"text":"x","reply_parameters":{"message_id":999}}`, 400, "Bad Request: message to be replied not found"},
		{"quote allowed missing", DefaultToken, "sendMessage", j, `{"chat_id":42,"text":"x","reply_parameters":{"message_id":999,"allow_sending_without_reply":true}}`, 200, ""},
		{"caption too long", DefaultToken, "sendPhoto", j, `{"chat_id":42,"photo":"https://x.example/a.jpg","caption":"` + strings.Repeat("c", 1025) + `"}`, 400, "Bad Request: message caption is too long"},
		{"no photo", DefaultToken, "sendPhoto", j, `{"chat_id":42}`, 400, "Bad Request: there is no photo in the request"},
		{"bad photo", DefaultToken, "sendPhoto", j, `{"chat_id":42,"photo":"ftp://x"}`, 400, "Bad Request: wrong file identifier/HTTP URL specified"},
		{"form encoded, method case-insensitive", DefaultToken, "SENDMESSAGE", "application/x-www-form-urlencoded",
			url.Values{"chat_id": {"42"}, "text": {"hi"}, "reply_markup": {`{"inline_keyboard":[[{"text":"Yes","callback_data":"yes"}]]}`}}.Encode(), 200, ""},
		{"unknown callback", DefaultToken, "answerCallbackQuery", j, `{"callback_query_id":"1"}`, 400, "Bad Request: query is too old and response timeout expired or query ID is invalid"},
		{"bad secret", DefaultToken, "setWebhook", j, `{"url":"https://a.example/h","secret_token":"no spaces"}`, 400, "Bad Request: secret token contains unallowed characters"},
		{"http webhook", DefaultToken, "setWebhook", j, `{"url":"http://a.example/h"}`, 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"},
		{"webhook port", DefaultToken, "setWebhook", j, `{"url":"https://a.example:9000/h"}`, 400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := call(t, s, tc.token, tc.method, tc.ct, tc.body)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d: %v", status, tc.status, out)
			}
			if tc.status == 200 {
				if out["ok"] != true || out["result"] == nil {
					t.Fatalf("%v", out)
				}
				return
			}
			if out["ok"] != false || out["error_code"] != float64(tc.status) || out["description"] != tc.description {
				t.Fatalf("%v", out)
			}
		})
	}
	// The form-encoded send is recorded with its keyboard.
	msgs := s.Messages()
	last := msgs[len(msgs)-1]
	if last.ChatID != 42 || len(last.Keyboard) != 1 || last.Keyboard[0][0].CallbackData != "yes" || !strings.Contains(string(last.Params), `"inline_keyboard"`) {
		t.Fatalf("%+v", last)
	}
	if got := s.Received("42"); len(got) != len(msgs) {
		t.Fatalf("received %d, sent %d", len(got), len(msgs))
	}
}

func TestFailures(t *testing.T) {
	s := start(t, Options{})
	s.AddChat(User{ID: 42, FirstName: "Ana"})
	s.FailNext(TooManyRequests(5), Failure{Method: "sendMessage", After: 1, Status: 400, Description: "Bad Request: later"})
	status, out := call(t, s, DefaultToken, "sendMessage", "application/json", `{"chat_id":42,"text":"a"}`)
	params, _ := out["parameters"].(map[string]any)
	if status != 429 || out["description"] != "Too Many Requests: retry after 5" || params["retry_after"] != float64(5) {
		t.Fatalf("%d %v", status, out)
	}
	if status, _ := call(t, s, DefaultToken, "sendMessage", "application/json", `{"chat_id":42,"text":"a"}`); status != 200 {
		t.Fatalf("the After failure let nothing through: %d", status)
	}
	if status, out := call(t, s, DefaultToken, "sendMessage", "application/json", `{"chat_id":42,"text":"a"}`); status != 400 || out["description"] != "Bad Request: later" {
		t.Fatalf("%d %v", status, out)
	}
	s.Block(42)
	if status, out := call(t, s, DefaultToken, "sendMessage", "application/json", `{"chat_id":42,"text":"a"}`); status != 403 || out["description"] != "Forbidden: bot was blocked by the user" {
		t.Fatalf("%d %v", status, out)
	}
}

// TestCustomerRoundTrip is the sandbox's use: the customer writes, the bot
// answers with a keyboard, the customer taps, the tap is answered in the
// webhook reply.
func TestCustomerRoundTrip(t *testing.T) {
	s := start(t, Options{LocalWebhooks: true})
	var mu sync.Mutex
	var got []map[string]any
	var headers []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u map[string]any
		_ = json.NewDecoder(r.Body).Decode(&u)
		mu.Lock()
		got = append(got, u)
		headers = append(headers, r.Header.Get(SecretTokenHeader))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if q, ok := u["callback_query"].(map[string]any); ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"method": "answerCallbackQuery", "callback_query_id": q["id"]})
			return
		}
		_, _ = io.WriteString(w, `{"accepted":1}`)
	}))
	defer hook.Close()
	resp, err := s.CustomerSays(hook.URL, "s3cret", "1111111", "Ana Lopez", "Hi", t0)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := s.CustomerSays(hook.URL, "s3cret", "ana", "Ana", "Hi", t0); err == nil {
		t.Fatal("a non-numeric user id was accepted")
	}
	status, out := call(t, s, DefaultToken, "sendMessage", "application/json",
		`{"chat_id":1111111,"text":"Did that solve it?","reply_parameters":{"message_id":1},"reply_markup":{"inline_keyboard":[[{"text":"Yes","callback_data":"yes"},{"text":"No","callback_data":"no"}]]}}`)
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	resp, err = s.CustomerTaps(hook.URL, "s3cret", "1111111", "Ana Lopez", "no", t0)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "answerCallbackQuery") {
		t.Fatalf("the body is still readable: %s", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || headers[0] != "s3cret" || headers[1] != "s3cret" {
		t.Fatalf("%d updates, headers %v", len(got), headers)
	}
	msg := got[0]["message"].(map[string]any)
	from := msg["from"].(map[string]any)
	if got[0]["update_id"] != float64(10001) || msg["text"] != "Hi" || msg["message_id"] != float64(1) || from["first_name"] != "Ana" || from["last_name"] != "Lopez" {
		t.Fatalf("%v", got[0])
	}
	q := got[1]["callback_query"].(map[string]any)
	tapped := q["message"].(map[string]any)
	if q["data"] != "no" || tapped["message_id"] != float64(2) || tapped["reply_markup"] == nil {
		t.Fatalf("%v", q)
	}
	if a := s.AnsweredCallbacks(); len(a) != 1 || a[0] != q["id"] {
		t.Fatalf("answered %v", a)
	}
	reqs := s.Requests()
	if r := reqs[len(reqs)-1]; !r.WebhookReply || r.Method != "answerCallbackQuery" || r.Status != 200 {
		t.Fatalf("%+v", r)
	}
	if rec := s.Received("1111111"); len(rec) != 1 || !strings.Contains(string(rec[0]), `"Did that solve it?"`) {
		t.Fatalf("%s", rec)
	}
}

func TestDeliverHonoursTheWebhook(t *testing.T) {
	s := start(t, Options{LocalWebhooks: true})
	ana := User{ID: 5, FirstName: "Ana"}
	if _, err := s.Deliver(Text(ana, 1, "hi", t0)); err == nil {
		t.Fatal("delivered without a webhook")
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(SecretTokenHeader) != "tok" {
			w.WriteHeader(401)
		}
	}))
	defer hook.Close()
	if status, out := call(t, s, DefaultToken, "setWebhook", "application/json", `{"url":"`+hook.URL+`","secret_token":"tok","allowed_updates":["message"]}`); status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	resp, err := s.Deliver(Text(ana, 1, "hi", t0))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", err, resp)
	}
	resp.Body.Close()
	if _, err := s.Deliver(Callback(ana, "1", "x", nil)); err == nil || !strings.Contains(err.Error(), "allowed_updates") {
		t.Fatalf("an update type outside allowed_updates: %v", err)
	}
	// Files: getFile then the download, the 20 MB limit.
	f := s.AddFile("a.txt", "text/plain", []byte("hello"), 0)
	status, out := call(t, s, DefaultToken, "getFile", "application/json", `{"file_id":"`+f.FileID+`"}`)
	res, _ := out["result"].(map[string]any)
	if status != 200 || res["file_path"] != f.FilePath {
		t.Fatalf("%d %v", status, out)
	}
	r, err := http.Get(s.URL + "/file/bot" + DefaultToken + "/" + f.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(b) != "hello" {
		t.Fatalf("%q", b)
	}
	big := s.AddFile("b.bin", "", []byte("x"), 21<<20)
	if status, out := call(t, s, DefaultToken, "getFile", "application/json", `{"file_id":"`+big.FileID+`"}`); status != 400 || out["description"] != "Bad Request: file is too big" {
		t.Fatalf("%d %v", status, out)
	}
}
