package apple

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/apple/fake"
)

// FuzzParse feeds Parse arbitrary bodies (seeded with every kind of
// delivery, compressed and not): it must never panic, and whatever it
// refuses is a MalformedError, except an interactive reply by reference
// the gateway cannot serve.
func FuzzParse(f *testing.F) {
	e := newEnv(f)
	business := e.fk.Options().BusinessID
	at, err := e.fk.AddAttachment("a.jpg", "image/jpeg", []byte("jpeg"))
	if err != nil {
		f.Fatal(err)
	}
	ref, err := e.fk.AddDataRef(fake.ListPickerReply("r", fake.Item{Identifier: "a", Title: "A"}))
	if err != nil {
		f.Fatal(err)
	}
	seeds := []fake.Message{
		fake.Text("1", customer, business, "hello"),
		fake.Text("2", customer, business, "photo", at),
		fake.Interactive("3", customer, business, fake.ListPickerReply("r", fake.Item{Identifier: "a", Title: "A"}, fake.Item{Identifier: "b", Title: "B"})),
		fake.Interactive("4", customer, business, fake.TimePickerReply("r", "e", fake.Slot{Identifier: "s1", StartTime: "2026-05-26T08:00+0000", Duration: 1800}, 120)),
		fake.Interactive("5", customer, business, fake.QuickReplyReply("r", 1, "")),
		fake.Interactive("6", customer, business, fake.FormReply("r", fake.FormPage{PageIdentifier: "0", Title: "Name", Items: []fake.FormItem{{Value: "Ana"}}})),
		fake.InteractiveByRef("7", customer, business, ref),
		fake.Close("8", customer, business),
		fake.TypingStart("9", customer, business),
	}
	for _, m := range seeds {
		for _, plain := range []bool{true, false} {
			_, body := e.request(f, fake.Delivery{Message: m, Plain: plain})
			f.Add(body)
		}
	}
	f.Add([]byte(`{"type":"interactive","id":1,"sourceId":2,"interactiveData":{"bid":"x","data":{"quick-reply":{"selectedIndex":"99"},"listPicker":null}}}`))
	f.Add([]byte(`{"type":"text","id":"x","sourceId":"c","attachments":[{"key":"00","url":7,"owner":[]}],"body":"\ufffc"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest(http.MethodPost, "https://parley.example/webhooks/x", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Capability-List", "LIST,TIME")
		evs, err := e.a.Parse(req, body, e.poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) && !strings.Contains(err.Error(), "by reference") {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, ev := range evs {
			if ev.PlatformMessageID == "" || ev.AuthorID == "" || (ev.Text == "" && len(ev.Attachments) == 0) {
				t.Fatalf("incomplete event %+v", ev)
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = ClosedConversation(req, body)
	})
}
