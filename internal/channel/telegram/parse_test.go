package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/telegram/fake"
	"github.com/parleyhq/parley/internal/content"
)

// TestSampleUpdate: CHANNELS.md's sample parses into the documented
// identity, and the same update redelivered gives the same dedupe key.
func TestSampleUpdate(t *testing.T) {
	e := newEnv(t)
	ev := e.parseOne(t, []byte(sample))
	want := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: "1111111:1365", ThreadID: "1111111", ThreadName: "Ana",
		AuthorID: "1111111", AuthorName: "Ana", Text: "Hi", SentAt: time.Unix(1441645532, 0).UTC()}
	if ev.Kind != want.Kind || ev.PlatformMessageID != want.PlatformMessageID || ev.ThreadID != want.ThreadID || ev.ThreadName != want.ThreadName ||
		ev.AuthorID != want.AuthorID || ev.AuthorName != want.AuthorName || ev.Text != want.Text || !ev.SentAt.Equal(want.SentAt) ||
		ev.ChoiceID != "" || len(ev.Attachments) != 0 || ev.ReplyToPlatformID != "" {
		t.Fatalf("got %+v\nwant %+v", ev, want)
	}
	// Telegram's retry of the same update carries the same update: the
	// key does not depend on anything but the message's identity.
	again := e.parseOne(t, []byte(strings.Replace(sample, `"update_id":10000`, `"update_id":10000 `, 1)))
	if again.PlatformMessageID != ev.PlatformMessageID {
		t.Fatalf("redelivery id %q, first %q", again.PlatformMessageID, ev.PlatformMessageID)
	}
	// The fake builds the same shape.
	built := e.parseOne(t, fake.Payload(10000, fake.Text(ana, 1365, "Hi", time.Unix(1441645532, 0))))
	if built.PlatformMessageID != ev.PlatformMessageID || built.Text != "Hi" || built.AuthorName != "Ana" {
		t.Fatalf("fake's text update: %+v", built)
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	body := []byte(sample)
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{
		{"right secret", e.secret, true},
		{"wrong secret", e.secret + "x", false},
		{"other secret of the same length", strings.Repeat("A", len(e.secret)), false},
		{"missing header", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.a.Authenticate(webhookRequest(body, tc.secret), body, e.poc)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, channel.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
		})
	}
	// A point of contact without a secret authenticates nothing.
	var none channel.PointOfContact
	if err := e.a.Authenticate(webhookRequest(body, ""), body, &none); !errors.Is(err, channel.ErrUnauthenticated) {
		t.Fatalf("no secret: %v", err)
	}
	// The core answers a failure 401 (Telegram retries any non-2xx): the
	// adapter does not ask for another status.
	if _, ok := any(e.a).(interface{ AuthFailureStatus() int }); ok {
		t.Fatal("the adapter overrides the 401")
	}
	// Through a webhook endpoint: a wrong secret is answered 401.
	in := e.ingress(t)
	resp, err := fake.SendWebhook(in.URL, "wrong", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(in.events) != 0 {
		t.Fatalf("wrong secret: HTTP %d, %d events", resp.StatusCode, len(in.events))
	}
}

func TestPhotoUpdate(t *testing.T) {
	e := newEnv(t)
	jpeg := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte("p"), 2000)...)
	sizes := e.fk.AddPhoto(jpeg)
	ev := e.parseOne(t, fake.Payload(10001, fake.Photo(ana, 1366, sizes, "My order arrived broken", t0)))
	if ev.PlatformMessageID != "1111111:1366" || ev.Text != "My order arrived broken" || len(ev.Attachments) != 1 {
		t.Fatalf("%+v", ev)
	}
	att := ev.Attachments[0]
	if att.MediaRef != sizes[2].FileID || att.MimeType != "image/jpeg" || att.URL != "" || !strings.HasSuffix(att.Name, ".jpg") {
		t.Fatalf("not the largest size: %+v (sizes %+v)", att, sizes)
	}
	body, mt, err := e.a.FetchMedia(context.Background(), e.poc, att.MediaRef)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	if !bytes.Equal(got, jpeg) || mt != "image/jpeg" {
		t.Fatalf("downloaded %d bytes of %s", len(got), mt)
	}
	// getFile, then the download with the token in the path.
	var methods []string
	for _, r := range e.fk.Requests() {
		methods = append(methods, r.Method)
	}
	if strings.Join(methods, ",") != "getFile,file" {
		t.Fatalf("requests %v", methods)
	}
	// The largest size is found whatever the order.
	reordered := []fake.File{sizes[2], sizes[0], sizes[1]}
	if ev := e.parseOne(t, fake.Payload(10002, fake.Photo(ana, 1367, reordered, "", t0))); ev.Attachments[0].MediaRef != sizes[2].FileID || ev.Text != "" {
		t.Fatalf("%+v", ev)
	}
}

