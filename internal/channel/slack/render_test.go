package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/channel/slack/fake"
	"github.com/parleyhq/parley/internal/content"
)

// TestRoundTrip renders each answerable content natively, sends it to the
// fake, has the customer tap an answer as Slack would post it, and checks
// that the tap parses to the option id the engine's prompt resolves
// natively, with the label the customer saw.
func TestRoundTrip(t *testing.T) {
	e := newEnv(t)
	var got []channel.InboundEvent
	hook := httptest.NewServer(ingress(e, &got))
	defer hook.Close()
	for _, tc := range []struct {
		name   string
		c      content.Content
		choice string
		label  string
	}{
		{"quick reply", quickReplies, "GREEN", "Green"},
		{"list picker menu", listPicker, "sku-4", "Black loafers"},
		{"list picker buttons", listButtons, "m", "Medium"},
		{"multi-select list", listMulti, "olives", "Olives"},
		{"time slot", timePicker, "slot-2", "Monday 30 Nov, 14:00–14:30"},
		{"card action", card, "buy", "Buy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fk.Reset()
			got = nil
			r := render(t, e.a, tc.c)
			if !strings.HasPrefix(r.Type, "slack.") || r.Prompt == nil {
				t.Fatalf("not rendered natively: %+v", r)
			}
			m := out(fake.DMChannel(customer))
			m.Rendered = renderedJSON(t, r)
			if _, err := e.a.Send(context.Background(), e.poc, m); err != nil {
				t.Fatal(err)
			}
			resp, err := e.fk.Deliver(hook.URL, e.fk.Options().SigningSecret, customer, "Jane", tc.label, tc.choice, t0)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(got) != 1 {
				t.Fatalf("delivery: %d %s, %d events", resp.StatusCode, b, len(got))
			}
			ev := got[0]
			if ev.ChoiceID != tc.choice || ev.Text != tc.label || ev.ThreadID != fake.DMChannel(customer) || ev.AuthorID != customer {
				t.Fatalf("tap parsed as %+v", ev)
			}
			o := content.Resolve(r.Prompt, content.Reply{Text: ev.Text, NativeID: ev.ChoiceID}, t0)
			if o.Choice == nil || o.Choice.Source != content.SourceNative || !reflect.DeepEqual(o.Choice.OptionIDs, []string{tc.choice}) {
				t.Fatalf("resolved as %+v", o.Choice)
			}
		})
	}
}

