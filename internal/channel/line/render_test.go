package line

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel/line/fake"
	"github.com/parleyhq/parley/internal/content"
)

// nativeMsgs decodes a rendered native payload.
func nativeMsgs(t *testing.T, r content.Rendered) []map[string]any {
	t.Helper()
	var n struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(r.Native, &n); err != nil {
		t.Fatalf("native %s: %v", r.Native, err)
	}
	return n.Messages
}

// TestTapResolves: a rendered button, tapped on the fake, comes back
// through the webhook as the option id and label, which the core's
// resolution turns into the structured choice.
func TestTapResolves(t *testing.T) {
	e := newEnv(t)
	for _, c := range []content.Content{goldenContents()["quick_replies"], goldenContents()["time_picker"],
		goldenContents()["list_picker_long_labels"], goldenContents()["card"]} {
		r := renderFor(t, e.a, c)
		msgs := nativeMsgs(t, r)
		// The first answer button of the payload, wherever it is.
		var action map[string]any
		var find func(v any)
		find = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if x["type"] == "postback" && action == nil {
					action = x
				}
				for _, y := range x {
					find(y)
				}
			case []any:
				for _, y := range x {
					find(y)
				}
			}
		}
		for _, m := range msgs {
			find(m)
		}
		if action == nil {
			t.Fatalf("%s: no postback button in %s", c.Type, r.Native)
		}
		evs := e.receive(t, e.fk.Payload(fake.Postback(customer, action["data"].(string), nil, e.clock.Now())))
		if len(evs) != 1 {
			t.Fatalf("%s: %d events", c.Type, len(evs))
		}
		if evs[0].Text != action["displayText"] {
			t.Fatalf("%s: text %q, the chat showed %q", c.Type, evs[0].Text, action["displayText"])
		}
		out := content.Resolve(r.Prompt, content.Reply{Text: evs[0].Text, NativeID: evs[0].ChoiceID}, t0)
		if out.Choice == nil || out.Choice.Source != content.SourceNative || len(out.Choice.OptionIDs) != 1 || out.Choice.OptionIDs[0] != r.Prompt.Options[0].ID {
			t.Fatalf("%s: choice %+v from %+v", c.Type, out.Choice, evs[0])
		}
	}
}

func TestRenderLadders(t *testing.T) {
	a := New(nil, nil)
	opts := func(n int, label func(i int) string) []content.Option {
		out := make([]content.Option, n)
		for i := range out {
			out[i] = content.Option{ID: "o" + string(rune('a'+i)), Label: label(i)}
		}
		return out
	}
	short := func(i int) string { return "Option " + string(rune('A'+i)) }
	long := func(i int) string { return "A rather long option label " + string(rune('A'+i)) }
	slots := func(n int) []content.TimeSlot {
		out := make([]content.TimeSlot, n)
		for i := range out {
			out[i] = content.TimeSlot{ID: "s" + string(rune('a'+i)), Start: t0.Add(time.Duration(i+24) * time.Hour).Format(time.RFC3339), DurationSec: 1800}
		}
		return out
	}
	cases := []struct {
		name string
		c    content.Content
		want string
	}{
		{"13 quick list rows", content.Content{Type: content.TypeListPicker, Text: "?", Options: opts(13, short)}, "line.quick_reply"},
		{"14 list rows", content.Content{Type: content.TypeListPicker, Text: "?", Options: opts(14, short)}, "text"},
		{"long quick replies", content.Content{Type: content.TypeQuickReplies, Text: "?", Options: opts(10, long)}, "line.template.carousel"},
		{"long list, 11 rows", content.Content{Type: content.TypeListPicker, Text: "?", Options: opts(11, long)}, "text"},
		{"same labels", content.Content{Type: content.TypeQuickReplies, Text: "?", Options: opts(2, func(int) string { return "Yes" })}, "line.template.carousel"},
		{"persistent 5", content.Content{Type: content.TypeListPicker, Text: "?", Options: opts(5, short), Persistent: true}, "line.template.carousel"},
		{"multi-select", content.Content{Type: content.TypeListPicker, Text: "?", Options: opts(3, short), MultiSelect: true}, "text"},
		{"13 slots", content.Content{Type: content.TypeTimePicker, Text: "When?", Slots: slots(13)}, "line.quick_reply"},
		{"14 slots", content.Content{Type: content.TypeTimePicker, Text: "When?", Slots: slots(14)}, "text"},
		{"card without action", content.Content{Type: content.TypeCard, Title: "Hello"}, "text"},
		{"card with link only", content.Content{Type: content.TypeCard, Title: "Hello", Link: &content.Link{URL: "https://example.com"}}, "line.template.buttons"},
		{"uneven carousel", content.Content{Type: content.TypeCarousel, Items: []content.Card{
			{Title: "a", Actions: []content.Option{{ID: "x", Label: "X"}}},
			{Title: "b", Actions: []content.Option{{ID: "y", Label: "Y"}, {ID: "z", Label: "Z"}}}}}, "text"},
		{"carousel of links", content.Content{Type: content.TypeCarousel, Items: []content.Card{
			{Title: "a", URL: "https://example.com/a"}, {Title: "b", Subtitle: "bee", URL: "https://example.com/b"}}}, "line.template.carousel"},
		{"form", content.Content{Type: content.TypeForm, Text: "Tell us", Fields: []content.Field{{Name: "email", Type: content.FieldEmail, Label: "Email"}}}, "form.sequential"},
		{"adaptive card", content.Content{Type: content.TypeAdaptiveCard, FallbackText: "A card", AdaptiveCard: json.RawMessage(`{"type":"AdaptiveCard","version":"1.5","body":[]}`)}, "text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := content.Render(Type, tc.c, content.RenderOptions{Now: t0, MessageID: outboundID})
			if err != nil {
				t.Fatal(err)
			}
			if up, ok := a.RenderNative(tc.c, r); ok {
				if up.Text != r.Text || up.Prompt != r.Prompt {
					t.Fatal("RenderNative changed the text or the prompt")
				}
				r = up
			}
			got := r.Type
			if got == "fallback_text" {
				got = "text"
			}
			if got != tc.want {
				t.Fatalf("rung %q, want %q (%s)", r.Type, tc.want, r.Native)
			}
			if r.Native != nil {
				checkLimits(t, nativeMsgs(t, r))
			}
		})
	}
}

