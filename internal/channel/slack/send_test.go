package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/channel/slack/fake"
	"github.com/parleyhq/parley/internal/content"
)

// render renders canonical content for Slack as the core does: the
// engine, then the adapter's native upgrade.
func render(t *testing.T, a *slack.Adapter, c content.Content) content.Rendered {
	t.Helper()
	r, err := content.Render(slack.Type, c, content.RenderOptions{Now: t0, MessageID: "msg1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Native == nil && r.Type != "override" {
		if up, ok := a.RenderNative(c, r); ok {
			up.Channel = slack.Type
			r = up
		}
	}
	return r
}

func renderedJSON(t *testing.T, r content.Rendered) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func out(thread string) *channel.OutboundMessage {
	return &channel.OutboundMessage{ID: "msg1", ThreadExternalID: thread, RecipientID: customer, AuthorType: "agent", Attempt: 1, LastInboundAt: t0.Add(-time.Minute)}
}

// Canonical contents of the goldens.
var (
	quickReplies = content.Content{Type: content.TypeQuickReplies, Text: "Pick a colour:", Options: []content.Option{
		{ID: "RED", Label: "Red"}, {ID: "GREEN", Label: "Green"}, {ID: "BLUE", Label: "A very long label for the blue one"}}}
	listPicker = content.Content{Type: content.TypeListPicker, Title: "Our shoes", Text: "Which pair would you like?",
		Options: []content.Option{
			{ID: "sku-1", Label: "Blue sneakers", Description: "Size 42, in stock"}, {ID: "sku-2", Label: "Red boots", Description: "Size 40"},
			{ID: "sku-3", Label: "Green sandals"}, {ID: "sku-4", Label: "Black loafers"}, {ID: "sku-5", Label: "White trainers"}, {ID: "sku-6", Label: "Slippers"}},
		Sections: []content.Section{{Title: "Sport", OptionIDs: []string{"sku-1", "sku-5"}}, {Title: "Town", OptionIDs: []string{"sku-2", "sku-4"}}}}
	listButtons = content.Content{Type: content.TypeListPicker, Text: "Which size?", Options: []content.Option{{ID: "s", Label: "Small"}, {ID: "m", Label: "Medium"}, {ID: "l", Label: "Large"}}}
	listMulti   = content.Content{Type: content.TypeListPicker, Text: "Which toppings?", MultiSelect: true,
		Options: []content.Option{{ID: "cheese", Label: "Cheese"}, {ID: "ham", Label: "Ham"}, {ID: "olives", Label: "Olives"}}}
	timePicker = content.Content{Type: content.TypeTimePicker, Text: "Which time suits you?", Timezone: "Europe/Paris",
		Location: &content.Location{Latitude: 48.8566, Longitude: 2.3522, Title: "Paris store", Address: "1 rue de Rivoli"},
		Slots: []content.TimeSlot{{ID: "slot-1", Start: "2026-11-30T09:00:00+01:00", DurationSec: 1800}, {ID: "slot-2", Start: "2026-11-30T14:00:00+01:00", DurationSec: 1800},
			{ID: "slot-3", Start: "2026-12-01T10:00:00+01:00", DurationSec: 3600, Label: "Tuesday morning"}}}
	richLink = content.Content{Type: content.TypeRichLink, Text: "Here is our return policy:",
		Link: &content.Link{URL: "https://shop.example.com/returns?from=chat&lang=en", Title: "Returns & refunds", ImageURL: "https://shop.example.com/returns.png"}}
	card = content.Content{Type: content.TypeCard, Title: "Blue sneakers", Text: "Size 42, in stock",
		Media: &content.Media{URL: "https://shop.example.com/sneakers.jpg", MimeType: "image/jpeg"}, Link: &content.Link{URL: "https://shop.example.com/p/42"},
		Options: []content.Option{{ID: "buy", Label: "Buy"}, {ID: "site", Label: "See more", Kind: content.OptionURL, Postback: "https://shop.example.com/p/42/more"},
			{ID: "call", Label: "Call us", Kind: content.OptionCall, Postback: "+33123456789"}}}
)

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	thread := channelID + ":1795500000.000001"
	photo := e.fk.AddMedia("att1", "image/png", []byte(pngBytes))
	invoice := e.fk.AddMedia("att2", "application/pdf", []byte("%PDF-1.4 fake invoice"))
	for _, tc := range []struct {
		name     string
		wantType string
		msg      func() *channel.OutboundMessage
	}{
		{"text", "", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Text = "Hello! Your order <#42> & the refund are on their way."
			return m
		}},
		{"text_in_channel_thread", "", func() *channel.OutboundMessage {
			m := out(thread)
			m.Text = "Thanks, we are on it."
			return m
		}},
		{"image", "", func() *channel.OutboundMessage {
			m := out(thread)
			m.Text = "Here is the photo and the invoice"
			m.Attachments = []channel.OutboundAttachment{{ID: "att1", Name: "photo.png", MimeType: "image/png", Size: int64(len(pngBytes)), URL: photo},
				{ID: "att2", Name: "invoice.pdf", MimeType: "application/pdf", URL: invoice}}
			return m
		}},
		{"image_only_dm", "", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Attachments = []channel.OutboundAttachment{{ID: "att1", Name: "photo.png", MimeType: "image/png", URL: photo}}
			return m
		}},
		{"quick_replies", "slack.quick_replies", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Rendered = renderedJSON(t, render(t, e.a, quickReplies))
			return m
		}},
		{"list_picker", "slack.list_picker.select", func() *channel.OutboundMessage {
			m := out(thread)
			m.Rendered = renderedJSON(t, render(t, e.a, listPicker))
			return m
		}},
		{"list_picker_buttons", "slack.list_picker.buttons", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Rendered = renderedJSON(t, render(t, e.a, listButtons))
			return m
		}},
		{"list_picker_multi_select", "slack.list_picker.multi_select", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Rendered = renderedJSON(t, render(t, e.a, listMulti))
			return m
		}},
		{"time_picker", "slack.time_picker.buttons", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Rendered = renderedJSON(t, render(t, e.a, timePicker))
			return m
		}},
		{"rich_link", "slack.rich_link", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Rendered = renderedJSON(t, render(t, e.a, richLink))
			return m
		}},
		{"card", "slack.card", func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Rendered = renderedJSON(t, render(t, e.a, card))
			return m
		}},
		{"override", "override", func() *channel.OutboundMessage {
			c := content.Content{Type: content.TypeText, Text: "Rate us", Overrides: map[string]json.RawMessage{"slack": json.RawMessage(
				`{"text":"Rate us","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*Rate us*"}},{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"👍"},"action_id":"choice:up","value":"up"}]}]}`)}}
			m := out(dmChannel)
			m.Rendered = renderedJSON(t, render(t, e.a, c))
			return m
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fk.Reset()
			m := tc.msg()
			if tc.wantType != "" {
				var r content.Rendered
				_ = json.Unmarshal(m.Rendered, &r)
				if r.Type != tc.wantType {
					t.Fatalf("rendered as %q, want %q", r.Type, tc.wantType)
				}
			}
			res, err := e.a.Send(context.Background(), e.poc, m)
			if err != nil {
				t.Fatalf("send: %v (requests: %+v)", err, e.fk.Requests())
			}
			if res.PlatformMessageID == "" {
				t.Fatal("no platform id")
			}
			golden(t, tc.name, e.fk.Requests())
		})
	}
}

