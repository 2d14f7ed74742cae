package line

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/line/fake"
)

// channelsSample is CHANNELS.md §7's text message, verbatim.
const channelsSample = `{"destination":"U<bot userId>","events":[{"type":"message","mode":"active","timestamp":1462629479859,
 "source":{"type":"user","userId":"u206d25c2ea6bd87c17655609a1c37cb8"},"webhookEventId":"01FZ74ASS536FW97EX38NKCZQK",
 "deliveryContext":{"isRedelivery":false},"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
 "message":{"id":"325708","type":"text","text":"Hello, world","quoteToken":"…","markAsReadToken":"…"}}]}`

// imageSample is the same event with CHANNELS.md's image message.
const imageSample = `{"destination":"U4af4980629e0cd2ab8f7c4b6f2bd0e91","events":[{"type":"message","mode":"active","timestamp":1462629479859,
 "source":{"type":"user","userId":"U206d25c2ea6bd87c17655609a1c37cb8"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR",
 "deliveryContext":{"isRedelivery":false},"replyToken":"0f3779fba3b349968c5d07db31eab56f",
 "message":{"id":"354718705033693859","type":"image","quoteToken":"q3Plxr4AgKd","contentProvider":{"type":"line"},
 "imageSet":{"id":"E005D41A7288F41B65593ED38FF6E9834B046AB36A37921A56BC236F13A91855","index":1,"total":2}}}]}`

// postbackSample is the reference's date picker postback.
const postbackSample = `{"destination":"U4af4980629e0cd2ab8f7c4b6f2bd0e91","events":[{"replyToken":"b60d432864f44d079f6d8efe86cf404b",
 "type":"postback","mode":"active","source":{"userId":"U91eeaf62d901234567890123456789ab","type":"user"},"timestamp":1513669370317,
 "webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":false},
 "postback":{"data":"storeId=12345","params":{"datetime":"2017-12-25T01:00"}}}]}`

