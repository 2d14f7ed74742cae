package viber

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/viber/fake"
)

// channelsSample is the message callback of CHANNELS.md §8, verbatim.
const channelsSample = `{"event":"message","timestamp":1457764197627,"message_token":4912661846655238145,
 "sender":{"id":"01234567890A=","name":"John","avatar":"…","country":"UK","language":"en","api_version":1},
 "message":{"type":"text","text":"hi","tracking_data":"…"},"silent":false}`

// TestSignatureVector reproduces the CHANNELS.md Viber test vector.
func TestSignatureVector(t *testing.T) {
	const want = "6aa43c89d011c0322693739b17ff9f011f5428861f6751c48e19c9bd6bda462a"
	body := []byte(`{"event":"message"}`)
	if got := Sign("authtoken", body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if got := fake.Sign("authtoken", body); got != want {
		t.Fatalf("fake.Sign = %s, want %s", got, want)
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t, nil)
	body := []byte(channelsSample)
	if err := e.a.Authenticate(signed(testToken, body), body, e.poc); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	upper := signed(testToken, body)
	upper.Header.Set(SignatureHeader, strings.ToUpper(Sign(testToken, body)))
	if err := e.a.Authenticate(upper, body, e.poc); err != nil {
		t.Fatalf("upper-case hex refused: %v", err)
	}
	missing := signed(testToken, body)
	missing.Header.Del(SignatureHeader)
	garbage := signed(testToken, body)
	garbage.Header.Set(SignatureHeader, "zz")
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] = ' '
	cases := map[string]error{
		"wrong token": e.a.Authenticate(signed("another-token", body), body, e.poc),
		"missing":     e.a.Authenticate(missing, body, e.poc),
		"tampered":    e.a.Authenticate(signed(testToken, body), tampered, e.poc),
		"garbage":     e.a.Authenticate(garbage, body, e.poc),
	}
	for name, err := range cases {
		if !errors.Is(err, channel.ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", name, err)
		}
	}
}

// TestParseChannelsSample: the documented sample parses into the message,
// its 64-bit token kept to the last digit.
func TestParseChannelsSample(t *testing.T) {
	e := newEnv(t, nil)
	evs := e.parse(t, []byte(channelsSample))
	want := []channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: "4912661846655238145", ThreadID: "01234567890A=",
		AuthorID: "01234567890A=", AuthorName: "John", Text: "hi", SentAt: time.UnixMilli(1457764197627).UTC()}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got %+v\nwant %+v", evs, want)
	}
}

func TestParsePicture(t *testing.T) {
	e := newEnv(t, nil)
	at := e.clock.Now()
	url := e.fk.MediaURL("photo.jpg")
	evs := e.parse(t, e.fk.SendsPicture(ana, url, "My broken screen", at))
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if ev.Kind != channel.EventMessage || ev.PlatformMessageID != "4912661846655238145" || ev.Text != "My broken screen" ||
		ev.AuthorID != ana.ID || ev.AuthorName != "Ana" || !ev.SentAt.Equal(at) {
		t.Fatalf("%+v", ev)
	}
	if want := []channel.InboundAttachment{{URL: url, Name: "photo.jpg"}}; !reflect.DeepEqual(ev.Attachments, want) {
		t.Fatalf("attachments %+v, want %+v", ev.Attachments, want)
	}
}

func TestParseOtherMessageTypes(t *testing.T) {
	e := newEnv(t, nil)
	at := e.clock.Now()
	cases := []struct {
		name string
		ev   fake.Event
		text string
		atts []channel.InboundAttachment
	}{
		{"file", fake.FileMessage(ana, "101", "https://dl-media.viber.com/5/share/2/long/invoice.pdf", "invoice.pdf", 5120, at), "",
			[]channel.InboundAttachment{{URL: "https://dl-media.viber.com/5/share/2/long/invoice.pdf", Name: "invoice.pdf"}}},
		{"sticker", fake.StickerMessage(ana, "102", 46105, "https://viber.github.io/docs/img/stickers/46105.png", at), "",
			[]channel.InboundAttachment{{URL: "https://viber.github.io/docs/img/stickers/46105.png", Name: "sticker-46105.png"}}},
		{"location", fake.LocationMessage(ana, "103", 38.7223, -9.1393, at),
			"Shared a location: https://www.google.com/maps/search/?api=1&query=38.7223,-9.1393", nil},
		{"contact", fake.ContactMessage(ana, "104", "Rui", "+351912345678", at), "Shared a contact: Rui +351912345678", nil},
		{"url", fake.Event{"event": "message", "timestamp": at.UnixMilli(), "message_token": 105, "sender": map[string]any{"id": ana.ID},
			"message": map[string]any{"type": "url", "media": "https://shop.example/item/7"}}, "https://shop.example/item/7", nil},
		{"unknown type", fake.Event{"event": "message", "timestamp": at.UnixMilli(), "message_token": 106, "sender": map[string]any{"id": ana.ID},
			"message": map[string]any{"type": "hologram"}}, "(a Viber message of a type Parley cannot show)", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := e.parse(t, c.ev.JSON())
			if len(evs) != 1 || evs[0].Text != c.text || !reflect.DeepEqual(evs[0].Attachments, c.atts) || evs[0].ThreadID != ana.ID {
				t.Fatalf("%+v", evs)
			}
		})
	}
	empty := fake.TextMessage(ana, "107", "", "", at)
	if evs := e.parse(t, empty.JSON()); len(evs) != 0 {
		t.Fatalf("an empty text gave %+v", evs)
	}
}

