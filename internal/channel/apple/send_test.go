package apple

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/apple/fake"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the requests the gateway accepted (the headers that
// address a message, and the JSON body) with a golden file; the fake's
// address (a free port) is written as http://gateway.test.
func golden(t *testing.T, name string, gateway string, reqs []fake.Request) {
	t.Helper()
	out := []any{}
	for _, r := range reqs {
		var body any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("body is not JSON: %s", r.Body)
		}
		headers := map[string]string{}
		for _, h := range []string{"Content-Type", "Id", "Source-Id", "Destination-Id", "Auto-Reply"} {
			headers[h] = r.Header.Get(h)
		}
		out = append(out, map[string]any{"headers": headers, "body": body})
	}
	got, _ := json.MarshalIndent(out, "", "  ")
	got = append(bytes.ReplaceAll(got, []byte(gateway), []byte("http://gateway.test")), '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// files serves outbound attachments as the core's signed URLs do.
func files(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/files/parcel.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write([]byte("\xff\xd8\xff\xe0 the parcel, photographed"))
		case "/files/gone.jpg":
			http.Error(w, "expired", http.StatusForbidden)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSendGolden(t *testing.T) {
	custom := json.RawMessage(`{"type":"interactive","interactiveData":{"bid":"com.apple.messages.MSMessageExtensionBalloonPlugin:ABCDE12345:com.example.shop.extension","appId":"1234567890","appName":"Shop","URL":"?order=123","receivedMessage":{"title":"Pay your order","subtitle":"54.00 EUR"},"replyMessage":{"title":"Paid"},"useLiveLayout":true}}`)
	cases := []struct {
		name    string
		content *content.Content
		text    string
		files   []string
		caps    string // the customer's capability list ("" unknown)
		parts   int
	}{
		{name: "text", text: "Hello Ana, how can we help?", parts: 1},
		{name: "rendered_text", content: &content.Content{Type: content.TypeText, Text: "Your order #123 has shipped."}, parts: 1},
		{name: "image", text: "Here is the photo of your parcel", files: []string{"parcel.jpg"}, parts: 1},
		{name: "quick_replies", content: ptr(quickContent()), parts: 1},
		{name: "list_picker", content: ptr(listContent(false)), parts: 1},
		{name: "list_picker_multi", content: ptr(listContent(true)), parts: 1},
		{name: "time_picker", content: ptr(timeContent()), parts: 1},
		{name: "form", content: ptr(formContent()), parts: 1},
		{name: "rich_link", content: &content.Content{Type: content.TypeRichLink, Text: "Here is our winter catalogue:",
			Link: &content.Link{URL: "https://example.com/winter", Title: "Winter catalogue", ImageURL: "https://example.com/winter.jpg"}}, parts: 1},
		{name: "app_extension_override", content: &content.Content{Type: content.TypeText, Text: "Pay your order",
			Overrides: map[string]json.RawMessage{Type: custom}}, parts: 1},
		{name: "list_picker_then_image", content: ptr(listContent(false)), files: []string{"parcel.jpg"}, parts: 2},
		// A device without LIST gets the list as numbered text.
		{name: "list_picker_without_capability", content: ptr(listContent(false)), caps: "TIME,QUICK", parts: 1},
		{name: "quick_replies_without_capability", content: ptr(quickContent()), caps: "LIST", parts: 1},
	}
	fx := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := fx.env(t)
			srv := files(t)
			if tc.caps != "" {
				req, body := e.request(t, fake.Delivery{Message: fake.TypingStart(fake.NewMessageID(), customer, e.fk.Options().BusinessID), Capabilities: tc.caps})
				if _, err := e.a.Parse(req, body, e.poc); err != nil {
					t.Fatal(err)
				}
			}
			msg := &channel.OutboundMessage{ID: messageID, RecipientID: customer, ThreadExternalID: customer, Text: tc.text, AuthorType: "agent",
				LastInboundAt: e.clock.Now().Add(-time.Hour)}
			if tc.content != nil {
				msg = e.outbound(t, e.render(t, *tc.content))
			}
			for _, f := range tc.files {
				msg.Attachments = append(msg.Attachments, channel.OutboundAttachment{ID: "att-" + f, Name: f, MimeType: "image/jpeg", Size: 31, URL: srv.URL + "/files/" + f + "?sig=abc"})
			}
			res, err := e.a.Send(context.Background(), e.poc, msg)
			if err != nil {
				t.Fatal(err)
			}
			if res.PlatformMessageID != messageID {
				t.Fatalf("platform id %q, want the message's id", res.PlatformMessageID)
			}
			sent := e.fk.Messages()
			if len(sent) != tc.parts {
				t.Fatalf("%d messages sent, want %d", len(sent), tc.parts)
			}
			golden(t, tc.name, e.fk.URL(), sent)
			for _, r := range e.fk.Requests() {
				if r.Status != http.StatusOK {
					t.Fatalf("%s %s answered %d: %s", r.Method, r.Path, r.Status, r.Body)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// The uploaded attachment is the file, encrypted with the key the message
// gives the device.
func TestSendAttachmentRoundTrip(t *testing.T) {
	e := newEnv(t)
	srv := files(t)
	msg := &channel.OutboundMessage{ID: messageID, RecipientID: customer, Text: "Photo", AuthorType: "bot", LastInboundAt: e.clock.Now().Add(-time.Minute),
		Attachments: []channel.OutboundAttachment{{Name: "parcel.jpg", MimeType: "image/jpeg", URL: srv.URL + "/files/parcel.jpg"}}}
	if _, err := e.a.Send(context.Background(), e.poc, msg); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Body        string     `json:"body"`
		Attachments []uploaded `json:"attachments"`
	}
	sent := e.fk.Messages()
	if err := json.Unmarshal(sent[0].Body, &body); err != nil || len(body.Attachments) != 1 {
		t.Fatalf("%s: %v", sent[0].Body, err)
	}
	data, err := e.fk.Uploaded(body.Attachments[0].URL, body.Attachments[0].Key)
	if err != nil || string(data) != "\xff\xd8\xff\xe0 the parcel, photographed" {
		t.Fatalf("got %q, %v", data, err)
	}
	if body.Body != "Photo\n\uFFFC" || sent[0].Header.Get("Auto-Reply") != "true" {
		t.Fatalf("body %q, auto-reply %q", body.Body, sent[0].Header.Get("Auto-Reply"))
	}
}

func sendText(t *testing.T, e *env) error {
	t.Helper()
	_, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{ID: messageID, RecipientID: customer, Text: "Hello",
		LastInboundAt: e.clock.Now().Add(-time.Hour)})
	return err
}

func sendError(t *testing.T, err error) *channel.SendError {
	t.Helper()
	var se *channel.SendError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *channel.SendError", err)
	}
	return se
}

func TestSendErrors(t *testing.T) {
	fx := newFixture(t)
	t.Run("429 with Retry-After", func(t *testing.T) {
		e := fx.env(t)
		e.fk.FailNext(fake.RateLimited("7"))
		se := sendError(t, sendText(t, e))
		if !se.Retryable || se.RetryAfter != 7*time.Second || se.Code != "429" {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		e := fx.env(t)
		e.fk.FailNext(fake.ServerError())
		if se := sendError(t, sendText(t, e)); !se.Retryable || se.Code != "503" {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("network", func(t *testing.T) {
		e := fx.env(t)
		e.fk.Close()
		if se := sendError(t, sendText(t, e)); !se.Retryable {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("400 permanent with the reason", func(t *testing.T) {
		e := fx.env(t)
		e.fk.FailNext(fake.BadRequest("body is too long"))
		se := sendError(t, sendText(t, e))
		if se.Retryable || se.Code != "400" || se.Reason != "body is too long" || se.Unreachable {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("401 with a wrong secret", func(t *testing.T) {
		e := fx.env(t)
		o := e.fk.Options()
		poc := createPOC(t, map[string]any{SettingBusinessID: o.BusinessID, SettingAPIBaseURL: e.fk.URL()},
			map[string]string{CredentialMSPID: o.MSPID, CredentialMSPSecret: "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="})
		_, err := e.a.Send(context.Background(), poc, &channel.OutboundMessage{ID: messageID, RecipientID: customer, Text: "Hello", LastInboundAt: e.clock.Now()})
		if se := sendError(t, err); se.Retryable || se.Code != "401" || !strings.Contains(se.Reason, "invalid token") {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("410 unreachable", func(t *testing.T) {
		e := fx.env(t)
		e.fk.Block(customer)
		se := sendError(t, sendText(t, e))
		if se.Retryable || !se.Unreachable || se.Code != "410" {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("a later part fails: permanent, says what went out", func(t *testing.T) {
		e := fx.env(t)
		srv := files(t)
		msg := e.outbound(t, e.render(t, listContent(false)))
		msg.Attachments = []channel.OutboundAttachment{{Name: "parcel.jpg", MimeType: "image/jpeg", URL: srv.URL + "/files/parcel.jpg"}}
		e.fk.FailNext(fake.Failure{Endpoint: "message", After: 1, Status: http.StatusServiceUnavailable, Message: "busy"})
		_, err := e.a.Send(context.Background(), e.poc, msg)
		se := sendError(t, err)
		if se.Retryable || !strings.Contains(se.Reason, "part 2 of 2") || len(e.fk.Messages()) != 1 {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("upload fails before anything is sent: retryable", func(t *testing.T) {
		e := fx.env(t)
		srv := files(t)
		e.fk.FailNext(fake.Failure{Endpoint: "preUpload", Status: http.StatusServiceUnavailable, Message: "busy"})
		_, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{ID: messageID, RecipientID: customer, LastInboundAt: e.clock.Now(),
			Attachments: []channel.OutboundAttachment{{Name: "parcel.jpg", MimeType: "image/jpeg", URL: srv.URL + "/files/parcel.jpg"}}})
		if se := sendError(t, err); !se.Retryable || !strings.HasPrefix(se.Reason, "preUpload: ") || len(e.fk.Messages()) != 0 {
			t.Fatalf("got %+v", se)
		}
	})
	t.Run("attachment URL refused: permanent", func(t *testing.T) {
		e := fx.env(t)
		srv := files(t)
		_, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{ID: messageID, RecipientID: customer, LastInboundAt: e.clock.Now(),
			Attachments: []channel.OutboundAttachment{{Name: "gone.jpg", MimeType: "image/jpeg", URL: srv.URL + "/files/gone.jpg"}}})
		if se := sendError(t, err); se.Retryable || se.Code != "403" {
			t.Fatalf("got %+v", se)
		}
	})
}

// A business cannot start a conversation on Apple Messages for Business.
func TestProactiveRefused(t *testing.T) {
	e := newEnv(t)
	if e.a.Proactive() != channel.ProactiveNever {
		t.Fatalf("Proactive() = %s", e.a.Proactive())
	}
	_, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{ID: messageID, RecipientID: customer, Text: "Hello, new customer!"})
	if se := sendError(t, err); se.Retryable || !strings.Contains(se.Reason, "start a conversation") {
		t.Fatalf("got %+v", se)
	}
	_, err = e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{ID: messageID, RecipientID: customer, LastInboundAt: e.clock.Now(),
		Template: &channel.TemplateMessage{Name: "welcome"}})
	if se := sendError(t, err); se.Retryable {
		t.Fatalf("got %+v", se)
	}
	if n := len(e.fk.Requests()); n != 0 {
		t.Fatalf("%d requests reached the gateway", n)
	}
}

func TestPolicies(t *testing.T) {
	a := New(nil, nil)
	if a.MaxAttachments() != MaxAttachments || a.RateLimit().PerSecond <= 0 || a.RateLimit().Burst < 1 || a.Type() != "apple_messages" {
		t.Fatal("policies")
	}
	if _, ok := any(a).(channel.WindowPolicy); ok {
		t.Fatal("Apple Messages for Business has no reply window")
	}
}

func TestTyping(t *testing.T) {
	e := newEnv(t)
	if err := e.a.Typing(context.Background(), e.poc, customer, customer, true); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Typing(context.Background(), e.poc, customer, "", false); err != nil {
		t.Fatal(err)
	}
	typing := e.fk.Typing()
	if len(typing) != 2 || len(e.fk.Messages()) != 0 {
		t.Fatalf("got %d typing requests", len(typing))
	}
	for i, want := range []string{"typing_start", "typing_end"} {
		var m map[string]any
		_ = json.Unmarshal(typing[i].Body, &m)
		if m["type"] != want || m["destinationId"] != customer {
			t.Fatalf("got %v", m)
		}
	}
	if err := e.a.MarkRead(context.Background(), e.poc, "x"); err != nil {
		t.Fatal(err)
	}
}

// A native payload the gateway could not take is refused before sending.
func TestSendRefusesBadNative(t *testing.T) {
	e := newEnv(t)
	for name, native := range map[string]string{
		"not an object":              `[1,2]`,
		"unknown type":               `{"type":"carousel"}`,
		"interactive without bid":    `{"type":"interactive","interactiveData":{"data":{}}}`,
		"text without body":          `{"type":"text"}`,
		"rich link without its data": `{"type":"richLink"}`,
	} {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(map[string]any{"type": "override", "native": json.RawMessage(native), "text": "fallback"})
			_, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{ID: messageID, RecipientID: customer, Rendered: raw, LastInboundAt: e.clock.Now()})
			if se := sendError(t, err); se.Retryable {
				t.Fatalf("got %+v", se)
			}
		})
	}
	if len(e.fk.Requests()) != 0 {
		t.Fatal("a refused payload reached the gateway")
	}
}

// Parley's message ids are UUIDs and go out as they are; any other id gets
// a stable UUID of its own.
func TestMessageUUID(t *testing.T) {
	if got := messageUUID(messageID); got != messageID {
		t.Fatalf("got %s", got)
	}
	a, b := messageUUID("msg-1"), messageUUID("msg-1")
	if a != b || len(a) != 36 || a == messageUUID("msg-2") {
		t.Fatalf("got %s %s", a, b)
	}
}
