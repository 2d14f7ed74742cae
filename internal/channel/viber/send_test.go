package viber

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
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/viber/fake"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the exact request bodies the fake received (indented,
// keys in the order sent) with a golden file.
func golden(t *testing.T, name string, msgs []fake.Message) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("[\n  ")
	for i, m := range msgs {
		if i > 0 {
			b.WriteString(",\n  ")
		}
		if err := json.Indent(&b, m.Body, "  ", "  "); err != nil {
			t.Fatalf("body is not JSON: %s", m.Body)
		}
	}
	b.WriteString("\n]\n")
	got := b.Bytes()
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

// render renders canonical content for Viber as the core does: the
// content engine, then the adapter's native upgrade.
func render(t *testing.T, c content.Content) (content.Rendered, json.RawMessage) {
	t.Helper()
	base, err := content.Render(Type, c, content.RenderOptions{MessageID: "msg-1"})
	if err != nil {
		t.Fatal(err)
	}
	r := base
	if up, ok := New(nil, nil).RenderNative(c, base); ok {
		r = up
		r.Channel = Type
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return r, raw
}

func pizzas(n int, describe bool) []content.Option {
	names := []string{"Margherita", "Marinara", "Quattro formaggi", "Diavola", "Capricciosa", "Napoli", "Funghi", "Prosciutto", "Vegetariana", "Calzone"}
	var out []content.Option
	for i := 0; i < n; i++ {
		o := content.Option{ID: "pizza_" + strconv.Itoa(i+1), Label: names[i%len(names)]}
		if describe {
			o.Description = "30 cm, wood-fired"
		}
		out = append(out, o)
	}
	return out
}

func quickReplies() content.Content {
	return content.Content{Type: content.TypeQuickReplies, Title: "Support", Text: "Did that solve it?",
		Options: []content.Option{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}, {ID: "agent", Label: "Talk to a person"}}}
}

