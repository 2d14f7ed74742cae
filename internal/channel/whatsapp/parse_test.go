package whatsapp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp/fake"
)

var (
	ana      = fake.Customer{WaID: "16505551234", Name: "Ana"}
	bob      = fake.Customer{WaID: "447700900123", Name: "Bob"}
	business = fake.Business{WABAID: fake.DefaultWABAID, PhoneNumberID: fake.DefaultPhoneNumberID, DisplayPhoneNumber: fake.DefaultDisplayPhoneNumber}
	other    = fake.Business{WABAID: fake.DefaultWABAID, PhoneNumberID: "999000999000", DisplayPhoneNumber: "15550009999"}
	at       = time.Unix(1_700_000_000, 0).UTC()
)

// parsePOC is enough of a point of contact for Parse (settings only).
func parsePOC() *channel.PointOfContact {
	return &channel.PointOfContact{ID: "p", Type: Type, Settings: map[string]any{SettingPhoneNumberID: fake.DefaultPhoneNumberID}}
}

func parse(t *testing.T, body []byte) []channel.InboundEvent {
	t.Helper()
	evs, err := New(nil, nil).Parse(httptest.NewRequest("POST", "/webhooks/p", nil), body, parsePOC())
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return evs
}

func msgEvent(id string, c fake.Customer) channel.InboundEvent {
	return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: c.WaID, AuthorID: c.WaID,
		AuthorName: c.Name, ThreadName: c.Name, SentAt: at}
}

