package apple

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/apple/fake"
	"github.com/parleyhq/parley/internal/content"
)

func TestParseText(t *testing.T) {
	e := newEnv(t)
	business := e.fk.Options().BusinessID
	ev := e.receiveOne(t, fake.Text("8B4CB2D6-2E8B-4C47-9B9E-0D1E8B7E5A11", customer, business, "Hi, is my order on its way?"))
	want := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: "8B4CB2D6-2E8B-4C47-9B9E-0D1E8B7E5A11", ThreadID: customer,
		AuthorID: customer, Text: "Hi, is my order on its way?", SentAt: e.clock.Now()}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("got %+v\nwant %+v", ev, want)
	}
}

// Apple gzips its deliveries; the core hands the raw body over, whatever
// Content-Encoding says. Compressed, plain, and plain announced as gzip
// all parse the same.
func TestParseGzipAndPlainBodies(t *testing.T) {
	e := newEnv(t)
	m := fake.Text(fake.NewMessageID(), customer, e.fk.Options().BusinessID, "Bonjour")
	for _, tc := range []struct {
		name string
		d    fake.Delivery
		lie  bool
	}{
		{"gzip", fake.Delivery{Message: m}, false},
		{"plain", fake.Delivery{Message: m, Plain: true}, false},
		{"plain announced as gzip", fake.Delivery{Message: m, Plain: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, body := e.request(t, tc.d)
			if tc.lie {
				req.Header.Set("Content-Encoding", "gzip")
			}
			if !tc.d.Plain && (body[0] != 0x1f || body[1] != 0x8b) {
				t.Fatal("the fake did not compress the body")
			}
			if err := e.a.Authenticate(req, body, e.poc); err != nil {
				t.Fatal(err)
			}
			evs, err := e.a.Parse(req, body, e.poc)
			if err != nil || len(evs) != 1 || evs[0].Text != "Bonjour" || evs[0].PlatformMessageID != m.ID() {
				t.Fatalf("got %+v, %v", evs, err)
			}
		})
	}
}

func TestAuthenticateRefusesBadTokens(t *testing.T) {
	e := newEnv(t)
	o := e.fk.Options()
	key := []byte("parley-apple-messages-test-key!!")
	now := e.clock.Now()
	sign := func(method jwt.SigningMethod, k any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": o.MSPID, "iat": now.Unix()})
	cases := map[string]string{
		"wrong secret":       sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret!!!"), jwt.MapClaims{"aud": o.MSPID, "iat": now.Unix()}),
		"secret not decoded": sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"aud": o.MSPID, "iat": now.Unix()}),
		"wrong audience":     sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": "another-msp", "iat": now.Unix()}),
		"no audience":        sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"iat": now.Unix()}),
		"expired":            sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": o.MSPID, "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}),
		"issued in a future": sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": o.MSPID, "iat": now.Add(time.Hour).Unix()}),
		"too old":            sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": o.MSPID, "iat": now.Add(-48 * time.Hour).Unix()}),
		"no iat nor exp":     sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": o.MSPID}),
		"HS512":              sign(jwt.SigningMethodHS512, key, jwt.MapClaims{"aud": o.MSPID, "iat": now.Unix()}),
		"alg none":           sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"aud": o.MSPID, "iat": now.Unix()}),
		"garbage":            "not-a-jwt",
		"missing":            "",
	}
	m := fake.Text(fake.NewMessageID(), customer, o.BusinessID, "hello")
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			req, body := e.request(t, fake.Delivery{Message: m, Token: tok})
			if tok == "" {
				req.Header.Del("Authorization")
			}
			if err := e.a.Authenticate(req, body, e.poc); !errors.Is(err, channel.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
		})
	}
	t.Run("valid, within the leeway", func(t *testing.T) {
		for _, tok := range []string{good,
			sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": []string{"x", o.MSPID}, "iat": now.Add(2 * time.Minute).Unix()}),
			sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"aud": o.MSPID, "exp": now.Add(time.Minute).Unix()}),
		} {
			req, body := e.request(t, fake.Delivery{Message: m, Token: tok})
			if err := e.a.Authenticate(req, body, e.poc); err != nil {
				t.Fatalf("valid token refused: %v", err)
			}
		}
	})
}

