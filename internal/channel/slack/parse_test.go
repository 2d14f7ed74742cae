package slack_test

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
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/channel/slack/fake"
)

// channelsSample is CHANNELS.md §9's sample delivery, verbatim.
const channelsSample = `{"type":"event_callback","team_id":"T123","api_app_id":"A123","event_id":"Ev08MFMKH6","event_time":1355517523,
 "event":{"type":"message","channel":"D024BE91L","channel_type":"im","user":"U2147483697","text":"Hello","ts":"1355517523.000005"}}`

const pngBytes = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

func diff(t *testing.T, got, want []channel.InboundEvent) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("got %s\nwant %s", g, w)
	}
}

func TestParseEvents(t *testing.T) {
	e := newEnv(t)
	at := t0.Add(-time.Minute).Add(123456 * time.Microsecond)
	ts := fake.TS(at)
	root := fake.TS(t0.Add(-time.Hour))
	photo := e.fk.AddFile("photo.png", "image/png", []byte(pngBytes))
	bearer := http.Header{"Authorization": {"Bearer " + e.fk.Options().BotToken}}
	msg := func(id, thread, text string) channel.InboundEvent {
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: thread, AuthorID: customer, Text: text, SentAt: at}
	}
	with := func(ev channel.InboundEvent, f func(*channel.InboundEvent)) channel.InboundEvent { f(&ev); return ev }
	raw := func(event string) []byte {
		return []byte(`{"type":"event_callback","team_id":"T0FAKETEAM","event_id":"Ev1","event_time":1,"authorizations":[{"user_id":"` + botUserID + `","is_bot":true}],"event":` + event + `}`)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want []channel.InboundEvent
	}{
		{"CHANNELS.md sample: a DM", []byte(channelsSample), []channel.InboundEvent{{Kind: channel.EventMessage,
			PlatformMessageID: "D024BE91L:1355517523.000005", ThreadID: "D024BE91L", AuthorID: "U2147483697", Text: "Hello",
			SentAt: time.Unix(1355517523, 5000).UTC()}}},
		{"DM with the user's profile", e.fk.Callback(fake.DirectMessage(dmChannel, customer, "Where is my parcel?", at).WithProfile("Jane", "Jane Doe")),
			[]channel.InboundEvent{with(msg(dmChannel+":"+ts, dmChannel, "Where is my parcel?"), func(ev *channel.InboundEvent) { ev.AuthorName = "Jane" })}},
		{"DM reply in a thread stays the DM's thread", e.fk.Callback(fake.DirectMessage(dmChannel, customer, "and also", at).InThread(root)),
			[]channel.InboundEvent{msg(dmChannel+":"+ts, dmChannel, "and also")}},
		{"channel message opens a thread", e.fk.Callback(fake.ChannelMessage(channelID, customer, "My order is late", at)),
			[]channel.InboundEvent{msg(channelID+":"+ts, channelID+":"+ts, "My order is late")}},
		{"reply in a channel thread joins it", e.fk.Callback(fake.ChannelMessage(channelID, customer, "any news?", at).InThread(root)),
			[]channel.InboundEvent{msg(channelID+":"+ts, channelID+":"+root, "any news?")}},
		{"app_mention, the mention removed", e.fk.Callback(fake.AppMention(channelID, customer, "<@"+botUserID+"> can you help?", at)),
			[]channel.InboundEvent{msg(channelID+":"+ts, channelID+":"+ts, "can you help?")}},
		{"mention of someone else kept", e.fk.Callback(fake.AppMention(channelID, customer, "<@U0OTHER01|bob> and <@"+botUserID+">", at)),
			[]channel.InboundEvent{msg(channelID+":"+ts, channelID+":"+ts, "@bob and @"+botUserID)}},
		{"markup made readable", e.fk.Callback(fake.DirectMessage(dmChannel, customer,
			"Hi <!here>, see <https://shop.example/a?b=1&amp;c=2|the page> &lt;3 in <#C0GENERAL1|general>, <mailto:jane@example.com|jane@example.com> <https://x.example/>", at)),
			[]channel.InboundEvent{msg(dmChannel+":"+ts, dmChannel, "Hi @here, see the page (https://shop.example/a?b=1&c=2) <3 in #general, jane@example.com https://x.example/")}},
		{"file_share: the private URL with the bot token", e.fk.Callback(e.fk.WithFiles(fake.DirectMessage(dmChannel, customer, "look", at), photo)),
			[]channel.InboundEvent{with(msg(dmChannel+":"+ts, dmChannel, "look"), func(ev *channel.InboundEvent) {
				ev.Attachments = []channel.InboundAttachment{{URL: e.fk.FileURL(photo), Header: bearer, MimeType: "image/png", Name: "photo.png"}}
			})}},
		{"a Slack Connect file to look up (check_file_info)", raw(`{"type":"message","subtype":"file_share","channel":"` + channelID + `","channel_type":"channel","user":"` + customer + `","text":"","ts":"` + ts + `",
			"files":[{"id":"F0CONNECT1","name":"invoice.pdf","mimetype":"application/pdf","file_access":"check_file_info"}]}`),
			[]channel.InboundEvent{with(msg(channelID+":"+ts, channelID+":"+ts, ""), func(ev *channel.InboundEvent) {
				ev.Attachments = []channel.InboundAttachment{{MediaRef: "F0CONNECT1", MimeType: "application/pdf", Name: "invoice.pdf"}}
			})}},
		{"a download URL off Slack's hosts never gets the token", raw(`{"type":"message","subtype":"file_share","channel":"` + dmChannel + `","channel_type":"im","user":"` + customer + `","text":"x","ts":"` + ts + `",
			"files":[{"id":"F0ELSEWHERE","name":"a.png","mimetype":"image/png","url_private_download":"https://evil.example/a.png"}]}`),
			[]channel.InboundEvent{with(msg(dmChannel+":"+ts, dmChannel, "x"), func(ev *channel.InboundEvent) {
				ev.Attachments = []channel.InboundAttachment{{MediaRef: "F0ELSEWHERE", MimeType: "image/png", Name: "a.png"}}
			})}},
		{"an external file is a link; a deleted one is nothing", raw(`{"type":"message","subtype":"file_share","channel":"` + dmChannel + `","channel_type":"im","user":"` + customer + `","text":"docs","ts":"` + ts + `",
			"files":[{"id":"F0GDRIVE01","title":"Plan","is_external":true,"url_private":"https://docs.google.com/document/d/1"},{"id":"F0GONE0001","mode":"tombstone"}]}`),
			[]channel.InboundEvent{msg(dmChannel+":"+ts, dmChannel, "docs\nShared a file: Plan (https://docs.google.com/document/d/1)")}},
		{"the app's own message (authorizations)", e.fk.Callback(fake.DirectMessage(dmChannel, botUserID, "our reply", at)), nil},
		{"the app's own message (bot_id)", e.fk.Callback(fake.OwnMessage(dmChannel, "im", botUserID, fake.DefaultBotID, "our reply", at)), nil},
		{"another bot", e.fk.Callback(fake.BotMessage(channelID, "B0OTHERBOT", "deploy done", at)), nil},
		{"an edit", e.fk.Callback(fake.MessageChanged(dmChannel, "im", customer, root, "edited", at)), nil},
		{"a channel join", raw(`{"type":"message","subtype":"channel_join","channel":"` + channelID + `","user":"` + customer + `","text":"<@` + customer + `> has joined the channel","ts":"` + ts + `"}`), nil},
		{"a bare mention of the app", e.fk.Callback(fake.AppMention(channelID, customer, "<@"+botUserID+">", at)), nil},
		{"another event type", raw(`{"type":"reaction_added","user":"` + customer + `","reaction":"thumbsup","item":{"type":"message","channel":"C1","ts":"1.2"}}`), nil},
		{"url_verification reaching Parse", fake.URLVerification("abc"), nil},
		{"app_rate_limited", []byte(`{"token":"x","type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1"}`), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff(t, e.parse(t, tc.body), tc.want)
		})
	}

	// The attachment URL answers with the bot token, and only with it
	// (Slack's sign-in page otherwise).
	for _, tok := range []string{e.fk.Options().BotToken, ""} {
		req, _ := http.NewRequest(http.MethodGet, e.fk.FileURL(photo), nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if (tok != "") != (string(b) == pngBytes) {
			t.Errorf("download with token %q: %s %q", tok, resp.Header.Get("Content-Type"), b[:min(len(b), 40)])
		}
	}
}

