package teams_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/teams"
	"github.com/parleyhq/parley/internal/channel/teams/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var t0 = time.Date(2026, 2, 1, 21, 10, 7, 437_000_000, time.UTC)

var megan = fake.User{ID: "29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ-NJWi7me2kHTL3Bl-X8Sn2SGWJ", Name: "Megan Bowen",
	AADObjectID: "7a1b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"}

// signingKey is one RSA key for every fake of the test binary: making a
// 2048-bit key takes a while. Each fake still names it with its own kid.
var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// clock is a settable clock shared by the adapter and the fake.
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

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is an adapter, a fake Bot Framework and a point of contact wired to
// it, created through the core's own store (Configure runs as in
// production; credentials are sealed and opened for real).
type env struct {
	a     *teams.Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	pocs  *pocStore
	clock *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := &clock{t: t0}
	key, err := signingKey()
	if err != nil {
		t.Fatal(err)
	}
	fk, err := fake.Start(fake.Options{Now: clk.Now, SigningKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	a := teams.New(&http.Client{Timeout: 5 * time.Second}, clk.Now)
	pocs := newPOCStore(t, a)
	return &env{a: a, fk: fk, poc: pocs.mustCreate(fk.Settings(), fk.Credentials()), pocs: pocs, clock: clk}
}

// restart is a new adapter (a new process): no cache survives.
func (e *env) restart() {
	e.a = teams.New(&http.Client{Timeout: 5 * time.Second}, e.clock.Now)
}

// pocStore creates points of contact with the core's own store, on one
// fresh database per test.
type pocStore struct {
	t      testing.TB
	points *channel.Points
	ws     string
}

func newPOCStore(t testing.TB, a *teams.Adapter) *pocStore {
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
	return &pocStore{t: t, points: channel.NewPoints(db, box, channel.NewRegistry(a), time.Now), ws: ws}
}

// create configures a point of contact and reads it back as the inbound
// path does (Lookup).
func (p *pocStore) create(settings map[string]any, creds map[string]string) (*channel.PointOfContact, error) {
	p.t.Helper()
	ctx := context.Background()
	created, _, err := p.points.Create(ctx, p.ws, "", channel.NewPointOfContact{Type: teams.Type, Name: "Teams", Settings: settings, Credentials: creds})
	if err != nil {
		return nil, err
	}
	got, err := p.points.Lookup(ctx, created.ID)
	if err != nil {
		p.t.Fatal(err)
	}
	return &got, nil
}

func (p *pocStore) mustCreate(settings map[string]any, creds map[string]string) *channel.PointOfContact {
	p.t.Helper()
	poc, err := p.create(settings, creds)
	if err != nil {
		p.t.Fatalf("create point of contact: %v", err)
	}
	return poc
}

// request is an activity as Parley's webhook receives it, with a token.
func request(body []byte, token string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/poc", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// receive authenticates and parses an activity signed as o says.
func (e *env) receive(t testing.TB, act fake.Activity, o fake.TokenOptions) ([]channel.InboundEvent, error) {
	t.Helper()
	if o.ServiceURL == "" {
		o.ServiceURL, _ = act["serviceUrl"].(string)
	}
	body := act.JSON()
	r := request(body, e.fk.Token(o))
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		return nil, err
	}
	if conv, ok := act["conversation"].(map[string]any); ok {
		from, _ := act["from"].(map[string]any)
		id, _ := conv["id"].(string)
		user, _ := from["id"].(string)
		e.fk.AddConversation(id, user)
	}
	return e.a.Parse(r, body, e.poc)
}

// golden compares what the fake received with testdata/golden/<name>.json.
func golden(t *testing.T, name string, reqs []fake.Request) {
	t.Helper()
	type rec struct {
		Method        string          `json:"method"`
		Path          string          `json:"path"`
		Authorization string          `json:"authorization"`
		Body          json.RawMessage `json:"body"`
	}
	recs := make([]rec, len(reqs))
	for i, r := range reqs {
		auth := r.Authorization
		if strings.HasPrefix(auth, "Bearer fake-bf-") {
			auth = "Bearer (the bot's token)"
		}
		if !json.Valid(r.Body) {
			t.Fatalf("%s: body is not JSON: %s", name, r.Body)
		}
		recs[i] = rec{r.Method, r.Path, auth, r.Body}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(recs); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}
