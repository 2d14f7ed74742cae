package content

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustPrompt(t *testing.T, ch string, c Content) *Prompt {
	t.Helper()
	opts := testOpts()
	opts.Location = paris()
	r, err := Render(ch, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Prompt == nil {
		t.Fatalf("no prompt for %s on %s", c.Type, ch)
	}
	// The prompt survives a round trip through storage.
	b, err := json.Marshal(r.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	var p Prompt
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

var colours = Content{Type: TypeListPicker, Text: "Which colour?", Options: []Option{
	{ID: "red", Label: "Rouge écarlate", Postback: "PB_RED"},
	{ID: "blue", Label: "Bleu", Postback: "PB_BLUE"},
	{ID: "green", Label: "Vert", Postback: "PB_GREEN"},
}}

var sizes = Content{Type: TypeListPicker, Text: "Which size?", Options: []Option{
	{ID: "ls", Label: "Large shirt"}, {ID: "lt", Label: "Large trousers"}, {ID: "s", Label: "Small shirt"},
}}

// TestResolveNativeEvents: how each channel's native reply arrives, and
// that the adapter's Reply{NativeID} maps to the same Choice.
func TestResolveNativeEvents(t *testing.T) {
	tests := []struct {
		channel, how, nativeID, text string
		c                            Content
		want                         []string
	}{
		{ChannelWhatsApp, `messages[].interactive.button_reply.id (reply buttons)`, "no", "No", samples()["quick_replies"], []string{"no"}},
		{ChannelWhatsApp, `messages[].interactive.list_reply.id (list rows)`, "blue", "Bleu", colours, []string{"blue"}},
		{ChannelMessenger, `messaging[].message.quick_reply.payload`, "green", "Vert", colours, []string{"green"}},
		{ChannelMessenger, `messaging[].postback.payload (generic template button)`, "buy", "Buy", samples()["card"], []string{"buy"}},
		{ChannelAppleMessages, `interactiveData.data.listPicker.sections[].items[].identifier (selected items)`, "red", "", colours, []string{"red"}},
		{ChannelAppleMessages, `interactiveData.data["quick-reply"] selected item identifier`, "agent", "", samples()["quick_replies"], []string{"agent"}},
		{ChannelGoogleBusinessMessages, `suggestionResponse.postbackData`, "blue", "Bleu", colours, []string{"blue"}},
		{ChannelChat, `widget event {"type":"choice","option_ids":["red","green"]}`, "red,green", "", Content{Type: TypeListPicker, Text: "x", MultiSelect: true, Options: colours.Options}, []string{"red", "green"}},
	}
	for _, tc := range tests {
		t.Run(tc.channel+"/"+tc.how, func(t *testing.T) {
			p := mustPrompt(t, tc.channel, tc.c)
			out := Resolve(p, Reply{NativeID: tc.nativeID, Text: tc.text}, fixedNow)
			if out.Choice == nil {
				t.Fatalf("no choice: %+v", out)
			}
			if out.Choice.Source != SourceNative || !reflect.DeepEqual(out.Choice.OptionIDs, tc.want) {
				t.Errorf("got %+v", out.Choice)
			}
			if out.Choice.InReplyTo != "msg-1" || !out.PromptClosed {
				t.Errorf("in_reply_to %q closed %v", out.Choice.InReplyTo, out.PromptClosed)
			}
		})
	}
}

func TestResolveText(t *testing.T) {
	multi := colours
	multi.MultiSelect = true
	tests := []struct {
		name   string
		c      Content
		text   string
		ids    []string
		source Source
		tied   []string // ask again with these
	}{
		{"number", colours, "2", []string{"blue"}, SourceNumber, nil},
		{"number with punctuation", colours, " 3) ", []string{"green"}, SourceNumber, nil},
		{"number hash", colours, "#1", []string{"red"}, SourceNumber, nil},
		{"two numbers on single select", colours, "1, 3", nil, "", nil},
		{"numbers on multi-select", multi, "1, 3", []string{"red", "green"}, SourceNumber, nil},
		{"numbers and", multi, "1 and 2", []string{"red", "blue"}, SourceNumber, nil},
		{"number out of range", colours, "4", nil, "", nil},
		{"exact label other case", colours, "BLEU", []string{"blue"}, SourceLabel, nil},
		{"exact label without accents", colours, "rouge ecarlate", []string{"red"}, SourceLabel, nil},
		{"labels on multi-select", multi, "bleu et vert", []string{"blue", "green"}, SourceLabel, nil},
		{"the second one", colours, "the second one", []string{"blue"}, SourceFuzzy, nil},
		{"second", colours, "Second", []string{"blue"}, SourceFuzzy, nil},
		{"2nd", colours, "2nd please", []string{"blue"}, SourceFuzzy, nil},
		{"le deuxième", colours, "le deuxième", []string{"blue"}, SourceFuzzy, nil},
		{"le dernier", colours, "le dernier", []string{"green"}, SourceFuzzy, nil},
		{"option 3", colours, "option 3", []string{"green"}, SourceFuzzy, nil},
		{"part of a label", colours, "rouge", []string{"red"}, SourceFuzzy, nil},
		{"label inside a sentence", colours, "je veux le vert", []string{"green"}, SourceFuzzy, nil},
		{"typo", colours, "ecarlatte", []string{"red"}, SourceFuzzy, nil},
		{"ordinal out of range", colours, "the fifth one", nil, "", nil},
		{"ambiguous", sizes, "large", nil, "", []string{"ls", "lt"}},
		{"ambiguous shirt", sizes, "shirt", nil, "", []string{"ls", "s"}},
		{"free text", colours, "Do you have it in yellow?", nil, "", nil},
		{"empty", colours, "   ", nil, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPrompt(t, ChannelSMS, tc.c)
			out := Resolve(p, Reply{Text: tc.text}, fixedNow)
			switch {
			case tc.ids != nil:
				if out.Choice == nil || !reflect.DeepEqual(out.Choice.OptionIDs, tc.ids) || out.Choice.Source != tc.source {
					t.Fatalf("got %+v, want %v by %s", out.Choice, tc.ids, tc.source)
				}
				if out.Choice.RawText != tc.text {
					t.Errorf("raw text %q", out.Choice.RawText)
				}
			case tc.tied != nil:
				if out.Choice != nil || out.AskAgain == nil || out.PromptClosed {
					t.Fatalf("want ask again, got %+v", out)
				}
				var got []string
				for _, o := range out.AskAgain.Options {
					got = append(got, o.ID)
				}
				if !reflect.DeepEqual(got, tc.tied) {
					t.Errorf("asked again with %v, want %v", got, tc.tied)
				}
				// Asking again is itself a picker: rendered on SMS it is a
				// new numbered prompt, and "1" now means the first tied option.
				r, err := Render(ChannelSMS, *out.AskAgain, testOpts())
				if err != nil {
					t.Fatal(err)
				}
				again := Resolve(r.Prompt, Reply{Text: "1"}, fixedNow)
				if again.Choice == nil || again.Choice.OptionIDs[0] != tc.tied[0] {
					t.Errorf("after asking again: %+v", again)
				}
			default:
				if out.Choice != nil || out.PromptClosed || out.UpdatedPrompt == nil {
					t.Fatalf("want free text with the prompt open, got %+v", out)
				}
			}
		})
	}
}

func TestResolvePostbacksAndPersistence(t *testing.T) {
	p := mustPrompt(t, ChannelWhatsApp, colours)
	out := Resolve(p, Reply{Text: "3"}, fixedNow)
	if !reflect.DeepEqual(out.Choice.Postbacks, []string{"PB_GREEN"}) || !out.PromptClosed || out.UpdatedPrompt != nil {
		t.Errorf("got %+v", out)
	}
	persistent := colours
	persistent.Persistent = true
	p = mustPrompt(t, ChannelWhatsApp, persistent)
	out = Resolve(p, Reply{Text: "1"}, fixedNow)
	if out.PromptClosed || out.UpdatedPrompt == nil || out.Choice == nil {
		t.Errorf("persistent prompt closed: %+v", out)
	}
}

func TestResolveStaleNativeIDFallsBackToText(t *testing.T) {
	p := mustPrompt(t, ChannelWhatsApp, colours)
	out := Resolve(p, Reply{NativeID: "from-an-older-message", Text: "Vert"}, fixedNow)
	if out.Choice == nil || out.Choice.OptionIDs[0] != "green" || out.Choice.Source != SourceLabel {
		t.Errorf("got %+v", out.Choice)
	}
}

func TestResolveExpired(t *testing.T) {
	p := mustPrompt(t, ChannelSMS, colours)
	out := Resolve(p, Reply{Text: "1"}, fixedNow.Add(25*time.Hour))
	if out.Choice != nil || !out.PromptClosed {
		t.Errorf("expired prompt answered: %+v", out)
	}
}

func TestResolveNilPrompt(t *testing.T) {
	if out := Resolve(nil, Reply{Text: "1"}, fixedNow); out.Choice != nil || out.AskAgain != nil {
		t.Errorf("got %+v", out)
	}
}

func TestResolveTimeSlot(t *testing.T) {
	c := samples()["time_picker"]
	c.Slots = append(c.Slots, TimeSlot{ID: "s3", Start: "2025-11-25T08:00:00Z", DurationSec: 3600})
	for _, tc := range []struct {
		ch       string
		reply    Reply
		want     string
		source   Source
		tiedWant int
	}{
		{ChannelAppleMessages, Reply{NativeID: "s2"}, "s2", SourceNative, 0}, // data.event.timeslots[0].identifier
		{ChannelWhatsApp, Reply{NativeID: "s3", Text: "Tue 25 Nov 09:00–10:00"}, "s3", SourceNative, 0},
		{ChannelMessenger, Reply{NativeID: "s1", Text: "Mon 24 Nov 09:00"}, "s1", SourceNative, 0},
		{ChannelSMS, Reply{Text: "2"}, "s2", SourceNumber, 0},
		{ChannelSMS, Reply{Text: "Monday 24 Nov, 14:00–14:30"}, "s2", SourceLabel, 0},
		{ChannelSMS, Reply{Text: "tuesday"}, "s3", SourceFuzzy, 0},
		{ChannelSMS, Reply{Text: "monday"}, "", "", 2},
	} {
		p := mustPrompt(t, tc.ch, c)
		out := Resolve(p, tc.reply, fixedNow)
		if tc.tiedWant > 0 {
			if out.AskAgain == nil || out.AskAgain.Type != TypeTimePicker || len(out.AskAgain.Slots) != tc.tiedWant {
				t.Errorf("%s %q: want ask again with %d slots, got %+v", tc.ch, tc.reply.Text, tc.tiedWant, out)
			}
			if err := out.AskAgain.Validate(); err != nil {
				t.Errorf("ask-again content invalid: %v", err)
			}
			continue
		}
		if out.Choice == nil || out.Choice.Kind != KindSlot || out.Choice.Slot == nil || out.Choice.Slot.ID != tc.want || out.Choice.Source != tc.source {
			t.Errorf("%s %+v: got %+v", tc.ch, tc.reply, out.Choice)
		}
	}
}

func formPrompt(t *testing.T, ch string, opts RenderOptions) (*Prompt, Rendered) {
	t.Helper()
	c := Content{Type: TypeForm, Text: "Call-back request", Fields: []Field{
		{Name: "name", Type: FieldText, Label: "Your name", Required: true, MinLen: 2},
		{Name: "email", Type: FieldEmail, Label: "Your email", Required: true},
		{Name: "phone", Type: FieldPhone, Label: "Your phone"},
		{Name: "people", Type: FieldNumber, Label: "How many people?"},
		{Name: "day", Type: FieldDate, Label: "Which day?", Required: true},
		{Name: "topic", Type: FieldSelect, Label: "Topic", Required: true, Options: []Option{{ID: "billing", Label: "Billing"}, {ID: "delivery", Label: "Delivery"}}},
		{Name: "code", Type: FieldText, Label: "Order code", Pattern: `[A-Z]{2}[0-9]{4}`},
	}}
	r, err := Render(ch, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r.Prompt, r
}

func TestResolveFormInText(t *testing.T) {
	p, r := formPrompt(t, ChannelSMS, testOpts())
	if r.Type != "form.sequential" || !strings.Contains(r.Text, "Your name") || !strings.Contains(r.Text, "cancel") {
		t.Fatalf("first question: %s %q", r.Type, r.Text)
	}
	steps := []struct {
		answer  string
		invalid bool
		next    string
	}{
		{"A", true, "Your name"}, // too short: re-asked
		{"Ana Silva", false, "Your email"},
		{"ana@", true, "Your email"},
		{"ana@example.com", false, "Your phone"},
		{"skip", false, "How many people?"},
		{"2,5", false, "Which day?"},
		{"31/02/2025", true, "Which day?"},
		{"24/11/2025", false, "Topic"},
		{"the second one", false, "Order code"},
		{"ab12", true, "Order code"},
		{"AB1234", false, ""},
	}
	for i, s := range steps {
		out := Resolve(p, Reply{Text: s.answer}, fixedNow)
		if s.next == "" {
			if out.Choice == nil || !out.PromptClosed {
				t.Fatalf("step %d: form not completed: %+v", i, out)
			}
			want := map[string]string{"name": "Ana Silva", "email": "ana@example.com", "people": "2.5", "day": "2025-11-24", "topic": "delivery", "code": "AB1234"}
			if !reflect.DeepEqual(out.Choice.Fields, want) || out.Choice.Source != SourceSequential || out.Choice.Kind != KindForm {
				t.Errorf("got %+v", out.Choice)
			}
			break
		}
		if out.AskAgain == nil || !strings.Contains(out.AskAgain.Text, s.next) || out.UpdatedPrompt == nil {
			t.Fatalf("step %d (%q): got %+v", i, s.answer, out)
		}
		if s.invalid == (out.UpdatedPrompt.Form.Step != p.Form.Step) {
			t.Fatalf("step %d (%q): invalid=%v but step %d→%d", i, s.answer, s.invalid, p.Form.Step, out.UpdatedPrompt.Form.Step)
		}
		p = out.UpdatedPrompt
	}
}

func TestResolveFormCancel(t *testing.T) {
	for _, word := range []string{"cancel", "Annuler", "ANNULER!"} {
		p, _ := formPrompt(t, ChannelSMS, testOpts())
		out := Resolve(p, Reply{Text: word}, fixedNow)
		if !out.Cancelled || !out.PromptClosed || out.Choice != nil {
			t.Errorf("%q: got %+v", word, out)
		}
	}
}

func TestResolveFormSubmitted(t *testing.T) {
	values := map[string]string{"name": "Ana", "email": "ana@example.com", "day": "2025-11-24", "topic": "billing"}
	// Native form (Apple dynamic.selections / chat widget form_submit).
	p, r := formPrompt(t, ChannelAppleMessages, testOpts())
	if r.Type != "apple.form" {
		t.Fatalf("got %s", r.Type)
	}
	out := Resolve(p, Reply{FormValues: values}, fixedNow)
	if out.Choice == nil || out.Choice.Source != SourceNative || out.Choice.Fields["topic"] != "billing" {
		t.Errorf("native: %+v", out)
	}
	// Hosted web form.
	opts := testOpts()
	opts.FormURL = "https://parley.example/f/abc.sig"
	p, r = formPrompt(t, ChannelSMS, opts)
	if r.Type != "form.web" || !strings.Contains(r.Text, opts.FormURL) {
		t.Fatalf("got %s %q", r.Type, r.Text)
	}
	out = Resolve(p, Reply{FormValues: values}, fixedNow)
	if out.Choice == nil || out.Choice.Source != SourceWebForm {
		t.Errorf("web: %+v", out)
	}
	// An invalid submission is refused with the reasons; the prompt stays.
	bad := map[string]string{"name": "Ana", "email": "nope", "topic": "other"}
	out = Resolve(p, Reply{FormValues: bad}, fixedNow)
	if out.Choice != nil || out.PromptClosed || out.AskAgain == nil || !strings.Contains(out.AskAgain.Text, "Your email") || !strings.Contains(out.AskAgain.Text, "Which day?: required") {
		t.Errorf("invalid: %+v", out)
	}
}

func TestValidateFieldRules(t *testing.T) {
	for _, tc := range []struct {
		f       Field
		in, out string
		ok      bool
	}{
		{Field{Type: FieldEmail}, "a@b.co", "a@b.co", true},
		{Field{Type: FieldEmail}, "Ana <a@b.co>", "", false},
		{Field{Type: FieldEmail}, "a@localhost", "", false},
		{Field{Type: FieldPhone}, "+33 6 12 34 56 78", "+33612345678", true},
		{Field{Type: FieldPhone}, "(555) 123-4567", "5551234567", true},
		{Field{Type: FieldPhone}, "call me", "", false},
		{Field{Type: FieldPhone}, "+1234567890123456", "", false},
		{Field{Type: FieldNumber}, "3,5", "3.5", true},
		{Field{Type: FieldNumber}, "NaN", "", false},
		{Field{Type: FieldNumber}, "three", "", false},
		{Field{Type: FieldDate}, "2025-11-24", "2025-11-24", true},
		{Field{Type: FieldDate}, "24 November 2025", "2025-11-24", true},
		{Field{Type: FieldDate}, "2025-13-01", "", false},
		{Field{Type: FieldText, MaxLen: 3}, "abcd", "", false},
		{Field{Type: FieldText, MinLen: 2}, "a", "", false},
		{Field{Type: FieldText, Pattern: `\d+`}, "12a", "", false},
		{Field{Type: FieldText, Pattern: `\d+`}, "123", "123", true},
		{Field{Type: FieldSelect, Options: []Option{{ID: "a", Label: "A"}}}, "a", "a", true},
		{Field{Type: FieldSelect, Options: []Option{{ID: "a", Label: "A"}}}, "b", "", false},
	} {
		got, reason := validateField(tc.f, tc.in)
		if (reason == "") != tc.ok || got != tc.out {
			t.Errorf("%s %q: got %q %q", tc.f.Type, tc.in, got, reason)
		}
	}
}