func carousel() content.Content {
	return content.Content{Type: content.TypeCarousel, Text: "Our best sellers this week:", Items: []content.Card{
		{Title: "Trail shoe", Subtitle: "Grip & comfort, 89 €", MediaURL: "https://shop.example/img/trail.jpg", URL: "https://shop.example/p/trail",
			Actions: []content.Option{{ID: "buy_trail", Label: "Buy"}, {ID: "info_trail", Label: "Size guide", Kind: content.OptionURL, Postback: "https://shop.example/sizes"}}},
		{Title: "Road shoe", Subtitle: "Light, 99 €", MediaURL: "https://shop.example/img/road.jpg",
			Actions: []content.Option{{ID: "buy_road", Label: "Buy"}}},
	}}
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t, nil)
	pic := channel.OutboundAttachment{ID: "att1", Name: "photo.jpg", MimeType: "image/jpeg", Size: 48213, URL: "https://parley.example/files/att1?exp=1795000000&sig=ab12"}
	pdf := channel.OutboundAttachment{ID: "att2", Name: "invoice-2026-11.pdf", MimeType: "application/pdf", Size: 183004, URL: "https://parley.example/files/att2?exp=1795000000&sig=cd34"}
	rendered := func(c content.Content) json.RawMessage { _, raw := render(t, c); return raw }
	cases := []struct {
		name  string
		msg   channel.OutboundMessage
		parts int
	}{
		{"text", channel.OutboundMessage{Text: "Hello Ana, how can we help?"}, 1},
		{"image", channel.OutboundMessage{Text: "Here is the photo", Attachments: []channel.OutboundAttachment{pic}}, 1},
		{"file", channel.OutboundMessage{Text: "Your invoice", Attachments: []channel.OutboundAttachment{pdf}}, 2},
		{"quick_replies", channel.OutboundMessage{Text: "Did that solve it?", Rendered: rendered(quickReplies())}, 1},
		{"quick_replies_with_image", channel.OutboundMessage{Text: "Did that solve it?", Rendered: rendered(quickReplies()),
			Attachments: []channel.OutboundAttachment{pic}}, 2},
		{"list_picker", channel.OutboundMessage{Text: "Pick a pizza", Rendered: rendered(content.Content{Type: content.TypeListPicker,
			Title: "Menu", Text: "Pick a pizza", Options: pizzas(4, true)})}, 1},
		{"list_picker_numbered_text", channel.OutboundMessage{Text: "Pick pizzas", Rendered: rendered(content.Content{Type: content.TypeListPicker,
			Text: "Pick your pizzas", MultiSelect: true, Options: pizzas(3, false)})}, 1},
		{"time_picker", channel.OutboundMessage{Text: "Which time suits you?", Rendered: rendered(content.Content{Type: content.TypeTimePicker,
			Text: "Which time suits you?", Timezone: "Europe/Lisbon", Location: &content.Location{Latitude: 38.72, Longitude: -9.14, Title: "Acme Store", Address: "Rua Augusta 1, Lisboa"},
			Slots: []content.TimeSlot{{ID: "s1", Start: "2026-11-25T09:00:00Z", DurationSec: 1800}, {ID: "s2", Start: "2026-11-25T14:00:00Z", DurationSec: 1800}}})}, 1},
		{"carousel", channel.OutboundMessage{Text: "Our best sellers", Rendered: rendered(carousel())}, 2},
		{"card", channel.OutboundMessage{Text: "Your order", Rendered: rendered(content.Content{Type: content.TypeCard, Title: "Order A-123",
			Text: "Shipped today", Media: &content.Media{URL: "https://shop.example/img/box.png", MimeType: "image/png"},
			Link: &content.Link{URL: "https://shop.example/track/A-123"}, Options: []content.Option{{ID: "ok", Label: "Thanks"}, {ID: "help", Label: "I need help"}}})}, 1},
		{"picture_content", channel.OutboundMessage{Text: "Our menu", Rendered: rendered(content.Content{Type: content.TypeFile, Text: "Our menu",
			Media: &content.Media{URL: "https://shop.example/menu.png", MimeType: "image/png"}})}, 1},
		{"location", channel.OutboundMessage{Text: "Find us", Rendered: rendered(content.Content{Type: content.TypeLocation, Text: "Find us here",
			Location: &content.Location{Latitude: 38.7107, Longitude: -9.1365, Title: "Acme Store", Address: "Rua Augusta 1, Lisboa"}})}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fk.Reset()
			msg := c.msg
			msg.ID, msg.RecipientID, msg.ThreadExternalID = "msg-1", ana.ID, ana.ID
			res, err := e.a.Send(context.Background(), e.poc, &msg)
			if err != nil {
				t.Fatal(err)
			}
			sent := e.fk.Messages()
			if len(sent) != c.parts || len(e.fk.Requests()) != c.parts {
				t.Fatalf("%d messages accepted, %d requests, want %d: %+v", len(sent), len(e.fk.Requests()), c.parts, e.fk.Requests())
			}
			if res.PlatformMessageID != sent[0].Token {
				t.Fatalf("result %q, want the first message's token %q", res.PlatformMessageID, sent[0].Token)
			}
			for _, r := range e.fk.Requests() {
				if r.Token != testToken || r.Path != "/pa/send_message" {
					t.Fatalf("%s with token %q", r.Path, r.Token)
				}
			}
			golden(t, c.name, sent)
		})
	}
}

// TestNativeIsWhatIsSent: a single-message native payload is exactly the
// body sent, receiver and sender aside.
func TestNativeIsWhatIsSent(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []content.Content{quickReplies(), {Type: content.TypeListPicker, Text: "Pick", Options: pizzas(7, false)}} {
		e.fk.Reset()
		r, raw := render(t, c)
		if r.Type != "viber.keyboard" {
			t.Fatalf("type %q", r.Type)
		}
		msg := channel.OutboundMessage{ID: "m", RecipientID: ana.ID, Text: r.Text, Rendered: raw}
		if _, err := e.a.Send(context.Background(), e.poc, &msg); err != nil {
			t.Fatal(err)
		}
		var sent, native map[string]any
		_ = json.Unmarshal(e.fk.Messages()[0].Body, &sent)
		_ = json.Unmarshal(r.Native, &native)
		if sent["receiver"] != ana.ID || !reflect.DeepEqual(sent["sender"], map[string]any{"name": "Acme Support"}) {
			t.Fatalf("receiver %v sender %v", sent["receiver"], sent["sender"])
		}
		delete(sent, "receiver")
		delete(sent, "sender")
		if !reflect.DeepEqual(sent, native) {
			t.Fatalf("sent %v\nnative %v", sent, native)
		}
	}
}