func TestParseOwnUserSetting(t *testing.T) {
	e := newEnv(t)
	a := e.a
	poc := createPOC(t, a, map[string]any{slack.SettingAPIBaseURL: e.fk.URL(), slack.SettingBotUserID: "U0MYBOT001"},
		map[string]string{slack.CredentialBotToken: e.fk.Options().BotToken, slack.CredentialSigningSecret: e.fk.Options().SigningSecret})
	body := []byte(`{"type":"event_callback","event":{"type":"message","channel":"D1ABC","channel_type":"im","user":"U0MYBOT001","text":"ours","ts":"1.000001"}}`)
	evs, err := a.Parse(httptest.NewRequest("POST", "/", nil), body, poc)
	if err != nil || len(evs) != 0 {
		t.Fatalf("own user's message: %v %v", evs, err)
	}
	body = []byte(`{"type":"event_callback","event":{"type":"app_mention","channel":"C1ABC","user":"U0CUSTOMER","text":"<@U0MYBOT001> hi","ts":"1.000001"}}`)
	evs, err = a.Parse(httptest.NewRequest("POST", "/", nil), body, poc)
	if err != nil || len(evs) != 1 || evs[0].Text != "hi" {
		t.Fatalf("mention of the configured bot: %+v %v", evs, err)
	}
}

