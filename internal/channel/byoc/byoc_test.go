package byoc

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"message_id":"m"}`)
	sig := Sign("whsec_x", now, body)
	if err := Verify("whsec_x", sig, body, now, 5*time.Minute); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, c := range map[string]struct {
		secret, header string
		body           []byte
		at             time.Time
	}{
		"wrong secret": {"whsec_y", sig, body, now},
		"tampered":     {"whsec_x", sig, []byte(`{"message_id":"n"}`), now},
		"too old":      {"whsec_x", sig, body, now.Add(6 * time.Minute)},
		"malformed":    {"whsec_x", "v1=abc", body, now},
		"empty":        {"whsec_x", "", body, now},
	} {
		if Verify(c.secret, c.header, c.body, c.at, 5*time.Minute) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfigureGeneratesSecretsOnlyOnCreate(t *testing.T) {
	a := New(nil, nil)
	cfg := &channel.Config{Creating: true, Settings: map[string]any{"callback_url": "https://mw.example/parley"}, Credentials: map[string]string{}, Generated: map[string]string{}}
	if err := a.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Generated["token"], "byoc_") || !strings.HasPrefix(cfg.Generated["secret"], "whsec_") || cfg.InboundToken != cfg.Generated["token"] {
		t.Fatalf("generated: %+v", cfg.Generated)
	}
	for _, bad := range []map[string]any{{}, {"callback_url": "ftp://x"}, {"callback_url": "/relative"}, {"callback_url": "https://x", "surprise": 1}} {
		cfg := &channel.Config{Creating: true, Settings: bad, Credentials: map[string]string{}, Generated: map[string]string{}}
		if a.Configure(context.Background(), cfg) == nil {
			t.Errorf("settings %v accepted", bad)
		}
	}
}

// FuzzParse: no input makes the inbound parser panic, and whatever it
// accepts satisfies the contract's invariants.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"id":"1","thread":{"id":"t"},"author":{"id":"a"},"text":"hi"}`,
		`{"id":"1","thread":{"id":"t","name":"n"},"author":{"id":"a","name":"x"},"attachments":[{"data":"aGk=","mime_type":"text/plain","name":"a.txt"}],"sent_at":"2026-11-24T09:00:00Z"}`,
		`{"id":"1","thread":{"id":"t"},"author":{"id":"a"},"attachments":[{"url":"https://x/y.png"}]}`,
		`{"id":"1","thread":{"id":"t"},"author":{"id":"a"},"content":{"type":"quick_replies"}}`,
		`{"message_id":"m","status":"read"}`, `null`, `[]`, `{}`, `{"id":null}`, `{"id":"1","thread":null}`, "\xff", `{"id":"1"}{"id":"2"}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	a := New(nil, nil)
	f.Fuzz(func(t *testing.T, body []byte, status bool) {
		path := "/api/v1/byoc/p/messages"
		if status {
			path = "/api/v1/byoc/p/statuses"
		}
		r := httptest.NewRequest("POST", path, nil)
		evs, err := a.Parse(r, body, &channel.PointOfContact{ID: "p"})
		if err != nil {
			return
		}
		if len(evs) != 1 {
			t.Fatalf("accepted input gave %d events", len(evs))
		}
		ev := evs[0]
		if status {
			if ev.StatusMessageID == "" || (ev.Status != "delivered" && ev.Status != "read" && ev.Status != "failed") {
				t.Fatalf("bad receipt accepted: %+v", ev)
			}
			return
		}
		if ev.PlatformMessageID == "" || ev.ThreadID == "" || ev.AuthorID == "" || len(ev.PlatformMessageID) > MaxIDLength {
			t.Fatalf("bad message accepted: %+v", ev)
		}
	})
}
