package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel/byoc/fake"
)

func countRows(t *testing.T, h *harness, table string) int {
	t.Helper()
	var n int
	if err := h.app.DB.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBadInputChangesNothing: wrong token, another workspace, malformed
// JSON, oversize bodies and illegal transitions get clear errors and store
// nothing.
func TestBadInputChangesNothing(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxBodyBytes = 64 << 10 })
	p := h.createBYOC("http://127.0.0.1:9/unused")
	res := h.inbound(p, "m1", "t1", "u1", "hello")
	before := map[string]int{}
	tables := []string{"messages", "cases", "threads", "contacts", "attachments", "deliveries"}
	for _, tb := range tables {
		before[tb] = countRows(t, h, tb)
	}
	valid := map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"}, "author": map[string]string{"id": "u1"}, "text": "x"}
	path := "/api/v1/byoc/" + p.ID + "/messages"

	cases := []struct {
		name   string
		path   string
		token  string
		body   any
		status int
	}{
		{"wrong token", path, "byoc_wrong", valid, 401},
		{"no token", path, "", valid, 401},
		{"user token on the BYOC endpoint", path, h.admin, valid, 401},
		{"unknown point of contact", "/api/v1/byoc/0192c7a0-0000-7000-8000-000000000000/messages", p.Token, valid, 404},
		{"malformed JSON", path, p.Token, []byte(`{"id": "m2", "thread": `), 400},
		{"not an object", path, p.Token, []byte(`[1,2]`), 400},
		{"missing id", path, p.Token, map[string]any{"thread": map[string]string{"id": "t1"}, "author": map[string]string{"id": "u1"}, "text": "x"}, 400},
		{"missing author", path, p.Token, map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"}, "text": "x"}, 400},
		{"empty message", path, p.Token, map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"}, "author": map[string]string{"id": "u1"}}, 400},
		{"wrong type", path, p.Token, map[string]any{"id": 5, "thread": map[string]string{"id": "t1"}, "author": map[string]string{"id": "u1"}, "text": "x"}, 400},
		{"bad sent_at", path, p.Token, map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"}, "author": map[string]string{"id": "u1"}, "text": "x", "sent_at": "yesterday"}, 400},
		{"bad base64", path, p.Token, map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"}, "author": map[string]string{"id": "u1"}, "attachments": []map[string]string{{"data": "!!"}}}, 400},
		{"oversize", path, p.Token, map[string]any{"id": "m2", "thread": map[string]string{"id": "t1"}, "author": map[string]string{"id": "u1"}, "text": strings.Repeat("a", 70<<10)}, 413},
		{"bad receipt status", "/api/v1/byoc/" + p.ID + "/statuses", p.Token, map[string]string{"message_id": "x", "status": "seen"}, 400},
	}
	for _, c := range cases {
		status, body, hdr := h.do("POST", c.path, c.token, c.body)
		if status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, status, c.status, body)
			continue
		}
		if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: content type %q, want application/problem+json", c.name, ct)
		}
		var pr struct {
			Status int
			Detail string
		}
		if json.Unmarshal(body, &pr) != nil || pr.Status != c.status || pr.Detail == "" {
			t.Errorf("%s: not a problem document: %s", c.name, body)
		}
	}
	for _, tb := range tables {
		if n := countRows(t, h, tb); n != before[tb] {
			t.Errorf("%s: %d rows after bad input, had %d", tb, n, before[tb])
		}
	}

	// API errors.
	if status, _, _ := h.do("GET", "/api/v1/cases", "pat_nope", nil); status != 401 {
		t.Errorf("bad API token: %d", status)
	}
	if status, body, _ := h.do("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, []byte(`{"text": `)); status != 400 {
		t.Errorf("malformed reply: %d %s", status, body)
	}
	if status, body, _ := h.do("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]any{"txt": "typo"}); status != 400 {
		t.Errorf("unknown field: %d %s", status, body)
	}
	if status, _, _ := h.do("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, bytes.Repeat([]byte("a"), 70<<10)); status != 413 {
		t.Errorf("oversize reply: %d", status)
	}
	status, body, _ := h.do("PATCH", "/api/v1/cases/"+res.CaseID, h.admin, map[string]string{"status": "closed"})
	if status != 409 || !strings.Contains(string(body), "allowed") {
		t.Errorf("new → closed: %d %s", status, body)
	}
	h.setStatus(res.CaseID, "resolved", 200)
	h.setStatus(res.CaseID, "closed", 200)
	h.setStatus(res.CaseID, "open", 409)
	if got := h.getCase(res.CaseID).Status; got != "closed" {
		t.Errorf("a refused transition changed the case: %s", got)
	}
	h.setStatus(res.CaseID, "bogus", 400)
}