func TestParseSkipsTypingCloseAndEchoes(t *testing.T) {
	e := newEnv(t)
	business := e.fk.Options().BusinessID
	for name, m := range map[string]fake.Message{
		"typing_start": fake.TypingStart(fake.NewMessageID(), customer, business),
		"typing_end":   fake.TypingEnd(fake.NewMessageID(), customer, business),
		"close":        fake.Close(fake.NewMessageID(), customer, business),
		"echo":         fake.Text(fake.NewMessageID(), business, customer, "our own message"),
		"empty text":   fake.Text(fake.NewMessageID(), customer, business, "  "),
	} {
		t.Run(name, func(t *testing.T) {
			if evs := e.receive(t, m); len(evs) != 0 {
				t.Fatalf("got %+v, want no event", evs)
			}
		})
	}
}

func TestClosedConversation(t *testing.T) {
	e := newEnv(t)
	business := e.fk.Options().BusinessID
	req, body := e.request(t, fake.Delivery{Message: fake.Close(fake.NewMessageID(), customer, business)})
	if who, ok := ClosedConversation(req, body); !ok || who != customer {
		t.Fatalf("got %q, %v", who, ok)
	}
	req, body = e.request(t, fake.Delivery{Message: fake.Text(fake.NewMessageID(), customer, business, "close")})
	if _, ok := ClosedConversation(req, body); ok {
		t.Fatal("a text message taken for a close")
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	e := newEnv(t)
	business := e.fk.Options().BusinessID
	cases := map[string]struct {
		m      fake.Message
		header func(http.Header)
		body   []byte
	}{
		"other business":   {m: fake.Text(fake.NewMessageID(), customer, "another-business", "hi")},
		"no sender":        {m: fake.Text(fake.NewMessageID(), "", business, "hi"), header: func(h http.Header) { h.Del("Source-Id") }},
		"no id":            {m: fake.Text("", customer, business, "hi")},
		"headers disagree": {m: fake.Text(fake.NewMessageID(), customer, business, "hi"), header: func(h http.Header) { h.Set("Source-Id", "urn:mbid:someone-else") }},
		"not JSON":         {body: []byte("<xml/>")},
		"broken gzip":      {body: []byte{0x1f, 0x8b, 0x08, 0x00, 0x01}},
		"no interactive data": {m: fake.Message{"v": 1, "id": fake.NewMessageID(), "type": "interactive", "sourceId": customer,
			"destinationId": business}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := tc.m
			if m == nil {
				m = fake.Text(fake.NewMessageID(), customer, business, "x")
			}
			req, body := e.request(t, fake.Delivery{Message: m, Plain: true})
			if tc.header != nil {
				tc.header(req.Header)
			}
			if tc.body != nil {
				body = tc.body
			}
			_, err := e.a.Parse(req, body, e.poc)
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a MalformedError", err)
			}
		})
	}
}

func TestCapabilityListRemembered(t *testing.T) {
	e := newEnv(t)
	business := e.fk.Options().BusinessID
	if _, ok := e.a.Capabilities(e.poc.ID, customer); ok {
		t.Fatal("capabilities known before any message")
	}
	req, body := e.request(t, fake.Delivery{Message: fake.TypingStart(fake.NewMessageID(), customer, business), Capabilities: "list, TIME,QUICK"})
	if _, err := e.a.Parse(req, body, e.poc); err != nil {
		t.Fatal(err)
	}
	caps, ok := e.a.Capabilities(e.poc.ID, customer)
	if !ok || !reflect.DeepEqual(caps, []string{"LIST", "TIME", "QUICK"}) {
		t.Fatalf("got %v, %v", caps, ok)
	}
	// A message without the header leaves what is known.
	req, body = e.request(t, fake.Delivery{Message: fake.Text(fake.NewMessageID(), customer, business, "hi")})
	if _, err := e.a.Parse(req, body, e.poc); err != nil {
		t.Fatal(err)
	}
	if caps, _ := e.a.Capabilities(e.poc.ID, customer); len(caps) != 3 {
		t.Fatalf("got %v", caps)
	}
}

