package xdm

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/xdm/fake"
)

// sample is CHANNELS.md §5's DM event, filled in the way X sends it: the
// photo's t.co link ends the text.
const sample = `{"for_user_id":"2244994945","direct_message_events":[{"type":"message_create","id":"1234858592","created_timestamp":"1392078023603",
 "message_create":{"target":{"recipient_id":"2244994945"},"sender_id":"3805104374","source_app_id":"268278",
  "message_data":{"text":"Blue Bird https://t.co/Jr4cZH3zSx","entities":{"hashtags":[],"symbols":[],"user_mentions":[],"urls":[]},
   "attachment":{"type":"media","media":{"id":1234858590,"id_str":"1234858590","media_url_https":"https://ton.twitter.com/1.1/ton/data/dm/1234858592/1234858590/abcDEF12.jpg","url":"https://t.co/Jr4cZH3zSx","type":"photo"}}}}}],
 "users":{"3805104374":{"id":"3805104374","screen_name":"furiouscamper","name":"Jordan Brinks"},"2244994945":{"id":"2244994945","screen_name":"TwitterDev","name":"Twitter Dev"}}}`

func parse(t *testing.T, e *env, body []byte) []channel.InboundEvent {
	t.Helper()
	evs, err := e.a.Parse(httptest.NewRequest("POST", "/webhooks/p", nil), body, e.poc)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return evs
}

func bearer() http.Header { return http.Header{"Authorization": {"Bearer " + testToken}} }

// TestParseSample: the documented payload, signed as X signs it, is
// authenticated and becomes the expected message.
func TestParseSample(t *testing.T) {
	e := newEnv(t)
	body := []byte(sample)
	r := httptest.NewRequest("POST", "/webhooks/p", nil)
	r.Header.Set(SignatureHeader, fake.Sign(testSecret, body))
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatal(err)
	}
	evs := parse(t, e, body)
	want := []channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: "1234858592", ThreadID: "3805104374", ThreadName: "Jordan Brinks",
		AuthorID: "3805104374", AuthorName: "Jordan Brinks", Text: "Blue Bird", SentAt: time.UnixMilli(1392078023603).UTC(),
		Attachments: []channel.InboundAttachment{{URL: "https://ton.twitter.com/1.1/ton/data/dm/1234858592/1234858590/abcDEF12.jpg", Header: bearer(), Name: "abcDEF12.jpg"}}}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got  %+v\nwant %+v", evs, want)
	}
}