func TestParseMessageTypes(t *testing.T) {
	with := func(ev channel.InboundEvent, f func(*channel.InboundEvent)) channel.InboundEvent { f(&ev); return ev }
	cases := []struct {
		name string
		item fake.Item
		want channel.InboundEvent
	}{
		{"text", fake.Text(ana, "wamid.1", "Hi", at), with(msgEvent("wamid.1", ana), func(e *channel.InboundEvent) { e.Text = "Hi" })},
		{"quoted text", fake.Text(ana, "wamid.2", "this one", at).Quoting("wamid.OURS"), with(msgEvent("wamid.2", ana), func(e *channel.InboundEvent) {
			e.Text, e.ReplyToPlatformID = "this one", "wamid.OURS"
		})},
		{"image", fake.Image(ana, "wamid.3", "media-img", "image/jpeg", "look", at), with(msgEvent("wamid.3", ana), func(e *channel.InboundEvent) {
			e.Text = "look"
			e.Attachments = []channel.InboundAttachment{{MediaRef: "media-img", MimeType: "image/jpeg"}}
		})},
		{"document", fake.Document(ana, "wamid.4", "media-doc", "application/pdf", "invoice.pdf", "", at), with(msgEvent("wamid.4", ana), func(e *channel.InboundEvent) {
			e.Attachments = []channel.InboundAttachment{{MediaRef: "media-doc", MimeType: "application/pdf", Name: "invoice.pdf"}}
		})},
		{"voice note", fake.Media(ana, "wamid.5", "audio", "media-ogg", "audio/ogg; codecs=opus", "", at), with(msgEvent("wamid.5", ana), func(e *channel.InboundEvent) {
			e.Attachments = []channel.InboundAttachment{{MediaRef: "media-ogg", MimeType: "audio/ogg"}}
		})},
		{"video", fake.Media(ana, "wamid.6", "video", "media-vid", "video/mp4", "clip", at), with(msgEvent("wamid.6", ana), func(e *channel.InboundEvent) {
			e.Text = "clip"
			e.Attachments = []channel.InboundAttachment{{MediaRef: "media-vid", MimeType: "video/mp4"}}
		})},
		{"sticker", fake.Media(ana, "wamid.7", "sticker", "media-stk", "image/webp", "", at), with(msgEvent("wamid.7", ana), func(e *channel.InboundEvent) {
			e.Attachments = []channel.InboundAttachment{{MediaRef: "media-stk", MimeType: "image/webp"}}
		})},
		{"contacts", fake.SharedContact(ana, "wamid.9", "Jane Doe", "+1 650 555 0100", at), with(msgEvent("wamid.9", ana), func(e *channel.InboundEvent) {
			e.Text = "👤 Jane Doe: +1 650 555 0100 (cell)"
		})},
		{"button reply", fake.ButtonReply(ana, "wamid.10", "wamid.Q", "yes", "Yes", at), with(msgEvent("wamid.10", ana), func(e *channel.InboundEvent) {
			e.ChoiceID, e.Text, e.ReplyToPlatformID = "yes", "Yes", "wamid.Q"
		})},
		{"list reply", fake.ListReply(ana, "wamid.11", "wamid.L", "size_m", "Medium", "38–40", at), with(msgEvent("wamid.11", ana), func(e *channel.InboundEvent) {
			e.ChoiceID, e.Text, e.ReplyToPlatformID = "size_m", "Medium", "wamid.L"
		})},
		{"template quick reply", fake.TemplateButton(ana, "wamid.12", "wamid.T", "STOP_PROMOS", "Stop promotions", at), with(msgEvent("wamid.12", ana), func(e *channel.InboundEvent) {
			e.ChoiceID, e.Text, e.ReplyToPlatformID = "STOP_PROMOS", "Stop promotions", "wamid.T"
		})},
		{"reaction", fake.Reaction(ana, "wamid.13", "wamid.OURS", "👍", at), with(msgEvent("wamid.13", ana), func(e *channel.InboundEvent) {
			e.Reaction, e.ReplyToPlatformID = "👍", "wamid.OURS"
		})},
		{"unsupported", fake.Unsupported(ana, "wamid.14", at), with(msgEvent("wamid.14", ana), func(e *channel.InboundEvent) {
			e.Text = "[unsupported message type unsupported]"
		})},
		{"unknown type", fake.Message(ana, "wamid.15", "order", map[string]any{"catalog_id": "1"}, at), with(msgEvent("wamid.15", ana), func(e *channel.InboundEvent) {
			e.Text = "[unsupported message type order]"
		})},
		{"unknown interactive", fake.Message(ana, "wamid.16", "interactive", map[string]any{"type": "nfm_reply"}, at), with(msgEvent("wamid.16", ana), func(e *channel.InboundEvent) {
			e.Text = "[unsupported message type interactive.nfm_reply]"
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := parse(t, business.Webhook(c.item))
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			if !reflect.DeepEqual(evs[0], c.want) {
				t.Fatalf("got  %+v\nwant %+v", evs[0], c.want)
			}
		})
	}
}

func TestParseLocation(t *testing.T) {
	evs := parse(t, business.Webhook(fake.Location(ana, "wamid.8", 48.8584, 2.2945, "Tour Eiffel", "Champ de Mars, Paris", at)))
	if len(evs) != 1 || evs[0].Text != "📍 Tour Eiffel, Champ de Mars, Paris (48.8584, 2.2945)" {
		t.Fatalf("%+v", evs)
	}
	var c struct {
		Type     string
		Location struct{ Latitude, Longitude float64 }
	}
	if err := json.Unmarshal(evs[0].Content, &c); err != nil || c.Type != "location" || c.Location.Latitude != 48.8584 {
		t.Fatalf("content %s: %v", evs[0].Content, err)
	}
	evs = parse(t, business.Webhook(fake.Location(ana, "wamid.8b", -33.5, 151, "", "", at)))
	if evs[0].Text != "📍 (-33.5, 151)" {
		t.Fatalf("%q", evs[0].Text)
	}
	// Out-of-range coordinates: still a message, without canonical content.
	evs = parse(t, business.Webhook(fake.Location(ana, "wamid.8c", 123, 0, "", "", at)))
	if len(evs) != 1 || evs[0].Content != nil {
		t.Fatalf("%+v", evs)
	}
}

func TestParseSkips(t *testing.T) {
	// An emptied reaction (taken back), and receipts "sent": nothing.
	evs := parse(t, business.Webhook(fake.Reaction(ana, "wamid.r", "wamid.OURS", "", at), fake.Status("wamid.OURS", "sent", ana.WaID, at)))
	if len(evs) != 0 {
		t.Fatalf("%+v", evs)
	}
	// Another field than messages (template status updates): nothing.
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":{"event":"APPROVED"}}]}]}`)
	if evs := parse(t, body); len(evs) != 0 {
		t.Fatalf("%+v", evs)
	}
}

func TestParseStatuses(t *testing.T) {
	evs := parse(t, business.Webhook(
		fake.Delivered("wamid.A", ana.WaID, at),
		fake.Read("wamid.A", ana.WaID, at.Add(time.Minute)),
		fake.Failed("wamid.B", ana.WaID, 131047, "Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number.", at),
		fake.Status("wamid.C", "sent", ana.WaID, at),
	))
	want := []channel.InboundEvent{
		{Kind: channel.EventStatus, StatusMessageID: "wamid.A", Status: "delivered", SentAt: at},
		{Kind: channel.EventStatus, StatusMessageID: "wamid.A", Status: "read", SentAt: at.Add(time.Minute)},
		{Kind: channel.EventStatus, StatusMessageID: "wamid.B", Status: "failed", SentAt: at,
			Reason: "131047: Re-engagement message (Message failed to send because more than 24 hours have passed since the customer last replied to this number.)"},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got  %+v\nwant %+v", evs, want)
	}
}

// TestParseBatch: two entries of two changes each; every message and
// receipt of this number is parsed, in order; another number's are not.
func TestParseBatch(t *testing.T) {
	body := fake.Payload(
		business.Entry(
			business.Change(fake.Text(ana, "wamid.e0c0m0", "one", at), fake.Text(bob, "wamid.e0c0m1", "two", at)),
			other.Change(fake.Text(ana, "wamid.OTHER1", "not ours", at)),
		),
		business.Entry(
			business.Change(fake.Delivered("wamid.OUT", ana.WaID, at), fake.Image(bob, "wamid.e1c0m0", "m1", "image/png", "", at)),
			business.Change(fake.ListReply(ana, "wamid.e1c1m0", "wamid.L", "r2", "Row 2", "", at), fake.Read("wamid.OUT", ana.WaID, at)),
		),
	)
	evs := parse(t, body)
	var got []string
	for _, ev := range evs {
		if ev.Kind == channel.EventStatus {
			got = append(got, ev.Status+":"+ev.StatusMessageID)
			continue
		}
		got = append(got, ev.PlatformMessageID+"@"+ev.ThreadID+"/"+ev.AuthorName)
	}
	want := []string{"wamid.e0c0m0@16505551234/Ana", "wamid.e0c0m1@447700900123/Bob",
		"wamid.e1c0m0@447700900123/Bob", "delivered:wamid.OUT", "wamid.e1c1m0@16505551234/Ana", "read:wamid.OUT"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

// TestParseBusinessScopedUserID: a customer who exposes no phone number
// (Meta's 2026 business-scoped ids) is keyed on contacts[].user_id.
func TestParseBusinessScopedUserID(t *testing.T) {
	scoped := fake.Customer{UserID: "US.13491208655302741918", Name: "Chloé"}
	evs := parse(t, business.Webhook(fake.Text(scoped, "wamid.u", "hello", at)))
	if len(evs) != 1 || evs[0].ThreadID != scoped.UserID || evs[0].AuthorID != scoped.UserID || evs[0].AuthorName != "Chloé" {
		t.Fatalf("%+v", evs)
	}
	// With both, the wa_id (from) stays the key.
	both := fake.Customer{WaID: "16505550000", UserID: "US.1", Name: "D"}
	if evs := parse(t, business.Webhook(fake.Text(both, "wamid.v", "x", at))); evs[0].ThreadID != both.WaID {
		t.Fatalf("%+v", evs)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, c := range []struct {
		body, field string
	}{
		{`not json`, ""},
		{`{"object":"page","entry":[]}`, "object"},
		{`{"object":"whatsapp_business_account","entry":[1]}`, "entry[0]"},
		{`{"object":"whatsapp_business_account","entry":[{"changes":"x"}]}`, "entry[0].changes"},
		{`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"1","timestamp":"1","type":"text","text":{"body":"x"}}]}}]}]}`,
			"entry[0].changes[0].value.messages[0].id"},
		{`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"id":"w","type":"text","text":{"body":"x"}}]}}]}]}`,
			"entry[0].changes[0].value.messages[0].from"},
		{`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"id":"w","from":5}]}}]}]}`,
			"entry[0].changes[0].value.messages[0].from"},
		{`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"statuses":[{"status":"read"}]}}]}]}`,
			"entry[0].changes[0].value.statuses[0].id"},
	} {
		_, err := New(nil, nil).Parse(httptest.NewRequest("POST", "/", nil), []byte(c.body), parsePOC())
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: want MalformedError, got %v", c.body, err)
			continue
		}
		if me.Field != c.field {
			t.Errorf("%s: field %q, want %q (%v)", c.body, me.Field, c.field, err)
		}
	}
}

// TestWebhookOverHTTP: the handshake and signed deliveries as Meta sends
// them, over a real loopback connection.
func TestWebhookOverHTTP(t *testing.T) {
	e := newEnv(t)
	if !strings.HasPrefix(e.gen[CredentialVerifyToken], VerifyTokenPrefix) || e.poc.Credential(CredentialVerifyToken) != e.gen[CredentialVerifyToken] {
		t.Fatalf("verify token not generated and kept: %v", e.gen)
	}
	var got []channel.InboundEvent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.a.Handshake(w, r, e.poc) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		if err := e.a.Authenticate(r, body, e.poc); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		evs, err := e.a.Parse(r, body, e.poc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, evs...)
	}))
	defer srv.Close()

	for _, c := range []struct {
		token  string
		status int
		body   string
	}{{e.gen[CredentialVerifyToken], 200, "1158201444"}, {"wrong", 403, ""}} {
		resp, err := http.Get(srv.URL + "?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + url.QueryEscape(c.token))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || (c.body != "" && string(b) != c.body) {
			t.Errorf("handshake with %q: %d %q", c.token, resp.StatusCode, b)
		}
	}

	payload := e.fk.Business().Webhook(fake.Text(ana, "wamid.http", "Hi", at))
	for _, c := range []struct {
		secret string
		status int
	}{{"wrong-secret", 401}, {"", 401}, {testAppSecret, 200}} {
		resp, err := fake.SendWebhook(srv.URL, c.secret, payload)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("signed with %q: %d, want %d", c.secret, resp.StatusCode, c.status)
		}
	}
	if len(got) != 1 || got[0].PlatformMessageID != "wamid.http" || got[0].Text != "Hi" {
		t.Fatalf("%+v", got)
	}
	// CHANNELS.md's Meta test vector (secret "appsecret"), then one changed byte.
	req := httptest.NewRequest("POST", "/", nil)
	req.Header.Set("X-Hub-Signature-256", "sha256=0e9e0080a310f376450c46d999aa4d49ed772bfe43c13205f38a3a6e6611ed2b")
	if err := e.a.Authenticate(req, []byte(`{"object":"page","entry":[]}`), e.poc); err != nil {
		t.Fatalf("test vector refused: %v", err)
	}
	if e.a.Authenticate(req, []byte(`{"object":"page","entry":[ ]}`), e.poc) == nil {
		t.Fatal("signature accepted for another body")
	}
}

