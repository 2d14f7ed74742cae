package content

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func asValidation(err error, ve **ValidationError) bool { return errors.As(err, ve) }

func TestSamplesAreValid(t *testing.T) {
	for name, c := range samples() {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	qr := func(opts ...Option) Content { return Content{Type: TypeQuickReplies, Text: "Pick", Options: opts} }
	o := func(id, label string) Option { return Option{ID: id, Label: label} }
	many := func(n int) []Option {
		var out []Option
		for i := 0; i < n; i++ {
			out = append(out, o("o"+itoa(i), "Option "+itoa(i)))
		}
		return out
	}
	slot := TimeSlot{ID: "s", Start: "2025-11-24T09:00:00Z", DurationSec: 1800}
	tests := []struct {
		name  string
		c     Content
		field string
	}{
		{"no type", Content{Text: "x"}, "type"},
		{"unknown type", Content{Type: "video", Text: "x"}, "type"},
		{"empty text", Content{Type: TypeText}, "text"},
		{"text too long", Content{Type: TypeText, Text: strings.Repeat("é", 4097)}, "text"},
		{"title too long", Content{Type: TypeText, Text: "x", Title: strings.Repeat("a", 129)}, "title"},
		{"empty options", qr(), "options"},
		{"11 quick replies", Content{Type: TypeQuickReplies, Text: "x", Options: many(11)}, "options"},
		{"101 list options", Content{Type: TypeListPicker, Text: "x", Options: many(101)}, "options"},
		{"duplicate id", qr(o("a", "A"), o("a", "B")), "options[1].id"},
		{"bad id charset", qr(o("a", "A"), o("b c", "B"), o("d", "D")), "options[1].id"},
		{"comma in id", qr(o("a,b", "A")), "options[0].id"},
		{"id too long", qr(o(strings.Repeat("a", 65), "A")), "options[0].id"},
		{"empty label", qr(o("a", " ")), "options[0].label"},
		{"label too long", qr(o("a", strings.Repeat("x", 41))), "options[0].label"},
		{"description too long", qr(Option{ID: "a", Label: "A", Description: strings.Repeat("x", 73)}), "options[0].description"},
		{"http icon", qr(Option{ID: "a", Label: "A", IconURL: "http://example.com/i.png"}), "options[0].icon_url"},
		{"postback too long", qr(Option{ID: "a", Label: "A", Postback: strings.Repeat("x", 1025)}), "options[0].postback"},
		{"url option in picker", qr(Option{ID: "a", Label: "A", Kind: OptionURL, Postback: "https://x.example"}), "options[0].kind"},
		{"unknown kind", Content{Type: TypeCard, Title: "t", Options: []Option{{ID: "a", Label: "A", Kind: "sms"}}}, "options[0].kind"},
		{"javascript url action", Content{Type: TypeCard, Title: "t", Options: []Option{{ID: "a", Label: "A", Kind: OptionURL, Postback: "javascript:alert(1)"}}}, "options[0].postback"},
		{"bad call number", Content{Type: TypeCard, Title: "t", Options: []Option{{ID: "a", Label: "A", Kind: OptionCall, Postback: "0123"}}}, "options[0].postback"},
		{"picker without prompt", Content{Type: TypeQuickReplies, Options: many(2)}, "text"},
		{"section unknown option", Content{Type: TypeListPicker, Text: "x", Options: many(2), Sections: []Section{{Title: "S", OptionIDs: []string{"zz"}}}}, "sections[0].option_ids[0]"},
		{"option in two sections", Content{Type: TypeListPicker, Text: "x", Options: many(2), Sections: []Section{{Title: "S", OptionIDs: []string{"o0"}}, {Title: "T", OptionIDs: []string{"o0"}}}}, "sections[1].option_ids[0]"},
		{"options on text", Content{Type: TypeText, Text: "x", Options: many(1)}, "options"},
		{"multi-select quick replies", Content{Type: TypeQuickReplies, Text: "x", Options: many(2), MultiSelect: true}, "multi_select"},
		{"no slots", Content{Type: TypeTimePicker, Text: "x"}, "slots"},
		{"51 slots", func() Content {
			c := Content{Type: TypeTimePicker, Text: "x"}
			for i := 0; i < 51; i++ {
				c.Slots = append(c.Slots, TimeSlot{ID: "s" + itoa(i), Start: slot.Start, DurationSec: 1800})
			}
			return c
		}(), "slots"},
		{"bad slot start", Content{Type: TypeTimePicker, Text: "x", Slots: []TimeSlot{{ID: "s", Start: "tomorrow 9am", DurationSec: 1800}}}, "slots[0].start"},
		{"slot too short", Content{Type: TypeTimePicker, Text: "x", Slots: []TimeSlot{{ID: "s", Start: slot.Start, DurationSec: 59}}}, "slots[0].duration_sec"},
		{"slot too long", Content{Type: TypeTimePicker, Text: "x", Slots: []TimeSlot{{ID: "s", Start: slot.Start, DurationSec: 86401}}}, "slots[0].duration_sec"},
		{"duplicate slot", Content{Type: TypeTimePicker, Text: "x", Slots: []TimeSlot{slot, slot}}, "slots[1].id"},
		{"bad timezone", Content{Type: TypeTimePicker, Text: "x", Slots: []TimeSlot{slot}, Timezone: "Mars/Olympus"}, "timezone"},
		{"Local timezone", Content{Type: TypeTimePicker, Text: "x", Slots: []TimeSlot{slot}, Timezone: "Local"}, "timezone"},
		{"bad latitude", Content{Type: TypeLocation, Location: &Location{Latitude: 91}}, "location.latitude"},
		{"no fields", Content{Type: TypeForm, Text: "x"}, "fields"},
		{"21 fields", func() Content {
			c := Content{Type: TypeForm, Text: "x"}
			for i := 0; i < 21; i++ {
				c.Fields = append(c.Fields, Field{Name: "f" + itoa(i), Type: FieldText, Label: "F"})
			}
			return c
		}(), "fields"},
		{"bad field type", Content{Type: TypeForm, Text: "x", Fields: []Field{{Name: "a", Type: "color", Label: "A"}}}, "fields[0].type"},
		{"duplicate field", Content{Type: TypeForm, Text: "x", Fields: []Field{{Name: "a", Type: FieldText, Label: "A"}, {Name: "a", Type: FieldText, Label: "B"}}}, "fields[1].name"},
		{"max_len > 256", Content{Type: TypeForm, Text: "x", Fields: []Field{{Name: "a", Type: FieldText, Label: "A", MaxLen: 257}}}, "fields[0].max_len"},
		{"min > max", Content{Type: TypeForm, Text: "x", Fields: []Field{{Name: "a", Type: FieldText, Label: "A", MinLen: 10, MaxLen: 5}}}, "fields[0].min_len"},
		{"bad pattern", Content{Type: TypeForm, Text: "x", Fields: []Field{{Name: "a", Type: FieldText, Label: "A", Pattern: "(["}}}, "fields[0].pattern"},
		{"select without options", Content{Type: TypeForm, Text: "x", Fields: []Field{{Name: "a", Type: FieldSelect, Label: "A"}}}, "fields[0].options"},
		{"options on text field", Content{Type: TypeForm, Text: "x", Fields: []Field{{Name: "a", Type: FieldText, Label: "A", Options: many(1)}}}, "fields[0].options"},
		{"rich link without link", Content{Type: TypeRichLink}, "link"},
		{"http link", Content{Type: TypeRichLink, Link: &Link{URL: "http://example.com"}}, "link.url"},
		{"data link", Content{Type: TypeRichLink, Link: &Link{URL: "data:text/html,<script>alert(1)</script>"}}, "link.url"},
		{"relative link", Content{Type: TypeRichLink, Link: &Link{URL: "/foo"}}, "link.url"},
		{"http link image", Content{Type: TypeRichLink, Link: &Link{URL: "https://a.example", ImageURL: "http://a.example/i.png"}}, "link.image_url"},
		{"card without text or title", Content{Type: TypeCard, Media: &Media{URL: "https://a.example/i.png"}}, "title"},
		{"card with 4 actions", Content{Type: TypeCard, Title: "t", Options: many(4)}, "options"},
		{"empty carousel", Content{Type: TypeCarousel}, "items"},
		{"11 cards", Content{Type: TypeCarousel, Items: make([]Card, 11)}, "items"},
		{"carousel card empty", Content{Type: TypeCarousel, Items: []Card{{MediaURL: "https://a.example/i.png"}}}, "items[0].title"},
		{"carousel http media", Content{Type: TypeCarousel, Items: []Card{{Title: "t", MediaURL: "http://a.example/i.png"}}}, "items[0].media_url"},
		{"carousel duplicate action", Content{Type: TypeCarousel, Items: []Card{{Title: "a", Actions: many(1)}, {Title: "b", Actions: many(1)}}}, "items[1].actions[0].id"},
		{"adaptive card without fallback", Content{Type: TypeAdaptiveCard, AdaptiveCard: json.RawMessage(`{"type":"AdaptiveCard","version":"1.5"}`)}, "fallback_text"},
		{"adaptive card 1.6", Content{Type: TypeAdaptiveCard, FallbackText: "f", AdaptiveCard: json.RawMessage(`{"type":"AdaptiveCard","version":"1.6"}`)}, "adaptive_card.version"},
		{"adaptive card 2.0", Content{Type: TypeAdaptiveCard, FallbackText: "f", AdaptiveCard: json.RawMessage(`{"type":"AdaptiveCard","version":"2.0"}`)}, "adaptive_card.version"},
		{"adaptive card no version", Content{Type: TypeAdaptiveCard, FallbackText: "f", AdaptiveCard: json.RawMessage(`{"type":"AdaptiveCard"}`)}, "adaptive_card.version"},
		{"adaptive card wrong type", Content{Type: TypeAdaptiveCard, FallbackText: "f", AdaptiveCard: json.RawMessage(`{"type":"HeroCard","version":"1.0"}`)}, "adaptive_card.type"},
		{"adaptive card not object", Content{Type: TypeAdaptiveCard, FallbackText: "f", AdaptiveCard: json.RawMessage(`[1]`)}, "adaptive_card"},
		{"file without media", Content{Type: TypeFile}, "media"},
		{"http media", Content{Type: TypeFile, Media: &Media{URL: "http://a.example/f.pdf"}}, "media.url"},
		{"media url and id", Content{Type: TypeFile, Media: &Media{URL: "https://a.example/f.pdf", AttachmentID: "att1"}}, "media"},
		{"file name path", Content{Type: TypeFile, Media: &Media{URL: "https://a.example/f.pdf", FileName: "../etc/passwd"}}, "media.file_name"},
		{"bad mime", Content{Type: TypeFile, Media: &Media{URL: "https://a.example/f.pdf", MimeType: "pdf"}}, "media.mime_type"},
		{"override unknown channel", Content{Type: TypeText, Text: "x", Overrides: map[string]json.RawMessage{"fax": json.RawMessage(`{}`)}}, "overrides.fax"},
		{"override null", Content{Type: TypeText, Text: "x", Overrides: map[string]json.RawMessage{"sms": json.RawMessage(`null`)}}, "overrides.sms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			var ve *ValidationError
			if !asValidation(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError on %s", err, tc.field)
			}
			if ve.Field != tc.field {
				t.Errorf("field %q (%s), want %q", ve.Field, ve.Reason, tc.field)
			}
		})
	}
}

func TestValidationErrorJSON(t *testing.T) {
	err := (&Content{Type: TypeQuickReplies, Text: "x", Options: []Option{{ID: "a", Label: "A"}, {ID: "a", Label: "B"}}}).Validate()
	b, _ := json.Marshal(err)
	if string(b) != `{"field":"options[1].id","reason":"duplicate id \"a\""}` {
		t.Errorf("got %s", b)
	}
}