func TestParseReceipts(t *testing.T) {
	e := newEnv(t, nil)
	at := e.clock.Now()
	const token = "5741311803571721087"
	cases := []struct {
		ev     fake.Event
		status string
		reason string
	}{
		{fake.Delivered(ana.ID, token, at), "delivered", ""},
		{fake.Seen(ana.ID, token, at), "read", ""},
		{fake.Failed(ana.ID, token, "receiver is blocked", at), "failed", "receiver is blocked"},
		{fake.Failed(ana.ID, token, "", at), "failed", "Viber could not deliver the message"},
	}
	for _, c := range cases {
		evs := e.parse(t, c.ev.JSON())
		want := []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: token, ThreadID: ana.ID, Status: c.status, Reason: c.reason}}
		if !reflect.DeepEqual(evs, want) {
			t.Errorf("%s: got %+v, want %+v", c.ev["event"], evs, want)
		}
	}
}

// TestParseSkipped: the events the core does not store give no event and
// no error (the core then answers 200).
func TestParseSkipped(t *testing.T) {
	e := newEnv(t, nil)
	at := e.clock.Now()
	for _, ev := range []fake.Event{
		fake.WebhookCheck("4912661846655238145", at),
		fake.Subscribed(ana, "1", at),
		fake.Unsubscribed(ana.ID, "2", at),
		fake.ConversationStarted(ana, "3", false, at),
		{"event": "client_status", "timestamp": at.UnixMilli(), "message_token": 4},
	} {
		if evs := e.parse(t, ev.JSON()); len(evs) != 0 {
			t.Errorf("%s gave %+v", ev["event"], evs)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	e := newEnv(t, nil)
	cases := map[string]string{
		"not json":          `hello`,
		"array":             `[{"event":"message"}]`,
		"truncated":         `{"event":"message"`,
		"no event":          `{"timestamp":1}`,
		"event not string":  `{"event":7}`,
		"message no token":  `{"event":"message","sender":{"id":"u"},"message":{"type":"text","text":"hi"}}`,
		"token not integer": `{"event":"message","message_token":1.5,"sender":{"id":"u"},"message":{"type":"text","text":"hi"}}`,
		"token negative":    `{"event":"message","message_token":-3,"sender":{"id":"u"},"message":{"type":"text","text":"hi"}}`,
		"token too big":     `{"event":"message","message_token":99999999999999999999,"sender":{"id":"u"},"message":{"type":"text","text":"hi"}}`,
		"no sender":         `{"event":"message","message_token":1,"message":{"type":"text","text":"hi"}}`,
		"no sender id":      `{"event":"message","message_token":1,"sender":{"name":"x"},"message":{"type":"text","text":"hi"}}`,
		"no message":        `{"event":"message","message_token":1,"sender":{"id":"u"}}`,
		"text not string":   `{"event":"message","message_token":1,"sender":{"id":"u"},"message":{"type":"text","text":5}}`,
		"bad location":      `{"event":"message","message_token":1,"sender":{"id":"u"},"message":{"type":"location","location":{"lat":200,"lon":0}}}`,
		"receipt no token":  `{"event":"seen","user_id":"u"}`,
	}
	for name, body := range cases {
		_, err := e.a.Parse(signed(testToken, []byte(body)), []byte(body), e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: %v, want a MalformedError", name, err)
		}
	}
	// A token sent as a string of digits (as some SDKs' fixtures do) is
	// still the same token.
	body := `{"event":"delivered","message_token":"912661846655238145","user_id":"u"}`
	evs, err := e.a.Parse(signed(testToken, []byte(body)), []byte(body), e.poc)
	if err != nil || len(evs) != 1 || evs[0].StatusMessageID != "912661846655238145" {
		t.Fatalf("%+v %v", evs, err)
	}
}

// FuzzParse: Parse never panics, and what it returns is well formed.
func FuzzParse(f *testing.F) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		channelsSample,
		string(fake.PictureMessage(ana, "1", "https://dl-media.viber.com/1/p.jpg", "caption", at).JSON()),
		string(fake.TextMessage(ana, "2", "Yes", `parley:choices:{"Yes":"yes"}`, at).JSON()),
		string(fake.Failed(ana.ID, "3", "desc", at).JSON()),
		string(fake.Delivered(ana.ID, "4", at).JSON()),
		string(fake.WebhookCheck("5", at).JSON()),
		string(fake.LocationMessage(ana, "6", 1, 2, at).JSON()),
		string(fake.ContactMessage(ana, "7", "n", "p", at).JSON()),
		`{"event":"message","message_token":"8","sender":{"id":"u"},"message":{"type":"sticker","sticker_id":"x"}}`,
	} {
		f.Add([]byte(seed))
	}
	a := New(nil, nil)
	poc := &channel.PointOfContact{Type: Type}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := a.Parse(nil, body, poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a MalformedError", err)
			}
			return
		}
		for _, ev := range evs {
			switch ev.Kind {
			case channel.EventMessage:
				if ev.PlatformMessageID == "" || ev.ThreadID == "" || (ev.Text == "" && len(ev.Attachments) == 0) {
					t.Fatalf("incomplete message %+v", ev)
				}
			case channel.EventStatus:
				if ev.StatusMessageID == "" || ev.Status == "" {
					t.Fatalf("incomplete receipt %+v", ev)
				}
			default:
				t.Fatalf("kind %q", ev.Kind)
			}
		}
	})
}
