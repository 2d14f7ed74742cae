package content

import (
	"encoding/json"
	"fmt"
	"time"
	_ "time/tzdata" // tests must not depend on the host's zoneinfo
)

// fixedNow is the clock of every test.
var fixedNow = time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC)

func paris() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}

func testOpts() RenderOptions {
	return RenderOptions{MessageID: "msg-1", Now: fixedNow, PromptTTL: 24 * time.Hour}
}

// sample returns one representative content per type.
func samples() map[string]Content {
	return map[string]Content{
		"text":     {Type: TypeText, Text: "Hello Ana, your order #123 has shipped."},
		"html":     {Type: TypeHTML, Text: `<h2>Order shipped</h2><p>Hello <b>Ana</b>, your order <i>#123</i> has <s>not</s> shipped. <a href="https://example.com/track/123">Track it</a></p><ul><li>Socks</li><li>Hat</li></ul><script>alert(1)</script>`},
		"markdown": {Type: TypeMarkdown, Text: "## Order shipped\n\nHello **Ana**, your order _#123_ has ~~not~~ shipped. [Track it](https://example.com/track/123)\n\n1. Socks\n2. Hat\n\n<script>alert(1)</script>"},
		"quick_replies": {Type: TypeQuickReplies, Text: "Was this helpful?", Options: []Option{
			{ID: "yes", Label: "Yes", Postback: "HELPFUL_YES"},
			{ID: "no", Label: "No", Postback: "HELPFUL_NO"},
			{ID: "agent", Label: "Talk to an agent"},
		}},
		"list_picker": {Type: TypeListPicker, Title: "Our shops", Text: "Which shop do you want to visit?", Options: []Option{
			{ID: "paris", Label: "Paris Opéra", Description: "Open 9:00–20:00"},
			{ID: "lyon", Label: "Lyon Part-Dieu"},
			{ID: "lille", Label: "Lille Europe"},
		}},
		"time_picker": {Type: TypeTimePicker, Text: "Which day suits you?", Timezone: "Europe/Paris",
			Location: &Location{Latitude: 48.8708, Longitude: 2.3317, RadiusM: 100, Title: "Paris Opéra shop"},
			Slots: []TimeSlot{
				{ID: "s1", Start: "2025-11-24T08:00:00Z", DurationSec: 1800},
				{ID: "s2", Start: "2025-11-24T13:00:00Z", DurationSec: 1800},
			}},
		"form": {Type: TypeForm, Title: "Call-back request", Text: "We'll call you back.", Fields: []Field{
			{Name: "name", Type: FieldText, Label: "Your name", Required: true, MaxLen: 80},
			{Name: "email", Type: FieldEmail, Label: "Your email", Required: true},
			{Name: "topic", Type: FieldSelect, Label: "Topic", Required: true, Options: []Option{{ID: "billing", Label: "Billing"}, {ID: "delivery", Label: "Delivery"}}},
		}},
		"rich_link": {Type: TypeRichLink, Text: "Here is our winter catalogue:", Link: &Link{URL: "https://example.com/winter", Title: "Winter catalogue", ImageURL: "https://example.com/winter.jpg"}},
		"adaptive_card": {Type: TypeAdaptiveCard, FallbackText: "Your order #123: 2 items, 54.00 EUR.",
			AdaptiveCard: json.RawMessage(`{"type":"AdaptiveCard","version":"1.5","body":[{"type":"TextBlock","text":"Order #123"}],"actions":[{"type":"Action.Submit","title":"OK","data":{"choice":"ok"}}]}`)},
		"card": {Type: TypeCard, Title: "Wool hat", Text: "Warm and soft, 25 EUR.", Media: &Media{URL: "https://example.com/hat.jpg", MimeType: "image/jpeg"},
			Options: []Option{{ID: "buy", Label: "Buy", Kind: OptionPostback, Postback: "BUY_HAT"}, {ID: "later", Label: "Later"}}},
		"carousel": {Type: TypeCarousel, Text: "Our bestsellers:", Items: []Card{
			{Title: "Wool hat", Subtitle: "25 EUR", MediaURL: "https://example.com/hat.jpg", URL: "https://example.com/hat", Actions: []Option{{ID: "buy_hat", Label: "Buy"}}},
			{Title: "Scarf", Subtitle: "30 EUR", MediaURL: "https://example.com/scarf.jpg", Actions: []Option{{ID: "buy_scarf", Label: "Buy"}, {ID: "info_scarf", Label: "Details", Kind: OptionURL, Postback: "https://example.com/scarf"}}},
		}},
		"file":           {Type: TypeFile, Text: "Your invoice", Media: &Media{URL: "https://example.com/invoice-123.pdf", MimeType: "application/pdf", FileName: "invoice-123.pdf"}},
		"location":       {Type: TypeLocation, Text: "Our shop:", Location: &Location{Latitude: 48.8708, Longitude: 2.3317, Title: "Paris Opéra", Address: "1 place de l'Opéra, 75009 Paris"}},
		"list_picker_10": tenOptionList(),
		"quick_replies_long_labels": {Type: TypeQuickReplies, Text: "What do you need?", Options: []Option{
			{ID: "track", Label: "Track my parcel please"},
			{ID: "return", Label: "Return an item I bought"},
		}},
		"list_picker_multi": {Type: TypeListPicker, Text: "Which toppings?", MultiSelect: true, Options: []Option{
			{ID: "cheese", Label: "Cheese"}, {ID: "ham", Label: "Ham"}, {ID: "olives", Label: "Olives"},
		}},
	}
}

func tenOptionList() Content {
	c := Content{Type: TypeListPicker, Title: "Sizes", Text: "Pick your size", Sections: []Section{
		{Title: "Women", OptionIDs: []string{"w1", "w2", "w3", "w4", "w5"}},
		{Title: "Men", OptionIDs: []string{"m1", "m2", "m3", "m4", "m5"}},
	}}
	for _, g := range []string{"w", "m"} {
		for i := 1; i <= 5; i++ {
			c.Options = append(c.Options, Option{ID: fmt.Sprintf("%s%d", g, i), Label: fmt.Sprintf("%s size %d", map[string]string{"w": "Women's", "m": "Men's"}[g], 34+2*i)})
		}
	}
	return c
}

// tableChannels are the channels of the seed tables plus SMS, the
// text-only example.
func tableChannels() []string {
	return []string{ChannelAppleMessages, ChannelChat, ChannelEmail, ChannelMessenger, ChannelWhatsApp, ChannelGoogleBusinessMessages, ChannelSMS}
}