// TestSendTokenPrecision: the message_token (above 2^53) comes back to the
// last digit.
func TestSendTokenPrecision(t *testing.T) {
	e := newEnv(t, nil)
	res, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatInt(fake.FirstMessageToken, 10); res.PlatformMessageID != want {
		t.Fatalf("token %s, want %s", res.PlatformMessageID, want)
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name        string
		fail        fake.Failure
		code        string
		retryable   bool
		unreachable bool
		retryAfter  time.Duration
		reason      string
	}{
		{"rate control", fake.TooManyRequests(), "12", true, false, 0, "tooManyRequests"},
		{"not subscribed", fake.NotSubscribed(), "6", false, true, 0, "receiverNotSubscribed"},
		{"not registered", fake.NotRegistered(), "5", false, true, 0, "receiverNotRegistered"},
		{"invalid token", fake.InvalidAuthToken(), "2", false, false, 0, "invalidAuthToken"},
		{"webhook not set", fake.Failure{Status: 10, StatusMessage: "webhookNotSet"}, "10", false, false, 0, "register this point of contact's webhook"},
		{"api version", fake.APIVersionNotSupported(), "13", false, false, 0, "too old"},
		{"unknown status", fake.Failure{Status: 99, StatusMessage: "something new"}, "99", false, false, 0, "something new"},
		{"throttled", fake.Throttled("7"), "429", true, false, 7 * time.Second, "HTTP 429"},
		{"server error", fake.ServerError(), "500", true, false, 0, "HTTP 500"},
		{"dropped", fake.Failure{Drop: true}, "", true, false, 0, "Viber unreachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fk.Reset()
			e.fk.FailNext(c.fail)
			_, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: "hello"})
			var se *channel.SendError
			if !errors.As(err, &se) {
				t.Fatalf("%v is not a SendError", err)
			}
			if se.Code != c.code || se.Retryable != c.retryable || se.Unreachable != c.unreachable || se.RetryAfter != c.retryAfter || !strings.Contains(se.Reason, c.reason) {
				t.Fatalf("%+v", se)
			}
		})
	}
}

// TestSendRealRefusals: refusals the fake makes on its own, as Viber does.
func TestSendRealRefusals(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.fk.Unsubscribe(ana.ID)
	_, err := e.a.Send(ctx, e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: "hello"})
	var se *channel.SendError
	if !errors.As(err, &se) || se.Code != "6" || !se.Unreachable || se.Retryable {
		t.Fatalf("unsubscribed: %v", err)
	}
	other := e.addPOC(t, "Other", map[string]any{SettingAPIBaseURL: e.fk.URL()}, map[string]string{CredentialAuthToken: "not-the-token"})
	_, err = e.a.Send(ctx, other, &channel.OutboundMessage{RecipientID: "u2", Text: "hello"})
	if !errors.As(err, &se) || se.Code != "2" || se.Retryable {
		t.Fatalf("wrong token: %v", err)
	}
}

// TestSendOldViberFallsBackToText: a customer whose Viber predates
// rich_media (api_version 1) gets the carousel's plain text instead.
func TestSendOldViberFallsBackToText(t *testing.T) {
	e := newEnv(t, nil)
	old := fake.Customer{ID: "old-phone=", Name: "Rui", APIVersion: 1}
	e.fk.Subscribe(old)
	r, raw := render(t, content.Content{Type: content.TypeCard, Title: "Order A-123", Options: []content.Option{{ID: "ok", Label: "Thanks"}}})
	if r.Type != "viber.rich_media" {
		t.Fatalf("type %q", r.Type)
	}
	if _, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{RecipientID: old.ID, Text: r.Text, Rendered: raw}); err != nil {
		t.Fatal(err)
	}
	reqs, msgs := e.fk.Requests(), e.fk.Messages()
	if len(reqs) != 2 || len(msgs) != 1 || msgs[0].Type != "text" {
		t.Fatalf("requests %+v, messages %+v", reqs, msgs)
	}
	var body struct{ Text string }
	_ = json.Unmarshal(msgs[0].Body, &body)
	if body.Text != r.Text {
		t.Fatalf("fallback %q, want %q", body.Text, r.Text)
	}
	// A carousel's introduction went first: the fallback does not repeat it.
	e.fk.Reset()
	e.fk.Subscribe(old)
	r, raw = render(t, carousel())
	if _, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{RecipientID: old.ID, Text: r.Text, Rendered: raw}); err != nil {
		t.Fatal(err)
	}
	msgs = e.fk.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%+v", msgs)
	}
	var intro, rest struct{ Text string }
	_ = json.Unmarshal(msgs[0].Body, &intro)
	_ = json.Unmarshal(msgs[1].Body, &rest)
	if intro.Text != "Our best sellers this week:" || !strings.HasPrefix(rest.Text, "Trail shoe") || intro.Text+"\n\n"+rest.Text != r.Text {
		t.Fatalf("%q then %q", intro.Text, rest.Text)
	}
}

