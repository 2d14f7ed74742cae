package viber

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
)

// TestRenderNativeKeepsBase: the upgrade keeps the engine's text and
// prompt, and names its rung.
func TestRenderNativeKeepsBase(t *testing.T) {
	a := New(nil, nil)
	for _, c := range []struct {
		content content.Content
		rung    string
	}{
		{quickReplies(), "viber.keyboard"},
		{content.Content{Type: content.TypeListPicker, Text: "Pick", Options: pizzas(10, true)}, "viber.keyboard"},
		{carousel(), "viber.rich_media"},
		{content.Content{Type: content.TypeFile, Media: &content.Media{URL: "https://x.example/a.gif"}}, "viber.picture"},
		{content.Content{Type: content.TypeLocation, Location: &content.Location{Latitude: 1, Longitude: 2}}, "viber.location"},
	} {
		base, err := content.Render(Type, c.content, content.RenderOptions{MessageID: "m1"})
		if err != nil {
			t.Fatal(err)
		}
		up, ok := a.RenderNative(c.content, base)
		if !ok || up.Type != c.rung || up.Text != base.Text || !reflect.DeepEqual(up.Prompt, base.Prompt) || !json.Valid(up.Native) {
			t.Errorf("%s: ok=%v %+v", c.content.Type, ok, up)
		}
	}
}

// TestRenderNativeDeclines: what a keyboard cannot carry stays the
// engine's numbered text.
func TestRenderNativeDeclines(t *testing.T) {
	a := New(nil, nil)
	many := make([]content.Option, 30)
	for i := range many {
		many[i] = content.Option{ID: "o" + strconv.Itoa(i), Label: "Option " + strconv.Itoa(i)}
	}
	cards := make([]content.Card, 7)
	for i := range cards {
		cards[i] = content.Card{Title: "Card " + strconv.Itoa(i)}
	}
	cases := map[string]content.Content{
		"multi-select":   {Type: content.TypeListPicker, Text: "Pick", MultiSelect: true, Options: pizzas(3, false)},
		"too many":       {Type: content.TypeListPicker, Text: "Pick", Options: many},
		"seven cards":    {Type: content.TypeCarousel, Items: cards},
		"call action":    {Type: content.TypeCard, Title: "Call us", Options: []content.Option{{ID: "c", Label: "Call", Kind: content.OptionCall, Postback: "+351210000000"}}},
		"not a picture":  {Type: content.TypeFile, Media: &content.Media{URL: "https://x.example/a.pdf", MimeType: "application/pdf"}},
		"plain text":     {Type: content.TypeText, Text: "hello"},
		"rich link":      {Type: content.TypeRichLink, Link: &content.Link{URL: "https://x.example"}},
		"form (in text)": {Type: content.TypeForm, Text: "Your details", Fields: []content.Field{{Name: "email", Type: content.FieldEmail, Label: "Email"}}},
	}
	for name, c := range cases {
		base, err := content.Render(Type, c, content.RenderOptions{MessageID: "m1"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if up, ok := a.RenderNative(c, base); ok || !reflect.DeepEqual(up, base) {
			t.Errorf("%s: upgraded to %+v", name, up)
		}
	}
	override := content.Rendered{Type: "override", Native: json.RawMessage(`{"type":"text","text":"x"}`)}
	if _, ok := a.RenderNative(quickReplies(), override); ok {
		t.Error("an override was replaced")
	}
}

// TestTapResolvesToOption: a quick reply goes out as a keyboard; the
// customer's tap (the fake posts the button's ActionBody with the
// tracking_data Viber echoes) comes back as ChoiceID = the option id and
// Text = the label, and the prompt resolves it natively.
func TestTapResolvesToOption(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rc, url := e.startReceiver(t)
	c := content.Content{Type: content.TypeQuickReplies, Text: "Same label twice?", Options: []content.Option{
		{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}, {ID: "no_2", Label: "No"}}}
	r, raw := render(t, c)
	if _, err := e.a.Send(ctx, e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: r.Text, Rendered: raw}); err != nil {
		t.Fatal(err)
	}
	for _, tap := range []struct{ id, text string }{{"yes", "Yes"}, {"no_2", "No (3)"}} {
		resp, err := e.fk.Deliver(url, ana, "", tap.id, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("tap answered %d", resp.StatusCode)
		}
		events, _ := rc.got()
		ev := events[len(events)-1]
		if ev.ChoiceID != tap.id || ev.Text != tap.text || ev.AuthorID != ana.ID || ev.PlatformMessageID == "" {
			t.Fatalf("tap %s: %+v", tap.id, ev)
		}
		out := content.Resolve(r.Prompt, content.Reply{Text: ev.Text, NativeID: ev.ChoiceID}, e.clock.Now())
		if out.Choice == nil || out.Choice.Source != content.SourceNative || !reflect.DeepEqual(out.Choice.OptionIDs, []string{tap.id}) {
			t.Fatalf("resolved %+v", out)
		}
	}
	// Typed text that is no button: no ChoiceID, whatever the tracking data.
	status, body, err := e.fk.DeliverSigned(url, testToken, ana.ID, ana.Name, "maybe later", "", e.clock.Now())
	if err != nil || status != 200 || body != "" {
		t.Fatalf("%d %q %v", status, body, err)
	}
	events, _ := rc.got()
	if ev := events[len(events)-1]; ev.ChoiceID != "" || ev.Text != "maybe later" {
		t.Fatalf("%+v", ev)
	}
}

// TestTapOnCarousel: a reply action of a rich_media card is a tap too.
func TestTapOnCarousel(t *testing.T) {
	e := newEnv(t, nil)
	r, raw := render(t, carousel())
	if _, err := e.a.Send(context.Background(), e.poc, &channel.OutboundMessage{RecipientID: ana.ID, Text: r.Text, Rendered: raw}); err != nil {
		t.Fatal(err)
	}
	payload, err := e.fk.Taps(ana, "buy_road", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs := e.parse(t, payload)
	if len(evs) != 1 || evs[0].ChoiceID != "buy_road" || evs[0].Text != "Buy – Road shoe" {
		t.Fatalf("%+v", evs)
	}
	if _, err := e.fk.Taps(ana, "nonexistent", e.clock.Now()); err == nil {
		t.Fatal("a tap on no button")
	}
}

// TestChoicesEncoding: tracking_data that is not Parley's gives no choice.
func TestChoicesEncoding(t *testing.T) {
	s, ok := encodeChoices(map[string]string{"Yes <b>": "yes"})
	if !ok || !reflect.DeepEqual(decodeChoices(s), map[string]string{"Yes <b>": "yes"}) {
		t.Fatalf("%q", s)
	}
	for _, other := range []string{"", "…", "parley:choices:", "parley:choices:[1]", `{"Yes":"yes"}`} {
		if m := decodeChoices(other); m != nil {
			t.Errorf("%q decoded to %v", other, m)
		}
	}
	big := map[string]string{}
	for i := 0; i < 200; i++ {
		big["A rather long label number "+strconv.Itoa(i)] = "option_" + strconv.Itoa(i)
	}
	if _, ok := encodeChoices(big); ok {
		t.Fatal("tracking data over Viber's limit accepted")
	}
}
