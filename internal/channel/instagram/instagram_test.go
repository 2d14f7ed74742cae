package instagram_test

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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/instagram"
	"github.com/parleyhq/parley/internal/channel/messenger"
	"github.com/parleyhq/parley/internal/channel/messenger/fake"
	"github.com/parleyhq/parley/internal/channel/messenger/messengertest"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	igID      = "17841400000000001"
	otherIG   = "17841499999999999"
	pageID    = "106540352242922"
	igsid     = "6543210987654321"
	token     = "IGtestaccesstoken"
	appSecret = "appsecret"
	verify    = "igvt_test_verify"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

type env struct {
	now     time.Time
	adapter *instagram.Adapter
	fake    *fake.Server
	poc     *channel.PointOfContact
	points  *messengertest.Points
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{now: t0}
	clock := func() time.Time { return e.now }
	srv, err := fake.Start(fake.Options{InstagramAccounts: []string{igID}, Token: token, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.fake = srv
	e.adapter = instagram.New(&http.Client{Timeout: 5 * time.Second}, clock)
	e.points = messengertest.New(t, e.adapter)
	e.poc = e.points.MustCreate(instagram.Type, map[string]any{"instagram_account_id": igID, "page_id": pageID, "api_base_url": srv.URL},
		map[string]string{"page_access_token": token, "app_secret": appSecret, "verify_token": verify})
	return e
}

func (e *env) reset() {
	e.fake.Reset()
	e.now = t0
}

func TestTypeAndContract(t *testing.T) {
	var a channel.Adapter = instagram.New(nil, nil)
	if a.Type() != "instagram_direct" {
		t.Fatal(a.Type())
	}
	for name, ok := range map[string]bool{
		"Receiver": is[channel.Receiver](a), "Handshaker": is[channel.Handshaker](a), "Sender": is[channel.Sender](a),
		"WindowPolicy": is[channel.WindowPolicy](a), "ProactivePolicy": is[channel.ProactivePolicy](a), "Typer": is[channel.Typer](a),
	} {
		if !ok {
			t.Errorf("not a %s", name)
		}
	}
	if a.(channel.ProactivePolicy).Proactive() != channel.ProactiveNever {
		t.Error("cold DMs allowed")
	}
	w := a.(channel.WindowPolicy).Window(t0)
	if !w.FreeUntil.Equal(t0.Add(24*time.Hour)) || !w.HumanAgentUntil.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("window %+v", w)
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }

func TestConfigure(t *testing.T) {
	e := newEnv(t)
	poc, gen, err := e.points.Create(instagram.Type, map[string]any{"instagram_account_id": igID},
		map[string]string{"page_access_token": token, "app_secret": appSecret})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(gen["verify_token"], "igvt_") || poc.Credential("verify_token") != gen["verify_token"] {
		t.Fatalf("generated %v", gen)
	}
	for _, tc := range []struct {
		settings map[string]any
		creds    map[string]string
		field    string
	}{
		{map[string]any{"page_id": pageID}, map[string]string{"page_access_token": token, "app_secret": appSecret}, "settings.instagram_account_id"},
		{map[string]any{"instagram_account_id": igID, "page_id": ""}, map[string]string{"page_access_token": token, "app_secret": appSecret}, "settings.page_id"},
		{map[string]any{"instagram_account_id": igID}, map[string]string{"app_secret": appSecret}, "credentials.page_access_token"},
		{map[string]any{"instagram_account_id": igID}, map[string]string{"page_access_token": token}, "credentials.app_secret"},
	} {
		_, _, err := e.points.Create(instagram.Type, tc.settings, tc.creds)
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%v %v: got %v, want an error on %s", tc.settings, tc.creds, err, tc.field)
		}
	}
}

func TestHandshakeAndSignature(t *testing.T) {
	e := newEnv(t)
	w := httptest.NewRecorder()
	e.adapter.Handshake(w, httptest.NewRequest("GET", "/?hub.mode=subscribe&hub.verify_token="+verify+"&hub.challenge=42", nil), e.poc)
	if w.Code != 200 || w.Body.String() != "42" {
		t.Fatalf("handshake %d %q", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	e.adapter.Handshake(w, httptest.NewRequest("GET", "/?hub.mode=subscribe&hub.verify_token=mvt_other&hub.challenge=42", nil), e.poc)
	if w.Code != 403 {
		t.Fatalf("wrong token: %d", w.Code)
	}
	body := fake.InstagramPayload(igID, fake.Text(igsid, "aWdfZA1", "hi", t0))
	var errs []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		errs = append(errs, e.adapter.Authenticate(r, b, e.poc))
	}))
	defer hook.Close()
	for _, s := range []string{appSecret, "not the secret"} {
		resp, err := fake.SendWebhook(hook.URL, s, body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(errs) != 2 || errs[0] != nil || !errors.Is(errs[1], channel.ErrUnauthenticated) {
		t.Fatalf("signatures: %v", errs)
	}
}

func TestParse(t *testing.T) {
	e := newEnv(t)
	at := t0.Add(7 * time.Millisecond)
	sent := time.UnixMilli(at.UnixMilli()).UTC()
	msg := func(mid, text string) channel.InboundEvent {
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: mid, ThreadID: igsid, AuthorID: igsid, SentAt: sent, Text: text}
	}
	with := func(ev channel.InboundEvent, f func(*channel.InboundEvent)) channel.InboundEvent { f(&ev); return ev }
	img := e.fake.MediaURL("photo.jpg")
	for _, tc := range []struct {
		name string
		body []byte
		want []channel.InboundEvent
	}{
		{"text", fake.InstagramPayload(igID, fake.Text(igsid, "aWdfm1", "Is it in stock?", at)), []channel.InboundEvent{msg("aWdfm1", "Is it in stock?")}},
		{"quick reply", fake.InstagramPayload(igID, fake.QuickReply(igsid, "aWdfm2", "Small", "s", at)),
			[]channel.InboundEvent{with(msg("aWdfm2", "Small"), func(e *channel.InboundEvent) { e.ChoiceID = "s" })}},
		{"postback", fake.InstagramPayload(igID, fake.Postback(igsid, "aWdfm3", "Buy", "buy", at)),
			[]channel.InboundEvent{with(msg("aWdfm3", "Buy"), func(e *channel.InboundEvent) { e.ChoiceID = "buy" })}},
		{"image", fake.InstagramPayload(igID, fake.Attachment(igsid, "aWdfm4", "image", img, at)),
			[]channel.InboundEvent{with(msg("aWdfm4", ""), func(e *channel.InboundEvent) {
				e.Attachments = []channel.InboundAttachment{{URL: img, Name: "photo.jpg"}}
			})}},
		{"story mention", fake.InstagramPayload(igID, fake.StoryMention(igsid, "aWdfm5", "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", at)),
			[]channel.InboundEvent{msg("aWdfm5", "Mentioned you in their story: https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1")}},
		{"share", fake.InstagramPayload(igID, fake.Share(igsid, "aWdfm6", "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=2", at)),
			[]channel.InboundEvent{msg("aWdfm6", "Shared a post: https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=2")}},
		{"quoted reply", fake.InstagramPayload(igID, fake.ReplyTo(fake.Text(igsid, "aWdfm7", "this", at), "aWdfout")),
			[]channel.InboundEvent{with(msg("aWdfm7", "this"), func(e *channel.InboundEvent) { e.ReplyToPlatformID = "aWdfout" })}},
		{"reaction", fake.InstagramPayload(igID, fake.Reaction(igsid, "aWdfout", "😮", at)),
			[]channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: "reaction:aWdfout:" + igsid + ":" + strconv.FormatInt(at.UnixMilli(), 10),
				ThreadID: igsid, AuthorID: igsid, SentAt: sent, Reaction: "😮", ReplyToPlatformID: "aWdfout"}}},
		{"seen (messaging_seen)", fake.InstagramPayload(igID, fake.Seen(igsid, "aWdfout", at)),
			[]channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: "aWdfout", ThreadID: igsid, Status: "read"}}},
		{"read watermark", fake.InstagramPayload(igID, fake.Read(igsid, at)),
			[]channel.InboundEvent{{Kind: channel.EventStatus, ThreadID: igsid, Watermark: sent, Status: "read"}}},
		{"unsent message ignored", []byte(`{"object":"instagram","entry":[{"id":"` + igID + `","time":1,"messaging":[{"sender":{"id":"` + igsid + `"},"recipient":{"id":"` + igID + `"},"timestamp":1,"message":{"mid":"aWdfm8","is_deleted":true}}]}]}`), nil},
		{"echo ignored", fake.InstagramPayload(igID, fake.Echo(igsid, "aWdfecho", "our reply", at)), nil},
		{"other account ignored", fake.InstagramPayload(otherIG, fake.Text(igsid, "aWdfm9", "x", at)), nil},
		{"batch", fake.Payload("instagram",
			fake.Entry{ID: igID, Time: at, Items: []fake.Item{fake.Text(igsid, "aWdfb1", "one", at), fake.Echo(igsid, "aWdfb2", "ours", at)}},
			fake.Entry{ID: otherIG, Time: at, Items: []fake.Item{fake.Text(igsid, "aWdfb3", "theirs", at)}},
			fake.Entry{ID: igID, Time: at, Items: []fake.Item{fake.Seen(igsid, "aWdfout", at), fake.Text(igsid, "aWdfb4", "two", at)}}),
			[]channel.InboundEvent{msg("aWdfb1", "one"), {Kind: channel.EventStatus, StatusMessageID: "aWdfout", ThreadID: igsid, Status: "read"}, msg("aWdfb4", "two")}},
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
	// A Messenger delivery is not Instagram's.
	var me *channel.MalformedError
	if _, err := e.adapter.Parse(httptest.NewRequest("POST", "/", nil), fake.PagePayload(igID, fake.Text(igsid, "m", "x", at)), e.poc); !errors.As(err, &me) {
		t.Fatalf("page object accepted: %v", err)
	}
}

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
		recs[i] = rec{r.Method, r.Path, r.Authorization, r.Body}
	}
	got, _ := json.MarshalIndent(recs, "", "  ")
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