func TestParseRetriesKeepTheirIDs(t *testing.T) {
	e := newEnv(t)
	var got []channel.InboundEvent
	srv := httptest.NewServer(ingress(e, &got))
	defer srv.Close()
	body := e.fk.Callback(fake.ChannelMessage(channelID, customer, "hello?", t0))
	for n := 0; n <= 3; n++ {
		resp, err := fake.SendRetry(srv.URL, e.fk.Options().SigningSecret, body, t0, n, "http_timeout")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("retry %d: %d", n, resp.StatusCode)
		}
	}
	// The message event and the app_mention of the same message share it too.
	mention := e.fk.Callback(fake.AppMention(channelID, customer, "<@"+botUserID+"> hello?", t0))
	resp, err := fake.SendWebhookAt(srv.URL, e.fk.Options().SigningSecret, mention, t0)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got) != 5 {
		t.Fatalf("%d events", len(got))
	}
	for _, ev := range got {
		if ev.PlatformMessageID != got[0].PlatformMessageID || ev.ThreadID != got[0].ThreadID || ev.Text != "hello?" {
			t.Fatalf("retries differ: %+v vs %+v", ev, got[0])
		}
	}
}

func TestParseInteractions(t *testing.T) {
	e := newEnv(t)
	at := t0.Add(-30 * time.Second)
	msgTS, root := "1795510000.000100", "1795500000.000001"
	dm := fake.Tap{User: customer, UserName: "jane", TeamID: fake.DefaultTeamID, Channel: dmChannel, MessageTS: msgTS}
	inThread := fake.Tap{User: customer, UserName: "jane", TeamID: fake.DefaultTeamID, Channel: channelID, MessageTS: msgTS, ThreadTS: root}
	tap := func(thread, choice, text string) channel.InboundEvent {
		ch, _, _ := strings.Cut(thread, ":")
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: "act:" + ch + ":" + msgTS + ":" + fake.TS(at),
			ThreadID: thread, AuthorID: customer, AuthorName: "jane", Text: text, ChoiceID: choice, SentAt: at}
	}
	multi := dm
	multi.State = fake.MultiSelectState("choices", fake.Option{Value: "red", Label: "Red"}, fake.Option{Value: "blue", Label: "Blue"})
	for _, tc := range []struct {
		name string
		body []byte
		want []channel.InboundEvent
	}{
		{"button in a DM", fake.BlockActions(dm, fake.ButtonAction("choice:RED", "RED", "Red", at)), []channel.InboundEvent{tap(dmChannel, "RED", "Red")}},
		{"button in a channel thread", fake.BlockActions(inThread, fake.ButtonAction("choice:slot-1", "slot-1", "Monday 24 Nov, 09:00–09:30", at)),
			[]channel.InboundEvent{tap(channelID+":"+root, "slot-1", "Monday 24 Nov, 09:00–09:30")}},
		{"button without a value: its action_id", fake.BlockActions(dm, fake.ButtonAction("choice:yes", "", "Yes", at)), []channel.InboundEvent{tap(dmChannel, "yes", "Yes")}},
		{"static select", fake.BlockActions(dm, fake.SelectAction("choice", "sku-42", "Blue sneakers", at)), []channel.InboundEvent{tap(dmChannel, "sku-42", "Blue sneakers")}},
		{"multi-select sent with its Send button", fake.BlockActions(multi, fake.ButtonAction("submit", "submit", "Send", at)), []channel.InboundEvent{tap(dmChannel, "red,blue", "Red, Blue")}},
		{"a change in the multi-select waits for Send", fake.BlockActions(dm, fake.Action{"type": "multi_static_select", "action_id": "choices",
			"selected_options": []any{map[string]any{"value": "red", "text": map[string]any{"type": "plain_text", "text": "Red"}}}, "action_ts": fake.TS(at)}), nil},
		{"datepicker", fake.BlockActions(dm, fake.DatePickerAction("date", "2026-11-30", at)), []channel.InboundEvent{tap(dmChannel, "", "2026-11-30")}},
		{"timepicker", fake.BlockActions(dm, fake.TimePickerAction("time", "14:30", at)), []channel.InboundEvent{tap(dmChannel, "", "14:30")}},
		{"a link button answers nothing", fake.BlockActions(dm, fake.ButtonAction("link:0", "", "Open", at)), nil},
		{"a cleared menu answers nothing", fake.BlockActions(dm, fake.Action{"type": "static_select", "action_id": "choice", "selected_option": nil, "action_ts": fake.TS(at)}), nil},
		{"a modal submission is no conversation", []byte(url.Values{"payload": {`{"type":"view_submission","user":{"id":"` + customer + `"},"view":{}}`}}.Encode()), nil},
		{"a tap in the App Home is no conversation", []byte(url.Values{"payload": {`{"type":"block_actions","user":{"id":"` + customer + `"},"container":{"type":"view","view_id":"V1"},"actions":[{"type":"button","action_id":"choice:a","value":"a","action_ts":"1.2"}]}`}}.Encode()), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diff(t, e.parse(t, tc.body), tc.want)
		})
	}
}

