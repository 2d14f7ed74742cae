package messenger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/messenger"
	"github.com/parleyhq/parley/internal/channel/messenger/fake"
	"github.com/parleyhq/parley/internal/channel/messenger/messengertest"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	pageID    = "106540352242922"
	otherPage = "999000111222333"
	psid      = "2718281828459045"
	token     = "EAAtestpagetoken"
	appSecret = "appsecret"
	verify    = "mvt_test_verify"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// env is an adapter with a fixed clock, a fake Graph API and a configured
// point of contact pointing at it.
type env struct {
	now     time.Time
	adapter *messenger.Adapter
	fake    *fake.Server
	poc     *channel.PointOfContact
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{now: t0}
	clock := func() time.Time { return e.now }
	srv, err := fake.Start(fake.Options{Pages: []string{pageID}, Token: token, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.fake = srv
	e.adapter = messenger.New(&http.Client{Timeout: 5 * time.Second}, clock)
	pts := messengertest.New(t, e.adapter)
	e.poc = pts.MustCreate(messenger.Type, map[string]any{"page_id": pageID, "api_base_url": srv.URL},
		map[string]string{"page_access_token": token, "app_secret": appSecret, "verify_token": verify})
	return e
}

// reset makes a shared env fresh for the next subtest.
func (e *env) reset() {
	e.fake.Reset()
	e.now = t0
}

func TestConfigure(t *testing.T) {
	a := messenger.New(nil, nil)
	pts := messengertest.New(t, a)
	good := func() (map[string]any, map[string]string) {
		return map[string]any{"page_id": pageID}, map[string]string{"page_access_token": token, "app_secret": appSecret}
	}
	poc, gen, err := pts.Create(messenger.Type, func() map[string]any { s, _ := good(); return s }(), func() map[string]string { _, c := good(); return c }())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(gen["verify_token"], "mvt_") || poc.Credential("verify_token") != gen["verify_token"] {
		t.Fatalf("verify token not generated and kept: generated %v", gen)
	}
	if poc.Credential("page_access_token") != token || poc.Credential("app_secret") != appSecret {
		t.Fatal("credentials not stored")
	}
	// A verify token given by the admin is kept, and not shown again.
	s, c := good()
	c["verify_token"] = "mine"
	poc, gen, err = pts.Create(messenger.Type, s, c)
	if err != nil || poc.Credential("verify_token") != "mine" || gen["verify_token"] != "" {
		t.Fatalf("given verify token: %v %v", err, gen)
	}
	for _, tc := range []struct {
		name  string
		edit  func(map[string]any, map[string]string)
		field string
	}{
		{"no page id", func(s map[string]any, c map[string]string) { delete(s, "page_id") }, "settings.page_id"},
		{"page id not a string", func(s map[string]any, c map[string]string) { s["page_id"] = 106540352242922 }, "settings.page_id"},
		{"page id with a slash", func(s map[string]any, c map[string]string) { s["page_id"] = "1/../2" }, "settings.page_id"},
		{"bad base URL", func(s map[string]any, c map[string]string) { s["api_base_url"] = "graph.facebook.com" }, "settings.api_base_url"},
		{"unknown setting", func(s map[string]any, c map[string]string) { s["phone_number_id"] = "1" }, "settings.phone_number_id"},
		{"no token", func(s map[string]any, c map[string]string) { delete(c, "page_access_token") }, "credentials.page_access_token"},
		{"no app secret", func(s map[string]any, c map[string]string) { delete(c, "app_secret") }, "credentials.app_secret"},
		{"unknown credential", func(s map[string]any, c map[string]string) { c["password"] = "x" }, "credentials.password"},
	} {
		s, c := good()
		tc.edit(s, c)
		_, _, err := pts.Create(messenger.Type, s, c)
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
		}
	}
	// The verify token cannot be removed afterwards.
	if err := pts.Update(poc.ID, channel.Patch{Credentials: map[string]string{"verify_token": ""}}); err == nil {
		t.Error("verify token removed")
	}
}

func TestHandshakeAndSignature(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		query  string
		status int
	}{
		{"hub.mode=subscribe&hub.verify_token=" + verify + "&hub.challenge=1158201444", 200},
		{"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444", 403},
		{"hub.mode=subscribe&hub.challenge=1158201444", 403},
	} {
		w := httptest.NewRecorder()
		if !e.adapter.Handshake(w, httptest.NewRequest("GET", "/webhooks/x?"+c.query, nil), e.poc) {
			t.Fatal("handshake not handled")
		}
		if w.Code != c.status || (c.status == 200 && w.Body.String() != "1158201444") {
			t.Errorf("%s: %d %q", c.query, w.Code, w.Body.String())
		}
	}

	// Signatures arrive over real HTTP, signed by the fake like Meta.
	body := fake.PagePayload(pageID, fake.Text(psid, "m_1", "hello", t0))
	var gotErr []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotErr = append(gotErr, e.adapter.Authenticate(r, b, e.poc))
	}))
	defer hook.Close()
	for _, secret := range []string{appSecret, "wrong"} {
		resp, err := fake.SendWebhook(hook.URL, secret, body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(gotErr) != 2 || gotErr[0] != nil || !errors.Is(gotErr[1], channel.ErrUnauthenticated) {
		t.Fatalf("signatures: %v", gotErr)
	}
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	if !errors.Is(e.adapter.Authenticate(r, body, e.poc), channel.ErrUnauthenticated) {
		t.Error("unsigned body accepted")
	}
	// CHANNELS.md's test vector.
	r.Header.Set("X-Hub-Signature-256", "sha256=0e9e0080a310f376450c46d999aa4d49ed772bfe43c13205f38a3a6e6611ed2b")
	if fake.Sign("appsecret", []byte(`{"object":"page","entry":[]}`)) != r.Header.Get("X-Hub-Signature-256") ||
		e.adapter.Authenticate(r, []byte(`{"object":"page","entry":[]}`), e.poc) != nil {
		t.Error("CHANNELS.md signature vector")
	}
}

func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

func TestParse(t *testing.T) {
	e := newEnv(t)
	at := t0.Add(123 * time.Millisecond)
	img := e.fake.MediaURL("cat.jpg")
	msg := func(mid, text string) channel.InboundEvent {
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: mid, ThreadID: psid, AuthorID: psid, SentAt: ms(at), Text: text}
	}
	with := func(ev channel.InboundEvent, f func(*channel.InboundEvent)) channel.InboundEvent { f(&ev); return ev }
	for _, tc := range []struct {
		name string
		body []byte
		want []channel.InboundEvent
	}{
		{"text", fake.PagePayload(pageID, fake.Text(psid, "m_1", "hello, world!", at)), []channel.InboundEvent{msg("m_1", "hello, world!")}},
		{"quick reply tap", fake.PagePayload(pageID, fake.QuickReply(psid, "m_2", "Red", "RED", at)),
			[]channel.InboundEvent{with(msg("m_2", "Red"), func(e *channel.InboundEvent) { e.ChoiceID = "RED" })}},
		{"postback with mid", fake.PagePayload(pageID, fake.Postback(psid, "m_3", "Yes", "Y", at)),
			[]channel.InboundEvent{with(msg("m_3", "Yes"), func(e *channel.InboundEvent) { e.ChoiceID = "Y" })}},
		{"image", fake.PagePayload(pageID, fake.Attachment(psid, "m_4", "image", img, at)),
			[]channel.InboundEvent{with(msg("m_4", ""), func(e *channel.InboundEvent) {
				e.Attachments = []channel.InboundAttachment{{URL: img, Name: "cat.jpg"}}
			})}},
		{"quoted reply", fake.PagePayload(pageID, fake.ReplyTo(fake.Text(psid, "m_5", "this one", at), "m_0")),
			[]channel.InboundEvent{with(msg("m_5", "this one"), func(e *channel.InboundEvent) { e.ReplyToPlatformID = "m_0" })}},
		{"reaction", fake.PagePayload(pageID, fake.Reaction(psid, "m_out", "❤️", at)),
			[]channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: "reaction:m_out:" + psid + ":" + itoa(at.UnixMilli()),
				ThreadID: psid, AuthorID: psid, SentAt: ms(at), Reaction: "❤️", ReplyToPlatformID: "m_out"}}},
		{"unreaction ignored", fake.PagePayload(pageID, fake.Unreaction(psid, "m_out", at)), nil},
		{"delivery with mids and watermark", fake.PagePayload(pageID, fake.Delivery(psid, []string{"m_a", "m_b"}, at)),
			[]channel.InboundEvent{
				{Kind: channel.EventStatus, StatusMessageID: "m_a", ThreadID: psid, Status: "delivered"},
				{Kind: channel.EventStatus, StatusMessageID: "m_b", ThreadID: psid, Status: "delivered"},
				{Kind: channel.EventStatus, ThreadID: psid, Watermark: ms(at), Status: "delivered"}}},
		{"read watermark", fake.PagePayload(pageID, fake.Read(psid, at)),
			[]channel.InboundEvent{{Kind: channel.EventStatus, ThreadID: psid, Watermark: ms(at), Status: "read"}}},
		{"echo ignored", fake.PagePayload(pageID, fake.Echo(psid, "m_echo", "our reply", at)), nil},
		{"other page ignored", fake.PagePayload(otherPage, fake.Text(psid, "m_6", "not for us", at)), nil},
		{"unknown item ignored", []byte(`{"object":"page","entry":[{"id":"` + pageID + `","time":1,"messaging":[{"sender":{"id":"` + psid + `"},"recipient":{"id":"` + pageID + `"},"timestamp":1,"optin":{"ref":"x"}}]}]}`), nil},
		{"standby and changes ignored", []byte(`{"object":"page","entry":[{"id":"` + pageID + `","time":1,"standby":[{"x":1}],"changes":[{"field":"feed","value":{}}]}]}`), nil},
		{"batch of entries and items", fake.Payload("page",
			fake.Entry{ID: pageID, Time: at, Items: []fake.Item{fake.Text(psid, "m_7", "one", at), fake.Echo(psid, "m_e", "x", at), fake.Text("42", "m_8", "two", at)}},
			fake.Entry{ID: otherPage, Time: at, Items: []fake.Item{fake.Text(psid, "m_9", "elsewhere", at)}},
			fake.Entry{ID: pageID, Time: at, Items: []fake.Item{fake.Read(psid, at), fake.Postback(psid, "m_10", "No", "N", at)}}),
			[]channel.InboundEvent{msg("m_7", "one"),
				with(msg("m_8", "two"), func(e *channel.InboundEvent) { e.ThreadID, e.AuthorID = "42", "42" }),
				{Kind: channel.EventStatus, ThreadID: psid, Watermark: ms(at), Status: "read"},
				with(msg("m_10", "No"), func(e *channel.InboundEvent) { e.ChoiceID = "N" })}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.adapter.Parse(httptest.NewRequest("POST", "/", nil), tc.body, e.poc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(tc.want, "", " ")
				t.Fatalf("got %s\nwant %s", g, w)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestParsePostbackWithoutMidIsDeterministic(t *testing.T) {
	e := newEnv(t)
	body := fake.PagePayload(pageID, fake.Postback(psid, "", "Get started", "GET_STARTED", t0))
	a, err := e.adapter.Parse(httptest.NewRequest("POST", "/", nil), body, e.poc)
	if err != nil || len(a) != 1 {
		t.Fatal(a, err)
	}
	b, _ := e.adapter.Parse(httptest.NewRequest("POST", "/", nil), body, e.poc)
	if a[0].PlatformMessageID == "" || a[0].PlatformMessageID != b[0].PlatformMessageID || a[0].ChoiceID != "GET_STARTED" {
		t.Fatalf("retry ids differ or empty: %q %q", a[0].PlatformMessageID, b[0].PlatformMessageID)
	}
	other, _ := e.adapter.Parse(httptest.NewRequest("POST", "/", nil), fake.PagePayload(pageID, fake.Postback(psid, "", "Other", "OTHER", t0)), e.poc)
	if other[0].PlatformMessageID == a[0].PlatformMessageID {
		t.Fatal("different postbacks share an id")
	}
}

func TestParseMalformed(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"not json":         `{"object":`,
		"wrong object":     `{"object":"instagram","entry":[]}`,
		"entry not object": `{"object":"page","entry":[1]}`,
		"bad messaging":    `{"object":"page","entry":[{"id":"` + pageID + `","messaging":"x"}]}`,
		"bad timestamp":    `{"object":"page","entry":[{"id":"` + pageID + `","messaging":[{"sender":{"id":"1"},"timestamp":"soon","message":{"mid":"m","text":"x"}}]}]}`,
		"message no mid":   `{"object":"page","entry":[{"id":"` + pageID + `","messaging":[{"sender":{"id":"1"},"timestamp":1,"message":{"text":"x"}}]}]}`,
		"message no user":  `{"object":"page","entry":[{"id":"` + pageID + `","messaging":[{"timestamp":1,"message":{"mid":"m","text":"x"}}]}]}`,
	} {
		_, err := e.adapter.Parse(httptest.NewRequest("POST", "/", nil), []byte(body), e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: got %v, want MalformedError", name, err)
		}
	}
}

// ---- sending ----

func render(t *testing.T, c content.Content) json.RawMessage {
	t.Helper()
	r, err := content.Render("messenger", c, content.RenderOptions{Now: t0, MessageID: "msg1"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	return b
}

func (e *env) out(ago time.Duration, author string) *channel.OutboundMessage {
	return &channel.OutboundMessage{ID: "msg1", RecipientID: psid, ThreadExternalID: psid, AuthorType: author, LastInboundAt: e.now.Add(-ago), Attempt: 1}
}

// golden compares what the fake received with testdata/golden/<name>.json.
func golden(t *testing.T, name string, reqs []fake.Request) {
	t.Helper()
	type rec struct {
		Method        string          `json:"method"`
		Path          string          `json:"path"`
		Authorization string          `json:"authorization"`
		Body          json.RawMessage `json:"body"`
	}
	recs := make([]rec, len(reqs))
	for i, r := range reqs {
		recs[i] = rec{r.Method, strings.TrimPrefix(r.Path, ""), r.Authorization, r.Body}
	}
	got, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
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
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	quick := content.Content{Type: content.TypeQuickReplies, Text: "Pick a colour:", Options: []content.Option{
		{ID: "RED", Label: "Red", IconURL: "https://example.com/red.png"}, {ID: "GREEN", Label: "Green"}, {ID: "BLUE", Label: "A very long label for blue"}}}
	// A label over 20 characters does not fit Messenger: numbered text.
	quickFit := quick
	quickFit.Options = quick.Options[:2]
	card := content.Content{Type: content.TypeCard, Title: "Blue sneakers", Text: "Size 42, in stock",
		Media: &content.Media{URL: "https://shop.example.com/sneakers.jpg", MimeType: "image/jpeg"}, Link: &content.Link{URL: "https://shop.example.com/p/42"},
		Options: []content.Option{{ID: "buy", Label: "Buy"}, {ID: "site", Label: "See more", Kind: content.OptionURL, Postback: "https://shop.example.com/p/42"}}}
	carousel := content.Content{Type: content.TypeCarousel, Items: []content.Card{
		{Title: "Small", Subtitle: "€10", MediaURL: "https://shop.example.com/s.jpg", Actions: []content.Option{{ID: "s", Label: "Choose"}}},
		{Title: "Large", Subtitle: "€15", MediaURL: "https://shop.example.com/l.jpg", Actions: []content.Option{{ID: "l", Label: "Choose"}}}}}
	buttons := content.Content{Type: content.TypeQuickReplies, Text: "Confirm your order?", Options: []content.Option{{ID: "Y", Label: "Yes"}, {ID: "N", Label: "No"}},
		Overrides: map[string]json.RawMessage{"messenger": json.RawMessage(`{"message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"Confirm your order?","buttons":[{"type":"postback","title":"Yes","payload":"Y"},{"type":"web_url","url":"https://shop.example.com/order/7","title":"See the order"}]}}}}`)}}

	for _, tc := range []struct {
		name string
		msg  func(e *env) *channel.OutboundMessage
	}{
		{"text", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Hour, "agent")
			m.Text = "Hello! How can I help?"
			return m
		}},
		{"image", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Hour, "agent")
			m.Text = "Here is the photo"
			m.Attachments = []channel.OutboundAttachment{{ID: "att1", Name: "photo.jpg", MimeType: "image/jpeg", URL: "https://parley.example.com/files/att1?sig=abc"},
				{ID: "att2", Name: "invoice.pdf", MimeType: "application/pdf", URL: "https://parley.example.com/files/att2?sig=def"}}
			return m
		}},
		{"quick_replies", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Hour, "bot")
			m.Rendered = render(t, quickFit)
			return m
		}},
		{"quick_replies_numbered_text", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Hour, "bot")
			m.Rendered = render(t, quick)
			return m
		}},
		{"generic_card", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Hour, "agent")
			m.Rendered = render(t, card)
			return m
		}},
		{"generic_carousel", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Hour, "agent")
			m.Rendered = render(t, carousel)
			return m
		}},
		{"button_template", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Hour, "agent")
			m.Rendered = render(t, buttons)
			return m
		}},
		{"file_content_with_caption", func(e *env) *channel.OutboundMessage {
			c := content.Content{Type: content.TypeFile, Text: "Your invoice", Media: &content.Media{URL: "https://shop.example.com/invoice-7.pdf", MimeType: "application/pdf", FileName: "invoice-7.pdf"}}
			m := e.out(time.Hour, "agent")
			m.Content, _ = json.Marshal(c)
			m.Rendered = render(t, c)
			return m
		}},
		{"human_agent_3_days", func(e *env) *channel.OutboundMessage {
			m := e.out(3*24*time.Hour, "agent")
			m.Text = "Sorry for the delay, your parcel left today."
			return m
		}},
		{"quoted_reply", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Minute, "agent")
			m.Text = "Yes, this one."
			m.ReplyToPlatformID = "m_customer_1"
			return m
		}},
		{"long_text_split", func(e *env) *channel.OutboundMessage {
			m := e.out(time.Minute, "agent")
			m.Text = strings.Repeat("word ", 300) + "\n\n" + strings.Repeat("more ", 200)
			return m
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.reset()
			res, err := e.adapter.Send(context.Background(), e.poc, tc.msg(e))
			if err != nil {
				t.Fatal(err)
			}
			if res.PlatformMessageID != fake.MessageID(1) {
				t.Errorf("platform id %q", res.PlatformMessageID)
			}
			reqs := e.fake.Requests()
			for _, r := range reqs {
				if r.Status != 200 {
					t.Errorf("the fake refused: %s", r.Response)
				}
			}
			golden(t, tc.name, reqs)
		})
	}
}