func renderIG(t *testing.T, c content.Content) json.RawMessage {
	t.Helper()
	r, err := content.Render(instagram.Type, c, content.RenderOptions{Now: t0, MessageID: "msg1"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	return b
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	quick := content.Content{Type: content.TypeQuickReplies, Text: "Which size?", Options: []content.Option{{ID: "s", Label: "Small"}, {ID: "l", Label: "Large"}}}
	override := quick
	override.Overrides = map[string]json.RawMessage{instagram.Type: json.RawMessage(`{"message":{"text":"Which size?","quick_replies":[{"content_type":"text","title":"Small","payload":"s"},{"content_type":"text","title":"Large","payload":"l"}]}}`)}
	out := func(ago time.Duration, author string) *channel.OutboundMessage {
		return &channel.OutboundMessage{ID: "msg1", RecipientID: igsid, ThreadExternalID: igsid, AuthorType: author, LastInboundAt: t0.Add(-ago), Attempt: 1}
	}
	for _, tc := range []struct {
		name string
		msg  *channel.OutboundMessage
	}{
		{"text", func() *channel.OutboundMessage { m := out(time.Hour, "agent"); m.Text = "Yes, in stock!"; return m }()},
		{"image", func() *channel.OutboundMessage {
			m := out(time.Hour, "agent")
			m.Attachments = []channel.OutboundAttachment{{ID: "a1", Name: "shoe.png", MimeType: "image/png", URL: "https://parley.example.com/files/a1?sig=x"}}
			return m
		}()},
		// The seed gives Instagram plain text: quick replies as numbered text.
		{"quick_replies_as_text", func() *channel.OutboundMessage { m := out(time.Hour, "bot"); m.Rendered = renderIG(t, quick); return m }()},
		// An author's explicit Instagram payload is sent verbatim.
		{"override", func() *channel.OutboundMessage {
			m := out(time.Hour, "bot")
			m.Rendered = renderIG(t, override)
			return m
		}()},
		{"human_agent_3_days", func() *channel.OutboundMessage {
			m := out(72*time.Hour, "agent")
			m.Text = "Back in stock now."
			return m
		}()},
		{"quoted_reply", func() *channel.OutboundMessage {
			m := out(time.Minute, "agent")
			m.Text = "This one"
			m.ReplyToPlatformID = "aWdfm7"
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.reset()
			res, err := e.adapter.Send(context.Background(), e.poc, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if res.PlatformMessageID != fake.MessageID(1) {
				t.Errorf("id %q", res.PlatformMessageID)
			}
			golden(t, tc.name, e.fake.Requests())
		})
	}
}

func TestSendWindowAndErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := &channel.OutboundMessage{ID: "x", RecipientID: igsid, Text: "hello", AuthorType: "agent", LastInboundAt: t0.Add(-8 * 24 * time.Hour)}
	var se *channel.SendError
	if _, err := e.adapter.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Code != messenger.CodeOutsideWindow || se.Retryable || !strings.Contains(se.Reason, "7 days") {
		t.Fatalf("8 days: %v", err)
	}
	m.AuthorType, m.LastInboundAt = "bot", t0.Add(-25*time.Hour)
	if _, err := e.adapter.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Code != messenger.CodeOutsideWindow {
		t.Fatalf("bot at 25 h: %v", err)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Fatalf("%d refused sends reached the platform", n)
	}
	m.LastInboundAt = t0.Add(-time.Hour)
	e.fake.FailNext(fake.RateLimited("3"))
	if _, err := e.adapter.Send(ctx, e.poc, m); !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 3*time.Second {
		t.Fatalf("rate limit: %v", err)
	}
	e.fake.FailNext(fake.NoSuchUser())
	if _, err := e.adapter.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Retryable || se.Code != "100/2018001" || !strings.Contains(se.Reason, "No matching user") {
		t.Fatalf("permanent: %v", err)
	}
	// Text over Instagram's 1000 characters goes out in pieces the fake accepts.
	e.reset()
	m.Text = strings.Repeat("abcdefghi ", 150)
	if _, err := e.adapter.Send(ctx, e.poc, m); err != nil || len(e.fake.Sent()) != 2 {
		t.Fatalf("long text: %v, %d sends", err, len(e.fake.Sent()))
	}
}

func TestTyping(t *testing.T) {
	e := newEnv(t)
	if err := e.adapter.Typing(context.Background(), e.poc, igsid, igsid, true); err != nil {
		t.Fatal(err)
	}
	reqs := e.fake.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/v25.0/"+igID+"/messages" || reqs[0].JSON()["sender_action"] != "mark_seen" || reqs[1].JSON()["sender_action"] != "typing_on" {
		t.Fatalf("%+v", reqs)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range [][]byte{
		fake.InstagramPayload(igID, fake.Text(igsid, "m1", "hi", t0), fake.StoryMention(igsid, "m2", "https://cdn/x", t0), fake.Share(igsid, "m3", "https://cdn/y", t0)),
		fake.InstagramPayload(igID, fake.Seen(igsid, "m4", t0), fake.Reaction(igsid, "m5", "❤", t0), fake.Echo(igsid, "m6", "x", t0), fake.Postback(igsid, "", "t", "p", t0)),
		[]byte(`{"object":"instagram","entry":[{"id":"` + igID + `","messaging":[{"sender":{"id":"1"},"timestamp":1,"message":{"mid":"m","reply_to":{"story":{"url":"https://x","id":"1"}}}}]}]}`),
		[]byte(`{"object":"instagram","entry":[{"id":"` + igID + `","messaging":[{"sender":{"id":"1"},"message":{"mid":"m","is_unsupported":true}}]}]}`),
		[]byte(`{}`), []byte(`{"object":"instagram","entry":[null]}`),
	} {
		f.Add(seed)
	}
	a := instagram.New(nil, func() time.Time { return t0 })
	poc := messengertest.New(f, a).MustCreate(instagram.Type, map[string]any{"instagram_account_id": igID},
		map[string]string{"page_access_token": token, "app_secret": appSecret})
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := a.Parse(httptest.NewRequest("POST", "/", nil), body, poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("not MalformedError: %v", err)
			}
			return
		}
		for _, ev := range evs {
			if ev.Kind == channel.EventMessage && (ev.PlatformMessageID == "" || ev.ThreadID == "" ||
				(ev.Text == "" && ev.Reaction == "" && ev.ChoiceID == "" && len(ev.Attachments) == 0)) {
				t.Fatalf("bad message %+v", ev)
			}
			if ev.Kind == channel.EventStatus && ev.StatusMessageID == "" && ev.Watermark.IsZero() {
				t.Fatalf("receipt for nothing %+v", ev)
			}
		}
	})
}