// checkLimits walks a payload for LINE's limits on labels and data.
func checkLimits(t *testing.T, msgs []map[string]any) {
	t.Helper()
	if len(msgs) == 0 || len(msgs) > MaxMessages {
		t.Fatalf("%d messages", len(msgs))
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if l, ok := x["label"].(string); ok && utf8.RuneCountInString(l) > maxActionLabel {
				t.Errorf("label %q over 20", l)
			}
			if d, ok := x["data"].(string); ok && utf8.RuneCountInString(d) > maxPostbackData {
				t.Errorf("data over 300: %q", d)
			}
			if a, ok := x["altText"].(string); ok && utf8.RuneCountInString(a) > maxAltText {
				t.Errorf("altText over 400")
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
	for _, m := range msgs {
		walk(m)
	}
}

func TestRenderLimits(t *testing.T) {
	a := New(nil, nil)
	// A 64-character id and a 40-character label fit the postback data.
	id := strings.Repeat("i", 64)
	c := content.Content{Type: content.TypeQuickReplies, Text: strings.Repeat("Why? ", 800), Options: []content.Option{
		{ID: id, Label: "Yes"}, {ID: "no", Label: strings.Repeat("é", 40)}}}
	r, err := content.Render(Type, c, content.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	up, ok := a.RenderNative(c, r)
	if !ok || up.Type != "line.template.carousel" {
		t.Fatalf("rendered %+v", up)
	}
	msgs := nativeMsgs(t, up)
	checkLimits(t, msgs)
	if txt := msgs[0]["text"].(string); utf8.RuneCountInString(txt) > MaxTextLength {
		t.Fatal("text over 5000")
	}
	// A rich link whose text is too long for the template: the text goes
	// first, the template shows the host.
	c = content.Content{Type: content.TypeRichLink, Text: strings.Repeat("word ", 40), Link: &content.Link{URL: "https://shop.example.com/x"}}
	r, _ = content.Render(Type, c, content.RenderOptions{})
	up, ok = a.RenderNative(c, r)
	msgs = nativeMsgs(t, up)
	if !ok || len(msgs) != 2 || msgs[0]["type"] != "text" || msgs[1]["template"].(map[string]any)["text"] != "shop.example.com" {
		t.Fatalf("long rich link %s", up.Native)
	}
}

func TestPostbackData(t *testing.T) {
	p := postback(choice{id: "abc", label: strings.Repeat("x", 400), button: "X"}, "X")
	if d := p["data"].(string); utf8.RuneCountInString(d) != maxPostbackData || !strings.HasPrefix(d, "abc|") {
		t.Fatalf("data %d characters", utf8.RuneCountInString(d))
	}
	if utf8.RuneCountInString(p["displayText"].(string)) > maxDisplayText {
		t.Fatal("displayText over 300")
	}
}
