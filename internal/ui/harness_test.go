package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/channel/byoc/fake"
	"github.com/parleyhq/parley/internal/store/storetest"
	"github.com/parleyhq/parley/internal/ui"
)

const adminEmail, adminPassword = "admin@example.com", "correct-horse-battery"

// harness is a running Parley (real HTTP on loopback, a fresh SQLite or
// PostgreSQL database) with the UI mounted at /ui/ in front of the app's
// own handler, as internal/app mounts it.
type harness struct {
	t     *testing.T
	app   *app.App
	ui    *ui.Handler
	url   string
	admin string // admin API token
}

func start(t *testing.T) *harness {
	t.Helper()
	dbURL, dir := storetest.URL(t)
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL, AdminEmail: adminEmail, AdminPassword: adminPassword,
		BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 50 * time.Millisecond, Lease: 5 * time.Second, MaxAttempts: 4,
		CallbackTimeout: 2 * time.Second, BcryptCost: 4, AllowPrivateFetch: true, Getenv: func(string) string { return "" }}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatalf("start parley on %s: %v", storetest.Describe(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	// The app's own UI (every dependency wired as in production), in
	// front of the app's handler like cmd/parley serves it.
	h := a.UI
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	hs := &harness{t: t, app: a, ui: h, url: srv.URL}
	var tok struct{ Token string }
	hs.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": adminEmail, "password": adminPassword}, 201, &tok)
	hs.admin = tok.Token
	return hs
}

// do sends a request; body may be []byte (raw), url.Values-like string
// (form, with Content-Type given in headers) or a value (JSON).
func (h *harness) do(method, path, token string, body any, headers ...string) (int, []byte, http.Header) {
	h.t.Helper()
	var r io.Reader
	isJSON := false
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r, isJSON = bytes.NewReader(raw), true
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
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

// session signs in with the session API and returns the cookie value.
func (h *harness) session(email, password string) string {
	h.t.Helper()
	status, raw, hdr := h.do("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password})
	if status != 200 {
		h.t.Fatalf("login %s: %d %s", email, status, raw)
	}
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == ui.SessionCookie {
			return c.Value
		}
	}
	h.t.Fatal("no session cookie")
	return ""
}

// page GETs a UI page with a session cookie (and an optional language).
func (h *harness) page(path, session string, headers ...string) (int, string) {
	h.t.Helper()
	hd := append([]string{"Cookie", ui.SessionCookie + "=" + session}, headers...)
	status, body, _ := h.do("GET", path, "", nil, hd...)
	return status, string(body)
}

// form POSTs a form to the UI with a session cookie.
func (h *harness) form(path, session, body string) (int, string, http.Header) {
	h.t.Helper()
	status, raw, hdr := h.do("POST", path, "", body, "Cookie", ui.SessionCookie+"="+session, "Content-Type", "application/x-www-form-urlencoded")
	return status, string(raw), hdr
}

type byocPoint struct{ ID, Token, Secret string }

func (h *harness) createBYOC(name, callbackURL string) byocPoint {
	h.t.Helper()
	var out struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
		Token, Secret  string
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "byoc", "name": name,
		"settings": map[string]any{"callback_url": callbackURL}}, 201, &out)
	return byocPoint{ID: out.PointOfContact.ID, Token: out.Token, Secret: out.Secret}
}

// middleware starts a fake BYOC middleware and a point of contact calling it.
func (h *harness) middleware(name string) (*fake.Middleware, byocPoint) {
	h.t.Helper()
	mw, err := fake.Start()
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { mw.Close() })
	p := h.createBYOC(name, mw.URL)
	mw.SetSecret(p.Secret)
	return mw, p
}

type ingestResult struct {
	MessageID string `json:"message_id"`
	CaseID    string `json:"case_id"`
	ContactID string `json:"contact_id"`
}

// inbound posts a customer message to a BYOC point of contact.
func (h *harness) inbound(p byocPoint, id, thread, author, name, text string) ingestResult {
	h.t.Helper()
	var res ingestResult
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": id, "thread": map[string]string{"id": thread, "name": "Chat " + thread},
		"author": map[string]string{"id": author, "name": name}, "text": text, "sent_at": time.Now().UTC().Format(time.RFC3339)}, 200, &res)
	return res
}

// comment posts a customer's public comment (a social thread) to a BYOC
// point of contact.
func (h *harness) comment(p byocPoint, id, post, author, name, text string) ingestResult {
	h.t.Helper()
	var res ingestResult
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": id, "thread": map[string]string{"id": post, "name": "Post " + post},
		"author": map[string]string{"id": author, "name": name}, "text": text, "visibility": "public", "sent_at": time.Now().UTC().Format(time.RFC3339)}, 200, &res)
	return res
}

func (h *harness) createUser(email, role string, perms map[string][]string) {
	h.t.Helper()
	h.mustDo("POST", "/api/v1/users", h.admin, map[string]any{"email": email, "name": "User " + email, "role": role, "password": adminPassword,
		"channel_permissions": perms}, 201, nil)
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for: %s", what)
}
