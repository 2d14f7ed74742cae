package line

import (
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/line/fake"
)

// FuzzParse: no body makes Parse panic, and what it accepts is well formed.
func FuzzParse(f *testing.F) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	group := "C" + "0123456789abcdef0123456789abcdef"
	for _, seed := range [][]byte{
		[]byte(channelsSample), []byte(imageSample), []byte(postbackSample),
		fake.Payload(fake.DefaultBotUserID),
		fake.Payload(fake.DefaultBotUserID, fake.Text(customer, "hello", at), fake.Tap(customer, "opt_a", "Small", at)),
		fake.Payload(fake.DefaultBotUserID, fake.Follow(customer, true, at), fake.Unfollow(customer, at), fake.Unsend(customer, "1", at)),
		fake.Payload(fake.DefaultBotUserID, fake.TextFrom(fake.Group(group, ""), "hi", at), fake.Sticker(customer, at),
			fake.Location(customer, "x", "y", 1.5, 2.5, at), fake.File(customer, "42", "a.pdf", 3, at)),
		fake.Payload(fake.DefaultBotUserID, fake.Redelivered(fake.Postback(customer, "d", map[string]string{"date": "2026-01-01"}, at))),
		[]byte(`{"events":[{"type":"message"}]}`),
		[]byte(`{"events":null}`),
	} {
		f.Add(seed)
	}
	a := New(nil, func() time.Time { return at })
	poc := &channel.PointOfContact{ID: "poc"}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := a.Parse(nil, body, poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a MalformedError", err)
			}
			return
		}
		for _, ev := range evs {
			if ev.Kind != channel.EventMessage || ev.PlatformMessageID == "" || ev.ThreadID == "" || ev.AuthorID == "" {
				t.Fatalf("incomplete event %+v", ev)
			}
			for _, att := range ev.Attachments {
				if (att.MediaRef == "") == (att.URL == "") {
					t.Fatalf("attachment %+v", att)
				}
				if att.MediaRef != "" && !messageID.MatchString(att.MediaRef) {
					t.Fatalf("media ref %q", att.MediaRef)
				}
			}
		}
	})
}