func TestParseEvents(t *testing.T) {
	e := newEnv(t)
	msg := func(id string, c fake.Account, text string) channel.InboundEvent {
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: c.ID, ThreadName: c.Name, AuthorID: c.ID,
			AuthorName: c.Name, Text: text, SentAt: at}
	}
	with := func(ev channel.InboundEvent, f func(*channel.InboundEvent)) channel.InboundEvent { f(&ev); return ev }
	photoURL := e.fk.MediaURL("p1.jpg")
	cases := []struct {
		name  string
		items []fake.Item
		want  []channel.InboundEvent
	}{
		{"text", []fake.Item{fake.Text(ana, business, "101", "Where is my order?", at)}, []channel.InboundEvent{msg("101", ana, "Where is my order?")}},
		{"photo", []fake.Item{fake.Photo(ana, business, "102", "Look", photoURL, at)}, []channel.InboundEvent{with(msg("102", ana, "Look"), func(ev *channel.InboundEvent) {
			ev.Attachments = []channel.InboundAttachment{{URL: photoURL, Header: bearer(), Name: "p1.jpg"}}
		})}},
		{"photo alone", []fake.Item{fake.Photo(ana, business, "103", "", photoURL, at)}, []channel.InboundEvent{with(msg("103", ana, ""), func(ev *channel.InboundEvent) {
			ev.Attachments = []channel.InboundAttachment{{URL: photoURL, Header: bearer(), Name: "p1.jpg"}}
		})}},
		{"video: the MP4, not the thumbnail", []fake.Item{fake.Video(ana, business, "104", "clip", photoURL, "https://video.twimg.com/dm_video/104/vid/clip.mp4", at)},
			[]channel.InboundEvent{with(msg("104", ana, "clip"), func(ev *channel.InboundEvent) {
				ev.Attachments = []channel.InboundAttachment{{URL: "https://video.twimg.com/dm_video/104/vid/clip.mp4", Header: bearer(), MimeType: "video/mp4", Name: "clip.mp4"}}
			})}},
		{"our own DM echoed back is dropped", []fake.Item{fake.Echo(business, ana, "105", "Hello from us", at), fake.Text(bob, business, "106", "hey", at)},
			[]channel.InboundEvent{msg("106", bob, "hey")}},
		{"the customer's read mark is a read watermark", []fake.Item{fake.MarkRead(ana, business, "9001", at)},
			[]channel.InboundEvent{{Kind: channel.EventStatus, Status: "read", ThreadID: ana.ID, Watermark: at}}},
		{"the business reading is not a receipt", []fake.Item{fake.MarkRead(business, ana, "101", at)}, nil},
		{"typing, posts are skipped", []fake.Item{fake.Typing(ana, business, at), fake.Mention(ana, "555", "@parleydemo hi", at)}, nil},
		{"a batch, in order", []fake.Item{fake.Text(ana, business, "107", "one", at), fake.Text(bob, business, "108", "two", at), fake.MarkRead(bob, business, "x", at.Add(time.Second))},
			[]channel.InboundEvent{msg("107", ana, "one"), msg("108", bob, "two"), {Kind: channel.EventStatus, Status: "read", ThreadID: bob.ID, Watermark: at.Add(time.Second)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parse(t, e, fake.Payload(business, c.items...))
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	// A delivery for another account on the same webhook is not ours.
	other := fake.Account{ID: "999", ScreenName: "other", Name: "Other"}
	if got := parse(t, e, fake.Payload(other, fake.Text(ana, other, "201", "hi", at))); len(got) != 0 {
		t.Fatalf("other account: %+v", got)
	}
}

// TestInboundMediaNeedsToken: the attachment URL and header Parse gives
// download the file from the fake, which refuses it without the token.
func TestInboundMediaNeedsToken(t *testing.T) {
	e := newEnv(t)
	e.fk.AddMedia("p2.jpg", "image/jpeg", []byte("\xff\xd8\xff\xe0 a jpeg"))
	evs := parse(t, e, fake.Payload(business, fake.Photo(ana, business, "301", "", e.fk.MediaURL("p2.jpg"), at)))
	att := evs[0].Attachments[0]
	get := func(h http.Header) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, att.URL, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get(att.Header); status != 200 || body != "\xff\xd8\xff\xe0 a jpeg" {
		t.Fatalf("with the token: %d %q", status, body)
	}
	if status, _ := get(nil); status != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", status)
	}
}

func TestParseMalformed(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"not JSON":           `nope`,
		"an array":           `[]`,
		"no for_user_id":     `{"direct_message_events":[{"type":"message_create","id":"1"}]}`,
		"events not a list":  `{"for_user_id":"2244994945","direct_message_events":{}}`,
		"event not object":   `{"for_user_id":"2244994945","direct_message_events":[1]}`,
		"no event id":        `{"for_user_id":"2244994945","direct_message_events":[{"type":"message_create","message_create":{"sender_id":"1","message_data":{"text":"x"}}}]}`,
		"no sender":          `{"for_user_id":"2244994945","direct_message_events":[{"type":"message_create","id":"5","message_create":{"message_data":{"text":"x"}}}]}`,
		"text not a string":  `{"for_user_id":"2244994945","direct_message_events":[{"type":"message_create","id":"5","message_create":{"sender_id":"1","message_data":{"text":5}}}]}`,
		"sender not an id":   `{"for_user_id":"2244994945","direct_message_events":[{"type":"message_create","id":"5","message_create":{"sender_id":{},"message_data":{"text":"x"}}}]}`,
		"mark read not list": `{"for_user_id":"2244994945","direct_message_mark_read_events":"x"}`,
	} {
		_, err := e.a.Parse(httptest.NewRequest("POST", "/", nil), []byte(body), e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Deliveries with nothing for Parley are fine.
	for _, body := range []string{`{}`, `{"for_user_id":"2244994945","favorite_events":[{}]}`, `{"for_user_id":2244994945,"direct_message_events":[]}`} {
		if evs, err := e.a.Parse(httptest.NewRequest("POST", "/", nil), []byte(body), e.poc); err != nil || len(evs) != 0 {
			t.Errorf("%s: %v %v", body, evs, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add(fake.Payload(business, fake.Text(ana, business, "1", "hi", at), fake.Echo(business, ana, "2", "yo", at)))
	f.Add(fake.Payload(business, fake.Photo(ana, business, "3", "x", "https://ton.twitter.com/a.jpg", at), fake.MarkRead(ana, business, "3", at)))
	f.Add(fake.Payload(business, fake.Video(ana, business, "4", "v", "https://pbs.twimg.com/t.jpg", "https://video.twimg.com/v.mp4", at), fake.Typing(ana, business, at)))
	a := New(nil, nil)
	poc := &channel.PointOfContact{ID: "p", Type: Type, Settings: map[string]any{SettingUserID: business.ID}}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := a.Parse(httptest.NewRequest("POST", "/", nil), body, poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("not a MalformedError: %v", err)
			}
			return
		}
		for _, ev := range evs {
			switch ev.Kind {
			case channel.EventMessage:
				if ev.PlatformMessageID == "" || ev.ThreadID == "" || ev.ThreadID == business.ID || len(ev.PlatformMessageID) > MaxIDLength {
					t.Fatalf("bad message event %+v", ev)
				}
			case channel.EventStatus:
				if ev.Watermark.IsZero() || ev.ThreadID == "" {
					t.Fatalf("bad status event %+v", ev)
				}
			default:
				t.Fatalf("unknown kind %+v", ev)
			}
		}
	})
}