// TestWorkspaceIsolation: another workspace's token sees nothing of this one.
func TestWorkspaceIsolation(t *testing.T) {
	h := start(t, nil)
	p := h.createBYOC("http://127.0.0.1:9/unused")
	res := h.inbound(p, "m1", "t1", "u1", "hello")

	ctx := context.Background()
	ws, err := h.app.Accounts.CreateWorkspace(ctx, h.app.DB, "Other Corp")
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.app.Accounts.CreateUser(ctx, h.app.DB, ws.ID, account.NewUser{Email: "boss@other.example", Role: account.RoleAdmin, Password: "other-password"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := h.app.Accounts.CreateToken(ctx, &other, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/cases/" + res.CaseID, "/api/v1/cases/" + res.CaseID + "/messages", "/api/v1/contacts/" + res.ContactID,
		"/api/v1/points-of-contact/" + p.ID, "/api/v1/cases/" + res.CaseID + "/notes"} {
		if status, body, _ := h.do("GET", path, tok, nil); status != 404 {
			t.Errorf("GET %s from another workspace: %d %s", path, status, body)
		}
	}
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "/api/v1/cases/" + res.CaseID, map[string]string{"status": "open"}},
		{"POST", "/api/v1/cases/" + res.CaseID + "/messages", map[string]string{"text": "hi"}},
		{"POST", "/api/v1/cases/" + res.CaseID + "/notes", map[string]string{"body": "hi"}},
		{"PATCH", "/api/v1/points-of-contact/" + p.ID, map[string]string{"name": "mine"}},
		{"DELETE", "/api/v1/points-of-contact/" + p.ID, nil},
	} {
		if status, body, _ := h.do(w.method, w.path, tok, w.body); status != 404 {
			t.Errorf("%s %s from another workspace: %d %s", w.method, w.path, status, body)
		}
	}
	var list struct{ Items []any }
	h.mustDo("GET", "/api/v1/cases", tok, nil, 200, &list)
	if len(list.Items) != 0 {
		t.Errorf("other workspace lists %d cases", len(list.Items))
	}
	h.mustDo("GET", "/api/v1/contacts", tok, nil, 200, &list)
	if len(list.Items) != 0 {
		t.Errorf("other workspace lists %d contacts", len(list.Items))
	}
	if got := h.getCase(res.CaseID).Status; got != "new" {
		t.Errorf("case changed: %s", got)
	}
}