func TestDocumentUpdate(t *testing.T) {
	e := newEnv(t)
	pdf := []byte("%PDF-1.7\n% a small invoice\n")
	f := e.fk.AddFile("invoice-2026-11.pdf", "application/pdf", pdf, 0)
	ev := e.parseOne(t, fake.Payload(10003, fake.Document(ana, 1368, f, "Here is the invoice", t0)))
	want := channel.InboundAttachment{MediaRef: f.FileID, MimeType: "application/pdf", Name: "invoice-2026-11.pdf"}
	if ev.Text != "Here is the invoice" || len(ev.Attachments) != 1 || ev.Attachments[0].MediaRef != want.MediaRef ||
		ev.Attachments[0].MimeType != want.MimeType || ev.Attachments[0].Name != want.Name {
		t.Fatalf("%+v", ev)
	}
	body, mt, err := e.a.FetchMedia(context.Background(), e.poc, f.FileID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, pdf) || mt != "application/pdf" {
		t.Fatalf("downloaded %q as %s", got, mt)
	}
	// Over 20 MB, Telegram will not serve it: the text says so, and no
	// download is asked for (it would fail the webhook again and again).
	big := e.fk.AddFile("video-call.mp4", "video/mp4", []byte("x"), 25<<20)
	ev = e.parseOne(t, fake.Payload(10004, fake.Document(ana, 1369, big, "", t0)))
	if len(ev.Attachments) != 0 || !strings.Contains(ev.Text, "video-call.mp4 (25 MB) is too large") {
		t.Fatalf("%+v", ev)
	}
	if _, _, err := e.a.FetchMedia(context.Background(), e.poc, big.FileID); err == nil || !strings.Contains(err.Error(), "file is too big") {
		t.Fatalf("fetch of a big file: %v", err)
	}
	if _, _, err := e.a.FetchMedia(context.Background(), e.poc, "no-such-file"); err == nil || !strings.Contains(err.Error(), "invalid file_id") {
		t.Fatalf("fetch of an unknown file: %v", err)
	}
	if _, _, err := e.a.FetchMedia(context.Background(), e.poc, "../../etc"); err == nil {
		t.Fatal("a file id with a path was accepted")
	}
}

