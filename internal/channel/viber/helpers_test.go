package viber

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/viber/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

const testToken = fake.DefaultAuthToken

// ana is the customer of most tests.
var ana = fake.Customer{ID: "01234567890A=", Name: "Ana", Country: "PT", Language: "pt"}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// env is an adapter, a fake Viber API and a point of contact wired to it,
// created through the core's own store (Configure runs as in production,
// credentials are sealed and opened for real).
type env struct {
	a     *Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
	store *pointStore
}

func newEnv(t testing.TB, extra map[string]any) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	fk, err := fake.Start(fake.Options{AuthToken: testToken, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	a := New(&http.Client{Timeout: 5 * time.Second}, clk.Now)
	settings := map[string]any{SettingAPIBaseURL: fk.URL(), SettingSenderName: "Acme Support"}
	for k, v := range extra {
		if v == nil {
			delete(settings, k)
		} else {
			settings[k] = v
		}
	}
	ps := newPointStore(t, a)
	poc, err := ps.create(t, "Acme Viber", settings, map[string]string{CredentialAuthToken: testToken})
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return &env{a: a, fk: fk, poc: poc, clock: clk, store: ps}
}

// addPOC creates another point of contact in the env's store.
func (e *env) addPOC(t testing.TB, name string, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	t.Helper()
	p, err := e.store.create(t, name, settings, creds)
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return p
}

// pointStore is the core's points-of-contact store on a fresh database.
type pointStore struct {
	points *channel.Points
	ws     string
}

func newPointStore(t testing.TB, a *Adapter) *pointStore {
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
	return &pointStore{points: channel.NewPoints(db, box, channel.NewRegistry(a), time.Now), ws: ws}
}

func (ps *pointStore) create(t testing.TB, name string, settings map[string]any, creds map[string]string) (*channel.PointOfContact, error) {
	t.Helper()
	ctx := context.Background()
	created, _, err := ps.points.Create(ctx, ps.ws, "", channel.NewPointOfContact{Type: Type, Name: name, Settings: settings, Credentials: creds})
	if err != nil {
		return nil, err
	}
	p, err := ps.points.Get(ctx, ps.ws, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p, nil
}

// signed builds a callback request as the server receives it.
func signed(token string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/poc-viber-1", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(SignatureHeader, fake.Sign(token, body))
	return r
}

// parse authenticates and parses a signed body, failing the test on error.
func (e *env) parse(t *testing.T, body []byte) []channel.InboundEvent {
	t.Helper()
	r := signed(testToken, body)
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	evs, err := e.a.Parse(r, body, e.poc)
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return evs
}

// receiver is Parley's inbound endpoint in miniature, in the core's order
// (internal/web/ingress.go): authenticate the raw body (401), parse (400),
// then the adapter's acknowledgement. It records what it parsed.
type receiver struct {
	e      *env
	mu     sync.Mutex
	events []channel.InboundEvent
	bodies [][]byte
}

func (e *env) startReceiver(t *testing.T) (*receiver, string) {
	t.Helper()
	rc := &receiver{e: e}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/webhooks/" + e.poc.ID
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := rc.e.a.Authenticate(r, body, rc.e.poc); err != nil {
		http.Error(w, "request not authenticated", http.StatusUnauthorized)
		return
	}
	evs, err := rc.e.a.Parse(r, body, rc.e.poc)
	var me *channel.MalformedError
	if errors.As(err, &me) || err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, evs...)
	rc.bodies = append(rc.bodies, body)
	rc.mu.Unlock()
	results := make([]channel.IngestResult, len(evs))
	for i := range evs {
		results[i].Event = &evs[i]
	}
	rc.e.a.Respond(w, r, results)
}

func (rc *receiver) got() ([]channel.InboundEvent, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]channel.InboundEvent(nil), rc.events...), append([][]byte(nil), rc.bodies...)
}
