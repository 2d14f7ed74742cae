package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// fakeInbox is an in-memory Ingestor and HistorySource: inbound messages
// are deduplicated by platform id and kept per thread with what tests send.
type fakeInbox struct {
	mu      sync.Mutex
	events  []channel.InboundEvent
	threads map[string][]HistoryMessage
	byPID   map[string]string
	n       int
	fail    bool
	notify  chan channel.InboundEvent
}

func newFakeInbox() *fakeInbox {
	return &fakeInbox{threads: map[string][]HistoryMessage{}, byPID: map[string]string{}, notify: make(chan channel.InboundEvent, 100)}
}

func (f *fakeInbox) Ingest(ctx context.Context, poc *channel.PointOfContact, events []channel.InboundEvent) ([]channel.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, fmt.Errorf("database down")
	}
	var out []channel.IngestResult
	for i := range events {
		ev := events[i]
		f.events = append(f.events, ev)
		select {
		case f.notify <- ev:
		default:
		}
		if ev.Kind == channel.EventStatus {
			out = append(out, channel.IngestResult{Event: &events[i], Status: ev.Status})
			continue
		}
		if id, ok := f.byPID[ev.PlatformMessageID]; ok {
			out = append(out, channel.IngestResult{Event: &events[i], MessageID: id, CaseID: "case-1", Duplicate: true})
			continue
		}
		f.n++
		id := fmt.Sprintf("in-%d", f.n)
		f.byPID[ev.PlatformMessageID] = id
		var atts []HistoryAttachment
		for _, a := range ev.Attachments {
			atts = append(atts, HistoryAttachment{Name: a.Name, MimeType: a.MimeType, URL: "/files/" + id})
		}
		f.threads[ev.ThreadID] = append(f.threads[ev.ThreadID], HistoryMessage{ID: id, Direction: "inbound", AuthorType: "contact", Text: ev.Text,
			ChoiceID: ev.ChoiceID, PlatformMessageID: ev.PlatformMessageID, Status: "received", CreatedAt: time.Now(), Attachments: atts})
		out = append(out, channel.IngestResult{Event: &events[i], MessageID: id, CaseID: "case-1", ThreadID: ev.ThreadID})
	}
	return out, nil
}

func (f *fakeInbox) ThreadHistory(ctx context.Context, pocID, thread string, limit int) ([]HistoryMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms := f.threads[thread]
	if len(ms) > limit {
		ms = ms[len(ms)-limit:]
	}
	return append([]HistoryMessage(nil), ms...), nil
}

// addOutbound records an agent message as the inbox would before Send.
func (f *fakeInbox) addOutbound(thread string, msg *channel.OutboundMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.threads[thread] = append(f.threads[thread], HistoryMessage{ID: msg.ID, Direction: "outbound", AuthorType: msg.AuthorType,
		AuthorName: msg.AuthorName, Text: msg.Text, Rendered: msg.Rendered, Status: "sent", CreatedAt: time.Now()})
}

func (f *fakeInbox) Events() []channel.InboundEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]channel.InboundEvent(nil), f.events...)
}

// waitEvent waits for the next ingested event matching ok.
func (f *fakeInbox) waitEvent(t *testing.T, ok func(channel.InboundEvent) bool) channel.InboundEvent {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-f.notify:
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no matching event; got %+v", f.Events())
			return channel.InboundEvent{}
		}
	}
}

// waitAny waits until some ingested event (in any order) matches ok.
func (f *fakeInbox) waitAny(t *testing.T, ok func(channel.InboundEvent) bool) channel.InboundEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, ev := range f.Events() {
			if ok(ev) {
				return ev
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no matching event; got %+v", f.Events())
	return channel.InboundEvent{}
}

type fakeEmail struct {
	mu   sync.Mutex
	sent []string // email + " " + message id
	ch   chan string
}

func (e *fakeEmail) ContinueByEmail(ctx context.Context, poc *channel.PointOfContact, email string, msg *channel.OutboundMessage) error {
	e.mu.Lock()
	e.sent = append(e.sent, email+" "+msg.ID)
	e.mu.Unlock()
	e.ch <- email + " " + msg.ID
	return nil
}

// env is an adapter serving a real point of contact (created through
// channel.Points on a fresh database) over httptest.
type env struct {
	a      *Adapter
	inbox  *fakeInbox
	email  *fakeEmail
	srv    *httptest.Server
	poc    *channel.PointOfContact
	secret string
	origin string
	points *channel.Points
	ws     string
}

func newEnv(t *testing.T, settings map[string]any) *env {
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
	e := &env{inbox: newFakeInbox(), email: &fakeEmail{ch: make(chan string, 10)}, ws: ws}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.origin = e.srv.URL
	var points *channel.Points
	e.a = New(Options{Ingest: e.inbox, History: e.inbox, ContinueByEmail: e.email,
		Points: func(ctx context.Context, id string) (channel.PointOfContact, error) { return points.Lookup(ctx, id) },
		Limits: Limits{MessagesPerSecondVisitor: 100, MessagesPerSecondIP: 100, SessionsPerMinuteIP: 6000, UploadsPerMinuteVisitor: 6000}})
	t.Cleanup(e.a.Close)
	points = channel.NewPoints(db, box, channel.NewRegistry(e.a), time.Now)
	e.points = points
	if settings == nil {
		settings = map[string]any{}
	}
	if _, ok := settings[SettingAllowedOrigins]; !ok {
		settings[SettingAllowedOrigins] = []any{"https://shop.example", e.srv.URL}
	}
	created, gen, err := points.Create(ctx, ws, "", channel.NewPointOfContact{Type: Type, Name: "Website", Settings: settings})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	p, err := points.Lookup(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.poc, e.secret = &p, gen[CredentialIdentitySecret]
	h := e.a.Handler()
	mux.Handle("/chat/", h)
	mux.Handle("/widget.js", h)
	mux.Handle("/demo/site", e.a.DemoSite())
	return e
}

// do makes a request with an Origin and decodes a JSON answer.
func (e *env) do(t *testing.T, method, path, origin string, body any, want int, out any) http.Header {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		t.Fatalf("%s %s: status %d, want %d (%v)", method, path, resp.StatusCode, want, m)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.Header
}

type sessionAnswer struct {
	VisitorID     string `json:"visitor_id"`
	Token         string `json:"token"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	Verified      bool   `json:"verified"`
	PrechatNeeded bool   `json:"prechat_needed"`
}

func (e *env) session(t *testing.T, body map[string]any) sessionAnswer {
	t.Helper()
	var s sessionAnswer
	e.do(t, "POST", "/chat/"+e.poc.ID+"/session", e.origin, body, 200, &s)
	return s
}
