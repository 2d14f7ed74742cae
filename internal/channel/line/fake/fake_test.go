package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const user = "U206d25c2ea6bd87c17655609a1c37cb8"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func start(t *testing.T) (*Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	s, err := Start(Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func call(t *testing.T, s *Server, method, path, token string, headers map[string]string, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func TestReplyTokens(t *testing.T) {
	s, clk := start(t)
	tok := s.Options().ChannelAccessToken
	ev := Text(user, "hi", clk.Now())
	s.RegisterTokens(s.Payload(ev))
	reply := `{"replyToken":"` + ev["replyToken"].(string) + `","messages":[{"type":"text","text":"hello"}]}`
	if st, _, _ := call(t, s, "POST", "/v2/bot/message/reply", "wrong", nil, reply); st != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", st)
	}
	if st, out, _ := call(t, s, "POST", "/v2/bot/message/reply", tok, nil, reply); st != http.StatusOK || out["sentMessages"] == nil {
		t.Fatalf("reply: %d %v", st, out)
	}
	if st, out, _ := call(t, s, "POST", "/v2/bot/message/reply", tok, nil, reply); st != http.StatusBadRequest || out["message"] != "Invalid reply token" {
		t.Fatalf("second use: %d %v", st, out)
	}
	ev2 := Text(user, "hi again", clk.Now())
	s.RegisterTokens(s.Payload(ev2))
	clk.Advance(61 * time.Second)
	if st, _, _ := call(t, s, "POST", "/v2/bot/message/reply", tok, nil, strings.Replace(reply, ev["replyToken"].(string), ev2["replyToken"].(string), 1)); st != http.StatusBadRequest {
		t.Fatalf("expired token: %d", st)
	}
	if got := s.Received(user); len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
}

func TestPushRetryKeyAndBlock(t *testing.T) {
	s, _ := start(t)
	tok := s.Options().ChannelAccessToken
	push := `{"to":"` + user + `","messages":[{"type":"text","text":"hello"}]}`
	key := map[string]string{"X-Line-Retry-Key": "123e4567-e89b-12d3-a456-426614174000"}
	st, first, _ := call(t, s, "POST", "/v2/bot/message/push", tok, key, push)
	if st != http.StatusOK {
		t.Fatalf("push: %d %v", st, first)
	}
	st, again, h := call(t, s, "POST", "/v2/bot/message/push", tok, key, push)
	if st != http.StatusConflict || again["message"] != "The retry key is already accepted" || h.Get("X-Line-Accepted-Request-Id") == "" {
		t.Fatalf("same key: %d %v", st, again)
	}
	a, _ := json.Marshal(first["sentMessages"])
	b, _ := json.Marshal(again["sentMessages"])
	if !bytes.Equal(a, b) {
		t.Fatalf("409 ids %s, first %s", b, a)
	}
	if st, _, _ := call(t, s, "POST", "/v2/bot/message/push", tok, map[string]string{"X-Line-Retry-Key": "not-a-uuid"}, push); st != http.StatusBadRequest {
		t.Fatalf("bad key: %d", st)
	}
	if st, _, _ := call(t, s, "POST", "/v2/bot/message/push", tok, nil, `{"to":"someone","messages":[{"type":"text","text":"x"}]}`); st != http.StatusBadRequest {
		t.Fatalf("bad to: %d", st)
	}
	s.Block(user)
	if st, _, _ := call(t, s, "POST", "/v2/bot/message/push", tok, nil, push); st != http.StatusOK {
		t.Fatalf("blocked user: %d", st)
	}
	if len(s.Received(user)) != 1 || len(s.Messages()) != 2 {
		t.Fatalf("received %d, messages %d", len(s.Received(user)), len(s.Messages()))
	}
}

func TestValidation(t *testing.T) {
	s, _ := start(t)
	tok := s.Options().ChannelAccessToken
	for name, msg := range map[string]string{
		"empty text":     `{"type":"text","text":""}`,
		"long label":     `{"type":"text","text":"x","quickReply":{"items":[{"type":"action","action":{"type":"postback","label":"123456789012345678901","data":"a"}}]}}`,
		"14 quick":       `{"type":"text","text":"x","quickReply":{"items":[` + strings.TrimSuffix(strings.Repeat(`{"type":"action","action":{"type":"message","label":"a","text":"a"}},`, 14), ",") + `]}}`,
		"5 buttons":      `{"type":"template","altText":"a","template":{"type":"buttons","text":"t","actions":[` + strings.TrimSuffix(strings.Repeat(`{"type":"uri","label":"a","uri":"https://x"},`, 5), ",") + `]}}`,
		"uneven columns": `{"type":"template","altText":"a","template":{"type":"carousel","columns":[{"text":"a","actions":[{"type":"uri","label":"a","uri":"https://x"}]},{"text":"b","actions":[{"type":"uri","label":"a","uri":"https://x"},{"type":"uri","label":"b","uri":"https://x"}]}]}}`,
		"no altText":     `{"type":"template","template":{"type":"buttons","text":"t","actions":[{"type":"uri","label":"a","uri":"https://x"}]}}`,
		"http image":     `{"type":"image","originalContentUrl":"http://x/a.jpg","previewImageUrl":"https://x/a.jpg"}`,
		"data too long":  `{"type":"template","altText":"a","template":{"type":"buttons","text":"t","actions":[{"type":"postback","label":"a","data":"` + strings.Repeat("d", 301) + `"}]}}`,
		"unknown type":   `{"type":"hologram"}`,
	} {
		st, out, _ := call(t, s, "POST", "/v2/bot/message/push", tok, nil, `{"to":"`+user+`","messages":[`+msg+`]}`)
		if st != http.StatusBadRequest || out["details"] == nil {
			t.Errorf("%s: %d %v", name, st, out)
		}
	}
	if st, _, _ := call(t, s, "POST", "/v2/bot/message/push", tok, nil, `{"to":"`+user+`","messages":[]}`); st != http.StatusBadRequest {
		t.Errorf("no messages: %d", st)
	}
	if len(s.Messages()) != 0 {
		t.Fatal("an invalid message was accepted")
	}
}

func TestWebhooksAndSandbox(t *testing.T) {
	s, _ := start(t)
	var got []*http.Request
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, bodies = append(got, r), append(bodies, b)
	}))
	defer hook.Close()
	secret := s.Options().ChannelSecret
	resp, err := s.Says(hook.URL, secret, user, "Hello, world")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = s.Taps(hook.URL, secret, user, "opt_b", "Medium")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got) != 2 {
		t.Fatalf("%d webhooks", len(got))
	}
	for i, r := range got {
		if r.Header.Get("X-Line-Signature") != Sign(secret, bodies[i]) {
			t.Fatalf("webhook %d not signed", i)
		}
	}
	var env struct {
		Destination string `json:"destination"`
		Events      []struct {
			Type       string `json:"type"`
			ReplyToken string `json:"replyToken"`
			Postback   struct {
				Data string `json:"data"`
			} `json:"postback"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			WebhookEventID string `json:"webhookEventId"`
		} `json:"events"`
	}
	_ = json.Unmarshal(bodies[1], &env)
	if env.Destination != s.Options().BotUserID || env.Events[0].Type != "postback" || env.Events[0].Postback.Data != "opt_b|Medium" ||
		len(env.Events[0].WebhookEventID) != 26 {
		t.Fatalf("tap webhook %s", bodies[1])
	}
	// The reply token of a delivered webhook is honoured.
	tok := s.Options().ChannelAccessToken
	if st, out, _ := call(t, s, "POST", "/v2/bot/message/reply", tok, nil, `{"replyToken":"`+env.Events[0].ReplyToken+`","messages":[{"type":"text","text":"ok"}]}`); st != http.StatusOK {
		t.Fatalf("reply to a delivered webhook: %d %v", st, out)
	}
	if len(s.Received(user)) != 1 {
		t.Fatal("Received does not list the reply")
	}
}

func TestWebhookIDs(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	a, b := NewWebhookEventID(at), NewWebhookEventID(at)
	if len(a) != 26 || a == b || a[:10] != b[:10] || strings.Trim(a, crockford) != "" {
		t.Fatalf("ids %s %s", a, b)
	}
	if later := NewWebhookEventID(at.Add(time.Hour)); later[:10] <= a[:10] {
		t.Fatalf("ids do not sort by time: %s then %s", a, later)
	}
	if id := NewMessageID(); len(id) != 18 || strings.Trim(id, "0123456789") != "" {
		t.Fatalf("message id %s", id)
	}
}

func TestDeliverSigned(t *testing.T) {
	s, clk := start(t)
	var bodies [][]byte
	var sigs []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies, sigs = append(bodies, b), append(sigs, r.Header.Get(SignatureHeader))
		_, _ = io.WriteString(w, `{"accepted":1}`)
	}))
	defer hook.Close()
	st, body, err := s.DeliverSigned(hook.URL, "sec", "alice", "Alice", "Medium", "opt_b", clk.Now())
	if err != nil || st != http.StatusOK || body != `{"accepted":1}` {
		t.Fatalf("%d %q %v", st, body, err)
	}
	if sigs[0] != Sign("sec", bodies[0]) || !strings.Contains(string(bodies[0]), `"data":"opt_b|Medium"`) ||
		!strings.Contains(string(bodies[0]), `"userId":"`+UserIDFor("alice")+`"`) {
		t.Fatalf("webhook %s", bodies[0])
	}
	if UserIDFor("alice") != UserIDFor("alice") || !chatID.MatchString(UserIDFor("alice")) || UserIDFor(user) != user {
		t.Fatal("UserIDFor")
	}
}
