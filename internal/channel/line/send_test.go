package line

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/line/fake"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the requests the fake received with a golden file: the
// exact JSON bodies sent, with the endpoint, token and retry key.
func golden(t *testing.T, name, renderedType string, reqs []fake.Request) {
	t.Helper()
	type rec struct {
		RenderedType  string          `json:"rendered_type,omitempty"`
		Method        string          `json:"method"`
		Path          string          `json:"path"`
		Authorization string          `json:"authorization"`
		RetryKey      string          `json:"retry_key,omitempty"`
		Body          json.RawMessage `json:"body"`
	}
	recs := make([]rec, len(reqs))
	for i, r := range reqs {
		recs[i] = rec{renderedType, r.Method, r.Path, r.Authorization, r.RetryKey, r.Body}
	}
	got, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs (run go test -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// renderFor renders canonical content for LINE the way the core does:
// content.Render, then the adapter's RenderNative.
func renderFor(t *testing.T, a *Adapter, c content.Content) content.Rendered {
	t.Helper()
	r, err := content.Render(Type, c, content.RenderOptions{Now: t0, MessageID: outboundID})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if r.Native == nil && r.Type != "override" {
		if up, ok := a.RenderNative(c, r); ok {
			up.Channel = Type
			r = up
		}
	}
	return r
}

func outbound(t *testing.T, c content.Content, r content.Rendered) *channel.OutboundMessage {
	t.Helper()
	rc, _ := json.Marshal(c)
	rr, _ := json.Marshal(r)
	return &channel.OutboundMessage{ID: outboundID, ThreadExternalID: customer, RecipientID: customer, Text: r.Text,
		Content: rc, Rendered: rr, AuthorType: "agent", LastInboundAt: t0.Add(-2 * time.Hour)}
}

func goldenContents() map[string]content.Content {
	opts := func(labels ...string) []content.Option {
		out := make([]content.Option, len(labels))
		for i, l := range labels {
			out[i] = content.Option{ID: "opt_" + string(rune('a'+i)), Label: l}
		}
		return out
	}
	sizes := opts("Small", "Medium", "Large")
	sizes[0].IconURL = "https://cdn.example.com/s.png"
	longLabels := opts("Delivery to my home address", "Pick-up at the Shibuya store", "Pick-up at a convenience store", "Locker at Tokyo Station")
	longLabels[1].Description = "Open 10:00–20:00"
	many := opts("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10", "A11", "A12", "A13", "A14")
	return map[string]content.Content{
		"text":          {Type: content.TypeText, Text: "Hi Ana, your order A-123 has shipped & is on its way 🚚"},
		"markdown":      {Type: content.TypeMarkdown, Text: "**Hello** _world_, see [the docs](https://example.com/docs)"},
		"quick_replies": {Type: content.TypeQuickReplies, Title: "Your size", Text: "Which size would you like?", Options: sizes},
		"list_picker": {Type: content.TypeListPicker, Text: "Pick a colour", Options: opts("Red", "Green", "Blue", "Black", "White"),
			Sections: []content.Section{{Title: "Bright", OptionIDs: []string{"opt_a", "opt_b", "opt_c"}}}},
		"list_picker_long_labels": {Type: content.TypeListPicker, Text: "How would you like to receive it?", Options: longLabels},
		"list_picker_persistent":  {Type: content.TypeListPicker, Title: "Menu", Text: "What can we help with?", Options: opts("Orders", "Returns", "Billing"), Persistent: true},
		"list_picker_multi":       {Type: content.TypeListPicker, Text: "Which toppings?", Options: opts("Cheese", "Ham", "Olives"), MultiSelect: true},
		"list_picker_too_many":    {Type: content.TypeListPicker, Text: "Pick a seat", Options: many},
		"time_picker": {Type: content.TypeTimePicker, Text: "Which time suits you?", Timezone: "Asia/Tokyo",
			Location: &content.Location{Latitude: 35.6812, Longitude: 139.7671, Title: "Marunouchi store"},
			Slots: []content.TimeSlot{
				{ID: "slot_1", Start: "2026-11-25T00:00:00Z", DurationSec: 1800},
				{ID: "slot_2", Start: "2026-11-25T05:00:00Z", DurationSec: 1800},
				{ID: "slot_3", Start: "2026-11-26T01:30:00Z", DurationSec: 3600, Label: "Thu morning"},
			}},
		"rich_link": {Type: content.TypeRichLink, Text: "Here is your invoice:",
			Link: &content.Link{URL: "https://shop.example.com/invoices/A-123", Title: "Invoice A-123", ImageURL: "https://cdn.example.com/invoice.png"}},
		"card": {Type: content.TypeCard, Title: "Order A-123", Text: "2 items, ¥4,800. Arrives Friday.",
			Media: &content.Media{URL: "https://cdn.example.com/box.jpg"}, Link: &content.Link{URL: "https://shop.example.com/orders/A-123"},
			Options: []content.Option{{ID: "track", Label: "Track the parcel"}, {ID: "web", Label: "Open in the browser", Kind: content.OptionURL, Postback: "https://shop.example.com/orders/A-123"},
				{ID: "call", Label: "Call us", Kind: content.OptionCall, Postback: "+81312345678"}}},
		"carousel": {Type: content.TypeCarousel, Text: "Our picks for you:", Items: []content.Card{
			{Title: "Green tea", Subtitle: "¥800", MediaURL: "https://cdn.example.com/tea.jpg", URL: "https://shop.example.com/tea",
				Actions: []content.Option{{ID: "buy_tea", Label: "Buy"}}},
			{Title: "Rice crackers", Subtitle: "¥500", MediaURL: "https://cdn.example.com/senbei.jpg", URL: "https://shop.example.com/senbei",
				Actions: []content.Option{{ID: "buy_senbei", Label: "Buy"}}},
		}},
		"location": {Type: content.TypeLocation, Text: "We are here:", Location: &content.Location{Latitude: 35.6812, Longitude: 139.7671, Title: "Marunouchi store", Address: "1-9-1 Marunouchi, Chiyoda-ku, Tokyo"}},
		"override": {Type: content.TypeText, Text: "Thanks!", Overrides: map[string]json.RawMessage{
			"line": json.RawMessage(`{"type":"sticker","packageId":"446","stickerId":"1988"}`)}},
		"file": {Type: content.TypeFile, Text: "Your receipt", Media: &content.Media{URL: "https://cdn.example.com/receipt.pdf", FileName: "receipt.pdf", MimeType: "application/pdf"}},
	}
}

func TestSendGolden(t *testing.T) {
	wantTypes := map[string]string{
		"text": "text", "markdown": "text",
		"quick_replies": "line.quick_reply", "list_picker": "line.quick_reply",
		"list_picker_long_labels": "line.template.carousel", "list_picker_persistent": "line.template.buttons",
		"list_picker_multi": "text", "list_picker_too_many": "text", "time_picker": "line.quick_reply",
		"rich_link": "line.template.buttons", "card": "line.template.buttons", "carousel": "line.template.carousel",
		"location": "line.location", "override": "override", "file": "text",
	}
	e := newEnv(t) // one database for all: the fake is reset between cases
	for name, c := range goldenContents() {
		t.Run(name, func(t *testing.T) {
			e.fk.Reset()
			r := renderFor(t, e.a, c)
			if r.Type != wantTypes[name] {
				t.Fatalf("rendered type %q, want %q", r.Type, wantTypes[name])
			}
			res, err := e.a.Send(t.Context(), e.poc, outbound(t, c, r))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := e.fk.Messages()
			if len(msgs) != 1 || msgs[0].Endpoint != "push" || res.PlatformMessageID != msgs[0].IDs[0] {
				t.Fatalf("sent %+v, result %+v", msgs, res)
			}
			golden(t, name, r.Type, e.fk.Requests())
		})
	}
}

// TestReplyGolden: an answer within the reply token's life goes through
// the reply endpoint with that token.
func TestReplyGolden(t *testing.T) {
	e := newEnv(t)
	in := fake.Text(customer, "Do you have it in blue?", t0)
	in["replyToken"] = "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
	e.receive(t, e.fk.Payload(in))
	e.clock.Advance(12 * time.Second)
	c := goldenContents()["quick_replies"]
	r := renderFor(t, e.a, c)
	msg := outbound(t, c, r)
	msg.LastInboundAt = t0
	res, err := e.a.Send(t.Context(), e.poc, msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m := e.fk.Messages(); len(m) != 1 || m[0].Endpoint != "reply" || m[0].To != customer || res.PlatformMessageID != m[0].IDs[0] {
		t.Fatalf("sent %+v", m)
	}
	golden(t, "reply_quick_replies", r.Type, e.fk.Requests())
}

// TestReplyOrPush: the reply token while it is fresh and unused, a push
// with the message's retry key otherwise.
func TestReplyOrPush(t *testing.T) {
	e := newEnv(t)
	text := func(id string) *channel.OutboundMessage {
		return &channel.OutboundMessage{ID: id, ThreadExternalID: customer, RecipientID: customer, Text: "hello", LastInboundAt: t0}
	}
	endpoints := func() []string {
		var out []string
		for _, r := range e.fk.Requests() {
			out = append(out, r.Endpoint+":"+r.RetryKey)
		}
		return out
	}
	e.receive(t, e.fk.Payload(fake.Text(customer, "hi", t0)))

	// 49 s after the webhook: the reply token.
	e.clock.Advance(49 * time.Second)
	if _, err := e.a.Send(t.Context(), e.poc, text(outboundID)); err != nil {
		t.Fatal(err)
	}
	// A second answer: the token is single-use, so a push.
	second := "019a4f6e-7c21-7d3b-9e4f-000000000002"
	if _, err := e.a.Send(t.Context(), e.poc, text(second)); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(); len(got) != 2 || got[0] != "reply:" || got[1] != "push:"+second {
		t.Fatalf("endpoints %v", got)
	}

	// 51 s after a new message: too late for the token (LINE's minute is
	// not over, but the margin is), so a push.
	e.fk.Reset()
	e.receive(t, e.fk.Payload(fake.Text(customer, "still there?", e.clock.Now())))
	e.clock.Advance(51 * time.Second)
	if _, err := e.a.Send(t.Context(), e.poc, text(outboundID)); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(); len(got) != 1 || got[0] != "push:"+outboundID {
		t.Fatalf("late answer: %v", got)
	}

	// LINE refuses the token (used elsewhere, expired early): one push.
	e.fk.Reset()
	e.receive(t, e.fk.Payload(fake.Text(customer, "again", e.clock.Now())))
	e.fk.FailNext(fake.InvalidReplyToken())
	res, err := e.a.Send(t.Context(), e.poc, text(outboundID))
	if err != nil {
		t.Fatalf("fallback to push: %v", err)
	}
	if got := endpoints(); len(got) != 2 || got[0] != "reply:" || got[1] != "push:"+outboundID || res.PlatformMessageID == "" {
		t.Fatalf("fallback: %v %+v", got, res)
	}
	if m := e.fk.Messages(); len(m) != 1 || m[0].Endpoint != "push" {
		t.Fatalf("fallback sent %+v", m)
	}

	// A rate-limited reply keeps its token for the retry.
	e.fk.Reset()
	e.receive(t, e.fk.Payload(fake.Text(customer, "and again", e.clock.Now())))
	e.fk.FailNext(fake.RateLimited(""))
	_, err = e.a.Send(t.Context(), e.poc, text(outboundID))
	var se *channel.SendError
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("429 on reply: %v", err)
	}
	e.clock.Advance(5 * time.Second)
	if _, err := e.a.Send(t.Context(), e.poc, text(outboundID)); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(); len(got) != 2 || got[0] != "reply:" || got[1] != "reply:" {
		t.Fatalf("retry after 429: %v", got)
	}

	// Tokens are per thread: another customer's does not answer this one.
	e.fk.Reset()
	other := "U" + strings.Repeat("b", 32)
	e.receive(t, e.fk.Payload(fake.Text(other, "me too", e.clock.Now())))
	if _, err := e.a.Send(t.Context(), e.poc, text(outboundID)); err != nil {
		t.Fatal(err)
	}
	if got := endpoints(); len(got) != 1 || got[0] != "push:"+outboundID {
		t.Fatalf("other thread: %v", got)
	}
}

func TestProactiveRefused(t *testing.T) {
	e := newEnv(t)
	if e.a.Proactive() != channel.ProactiveNever {
		t.Fatal("LINE must not allow proactive outbound")
	}
	_, err := e.a.Send(t.Context(), e.poc, &channel.OutboundMessage{ID: outboundID, ThreadExternalID: customer, RecipientID: customer, Text: "Hello!"})
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != CodeProactive || !strings.Contains(se.Reason, "never written") {
		t.Fatalf("err = %v", err)
	}
	if len(e.fk.Requests()) != 0 {
		t.Fatal("a proactive message reached LINE")
	}
}

func TestAttachmentsRefused(t *testing.T) {
	e := newEnv(t)
	if e.a.MaxAttachments() != 0 {
		t.Fatal("LINE takes no attachments from Parley")
	}
	// An image as canonical content renders as text with its link…
	c := content.Content{Type: content.TypeFile, Media: &content.Media{URL: "https://cdn.example.com/photo.jpg", MimeType: "image/jpeg", FileName: "photo.jpg"}}
	r := renderFor(t, e.a, c)
	if r.Native != nil || r.Type != "text" || r.Text != "photo.jpg: https://cdn.example.com/photo.jpg" {
		t.Fatalf("image content rendered %+v", r)
	}
	// …and a message with a file attached is refused before LINE.
	_, err := e.a.Send(t.Context(), e.poc, &channel.OutboundMessage{ID: outboundID, ThreadExternalID: customer, RecipientID: customer,
		Text: "here", LastInboundAt: t0, Attachments: []channel.OutboundAttachment{{ID: "f1", Name: "photo.jpg", MimeType: "image/jpeg", Size: 10, URL: "https://parley.example/files/f1"}}})
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != CodeAttachments || !strings.Contains(se.Reason, "no files on LINE") {
		t.Fatalf("err = %v", err)
	}
	if len(e.fk.Requests()) != 0 {
		t.Fatal("an attachment reached LINE")
	}
}

func TestSendRefusals(t *testing.T) {
	e := newEnv(t)
	for name, m := range map[string]*channel.OutboundMessage{
		"template":     {ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0, Template: &channel.TemplateMessage{Name: "x"}},
		"no recipient": {ID: outboundID, Text: "x", LastInboundAt: t0},
		"empty":        {ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0, Text: "  "},
		"too long":     {ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0, Text: strings.Repeat("x", 5*MaxTextLength+1)},
		"bad rendered": {ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0, Text: "x", Rendered: []byte(`{`)},
		"bad native":   {ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0, Rendered: []byte(`{"type":"override","native":"hi"}`)},
		"six messages": {ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0,
			Rendered: []byte(`{"type":"override","native":[{"type":"text","text":"1"},{"type":"text","text":"2"},{"type":"text","text":"3"},{"type":"text","text":"4"},{"type":"text","text":"5"},{"type":"text","text":"6"}]}`)},
		"untyped message": {ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0, Rendered: []byte(`{"type":"override","native":{"text":"1"}}`)},
	} {
		_, err := e.a.Send(t.Context(), e.poc, m)
		var se *channel.SendError
		if !errors.As(err, &se) || se.Retryable {
			t.Errorf("%s: err = %v, want a permanent SendError", name, err)
		}
	}
	if len(e.fk.Requests()) != 0 {
		t.Fatal("a refused message reached LINE")
	}
	// 25,000 characters go, as five messages.
	if _, err := e.a.Send(t.Context(), e.poc, &channel.OutboundMessage{ID: outboundID, ThreadExternalID: customer, LastInboundAt: t0,
		Text: strings.Repeat("é", 5*MaxTextLength)}); err != nil {
		t.Fatal(err)
	}
	if m := e.fk.Messages(); len(m) != 1 || len(m[0].Messages) != 5 {
		t.Fatalf("sent %+v", m)
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	msg := &channel.OutboundMessage{ID: outboundID, ThreadExternalID: customer, RecipientID: customer, Text: "hello", LastInboundAt: t0}
	send := func() *channel.SendError {
		t.Helper()
		_, err := e.a.Send(t.Context(), e.poc, msg)
		var se *channel.SendError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a SendError", err)
		}
		return se
	}
	e.fk.FailNext(fake.RateLimited(""))
	if se := send(); !se.Retryable || se.RetryAfter != 0 || se.Code != "429" || !strings.Contains(se.Reason, "rate limit") {
		t.Fatalf("429: %+v", se)
	}
	e.fk.FailNext(fake.RateLimited("7"))
	if se := send(); !se.Retryable || se.RetryAfter != 7*time.Second {
		t.Fatalf("429 with Retry-After: %+v", se)
	}
	e.fk.FailNext(fake.MonthlyLimit())
	if se := send(); se.Retryable || se.Code != CodeMonthlyLimit || !strings.Contains(se.Reason, "monthly") {
		t.Fatalf("monthly limit: %+v", se)
	}
	e.fk.FailNext(fake.ServerError())
	if se := send(); !se.Retryable || se.Code != "500" {
		t.Fatalf("500: %+v", se)
	}
	e.fk.FailNext(fake.Failure{Drop: true})
	if se := send(); !se.Retryable {
		t.Fatalf("dropped connection: %+v", se)
	}
	e.fk.FailNext(fake.Failure{Status: http.StatusBadRequest, Message: "The request body has 1 error(s)",
		Details: []fake.Detail{{Message: "May not be empty", Property: "messages[0].text"}}})
	if se := send(); se.Retryable || se.Code != "400" || se.Reason != "The request body has 1 error(s); messages[0].text: May not be empty" {
		t.Fatalf("400: %+v", se)
	}
	e.fk.FailNext(fake.Failure{Status: http.StatusForbidden, Message: "Access to this API is not available for your account"})
	if se := send(); se.Retryable || se.Code != "403" || !strings.Contains(se.Error(), "403: Access to this API") {
		t.Fatalf("403: %+v", se)
	}
	// The platform's own validation: a quick reply label over 20.
	bad := *msg
	bad.Rendered = []byte(`{"type":"override","native":{"type":"text","text":"x","quickReply":{"items":[{"type":"action","action":{"type":"message","label":"a label far longer than twenty","text":"x"}}]}}}`)
	_, err := e.a.Send(t.Context(), e.poc, &bad)
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || !strings.Contains(se.Reason, "messages[0].quickReply.items[0].action.label") {
		t.Fatalf("invalid label: %v", err)
	}

	// An accepted push sent again with the same retry key: LINE answers
	// 409 with the first send's ids; the message is sent, once.
	e.fk.Reset()
	first, err := e.a.Send(t.Context(), e.poc, msg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.a.Send(t.Context(), e.poc, msg)
	if err != nil || again.PlatformMessageID != first.PlatformMessageID {
		t.Fatalf("retry: %+v, %v (first %+v)", again, err, first)
	}
	if reqs := e.fk.Requests(); len(reqs) != 2 || reqs[1].Status != http.StatusConflict || len(e.fk.Messages()) != 1 {
		t.Fatalf("requests %+v", reqs)
	}

	// A wrong channel access token: permanent.
	other, err := fake.Start(fake.Options{ChannelAccessToken: "another-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	e.poc.Settings[SettingAPIBaseURL] = other.URL()
	if se := send(); se.Retryable || se.Code != "401" || !strings.Contains(se.Reason, "access token") {
		t.Fatalf("wrong token: %+v", se)
	}
}

func TestRetryKey(t *testing.T) {
	if got := RetryKey(outboundID); got != outboundID {
		t.Fatalf("a UUID id is its own key: %s", got)
	}
	if got := RetryKey(strings.ToUpper(outboundID)); got != outboundID {
		t.Fatalf("canonical form: %s", got)
	}
	k1, k2 := RetryKey("msg-42"), RetryKey("msg-42")
	if _, err := uuid.Parse(k1); err != nil || k1 != k2 || k1 == RetryKey("msg-43") {
		t.Fatalf("derived keys %s %s", k1, k2)
	}
	// Parley's ids are UUIDv7.
	id := uuid.Must(uuid.NewV7()).String()
	if RetryKey(id) != id {
		t.Fatal("a UUIDv7 id is not its own key")
	}
}

func TestSendToGroup(t *testing.T) {
	e := newEnv(t)
	group := "C" + strings.Repeat("a", 32)
	e.receive(t, e.fk.Payload(fake.TextFrom(fake.Group(group, customer), "anyone?", t0)))
	// The thread is the group; the recipient (the contact) is the member.
	msg := &channel.OutboundMessage{ID: outboundID, ThreadExternalID: group, RecipientID: customer, Text: "Yes!", LastInboundAt: t0}
	if _, err := e.a.Send(t.Context(), e.poc, msg); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.a.Send(t.Context(), e.poc, msg); err != nil {
		t.Fatal(err)
	}
	m := e.fk.Messages()
	if len(m) != 2 || m[0].Endpoint != "reply" || m[0].To != group || m[1].Endpoint != "push" || m[1].To != group {
		t.Fatalf("sent %+v", m)
	}
	if len(e.fk.Received(group)) != 2 {
		t.Fatal("the group did not receive both")
	}
}

func TestBlockedCustomer(t *testing.T) {
	e := newEnv(t)
	evs := e.receive(t, e.fk.Payload(fake.Unfollow(customer, t0)))
	if len(evs) != 1 || evs[0].OptOut == nil || !*evs[0].OptOut {
		t.Fatalf("unfollow %+v", evs)
	}
	// LINE accepts a push to a user who blocked the account and drops it:
	// the opt-out above is the only sign.
	if _, err := e.a.Send(t.Context(), e.poc, &channel.OutboundMessage{ID: outboundID, ThreadExternalID: customer, Text: "hello?", LastInboundAt: t0}); err != nil {
		t.Fatal(err)
	}
	if len(e.fk.Received(customer)) != 0 || len(e.fk.Messages()) != 1 {
		t.Fatal("the fake delivered to a user who blocked the account")
	}
}

func TestRegisterWebhook(t *testing.T) {
	e := newEnv(t)
	const hook = "https://parley.example/webhooks/0190f5b8-0000-7000-8000-000000000001"
	if err := e.a.RegisterWebhook(t.Context(), e.poc, hook); err != nil {
		t.Fatal(err)
	}
	if e.fk.WebhookEndpoint() != hook {
		t.Fatalf("endpoint %q", e.fk.WebhookEndpoint())
	}
	last := e.fk.Requests()[0]
	if last.Method != http.MethodPut || last.Path != "/v2/bot/channel/webhook/endpoint" || last.Authorization != "Bearer "+testToken {
		t.Fatalf("request %+v", last)
	}
	n := len(e.fk.Requests())
	if err := e.a.RegisterWebhook(t.Context(), e.poc, "http://localhost:8080/webhooks/x"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("http URL: %v", err)
	}
	if len(e.fk.Requests()) != n {
		t.Fatal("an http webhook URL reached LINE")
	}
	e.poc.Settings[SettingAPIBaseURL] = e.fk.URL() + "/nowhere"
	if err := e.a.RegisterWebhook(t.Context(), e.poc, hook); err == nil {
		t.Fatal("a failed registration reported success")
	}
}

func TestTypingAndMarkRead(t *testing.T) {
	e := newEnv(t)
	in := fake.Text(customer, "hi", t0)
	evs := e.receive(t, e.fk.Payload(in))
	if err := e.a.Typing(t.Context(), e.poc, customer, customer, true); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Typing(t.Context(), e.poc, customer, customer, false); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Typing(t.Context(), e.poc, "C"+strings.Repeat("a", 32), customer, true); err != nil {
		t.Fatal(err)
	}
	if got := e.fk.Loading(); len(got) != 1 || got[0] != customer {
		t.Fatalf("loading %v", got)
	}
	if err := e.a.MarkRead(t.Context(), e.poc, evs[0].PlatformMessageID); err != nil {
		t.Fatal(err)
	}
	token := in["message"].(map[string]any)["markAsReadToken"]
	if got := e.fk.MarkedRead(); len(got) != 1 || got[0] != token {
		t.Fatalf("marked %v, want %v", got, token)
	}
	n := len(e.fk.Requests())
	if err := e.a.MarkRead(t.Context(), e.poc, "01UNKNOWN"); err != nil || len(e.fk.Requests()) != n {
		t.Fatalf("unknown message: %v", err)
	}
}

func TestPolicies(t *testing.T) {
	a := New(nil, nil)
	if a.Type() != "line" || a.Type() != content.ChannelLINE {
		t.Fatal("type")
	}
	if r := a.RateLimit(); r.PerSecond <= 0 || r.PerSecond > 2000 || r.Burst < 1 {
		t.Fatalf("rate %+v", r)
	}
}

func TestConfigure(t *testing.T) {
	a := New(nil, nil)
	creds := func() map[string]string {
		return map[string]string{CredentialChannelSecret: testSecret, CredentialChannelAccessToken: testToken}
	}
	cases := []struct {
		name     string
		settings map[string]any
		edit     func(c map[string]string)
		field    string // "" when valid
	}{
		{"valid", nil, func(c map[string]string) {}, ""},
		{"urls", map[string]any{SettingAPIBaseURL: "http://127.0.0.1:9/", SettingAPIDataBaseURL: " https://data.example "}, func(c map[string]string) {}, ""},
		{"blank url removed", map[string]any{SettingAPIBaseURL: ""}, func(c map[string]string) {}, ""},
		{"bad api url", map[string]any{SettingAPIBaseURL: "ftp://x"}, func(c map[string]string) {}, "settings.api_base_url"},
		{"bad data url", map[string]any{SettingAPIDataBaseURL: "https://x/?a=1"}, func(c map[string]string) {}, "settings.api_data_base_url"},
		{"url not a string", map[string]any{SettingAPIBaseURL: 5.0}, func(c map[string]string) {}, "settings.api_base_url"},
		{"unknown setting", map[string]any{"bot_id": "x"}, func(c map[string]string) {}, "settings.bot_id"},
		{"no secret", nil, func(c map[string]string) { delete(c, CredentialChannelSecret) }, "credentials.channel_secret"},
		{"no token", nil, func(c map[string]string) { c[CredentialChannelAccessToken] = " " }, "credentials.channel_access_token"},
		{"token with newline", nil, func(c map[string]string) { c[CredentialChannelAccessToken] = "a\nb" }, "credentials.channel_access_token"},
		{"unknown credential", nil, func(c map[string]string) { c["channel_id"] = "123" }, "credentials.channel_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cr := creds()
			c.edit(cr)
			cfg := &channel.Config{Creating: true, Settings: c.settings, Credentials: cr}
			err := a.Configure(t.Context(), cfg)
			if c.field == "" {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				for _, k := range []string{SettingAPIBaseURL, SettingAPIDataBaseURL} {
					if v, ok := cfg.Settings[k].(string); ok && (strings.HasSuffix(v, "/") || strings.TrimSpace(v) != v || v == "") {
						t.Fatalf("%s not normalised: %q", k, v)
					}
				}
				return
			}
			var ve *channel.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("err = %v, want a ValidationError on %s", err, c.field)
			}
		})
	}
	// Defaults: the real hosts.
	poc := &channel.PointOfContact{Settings: map[string]any{}}
	if apiBase(poc) != DefaultAPIBaseURL || dataBase(poc) != DefaultAPIDataBaseURL {
		t.Fatal("defaults")
	}
}

// TestSandboxRoundTrip plays the sandbox: the fake delivers "alice says
// hi" and "alice taps opt_b" to a webhook handler that authenticates and
// parses like the core, the answer goes back through reply and push, and
// the fake lists what alice's phone received.
func TestSandboxRoundTrip(t *testing.T) {
	e := newEnv(t)
	var got []channel.InboundEvent
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := e.a.Authenticate(r, body, e.poc); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		evs, err := e.a.Parse(r, body, e.poc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, evs...)
	}))
	defer hook.Close()
	for _, deliver := range []func() (*http.Response, error){
		func() (*http.Response, error) { return e.fk.Says(hook.URL, testSecret, "alice", "hi") },
		func() (*http.Response, error) { return e.fk.Taps(hook.URL, testSecret, "alice", "opt_b", "Medium") },
	} {
		resp, err := deliver()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook answered %d", resp.StatusCode)
		}
	}
	alice := fake.UserIDFor("alice")
	if len(got) != 2 || got[0].ThreadID != alice || got[0].Text != "hi" || got[1].ChoiceID != "opt_b" || got[1].Text != "Medium" {
		t.Fatalf("events %+v", got)
	}
	msg := &channel.OutboundMessage{ID: outboundID, ThreadExternalID: alice, RecipientID: alice, Text: "Medium it is.", LastInboundAt: t0}
	if _, err := e.a.Send(t.Context(), e.poc, msg); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	msg.ID, msg.Text = "019a4f6e-7c21-7d3b-9e4f-000000000003", "Your parcel left the warehouse."
	if _, err := e.a.Send(t.Context(), e.poc, msg); err != nil {
		t.Fatal(err)
	}
	recv := e.fk.Received("alice")
	if len(recv) != 2 || !strings.Contains(string(recv[0]), `"replyToken"`) || !strings.Contains(string(recv[1]), `"to":"`+alice+`"`) {
		t.Fatalf("alice received %s", recv)
	}
}
