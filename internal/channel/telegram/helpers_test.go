package telegram

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/telegram/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func clock() time.Time { return t0 }

// ana is the customer of the CHANNELS.md sample update.
var ana = fake.User{ID: 1111111, FirstName: "Ana", LanguageCode: "en"}

// env is an adapter, a fake Bot API and a point of contact wired to it,
// created through the core's own store (Configure runs as in production,
// credentials are sealed and opened for real).
type env struct {
	a      *Adapter
	fk     *fake.Server
	poc    *channel.PointOfContact
	secret string
	points *points
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fk, err := fake.Start(fake.Options{LocalWebhooks: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	a := New(nil, clock)
	ps := newPoints(t, a)
	poc, gen := ps.create(t, map[string]any{SettingAPIBaseURL: fk.URL}, map[string]string{CredentialBotToken: fake.DefaultToken})
	if gen[CredentialSecretToken] == "" || gen[CredentialSecretToken] != poc.Credential(CredentialSecretToken) {
		t.Fatalf("generated %v, stored %q", gen, poc.Credential(CredentialSecretToken))
	}
	return &env{a: a, fk: fk, poc: poc, secret: gen[CredentialSecretToken], points: ps}
}

// points is the core's point-of-contact store on a fresh test database.
type points struct {
	points *channel.Points
	ws     string
}

func newPoints(t *testing.T, a *Adapter) *points {
	t.Helper()
	db := storetest.Open(t)
	ws := store.NewID()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, ws, "w", 1); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &points{points: channel.NewPoints(db, box, channel.NewRegistry(a), time.Now), ws: ws}
}

// create makes a point of contact and reads it back as the core does.
func (ps *points) create(t *testing.T, settings map[string]any, creds map[string]string) (*channel.PointOfContact, map[string]string) {
	t.Helper()
	ctx := context.Background()
	created, gen, err := ps.points.Create(ctx, ps.ws, "", channel.NewPointOfContact{Type: Type, Name: "Telegram", Settings: settings, Credentials: creds})
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	p, err := ps.points.Lookup(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p, gen
}

// webhookRequest is an update as Telegram posts it.
func webhookRequest(body []byte, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/poc", nil)
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set(SecretTokenHeader, secret)
	}
	return r
}

// parseOne authenticates and parses a payload that must give one event.
func (e *env) parseOne(t *testing.T, body []byte) channel.InboundEvent {
	t.Helper()
	r := webhookRequest(body, e.secret)
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	evs, err := e.a.Parse(r, body, e.poc)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1: %+v", len(evs), evs)
	}
	return evs[0]
}

// ingress is a stand-in for the core's webhook endpoint: authenticate
// (401 on failure, as internal/web answers), parse, "store" (every event
// is a fresh result), then Respond. It records what it parsed.
type ingress struct {
	*httptest.Server
	events chan channel.InboundEvent
}

func (e *env) ingress(t *testing.T) *ingress {
	t.Helper()
	in := &ingress{events: make(chan channel.InboundEvent, 16)}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := e.a.Authenticate(r, body, e.poc); err != nil {
			http.Error(w, `{"title":"request not authenticated for this point of contact"}`, http.StatusUnauthorized)
			return
		}
		evs, err := e.a.Parse(r, body, e.poc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		results := make([]channel.IngestResult, len(evs))
		for i := range evs {
			in.events <- evs[i]
			results[i] = channel.IngestResult{Event: &evs[i], MessageID: "m" + string(rune('0'+i))}
		}
		e.a.Respond(w, r, results)
	}))
	t.Cleanup(in.Close)
	return in
}

// sample is CHANNELS.md §6's sample update, byte for byte.
const sample = `{"update_id":10000,"message":{"message_id":1365,"from":{"id":1111111,"is_bot":false,"first_name":"Ana","language_code":"en"},
 "chat":{"id":1111111,"first_name":"Ana","type":"private"},"date":1441645532,"text":"Hi"}}`

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