func TestSendResults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := out(dmChannel)
	m.Text = "hi"
	res, err := e.a.Send(ctx, e.poc, m)
	msgs := e.fk.Messages()
	if err != nil || len(msgs) != 1 || res.PlatformMessageID != dmChannel+":"+msgs[0].TS || msgs[0].ThreadTS != "" {
		t.Fatalf("DM: %+v %v %+v", res, err, msgs)
	}
	// In a channel, the answer goes in the customer's thread.
	m = out(channelID + ":1795500000.000001")
	m.Text = "hi"
	res, err = e.a.Send(ctx, e.poc, m)
	msgs = e.fk.Messages()
	if err != nil || msgs[1].Channel != channelID || msgs[1].ThreadTS != "1795500000.000001" || res.PlatformMessageID != channelID+":"+msgs[1].TS {
		t.Fatalf("thread: %+v %v %+v", res, err, msgs[1])
	}
	// Files only: the three upload steps, the files shared in the thread,
	// and the first file's id.
	m = out(channelID + ":1795500000.000001")
	m.Attachments = []channel.OutboundAttachment{{Name: "photo.png", MimeType: "image/png", URL: e.fk.AddMedia("p", "image/png", []byte(pngBytes))}}
	res, err = e.a.Send(ctx, e.poc, m)
	files := e.fk.Files()
	if err != nil || len(files) != 1 || string(files[0].Data) != pngBytes || files[0].Channel != channelID || files[0].ThreadTS != "1795500000.000001" ||
		files[0].Name != "photo.png" || res.PlatformMessageID != channelID+":file:"+files[0].ID {
		t.Fatalf("files: %+v %v %+v", res, err, files)
	}
}

