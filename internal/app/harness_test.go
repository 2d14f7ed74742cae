package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// harness is a running Parley on a fresh database, driven over real HTTP.
type harness struct {
	t     *testing.T
	app   *App
	url   string
	admin string // admin API token
	stop  func() // stops the server (also done at cleanup)
}

const testAdminEmail, testAdminPassword = "admin@example.com", "correct-horse-battery"

func start(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	dbURL, dir := storetest.URL(t)
	return startOn(t, dbURL, dir, mutate)
}

func storetestURL(t *testing.T) (string, string) { return storetest.URL(t) }

// startOn runs Parley on an existing database and data directory.
func startOn(t *testing.T, dbURL, dir string, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL, AdminEmail: testAdminEmail, AdminPassword: testAdminPassword,
		BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 50 * time.Millisecond, Lease: 5 * time.Second, MaxAttempts: 4,
		CallbackTimeout: 2 * time.Second, BcryptCost: 4, AllowPrivateFetch: true, Getenv: func(string) string { return "" }}
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatalf("start parley on %s: %v", storetest.Describe(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	h := &harness{t: t, app: a, url: a.URL(), stop: stop}
	var tok struct{ Token string }
	h.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": testAdminEmail, "password": testAdminPassword}, 201, &tok)
	h.admin = tok.Token
	return h
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// do sends a request; body may be a []byte (sent raw) or a value (JSON).
func (h *harness) do(method, path, token string, body any, headers ...string) (int, []byte, http.Header) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

func (h *harness) mustDo(method, path, token string, body any, want int, out any) []byte {
	h.t.Helper()
	status, raw, _ := h.do(method, path, token, body)
	if status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return raw
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for: %s", what)
}

// startWithMiddleware runs Parley with a BYOC point of contact whose
// callback is a fake middleware that verifies signatures.
func startWithMiddleware(t *testing.T, mutate func(*Config)) (*harness, *fake.Middleware, byocPoint) {
	t.Helper()
	mw, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	h := start(t, mutate)
	p := h.createBYOC(mw.URL)
	mw.SetSecret(p.Secret)
	return h, mw, p
}

type byocPoint struct {
	ID, Token, Secret string
}

func (h *harness) createBYOC(callbackURL string) byocPoint {
	h.t.Helper()
	var out struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
		Token, Secret  string
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "byoc", "name": "Middleware",
		"settings": map[string]any{"callback_url": callbackURL}}, 201, &out)
	if out.Token == "" || out.Secret == "" {
		h.t.Fatalf("creation did not return token and secret")
	}
	return byocPoint{ID: out.PointOfContact.ID, Token: out.Token, Secret: out.Secret}
}

type ingestResult struct {
	MessageID string `json:"message_id"`
	CaseID    string `json:"case_id"`
	ThreadID  string `json:"thread_id"`
	ContactID string `json:"contact_id"`
	Duplicate bool   `json:"duplicate"`
}

func (h *harness) inbound(p byocPoint, id, thread, author, text string) ingestResult {
	h.t.Helper()
	var res ingestResult
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": id, "thread": map[string]string{"id": thread, "name": "Chat " + thread},
		"author": map[string]string{"id": author, "name": "Customer " + author}, "text": text, "sent_at": time.Now().UTC().Format(time.RFC3339)}, 200, &res)
	return res
}

type apiCase struct {
	ID, Status string
	ThreadID   string `json:"thread_id"`
	ContactID  string `json:"contact_id"`
	Tags       []string
}

type apiMessage struct {
	ID, Direction, Text, Status string
	StatusReason                string  `json:"status_reason"`
	PlatformMessageID           *string `json:"platform_message_id"`
	Attachments                 []struct {
		ID, Name string
		MimeType string `json:"mime_type"`
		Size     int64
	}
}

func (h *harness) messages(caseID string) []apiMessage {
	h.t.Helper()
	var page struct{ Items []apiMessage }
	h.mustDo("GET", "/api/v1/cases/"+caseID+"/messages", h.admin, nil, 200, &page)
	return page.Items
}

func (h *harness) getCase(id string) apiCase {
	h.t.Helper()
	var c apiCase
	h.mustDo("GET", "/api/v1/cases/"+id, h.admin, nil, 200, &c)
	return c
}

func (h *harness) setStatus(id, status string, want int) {
	h.t.Helper()
	h.mustDo("PATCH", "/api/v1/cases/"+id, h.admin, map[string]string{"status": status}, want, nil)
}
