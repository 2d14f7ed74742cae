package gbm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/gbm/fake"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the JSON bodies the fake accepted with a golden file.
func golden(t *testing.T, name string, reqs []fake.Request) {
	t.Helper()
	bodies := []any{}
	for _, r := range reqs {
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("body is not JSON: %s", r.Body)
		}
		bodies = append(bodies, v)
	}
	got, _ := json.MarshalIndent(bodies, "", "  ")
	got = append(got, '\n')
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

// render renders canonical content as the core does: the content engine,
// then the adapter's native upgrade when the engine left plain text.
func render(t *testing.T, a *Adapter, c content.Content) (json.RawMessage, content.Rendered) {
	t.Helper()
	r, err := content.Render(Type, c, content.RenderOptions{MessageID: "msg-1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Native == nil && r.Type != "override" {
		if up, ok := a.RenderNative(c, r); ok {
			up.Channel = Type
			r = up
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw, r
}

func quickReplies() content.Content {
	return content.Content{Type: content.TypeQuickReplies, Text: "Did that solve it?",
		Options: []content.Option{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}, {ID: "agent", Label: "Talk to a person right now please"}}}
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	raw := func(c content.Content) json.RawMessage { r, _ := render(t, e.a, c); return r }
	pizzas := []content.Option{{ID: "margherita", Label: "Margherita", Description: "tomato, mozzarella"}, {ID: "marinara", Label: "Marinara"},
		{ID: "diavola", Label: "Diavola", Description: "spicy salami"}}
	photo := channel.OutboundAttachment{ID: "att1", Name: "photo.jpg", MimeType: "image/jpeg", Size: 1234, URL: "https://parley.example/blobs/att1?sig=abc"}
	cases := []struct {
		name  string
		msg   channel.OutboundMessage
		parts int
	}{
		{"text", channel.OutboundMessage{Text: "Hello Ana, how can we help?", AuthorType: "agent", AuthorName: "Jean Dupont"}, 1},
		{"text_from_bot", channel.OutboundMessage{Text: "Thanks, an agent will answer shortly.", AuthorType: "bot"}, 1},
		{"image", channel.OutboundMessage{Attachments: []channel.OutboundAttachment{photo}, AuthorType: "agent"}, 1},
		{"image_with_text", channel.OutboundMessage{Text: "Here is the damaged part", Attachments: []channel.OutboundAttachment{photo}, AuthorType: "agent"}, 1},
		{"document_as_link", channel.OutboundMessage{Text: "Your invoice", Attachments: []channel.OutboundAttachment{
			{Name: "invoice.pdf", MimeType: "application/pdf", URL: "https://parley.example/blobs/att2?sig=def"}}, AuthorType: "agent"}, 1},
		{"quick_replies", channel.OutboundMessage{Rendered: raw(quickReplies()), AuthorType: "bot"}, 1},
		{"list_picker", channel.OutboundMessage{Rendered: raw(content.Content{Type: content.TypeListPicker, Title: "Menu", Text: "Pick a pizza", Options: pizzas}), AuthorType: "bot"}, 1},
		{"time_picker", channel.OutboundMessage{Rendered: raw(content.Content{Type: content.TypeTimePicker, Text: "Which time suits you?", Timezone: "Europe/Paris",
			Slots: []content.TimeSlot{{ID: "s1", Start: "2026-11-24T09:00:00Z", DurationSec: 1800}, {ID: "s2", Start: "2026-11-24T14:00:00Z", DurationSec: 1800}}}), AuthorType: "bot"}, 1},
		{"rich_link", channel.OutboundMessage{Rendered: raw(content.Content{Type: content.TypeRichLink, Text: "Our opening hours",
			Link: &content.Link{URL: "https://shop.example/hours", Title: "Opening hours", ImageURL: "https://shop.example/hours.png"}}), AuthorType: "agent"}, 1},
		{"carousel", channel.OutboundMessage{Rendered: raw(content.Content{Type: content.TypeCarousel, Items: []content.Card{
			{Title: "Margherita", Subtitle: "tomato, mozzarella", MediaURL: "https://shop.example/m.jpg", Actions: []content.Option{{ID: "order_m", Label: "Order"}}},
			{Title: "Diavola", Subtitle: "spicy salami", MediaURL: "https://shop.example/d.jpg", Actions: []content.Option{{ID: "order_d", Label: "Order"}}}}}), AuthorType: "bot"}, 1},
		{"image_file_content", channel.OutboundMessage{Rendered: raw(content.Content{Type: content.TypeFile,
			Media: &content.Media{URL: "https://shop.example/menu.png", MimeType: "image/png", Alt: "Our menu"}}), AuthorType: "bot"}, 1},
		{"quick_replies_with_image", channel.OutboundMessage{Rendered: raw(quickReplies()), Attachments: []channel.OutboundAttachment{photo}, AuthorType: "bot"}, 2},
		{"long_text_split", channel.OutboundMessage{Text: strings.Repeat("word ", 700) + "\nThe end.", AuthorType: "agent"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fk.Reset()
			msg := c.msg
			msg.ID, msg.ThreadExternalID, msg.RecipientID = "msg-1", ana.ConversationID, ana.ConversationID
			msg.LastInboundAt = at.Add(-time.Hour)
			res, err := e.a.Send(context.Background(), e.poc, &msg)
			if err != nil {
				t.Fatal(err)
			}
			sent := e.fk.Messages()
			if len(sent) != c.parts || len(e.fk.Requests()) != c.parts {
				t.Fatalf("%d accepted, %d requests, want %d: %+v", len(sent), len(e.fk.Requests()), c.parts, e.fk.Requests())
			}
			if res.PlatformMessageID != "msg-1" || sent[0].MessageID != "msg-1" {
				t.Fatalf("result %q, first messageId %q", res.PlatformMessageID, sent[0].MessageID)
			}
			for _, r := range sent {
				if r.Authorization != "Bearer "+testToken || r.Path != "/v1/conversations/"+ana.ConversationID+"/messages" {
					t.Fatalf("%s %s", r.Authorization, r.Path)
				}
			}
			golden(t, c.name, sent)
		})
	}
}

// TestTapResolves: a tap on a rendered suggestion comes back as the
// option id, which the content engine resolves against the prompt.
func TestTapResolves(t *testing.T) {
	e := newEnv(t)
	for _, c := range []content.Content{quickReplies(),
		{Type: content.TypeTimePicker, Text: "When?", Slots: []content.TimeSlot{{ID: "slot-a", Start: "2026-11-25T10:00:00Z", DurationSec: 3600}}}} {
		_, r := render(t, e.a, c)
		var nat struct {
			Suggestions []struct {
				Reply struct{ Text, PostbackData string } `json:"reply"`
			} `json:"suggestions"`
		}
		if err := json.Unmarshal(r.Native, &nat); err != nil || len(nat.Suggestions) == 0 || r.Prompt == nil {
			t.Fatalf("%s: %s", c.Type, r.Native)
		}
		last := nat.Suggestions[len(nat.Suggestions)-1].Reply
		evs := parse(t, e, fake.Payload(e.fk.Agent(), ana, fake.Tap(ana, "req-"+string(c.Type), "msg-1", last.PostbackData, last.Text, at), at))
		if len(evs) != 1 {
			t.Fatalf("%+v", evs)
		}
		out := content.Resolve(r.Prompt, content.Reply{Text: evs[0].Text, NativeID: evs[0].ChoiceID}, at)
		if out.Choice == nil || out.Choice.Source != content.SourceNative {
			t.Fatalf("%s: %+v", c.Type, out)
		}
		want := c.Options
		if c.Type == content.TypeTimePicker {
			if out.Choice.Slot == nil || out.Choice.Slot.ID != "slot-a" {
				t.Fatalf("slot: %+v", out.Choice)
			}
			continue
		}
		if len(out.Choice.OptionIDs) != 1 || out.Choice.OptionIDs[0] != want[len(want)-1].ID {
			t.Fatalf("option: %+v", out.Choice)
		}
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := func() *channel.OutboundMessage {
		return &channel.OutboundMessage{ID: "m-" + e.fk.NewID(), ThreadExternalID: ana.ConversationID, Text: "hi", AuthorType: "agent", LastInboundAt: at.Add(-time.Hour)}
	}
	var se *channel.SendError
	// 429 with Retry-After.
	e.fk.FailNext(fake.RateLimited("12"))
	m := msg()
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 12*time.Second || se.Code != "429" ||
		!strings.HasPrefix(se.Reason, "RESOURCE_EXHAUSTED: Quota exceeded") {
		t.Fatalf("429: %#v", err)
	}
	// The retry goes out; a retry after a lost answer (the message exists
	// already: 409) counts as sent, once.
	if res, err := e.a.Send(ctx, e.poc, m); err != nil || res.PlatformMessageID != m.ID {
		t.Fatalf("retry: %v %+v", err, res)
	}
	if res, err := e.a.Send(ctx, e.poc, m); err != nil || res.PlatformMessageID != m.ID || len(e.fk.Messages()) != 1 {
		t.Fatalf("duplicate: %v %+v, %d accepted", err, res, len(e.fk.Messages()))
	}
	// 5xx and a dropped connection: retryable.
	e.fk.FailNext(fake.ServerError(), fake.Failure{Drop: true})
	for i := 0; i < 2; i++ {
		if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || !se.Retryable {
			t.Fatalf("transient %d: %#v", i, err)
		}
	}
	// An expired conversation: 404, permanent, unreachable.
	e.fk.Expire(bob.ConversationID)
	m = msg()
	m.ThreadExternalID = bob.ConversationID
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Retryable || !se.Unreachable || se.Code != "404" || !strings.HasPrefix(se.Reason, "NOT_FOUND: ") {
		t.Fatalf("expired: %#v", err)
	}
	// Other 4xx: permanent with Google's status and message.
	e.fk.FailNext(fake.Failure{Status: 400, GRPCStatus: "INVALID_ARGUMENT", Message: "Message text is too long."})
	if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || se.Retryable || se.Unreachable || se.Reason != "INVALID_ARGUMENT: Message text is too long." {
		t.Fatalf("400: %#v", err)
	}
	// A wrong token.
	bad := createPOC(t, e.a, map[string]any{SettingAgentID: fake.DefaultAgentID, SettingAPIBaseURL: e.fk.URL()},
		map[string]string{CredentialClientToken: testClientToken, CredentialAccessToken: "expired"})
	if _, err := e.a.Send(ctx, bad, msg()); !errors.As(err, &se) || se.Retryable || se.Code != "401" || !strings.HasPrefix(se.Reason, "UNAUTHENTICATED") {
		t.Fatalf("bad token: %#v", err)
	}
	// A later part failing: permanent, saying what went out.
	e.fk.FailNext(fake.Failure{After: 1, Status: 400, GRPCStatus: "INVALID_ARGUMENT", Message: "bad"})
	m = msg()
	m.Text = strings.Repeat("a ", 2000)
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Retryable || !strings.Contains(se.Reason, "part 2 of 2 failed (the first 1 went out)") {
		t.Fatalf("part 2: %#v", err)
	}
	// Refused before the platform is called.
	for name, m := range map[string]*channel.OutboundMessage{
		"no conversation":  {ID: "m", Text: "hi"},
		"bad conversation": {ID: "m", ThreadExternalID: "a/b", Text: "hi"},
		"no id":            {ThreadExternalID: ana.ConversationID, Text: "hi"},
		"nothing":          {ID: "m", ThreadExternalID: ana.ConversationID},
		"two attachments":  {ID: "m", ThreadExternalID: ana.ConversationID, Attachments: []channel.OutboundAttachment{{URL: "https://a/1"}, {URL: "https://a/2"}}},
		"relative URL":     {ID: "m", ThreadExternalID: ana.ConversationID, Attachments: []channel.OutboundAttachment{{Name: "a.png", MimeType: "image/png", URL: "/blobs/a"}}},
		"bad native":       {ID: "m", ThreadExternalID: ana.ConversationID, Rendered: json.RawMessage(`{"native":[1],"text":"x"}`)},
	} {
		before := len(e.fk.Requests())
		if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Retryable {
			t.Errorf("%s: %#v", name, err)
		}
		if len(e.fk.Requests()) != before {
			t.Errorf("%s: the platform was called", name)
		}
	}
}

// TestWindow: replies for 30 days after the customer's last message.
func TestWindow(t *testing.T) {
	e := newEnv(t)
	w := e.a.Window(at)
	if !w.FreeUntil.Equal(at.Add(30*24*time.Hour)) || !w.HumanAgentUntil.IsZero() || w.TemplatesAfter {
		t.Fatalf("%+v", w)
	}
	if w := e.a.Window(time.Time{}); !w.FreeUntil.Before(at) {
		t.Fatalf("never wrote: %+v", w)
	}
	send := func(last time.Time) error {
		_, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{ID: "w-" + e.fk.NewID(), ThreadExternalID: ana.ConversationID, Text: "hi", LastInboundAt: last})
		return err
	}
	if err := send(at.Add(-29 * 24 * time.Hour)); err != nil {
		t.Fatalf("day 29: %v", err)
	}
	before := len(e.fk.Requests())
	var se *channel.SendError
	if err := send(at.Add(-31 * 24 * time.Hour)); !errors.As(err, &se) || se.Retryable || se.Code != "window_closed" {
		t.Fatalf("day 31: %#v", err)
	}
	if len(e.fk.Requests()) != before {
		t.Fatal("the platform was called outside the window")
	}
}

func TestRenderNative(t *testing.T) {
	a := New(nil, nil)
	// What the engine renders natively is not touched by the adapter (the
	// core only asks when the engine left plain text).
	for _, c := range []content.Content{
		{Type: content.TypeText, Text: "hi"},
		{Type: content.TypeListPicker, Text: "?", MultiSelect: true, Options: []content.Option{{ID: "a", Label: "A"}}},
		{Type: content.TypeFile, Text: "caption", Media: &content.Media{URL: "https://x/a.png", MimeType: "image/png"}},
		{Type: content.TypeFile, Media: &content.Media{URL: "https://x/a.pdf", MimeType: "application/pdf"}},
	} {
		base, err := content.Render(Type, c, content.RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := a.RenderNative(c, base); ok {
			t.Errorf("%s upgraded", c.Type)
		}
	}
	c := quickReplies()
	base, _ := content.Render(Type, c, content.RenderOptions{MessageID: "m"})
	up, ok := a.RenderNative(c, base)
	if !ok || up.Type != "google_business_messages.suggestions" || up.Text != base.Text || up.Prompt != base.Prompt {
		t.Fatalf("%+v", up)
	}
	if !strings.Contains(string(up.Native), `{"reply":{"postbackData":"agent","text":"Talk to a person right n…"}}`) {
		t.Fatalf("label not cut to 25: %s", up.Native)
	}
}