func TestSendLocalRefusals(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cases := map[string]struct {
		msg  channel.OutboundMessage
		code string
	}{
		"no recipient": {channel.OutboundMessage{Text: "hi"}, "no_recipient"},
		"template":     {channel.OutboundMessage{RecipientID: ana.ID, Template: &channel.TemplateMessage{Name: "x"}}, "unsupported"},
		"nothing":      {channel.OutboundMessage{RecipientID: ana.ID}, "empty"},
		"executable": {channel.OutboundMessage{RecipientID: ana.ID, Attachments: []channel.OutboundAttachment{
			{Name: "setup.exe", MimeType: "application/octet-stream", Size: 10, URL: "https://parley.example/files/x"}}}, "bad_attachment"},
		"no size": {channel.OutboundMessage{RecipientID: ana.ID, Attachments: []channel.OutboundAttachment{
			{Name: "a.pdf", MimeType: "application/pdf", URL: "https://parley.example/files/x"}}}, "bad_attachment"},
		"too big": {channel.OutboundMessage{RecipientID: ana.ID, Attachments: []channel.OutboundAttachment{
			{Name: "a.zip", MimeType: "application/zip", Size: 60 << 20, URL: "https://parley.example/files/x"}}}, "bad_attachment"},
		"no url":     {channel.OutboundMessage{RecipientID: ana.ID, Attachments: []channel.OutboundAttachment{{Name: "a.pdf", Size: 3}}}, "bad_attachment"},
		"bad native": {channel.OutboundMessage{RecipientID: ana.ID, Rendered: json.RawMessage(`{"type":"viber.keyboard","native":{"text":"no type"},"text":"x"}`)}, "bad_content"},
	}
	for name, c := range cases {
		_, err := e.a.Send(ctx, e.poc, &c.msg)
		var se *channel.SendError
		if !errors.As(err, &se) || se.Code != c.code || se.Retryable {
			t.Errorf("%s: %v, want permanent %s", name, err, c.code)
		}
	}
	if n := len(e.fk.Requests()); n != 0 {
		t.Fatalf("%d requests reached Viber", n)
	}
}

// TestSendSplitsAndCaptions: text over 7000 characters goes as several
// messages; a caption over 512 characters goes before its picture.
func TestSendSplitsAndCaptions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	long := strings.Repeat("word ", 1500) // 7500 characters
	if _, err := e.a.Send(ctx, e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: long}); err != nil {
		t.Fatal(err)
	}
	msgs := e.fk.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	var total int
	for _, m := range msgs {
		var b struct{ Text string }
		_ = json.Unmarshal(m.Body, &b)
		if n := len([]rune(b.Text)); n > MaxTextLength || n == 0 {
			t.Fatalf("part of %d characters", n)
		}
		total += len(b.Text)
	}
	if total < len(strings.TrimSpace(long))-2 {
		t.Fatalf("text lost: %d of %d", total, len(long))
	}
	e.fk.Reset()
	pic := channel.OutboundAttachment{Name: "p.png", MimeType: "image/png", Size: 100, URL: "https://parley.example/files/p"}
	if _, err := e.a.Send(ctx, e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: strings.Repeat("a", 600), Attachments: []channel.OutboundAttachment{pic}}); err != nil {
		t.Fatal(err)
	}
	if msgs := e.fk.Messages(); len(msgs) != 2 || msgs[0].Type != "text" || msgs[1].Type != "picture" {
		t.Fatalf("%+v", msgs)
	}
	e.fk.Reset()
	big := channel.OutboundAttachment{Name: "big.jpg", MimeType: "image/jpeg", Size: 3 << 20, URL: "https://parley.example/files/b"}
	if _, err := e.a.Send(ctx, e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Attachments: []channel.OutboundAttachment{big}}); err != nil {
		t.Fatal(err)
	}
	if msgs := e.fk.Messages(); len(msgs) != 1 || msgs[0].Type != "file" {
		t.Fatalf("a 3 MB image: %+v", msgs)
	}
}

// TestSenderName: the setting, else the point of contact's name cut to 28
// characters; the avatar when set.
func TestSenderName(t *testing.T) {
	e := newEnv(t, map[string]any{SettingSenderName: nil, SettingSenderAvatar: "https://acme.example/logo.png"})
	e.poc.Name = "Acme Customer Service Portugal and Spain"
	if _, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	var b struct{ Sender map[string]string }
	_ = json.Unmarshal(e.fk.Messages()[0].Body, &b)
	if want := map[string]string{"name": "Acme Customer Service Portug", "avatar": "https://acme.example/logo.png"}; !reflect.DeepEqual(b.Sender, want) {
		t.Fatalf("sender %v, want %v", b.Sender, want)
	}
	if n := len([]rune(b.Sender["name"])); n != 28 {
		t.Fatalf("name of %d characters", n)
	}
}

