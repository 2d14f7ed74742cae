package realtime

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func testPostgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("PARLEY_TEST_POSTGRES_URL not set: skipping PostgreSQL test")
	}
	return u
}

func randomName(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:12])
}

// withAppName adds application_name to a PostgreSQL URL so the test can find
// its own connections.
func withAppName(t *testing.T, connString, name string) string {
	t.Helper()
	u, err := url.Parse(connString)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

type testNode struct {
	hub    *Hub
	bridge *PGBridge
	done   chan error
}

func startNode(t *testing.T, connString, channel, nodeID string, opts ...PGBridgeOption) *testNode {
	t.Helper()
	h := NewHub(nil)
	opts = append([]PGBridgeOption{WithPGChannel(channel), WithPGReconnectBackoff(10*time.Millisecond, 100*time.Millisecond)}, opts...)
	b := NewPGBridge(connString, h, nodeID, nil, opts...)
	h.SetBroadcaster(b)
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{hub: h, bridge: b, done: make(chan error, 1)}
	go func() { n.done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-n.done; err != nil {
			t.Errorf("Run = %v", err)
		}
		h.Close()
		b.Close()
	})
	select {
	case <-b.Ready():
	case err := <-n.done:
		t.Fatalf("bridge stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("bridge not listening")
	}
	return n
}

func TestPGBridge(t *testing.T) {
	pgURL := testPostgresURL(t)
	channel := randomName("parley_test_")
	a := startNode(t, pgURL, channel, "node-a")
	b := startNode(t, pgURL, channel, "node-b")

	subA := a.hub.Subscribe(inWorkspace("w1"), 64)
	defer subA.Close()
	subB := b.hub.Subscribe(inWorkspace("w1"), 64)
	defer subB.Close()
	otherB := b.hub.Subscribe(inWorkspace("w2"), 64)
	defer otherB.Close()

	at := time.Now().UTC().Truncate(time.Microsecond)
	e1 := Event{ID: "e1", Type: TypeMessageCreated, WorkspaceID: "w1", PointOfContactID: "p1", CaseID: "c1",
		Data: json.RawMessage(`{"text":"hello"}`), At: at}
	big := json.RawMessage(`{"text":"` + strings.Repeat("é", 5000) + `"}`) // 10 kB
	e2 := Event{ID: "e2", Type: TypeMessageCreated, WorkspaceID: "w1", CaseID: "c1", Data: big, At: at}
	a.hub.Publish(e1, e2)

	// Node A's subscriber gets both at once, with full data.
	if got := recv(t, subA); got.ID != "e1" {
		t.Fatalf("A got %s, want e1", got.ID)
	}
	if got := recv(t, subA); got.ID != "e2" || string(got.Data) != string(big) || got.DataTruncated {
		t.Fatalf("A got %s (truncated %v), want e2 with its data", got.ID, got.DataTruncated)
	}

	// Node B's gets them through PostgreSQL; the big one without its data.
	got := recv(t, subB)
	if got.ID != "e1" || got.Type != e1.Type || got.PointOfContactID != "p1" || got.CaseID != "c1" ||
		string(got.Data) != `{"text":"hello"}` || !got.At.Equal(at) || got.DataTruncated {
		t.Fatalf("B got %+v, want %+v", got, e1)
	}
	got = recv(t, subB)
	if got.ID != "e2" || got.Data != nil || !got.DataTruncated {
		t.Fatalf("B got %s data %d bytes truncated %v, want e2 with data removed and DataTruncated",
			got.ID, len(got.Data), got.DataTruncated)
	}
	expectNone(t, otherB)

	// B answers; when A hears B's event, any echo of A's own events would
	// already have arrived (notifications come in commit order).
	b.hub.Publish(Event{ID: "sentinel", Type: TypeCaseUpdated, WorkspaceID: "w1"})
	if got := recv(t, subA); got.ID != "sentinel" {
		t.Fatalf("A got %s, want sentinel (own events must not come back)", got.ID)
	}
	if got := recv(t, subB); got.ID != "sentinel" {
		t.Fatalf("B got %s, want its own sentinel once", got.ID)
	}
	time.Sleep(100 * time.Millisecond)
	expectNone(t, subA)
	expectNone(t, subB)
}

func TestPGBridgeChannelsIsolated(t *testing.T) {
	pgURL := testPostgresURL(t)
	a := startNode(t, pgURL, randomName("parley_test_"), "node-a")
	b := startNode(t, pgURL, randomName("parley_test_"), "node-b")
	subB := b.hub.Subscribe(nil, 8)
	a.hub.Publish(Event{ID: "x", Type: TypeCaseCreated, WorkspaceID: "w"})
	b.hub.Publish(Event{ID: "y", Type: TypeCaseCreated, WorkspaceID: "w"})
	if got := recv(t, subB); got.ID != "y" {
		t.Fatalf("B got %s", got.ID)
	}
	time.Sleep(100 * time.Millisecond)
	expectNone(t, subB)
}

func TestPGBridgeReconnects(t *testing.T) {
	pgURL := testPostgresURL(t)
	channel := randomName("parley_test_")
	appName := randomName("parley_test_app_")
	a := startNode(t, pgURL, channel, "node-a")
	b := startNode(t, withAppName(t, pgURL, appName), channel, "node-b")

	subB := b.hub.Subscribe(nil, 8)
	a.hub.Publish(Event{ID: "before", Type: TypeCaseCreated, WorkspaceID: "w"})
	if got := recv(t, subB); got.ID != "before" {
		t.Fatalf("B got %s", got.ID)
	}
	// Open B's sending connection, so that it is killed too.
	if err := b.bridge.Broadcast(t.Context(), Event{ID: "open", Type: TypeCaseUpdated, WorkspaceID: "w"}); err != nil {
		t.Fatal(err)
	}
	if killed := countConns(t, pgURL, appName); killed != 2 {
		t.Fatalf("node B has %d connections, want 2 (listening and sending)", killed)
	}

	// Kill node B's connections from the server side.
	admin, err := pgx.Connect(t.Context(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var killed int
	if err := admin.QueryRow(t.Context(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		appName).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("found no connection of node B to terminate")
	}

	// B's subscribers are told they may have missed events.
	select {
	case <-subB.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("subscription not ended after the listener reconnected")
	}
	if !errors.Is(subB.Err(), ErrEventsMissed) {
		t.Fatalf("Err() = %v, want ErrEventsMissed", subB.Err())
	}

	// After reconnecting, events flow both ways again (B's sending
	// connection was killed too and is replaced on use).
	subB2 := b.hub.Subscribe(nil, 8)
	subA := a.hub.Subscribe(nil, 8)
	a.hub.Publish(Event{ID: "after", Type: TypeCaseCreated, WorkspaceID: "w"})
	if got := recv(t, subB2); got.ID != "after" {
		t.Fatalf("B got %s", got.ID)
	}
	if got := recv(t, subA); got.ID != "after" {
		t.Fatalf("A got %s", got.ID)
	}
	if err := b.bridge.Broadcast(t.Context(), Event{ID: "fromB", Type: TypeCaseUpdated, WorkspaceID: "w"}); err != nil {
		t.Fatalf("Broadcast after the sending connection was killed: %v", err)
	}
	if got := recv(t, subA); got.ID != "fromB" {
		t.Fatalf("A got %s", got.ID)
	}
}

func countConns(t *testing.T, pgURL, appName string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPGBridgeIdlePing: a listener that hears nothing pings the server and
// keeps listening on the same connection.
func TestPGBridgeIdlePing(t *testing.T) {
	pgURL := testPostgresURL(t)
	channel := randomName("parley_test_")
	fastIdle := func(b *PGBridge) { b.idleCheck = 10 * time.Millisecond }
	a := startNode(t, pgURL, channel, "node-a")
	b := startNode(t, pgURL, channel, "node-b", fastIdle)
	subB := b.hub.Subscribe(nil, 8)
	time.Sleep(200 * time.Millisecond) // many idle checks
	a.hub.Publish(Event{ID: "x", Type: TypeCaseCreated, WorkspaceID: "w"})
	if got := recv(t, subB); got.ID != "x" {
		t.Fatalf("B got %s", got.ID)
	}
	if subB.Err() != nil {
		t.Fatalf("subscription ended: %v (the listener reconnected)", subB.Err())
	}
}

func TestPGPayload(t *testing.T) {
	b := NewPGBridge("", NewHub(nil), "n1", nil)
	small := Event{ID: "1", Type: TypeCaseUpdated, WorkspaceID: "w", Data: json.RawMessage(`{"a":1}`)}
	p, err := b.payload(small)
	if err != nil {
		t.Fatal(err)
	}
	var env pgEnvelope
	if err := json.Unmarshal([]byte(p), &env); err != nil || env.Node != "n1" || string(env.Event.Data) != `{"a":1}` {
		t.Fatalf("payload %s: %v", p, err)
	}

	big := small
	big.Data = json.RawMessage(`"` + strings.Repeat("a", MaxPGPayload) + `"`)
	p, err = b.payload(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) > MaxPGPayload || !strings.Contains(p, `"data_truncated":true`) || strings.Contains(p, `"data":`) {
		t.Fatalf("big payload not truncated: %d bytes", len(p))
	}

	huge := small
	huge.CaseID = strings.Repeat("c", MaxPGPayload)
	if _, err := b.payload(huge); err == nil {
		t.Fatal("an event too big even without data was accepted")
	}

	if err := NewPGBridge("::not a conn string::", NewHub(nil), "", nil).Run(t.Context()); err == nil {
		t.Fatal("Run accepted an unparsable connection string")
	}
}