func readMedia(t *testing.T, e *env, ref string) ([]byte, string) {
	t.Helper()
	body, mt, err := e.a.FetchMedia(context.Background(), e.poc, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return data, mt
}

func TestParseAttachmentsAndFetchMedia(t *testing.T) {
	e := newEnv(t)
	business := e.fk.Options().BusinessID
	photo := []byte("\xff\xd8\xff\xe0 a JPEG photo of a broken parcel")
	receipt := []byte("%PDF-1.7 receipt")
	a1, err := e.fk.AddAttachment("IMG_0042.JPG", "image/jpeg", photo)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := e.fk.AddAttachment("receipt.pdf", "application/pdf", receipt)
	if err != nil {
		t.Fatal(err)
	}
	ev := e.receiveOne(t, fake.Text(fake.NewMessageID(), customer, business, "It arrived like this", a1, a2))
	if ev.Text != "It arrived like this" || len(ev.Attachments) != 2 {
		t.Fatalf("got %+v", ev)
	}
	for i, want := range []struct {
		name, mime string
		data       []byte
	}{{"IMG_0042.JPG", "image/jpeg", photo}, {"receipt.pdf", "application/pdf", receipt}} {
		at := ev.Attachments[i]
		if at.Name != want.name || at.MimeType != want.mime || !strings.HasPrefix(at.MediaRef, mediaRefPrefix) || at.URL != "" {
			t.Fatalf("attachment %d: %+v", i, at)
		}
		if strings.Contains(at.MediaRef, a1.Key[2:]) || strings.Contains(strings.ToLower(at.MediaRef), "mmcs") {
			t.Fatal("the media reference shows the file's coordinates in clear")
		}
		data, mt := readMedia(t, e, at.MediaRef)
		if string(data) != string(want.data) || mt != want.mime {
			t.Fatalf("attachment %d: got %q (%s)", i, data, mt)
		}
	}
	// The same delivery again gives the same reference (dedupe-friendly).
	again := e.receiveOne(t, fake.Text(fake.NewMessageID(), customer, business, "It arrived like this", a1, a2))
	if again.Attachments[0].MediaRef != ev.Attachments[0].MediaRef {
		t.Fatal("media references differ for the same file")
	}
	// Another point of contact's secret cannot open it.
	other := New(nil, e.clock.Now)
	poc := createPOC(t, map[string]any{SettingBusinessID: business, SettingAPIBaseURL: e.fk.URL()},
		map[string]string{CredentialMSPID: "other-msp", CredentialMSPSecret: "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldCEh"})
	if _, _, err := other.FetchMedia(context.Background(), poc, ev.Attachments[0].MediaRef); err == nil {
		t.Fatal("a reference opened with another secret")
	}
}

// Apple's older sample code names the attachment fields decryption-key,
// mmcs-url, mmcs-owner, mmcs-signature-hex, mime-type; a file without key
// is a plain URL; one that cannot be read leaves a note, not a lost message.
func TestParseAttachmentVariants(t *testing.T) {
	e := newEnv(t)
	business := e.fk.Options().BusinessID
	at, err := e.fk.AddAttachment("voice.m4a", "audio/mp4", []byte("voice memo bytes"))
	if err != nil {
		t.Fatal(err)
	}
	m := fake.Text(fake.NewMessageID(), customer, business, "")
	m["body"] = "\uFFFC\uFFFC\uFFFC"
	m["attachments"] = []any{
		map[string]any{"name": at.Name, "mime-type": at.MimeType, "file-size": at.Size, "decryption-key": at.Key,
			"mmcs-url": at.URL, "mmcs-owner": at.Owner, "mmcs-signature-hex": at.Signature},
		map[string]any{"name": "map.png", "mimeType": "image/png", "url": "https://cdn.example.com/map.png"},
		map[string]any{"name": "broken.bin", "key": "00zz", "url": at.URL},
	}
	ev := e.receiveOne(t, m)
	if len(ev.Attachments) != 2 || ev.Text != "(attachment broken.bin could not be read)" {
		t.Fatalf("got %+v", ev)
	}
	if data, mt := readMedia(t, e, ev.Attachments[0].MediaRef); string(data) != "voice memo bytes" || mt != "audio/mp4" {
		t.Fatalf("got %q %s", data, mt)
	}
	if ev.Attachments[1].URL != "https://cdn.example.com/map.png" || ev.Attachments[1].MediaRef != "" {
		t.Fatalf("got %+v", ev.Attachments[1])
	}
}

// resolve maps a parsed reply onto the prompt the rendering left, as the
// core does.
func resolve(t *testing.T, r content.Rendered, ev channel.InboundEvent, now time.Time) *content.Choice {
	t.Helper()
	if r.Prompt == nil {
		t.Fatal("the rendering has no prompt")
	}
	o := content.Resolve(r.Prompt, content.Reply{Text: ev.Text, NativeID: ev.ChoiceID}, now)
	if o.Choice == nil {
		t.Fatalf("the reply %+v resolved to nothing", ev)
	}
	return o.Choice
}

func listContent(multi bool) content.Content {
	return content.Content{Type: content.TypeListPicker, Title: "Our shops", Text: "Which shop do you want to visit?", MultiSelect: multi,
		Options: []content.Option{
			{ID: "paris", Label: "Paris Opéra", Description: "Open 9:00–20:00"},
			{ID: "lyon", Label: "Lyon Part-Dieu"},
			{ID: "lille", Label: "Lille Europe"},
		}}
}

func quickContent() content.Content {
	return content.Content{Type: content.TypeQuickReplies, Text: "Was this helpful?", Options: []content.Option{
		{ID: "yes", Label: "Yes", Postback: "HELPFUL_YES"},
		{ID: "no", Label: "No", Postback: "HELPFUL_NO"},
		{ID: "agent", Label: "Talk to an agent"},
	}}
}

func timeContent() content.Content {
	return content.Content{Type: content.TypeTimePicker, Text: "Which day suits you?", Timezone: "Europe/Paris",
		Location: &content.Location{Latitude: 48.8708, Longitude: 2.3317, RadiusM: 100, Title: "Paris Opéra shop"},
		Slots: []content.TimeSlot{
			{ID: "s1", Start: "2026-05-26T08:00:00Z", DurationSec: 1800},
			{ID: "s2", Start: "2026-05-26T13:00:00Z", DurationSec: 1800},
		}}
}

func formContent() content.Content {
	return content.Content{Type: content.TypeForm, Title: "Call-back request", Text: "We'll call you back.", Fields: []content.Field{
		{Name: "name", Type: content.FieldText, Label: "Your name", Required: true, MaxLen: 80},
		{Name: "email", Type: content.FieldEmail, Label: "Your email", Required: true},
		{Name: "topic", Type: content.FieldSelect, Label: "Topic", Required: true, Options: []content.Option{{ID: "billing", Label: "Billing"}, {ID: "delivery", Label: "Delivery"}}},
	}}
}

// Replies to what the content engine renders for Apple come back as the
// option or slot ids of the prompt: rendered, sent to the fake, tapped on
// the fake device, parsed, resolved.
func TestRepliesToRenderedInteractiveMessages(t *testing.T) {
	cases := []struct {
		name     string
		content  content.Content
		tap      string
		wantType string
		text     string
		ids      []string
	}{
		{"list picker", listContent(false), "lyon", "apple.list_picker", "Lyon Part-Dieu", []string{"lyon"}},
		{"list picker, several", listContent(true), "paris,lille", "apple.list_picker", "Paris Opéra, Lille Europe", []string{"paris", "lille"}},
		{"time picker", timeContent(), "s2", "apple.time_picker", "Tuesday 26 May 2026, 15:00–15:30", []string{"s2"}},
		{"quick reply", quickContent(), "agent", "apple.quick_reply", "Talk to an agent", []string{"agent"}},
	}
	fx := newFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := fx.env(t)
			r := e.send(t, tc.content)
			if r.Type != tc.wantType {
				t.Fatalf("rendered as %s", r.Type)
			}
			m, err := e.fk.TapReply(customer, tc.tap)
			if err != nil {
				t.Fatal(err)
			}
			ev := e.receiveOne(t, m)
			if ev.ChoiceID != tc.tap || ev.Text != tc.text || ev.ReplyToPlatformID != messageID || ev.PlatformMessageID != m.ID() {
				t.Fatalf("got %+v", ev)
			}
			ch := resolve(t, r, ev, e.clock.Now())
			if !reflect.DeepEqual(ch.OptionIDs, tc.ids) || ch.Source != content.SourceNative {
				t.Fatalf("resolved to %+v", ch)
			}
			if tc.content.Type == content.TypeTimePicker && (ch.Slot == nil || ch.Slot.ID != "s2") {
				t.Fatalf("slot %+v", ch.Slot)
			}
		})
	}
}