// TestCallbackQuery: a tap on a button Parley sent comes back as the
// option id with the label the customer saw, and is answered in the
// webhook reply once stored.
func TestCallbackQuery(t *testing.T) {
	e := newEnv(t)
	e.fk.AddChat(ana)
	c := content.Content{Type: content.TypeQuickReplies, Text: "Did that solve it?",
		Options: []content.Option{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}, {ID: "agent", Label: "Talk to a person"}}}
	res, err := e.a.Send(context.Background(), e.poc, outbound(t, e.a, c))
	if err != nil {
		t.Fatal(err)
	}
	in := e.ingress(t)
	if err := e.a.RegisterWebhook(context.Background(), e.poc, in.URL); err != nil {
		t.Fatal(err)
	}
	tap := e.fk.Tap(ana, "agent")
	resp, err := e.fk.Deliver(tap)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, reply)
	}
	ev := <-in.events
	id := tap["callback_query"].(map[string]any)["id"].(string)
	if ev.PlatformMessageID != "cbq:"+id || ev.ChoiceID != "agent" || ev.Text != "Talk to a person" || ev.ThreadID != "1111111" ||
		ev.AuthorID != "1111111" || ev.AuthorName != "Ana" || ev.ReplyToPlatformID != res.PlatformMessageID || !ev.SentAt.Equal(t0) {
		t.Fatalf("%+v (sent %s)", ev, res.PlatformMessageID)
	}
	// The reply body is the answer, which the platform executed.
	var body map[string]string
	if err := json.Unmarshal(reply, &body); err != nil || body["method"] != "answerCallbackQuery" || body["callback_query_id"] != id {
		t.Fatalf("webhook reply %s", reply)
	}
	if got := e.fk.AnsweredCallbacks(); len(got) != 1 || got[0] != id {
		t.Fatalf("answered %v", got)
	}
	// A tap the fake knows no message for (an inaccessible message): the
	// data stands in for the label.
	raw := fake.Payload(10010, fake.Callback(ana, "4382bfdwdsb323b2d9", "no", json.RawMessage(`{"chat":{"id":1111111,"type":"private"},"message_id":1,"date":0}`)))
	ev = e.parseOne(t, raw)
	if ev.ChoiceID != "no" || ev.Text != "no" || ev.PlatformMessageID != "cbq:4382bfdwdsb323b2d9" || ev.ReplyToPlatformID != "1111111:1" {
		t.Fatalf("%+v", ev)
	}
	// Without any message (inline mode), the thread is the person's chat.
	ev = e.parseOne(t, fake.Payload(10011, fake.Callback(ana, "77", "yes", nil)))
	if ev.ThreadID != "1111111" || ev.ReplyToPlatformID != "" || ev.Text != "yes" {
		t.Fatalf("%+v", ev)
	}
	// A game's button (no data): nothing to ingest.
	evs, err := e.a.Parse(nil, []byte(`{"update_id":1,"callback_query":{"id":"9","from":{"id":1,"is_bot":false,"first_name":"A"},"chat_instance":"1","game_short_name":"g"}}`), e.poc)
	if err != nil || len(evs) != 0 {
		t.Fatalf("game callback: %v %+v", err, evs)
	}
}

