package teams_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/teams/fake"
)

func TestParse(t *testing.T) {
	e := newEnv(t)
	conv := fake.ConversationID(megan.ID)
	su := e.fk.ServiceURL()
	pid := func(id string) string { return id + "|" + conv + "|" + su }
	msg := func(id, text string) channel.InboundEvent {
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: pid(id), ThreadID: conv, AuthorID: megan.ID, AuthorName: megan.Name, SentAt: t0, Text: text}
	}
	with := func(ev channel.InboundEvent, f func(*channel.InboundEvent)) channel.InboundEvent { f(&ev); return ev }

	mention := e.fk.Text(megan, "1010", "<at>Parley</at> where is my order?", t0)
	mention["entities"] = []any{map[string]any{"type": "mention", "text": "<at>Parley</at>",
		"mentioned": map[string]any{"id": "28:" + e.fk.Options().AppID, "name": "Parley"}}}
	elsewhere := e.fk.Text(megan, "1011", "look", t0)
	elsewhere["attachments"] = []any{map[string]any{"contentType": "image/png", "contentUrl": "https://cdn.example.com/cat.png", "name": "cat.png"}}
	messageBack := e.fk.Text(megan, "1012", "Red", t0)
	messageBack["value"] = `{"parley_choice":"RED"}`
	bot := e.fk.Text(megan, "1013", "echo", t0)
	bot["from"] = map[string]any{"id": "28:" + e.fk.Options().AppID, "name": "Parley", "role": "bot"}
	emptyValue := e.fk.SubmitValue(megan, "1014", map[string]any{}, t0)
	htmlOnly := e.fk.Activity("message", megan, "1015", t0)
	htmlOnly["attachments"] = []any{map[string]any{"contentType": "text/html", "content": "<p></p>"}}
	typing := e.fk.Activity("typing", megan, "1016", t0)
	invoke := e.fk.Activity("invoke", megan, "1017", t0)
	invoke["name"] = "adaptiveCard/action"

	for _, tc := range []struct {
		name string
		act  fake.Activity
		want []channel.InboundEvent
	}{
		{"text", e.fk.Text(megan, "1001", "Hello", t0), []channel.InboundEvent{msg("1001", "Hello")}},
		{"bot mention stripped", mention, []channel.InboundEvent{msg("1010", "where is my order?")}},
		{"pasted image: fetched with the bot's token", e.fk.Image(megan, "1002", "my screen", "shot.png", t0),
			[]channel.InboundEvent{with(msg("1002", "my screen"), func(ev *channel.InboundEvent) {
				ev.Attachments = []channel.InboundAttachment{{MediaRef: e.fk.AttachmentURL("shot.png")}}
			})}},
		{"image elsewhere: fetched without a token", elsewhere, []channel.InboundEvent{with(msg("1011", "look"), func(ev *channel.InboundEvent) {
			ev.Attachments = []channel.InboundAttachment{{URL: "https://cdn.example.com/cat.png", MimeType: "image/png", Name: "cat.png"}}
		})}},
		{"shared file: its download link", e.fk.File(megan, "1003", "invoice.pdf", t0), []channel.InboundEvent{with(msg("1003", ""), func(ev *channel.InboundEvent) {
			ev.Attachments = []channel.InboundAttachment{{URL: e.fk.FileURL("invoice.pdf"), Name: "invoice.pdf"}}
		})}},
		{"card button", e.fk.Submit(megan, "1004", "GREEN", "Green", t0), []channel.InboundEvent{with(msg("1004", "Green"), func(ev *channel.InboundEvent) { ev.ChoiceID = "GREEN" })}},
		{"choice list, several", e.fk.SubmitValue(megan, "1005", map[string]any{"parley_choice": "a,c", "parley_labels": map[string]any{"a": "Apples", "b": "Pears", "c": "Cherries"}}, t0),
			[]channel.InboundEvent{with(msg("1005", "Apples, Cherries"), func(ev *channel.InboundEvent) { ev.ChoiceID = "a,c" })}},
		{"messageBack value as a string", messageBack, []channel.InboundEvent{with(msg("1012", "Red"), func(ev *channel.InboundEvent) { ev.ChoiceID = "RED" })}},
		{"another card's submit: its values as text", e.fk.SubmitValue(megan, "1006", map[string]any{"email": "megan@contoso.com", "size": 42}, t0),
			[]channel.InboundEvent{msg("1006", `{"email":"megan@contoso.com","size":42}`)}},
		{"a choice id that is no id is not a choice", e.fk.SubmitValue(megan, "1007", map[string]any{"parley_choice": "a b"}, t0),
			[]channel.InboundEvent{msg("1007", `{"parley_choice":"a b"}`)}},
		{"reaction", e.fk.Reaction(megan, "1008", "1:fakeActivity000001", "heart", t0),
			[]channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: pid("1008~heart"), ThreadID: conv, AuthorID: megan.ID, AuthorName: megan.Name,
				SentAt: t0, Reaction: "❤️", ReplyToPlatformID: "1:fakeActivity000001"}}},
		{"read receipt", e.fk.ReadReceipt(megan, "1009", "1:fakeActivity000002", t0),
			[]channel.InboundEvent{{Kind: channel.EventStatus, ThreadID: conv, StatusMessageID: "1:fakeActivity000002", Status: "read"}}},
		{"conversation update skipped", e.fk.ConversationUpdate(megan, "f:1", t0), nil},
		{"typing skipped", typing, nil},
		{"invoke skipped", invoke, nil},
		{"the bot's own skipped", bot, nil},
		{"empty submit skipped", emptyValue, nil},
		{"nothing to show skipped", htmlOnly, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.receive(t, tc.act, fake.TokenOptions{})
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

func TestParseMalformed(t *testing.T) {
	e := newEnv(t)
	good := e.fk.Text(megan, "1001", "hi", t0)
	for name, body := range map[string][]byte{
		"not json":         []byte(`{"type":`),
		"array":            []byte(`[]`),
		"no type":          withField(good, "type", "").JSON(),
		"no id":            withField(good, "id", "").JSON(),
		"id with a pipe":   withField(good, "id", "1|2").JSON(),
		"no conversation":  withField(good, "conversation", map[string]any{}).JSON(),
		"no from":          withField(good, "from", map[string]any{"name": "x"}).JSON(),
		"bad serviceUrl":   withField(good, "serviceUrl", "smba.trafficmanager.net").JSON(),
		"bad timestamp":    withField(good, "timestamp", "yesterday").JSON(),
		"text not string":  withField(good, "text", 12).JSON(),
		"attachments junk": withField(good, "attachments", "x").JSON(),
	} {
		_, err := e.a.Parse(request(body, ""), body, e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: got %v, want MalformedError", name, err)
		}
	}
}

// A pasted image is fetched from the Bot Connector with the bot's token;
// the token goes to allow-listed hosts only.
func TestFetchMedia(t *testing.T) {
	e := newEnv(t)
	e.fk.AddMedia("shot.png", "image/png", []byte("\x89PNG fake bytes"))
	ctx := context.Background()
	body, mt, err := e.a.FetchMedia(ctx, e.poc, e.fk.AttachmentURL("shot.png"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if mt != "image/png" || string(b) != "\x89PNG fake bytes" {
		t.Fatalf("%q %q", mt, b)
	}
	if _, _, err := e.a.FetchMedia(ctx, e.poc, "https://attacker.example/v3/attachments/x/views/original"); err == nil {
		t.Fatal("fetched from a host off the allow-list")
	}
	if n := e.fk.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
	e.clock.Add(2 * time.Hour) // the token expired: a new one is asked for
	if _, _, err := e.a.FetchMedia(ctx, e.poc, e.fk.AttachmentURL("shot.png")); err != nil {
		t.Fatal(err)
	}
	if n := e.fk.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests, want 2", n)
	}
}

// FuzzParse: no input makes the parser panic, and what it accepts keeps
// the contract's invariants.
func FuzzParse(f *testing.F) {
	e := newEnv(f)
	for _, seed := range [][]byte{
		channelsSample(e.fk.Options().AppID),
		e.fk.Text(megan, "1", "hi", t0).JSON(),
		e.fk.Image(megan, "2", "x", "a.png", t0).JSON(),
		e.fk.File(megan, "3", "a.pdf", t0).JSON(),
		e.fk.Submit(megan, "4", "A", "Apple", t0).JSON(),
		e.fk.SubmitValue(megan, "5", map[string]any{"parley_choice": "a,b", "parley_labels": map[string]any{"a": "A"}}, t0).JSON(),
		e.fk.Reaction(megan, "6", "x", "like", t0).JSON(),
		e.fk.ReadReceipt(megan, "7", "x", t0).JSON(),
		e.fk.ConversationUpdate(megan, "8", t0).JSON(),
		[]byte(`{"type":"message","id":"1","serviceUrl":"https://a/","conversation":{"id":"c"},"from":{"id":"u"},"value":"\"x\""}`),
		[]byte(`null`), []byte(`{}`), []byte("\xff"), []byte(`{"type":"message","attachments":[null,1,{}]}`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := e.a.Parse(request(body, ""), body, e.poc)
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
				if ev.StatusMessageID == "" || ev.Status != "read" {
					t.Fatalf("receipt %+v", ev)
				}
			default:
				t.Fatalf("kind %q", ev.Kind)
			}
		}
	})
}