// A quick-reply answer may carry only the index of the item tapped: its
// identifier comes from the items the answer echoes, else from the quick
// reply Parley sent under that requestIdentifier, else the answer reads as
// its number, which the prompt's numbering resolves.
func TestQuickReplyByIndex(t *testing.T) {
	e := newEnv(t)
	r := e.send(t, quickContent())
	business := e.fk.Options().BusinessID

	ev := e.receiveOne(t, fake.Interactive(fake.NewMessageID(), customer, business, fake.QuickReplyReply(messageID, 1, "")))
	if ev.ChoiceID != "no" || ev.Text != "No" {
		t.Fatalf("from what was sent: got %+v", ev)
	}

	echo := fake.QuickReplyReply(messageID, 2, "")
	echo["data"].(map[string]any)["quick-reply"].(map[string]any)["items"] = []fake.Item{{Identifier: "yes", Title: "Yes"}, {Identifier: "no", Title: "No"}, {Identifier: "agent", Title: "Talk to an agent"}}
	fresh := New(nil, e.clock.Now) // knows nothing it sent
	req, body := e.request(t, fake.Delivery{Message: fake.Interactive(fake.NewMessageID(), customer, business, echo)})
	evs, err := fresh.Parse(req, body, e.poc)
	if err != nil || len(evs) != 1 || evs[0].ChoiceID != "agent" || evs[0].Text != "Talk to an agent" {
		t.Fatalf("from the echoed items: got %+v, %v", evs, err)
	}

	req, body = e.request(t, fake.Delivery{Message: fake.Interactive(fake.NewMessageID(), customer, business, fake.QuickReplyReply(messageID, 0, ""))})
	evs, err = fresh.Parse(req, body, e.poc)
	if err != nil || len(evs) != 1 || evs[0].ChoiceID != "" || evs[0].Text != "1" {
		t.Fatalf("index alone: got %+v, %v", evs, err)
	}
	if ch := resolve(t, r, evs[0], e.clock.Now()); !reflect.DeepEqual(ch.OptionIDs, []string{"yes"}) || ch.Source != content.SourceNumber {
		t.Fatalf("resolved to %+v", ch)
	}
}

