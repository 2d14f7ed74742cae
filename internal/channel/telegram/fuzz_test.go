package telegram

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/telegram/fake"
)

// FuzzParse: no update panics Parse; what it returns is an event list or a
// MalformedError, and every event is one the core can store.
func FuzzParse(f *testing.F) {
	at := time.Unix(1441645532, 0)
	photo := []fake.File{{FileID: "AgACAgQAAxkBAAIBa", FileUniqueID: "AQADa", Width: 90, Height: 67, FileSize: 1200},
		{FileID: "AgACAgQAAxkBAAIBb", FileUniqueID: "AQADb", Width: 1280, Height: 960, FileSize: 98000}}
	doc := fake.File{FileID: "BQACAgQAAxkBAAIBc", FileUniqueID: "AgADc", FileName: "invoice.pdf", MimeType: "application/pdf", FileSize: 5000}
	keyboard := json.RawMessage(`{"message_id":2,"from":{"id":123456789,"is_bot":true,"first_name":"Bot"},"chat":{"id":1111111,"type":"private"},"date":1441645540,"text":"Did that solve it?","reply_markup":{"inline_keyboard":[[{"text":"Yes","callback_data":"yes"},{"text":"Docs","url":"https://docs.example"}]]}}`)
	for _, seed := range [][]byte{
		[]byte(sample),
		fake.Payload(1, fake.Photo(ana, 2, photo, "broken", at)),
		fake.Payload(2, fake.Document(ana, 3, doc, "", at)),
		fake.Payload(3, fake.Callback(ana, "4382bfdwdsb323b2d9", "yes", keyboard)),
		fake.Payload(4, fake.Edited(ana, 1, "Hi!", at, at.Add(time.Minute))),
		fake.Payload(5, fake.Quoting(fake.Text(ana, 6, "this", at), 2)),
		[]byte(`{"update_id":6,"message":{"message_id":7,"from":{"id":1,"is_bot":false,"first_name":"A"},"chat":{"id":-100,"type":"group","title":"G"},"date":1,"location":{"latitude":91,"longitude":0}}}`),
		[]byte(`{"update_id":7,"message":{"message_id":8,"chat":{"id":1,"type":"private"},"date":1,"sticker":{"file_id":"x","is_video":true}}}`),
		[]byte(`{"update_id":8,"my_chat_member":{}}`),
		[]byte(`{}`), []byte(`null`), []byte(`{"message":null}`),
	} {
		f.Add(seed)
	}
	a := New(nil, func() time.Time { return at })
	poc := &channel.PointOfContact{}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := a.Parse(nil, body, poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("not a MalformedError: %v", err)
			}
			return
		}
		if len(evs) > 1 {
			t.Fatalf("%d events from one update", len(evs))
		}
		for _, ev := range evs {
			if ev.Kind != channel.EventMessage || ev.PlatformMessageID == "" || ev.ThreadID == "" || ev.AuthorID == "" || ev.SentAt.IsZero() {
				t.Fatalf("incomplete event %+v", ev)
			}
			if ev.Text == "" && len(ev.Attachments) == 0 {
				t.Fatalf("empty event %+v", ev)
			}
			if !utf8.ValidString(ev.Text) || !utf8.ValidString(ev.AuthorName) || !utf8.ValidString(ev.ThreadName) {
				t.Fatalf("invalid UTF-8 in %+v", ev)
			}
			if strings.HasPrefix(ev.PlatformMessageID, callbackPrefix) != (ev.ChoiceID != "") {
				t.Fatalf("a tap without a choice, or a choice without a tap: %+v", ev)
			}
			for _, att := range ev.Attachments {
				if !fileID.MatchString(att.MediaRef) {
					t.Fatalf("unusable media ref %q", att.MediaRef)
				}
			}
		}
	})
}
