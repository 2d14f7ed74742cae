package content

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden renders every sample × every table channel (plus SMS) and
// compares the whole Rendered value — rung, exact native payload, text,
// HTML, prompt — with testdata/golden/<sample>/<channel>.json. Run
// `go test ./internal/content -update` after an intended change and review
// the diff.
func TestGolden(t *testing.T) {
	names := make([]string, 0)
	for name := range samples() {
		names = append(names, name)
	}
	sort.Strings(names)
	all := samples()
	for _, name := range names {
		for _, ch := range tableChannels() {
			t.Run(name+"/"+ch, func(t *testing.T) {
				opts := testOpts()
				if name == "time_picker" {
					opts.Location = paris()
				}
				r, err := Render(ch, all[name], opts)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				got, err := json.MarshalIndent(r, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				path := filepath.Join("testdata", "golden", name, ch+".json")
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
					t.Fatalf("missing golden file (run with -update): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the golden file.\n--- got\n%s\n--- want\n%s", path, got, want)
				}
			})
		}
	}
}

// TestAcceptanceTenOptionList pins the acceptance: a 10-option list
// picker is a WhatsApp interactive list, numbered text on SMS, HTML plus
// text on email.
func TestAcceptanceTenOptionList(t *testing.T) {
	c := tenOptionList()
	wa, err := Render(ChannelWhatsApp, c, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	var payload struct {
		Type        string `json:"type"`
		Interactive struct {
			Type   string `json:"type"`
			Action struct {
				Sections []struct {
					Rows []struct{ ID string } `json:"rows"`
				} `json:"sections"`
			} `json:"action"`
		} `json:"interactive"`
	}
	if err := json.Unmarshal(wa.Native, &payload); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, s := range payload.Interactive.Action.Sections {
		rows += len(s.Rows)
	}
	if wa.Type != "whatsapp.interactive.list" || payload.Type != "interactive" || payload.Interactive.Type != "list" || rows != 10 {
		t.Errorf("whatsapp: got rung %q, payload %s", wa.Type, wa.Native)
	}

	sms, err := Render(ChannelSMS, c, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if sms.Native != nil || sms.Type != "text" || !strings.Contains(sms.Text, "10) Men's size 44") || !strings.HasSuffix(sms.Text, "Reply with a number.") {
		t.Errorf("sms: got %q %q", sms.Type, sms.Text)
	}

	email, err := Render(ChannelEmail, c, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if email.HTML == "" || !strings.Contains(email.HTML, "1) Women&#39;s size 36") || !strings.Contains(email.Text, "1) Women's size 36") {
		t.Errorf("email: got html %q text %q", email.HTML, email.Text)
	}
}

// TestNumberedTextExample is RICH_CONTENT.md's example, character for
// character.
func TestNumberedTextExample(t *testing.T) {
	c := Content{Type: TypeTimePicker, Text: "Which day suits you?", Slots: []TimeSlot{
		{ID: "a", Start: "2025-11-24T09:00:00+01:00", DurationSec: 1800},
		{ID: "b", Start: "2025-11-24T14:00:00+01:00", DurationSec: 1800},
	}}
	opts := testOpts()
	opts.Location = paris()
	r, err := Render(ChannelSMS, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "Which day suits you?\n1) Monday 24 Nov, 09:00–09:30\n2) Monday 24 Nov, 14:00–14:30\nReply with a number."
	if r.Text != want {
		t.Errorf("got\n%s\nwant\n%s", r.Text, want)
	}
}

func TestOverrideUsedOnlyForItsChannel(t *testing.T) {
	c := samples()["quick_replies"]
	c.Overrides = map[string]json.RawMessage{ChannelWhatsApp: json.RawMessage(`{"type":"text","text":{"body":"custom"}}`)}
	wa, err := Render(ChannelWhatsApp, c, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if wa.Type != "override" || string(wa.Native) != `{"type":"text","text":{"body":"custom"}}` {
		t.Errorf("whatsapp override not used verbatim: %s %s", wa.Type, wa.Native)
	}
	m, err := Render(ChannelMessenger, c, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if m.Type == "override" {
		t.Error("whatsapp override leaked to messenger")
	}
}

func TestRecipientNarrowing(t *testing.T) {
	c := samples()["list_picker"]
	full, _ := Render(ChannelAppleMessages, c, testOpts())
	if full.Type != "apple.list_picker" {
		t.Fatalf("got %s", full.Type)
	}
	opts := testOpts()
	opts.Recipient = AppleRecipientSupport("QUICK,TIME")
	narrowed, _ := Render(ChannelAppleMessages, c, opts)
	if narrowed.Type != "text" || narrowed.Native != nil {
		t.Errorf("a device without LIST got %s", narrowed.Type)
	}
	// A recipient can never raise a level: SMS with an all-native recipient
	// stays text.
	opts.Recipient = Support{FeatureListPicker: Native}
	sms, _ := Render(ChannelSMS, c, opts)
	if sms.Type != "text" {
		t.Errorf("recipient raised sms to %s", sms.Type)
	}
}

func TestRenderUnknownChannelAndInvalidContent(t *testing.T) {
	if _, err := Render("fax", Content{Type: TypeText, Text: "x"}, RenderOptions{}); err == nil {
		t.Error("unknown channel accepted")
	}
	_, err := Render(ChannelSMS, Content{Type: TypeQuickReplies, Text: "x"}, RenderOptions{})
	var ve *ValidationError
	if !asValidation(err, &ve) || ve.Field != "options" {
		t.Errorf("got %v", err)
	}
}

// TestEveryTypeEveryChannel renders every sample on every channel type: no
// error, Text always set, Native valid JSON when present.
func TestEveryTypeEveryChannel(t *testing.T) {
	for name, c := range samples() {
		for _, ch := range ChannelTypes() {
			r, err := Render(ch, c, testOpts())
			if err != nil {
				t.Errorf("%s on %s: %v", name, ch, err)
				continue
			}
			if strings.TrimSpace(r.Text) == "" {
				t.Errorf("%s on %s: empty text", name, ch)
			}
			if r.Native != nil && !json.Valid(r.Native) {
				t.Errorf("%s on %s: invalid native JSON", name, ch)
			}
			if featureOf(c.Type) != "" && levelFor(ch, featureOf(c.Type), nil) != Native && r.Native != nil && ch != ChannelChat {
				t.Errorf("%s on %s: native payload %s where the table says plain text", name, ch, r.Type)
			}
		}
	}
}
