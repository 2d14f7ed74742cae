package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// call posts a body to an API path and decodes the status document.
func call(t *testing.T, s *Server, path, token, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Viber-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("HTTP %d %s", resp.StatusCode, raw)
	}
	return out
}

func status(m map[string]any) int {
	n, _ := strconv.Atoi(string(m["status"].(json.Number)))
	return n
}

func TestSendMessageValidation(t *testing.T) {
	s := start(t, Options{})
	tok := s.Options().AuthToken
	ok := `{"receiver":"u1","min_api_version":1,"sender":{"name":"Bot"},"type":"text","text":"hi"}`
	cases := []struct {
		name, token, body string
		want              int
	}{
		{"ok", tok, ok, 0},
		{"no token", "", ok, 2},
		{"wrong token", "nope", ok, 2},
		{"not json", tok, `{`, 3},
		{"no receiver", tok, `{"sender":{"name":"Bot"},"type":"text","text":"hi"}`, 4},
		{"no sender", tok, `{"receiver":"u1","type":"text","text":"hi"}`, 4},
		{"long sender", tok, `{"receiver":"u1","sender":{"name":"` + strings.Repeat("b", 29) + `"},"type":"text","text":"hi"}`, 3},
		{"empty text", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":""}`, 4},
		{"long text", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"` + strings.Repeat("a", 7001) + `"}`, 3},
		{"picture without text", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"picture","media":"https://x/a.jpg"}`, 4},
		{"picture", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"picture","text":"","media":"https://x/a.jpg"}`, 0},
		{"file without size", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"file","media":"https://x/a.pdf","file_name":"a.pdf"}`, 4},
		{"exe file", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"file","media":"https://x/a","size":3,"file_name":"a.exe"}`, 3},
		{"rich media at api 1", tok, `{"receiver":"u1","min_api_version":1,"sender":{"name":"Bot"},"type":"rich_media","rich_media":{"Type":"rich_media","Buttons":[{"ActionBody":"x","Text":"x"}]}}`, 14},
		{"rich media", tok, `{"receiver":"u1","min_api_version":2,"sender":{"name":"Bot"},"type":"rich_media","rich_media":{"Type":"rich_media","ButtonsGroupColumns":6,"ButtonsGroupRows":7,"Buttons":[{"Columns":6,"Rows":7,"ActionType":"reply","ActionBody":"x","Text":"x"}]}}`, 0},
		{"keyboard without body", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"q","keyboard":{"Type":"keyboard","Buttons":[{"Text":"Yes"}]}}`, 4},
		{"keyboard too tall", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"q","keyboard":{"Type":"keyboard","Buttons":[{"Rows":3,"ActionBody":"y","Text":"Yes"}]}}`, 3},
		{"keyboard bad action", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"q","keyboard":{"Type":"keyboard","Buttons":[{"ActionType":"call","ActionBody":"y","Text":"Yes"}]}}`, 3},
		{"too new for the user", tok, `{"receiver":"u1","min_api_version":99,"sender":{"name":"Bot"},"type":"text","text":"hi"}`, 13},
		{"unknown type", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"hologram"}`, 3},
	}
	for _, c := range cases {
		if got := status(call(t, s, "/pa/send_message", c.token, c.body)); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	msgs := s.Messages()
	if len(msgs) != 3 || msgs[0].Token != strconv.FormatInt(FirstMessageToken, 10) || msgs[2].Token != strconv.FormatInt(FirstMessageToken+2, 10) {
		t.Fatalf("%+v", msgs)
	}
	// The token is a JSON number above 2^53, written to the last digit.
	resp := call(t, s, "/pa/send_message", tok, ok)
	if resp["message_token"].(json.Number) != json.Number(strconv.FormatInt(FirstMessageToken+3, 10)) {
		t.Fatalf("%v", resp)
	}
	if got := len(s.Received("u1")); got != 4 {
		t.Fatalf("received %d", got)
	}
}

func TestSubscribers(t *testing.T) {
	s := start(t, Options{StrictSubscribers: true})
	tok := s.Options().AuthToken
	body := `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"hi"}`
	if got := status(call(t, s, "/pa/send_message", tok, body)); got != 6 {
		t.Fatalf("unknown user: %d", got)
	}
	s.Says(Customer{ID: "u1", Name: "Ana"}, "hello", time.Now())
	if got := status(call(t, s, "/pa/send_message", tok, body)); got != 0 {
		t.Fatalf("after writing: %d", got)
	}
	s.Unsubscribe("u1")
	if got := status(call(t, s, "/pa/send_message", tok, body)); got != 6 {
		t.Fatalf("unsubscribed: %d", got)
	}
}

// TestTrackingEcho: a customer's message carries the tracking_data of the
// last message sent to them, as Viber's does.
func TestTrackingEcho(t *testing.T) {
	s := start(t, Options{})
	tok := s.Options().AuthToken
	call(t, s, "/pa/send_message", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"q","tracking_data":"t-1","keyboard":{"Type":"keyboard","Buttons":[{"ActionType":"reply","ActionBody":"Yes","Text":"Yes"}]}}`)
	var ev struct {
		MessageToken json.Number `json:"message_token"`
		Message      struct {
			Text         string `json:"text"`
			TrackingData string `json:"tracking_data"`
		} `json:"message"`
	}
	payload, err := s.Taps(Customer{ID: "u1"}, "Yes", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(payload, &ev)
	if ev.Message.Text != "Yes" || ev.Message.TrackingData != "t-1" || ev.MessageToken.String() != strconv.FormatInt(FirstInboundToken, 10) {
		t.Fatalf("%s", payload)
	}
	call(t, s, "/pa/send_message", tok, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"no tracking"}`)
	ev.Message.TrackingData = ""
	_ = json.Unmarshal(s.Says(Customer{ID: "u1"}, "ok", time.Now()), &ev)
	if ev.Message.TrackingData != "" {
		t.Fatalf("stale tracking data %q", ev.Message.TrackingData)
	}
}

// TestSetWebhook: the URL is checked with a signed "webhook" callback
// before the answer.
func TestSetWebhook(t *testing.T) {
	s := start(t, Options{})
	tok := s.Options().AuthToken
	var mu sync.Mutex
	var got []byte
	var sig string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, sig = b, r.Header.Get(SignatureHeader)
		mu.Unlock()
	}))
	defer hook.Close()
	resp := call(t, s, "/pa/set_webhook", tok, `{"url":"`+hook.URL+`","event_types":["delivered","seen"],"send_name":true,"send_photo":true}`)
	if status(resp) != 0 || s.WebhookURL() != hook.URL || len(s.EventTypes()) != 2 {
		t.Fatalf("%v %s %v", resp, s.WebhookURL(), s.EventTypes())
	}
	mu.Lock()
	if !strings.Contains(string(got), `"event":"webhook"`) || sig != Sign(tok, got) {
		t.Fatalf("callback %s signed %s", got, sig)
	}
	mu.Unlock()
	if st := status(call(t, s, "/pa/set_webhook", tok, `{"url":"`+hook.URL+`","event_types":["everything"]}`)); st != 3 {
		t.Fatalf("unknown event type: %d", st)
	}
	if st := status(call(t, s, "/pa/set_webhook", tok, `{"url":""}`)); st != 0 || s.WebhookURL() != "" {
		t.Fatalf("remove: %d %s", st, s.WebhookURL())
	}
	strict := start(t, Options{RequireHTTPS: true})
	if st := status(call(t, strict, "/pa/set_webhook", strict.Options().AuthToken, `{"url":"`+hook.URL+`"}`)); st != 1 {
		t.Fatalf("http URL with RequireHTTPS: %d", st)
	}
}

func TestFailuresAndMedia(t *testing.T) {
	s := start(t, Options{})
	tok := s.Options().AuthToken
	body := `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":"hi"}`
	s.FailNext(TooManyRequests(), Throttled("3"))
	if st := status(call(t, s, "/pa/send_message", tok, body)); st != 12 {
		t.Fatalf("scripted: %d", st)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/pa/send_message", strings.NewReader(body))
	req.Header.Set("X-Viber-Auth-Token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if len(s.Messages()) != 0 || len(s.Requests()) != 2 {
		t.Fatalf("%d messages, %d requests", len(s.Messages()), len(s.Requests()))
	}
	s.AddMedia("doc.pdf", "application/pdf", []byte("%PDF-1.7"))
	for name, want := range map[string]string{"doc.pdf": "application/pdf", "other.jpg": "image/png"} {
		resp, err := http.Get(s.MediaURL(name))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Content-Type") != want {
			t.Fatalf("%s: %s", name, resp.Header.Get("Content-Type"))
		}
	}
}