func TestFormReply(t *testing.T) {
	e := newEnv(t)
	r := e.send(t, formContent())
	if r.Type != "apple.form" {
		t.Fatalf("rendered as %s", r.Type)
	}
	business := e.fk.Options().BusinessID
	ev := e.receiveOne(t, fake.Interactive(fake.NewMessageID(), customer, business, fake.FormReply(messageID,
		fake.FormPage{PageIdentifier: "0", Title: "Your name", Items: []fake.FormItem{{Value: "Ana Lima"}}},
		fake.FormPage{PageIdentifier: "1", Title: "Your email", Items: []fake.FormItem{{Value: "ana@example.com"}}},
		fake.FormPage{PageIdentifier: "2", Title: "Topic", Items: []fake.FormItem{{Identifier: "delivery", Title: "Delivery", Value: "delivery"}}},
	)))
	if ev.Text != "Your name: Ana Lima\nYour email: ana@example.com\nTopic: Delivery" || ev.ChoiceID != "" || ev.ReplyToPlatformID != messageID {
		t.Fatalf("got %+v", ev)
	}
	// A form of one single-choice question answers with its option id.
	ev = e.receiveOne(t, fake.Interactive(fake.NewMessageID(), customer, business, fake.FormReply(messageID,
		fake.FormPage{PageIdentifier: "0", Title: "Topic", Items: []fake.FormItem{{Identifier: "billing", Title: "Billing", Value: "billing"}}})))
	if ev.ChoiceID != "billing" || ev.Text != "Topic: Billing" {
		t.Fatalf("got %+v", ev)
	}
}

// A large answer arrives by reference: downloaded, decrypted and decoded
// through the gateway.
func TestInteractiveDataRef(t *testing.T) {
	e := newEnv(t)
	e.send(t, listContent(false))
	ref, err := e.fk.AddDataRef(fake.ListPickerReply(messageID, fake.Item{Identifier: "lille", Title: "Lille Europe"}))
	if err != nil {
		t.Fatal(err)
	}
	ev := e.receiveOne(t, fake.InteractiveByRef(fake.NewMessageID(), customer, e.fk.Options().BusinessID, ref))
	if ev.ChoiceID != "lille" || ev.Text != "Lille Europe" {
		t.Fatalf("got %+v", ev)
	}
	// A reference the gateway cannot serve is an error the gateway retries
	// on, not a malformed delivery.
	ref.URL += "-missing"
	req, body := e.request(t, fake.Delivery{Message: fake.InteractiveByRef(fake.NewMessageID(), customer, e.fk.Options().BusinessID, ref)})
	_, err = e.a.Parse(req, body, e.poc)
	var me *channel.MalformedError
	if err == nil || errors.As(err, &me) {
		t.Fatalf("got %v", err)
	}
}

