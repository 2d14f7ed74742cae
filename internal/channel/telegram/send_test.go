package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/telegram/fake"
	"github.com/parleyhq/parley/internal/content"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the calls the fake accepted — the Bot API method and the
// exact JSON body (the parameters, for a multipart upload) — with a golden
// file (keys sorted, indented).
func golden(t *testing.T, name string, msgs []fake.Message) {
	t.Helper()
	calls := []any{}
	for _, m := range msgs {
		var body any
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatalf("body is not JSON: %s", m.Body)
		}
		calls = append(calls, map[string]any{"method": m.Method, "body": body})
	}
	got, _ := json.MarshalIndent(calls, "", "  ")
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *updateGolden {
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

// render renders canonical content for Telegram as the core does:
// content.Render, then the adapter's RenderNative.
func render(t *testing.T, a *Adapter, c content.Content) content.Rendered {
	t.Helper()
	base, err := content.Render(Type, c, content.RenderOptions{MessageID: "msg-1", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if up, ok := a.RenderNative(c, base); ok {
		up.Channel = Type
		return up
	}
	return base
}

// outbound is the message the outbox hands the adapter for content c sent
// in Ana's chat an hour after she wrote.
func outbound(t *testing.T, a *Adapter, c content.Content) *channel.OutboundMessage {
	t.Helper()
	r := render(t, a, c)
	return &channel.OutboundMessage{ID: "msg-1", ThreadExternalID: "1111111", RecipientID: "1111111", Text: r.Text,
		Rendered: mustJSON(t, r), LastInboundAt: t0.Add(-time.Hour), Attempt: 1}
}

func pizzas() []content.Option {
	return []content.Option{
		{ID: "margherita", Label: "Margherita", Description: "Tomato, mozzarella, basil"},
		{ID: "marinara", Label: "Marinara"},
		{ID: "diavola", Label: "Diavola", Description: "Spicy salami"},
		{ID: "funghi", Label: "Funghi"},
		{ID: "calzone", Label: "Calzone", Description: "Folded"},
	}
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	e.fk.AddChat(ana)
	pdf := []byte("%PDF-1.7\n% the invoice\n")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(pdf)
	}))
	defer files.Close()
	long := strings.Repeat("Line of the terms and conditions, repeated to be long.\n", 90) // 4950 characters
	text := func(s string) *channel.OutboundMessage {
		return &channel.OutboundMessage{ID: "msg-1", ThreadExternalID: "1111111", RecipientID: "1111111", Text: s, LastInboundAt: t0.Add(-time.Hour)}
	}
	withFile := func(m *channel.OutboundMessage, att channel.OutboundAttachment) *channel.OutboundMessage {
		m.Attachments = []channel.OutboundAttachment{att}
		return m
	}
	quoting := func(m *channel.OutboundMessage, id string) *channel.OutboundMessage {
		m.ReplyToPlatformID = id
		return m
	}
	slots := []content.TimeSlot{{ID: "s1", Start: "2026-11-24T09:00:00+01:00", DurationSec: 1800}, {ID: "s2", Start: "2026-11-24T14:00:00+01:00", DurationSec: 1800},
		{ID: "s3", Start: "2026-11-25T10:00:00+01:00", DurationSec: 3600}}
	cases := []struct {
		name  string
		msg   *channel.OutboundMessage
		calls int
	}{
		{"text", text("Hello Ana, how can we help?"), 1},
		{"long_text_split", text(long), 2},
		{"quoted_reply", quoting(text("Yes, that one."), "1111111:1365"), 1},
		{"image", withFile(text("Here is the photo"), channel.OutboundAttachment{ID: "att1", Name: "photo.jpg", MimeType: "image/jpeg", Size: 48213,
			URL: "https://parley.example/files/att1?exp=1795510800&sig=abc"}), 1},
		{"document_upload", withFile(text("Your invoice"), channel.OutboundAttachment{ID: "att2", Name: "invoice-2026-11.pdf", MimeType: "application/pdf",
			Size: int64(len(pdf)), URL: files.URL + "/files/att2?exp=1795510800&sig=def"}), 1},
		{"quick_replies", outbound(t, e.a, content.Content{Type: content.TypeQuickReplies, Title: "Support", Text: "Did that solve it?",
			Options: []content.Option{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}, {ID: "agent", Label: "Talk to a person"}, {ID: "later", Label: "Later"}}}), 1},
		{"list_picker", outbound(t, e.a, content.Content{Type: content.TypeListPicker, Title: "Menu", Text: "Pick a pizza", Options: pizzas(),
			Sections: []content.Section{{Title: "Classics", OptionIDs: []string{"margherita", "marinara"}}, {Title: "Specials", OptionIDs: []string{"diavola", "calzone"}}}}), 1},
		{"time_picker", outbound(t, e.a, content.Content{Type: content.TypeTimePicker, Text: "Which time suits you?", Timezone: "Europe/Paris", Slots: slots,
			Location: &content.Location{Latitude: 48.85, Longitude: 2.35, Title: "Shop", Address: "1 rue de Rivoli, Paris"}}), 1},
		{"rich_link", outbound(t, e.a, content.Content{Type: content.TypeRichLink, Text: "Our new collection is out",
			Link: &content.Link{URL: "https://shop.example/new", Title: "New collection"}}), 1},
		{"card", outbound(t, e.a, content.Content{Type: content.TypeCard, Title: "Blue shirt", Text: "Cotton, 39 €",
			Media: &content.Media{URL: "https://shop.example/img/blue-shirt.jpg", MimeType: "image/jpeg"},
			Link:  &content.Link{URL: "https://shop.example/p/blue-shirt", Title: "See the shirt"},
			Options: []content.Option{{ID: "buy", Label: "Buy", Kind: content.OptionPostback, Postback: "sku:123"},
				{ID: "size", Label: "Size guide", Kind: content.OptionURL, Postback: "https://shop.example/sizes"},
				{ID: "call", Label: "Call us", Kind: content.OptionCall, Postback: "+33123456789"}}}), 1},
		{"file_by_url", outbound(t, e.a, content.Content{Type: content.TypeFile, Text: "The manual",
			Media: &content.Media{URL: "https://shop.example/manual.pdf", FileName: "manual.pdf"}}), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fk.Reset()
			res, err := e.a.Send(context.Background(), e.poc, c.msg)
			if err != nil {
				t.Fatal(err)
			}
			sent := e.fk.Messages()
			if len(sent) != c.calls || len(e.fk.Requests()) != c.calls {
				t.Fatalf("%d messages accepted, %d requests, want %d: %+v", len(sent), len(e.fk.Requests()), c.calls, e.fk.Requests())
			}
			if want := "1111111:" + jsonInt(sent[len(sent)-1].MessageID); res.PlatformMessageID != want {
				t.Fatalf("result %q, want the last message's %q", res.PlatformMessageID, want)
			}
			for _, r := range e.fk.Requests() {
				if r.Token != fake.DefaultToken || r.Status != http.StatusOK {
					t.Fatalf("%s: token %q, status %d: %s", r.Method, r.Token, r.Status, r.Response)
				}
			}
			golden(t, c.name, sent)
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestRenderedTaps: every rendered keyboard's buttons carry the prompt's
// option (or slot) ids, labelled as the prompt labels them, so a tap
// resolves to the option whatever path the core takes.
func TestRenderedTaps(t *testing.T) {
	a := New(nil, clock)
	for _, c := range []content.Content{
		{Type: content.TypeQuickReplies, Text: "Pick", Options: []content.Option{{ID: "a", Label: "Alpha"}, {ID: "b", Label: "Beta"}}},
		{Type: content.TypeListPicker, Text: "Pick", Options: pizzas()},
		{Type: content.TypeTimePicker, Text: "When?", Slots: []content.TimeSlot{{ID: "s1", Start: "2026-11-24T09:00:00Z", DurationSec: 1800}}},
	} {
		r := render(t, a, c)
		if !strings.HasPrefix(r.Type, "telegram.inline_keyboard") || r.Prompt == nil || r.Text == "" {
			t.Fatalf("%s: %+v", c.Type, r)
		}
		var call struct {
			Method      string `json:"method"`
			ReplyMarkup struct {
				InlineKeyboard [][]keyboardButton `json:"inline_keyboard"`
			} `json:"reply_markup"`
		}
		if err := json.Unmarshal(r.Native, &call); err != nil || call.Method != "sendMessage" {
			t.Fatalf("%s: %s", c.Type, r.Native)
		}
		var buttons []keyboardButton
		for _, row := range call.ReplyMarkup.InlineKeyboard {
			buttons = append(buttons, row...)
		}
		if len(buttons) != len(r.Prompt.Options) {
			t.Fatalf("%s: %d buttons for %d options", c.Type, len(buttons), len(r.Prompt.Options))
		}
		for i, b := range buttons {
			o := r.Prompt.Options[i]
			if b.CallbackData != o.ID || b.Text != o.Label {
				t.Fatalf("%s: button %+v for option %+v", c.Type, b, o)
			}
			got := content.Resolve(r.Prompt, content.Reply{Text: b.Text, NativeID: b.CallbackData}, t0)
			if got.Choice == nil || got.Choice.Source != content.SourceNative || got.Choice.OptionIDs == nil && got.Choice.Slot == nil {
				t.Fatalf("%s: tap on %+v resolved to %+v", c.Type, b, got)
			}
		}
	}
}

func TestRenderNativeLadder(t *testing.T) {
	a := New(nil, clock)
	// A multi-select list stays numbered text: a tap answers one option.
	multi := render(t, a, content.Content{Type: content.TypeListPicker, Text: "Toppings?", MultiSelect: true, Options: pizzas()})
	if multi.Native != nil || !strings.Contains(multi.Text, "Reply with numbers") {
		t.Fatalf("%+v", multi)
	}
	// Long labels go fewer to a row.
	rows := func(labels ...string) int {
		var opts []content.Option
		for i, l := range labels {
			opts = append(opts, content.Option{ID: "o" + string(rune('a'+i)), Label: l})
		}
		r := render(t, a, content.Content{Type: content.TypeQuickReplies, Text: "?", Options: opts})
		var call struct {
			ReplyMarkup struct {
				InlineKeyboard [][]keyboardButton `json:"inline_keyboard"`
			} `json:"reply_markup"`
		}
		_ = json.Unmarshal(r.Native, &call)
		return len(call.ReplyMarkup.InlineKeyboard)
	}
	if n := rows("Yes", "No", "Maybe", "Later"); n != 2 {
		t.Fatalf("short labels: %d rows, want 2 (3+1)", n)
	}
	if n := rows("Talk to a person", "Track my order", "Return an item"); n != 2 {
		t.Fatalf("medium labels: %d rows, want 2 (2+1)", n)
	}
	if n := rows("I would like to talk to a real person", "No thanks"); n != 2 {
		t.Fatalf("long labels: %d rows, want 2 (1+1)", n)
	}
	// Text, forms, carousels: nothing native.
	for _, c := range []content.Content{
		{Type: content.TypeText, Text: "hi"},
		{Type: content.TypeForm, Text: "Your details", Fields: []content.Field{{Name: "email", Type: content.FieldEmail, Label: "Email"}}},
		{Type: content.TypeCarousel, Items: []content.Card{{Title: "A", URL: "https://a.example"}}},
		{Type: content.TypeFile, Media: &content.Media{URL: "https://a.example/notes.docx"}},
	} {
		if r := render(t, a, c); r.Native != nil || strings.HasPrefix(r.Type, "telegram.") {
			t.Fatalf("%s: %+v", c.Type, r)
		}
	}
	// The prompt stays the engine's, so a typed number still answers.
	r := render(t, a, content.Content{Type: content.TypeQuickReplies, Text: "Pick", Options: []content.Option{{ID: "a", Label: "Alpha"}, {ID: "b", Label: "Beta"}}})
	if got := content.Resolve(r.Prompt, content.Reply{Text: "2"}, t0); got.Choice == nil || got.Choice.OptionIDs[0] != "b" {
		t.Fatalf("%+v", got)
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	e.fk.AddChat(ana)
	ctx := context.Background()
	msg := func() *channel.OutboundMessage {
		return &channel.OutboundMessage{ID: "m", ThreadExternalID: "1111111", RecipientID: "1111111", Text: "hi", LastInboundAt: t0.Add(-time.Hour)}
	}
	var se *channel.SendError
	// 429 with retry_after: retryable after the platform's delay, then sent once.
	e.fk.FailNext(fake.TooManyRequests(5))
	_, err := e.a.Send(ctx, e.poc, msg())
	if !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 5*time.Second || se.Code != "429" || se.Reason != "Too Many Requests: retry after 5" {
		t.Fatalf("429: %#v", err)
	}
	if _, err := e.a.Send(ctx, e.poc, msg()); err != nil || len(e.fk.Messages()) != 1 {
		t.Fatalf("retry: %v, %d sent", err, len(e.fk.Messages()))
	}
	// 403 blocked: permanent, and the recipient unreachable.
	e.fk.FailNext(fake.BlockedByUser())
	_, err = e.a.Send(ctx, e.poc, msg())
	if !errors.As(err, &se) || se.Retryable || !se.Unreachable || se.Code != "403" || se.Reason != "Forbidden: bot was blocked by the user" {
		t.Fatalf("403: %#v", err)
	}
	// The same from the fake's own state.
	e.fk.AddChat(fake.User{ID: 2222222, FirstName: "Bo"})
	e.fk.Block(2222222)
	m := msg()
	m.ThreadExternalID = "2222222"
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || !se.Unreachable {
		t.Fatalf("blocked chat: %#v", err)
	}
	// Another 403 is permanent but the person may still start the bot.
	e.fk.FailNext(fake.Failure{Status: 403, Description: "Forbidden: bot can't initiate conversation with a user"})
	if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || se.Retryable || se.Unreachable {
		t.Fatalf("403 initiate: %#v", err)
	}
	// 400: permanent with Telegram's description.
	e.fk.FailNext(fake.BadRequest("chat not found"))
	_, err = e.a.Send(ctx, e.poc, msg())
	if !errors.As(err, &se) || se.Retryable || se.Unreachable || se.Code != "400" || se.Reason != "Bad Request: chat not found" {
		t.Fatalf("400: %#v", err)
	}
	// Emoji count twice in Telegram's limit: 2049 of them (4098 units)
	// go as two messages, which the fake (counting like Telegram) accepts.
	e.fk.Reset()
	m = msg()
	m.Text = strings.Repeat("🙂", 2049)
	if _, err := e.a.Send(ctx, e.poc, m); err != nil || len(e.fk.Messages()) != 2 {
		t.Fatalf("emoji text: %v, %d sent", err, len(e.fk.Messages()))
	}
	// 5xx (an HTML page from the front end) and a dropped connection: retryable.
	e.fk.FailNext(fake.BadGateway(), fake.Failure{Drop: true})
	for i := 0; i < 2; i++ {
		if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || !se.Retryable {
			t.Fatalf("transient %d: %#v", i, err)
		}
	}
	// A wrong token: 401, permanent, saying which credential; the token is
	// never in a reason.
	bad, _ := e.points.create(t, map[string]any{SettingAPIBaseURL: e.fk.URL}, map[string]string{CredentialBotToken: "987654321:AAwrongwrongwrong"})
	_, err = e.a.Send(ctx, bad, msg())
	if !errors.As(err, &se) || se.Retryable || se.Code != "401" || !strings.Contains(se.Reason, "bot_token") || strings.Contains(se.Reason, "AAwrong") {
		t.Fatalf("401: %#v", err)
	}
	// Telegram unreachable: retryable, and the URL (with the token) is not
	// in the reason.
	down, _ := e.points.create(t, map[string]any{SettingAPIBaseURL: "http://127.0.0.1:1"}, map[string]string{CredentialBotToken: fake.DefaultToken})
	_, err = e.a.Send(ctx, down, msg())
	if !errors.As(err, &se) || !se.Retryable || strings.Contains(se.Reason, fake.DefaultToken) {
		t.Fatalf("unreachable: %#v", err)
	}
	// A later part failing: permanent, saying what went out.
	e.fk.Reset()
	e.fk.FailNext(fake.Failure{Method: "sendMessage", After: 1, Status: 429, Description: "Too Many Requests: retry after 3", RetryAfter: 3})
	m = msg()
	m.Text = strings.Repeat("word ", 1000)
	_, err = e.a.Send(ctx, e.poc, m)
	if !errors.As(err, &se) || se.Retryable || !strings.Contains(se.Reason, "part 2 of 2") || !strings.Contains(se.Reason, "retry after 3") || len(e.fk.Messages()) != 1 {
		t.Fatalf("later part: %#v, %d sent", err, len(e.fk.Messages()))
	}
}

func TestSendRefusals(t *testing.T) {
	e := newEnv(t)
	e.fk.AddChat(ana)
	ctx := context.Background()
	var se *channel.SendError
	for _, tc := range []struct {
		name string
		msg  channel.OutboundMessage
		code string
	}{
		// Proactive outbound is refused before anything reaches Telegram.
		{"never wrote", channel.OutboundMessage{ThreadExternalID: "1111111", Text: "Hello!"}, CodeNoProactive},
		{"no chat", channel.OutboundMessage{Text: "hi", LastInboundAt: t0}, CodeNoRecipient},
		{"not a chat id", channel.OutboundMessage{ThreadExternalID: "@channel", Text: "hi", LastInboundAt: t0}, CodeNoRecipient},
		{"template", channel.OutboundMessage{ThreadExternalID: "1111111", LastInboundAt: t0, Template: &channel.TemplateMessage{Name: "x"}}, "unsupported"},
		{"nothing", channel.OutboundMessage{ThreadExternalID: "1111111", Text: "  ", LastInboundAt: t0}, CodeInvalid},
		{"too large", channel.OutboundMessage{ThreadExternalID: "1111111", LastInboundAt: t0, Attachments: []channel.OutboundAttachment{
			{Name: "movie.mp4", MimeType: "video/mp4", Size: 60 << 20, URL: "https://parley.example/files/x"}}}, CodeInvalid},
		{"bad native", channel.OutboundMessage{ThreadExternalID: "1111111", LastInboundAt: t0,
			Rendered: json.RawMessage(`{"type":"override","native":{"method":"deleteMessage","message_id":1},"text":"x"}`)}, CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fk.Reset()
			m := tc.msg
			_, err := e.a.Send(ctx, e.poc, &m)
			if !errors.As(err, &se) || se.Retryable || se.Code != tc.code {
				t.Fatalf("got %#v, want a permanent %s", err, tc.code)
			}
			if n := len(e.fk.Requests()); n != 0 {
				t.Fatalf("a refused send made %d requests", n)
			}
		})
	}
	// The policies the core reads.
	if e.a.Proactive() != channel.ProactiveNever {
		t.Fatal("proactive allowed")
	}
	if _, ok := any(e.a).(channel.WindowPolicy); ok {
		t.Fatal("Telegram has no reply window")
	}
	if e.a.MaxAttachments() != 1 {
		t.Fatal("max attachments")
	}
	if r := e.a.RateLimit(); r.PerSecond != 30 || r.Burst != 30 {
		t.Fatalf("rate %+v", r)
	}
	// An author's override without "method" is a sendMessage.
	m := channel.OutboundMessage{ThreadExternalID: "1111111", LastInboundAt: t0,
		Rendered: json.RawMessage(`{"type":"override","native":{"text":"<b>Bold</b> move","parse_mode":"HTML","chat_id":5},"text":"Bold move"}`)}
	if _, err := e.a.Send(ctx, e.poc, &m); err != nil {
		t.Fatal(err)
	}
	if sent := e.fk.Messages(); len(sent) != 1 || sent[0].Method != "sendMessage" || !strings.Contains(string(sent[0].Body), `"chat_id":1111111`) {
		t.Fatalf("%+v", sent)
	}
}

func TestQuoteOnlyInTheSameChat(t *testing.T) {
	for _, tc := range []struct {
		replyTo string
		want    bool
	}{
		{"1111111:1365", true},
		{"1111111:1365:edit:1441645600", true},
		{"2222222:1365", false},
		{"cbq:1234", false},
		{"1111111:x", false},
		{"", false},
	} {
		rp := replyParameters("1111111", tc.replyTo)
		if (rp != nil) != tc.want || (rp != nil && rp["message_id"] != int64(1365)) {
			t.Errorf("%q: %v", tc.replyTo, rp)
		}
	}
}

func TestSplitText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		text   string
		pieces int
	}{
		{"short", "hello", 1},
		{"exactly 4096", strings.Repeat("a", 4096), 1},
		{"4097", strings.Repeat("a", 4097), 2},
		{"emoji count twice", strings.Repeat("🙂", 2048), 1},
		{"emoji over", strings.Repeat("🙂", 2049), 2},
		{"lines", strings.Repeat("0123456789\n", 800), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitText(tc.text, MaxTextLength)
			if len(got) != tc.pieces {
				t.Fatalf("%d pieces, want %d", len(got), tc.pieces)
			}
			for _, p := range got {
				if utf16Len(p) > MaxTextLength || strings.TrimSpace(p) == "" || !utf8Valid(p) {
					t.Fatalf("bad piece of %d units", utf16Len(p))
				}
			}
			if tc.name == "lines" {
				for _, p := range got[:len(got)-1] {
					if !strings.HasSuffix(p, "0123456789") {
						t.Fatalf("not cut at a line break: …%q", p[len(p)-12:])
					}
				}
			}
		})
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\x00") == s }

func TestRegisterWebhook(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.a.RegisterWebhook(ctx, e.poc, "https://parley.example/webhooks/poc1"); err != nil {
		t.Fatal(err)
	}
	w := e.fk.Webhook()
	if w.URL != "https://parley.example/webhooks/poc1" || w.SecretToken != e.secret || strings.Join(w.AllowedUpdates, ",") != "message,edited_message,callback_query" {
		t.Fatalf("%+v", w)
	}
	reqs := e.fk.Requests()
	if len(reqs) != 1 || reqs[0].Method != "setWebhook" {
		t.Fatalf("%+v", reqs)
	}
	var body map[string]any
	_ = json.Unmarshal(reqs[0].Body, &body)
	if len(body) != 3 || body["url"] == nil || body["secret_token"] != e.secret || body["allowed_updates"] == nil {
		t.Fatalf("setWebhook body %s", reqs[0].Body)
	}
	// getWebhookInfo shows it, as Telegram does.
	resp, err := http.Get(e.fk.URL + "/bot" + fake.DefaultToken + "/getWebhookInfo")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		OK     bool `json:"ok"`
		Result struct {
			URL            string   `json:"url"`
			AllowedUpdates []string `json:"allowed_updates"`
			Pending        *int     `json:"pending_update_count"`
		} `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if !info.OK || info.Result.URL != w.URL || len(info.Result.AllowedUpdates) != 3 || info.Result.Pending == nil {
		t.Fatalf("%+v", info)
	}
	// Telegram refuses a webhook that is not HTTPS on its ports: the
	// description is the error.
	strict, err := fake.Start(fake.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	poc, _ := e.points.create(t, map[string]any{SettingAPIBaseURL: strict.URL}, map[string]string{CredentialBotToken: fake.DefaultToken})
	err = e.a.RegisterWebhook(ctx, poc, "http://localhost:8080/webhooks/poc1")
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || !strings.Contains(err.Error(), "An HTTPS URL must be provided for webhook") {
		t.Fatalf("%v", err)
	}
}

func TestTyping(t *testing.T) {
	e := newEnv(t)
	e.fk.AddChat(ana)
	ctx := context.Background()
	if err := e.a.Typing(ctx, e.poc, "1111111", "1111111", true); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Typing(ctx, e.poc, "1111111", "1111111", false); err != nil {
		t.Fatal(err)
	}
	if err := e.a.MarkRead(ctx, e.poc, "1111111:1365"); err != nil {
		t.Fatal(err)
	}
	reqs := e.fk.Requests()
	if len(reqs) != 1 || reqs[0].Method != "sendChatAction" || string(reqs[0].Body) != `{"action":"typing","chat_id":1111111}` {
		t.Fatalf("%+v", reqs)
	}
}

func TestUploadFailures(t *testing.T) {
	e := newEnv(t)
	e.fk.AddChat(ana)
	ctx := context.Background()
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.NotFound(w, r)
		case "/broken":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "/huge":
			w.Header().Set("Content-Length", strconv.Itoa(60<<20))
		}
	}))
	defer files.Close()
	var se *channel.SendError
	for _, tc := range []struct {
		path      string
		retryable bool
		reason    string
	}{
		{"/gone", false, "the file is gone"},
		{"/broken", true, "HTTP 500"},
		{"/huge", false, "larger than 50 MB"},
	} {
		e.fk.Reset()
		m := &channel.OutboundMessage{ThreadExternalID: "1111111", LastInboundAt: t0, Attachments: []channel.OutboundAttachment{
			{Name: "notes.docx", MimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", URL: files.URL + tc.path}}}
		_, err := e.a.Send(ctx, e.poc, m)
		if !errors.As(err, &se) || se.Retryable != tc.retryable || !strings.Contains(se.Reason, tc.reason) || len(e.fk.Requests()) != 0 {
			t.Fatalf("%s: %#v, %d requests", tc.path, err, len(e.fk.Requests()))
		}
	}
	// A stream without a length is cut at the limit.
	c := &cappedReader{r: strings.NewReader("0123456789"), left: 4}
	if _, err := io.ReadAll(c); !errors.Is(err, errTooLarge) || !errors.Is(c.err, errTooLarge) {
		t.Fatalf("%v", err)
	}
}
