package line

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/line/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

const (
	testSecret = "8c5fd3a2b1e04f7d9a6c3e2b1d0f4a57"
	testToken  = "test-channel-access-token/abc+def="
	customer   = "U206d25c2ea6bd87c17655609a1c37cb8"
	// outboundID is a Parley message id (UUIDv7), the push retry key.
	outboundID = "019a4f6e-7c21-7d3b-9e4f-5a6b7c8d9e0f"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// clock is a settable fake clock shared by the adapter and the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is an adapter, a fake LINE platform and a point of contact wired to
// it, created through the core's own store (Configure runs as in
// production, credentials are sealed and opened for real).
type env struct {
	a     *Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := &clock{t: t0}
	fk, err := fake.Start(fake.Options{ChannelAccessToken: testToken, ChannelSecret: testSecret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	a := New(&http.Client{Timeout: 5 * time.Second}, clk.Now)
	poc := createPOC(t, a, map[string]any{SettingAPIBaseURL: fk.URL(), SettingAPIDataBaseURL: fk.URL() + "/"},
		map[string]string{CredentialChannelSecret: testSecret, CredentialChannelAccessToken: testToken})
	return &env{a: a, fk: fk, poc: poc, clock: clk}
}

// createPOC creates a point of contact with the real store.
func createPOC(t testing.TB, a *Adapter, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	ws := store.NewID()
	if _, err := db.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, ws, "w", 1); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	points := channel.NewPoints(db, box, channel.NewRegistry(a), time.Now)
	created, _, err := points.Create(ctx, ws, "", channel.NewPointOfContact{Type: Type, Name: "LINE", Settings: settings, Credentials: creds})
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	p, err := points.Get(ctx, ws, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

// webhook is a signed webhook request as the server receives it.
func webhook(secret string, body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "https://parley.example/webhooks/poc-line", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	if secret != "" {
		r.Header.Set(SignatureHeader, Sign(secret, body))
	}
	return r
}

// receive authenticates and parses a webhook body the way the core does,
// after the fake has issued its tokens.
func (e *env) receive(t testing.TB, body []byte) []channel.InboundEvent {
	t.Helper()
	e.fk.RegisterTokens(body)
	r := webhook(testSecret, body)
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	evs, err := e.a.Parse(r, body, e.poc)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return evs
}