// A custom app extension's answer (its own bid) is kept as a message with
// the bubble's title.
func TestAppExtensionReply(t *testing.T) {
	e := newEnv(t)
	ev := e.receiveOne(t, fake.Interactive(fake.NewMessageID(), customer, e.fk.Options().BusinessID, map[string]any{
		"bid": "com.apple.messages.MSMessageExtensionBalloonPlugin:ABCDE12345:com.example.shop.extension",
		"URL": "?order=123&status=paid", "replyMessage": map[string]any{"title": "Paid 54.00 EUR"}}))
	if ev.Text != "Paid 54.00 EUR" || ev.ChoiceID != "" {
		t.Fatalf("got %+v", ev)
	}
}

// The deliveries of CHANNELS.md §11, written out by hand (not by the
// fake's builders), parse into the expected events.
func TestParseDocumentedPayloads(t *testing.T) {
	e := newEnv(t)
	o := e.fk.Options()
	cases := []struct {
		name, body     string
		text, choiceID string
	}{
		{"text", `{"v":1,"id":"9DD2E1A7-4B0C-4C43-8F43-8D3C1B0F6E21","type":"text","sourceId":"` + customer + `","destinationId":"` + o.BusinessID + `","body":"Hi","locale":"en_US"}`,
			"Hi", ""},
		{"list picker", `{"v":1,"id":"9DD2E1A7-4B0C-4C43-8F43-8D3C1B0F6E22","type":"interactive","sourceId":"` + customer + `","destinationId":"` + o.BusinessID + `",
			"interactiveData":{"bid":"` + AppleBID + `","data":{"version":"1.0","requestIdentifier":"` + messageID + `",
			"listPicker":{"sections":[{"title":"Our shops","order":0,"multipleSelection":false,"items":[{"identifier":"lyon","title":"Lyon Part-Dieu","order":1,"style":"default"}]}]}},
			"receivedMessage":{"title":"Which shop do you want to visit?","style":"icon"},"replyMessage":{"title":"Your answer","style":"icon"}}}`,
			"Lyon Part-Dieu", "lyon"},
		{"time picker", `{"v":1,"id":"9DD2E1A7-4B0C-4C43-8F43-8D3C1B0F6E23","type":"interactive","sourceId":"` + customer + `","destinationId":"` + o.BusinessID + `",
			"interactiveData":{"bid":"` + AppleBID + `","data":{"version":"1.0","requestIdentifier":"` + messageID + `",
			"event":{"identifier":"` + messageID + `","title":"Which day suits you?","timeslots":[{"identifier":"s1","startTime":"2026-05-26T08:27+0000","duration":3600}]}}}}`,
			"Tuesday 26 May 2026, 08:27–09:27 UTC", "s1"},
		{"quick reply", `{"v":1,"id":"9DD2E1A7-4B0C-4C43-8F43-8D3C1B0F6E24","type":"interactive","sourceId":"` + customer + `","destinationId":"` + o.BusinessID + `",
			"interactiveData":{"bid":"` + AppleBID + `","data":{"version":"1.0","requestIdentifier":"` + messageID + `","quick-reply":{"selectedIndex":2,"selectedIdentifier":"agent"}}}}`,
			"agent", "agent"},
		{"form", `{"v":1,"id":"9DD2E1A7-4B0C-4C43-8F43-8D3C1B0F6E25","type":"interactive","sourceId":"` + customer + `","destinationId":"` + o.BusinessID + `",
			"interactiveData":{"bid":"` + AppleBID + `","data":{"version":"1.0","requestIdentifier":"` + messageID + `","dynamic":{"template":"messageForms",
			"selections":[{"pageIdentifier":"0","title":"Your name","items":[{"value":"Ana"}]}]}}}}`,
			"Your name: Ana", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := fake.Token(o.MSPID, o.Secret, e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequest(http.MethodPost, "https://parley.example/webhooks/"+e.poc.ID, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Source-Id", customer)
			req.Header.Set("Destination-Id", o.BusinessID)
			req.Header.Set("Capability-List", "LIST,TIME,FORM,QUICK")
			if err := e.a.Authenticate(req, []byte(tc.body), e.poc); err != nil {
				t.Fatal(err)
			}
			evs, err := e.a.Parse(req, []byte(tc.body), e.poc)
			if err != nil || len(evs) != 1 {
				t.Fatalf("got %+v, %v", evs, err)
			}
			if ev := evs[0]; ev.Text != tc.text || ev.ChoiceID != tc.choiceID || ev.AuthorID != customer || !strings.HasPrefix(ev.PlatformMessageID, "9DD2E1A7-") {
				t.Fatalf("got %+v", ev)
			}
		})
	}
}
