package apple

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // slot zones must not depend on the host's zoneinfo

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/apple/fake"
	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// testSecret is base64 of "parley-apple-messages-test-key!!".
const testSecret = "cGFybGV5LWFwcGxlLW1lc3NhZ2VzLXRlc3Qta2V5ISE="

// customer is the opaque id of the customer in the tests.
const customer = "urn:mbid:AQAAY4nW0k2sE5gBmVhVq8h2Kf3NXuA1B9cD"

// messageID is the id of the outbound message the tests render and send
// (a UUID, as Parley's are).
const messageID = "01970f3c-5a2b-7c1d-8e9f-0a1b2c3d4e5f"

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

// counter is a deterministic stand-in for crypto/rand: attachment keys and
// typing ids come out the same on every run.
type counter struct {
	mu sync.Mutex
	n  byte
}

func (c *counter) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// env is an adapter, a fake gateway and a point of contact wired to it,
// created through the core's own store (Configure runs as in production,
// credentials are sealed and opened for real).
type env struct {
	a     *Adapter
	fk    *fake.Server
	poc   *channel.PointOfContact
	clock *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newFixture(t).env(t)
}

// fixture is a point-of-contact store on a fresh test database; tests with
// many subtests share one (a database per subtest is slow under -race).
type fixture struct {
	points *channel.Points
	ws     string
}

func newFixture(t testing.TB) *fixture {
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
	return &fixture{points: channel.NewPoints(db, box, channel.NewRegistry(New(nil, nil)), time.Now), ws: ws}
}

// env starts a fake gateway and makes a point of contact for it.
func (f *fixture) env(t testing.TB) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 5, 20, 9, 0, 0, 0, time.UTC)}
	fk, err := fake.Start(fake.Options{Secret: testSecret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fk.Close() })
	a := New(nil, clk.Now)
	a.random = &counter{}
	o := fk.Options()
	poc, err := f.create(map[string]any{SettingBusinessID: o.BusinessID, SettingAPIBaseURL: fk.URL()},
		map[string]string{CredentialMSPID: o.MSPID, CredentialMSPSecret: o.Secret})
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return &env{a: a, fk: fk, poc: poc, clock: clk}
}

// create configures a point of contact and reads it back as the core does.
func (f *fixture) create(settings map[string]any, creds map[string]string) (*channel.PointOfContact, error) {
	ctx := context.Background()
	created, _, err := f.points.Create(ctx, f.ws, "", channel.NewPointOfContact{Type: Type, Name: "Apple Messages", Settings: settings, Credentials: creds})
	if err != nil {
		return nil, err
	}
	p, err := f.points.Lookup(ctx, created.ID)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// createPOC creates a point of contact with the real store.
func createPOC(t testing.TB, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	t.Helper()
	p, err := newFixture(t).create(settings, creds)
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	return p
}

// request builds the gateway's delivery of m to this point of contact.
func (e *env) request(t testing.TB, d fake.Delivery) (*http.Request, []byte) {
	t.Helper()
	o := e.fk.Options()
	req, body, err := fake.NewWebhookRequest("https://parley.example/webhooks/"+e.poc.ID, o.MSPID, o.Secret, d, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req, body
}

// receive authenticates and parses a delivery of m as the core does.
func (e *env) receive(t testing.TB, m fake.Message) []channel.InboundEvent {
	t.Helper()
	req, body := e.request(t, fake.Delivery{Message: m, Capabilities: fake.DefaultCapabilities})
	if err := e.a.Authenticate(req, body, e.poc); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	evs, err := e.a.Parse(req, body, e.poc)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return evs
}

func (e *env) receiveOne(t testing.TB, m fake.Message) channel.InboundEvent {
	t.Helper()
	evs := e.receive(t, m)
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1: %+v", len(evs), evs)
	}
	return evs[0]
}

// render renders canonical content for Apple as the core does.
func (e *env) render(t testing.TB, c content.Content) content.Rendered {
	t.Helper()
	r, err := content.Render(Type, c, content.RenderOptions{MessageID: messageID, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// outbound is an outbound message of rendered content to the customer,
// who wrote an hour ago.
func (e *env) outbound(t testing.TB, r content.Rendered) *channel.OutboundMessage {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return &channel.OutboundMessage{ID: messageID, RecipientID: customer, ThreadExternalID: customer, Text: r.Text, Rendered: raw,
		AuthorType: "agent", LastInboundAt: e.clock.Now().Add(-time.Hour)}
}

// send renders c and sends it; it fails the test on error.
func (e *env) send(t testing.TB, c content.Content) content.Rendered {
	t.Helper()
	r := e.render(t, c)
	if _, err := e.a.Send(context.Background(), e.poc, e.outbound(t, r)); err != nil {
		t.Fatalf("send: %v", err)
	}
	return r
}