// TestRegisterWebhook: set_webhook against the fake, which checks the URL
// with a signed "webhook" callback that the adapter answers with a 200.
func TestRegisterWebhook(t *testing.T) {
	e := newEnv(t, nil)
	rc, url := e.startReceiver(t)
	if err := e.a.RegisterWebhook(context.Background(), e.poc, url); err != nil {
		t.Fatal(err)
	}
	if e.fk.WebhookURL() != url {
		t.Fatalf("webhook %q, want %q", e.fk.WebhookURL(), url)
	}
	reqs := e.fk.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/pa/set_webhook" || reqs[0].Token != testToken {
		t.Fatalf("%+v", reqs)
	}
	want := `{"url":"` + url + `","event_types":["delivered","seen","failed","subscribed","unsubscribed","conversation_started"],"send_name":true,"send_photo":true}`
	if string(reqs[0].Body) != want {
		t.Fatalf("body %s\nwant %s", reqs[0].Body, want)
	}
	events, bodies := rc.got()
	if len(bodies) != 1 || !strings.Contains(string(bodies[0]), `"event":"webhook"`) || len(events) != 0 {
		t.Fatalf("callbacks %s, events %+v", bodies, events)
	}
}

func TestRegisterWebhookUnreachableURL(t *testing.T) {
	e := newEnv(t, nil)
	// A URL that does not answer 200: Viber's status 1.
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	err := e.a.RegisterWebhook(context.Background(), e.poc, srv.URL+"/webhooks/x")
	var se *channel.SendError
	if !errors.As(err, &se) || se.Code != "1" || se.Retryable || !strings.Contains(se.Reason, "set_webhook: invalidUrl") || !strings.Contains(se.Reason, "404") {
		t.Fatalf("%v", err)
	}
}

// TestRegisterWebhookRefused: Viber's refusals reach the admin classified.
func TestRegisterWebhookRefused(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	// The webhook check is signed with the fake's token; a point of
	// contact holding another token answers it 401, so Viber says 1.
	other := e.addPOC(t, "Other", map[string]any{SettingAPIBaseURL: e.fk.URL()}, map[string]string{CredentialAuthToken: testToken})
	wrong := &env{a: e.a, fk: e.fk, poc: e.addPOC(t, "Wrong", map[string]any{SettingAPIBaseURL: e.fk.URL()}, map[string]string{CredentialAuthToken: "someone-else"}), clock: e.clock}
	_, url := wrong.startReceiver(t)
	err := e.a.RegisterWebhook(ctx, other, url)
	var se *channel.SendError
	if !errors.As(err, &se) || se.Code != "1" || se.Retryable || !strings.Contains(se.Reason, "invalidUrl") {
		t.Fatalf("check refused: %v", err)
	}
	e.fk.FailNext(fake.InvalidAuthToken())
	err = e.a.RegisterWebhook(ctx, e.poc, url)
	if !errors.As(err, &se) || se.Code != "2" {
		t.Fatalf("bad token: %v", err)
	}
	if err := e.a.RegisterWebhook(ctx, e.poc, "not a url"); !errors.As(err, &se) || se.Code != "configuration" {
		t.Fatalf("bad URL: %v", err)
	}
	if e.fk.WebhookURL() != "" {
		t.Fatalf("a webhook was set: %s", e.fk.WebhookURL())
	}
}

// TestReceiptsRoundTrip: a receipt the fake posts for a sent message
// names it by the token Send returned.
func TestReceiptsRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rc, url := e.startReceiver(t)
	if err := e.a.RegisterWebhook(ctx, e.poc, url); err != nil {
		t.Fatal(err)
	}
	res, err := e.a.Send(ctx, e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: "Your order shipped"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"delivered", "seen", "failed"} {
		resp, err := e.fk.DeliverReceipt(kind, res.PlatformMessageID, "the user's device is unreachable", e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s answered %d", kind, resp.StatusCode)
		}
	}
	events, _ := rc.got()
	want := []channel.InboundEvent{
		{Kind: channel.EventStatus, StatusMessageID: res.PlatformMessageID, ThreadID: ana.ID, Status: "delivered"},
		{Kind: channel.EventStatus, StatusMessageID: res.PlatformMessageID, ThreadID: ana.ID, Status: "read"},
		{Kind: channel.EventStatus, StatusMessageID: res.PlatformMessageID, ThreadID: ana.ID, Status: "failed", Reason: "the user's device is unreachable"},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("got %+v\nwant %+v", events, want)
	}
}
