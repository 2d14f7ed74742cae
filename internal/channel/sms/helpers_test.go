package sms

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/sms/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

const (
	testAccount = fake.DefaultAccountSID
	testToken   = fake.DefaultAuthToken
	testService = "MG9752274e9e519418a7406176694466fa"
	customer    = "+14155550123"
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

// env is an adapter, a fake Twilio API and a point of contact wired to it,
// created through the core's own store (Configure runs as in production,
// credentials are sealed and opened for real).
type env struct {
	a     *Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
}

func newEnv(t testing.TB, extra map[string]any) *env {
	t.Helper()
	fk, err := fake.Start(fake.Options{MessagingServiceSID: testService})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	a := New(&http.Client{Timeout: 5 * time.Second}, clk.Now)
	settings := map[string]any{
		SettingAccountSID: testAccount, SettingFromNumber: fk.Options().Number, SettingAPIBaseURL: fk.URL,
		SettingStatusCallbackURL: "https://parley.example/webhooks/poc-sms-1",
	}
	for k, v := range extra {
		if v == nil {
			delete(settings, k)
		} else {
			settings[k] = v
		}
	}
	poc := createPOC(t, a, settings, map[string]string{CredentialAuthToken: testToken})
	return &env{a: a, fk: fk, poc: poc, clock: clk}
}

// createPOC creates a point of contact with the real store.
func createPOC(t testing.TB, a *Adapter, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	t.Helper()
	p, err := tryCreatePOC(t, a, settings, creds)
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return p
}

func tryCreatePOC(t testing.TB, a *Adapter, settings map[string]any, creds map[string]string) (*channel.PointOfContact, error) {
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
	created, _, err := points.Create(ctx, ws, "", channel.NewPointOfContact{Type: Type, Name: "SMS", Settings: settings, Credentials: creds})
	if err != nil {
		return nil, err
	}
	p, err := points.Get(ctx, ws, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p, nil
}

// webhook builds a signed webhook request as the server receives it.
func webhook(target, token string, form url.Values) (*http.Request, []byte) {
	body := []byte(form.Encode())
	r, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(string(body)))
	// As a server sees it: Host set, URL without scheme and host.
	u, _ := url.Parse(target)
	r.Host = u.Host
	r.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	r.RequestURI = r.URL.RequestURI()
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(SignatureHeader, fake.Sign(token, target, form))
	return r, body
}
