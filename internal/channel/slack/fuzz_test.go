package slack_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/slack/fake"
)

// FuzzParse feeds arbitrary bodies, JSON or form, to Parse: it must never
// panic, only accept or refuse with a MalformedError, and every event it
// returns must carry the ids the core needs.
func FuzzParse(f *testing.F) {
	fk, err := fake.Start(fake.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	defer fk.Close()
	at := t0.Add(-time.Minute)
	photo := fk.AddFile("photo.png", "image/png", []byte(pngBytes))
	tap := fake.Tap{User: customer, UserName: "jane", TeamID: fake.DefaultTeamID, Channel: channelID, MessageTS: "1795510000.000100", ThreadTS: "1795500000.000001"}
	for _, seed := range [][]byte{
		[]byte(channelsSample),
		[]byte(slackGoBody),
		fake.URLVerification("challenge"),
		fk.Callback(fake.DirectMessage(dmChannel, customer, "Hello <https://x.example|x> &amp; <@U1|a>", at).WithProfile("Jane", "Jane Doe")),
		fk.Callback(fake.ChannelMessage(channelID, customer, "reply", at).InThread("1795500000.000001")),
		fk.Callback(fake.AppMention(channelID, customer, "<@"+botUserID+"> help", at)),
		fk.Callback(fk.WithFiles(fake.DirectMessage(dmChannel, customer, "look", at), photo)),
		fk.Callback(fake.MessageChanged(dmChannel, "im", customer, "1.000001", "x", at)),
		fake.BlockActions(tap, fake.ButtonAction("choice:a", "a", "A", at)),
		fake.BlockActions(tap, fake.SelectAction("choice", "b", "B", at)),
		fake.BlockActions(fake.Tap{User: customer, Channel: dmChannel, MessageTS: "1.2", State: fake.MultiSelectState("choices", fake.Option{Value: "x", Label: "X"})},
			fake.ButtonAction("submit", "submit", "Send", at)),
		[]byte("payload=" + url.QueryEscape(`{"type":"block_actions","user":{"id":"U1"},"container":{"channel_id":"D1","message_ts":"1.2"},"actions":[{"type":"datepicker","selected_date":"2026-01-01"}]}`)),
	} {
		f.Add(seed)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", ""} {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			evs, err := e.a.Parse(r, body, e.poc)
			if err != nil {
				var me *channel.MalformedError
				if !errors.As(err, &me) {
					t.Fatalf("%s: not a MalformedError: %v", ct, err)
				}
				continue
			}
			for _, ev := range evs {
				if ev.Kind != channel.EventMessage || ev.PlatformMessageID == "" || ev.ThreadID == "" || ev.AuthorID == "" {
					t.Fatalf("%s: incomplete event %+v", ct, ev)
				}
				if strings.ContainsAny(ev.ThreadID, "/ ") || len(ev.PlatformMessageID) > 512 {
					t.Fatalf("%s: odd ids %+v", ct, ev)
				}
				if ev.Text == "" && len(ev.Attachments) == 0 && ev.ChoiceID == "" {
					t.Fatalf("%s: empty event %+v", ct, ev)
				}
			}
		}
	})
}