func TestParseMalformed(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"not JSON":                `{"type":`,
		"not an object":           `["event_callback"]`,
		"event not an object":     `{"type":"event_callback","event":"hello"}`,
		"text not a string":       `{"type":"event_callback","event":{"type":"message","channel":"D1AB","user":"U1AB","text":5,"ts":"1.000001"}}`,
		"message without ts":      `{"type":"event_callback","event":{"type":"message","channel":"D1AB","user":"U1AB","text":"x"}}`,
		"message without channel": `{"type":"event_callback","event":{"type":"message","user":"U1AB","text":"x","ts":"1.000001"}}`,
		"bad channel id":          `{"type":"event_callback","event":{"type":"message","channel":"D1/../x","user":"U1AB","text":"x","ts":"1.000001"}}`,
		"bad ts":                  `{"type":"event_callback","event":{"type":"message","channel":"D1AB","user":"U1AB","text":"x","ts":"yesterday"}}`,
		"bad thread_ts":           `{"type":"event_callback","event":{"type":"message","channel":"C1AB","user":"U1AB","text":"x","ts":"1.000001","thread_ts":"x"}}`,
		"form without payload":    `token=x&team_id=T1`,
		"payload not JSON":        url.Values{"payload": {"{nope"}}.Encode(),
		"payload not an object":   url.Values{"payload": {"[1]"}}.Encode(),
		"tap without user":        url.Values{"payload": {`{"type":"block_actions","container":{"channel_id":"D1AB","message_ts":"1.2"},"actions":[]}`}}.Encode(),
		"tap without message ts":  url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1AB"},"container":{"channel_id":"D1AB"},"actions":[]}`}}.Encode(),
		"neither JSON nor a form": `hello`,
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		if strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") || body == "hello" {
			r.Header.Set("Content-Type", "application/json")
		} else {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		_, err := e.a.Parse(r, []byte(body), e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: got %v, want MalformedError", name, err)
		}
	}
}