func TestRenderNative(t *testing.T) {
	e := newEnv(t)
	a := e.a
	base := func(c content.Content) content.Rendered {
		r, err := content.Render(slack.Type, c, content.RenderOptions{Now: t0, MessageID: "msg1"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	blocksOf := func(r content.Rendered) []map[string]any {
		var n struct {
			Text   string           `json:"text"`
			Blocks []map[string]any `json:"blocks"`
		}
		if err := json.Unmarshal(r.Native, &n); err != nil {
			t.Fatal(err)
		}
		return n.Blocks
	}

	// Text and prompt are kept.
	b := base(quickReplies)
	r, ok := a.RenderNative(quickReplies, b)
	if !ok || r.Text != b.Text || !reflect.DeepEqual(r.Prompt, b.Prompt) || r.Type != "slack.quick_replies" {
		t.Fatalf("quick replies: %+v", r)
	}

	// Labels are cut to a button's 75 characters.
	long := content.Content{Type: content.TypeTimePicker, Text: "When?", Slots: []content.TimeSlot{
		{ID: "a", Start: "2026-11-30T09:00:00Z", DurationSec: 600, Label: strings.Repeat("x", 40)}}}
	long.Slots[0].Label = strings.Repeat("é", 40)
	if r, ok := a.RenderNative(long, base(long)); !ok || r.Type != "slack.time_picker.buttons" {
		t.Fatalf("time picker: %+v", r)
	}

	// More than 25 slots: a menu of 50.
	many := content.Content{Type: content.TypeTimePicker, Text: "When?", Timezone: "Europe/Paris"}
	for i := range 50 {
		many.Slots = append(many.Slots, content.TimeSlot{ID: fmt.Sprintf("s%d", i), Start: t0.Add(time.Duration(i) * time.Hour).Format(time.RFC3339), DurationSec: 1800})
	}
	r, ok = a.RenderNative(many, base(many))
	if !ok || r.Type != "slack.time_picker.select" {
		t.Fatalf("50 slots: %+v", r.Type)
	}
	menu := blocksOf(r)[0]["accessory"].(map[string]any)
	if len(menu["options"].([]any)) != 50 {
		t.Fatal("50 slots: options")
	}

	// A 100-option list with long descriptions: a menu Slack accepts.
	big := content.Content{Type: content.TypeListPicker, Text: "Pick one"}
	for i := range 100 {
		big.Options = append(big.Options, content.Option{ID: fmt.Sprintf("o%d", i), Label: strings.Repeat("L", 40), Description: strings.Repeat("d", 72)})
	}
	r, ok = a.RenderNative(big, base(big))
	if !ok || r.Type != "slack.list_picker.select" {
		t.Fatalf("100 options: %+v", r.Type)
	}

	// A question over a section's 3000 characters stays numbered text.
	huge := content.Content{Type: content.TypeQuickReplies, Text: strings.Repeat("word ", 700), Options: []content.Option{{ID: "a", Label: "A"}}}
	if _, ok := a.RenderNative(huge, base(huge)); ok {
		t.Fatal("a 3500-character section rendered")
	}

	// An image by URL becomes an image block; other files and plain text
	// stay as the engine rendered them; an override is never touched.
	img := content.Content{Type: content.TypeFile, Text: "Our new shop", Media: &content.Media{URL: "https://shop.example.com/front.jpg", MimeType: "image/jpeg", Alt: "The shop front"}}
	if r, ok := a.RenderNative(img, base(img)); !ok || r.Type != "slack.image" || blocksOf(r)[1]["type"] != "image" {
		t.Fatalf("image: %+v", r)
	}
	pdf := content.Content{Type: content.TypeFile, Media: &content.Media{URL: "https://shop.example.com/cgv.pdf", MimeType: "application/pdf"}}
	plain := content.Content{Type: content.TypeText, Text: "hello"}
	form := content.Content{Type: content.TypeForm, Text: "Your details", Fields: []content.Field{{Name: "email", Type: content.FieldEmail, Label: "Email", Required: true}}}
	for _, c := range []content.Content{pdf, plain, form} {
		if r, ok := a.RenderNative(c, base(c)); ok {
			t.Errorf("%s upgraded to %s", c.Type, r.Type)
		}
	}
	over := quickReplies
	over.Overrides = map[string]json.RawMessage{"slack": json.RawMessage(`{"text":"x"}`)}
	if _, ok := a.RenderNative(over, base(over)); ok {
		t.Error("override upgraded")
	}

	// Carousel: every card, between dividers; all of it valid Block Kit,
	// labels within limits, action ids unique per block.
	carousel := content.Content{Type: content.TypeCarousel, Text: "Our picks", Items: []content.Card{
		{Title: "Small", Subtitle: "€10", MediaURL: "https://shop.example.com/s.jpg", URL: "https://shop.example.com/s", Actions: []content.Option{{ID: "s", Label: "Choose"}}},
		{Title: "Large", Subtitle: "€15", Actions: []content.Option{{ID: "l", Label: "Choose"}}}}}
	for _, c := range []content.Content{quickReplies, listPicker, listButtons, listMulti, timePicker, richLink, card, carousel, img, many, big, long} {
		r, ok := a.RenderNative(c, base(c))
		if !ok {
			t.Fatalf("%s not rendered", c.Type)
		}
		var n struct {
			Blocks json.RawMessage `json:"blocks"`
		}
		_ = json.Unmarshal(r.Native, &n)
		if msgs := fake.CheckBlocks(n.Blocks); len(msgs) > 0 {
			t.Errorf("%s: invalid blocks: %v", r.Type, msgs)
		}
		walkText(t, r.Type, n.Blocks)
	}
}

// walkText checks every button and option label is within 75 characters.
func walkText(t *testing.T, name string, raw json.RawMessage) {
	t.Helper()
	var v any
	_ = json.Unmarshal(raw, &v)
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if x["type"] == "plain_text" {
				if s, _ := x["text"].(string); utf8.RuneCountInString(s) > 75 {
					t.Errorf("%s: plain text over 75 characters: %q", name, s)
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
}

func TestConfigure(t *testing.T) {
	a := slack.New(nil, nil)
	good := func() (map[string]any, map[string]string) {
		return map[string]any{"bot_user_id": "U0FAKEBOT1", "api_base_url": "https://slack.example.com/api/"},
			map[string]string{"bot_token": " " + fake.DefaultBotToken + " ", "signing_secret": "abc123"}
	}
	pts := newPoints(t, a)
	s, c := good()
	poc, err := pts.create(s, c)
	if err != nil {
		t.Fatal(err)
	}
	if poc.SettingString("api_base_url") != "https://slack.example.com/api" || poc.Credential("bot_token") != fake.DefaultBotToken || poc.SettingString("bot_user_id") != "U0FAKEBOT1" {
		t.Fatalf("not normalised: %+v %q", poc.Settings, poc.Credential("bot_token"))
	}
	// Everything optional may be left out.
	if _, err := pts.create(nil, map[string]string{"bot_token": fake.DefaultBotToken, "signing_secret": "abc"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(map[string]any, map[string]string)
		field string
	}{
		{"no bot token", func(s map[string]any, c map[string]string) { delete(c, "bot_token") }, "credentials.bot_token"},
		{"a user token", func(s map[string]any, c map[string]string) { c["bot_token"] = "xoxp-1234567890-abcdef" }, "credentials.bot_token"},
		{"no signing secret", func(s map[string]any, c map[string]string) { delete(c, "signing_secret") }, "credentials.signing_secret"},
		{"unknown credential", func(s map[string]any, c map[string]string) { c["app_secret"] = "x" }, "credentials.app_secret"},
		{"bad bot user id", func(s map[string]any, c map[string]string) { s["bot_user_id"] = "B0123" }, "settings.bot_user_id"},
		{"bad base URL", func(s map[string]any, c map[string]string) { s["api_base_url"] = "slack.com/api" }, "settings.api_base_url"},
		{"setting not a string", func(s map[string]any, c map[string]string) { s["bot_user_id"] = 5 }, "settings.bot_user_id"},
		{"unknown setting", func(s map[string]any, c map[string]string) { s["team_id"] = "T1" }, "settings.team_id"},
	} {
		s, c := good()
		tc.edit(s, c)
		_, err := pts.create(s, c)
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
		}
	}
}
