package gbm

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/gbm/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

const (
	testToken       = "ya29.test-access-token"
	testClientToken = "clienttoken"
)

var (
	ana = fake.Customer{ConversationID: "7c6f1e1a-3b57-4a39-9a8e-0c1d2e3f4a5b", DisplayName: "Ana Lima"}
	bob = fake.Customer{ConversationID: "0d9e8f7a-1111-4c2b-8d3e-5f6a7b8c9d0e", DisplayName: "Bob"}
	at  = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
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

// env is an adapter, a fake Business Messages API and a point of contact
// wired to it, created through the core's own store.
type env struct {
	a     *Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: at}
	fk, err := fake.Start(fake.Options{AccessToken: testToken, ClientToken: testClientToken, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	a := New(nil, clk.Now)
	poc := createPOC(t, a, map[string]any{SettingAgentID: fk.Agent(), SettingAPIBaseURL: fk.URL()},
		map[string]string{CredentialClientToken: testClientToken, CredentialAccessToken: testToken})
	return &env{a: a, fk: fk, poc: poc, clock: clk}
}

func createPOC(t *testing.T, a *Adapter, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	t.Helper()
	p, err := tryCreatePOC(t, a, settings, creds)
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return p
}

// tryCreatePOC creates a point of contact with the real store and reads
// it back as the core would.
func tryCreatePOC(t *testing.T, a *Adapter, settings map[string]any, creds map[string]string) (*channel.PointOfContact, error) {
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
	created, _, err := points.Create(ctx, ws, "", channel.NewPointOfContact{Type: Type, Name: "Business Messages", Settings: settings, Credentials: creds})
	if err != nil {
		return nil, err
	}
	p, err := points.Lookup(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p, nil
}
