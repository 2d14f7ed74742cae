package xdm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/xdm/fake"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the requests the fake received (endpoint and JSON body)
// with a golden file.
func golden(t *testing.T, name string, reqs []fake.Request) {
	t.Helper()
	type entry struct {
		Path string `json:"path"`
		Body any    `json:"body"`
	}
	entries := []entry{}
	for _, r := range reqs {
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("body is not JSON: %s", r.Body)
		}
		entries = append(entries, entry{r.Path, v})
	}
	got, _ := json.MarshalIndent(entries, "", "  ")
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// render renders canonical content for X DMs as the core does: the
// engine's rendering (X has no native elements, so no adapter upgrade).
func render(t *testing.T, c content.Content) json.RawMessage {
	t.Helper()
	r, err := content.Render(Type, c, content.RenderOptions{MessageID: "msg-1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Native != nil {
		t.Fatalf("X DMs got a native rendering: %s", r.Native)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// renderOverride renders content carrying an author's x_dm override.
func renderOverride(t *testing.T, c content.Content) json.RawMessage {
	t.Helper()
	r, err := content.Render(Type, c, content.RenderOptions{MessageID: "msg-1"})
	if err != nil || r.Type != "override" {
		t.Fatalf("%v %+v", err, r)
	}
	raw, _ := json.Marshal(r)
	return raw
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	pizzas := []content.Option{{ID: "margherita", Label: "Margherita", Description: "tomato, mozzarella"}, {ID: "marinara", Label: "Marinara"},
		{ID: "diavola", Label: "Diavola", Description: "spicy salami"}}
	cases := []struct {
		name     string
		msg      channel.OutboundMessage
		requests int // upload + DMs
	}{
		{"text", channel.OutboundMessage{Text: "Hello Ana, how can we help?"}, 1},
		{"image", channel.OutboundMessage{Text: "Here is your receipt", Attachments: []channel.OutboundAttachment{
			{ID: "att1", Name: "photo.png", MimeType: "image/png", Size: int64(len(pngBytes)), URL: e.files.URL + "/blobs/photo.png"}}}, 2},
		{"image_alone", channel.OutboundMessage{Attachments: []channel.OutboundAttachment{
			{ID: "att1", Name: "photo.png", MimeType: "image/png", URL: e.files.URL + "/blobs/photo.png"}}}, 2},
		{"document_as_link", channel.OutboundMessage{Text: "Your invoice", Attachments: []channel.OutboundAttachment{
			{ID: "att2", Name: "invoice.pdf", MimeType: "application/pdf", Size: 2048, URL: "https://parley.example/blobs/att2?sig=abc"}}}, 1},
		{"quick_replies", channel.OutboundMessage{Rendered: render(t, content.Content{Type: content.TypeQuickReplies, Text: "Did that solve it?",
			Options: []content.Option{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}, {ID: "agent", Label: "Talk to a person"}}})}, 1},
		{"list_picker", channel.OutboundMessage{Rendered: render(t, content.Content{Type: content.TypeListPicker, Title: "Menu", Text: "Pick a pizza",
			Options: pizzas, Sections: []content.Section{{Title: "Classics", OptionIDs: []string{"margherita", "marinara"}}}})}, 1},
		{"time_picker", channel.OutboundMessage{Rendered: render(t, content.Content{Type: content.TypeTimePicker, Text: "Which time suits you?", Timezone: "Europe/Paris",
			Slots: []content.TimeSlot{{ID: "s1", Start: "2026-11-24T09:00:00Z", DurationSec: 1800}, {ID: "s2", Start: "2026-11-24T14:00:00Z", DurationSec: 1800}}})}, 1},
		{"long_text_split", channel.OutboundMessage{Text: strings.Repeat("word ", 2500) + "\nThe end."}, 2},
		{"override_then_image", channel.OutboundMessage{Rendered: renderOverride(t, content.Content{Type: content.TypeText, Text: "plain",
			Overrides: map[string]json.RawMessage{Type: json.RawMessage(`{"text":"Custom DM from the author"}`)}}),
			Attachments: []channel.OutboundAttachment{{Name: "photo.png", MimeType: "image/png", URL: e.files.URL + "/blobs/photo.png"}}}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fk.Reset()
			msg := c.msg
			msg.ID, msg.RecipientID, msg.ThreadExternalID = "msg-1", ana.ID, ana.ID
			res, err := e.a.Send(context.Background(), e.poc, &msg)
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.fk.Requests()
			if len(reqs) != c.requests {
				t.Fatalf("%d requests, want %d: %+v", len(reqs), c.requests, reqs)
			}
			sent := e.fk.Messages()
			if len(sent) == 0 || res.PlatformMessageID != sent[0].EventID {
				t.Fatalf("result %q, sent %+v", res.PlatformMessageID, sent)
			}
			for _, r := range reqs {
				if r.Authorization != "Bearer "+testToken || r.Status >= 300 {
					t.Fatalf("%s %d %s", r.Authorization, r.Status, r.Response)
				}
			}
			golden(t, c.name, reqs)
		})
	}
	// The uploaded image is the attachment's bytes.
	e.fk.Reset()
	msg := &channel.OutboundMessage{ID: "m", RecipientID: ana.ID, Attachments: []channel.OutboundAttachment{{Name: "photo.png", MimeType: "image/png", URL: e.files.URL + "/blobs/photo.png"}}}
	if _, err := e.a.Send(context.Background(), e.poc, msg); err != nil {
		t.Fatal(err)
	}
	mt, data, ok := e.fk.Upload(e.fk.Requests()[0].MediaID)
	if !ok || mt != "image/png" || string(data) != pngBytes {
		t.Fatalf("upload: %v %q %d bytes", ok, mt, len(data))
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := func() *channel.OutboundMessage {
		return &channel.OutboundMessage{ID: "m", RecipientID: ana.ID, Text: "hi"}
	}
	var se *channel.SendError
	// 429: retry when X's window resets.
	e.fk.FailNext(fake.RateLimited(at.Add(90 * time.Second)))
	_, err := e.a.Send(ctx, e.poc, msg())
	if !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 90*time.Second || se.Code != "429" || se.Unreachable {
		t.Fatalf("429: %#v", err)
	}
	if res, err := e.a.Send(ctx, e.poc, msg()); err != nil || res.PlatformMessageID == "" || len(e.fk.Messages()) != 1 {
		t.Fatalf("after the window: %v %+v", err, res)
	}
	// A window that already reset: retry at once.
	e.fk.FailNext(fake.RateLimited(at.Add(-time.Minute)))
	if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 0 {
		t.Fatalf("past reset: %#v", err)
	}
	// A customer who blocked the business: permanent and unreachable.
	e.fk.Block(bob.ID)
	m := msg()
	m.RecipientID = bob.ID
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Retryable || !se.Unreachable || se.Code != "403" ||
		!strings.Contains(se.Reason, "You cannot send messages to this user") {
		t.Fatalf("blocked: %#v", err)
	}
	// 5xx and a dropped connection: retryable.
	e.fk.FailNext(fake.ServerError(), fake.Failure{Drop: true})
	for i := 0; i < 2; i++ {
		if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || !se.Retryable || se.Unreachable {
			t.Fatalf("transient %d: %#v", i, err)
		}
	}
	// Another 403 (the app's permissions): permanent, not unreachable.
	e.fk.FailNext(fake.Failure{Endpoint: "dm", Status: 403, Title: "Forbidden", Detail: "You are not permitted to use OAuth2 on this endpoint"})
	if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || se.Retryable || se.Unreachable || !strings.Contains(se.Reason, "Forbidden: You are not permitted to use OAuth2") {
		t.Fatalf("app 403: %#v", err)
	}
	// A wrong token: 401, permanent.
	bad := createPOC(t, e.a, map[string]any{SettingUserID: business.ID, SettingAPIBaseURL: e.fk.URL()},
		map[string]string{CredentialConsumerSecret: testSecret, CredentialAccessToken: "expired"})
	if _, err := e.a.Send(ctx, bad, msg()); !errors.As(err, &se) || se.Retryable || se.Code != "401" || se.Reason != "Unauthorized" {
		t.Fatalf("bad token: %#v", err)
	}
	// X's invalid-request shape: title, detail and each error's message.
	e.fk.FailNext(fake.Failure{Endpoint: "dm", Status: 400, Title: "Invalid Request", Detail: "One or more parameters to your request was invalid."})
	if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || se.Retryable || se.Code != "400" || se.Reason != "Invalid Request: One or more parameters to your request was invalid." {
		t.Fatalf("invalid: %#v", err)
	}
	// Refused before X is called.
	for name, m := range map[string]*channel.OutboundMessage{
		"no recipient":     {ID: "m", Text: "hi"},
		"not a user id":    {ID: "m", RecipientID: "@ana", Text: "hi"},
		"ourselves":        {ID: "m", RecipientID: business.ID, Text: "hi"},
		"nothing to send":  {ID: "m", RecipientID: ana.ID},
		"two attachments":  {ID: "m", RecipientID: ana.ID, Attachments: []channel.OutboundAttachment{{URL: "https://a/1"}, {URL: "https://a/2"}}},
		"invalid rendered": {ID: "m", RecipientID: ana.ID, Rendered: json.RawMessage(`{"text":5}`)},
	} {
		before := len(e.fk.Requests())
		if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Retryable {
			t.Errorf("%s: %#v", name, err)
		}
		if len(e.fk.Requests()) != before {
			t.Errorf("%s: X was called", name)
		}
	}
	// An attachment Parley cannot serve any more: permanent, nothing sent.
	m = msg()
	m.Attachments = []channel.OutboundAttachment{{Name: "broken.png", MimeType: "image/png", URL: e.files.URL + "/blobs/broken.png"}}
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || se.Retryable || se.Code != "404" {
		t.Fatalf("broken attachment: %#v", err)
	}
	// A failed upload: classified like a send.
	e.fk.FailNext(fake.Failure{Endpoint: "upload", Status: 503, Title: "Service Unavailable"})
	m.Attachments = []channel.OutboundAttachment{{Name: "photo.png", MimeType: "image/png", URL: e.files.URL + "/blobs/photo.png"}}
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || !se.Retryable || !strings.HasPrefix(se.Reason, "uploading photo.png") {
		t.Fatalf("upload 503: %#v", err)
	}
	// A later part failing: permanent (a retry would send the first twice).
	long := msg()
	long.Text = strings.Repeat("a ", 6000)
	e.fk.FailNext(fake.Failure{Endpoint: "dm", After: 1, Status: 400, Title: "Invalid Request", Detail: "One or more parameters to your request was invalid."})
	if _, err := e.a.Send(ctx, e.poc, long); !errors.As(err, &se) || se.Retryable || !strings.Contains(se.Reason, "part 2 of 2 failed (the first 1 went out") {
		t.Fatalf("second part: %#v", err)
	}
}
