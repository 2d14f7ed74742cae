package chat

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
)

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *env) dial(t *testing.T, token string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+"/chat/"+e.poc.ID+"/ws?token="+token,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://shop.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// next reads frames until one of type typ.
func (c *client) next(typ string) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatal(err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

func render(t *testing.T, id string, c content.Content) *channel.OutboundMessage {
	t.Helper()
	r, err := content.Render(content.ChannelChat, c, content.RenderOptions{MessageID: id})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(r)
	cj, _ := json.Marshal(c)
	return &channel.OutboundMessage{ID: id, Text: r.Text, Content: cj, Rendered: raw, AuthorType: "agent", AuthorName: "Sam"}
}

var quickReplies = content.Content{Type: content.TypeQuickReplies, Text: "Was this helpful?", Options: []content.Option{
	{ID: "yes", Label: "Yes", Postback: "SECRET_POSTBACK"}, {ID: "no", Label: "No"}}}

func TestWebSocketRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	s := e.session(t, nil)
	c := e.dial(t, s.Token)
	if h := c.next("history"); h["messages"] != nil {
		t.Fatalf("new visitor has history: %v", h)
	}
	other := e.dial(t, s.Token) // a second tab
	other.next("history")

	// Visitor → Ingest, with the visitor as thread and author.
	c.send(map[string]any{"type": "message", "client_id": "c0000001-aaaa", "text": "Hello, is my order shipped?"})
	ack := c.next("ack")
	ev := e.inbox.waitEvent(t, func(ev channel.InboundEvent) bool { return ev.Kind == channel.EventMessage })
	if ev.Text != "Hello, is my order shipped?" || ev.ThreadID != s.VisitorID || ev.AuthorID != s.VisitorID || ev.PlatformMessageID != s.VisitorID+"|c0000001-aaaa" {
		t.Fatalf("event: %+v", ev)
	}
	if ack["client_id"] != "c0000001-aaaa" || ack["message_id"] != "in-1" {
		t.Fatalf("ack: %v", ack)
	}
	if m := other.next("message"); m["client_id"] != "c0000001-aaaa" || m["direction"] != "inbound" || m["text"] != "Hello, is my order shipped?" {
		t.Fatalf("other tab: %v", m)
	}
	// A resend after a reconnect is deduplicated by client id.
	c.send(map[string]any{"type": "message", "client_id": "c0000001-aaaa", "text": "Hello, is my order shipped?"})
	if ack := c.next("ack"); ack["message_id"] != "in-1" {
		t.Fatalf("dedupe: %v", ack)
	}
	e.inbox.waitEvent(t, func(ev channel.InboundEvent) bool { return ev.PlatformMessageID == s.VisitorID+"|c0000001-aaaa" })

	// Agent → Send → every tab; the prompt (postbacks) never reaches the browser.
	msg := render(t, "out-1", quickReplies)
	msg.ThreadExternalID = s.VisitorID
	e.inbox.addOutbound(s.VisitorID, msg)
	res, err := e.a.Send(context.Background(), e.poc, msg)
	if err != nil || res.PlatformMessageID != "out-1" {
		t.Fatalf("send: %+v %v", res, err)
	}
	for _, cl := range []*client{c, other} {
		m := cl.next("message")
		native, _ := m["native"].(map[string]any)
		if m["id"] != "out-1" || m["direction"] != "outbound" || m["author_name"] != "Sam" || native["type"] != "quick_replies" {
			t.Fatalf("pushed: %v", m)
		}
		b, _ := json.Marshal(m)
		if strings.Contains(string(b), "SECRET_POSTBACK") || strings.Contains(string(b), "prompt") {
			t.Fatalf("postback leaked: %s", b)
		}
	}
	// The visitor taps a quick reply.
	c.send(map[string]any{"type": "message", "client_id": "c0000002-bbbb", "text": "Yes", "choice_id": "yes", "message_id": "out-1"})
	c.next("ack")
	ev = e.inbox.waitEvent(t, func(ev channel.InboundEvent) bool { return ev.Kind == channel.EventMessage })
	if ev.ChoiceID != "yes" || ev.Text != "Yes" || ev.ReplyToPlatformID != "out-1" {
		t.Fatalf("choice: %+v", ev)
	}
	// A form.
	c.send(map[string]any{"type": "form", "client_id": "c0000003-cccc", "prompt_id": "out-1", "values": map[string]string{"name": "Ana"}})
	c.next("ack")
	if ev = e.inbox.waitEvent(t, func(ev channel.InboundEvent) bool { return ev.Kind == channel.EventMessage }); ev.Text != "name: Ana" || ev.ChoiceID != "" {
		t.Fatalf("form: %+v", ev)
	}
	// Read receipts: only for messages this widget was shown.
	c.send(map[string]any{"type": "read", "message_id": "someone-elses"})
	c.send(map[string]any{"type": "read", "message_id": "out-1"})
	ev = e.inbox.waitEvent(t, func(ev channel.InboundEvent) bool { return ev.Kind == channel.EventStatus })
	if ev.StatusMessageID != "out-1" || ev.Status != "read" {
		t.Fatalf("read: %+v", ev)
	}
	// Typing and read marks from the agent's side.
	if err := e.a.Typing(context.Background(), e.poc, s.VisitorID, s.VisitorID, true); err != nil {
		t.Fatal(err)
	}
	if m := c.next("typing"); m["on"] != true {
		t.Fatalf("typing: %v", m)
	}
	if err := e.a.MarkRead(context.Background(), e.poc, s.VisitorID+"|c0000001-aaaa"); err != nil {
		t.Fatal(err)
	}
	if m := c.next("status"); m["client_id"] != "c0000001-aaaa" || m["status"] != "read" {
		t.Fatalf("status: %v", m)
	}
	// Bad frames get an error, the connection stays.
	c.send(map[string]any{"type": "message", "client_id": "c0000004-dddd", "text": strings.Repeat("x", 4001)})
	if m := c.next("error"); !strings.Contains(m["error"].(string), "at most 4000") {
		t.Fatalf("error: %v", m)
	}

	// Reconnect (reload): the history has both directions, with client ids.
	c.ws.Close(websocket.StatusNormalClosure, "")
	other.ws.Close(websocket.StatusNormalClosure, "")
	again := e.dial(t, s.Token)
	h := again.next("history")
	msgs, _ := h["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("history: %v", h)
	}
	first, second := msgs[0].(map[string]any), msgs[1].(map[string]any)
	if first["client_id"] != "c0000001-aaaa" || first["direction"] != "inbound" || second["id"] != "out-1" || second["native"] == nil {
		t.Fatalf("history messages: %v", msgs)
	}
	var hist struct{ Messages []map[string]any }
	e.do(t, "GET", "/chat/"+e.poc.ID+"/history?token="+s.Token, "https://shop.example", nil, 200, &hist)
	if len(hist.Messages) != 4 {
		t.Fatalf("GET history: %v", hist)
	}
}

func TestIngestFailureIsReported(t *testing.T) {
	e := newEnv(t, nil)
	s := e.session(t, nil)
	c := e.dial(t, s.Token)
	e.inbox.mu.Lock()
	e.inbox.fail = true
	e.inbox.mu.Unlock()
	c.send(map[string]any{"type": "message", "client_id": "c0000001-aaaa", "text": "hi"})
	if m := c.next("error"); m["client_id"] != "c0000001-aaaa" || m["error"] != "not_stored" {
		t.Fatalf("%v", m)
	}
}

func TestOfflineVisitorContinuesByEmail(t *testing.T) {
	e := newEnv(t, map[string]any{SettingOfflineEmailAfter: "150ms", SettingPrechatForm: map[string]any{"enabled": true,
		"fields": []any{map[string]any{"name": "email", "label": "Email", "type": "email", "required": true}}}})
	s := e.session(t, map[string]any{"prechat": map[string]string{"email": "ana@example.com"}})
	c := e.dial(t, s.Token)
	c.next("history")
	// Connected: pushed, no email.
	m1 := render(t, "out-1", content.Content{Type: content.TypeText, Text: "Hi!"})
	m1.ThreadExternalID = s.VisitorID
	if _, err := e.a.Send(context.Background(), e.poc, m1); err != nil {
		t.Fatal(err)
	}
	c.next("message")
	// Left: the next answer goes by email once they have been away 150ms.
	c.ws.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(2 * time.Second)
	for e.a.hub.count(e.poc.ID, s.VisitorID) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	m2 := render(t, "out-2", content.Content{Type: content.TypeText, Text: "Your order shipped."})
	m2.ThreadExternalID = s.VisitorID
	if res, err := e.a.Send(context.Background(), e.poc, m2); err != nil || res.PlatformMessageID != "out-2" {
		t.Fatal(res, err)
	}
	select {
	case got := <-e.email.ch:
		if got != "ana@example.com out-2" {
			t.Fatalf("email: %s", got)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no email")
	}
	// Coming back before the delay cancels the email.
	m3 := render(t, "out-3", content.Content{Type: content.TypeText, Text: "Anything else?"})
	m3.ThreadExternalID = s.VisitorID
	e.a.hub.mu.Lock()
	e.a.hub.visitors[visitorKey(e.poc.ID, s.VisitorID)].lastSeen = time.Now()
	e.a.hub.mu.Unlock()
	if _, err := e.a.Send(context.Background(), e.poc, m3); err != nil {
		t.Fatal(err)
	}
	back := e.dial(t, s.Token)
	back.next("history")
	select {
	case got := <-e.email.ch:
		t.Fatalf("emailed a visitor who came back: %s", got)
	case <-time.After(400 * time.Millisecond):
	}
}

func TestSlowClientIsDropped(t *testing.T) {
	c := &conn{send: make(chan []byte, 2), done: make(chan struct{})}
	c.push([]byte("1"))
	c.push([]byte("2"))
	c.push([]byte("3"))
	select {
	case <-c.done:
		if c.reason != "too slow" {
			t.Errorf("reason %q", c.reason)
		}
	default:
		t.Error("a full buffer must drop the connection")
	}
}
