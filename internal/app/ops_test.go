package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// TestRotateCredentials: after a rotation the old token fails at once and
// callbacks are signed with the new secret.
func TestRotateCredentials(t *testing.T) {
	mw, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	h := start(t, nil)
	p := h.createBYOC(mw.URL)
	res := h.inbound(p, "m1", "t1", "u1", "hello") // warms the lookup cache
	var rotated struct{ Token, Secret string }
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/rotate-credentials", h.admin, nil, 200, &rotated)
	if rotated.Token == "" || rotated.Token == p.Token || rotated.Secret == p.Secret {
		t.Fatalf("rotation: %+v", rotated)
	}
	if status, _, _ := h.do("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"},
		"author": map[string]string{"id": "u1"}, "text": "x"}); status != 401 {
		t.Fatalf("old token after rotation: %d", status)
	}
	p.Token = rotated.Token
	h.inbound(p, "m3", "t1", "u1", "with the new token")
	mw.SetSecret(rotated.Secret)
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "signed anew"}, 202, nil)
	eventually(t, "callback verified with the new secret", func() bool { return len(mw.Received()) == 1 })
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	h := start(t, nil)
	p := h.createBYOC("http://127.0.0.1:9/unused")
	h.inbound(p, "m1", "t1", "u1", "hello")
	h.mustDo("GET", "/healthz", "", nil, 200, nil)
	var ready struct{ Status, Database string }
	h.mustDo("GET", "/readyz", "", nil, 200, &ready)
	if ready.Status != "ready" || ready.Database != string(storetest.Dialect()) {
		t.Fatalf("readyz: %+v", ready)
	}
	_, body, _ := h.do("GET", "/metrics", "", nil)
	for _, name := range []string{"parley_ingest_messages_total", "parley_ingest_ack_seconds", "parley_outbound_queue_depth", "parley_cases_waiting", "parley_outbound_send_seconds"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	var doc struct{ Paths map[string]any }
	h.mustDo("GET", "/api/v1/openapi.json", "", nil, 200, &doc)
	if doc.Paths["/api/v1/byoc/{pointOfContactID}/messages"] == nil {
		t.Fatal("openapi.json lacks the BYOC endpoint")
	}
}

// TestDemoData: --demo makes agents, skills, a BYOC point of contact and a
// case in every status, and the sandbox answers replies.
func TestDemoData(t *testing.T) {
	h := start(t, func(c *Config) { c.Demo = true })
	var list struct{ Items []apiCase }
	h.mustDo("GET", "/api/v1/cases?limit=50", h.admin, nil, 200, &list)
	seen := map[string]bool{}
	for _, c := range list.Items {
		seen[c.Status] = true
	}
	for _, st := range []string{"new", "open", "pending", "escalated", "resolved", "closed", "trashed"} {
		if !seen[st] {
			t.Errorf("no demo case is %s", st)
		}
	}
	var tok struct{ Token string }
	h.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": "alice@demo.parley.local", "password": DemoPassword}, 201, &tok)
	var pending apiCase
	for _, c := range list.Items {
		if c.Status == "pending" {
			pending = c
		}
	}
	eventually(t, "the sandbox answers and reports the demo reply delivered", func() bool {
		ms := h.messages(pending.ID)
		return len(ms) == 2 && (ms[1].Status == "delivered" || ms[1].Status == "read")
	})
}

// TestTwoNodesShareOnePostgres: two Parley processes on one PostgreSQL
// deliver every outbound message (none twice unless a lease ran out) and
// see each other's events.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	storetest.RequirePostgres(t)
	mw, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	dbURL, dir1 := storetest.URL(t)
	dir2 := t.TempDir()
	key := "PARLEY_SECRET_KEY"
	keyValue := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // both nodes must share the key
	getenv := func(k string) string {
		if k == key {
			return keyValue
		}
		return ""
	}
	var nodes []*App
	for _, dir := range []string{dir1, dir2} {
		cfg := Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL, AdminEmail: testAdminEmail, AdminPassword: testAdminPassword,
			BaseBackoff: 20 * time.Millisecond, Poll: 20 * time.Millisecond, Lease: 10 * time.Second, BcryptCost: 4, Getenv: getenv}
		a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		nodes = append(nodes, a)
	}
	h1 := &harness{t: t, app: nodes[0], url: nodes[0].URL()}
	h2 := &harness{t: t, app: nodes[1], url: nodes[1].URL()}
	var tok struct{ Token string }
	h1.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": testAdminEmail, "password": testAdminPassword}, 201, &tok)
	h1.admin, h2.admin = tok.Token, tok.Token
	p := h1.createBYOC(mw.URL)
	mw.SetSecret(p.Secret)

	// Node 2 streams events; a message ingested on node 1 reaches it.
	req, _ := newStreamRequest(h2.url+"/api/v1/events", tok.Token)
	events, stop := readSSE(t, req)
	defer stop()
	time.Sleep(300 * time.Millisecond) // the bridge's LISTEN is up
	var cases []string
	for i := 0; i < 10; i++ {
		res := h1.inbound(p, "in-"+string(rune('a'+i)), "t-"+string(rune('a'+i)), "u", "hi")
		cases = append(cases, res.CaseID)
	}
	select {
	case <-events:
	case <-time.After(10 * time.Second):
		t.Fatal("node 2 received no event from node 1")
	}
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h := h1
			if i%2 == 1 {
				h = h2
			}
			h.mustDo("POST", "/api/v1/cases/"+cases[i%10]+"/messages", tok.Token, map[string]string{"text": "reply"}, 202, nil)
		}(i)
	}
	wg.Wait()
	eventually(t, "100 deliveries", func() bool { return len(mw.Received()) >= 100 })
	time.Sleep(300 * time.Millisecond)
	seen := map[string]int{}
	for _, cb := range mw.Received() {
		seen[cb.MessageID]++
	}
	if len(seen) != 100 {
		t.Fatalf("%d distinct messages delivered, want 100", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times by two nodes", id, n)
		}
	}
}