func sendErr(t *testing.T, e *env, m *channel.OutboundMessage) *channel.SendError {
	t.Helper()
	_, err := e.a.Send(context.Background(), e.poc, m)
	var se *channel.SendError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a SendError", err)
	}
	return se
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	text := func() *channel.OutboundMessage { m := out(dmChannel); m.Text = "hi"; return m }
	for _, tc := range []struct {
		name        string
		failure     *fake.Failure
		setup       func()
		msg         func() *channel.OutboundMessage
		retryable   bool
		retryAfter  time.Duration
		code        string
		unreachable bool
	}{
		{"429 with Retry-After", ptr(fake.RateLimited("30")), nil, text, true, 30 * time.Second, "ratelimited", false},
		{"ratelimited in a 200", ptr(fake.PlatformError("ratelimited")), nil, text, true, 0, "ratelimited", false},
		{"server error", ptr(fake.ServerError()), nil, text, true, 0, "http_503", false},
		{"internal_error", ptr(fake.PlatformError("internal_error")), nil, text, true, 0, "internal_error", false},
		{"dropped connection", &fake.Failure{Drop: true}, nil, text, true, 0, "network", false},
		{"channel_not_found", nil, func() { e.fk.Delete(dmChannel) }, text, false, 0, "channel_not_found", true},
		{"not_in_channel", nil, func() { e.fk.Kick(channelID) }, func() *channel.OutboundMessage {
			m := out(channelID + ":1795500000.000001")
			m.Text = "hi"
			return m
		}, false, 0, "not_in_channel", true},
		{"is_archived", nil, func() { e.fk.Archive(channelID) }, func() *channel.OutboundMessage {
			m := out(channelID + ":1795500000.000001")
			m.Text = "hi"
			return m
		}, false, 0, "is_archived", true},
		{"invalid_auth", ptr(fake.PlatformError("invalid_auth")), nil, text, false, 0, "invalid_auth", false},
		{"missing_scope", ptr(fake.PlatformError("missing_scope")), nil, text, false, 0, "missing_scope", false},
		{"msg_too_long", nil, nil, func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Text = strings.Repeat("a", fake.MaxTextLength+1)
			return m
		}, false, 0, "msg_too_long", false},
		{"upload refused", &fake.Failure{Method: "upload", Status: http.StatusBadRequest}, nil, func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Attachments = []channel.OutboundAttachment{{Name: "a.png", MimeType: "image/png", URL: e.fk.AddMedia("a", "image/png", []byte(pngBytes))}}
			return m
		}, false, 0, "upload_failed", false},
		{"upload URL rate limited", &fake.Failure{Method: "files.getUploadURLExternal", Status: 429, Error: "ratelimited", RetryAfter: "7"}, nil, func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Attachments = []channel.OutboundAttachment{{Name: "a.png", MimeType: "image/png", URL: e.fk.AddMedia("a", "image/png", []byte(pngBytes))}}
			return m
		}, true, 7 * time.Second, "ratelimited", false},
		{"attachment gone", nil, nil, func() *channel.OutboundMessage {
			m := out(dmChannel)
			m.Attachments = []channel.OutboundAttachment{{Name: "gone.png", MimeType: "image/png", URL: e.fk.Root() + "/nowhere/gone.png"}}
			return m
		}, false, 0, "bad_attachment", false},
		{"no Slack thread", nil, nil, func() *channel.OutboundMessage {
			m := out("not a thread")
			m.Text = "hi"
			return m
		}, false, 0, "no_thread", false},
		{"nothing to send", nil, nil, func() *channel.OutboundMessage { return out(dmChannel) }, false, 0, "empty", false},
		{"template", nil, nil, func() *channel.OutboundMessage {
			m := text()
			m.Template = &channel.TemplateMessage{Name: "x"}
			return m
		}, false, 0, "unsupported", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fk.Reset()
			if tc.failure != nil {
				e.fk.FailNext(*tc.failure)
			}
			if tc.setup != nil {
				tc.setup()
			}
			se := sendErr(t, e, tc.msg())
			if se.Retryable != tc.retryable || se.RetryAfter != tc.retryAfter || se.Code != tc.code || se.Unreachable != tc.unreachable || se.Reason == "" {
				t.Fatalf("got %+v", se)
			}
		})
	}
	// A wrong token is Slack's invalid_auth, permanent.
	poc := createPOC(t, e.a, map[string]any{slack.SettingAPIBaseURL: e.fk.URL()},
		map[string]string{slack.CredentialBotToken: "xoxb-0000000000-wrong-token", slack.CredentialSigningSecret: "s"})
	_, err := e.a.Send(context.Background(), poc, text())
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != "invalid_auth" || !strings.Contains(se.Reason, "bot_token") {
		t.Fatalf("wrong token: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestFetchMedia(t *testing.T) {
	e := newEnv(t)
	f := e.fk.AddFile("invoice.pdf", "application/pdf", []byte("%PDF-1.4 invoice"))
	body, mt, err := e.a.FetchMedia(context.Background(), e.poc, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != "%PDF-1.4 invoice" || mt != "application/pdf" {
		t.Fatalf("got %q %q", b, mt)
	}
	if _, _, err := e.a.FetchMedia(context.Background(), e.poc, "F9999999999"); err == nil {
		t.Fatal("unknown file fetched")
	}
	if _, _, err := e.a.FetchMedia(context.Background(), e.poc, "../x"); err == nil {
		t.Fatal("invalid id accepted")
	}
}

func TestPolicies(t *testing.T) {
	a := slack.New(nil, nil)
	if a.Type() != "slack" || a.Proactive() != channel.ProactiveNever || a.MaxAttachments() != 10 {
		t.Fatal("policies")
	}
	if r := a.RateLimit(); r.PerSecond <= 0 || r.PerSecond > 5 || r.Burst < 1 {
		t.Fatalf("rate %+v", r)
	}
	// Slack has no reply window, no webhook registration API, no typing
	// indicator for bots.
	var x any = a
	if _, ok := x.(channel.WindowPolicy); ok {
		t.Error("Slack has no reply window")
	}
	if _, ok := x.(channel.WebhookRegistrar); ok {
		t.Error("Slack has no set-webhook API")
	}
}
