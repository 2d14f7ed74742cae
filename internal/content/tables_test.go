package content

import (
	"strings"
	"testing"
)

// seedTable is MISSION.md §3 copied as text, ✓ = native, ✗ = plain text,
// "fallback text" = fallback_text. The test parses it and compares every
// cell with Capabilities, naming the cell that differs.
const seedSendTable = `
| Apple Messages for Business | ✗ | ✗ | ✓ | ✓ | ✓ | ✓ | ✓ |
| Digital chat | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ | ✓ |
| Email | ✗ | ✓ | ✗ | fallback text | ✗ | ✗ | ✗ |
| Facebook Messenger | ✗ | ✗ | ✓ | ✓ | ✓ | ✓ | ✗ |
| WhatsApp | ✗ | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ |
| Google Business Messages | ✗ | ✗ | ✓ | ✗ | ✓ | ✓ | ✗ |
`

const seedAgentTable = `
| Apple Messages for Business | ✗ | ✗ | ✓ | ✓ | ✓ | ✓ | ✓ |
| Digital chat | ✗ | ✗ | ✓ | ✓ | ✓ | ✗ | ✓ |
| Email | ✗ | ✓ | ✗ | ✗ | ✗ | ✗ | ✗ |
| Facebook Messenger | ✗ | ✗ | ✓ | ✓ | ✓ | ✗ | ✗ |
| WhatsApp | ✗ | ✓ | ✓ | ✓ | ✓ | ✗ | ✗ |
| Google Business Messages | ✗ | ✗ | ✓ | ✗ | ✓ | ✗ | ✗ |
`

var seedNames = map[string]string{
	"Apple Messages for Business": ChannelAppleMessages,
	"Digital chat":                ChannelChat,
	"Email":                       ChannelEmail,
	"Facebook Messenger":          ChannelMessenger,
	"WhatsApp":                    ChannelWhatsApp,
	"Google Business Messages":    ChannelGoogleBusinessMessages,
}

func parseSeed(t *testing.T, table string) map[string]map[string]Level {
	t.Helper()
	out := map[string]map[string]Level{}
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 8 {
			t.Fatalf("bad seed line %q", line)
		}
		ch := seedNames[strings.TrimSpace(cells[0])]
		row := map[string]Level{}
		for i, f := range Features() {
			switch strings.TrimSpace(cells[i+1]) {
			case "✓":
				row[f] = Native
			case "✗":
				row[f] = PlainText
			case "fallback text":
				row[f] = FallbackText
			default:
				t.Fatalf("bad cell %q", cells[i+1])
			}
		}
		out[ch] = row
	}
	return out
}

func TestCapabilitiesEqualSeedCellByCell(t *testing.T) {
	send, agent := parseSeed(t, seedSendTable), parseSeed(t, seedAgentTable)
	for _, ch := range ChannelTypes() {
		gotSend, gotAgent, ok := Capabilities(ch)
		if !ok {
			t.Fatalf("Capabilities(%q) not ok", ch)
		}
		for _, tc := range []struct {
			table string
			seed  map[string]Level
			got   Support
		}{{"send", send[ch], gotSend}, {"agent", agent[ch], gotAgent}} {
			if len(tc.got) != 7 {
				t.Errorf("%s table, %s: %d keys, want 7", tc.table, ch, len(tc.got))
			}
			for _, f := range Features() {
				want := PlainText // channels absent from the seed: plain text
				if tc.seed != nil {
					want = tc.seed[f]
				}
				if tc.got[f] != want {
					t.Errorf("%s table, row %s, column %s: got %q, want %q", tc.table, ch, f, tc.got[f], want)
				}
			}
		}
	}
	if _, _, ok := Capabilities("wechat"); ok {
		t.Error("wechat is a BYOC middleware, not a channel type")
	}
	// The maps are copies: changing one does not change the table.
	s, _, _ := Capabilities(ChannelSMS)
	s[FeatureForm] = Native
	if s2, _, _ := Capabilities(ChannelSMS); s2[FeatureForm] != PlainText {
		t.Error("Capabilities returned shared state")
	}
}

func TestChannelTypes(t *testing.T) {
	want := "chat email sms whatsapp messenger instagram_direct x_dm telegram line viber slack teams apple_messages google_business_messages byoc facebook instagram x linkedin youtube google_play google_places app_store"
	if got := strings.Join(ChannelTypes(), " "); got != want {
		t.Errorf("got %s", got)
	}
	if KnownChannelType("wechat") || !KnownChannelType("x_dm") {
		t.Error("KnownChannelType")
	}
}

func TestAgentMaySend(t *testing.T) {
	for _, tc := range []struct {
		ch   string
		t    Type
		want bool
	}{
		{ChannelSMS, TypeText, true},
		{ChannelYouTube, TypeText, true},
		{ChannelEmail, TypeHTML, true},
		{ChannelEmail, TypeMarkdown, true},
		{ChannelEmail, TypeQuickReplies, false}, // fallback text in the send table, ✗ for agents
		{ChannelChat, TypeAdaptiveCard, false},  // ✓ to send, ✗ for agents
		{ChannelChat, TypeForm, true},
		{ChannelChat, TypeHTML, false},
		{ChannelWhatsApp, TypeTimePicker, false},
		{ChannelWhatsApp, TypeListPicker, true},
		{ChannelWhatsApp, TypeCard, true},
		{ChannelWhatsApp, TypeCarousel, true},
		{ChannelMessenger, TypeRichLink, true},
		{ChannelAppleMessages, TypeTimePicker, true},
		{ChannelGoogleBusinessMessages, TypeQuickReplies, false},
		{ChannelGoogleBusinessMessages, TypeListPicker, true},
		{ChannelSMS, TypeQuickReplies, false},
		{ChannelWhatsApp, TypeFile, true},
		{ChannelLINE, TypeFile, false},
		{ChannelFacebook, TypeLocation, false},
		{"fax", TypeText, false},
		{ChannelSMS, Type("video"), false},
	} {
		if got := AgentMaySend(tc.ch, tc.t); got != tc.want {
			t.Errorf("AgentMaySend(%s, %s) = %v, want %v", tc.ch, tc.t, got, tc.want)
		}
	}
}
