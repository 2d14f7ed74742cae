package gbm

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/gbm/fake"
)

// sample is the documented message delivery (CHANNELS.md §12, the
// Business Messages receive guide).
const sample = `{"agent":"brands/b0a1c2d3-parley-demo/agents/a9b8c7d6-parley-demo","conversationId":"7c6f1e1a-3b57-4a39-9a8e-0c1d2e3f4a5b",
 "customAgentId":"","requestId":"4f2a9d1e-8b7c-4d3e-a1b2-c3d4e5f6a7b8",
 "message":{"messageId":"3a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d","name":"conversations/7c6f1e1a-3b57-4a39-9a8e-0c1d2e3f4a5b/messages/3a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
  "text":"Are you open on Sunday?","createTime":"2026-11-24T09:00:00.123456789Z"},
 "context":{"entryPoint":"PLACESHEET","placeId":"ChIJN1t_tDeuEmsRUsoyG83frY4","userInfo":{"displayName":"Ana Lima","userDeviceLocale":"en-US"},"resolvedLocale":"en"},
 "sendTime":"2026-11-24T09:00:01.045123456Z"}`

func parse(t *testing.T, e *env, body []byte) []channel.InboundEvent {
	t.Helper()
	evs, err := e.a.Parse(httptest.NewRequest("POST", "/webhooks/p", nil), body, e.poc)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return evs
}

