package email

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

var testNow = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// createPOC configures a point of contact through the core's own store, so
// Configure runs as in production and credentials are sealed for real.
func createPOC(t *testing.T, a *Adapter, settings map[string]any, creds map[string]string) *channel.PointOfContact {
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
	created, _, err := points.Create(ctx, ws, "", channel.NewPointOfContact{Type: Type, Name: "Support", Settings: settings, Credentials: creds})
	if err != nil {
		t.Fatalf("create point of contact: %v", err)
	}
	p, err := points.Get(ctx, ws, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

// fakeCore is an in-memory Ingestor, ThreadResolver and StateStore.
type fakeCore struct {
	mu       sync.Mutex
	events   []channel.InboundEvent
	byMsgID  map[string]string // platform message id → thread
	subjects []subjectEntry
	state    map[string]string
	fail     error // Ingest fails with it…
	failing  int   // …on this many next calls (-1: always)
	notify   chan struct{}
}

type subjectEntry struct {
	thread, author, subject string
	at                      time.Time
}

func newFakeCore() *fakeCore {
	return &fakeCore{byMsgID: map[string]string{}, state: map[string]string{}, notify: make(chan struct{})}
}

func (f *fakeCore) Ingest(ctx context.Context, poc *channel.PointOfContact, events []channel.InboundEvent) ([]channel.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing != 0 {
		if f.failing > 0 {
			f.failing--
		}
		return nil, f.fail
	}
	var out []channel.IngestResult
	for i := range events {
		ev := events[i]
		// Every call is recorded, duplicates included, so tests see re-reads.
		f.events = append(f.events, ev)
		_, dup := f.byMsgID[ev.PlatformMessageID]
		if !dup {
			f.byMsgID[ev.PlatformMessageID] = ev.ThreadID
			f.subjects = append(f.subjects, subjectEntry{ev.ThreadID, ev.AuthorID, NormaliseSubject(ev.Subject), testNow})
		}
		out = append(out, channel.IngestResult{Event: &events[i], ThreadID: ev.ThreadID, Duplicate: dup})
	}
	close(f.notify)
	f.notify = make(chan struct{})
	return out, nil
}

// sent records an outbound message id on a thread, as the core does after
// a successful Send.
func (f *fakeCore) sent(thread, platformID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byMsgID[platformID] = thread
}

func (f *fakeCore) ThreadByMessageIDs(ctx context.Context, pocID string, ids []string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if t, ok := f.byMsgID[id]; ok {
			return t, true, nil
		}
	}
	return "", false, nil
}

func (f *fakeCore) ThreadBySubject(ctx context.Context, pocID, authorID, subject string, since time.Time) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.subjects) - 1; i >= 0; i-- {
		s := f.subjects[i]
		if s.author == authorID && s.subject == NormaliseSubject(subject) && !s.at.Before(since) {
			return s.thread, true, nil
		}
	}
	return "", false, nil
}

func (f *fakeCore) Load(ctx context.Context, pocID, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state[pocID+"/"+key], nil
}

func (f *fakeCore) Save(ctx context.Context, pocID, key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[pocID+"/"+key] = value
	return nil
}

func (f *fakeCore) Events() []channel.InboundEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]channel.InboundEvent(nil), f.events...)
}

// waitEvents waits until n events were ingested.
func (f *fakeCore) waitEvents(t *testing.T, n int) []channel.InboundEvent {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		evs, ch := append([]channel.InboundEvent(nil), f.events...), f.notify
		f.mu.Unlock()
		if len(evs) >= n {
			return evs
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("waited for %d ingested events, have %d", n, len(evs))
		}
	}
}

func (f *fakeCore) env(pts ...*channel.PointOfContact) channel.RunEnv {
	return channel.RunEnv{
		Points: func(ctx context.Context) ([]channel.PointOfContact, error) {
			out := make([]channel.PointOfContact, len(pts))
			for i, p := range pts {
				out[i] = *p
			}
			return out, nil
		},
		Ingest:  f,
		State:   f,
		Threads: f,
	}
}

var errIngest = errors.New("database is down")

// crlf turns a readable test message into wire form.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n"))
}

func newTestAdapter(o Options) *Adapter {
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	return New(o)
}

// smtpOnlyPOC is a point of contact receiving through Parley's receiver and
// sending through a local SMTP server.
func smtpOnlyPOC(t *testing.T, a *Adapter, smtpAddr string) *channel.PointOfContact {
	host, port := splitHostPort(t, smtpAddr)
	return createPOC(t, a, map[string]any{
		SettingAddress: "support@acme.test", SettingDisplayName: "Acme Support", SettingReceive: ReceiveSMTP,
		SettingSMTPHost: host, SettingSMTPPort: port, SettingSMTPTLS: TLSNone,
	}, nil)
}

func (f *fakeCore) setFailing(n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing, f.fail = n, err
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}
