package whatsapp

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

const (
	testToken     = "EAAG-test-access-token"
	testAppSecret = "appsecret"
)

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

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is an adapter, a fake Cloud API and a point of contact wired to it,
// created through the core's own store (so Configure runs as in production
// and the credentials are sealed and opened for real).
type env struct {
	a     *Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
	gen   map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fk, err := fake.Start(fake.Options{AccessToken: testToken, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	a := New(nil, clk.Now)
	poc, gen := createPOC(t, a, map[string]any{
		SettingPhoneNumberID: fk.Options().PhoneNumberID, SettingWABAID: fk.Options().WABAID, SettingAPIBaseURL: fk.URL,
	}, map[string]string{CredentialAccessToken: testToken, CredentialAppSecret: testAppSecret})
	return &env{a: a, fk: fk, poc: poc, clock: clk, gen: gen}
}

// createPOC creates a point of contact with the real store.
func createPOC(t *testing.T, a *Adapter, settings map[string]any, creds map[string]string) (*channel.PointOfContact, map[string]string) {
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
	created, gen, err := points.Create(ctx, ws, "", channel.NewPointOfContact{Type: Type, Name: "WhatsApp", Settings: settings, Credentials: creds})
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	p, err := points.Get(ctx, ws, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p, gen
}
