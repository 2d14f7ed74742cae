package xdm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/xdm/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

const (
	testToken  = "x-oauth2-user-token"
	testSecret = "consumersecret"
)

var (
	business = fake.Account{ID: fake.DefaultUserID, ScreenName: fake.DefaultScreenName, Name: fake.DefaultName}
	ana      = fake.Account{ID: "3805104374", ScreenName: "furiouscamper", Name: "Ana Lima"}
	bob      = fake.Account{ID: "1029384756", ScreenName: "bobdm", Name: "Bob"}
	at       = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
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

// env is an adapter, a fake X API and a point of contact wired to it,
// created through the core's own store (Configure runs as in production
// and the credentials are sealed and opened for real).
type env struct {
	a     *Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
	files *httptest.Server // Parley's signed attachment URLs
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: at}
	fk, err := fake.Start(fake.Options{AccessToken: testToken, ConsumerSecret: testSecret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/blobs/photo.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte(pngBytes))
		case "/blobs/broken.png":
			http.Error(w, "gone", http.StatusNotFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(files.Close)
	a := New(nil, clk.Now)
	poc := createPOC(t, a, map[string]any{SettingUserID: business.ID, SettingAPIBaseURL: fk.URL()},
		map[string]string{CredentialConsumerSecret: testSecret, CredentialAccessToken: testToken})
	return &env{a: a, fk: fk, poc: poc, clock: clk, files: files}
}

const pngBytes = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

// createPOC creates a point of contact with the real store and reads it
// back as the core would.
func createPOC(t *testing.T, a *Adapter, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	t.Helper()
	p, err := tryCreatePOC(t, a, settings, creds)
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return p
}

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
	created, _, err := points.Create(ctx, ws, "", channel.NewPointOfContact{Type: Type, Name: "X DMs", Settings: settings, Credentials: creds})
	if err != nil {
		return nil, err
	}
	p, err := points.Lookup(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p, nil
}