// TestAgentChannelPermissions: an agent limited to one point of contact
// sees and answers only its cases.
func TestAgentChannelPermissions(t *testing.T) {
	h := start(t, nil)
	p1 := h.createBYOC("http://127.0.0.1:9/unused")
	p2 := h.createBYOC("http://127.0.0.1:9/unused")
	c1 := h.inbound(p1, "m1", "t1", "u1", "one")
	c2 := h.inbound(p2, "m2", "t2", "u2", "two")
	h.mustDo("POST", "/api/v1/users", h.admin, map[string]any{"email": "agent@example.com", "password": "agent-password", "role": "agent",
		"channel_permissions": map[string][]string{p1.ID: {"note"}}}, 201, nil)
	var tok struct{ Token string }
	h.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": "agent@example.com", "password": "agent-password"}, 201, &tok)
	var list struct{ Items []apiCase }
	h.mustDo("GET", "/api/v1/cases", tok.Token, nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != c1.CaseID {
		t.Fatalf("agent sees %+v", list.Items)
	}
	h.mustDo("GET", "/api/v1/cases/"+c2.CaseID, tok.Token, nil, 404, nil)
	h.mustDo("POST", "/api/v1/cases/"+c1.CaseID+"/messages", tok.Token, map[string]string{"text": "hi"}, 403, nil)
	h.mustDo("POST", "/api/v1/cases/"+c1.CaseID+"/notes", tok.Token, map[string]string{"body": "internal"}, 201, nil)
	h.mustDo("POST", "/api/v1/points-of-contact", tok.Token, map[string]any{"type": "byoc", "name": "x", "settings": map[string]string{"callback_url": "http://x"}}, 403, nil)
}

// TestDeliveryRetriesAndFailure: the callback refusing connections,
// answering 500, or 429 with Retry-After is retried until it recovers;
// past the retry limit the message is failed with the reason.
func TestDeliveryRetriesAndFailure(t *testing.T) {
	h, mw, p := startWithMiddleware(t, func(c *Config) { c.MaxAttempts = 5 })
	res := h.inbound(p, "m1", "t1", "u1", "hello")

	mw.FailNext(fake.Failure{Status: 0}, fake.Failure{Status: 500, Body: "boom"}, fake.Failure{Status: 429, RetryAfter: "1"})
	started := time.Now()
	var m apiMessage
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "retry me"}, 202, &m)
	eventually(t, "delivery after three failures", func() bool { return len(mw.Received()) == 1 })
	if waited := time.Since(started); waited < time.Second {
		t.Errorf("Retry-After: 1 not honoured (delivered after %s)", waited)
	}
	if cb := mw.Received()[0]; cb.MessageID != m.ID || cb.Attempt != "4" {
		t.Errorf("callback %+v, want attempt 4", cb)
	}
	eventually(t, "sent", func() bool { return h.messages(res.CaseID)[1].Status == "sent" })

	// Past the limit: failed, with the platform's reason visible.
	mw.FailNext(fake.Failure{Status: 503, Body: "maintenance"}, fake.Failure{Status: 503, Body: "maintenance"}, fake.Failure{Status: 503, Body: "maintenance"},
		fake.Failure{Status: 503, Body: "maintenance"}, fake.Failure{Status: 503, Body: "maintenance"})
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "doomed"}, 202, &m)
	var failed apiMessage
	eventually(t, "failed", func() bool { failed = h.messages(res.CaseID)[2]; return failed.Status == "failed" })
	if !strings.Contains(failed.StatusReason, "503") || !strings.Contains(failed.StatusReason, "maintenance") || !strings.Contains(failed.StatusReason, "5 attempts") {
		t.Errorf("failure reason %q", failed.StatusReason)
	}
	// A permanent error (4xx) fails at once.
	mw.FailNext(fake.Failure{Status: 400, Body: "unknown recipient"})
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "bad"}, 202, &m)
	eventually(t, "failed at once", func() bool { failed = h.messages(res.CaseID)[3]; return failed.Status == "failed" })
	if !strings.Contains(failed.StatusReason, "unknown recipient") || strings.Contains(failed.StatusReason, "attempts") {
		t.Errorf("permanent failure reason %q", failed.StatusReason)
	}
	// Messages after a failure still go out, in order.
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "a"}, 202, nil)
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "b"}, 202, nil)
	eventually(t, "a and b", func() bool { return len(mw.Received()) == 3 })
	if r := mw.Received(); r[1].Text != "a" || r[2].Text != "b" {
		t.Errorf("order: %q then %q", r[1].Text, r[2].Text)
	}
}