func TestSendWindow(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		ago    time.Duration
		author string
		never  bool
		want   string // messaging_type[+tag], or "" for a refusal
	}{
		{"agent at 23h59", 24*time.Hour - time.Minute, "agent", false, "RESPONSE"},
		{"bot at 23h59", 24*time.Hour - time.Minute, "bot", false, "RESPONSE"},
		{"agent at 24h01", 24*time.Hour + time.Minute, "agent", false, "MESSAGE_TAG+HUMAN_AGENT"},
		{"agent at 3 days", 3 * 24 * time.Hour, "agent", false, "MESSAGE_TAG+HUMAN_AGENT"},
		{"bot at 25h refused", 25 * time.Hour, "bot", false, ""},
		{"system at 2 days refused", 48 * time.Hour, "system", false, ""},
		{"agent at 8 days refused", 8 * 24 * time.Hour, "agent", false, ""},
		{"never wrote refused", 0, "agent", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.reset()
			m := e.out(tc.ago, tc.author)
			if tc.never {
				m.LastInboundAt = time.Time{}
			}
			m.Text = "hello"
			_, err := e.adapter.Send(context.Background(), e.poc, m)
			reqs := e.fake.Requests()
			if tc.want == "" {
				var se *channel.SendError
				if !errors.As(err, &se) || se.Retryable || se.Code != messenger.CodeOutsideWindow {
					t.Fatalf("got %v, want a permanent outside_window error", err)
				}
				if len(reqs) != 0 {
					t.Fatalf("a refused send reached the platform: %d requests", len(reqs))
				}
				if tc.ago > 7*24*time.Hour && !strings.Contains(se.Reason, "7 days") {
					t.Errorf("reason %q does not explain the 7 days", se.Reason)
				}
				return
			}
			if err != nil || len(reqs) != 1 {
				t.Fatalf("%v, %d requests", err, len(reqs))
			}
			body := reqs[0].JSON()
			got, _ := body["messaging_type"].(string)
			if tag, ok := body["tag"].(string); ok {
				got += "+" + tag
			}
			if got != tc.want {
				t.Fatalf("messaging type %q, want %q", got, tc.want)
			}
		})
	}
	// The window the core shows the agent.
	w := messenger.New(nil, nil).Window(t0)
	if !w.FreeUntil.Equal(t0.Add(24*time.Hour)) || !w.HumanAgentUntil.Equal(t0.Add(7*24*time.Hour)) || w.TemplatesAfter {
		t.Fatalf("window %+v", w)
	}
	if messenger.New(nil, nil).Proactive() != channel.ProactiveNever {
		t.Fatal("proactive allowed")
	}
}