// TestParseSample: the documented delivery, signed as the platform signs
// it, is authenticated and becomes the expected message.
func TestParseSample(t *testing.T) {
	e := newEnv(t)
	body := []byte(sample)
	r := httptest.NewRequest("POST", "/webhooks/p", nil)
	r.Header.Set(SignatureHeader, fake.Sign(testClientToken, body))
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatal(err)
	}
	want := []channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: "3a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
		ThreadID: ana.ConversationID, ThreadName: "Ana Lima", AuthorID: ana.ConversationID, AuthorName: "Ana Lima",
		Text: "Are you open on Sunday?", SentAt: time.Date(2026, 11, 24, 9, 0, 0, 123456789, time.UTC)}}
	if got := parse(t, e, body); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseEvents(t *testing.T) {
	e := newEnv(t)
	msg := func(id string, c fake.Customer) channel.InboundEvent {
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: c.ConversationID, ThreadName: c.DisplayName,
			AuthorID: c.ConversationID, AuthorName: c.DisplayName, SentAt: at}
	}
	with := func(ev channel.InboundEvent, f func(*channel.InboundEvent)) channel.InboundEvent { f(&ev); return ev }
	img := e.fk.MediaURL("photo-1.jpg")
	cases := []struct {
		name string
		c    fake.Customer
		ev   fake.Event
		want []channel.InboundEvent
	}{
		{"text", ana, fake.Text(ana, "m1", "Hello", at), []channel.InboundEvent{with(msg("m1", ana), func(e *channel.InboundEvent) { e.Text = "Hello" })}},
		{"image", bob, fake.Image(bob, "m2", img, at), []channel.InboundEvent{with(msg("m2", bob), func(e *channel.InboundEvent) {
			e.Attachments = []channel.InboundAttachment{{URL: img, Name: "photo-1.jpg"}}
		})}},
		{"a tapped suggested reply is a choice", ana, fake.Tap(ana, "req-9", "parley-msg-1", "size_m", "Medium", at),
			[]channel.InboundEvent{with(msg("req-9", ana), func(e *channel.InboundEvent) {
				e.ChoiceID, e.Text, e.ReplyToPlatformID = "size_m", "Medium", "parley-msg-1"
			})}},
		{"a tapped action is not an answer", ana, fake.Action(ana, "req-10", "parley-msg-1", "open_url", "Open", at), nil},
		{"delivered", ana, fake.Receipts(ana, "DELIVERED", at, "parley-msg-1", "parley-msg-2"), []channel.InboundEvent{
			{Kind: channel.EventStatus, StatusMessageID: "parley-msg-1", Status: "delivered", ThreadID: ana.ConversationID},
			{Kind: channel.EventStatus, StatusMessageID: "parley-msg-2", Status: "delivered", ThreadID: ana.ConversationID}}},
		{"read, of a later part of a split send", ana, fake.Receipts(ana, "READ", at, "parley-msg-3.part2"), []channel.InboundEvent{
			{Kind: channel.EventStatus, StatusMessageID: "parley-msg-3", Status: "read", ThreadID: ana.ConversationID}}},
		{"typing is skipped", ana, fake.Typing(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := parse(t, e, fake.Payload(e.fk.Agent(), c.c, c.ev, at)); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	// A message with nothing Parley can show is kept, named.
	if got := parse(t, e, []byte(`{"conversationId":"c1","message":{"messageId":"m5","createTime":"2026-11-24T09:00:00Z"}}`)); len(got) != 1 || got[0].Text != "[unsupported message]" {
		t.Fatalf("empty message: %+v", got)
	}
	// Another agent of the same partner webhook: not ours.
	if got := parse(t, e, fake.Payload("brands/x/agents/other", ana, fake.Text(ana, "m3", "hi", at), at)); len(got) != 0 {
		t.Fatalf("other agent: %+v", got)
	}
	// A tap without a requestId is still identified the same way each time
	// (redeliveries deduplicate).
	raw := `{"conversationId":"` + ana.ConversationID + `","suggestionResponse":{"message":"conversations/c/messages/x","postbackData":"yes","text":"Yes","createTime":"2026-11-24T09:00:00Z"}}`
	a, b := parse(t, e, []byte(raw)), parse(t, e, []byte(raw))
	if len(a) != 1 || a[0].PlatformMessageID == "" || a[0].PlatformMessageID != b[0].PlatformMessageID || a[0].ChoiceID != "yes" {
		t.Fatalf("%+v %+v", a, b)
	}
}

func TestParseMalformed(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"not JSON":          `nope`,
		"an array":          `[]`,
		"no conversation":   `{"message":{"messageId":"m","text":"x"}}`,
		"bad conversation":  `{"conversationId":"../x","message":{"messageId":"m","text":"x"}}`,
		"no message id":     `{"conversationId":"c1","message":{"text":"x"}}`,
		"text not a string": `{"conversationId":"c1","message":{"messageId":"m","text":5}}`,
		"image without URL": `{"conversationId":"c1","message":{"messageId":"m","image":{"contentInfo":{}}}}`,
		"receipts not list": `{"conversationId":"c1","receipts":{"receipts":"x"}}`,
	} {
		_, err := e.a.Parse(httptest.NewRequest("POST", "/", nil), []byte(body), e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, body := range []string{`{}`, string(fake.Verification("s", "t")), `{"conversationId":"c1","userStatus":{"isTyping":true}}`,
		`{"conversationId":"c1","surveyResponse":{"questionResponseText":"Yes"}}`, `{"conversationId":"c1","suggestionResponse":{"type":"REPLY"}}`} {
		if evs, err := e.a.Parse(httptest.NewRequest("POST", "/", nil), []byte(body), e.poc); err != nil || len(evs) != 0 {
			t.Errorf("%s: %v %v", body, evs, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	agent := "brands/" + fake.DefaultBrandID + "/agents/" + fake.DefaultAgentID
	f.Add([]byte(sample))
	f.Add(fake.Payload(agent, ana, fake.Image(ana, "m2", "https://storage.googleapis.com/x.jpg", at), at))
	f.Add(fake.Payload(agent, ana, fake.Tap(ana, "r1", "m1", "yes", "Yes", at), at))
	f.Add(fake.Payload(agent, ana, fake.Receipts(ana, "READ", at, "a", "b.part2"), at))
	f.Add(fake.Verification("s", "t"))
	a := New(nil, nil)
	poc := &channel.PointOfContact{ID: "p", Type: Type, Settings: map[string]any{SettingAgentID: fake.DefaultAgentID}}
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
			if ev.ThreadID == "" || !conversationID.MatchString(ev.ThreadID) {
				t.Fatalf("bad thread %+v", ev)
			}
			switch ev.Kind {
			case channel.EventMessage:
				if ev.PlatformMessageID == "" || len(ev.PlatformMessageID) > MaxIDLength {
					t.Fatalf("bad message %+v", ev)
				}
			case channel.EventStatus:
				if ev.StatusMessageID == "" || (ev.Status != "read" && ev.Status != "delivered") {
					t.Fatalf("bad receipt %+v", ev)
				}
			default:
				t.Fatalf("unknown kind %+v", ev)
			}
		}
	})
}