// FuzzParse: no input makes Parse panic, and what it accepts satisfies the
// contract (ids present and bounded, statuses known).
func FuzzParse(f *testing.F) {
	for _, it := range []fake.Item{
		fake.Text(ana, "wamid.1", "Hi", at), fake.Image(ana, "wamid.2", "m", "image/jpeg", "c", at),
		fake.Location(ana, "wamid.3", 1, 2, "n", "a", at), fake.SharedContact(ana, "wamid.4", "J", "+1", at),
		fake.ButtonReply(ana, "wamid.5", "q", "y", "Y", at), fake.Reaction(ana, "wamid.6", "x", "👍", at),
		fake.Failed("wamid.7", "1", 131026, "Message undeliverable", "", at), fake.Unsupported(ana, "wamid.8", at),
		fake.Text(fake.Customer{UserID: "US.1"}, "wamid.9", "x", at),
	} {
		f.Add(business.Webhook(it))
	}
	for _, s := range []string{`null`, `{}`, `[]`, `{"object":"whatsapp_business_account","entry":null}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[null]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":null}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[null,{"id":"w","from":"1","type":"image","image":null}],"contacts":[null]}}]}]}`,
		"\xff"} {
		f.Add([]byte(s))
	}
	a := New(nil, nil)
	poc := parsePOC()
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := a.Parse(httptest.NewRequest("POST", "/", nil), body, poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error is not MalformedError: %v", err)
			}
			return
		}
		for _, ev := range evs {
			switch ev.Kind {
			case channel.EventMessage:
				if ev.PlatformMessageID == "" || ev.ThreadID == "" || ev.AuthorID == "" || len(ev.PlatformMessageID) > MaxIDLength || len(ev.ThreadID) > MaxIDLength {
					t.Fatalf("bad message accepted: %+v", ev)
				}
				if ev.Text == "" && len(ev.Attachments) == 0 && ev.Reaction == "" && ev.ChoiceID == "" {
					t.Fatalf("empty message: %+v", ev)
				}
			case channel.EventStatus:
				if ev.StatusMessageID == "" || (ev.Status != "delivered" && ev.Status != "read" && ev.Status != "failed") {
					t.Fatalf("bad receipt accepted: %+v", ev)
				}
			default:
				t.Fatalf("unknown kind %q", ev.Kind)
			}
		}
	})
}