// TestFakeEnforcesTheWindow: a customer the fake delivered a webhook for
// is held to the platform's windows, as Meta would.
func TestFakeEnforcesTheWindow(t *testing.T) {
	e := newEnv(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	resp, err := e.fake.SendWebhook(hook.URL, appSecret, fake.PagePayload(pageID, fake.Text(psid, "m_1", "hi", t0.Add(-2*24*time.Hour))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A RESPONSE after 48 h: the adapter would never send it; post it by hand.
	req, _ := http.NewRequest("POST", e.fake.URL+"/"+pageID+"/messages", strings.NewReader(`{"recipient":{"id":"`+psid+`"},"messaging_type":"RESPONSE","message":{"text":"late"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 400 || !strings.Contains(string(b), "2018278") {
		t.Fatalf("%d %s", r.StatusCode, b)
	}
	// The adapter's HUMAN_AGENT send goes through.
	m := e.out(2*24*time.Hour, "agent")
	m.Text = "here"
	if _, err := e.adapter.Send(context.Background(), e.poc, m); err != nil {
		t.Fatal(err)
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name       string
		fail       fake.Failure
		retryable  bool
		code       string
		reason     string
		retryAfter time.Duration
	}{
		{"429 with Retry-After", fake.RateLimited("7"), true, "80007", "too many messages", 7 * time.Second},
		{"call limit 613", fake.CallLimit(), true, "613", "exceeded the rate limit", 0},
		{"500", fake.ServerError(), true, "2", "unexpected error", 0},
		{"outside window 10/2018278", fake.OutsideWindow(), false, "10/2018278", "outside of allowed window", 0},
		{"no such user", fake.NoSuchUser(), false, "100/2018001", "No matching user found", 0},
		{"expired token", fake.InvalidToken(), false, "190/463", "Session has expired", 0},
		{"connection dropped", fake.Failure{Status: 0}, true, "", "unreachable", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.reset()
			e.fake.FailNext(tc.fail)
			m := e.out(time.Hour, "agent")
			m.Text = "hello"
			_, err := e.adapter.Send(context.Background(), e.poc, m)
			var se *channel.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v", err)
			}
			if se.Retryable != tc.retryable || se.Code != tc.code || !strings.Contains(se.Reason, tc.reason) || se.RetryAfter != tc.retryAfter {
				t.Fatalf("got %+v", se)
			}
			// Then the platform recovers: the retry is delivered once.
			res, err := e.adapter.Send(context.Background(), e.poc, m)
			if err != nil || res.PlatformMessageID != fake.MessageID(1) || len(e.fake.Sent()) != 1 {
				t.Fatalf("retry: %v %v %d", res, err, len(e.fake.Sent()))
			}
		})
	}
}

func TestTyping(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.adapter.MarkRead(ctx, e.poc, "m_1"); err != nil {
		t.Fatal(err)
	}
	if err := e.adapter.Typing(ctx, e.poc, psid, psid, true); err != nil {
		t.Fatal(err)
	}
	if err := e.adapter.Typing(ctx, e.poc, psid, "", false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range e.fake.Requests() {
		b := r.JSON()
		rcpt, _ := b["recipient"].(map[string]any)
		if r.Status != 200 || rcpt["id"] != psid || r.Authorization != "Bearer "+token {
			t.Errorf("request %+v", r)
		}
		got = append(got, b["sender_action"].(string))
	}
	if strings.Join(got, ",") != "mark_seen,typing_on,typing_off" {
		t.Fatalf("sender actions %v", got)
	}
}

// FuzzParse: no input makes the parser panic, and what it accepts keeps
// the contract's invariants.
func FuzzParse(f *testing.F) {
	at := t0
	for _, seed := range [][]byte{
		fake.PagePayload(pageID, fake.Text(psid, "m_1", "hi", at), fake.QuickReply(psid, "m_2", "Red", "RED", at)),
		fake.PagePayload(pageID, fake.Postback(psid, "", "Yes", "Y", at), fake.Attachment(psid, "m_3", "image", "https://cdn.example/x.jpg", at)),
		fake.PagePayload(pageID, fake.Reaction(psid, "m_4", "👍", at), fake.Delivery(psid, []string{"m_5"}, at), fake.Read(psid, at), fake.Echo(psid, "m_6", "x", at)),
		fake.PagePayload(pageID, fake.ReplyTo(fake.Text(psid, "m_7", "q", at), "m_1"), fake.Attachment(psid, "m_8", "fallback", "https://x", at)),
		[]byte(`{"object":"page","entry":[{"id":"` + pageID + `","messaging":[{"sender":{"id":"1"},"timestamp":"1700000000000","message":{"mid":"m","attachments":[{"type":"image"}]}}]}]}`),
		[]byte(`{"object":"page","entry":null}`), []byte(`null`), []byte(`[]`), []byte("\xff"), []byte(`{"object":"page","entry":[{"id":"` + pageID + `","messaging":[null,1,{}]}]}`),
	} {
		f.Add(seed)
	}
	a := messenger.New(nil, func() time.Time { return t0 })
	pts := messengertest.New(f, a)
	poc := pts.MustCreate(messenger.Type, map[string]any{"page_id": pageID}, map[string]string{"page_access_token": token, "app_secret": appSecret})
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
				if ev.PlatformMessageID == "" || ev.ThreadID == "" || ev.AuthorID == "" {
					t.Fatalf("message without ids: %+v", ev)
				}
				if ev.Text == "" && ev.Reaction == "" && ev.ChoiceID == "" && len(ev.Attachments) == 0 {
					t.Fatalf("empty message: %+v", ev)
				}
			case channel.EventStatus:
				if ev.StatusMessageID == "" && ev.Watermark.IsZero() {
					t.Fatalf("receipt for nothing: %+v", ev)
				}
				if ev.Status != "delivered" && ev.Status != "read" {
					t.Fatalf("status %q", ev.Status)
				}
			default:
				t.Fatalf("kind %q", ev.Kind)
			}
		}
	})
}