func TestSignatureVector(t *testing.T) {
	// CHANNELS.md's LINE vector.
	const want = "l0oJg1BXnMd/LuPbsMivcPj9dY4InLHfPT4N3P1R1Rs="
	body := []byte(`{"object":"page","entry":[]}`)
	if got := Sign("channelsecret", body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if got := fake.Sign("channelsecret", body); got != want {
		t.Fatalf("fake.Sign = %s, want %s", got, want)
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	body := []byte(channelsSample)
	if err := e.a.Authenticate(webhook(testSecret, body), body, e.poc); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	forged := func(mutate func(r *webhookReq)) error {
		r := &webhookReq{secret: testSecret, body: body, sigBody: body}
		mutate(r)
		req := webhook(r.secret, r.sigBody)
		if r.header != nil {
			req.Header.Set(SignatureHeader, *r.header)
		}
		return e.a.Authenticate(req, r.body, e.poc)
	}
	for name, mutate := range map[string]func(r *webhookReq){
		"missing":        func(r *webhookReq) { r.secret = "" },
		"wrong secret":   func(r *webhookReq) { r.secret = "channelsecret" },
		"tampered body":  func(r *webhookReq) { r.body = []byte(strings.Replace(channelsSample, "Hello", "Hullo", 1)) },
		"not base64":     func(r *webhookReq) { s := "not base64!"; r.header = &s },
		"truncated":      func(r *webhookReq) { s := Sign(testSecret, body)[:20]; r.header = &s },
		"hex, not b64":   func(r *webhookReq) { s := strings.Repeat("ab", 32); r.header = &s },
		"empty":          func(r *webhookReq) { s := ""; r.header = &s },
		"other body sig": func(r *webhookReq) { r.sigBody = []byte(`{"events":[]}`) },
	} {
		if err := forged(mutate); !errors.Is(err, channel.ErrUnauthenticated) {
			t.Errorf("%s: err = %v, want ErrUnauthenticated", name, err)
		}
	}
}

type webhookReq struct {
	secret  string
	body    []byte
	sigBody []byte
	header  *string
}

func TestParseChannelsSample(t *testing.T) {
	e := newEnv(t)
	evs := e.receive(t, []byte(channelsSample))
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	want := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: "01FZ74ASS536FW97EX38NKCZQK",
		ThreadID: "u206d25c2ea6bd87c17655609a1c37cb8", AuthorID: "u206d25c2ea6bd87c17655609a1c37cb8", Text: "Hello, world",
		SentAt: time.UnixMilli(1462629479859).UTC()}
	if ev.Kind != want.Kind || ev.PlatformMessageID != want.PlatformMessageID || ev.ThreadID != want.ThreadID ||
		ev.AuthorID != want.AuthorID || ev.Text != want.Text || !ev.SentAt.Equal(want.SentAt) || ev.ChoiceID != "" || len(ev.Attachments) != 0 {
		t.Fatalf("event %+v\nwant %+v", ev, want)
	}
	// The reply token is kept for the thread's answer.
	got, ok := e.a.replies.get(replyKey(e.poc, ev.ThreadID), e.clock.Now(), ReplyTokenTTL)
	if !ok || got.token != "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA" || got.eventID != ev.PlatformMessageID {
		t.Fatalf("reply token %+v %v", got, ok)
	}
}

func TestParseImageAndFetch(t *testing.T) {
	e := newEnv(t)
	evs := e.receive(t, []byte(imageSample))
	if len(evs) != 1 || len(evs[0].Attachments) != 1 {
		t.Fatalf("events %+v", evs)
	}
	att := evs[0].Attachments[0]
	if att.MediaRef != "354718705033693859" || att.URL != "" || evs[0].Text != "" || evs[0].PlatformMessageID != "01FZ74A0TDDPYRVKNK77XKC3ZR" {
		t.Fatalf("attachment %+v, event %+v", att, evs[0])
	}
	jpeg := []byte("\xff\xd8\xff\xe0 a tiny jpeg")
	e.fk.AddContent(att.MediaRef, "image/jpeg", jpeg)
	body, mime, err := e.a.FetchMedia(t.Context(), e.poc, att.MediaRef)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	body.Close()
	if string(data) != string(jpeg) || mime != "image/jpeg" {
		t.Fatalf("content %q %q", data, mime)
	}
	reqs := e.fk.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != "/v2/bot/message/354718705033693859/content" || last.Authorization != "Bearer "+testToken {
		t.Fatalf("content request %+v", last)
	}
	// The content host is its own setting (api-data.line.me).
	if got := dataBase(e.poc); got != e.fk.URL() {
		t.Fatalf("data base %q", got)
	}
	if _, _, err := e.a.FetchMedia(t.Context(), e.poc, "404404"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown content: %v", err)
	}
	before := len(e.fk.Requests())
	if _, _, err := e.a.FetchMedia(t.Context(), e.poc, "../../v2/bot/message/push"); err == nil {
		t.Fatal("a path in the media ref was fetched")
	}
	if len(e.fk.Requests()) != before {
		t.Fatal("an invalid media ref reached LINE")
	}

	// A photo through the fake's own builder, and an external provider's.
	img := e.fk.Image(customer, "image/png", []byte("\x89PNG..."))
	ext := fake.Text(customer, "x", t0)
	ext["message"] = map[string]any{"id": "1", "type": "image", "contentProvider": map[string]any{"type": "external",
		"originalContentUrl": "https://cdn.example.com/a.jpg", "previewImageUrl": "https://cdn.example.com/a_s.jpg"}}
	file := fake.File(customer, "98765", "invoice.pdf", 1234, t0)
	evs = e.receive(t, e.fk.Payload(img, ext, file))
	if len(evs) != 3 || evs[0].Attachments[0].MediaRef != img["message"].(map[string]any)["id"] ||
		evs[1].Attachments[0].URL != "https://cdn.example.com/a.jpg" || evs[1].Attachments[0].MediaRef != "" ||
		evs[2].Attachments[0].MediaRef != "98765" || evs[2].Attachments[0].Name != "invoice.pdf" {
		t.Fatalf("events %+v", evs)
	}
}

func TestParsePostback(t *testing.T) {
	e := newEnv(t)
	// The reference's date picker postback: data and the picked value.
	evs := e.receive(t, []byte(postbackSample))
	if len(evs) != 1 || evs[0].ChoiceID != "storeId=12345" || evs[0].Text != "2017-12-25T01:00" ||
		evs[0].ThreadID != "U91eeaf62d901234567890123456789ab" || evs[0].PlatformMessageID != "01FZ74A0TDDPYRVKNK77XKC3ZR" {
		t.Fatalf("date picker postback %+v", evs)
	}
	// A tap on one of Parley's buttons: the option id and the label.
	tap := fake.Tap(customer, "slot_2026-11-25T09:00", "Tue 25 Nov, 09:00–09:30", t0)
	evs = e.receive(t, e.fk.Payload(tap))
	if len(evs) != 1 || evs[0].ChoiceID != "slot_2026-11-25T09:00" || evs[0].Text != "Tue 25 Nov, 09:00–09:30" || evs[0].Kind != channel.EventMessage {
		t.Fatalf("tap %+v", evs)
	}
	// A label with "|" in it stays whole.
	evs = e.receive(t, e.fk.Payload(fake.Tap(customer, "a", "x | y", t0)))
	if evs[0].ChoiceID != "a" || evs[0].Text != "x | y" {
		t.Fatalf("label with a bar %+v", evs[0])
	}
	// A picker of Parley's (id|label) with a value.
	evs = e.receive(t, e.fk.Payload(fake.Postback(customer, "when|Pick a day", map[string]string{"date": "2026-12-01"}, t0)))
	if evs[0].ChoiceID != "when" || evs[0].Text != "Pick a day: 2026-12-01" {
		t.Fatalf("picker %+v", evs[0])
	}
	// A rich menu switching tabs is navigation, not a message.
	evs = e.receive(t, e.fk.Payload(fake.Postback(customer, "richmenu-changed-to-b", map[string]string{"newRichMenuAliasId": "b", "status": "SUCCESS"}, t0)))
	if len(evs) != 0 {
		t.Fatalf("rich menu switch %+v", evs)
	}
}

func TestParseVerifyAndSkipped(t *testing.T) {
	e := newEnv(t)
	// The console's "Verify": no events, answered 200 by the core.
	verify := fake.Payload(fake.DefaultBotUserID)
	if string(verify) != `{"destination":"`+fake.DefaultBotUserID+`","events":[]}` {
		t.Fatalf("verify body %s", verify)
	}
	if evs := e.receive(t, verify); len(evs) != 0 {
		t.Fatalf("verify: %+v", evs)
	}
	// The older consoles' check: dummy user and tokens.
	old := `{"events":[{"replyToken":"00000000000000000000000000000000","type":"message","mode":"active","timestamp":1513065174862,"source":{"type":"user","userId":"Udeadbeefdeadbeefdeadbeefdeadbeef"},"webhookEventId":"01","deliveryContext":{"isRedelivery":false},"message":{"id":"100001","type":"text","text":"Hello, world"}}]}`
	if evs := e.receive(t, []byte(old)); len(evs) != 0 {
		t.Fatalf("old verify: %+v", evs)
	}
	unsend := fake.Unsend(customer, "325708", t0)
	join := fake.Event{"type": "join", "mode": "active", "timestamp": t0.UnixMilli(), "source": fake.Group("C"+strings.Repeat("1", 32), ""),
		"webhookEventId": fake.NewWebhookEventID(t0), "deliveryContext": map[string]any{"isRedelivery": false}, "replyToken": "r"}
	if evs := e.receive(t, e.fk.Payload(unsend, join)); len(evs) != 0 {
		t.Fatalf("unsend and join: %+v", evs)
	}
}

func TestParseFollowUnfollow(t *testing.T) {
	e := newEnv(t)
	unfollow, follow, friend := fake.Unfollow(customer, t0), fake.Follow(customer, true, t0.Add(time.Hour)), fake.Follow("U"+strings.Repeat("e", 32), false, t0)
	evs := e.receive(t, e.fk.Payload(unfollow, follow, friend))
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	if ev := evs[0]; ev.OptOut == nil || !*ev.OptOut || !ev.Automated || ev.AuthorID != customer || ev.ThreadID != customer ||
		ev.PlatformMessageID != unfollow["webhookEventId"] || !strings.Contains(ev.Text, "blocked") {
		t.Fatalf("unfollow %+v", ev)
	}
	if ev := evs[1]; ev.OptOut == nil || *ev.OptOut || !ev.Automated || !strings.Contains(ev.Text, "unblocked") {
		t.Fatalf("follow (unblocked) %+v", ev)
	}
	if ev := evs[2]; ev.OptOut == nil || *ev.OptOut || !strings.Contains(ev.Text, "friend") {
		t.Fatalf("follow %+v", ev)
	}
	// A follow's reply token is not an answer's: not kept.
	if _, ok := e.a.replies.get(replyKey(e.poc, customer), e.clock.Now(), ReplyTokenTTL); ok {
		t.Fatal("a follow event's reply token was kept")
	}
}

func TestParseMessageKinds(t *testing.T) {
	e := newEnv(t)
	group := "C" + strings.Repeat("a", 32)
	inGroup := fake.TextFrom(fake.Group(group, customer), "hello all", t0)
	anonymous := fake.TextFrom(fake.Group(group, ""), "who am I", t0)
	sticker := fake.Sticker(customer, t0)
	loc := fake.Location(customer, "Tokyo Tower", "4-2-8 Shibakoen, Minato-ku", 35.65858, 139.745433, t0)
	quoted := fake.Text(customer, "this one", t0)
	quoted["message"].(map[string]any)["quotedMessageId"] = "500000000000000001"
	odd := fake.Text(customer, "", t0)
	odd["message"] = map[string]any{"id": "2", "type": "hologram"}
	evs := e.receive(t, e.fk.Payload(inGroup, anonymous, sticker, loc, quoted, odd))
	if len(evs) != 6 {
		t.Fatalf("%d events", len(evs))
	}
	if evs[0].ThreadID != group || evs[0].AuthorID != customer || evs[0].Text != "hello all" {
		t.Fatalf("group message %+v", evs[0])
	}
	if evs[1].ThreadID != group || evs[1].AuthorID != group {
		t.Fatalf("group message without user %+v", evs[1])
	}
	if evs[2].Text != "(sticker)" {
		t.Fatalf("sticker %+v", evs[2])
	}
	if evs[3].Text != "Tokyo Tower\n4-2-8 Shibakoen, Minato-ku\nhttps://www.google.com/maps/search/?api=1&query=35.65858,139.745433" {
		t.Fatalf("location %q", evs[3].Text)
	}
	if evs[4].ReplyToPlatformID != "500000000000000001" || evs[4].Text != "this one" {
		t.Fatalf("quote %+v", evs[4])
	}
	if !strings.Contains(evs[5].Text, "hologram") {
		t.Fatalf("unknown type %+v", evs[5])
	}
	// The group's reply token answers the group.
	if _, ok := e.a.replies.get(replyKey(e.poc, group), e.clock.Now(), ReplyTokenTTL); !ok {
		t.Fatal("no reply token for the group")
	}
}

func TestDedupeKeyIsWebhookEventID(t *testing.T) {
	e := newEnv(t)
	first := fake.Text(customer, "are you there?", t0)
	evs1 := e.receive(t, e.fk.Payload(first))
	if _, ok := e.a.replies.take(replyKey(e.poc, customer), e.clock.Now(), ReplyTokenTTL); !ok {
		t.Fatal("first delivery: no reply token")
	}
	e.clock.Advance(3 * time.Minute)
	evs2 := e.receive(t, e.fk.Payload(fake.Redelivered(first)))
	if len(evs1) != 1 || len(evs2) != 1 || evs1[0].PlatformMessageID != evs2[0].PlatformMessageID ||
		evs1[0].PlatformMessageID != first["webhookEventId"] {
		t.Fatalf("first %+v, redelivery %+v", evs1, evs2)
	}
	// A redelivery's reply token is minutes old: not used.
	if _, ok := e.a.replies.get(replyKey(e.poc, customer), e.clock.Now(), ReplyTokenTTL); ok {
		t.Fatal("a redelivered event's reply token was kept")
	}
	// Two messages: two distinct keys even with the same text.
	a, b := fake.Text(customer, "x", t0), fake.Text(customer, "x", t0)
	evs := e.receive(t, e.fk.Payload(a, b))
	if evs[0].PlatformMessageID == evs[1].PlatformMessageID {
		t.Fatal("two events share a dedupe key")
	}
}

func TestParseMalformed(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"not json":         `nope`,
		"array":            `[]`,
		"no events":        `{"destination":"U1"}`,
		"events not array": `{"events":{}}`,
		"event not object": `{"events":[1]}`,
		"no event id":      `{"events":[{"type":"message","source":{"type":"user","userId":"U1"},"message":{"id":"1","type":"text","text":"x"}}]}`,
		"no source":        `{"events":[{"type":"message","webhookEventId":"01","message":{"id":"1","type":"text","text":"x"}}]}`,
		"bad source":       `{"events":[{"type":"message","webhookEventId":"01","source":{"type":"planet"},"message":{"id":"1","type":"text","text":"x"}}]}`,
		"no user id":       `{"events":[{"type":"message","webhookEventId":"01","source":{"type":"user"},"message":{"id":"1","type":"text","text":"x"}}]}`,
		"no message":       `{"events":[{"type":"message","webhookEventId":"01","source":{"type":"user","userId":"U1"}}]}`,
		"no message id":    `{"events":[{"type":"message","webhookEventId":"01","source":{"type":"user","userId":"U1"},"message":{"type":"text","text":"x"}}]}`,
		"text not string":  `{"events":[{"type":"message","webhookEventId":"01","source":{"type":"user","userId":"U1"},"message":{"id":"1","type":"text","text":5}}]}`,
		"bad media id":     `{"events":[{"type":"message","webhookEventId":"01","source":{"type":"user","userId":"U1"},"message":{"id":"../x","type":"image","contentProvider":{"type":"line"}}}]}`,
		"bad external url": `{"events":[{"type":"message","webhookEventId":"01","source":{"type":"user","userId":"U1"},"message":{"id":"1","type":"image","contentProvider":{"type":"external","originalContentUrl":"file:///etc/passwd"}}}]}`,
		"no postback":      `{"events":[{"type":"postback","webhookEventId":"01","source":{"type":"user","userId":"U1"}}]}`,
		"long id":          `{"events":[{"type":"message","webhookEventId":"` + strings.Repeat("0", 200) + `","source":{"type":"user","userId":"U1"},"message":{"id":"1","type":"text","text":"x"}}]}`,
	} {
		_, err := e.a.Parse(webhook(testSecret, []byte(body)), []byte(body), e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: err = %v, want MalformedError", name, err)
		}
	}
}
