package slack_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/channel/slack/fake"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	customer  = "U2147483697"
	dmChannel = "D024BE91L"
	channelID = "C0SUPPORT1"
	botUserID = fake.DefaultBotUserID
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

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

// env is an adapter, a fake Slack and a point of contact wired to it,
// created through the core's own store: Configure runs as in production,
// credentials are sealed and opened for real.
type env struct {
	a     *slack.Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := &clock{t: t0}
	fk, err := fake.Start(fake.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	a := slack.New(&http.Client{Timeout: 5 * time.Second}, clk.Now)
	o := fk.Options()
	poc := createPOC(t, a, map[string]any{slack.SettingAPIBaseURL: fk.URL()},
		map[string]string{slack.CredentialBotToken: o.BotToken, slack.CredentialSigningSecret: o.SigningSecret})
	return &env{a: a, fk: fk, poc: poc, clock: clk}
}

func createPOC(t testing.TB, a *slack.Adapter, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	t.Helper()
	p, err := newPoints(t, a).create(settings, creds)
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return p
}

// points is the core's point-of-contact store on a fresh database.
type points struct {
	t      testing.TB
	points *channel.Points
	ws     string
}

func newPoints(t testing.TB, a *slack.Adapter) *points {
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
	return &points{t: t, points: channel.NewPoints(db, box, channel.NewRegistry(a), time.Now), ws: ws}
}

// create configures a point of contact and reads it back as the inbound
// path does (Lookup).
func (p *points) create(settings map[string]any, creds map[string]string) (*channel.PointOfContact, error) {
	p.t.Helper()
	ctx := context.Background()
	created, _, err := p.points.Create(ctx, p.ws, "", channel.NewPointOfContact{Type: slack.Type, Name: "Slack", Settings: settings, Credentials: creds})
	if err != nil {
		return nil, err
	}
	got, err := p.points.Lookup(ctx, created.ID)
	if err != nil {
		p.t.Fatal(err)
	}
	return &got, nil
}

// signed is a webhook request as the server receives it, signed by Slack
// at the given time.
func signed(secret string, body []byte, at time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/poc", bytes.NewReader(body))
	ts := strconv.FormatInt(at.Unix(), 10)
	if bytes.HasPrefix(body, []byte("{")) {
		r.Header.Set("Content-Type", "application/json")
	} else {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set(slack.TimestampHeader, ts)
	r.Header.Set(slack.SignatureHeader, fake.Sign(secret, ts, body))
	return r
}

// request signs body with the env's secret at the env's clock.
func (e *env) request(body []byte) *http.Request {
	return signed(e.fk.Options().SigningSecret, body, e.clock.Now())
}

// parse authenticates and parses a body as the ingress does.
func (e *env) parse(t *testing.T, body []byte) []channel.InboundEvent {
	t.Helper()
	r := e.request(body)
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	evs, err := e.a.Parse(r, body, e.poc)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return evs
}

// golden compares the requests the fake received with
// testdata/golden/<name>.json: method, path, content type, authorization
// and body (JSON as JSON, a form as a JSON object, bytes by size and
// SHA-256).
func golden(t *testing.T, name string, reqs []fake.Request) {
	t.Helper()
	type rec struct {
		Method        string          `json:"method"`
		Path          string          `json:"path"`
		ContentType   string          `json:"content_type,omitempty"`
		Authorization string          `json:"authorization,omitempty"`
		Body          json.RawMessage `json:"body,omitempty"`
	}
	recs := make([]rec, 0, len(reqs))
	for _, r := range reqs {
		x := rec{Method: r.Method, Path: r.Path, ContentType: r.ContentType, Authorization: r.Authorization}
		mt, _, _ := mime.ParseMediaType(r.ContentType)
		switch {
		case len(r.Body) == 0:
		case mt == "application/json" || mt == "application/x-www-form-urlencoded":
			x.Body = r.JSON()
		default:
			sum := sha256.Sum256(r.Body)
			x.Body, _ = json.Marshal(map[string]any{"bytes": len(r.Body), "sha256": hex.EncodeToString(sum[:])})
		}
		recs = append(recs, x)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the bodies as sent, & < > unescaped
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