func TestRespond(t *testing.T) {
	a := New(nil, clock)
	w := httptest.NewRecorder()
	a.Respond(w, nil, []channel.IngestResult{{Event: &channel.InboundEvent{PlatformMessageID: "1111111:5"}}})
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"accepted":1}` || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	a.Respond(w, nil, []channel.IngestResult{{Event: &channel.InboundEvent{PlatformMessageID: "cbq:123"}, Duplicate: true}})
	if strings.TrimSpace(w.Body.String()) != `{"callback_query_id":"123","method":"answerCallbackQuery"}` {
		t.Fatalf("%s", w.Body)
	}
}

func TestMessageKinds(t *testing.T) {
	a, poc := New(nil, clock), &channel.PointOfContact{}
	cases := []struct {
		name, body string
		events     int
		check      func(ev channel.InboundEvent) bool
	}{
		{"quoted reply", `{"update_id":1,"message":{"message_id":20,"from":{"id":1111111,"is_bot":false,"first_name":"Ana","last_name":"Lopez"},"chat":{"id":1111111,"type":"private","first_name":"Ana","last_name":"Lopez"},"date":1441645600,"text":"this one","reply_to_message":{"message_id":19,"chat":{"id":1111111,"type":"private"},"date":1441645500,"text":"Which?"}}}`,
			1, func(ev channel.InboundEvent) bool {
				return ev.ReplyToPlatformID == "1111111:19" && ev.AuthorName == "Ana Lopez" && ev.Text == "this one"
			}},
		{"edited message", string(fake.Payload(2, fake.Edited(ana, 1365, "Hi again", time.Unix(1441645532, 0), time.Unix(1441645600, 0)))),
			1, func(ev channel.InboundEvent) bool {
				return ev.PlatformMessageID == "1111111:1365:edit:1441645600" && ev.ReplyToPlatformID == "1111111:1365" &&
					ev.Text == "[edited] Hi again" && ev.SentAt.Equal(time.Unix(1441645600, 0))
			}},
		{"group message", `{"update_id":3,"message":{"message_id":7,"from":{"id":42,"is_bot":false,"first_name":"Bo"},"chat":{"id":-1001234567890,"type":"supergroup","title":"Shop support"},"date":1441645532,"text":"hello"}}`,
			1, func(ev channel.InboundEvent) bool {
				return ev.ThreadID == "-1001234567890" && ev.AuthorID == "42" && ev.ThreadName == "Shop support" && ev.PlatformMessageID == "-1001234567890:7"
			}},
		{"location", `{"update_id":4,"message":{"message_id":8,"from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"chat":{"id":1111111,"type":"private"},"date":1441645532,"location":{"latitude":48.8584,"longitude":2.2945}}}`,
			1, func(ev channel.InboundEvent) bool {
				return ev.Text == "📍 (48.8584, 2.2945)" && len(ev.Content) > 0
			}},
		{"sticker", `{"update_id":5,"message":{"message_id":9,"from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"chat":{"id":1111111,"type":"private"},"date":1441645532,"sticker":{"file_id":"CAACAgIAAxkBAAIB","file_unique_id":"AgADx","width":512,"height":512,"is_animated":false,"is_video":false,"emoji":"👍","type":"regular"}}}`,
			1, func(ev channel.InboundEvent) bool {
				return ev.Text == "👍" && len(ev.Attachments) == 1 && ev.Attachments[0].MimeType == "image/webp"
			}},
		{"voice", `{"update_id":6,"message":{"message_id":10,"from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"chat":{"id":1111111,"type":"private"},"date":1441645532,"voice":{"file_id":"AwACAgQAAxkBAAIC","file_unique_id":"AgADy","duration":3,"mime_type":"audio/ogg","file_size":5000}}}`,
			1, func(ev channel.InboundEvent) bool {
				return len(ev.Attachments) == 1 && ev.Attachments[0].MimeType == "audio/ogg" && ev.Text == ""
			}},
		{"poll", `{"update_id":7,"message":{"message_id":11,"from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"chat":{"id":1111111,"type":"private"},"date":1441645532,"poll":{"id":"1","question":"?"}}}`,
			1, func(ev channel.InboundEvent) bool { return ev.Text == "[unsupported message type poll]" }},
		{"a bot's message", `{"update_id":8,"message":{"message_id":12,"from":{"id":123456789,"is_bot":true,"first_name":"Parley"},"chat":{"id":-100,"type":"group","title":"g"},"date":1441645532,"text":"echo"}}`, 0, nil},
		{"a service message", `{"update_id":9,"message":{"message_id":13,"from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"chat":{"id":1111111,"type":"private"},"date":1441645532,"pinned_message":{"message_id":1,"chat":{"id":1111111,"type":"private"},"date":1}}}`, 0, nil},
		{"a channel post", `{"update_id":10,"channel_post":{"message_id":1,"chat":{"id":-1009,"type":"channel","title":"News"},"date":1441645532,"text":"hi"}}`, 0, nil},
		{"my_chat_member", `{"update_id":11,"my_chat_member":{"chat":{"id":1111111,"type":"private"},"from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"date":1,"old_chat_member":{"status":"member"},"new_chat_member":{"status":"kicked"}}}`, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := a.Parse(nil, []byte(tc.body), poc)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tc.events {
				t.Fatalf("%d events, want %d: %+v", len(evs), tc.events, evs)
			}
			if tc.check != nil && !tc.check(evs[0]) {
				t.Fatalf("%+v", evs[0])
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	a, poc := New(nil, clock), &channel.PointOfContact{}
	for _, body := range []string{``, `[]`, `{"update_id":"x"}`, `{"message":{"message_id":1,"chat":{"id":0},"text":"x"}}`,
		`{"message":{"message_id":0,"chat":{"id":5},"text":"x"}}`, `{"callback_query":{"id":"","from":{"id":1}}}`, `{"message":{"chat":{"id":"nan"}}}`} {
		_, err := a.Parse(nil, []byte(body), poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: got %v, want a MalformedError", body, err)
		}
	}
}
