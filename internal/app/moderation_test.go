package app

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
)

// Moderation of public messages through the API: each action needs its
// channel permission (403 before anything reaches the platform), private
// messages and agents' own messages cannot be moderated (409), the
// middleware is asked with a signed callback, a refusal returns the
// platform's reason (502) and changes nothing, and the flags say what is
// true on the platform.
func TestModerationAPI(t *testing.T) {
	h, mw, p := startWithMiddleware(t, nil)
	post := func(id, visibility, text string) ingestResult {
		var res ingestResult
		h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": id, "thread": map[string]string{"id": "post-1", "name": "Launch post"},
			"author": map[string]string{"id": "fan-1", "name": "Fan"}, "text": text, "visibility": visibility, "sent_at": time.Now().UTC().Format(time.RFC3339)}, 200, &res)
		return res
	}
	comment := post("c-1", "public", "Your product broke after a day!")
	private := post("dm-1", "", "Can you help me privately?")
	// A bad visibility is a 400 naming the field.
	status, body, _ := h.do("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": "x", "thread": map[string]string{"id": "t"},
		"author": map[string]string{"id": "a"}, "text": "x", "visibility": "everyone"})
	if status != 400 || !strings.Contains(string(body), "visibility") {
		t.Fatalf("bad visibility: %d %s", status, body)
	}

	agent := func(email string, actions ...string) string {
		h.mustDo("POST", "/api/v1/users", h.admin, map[string]any{"email": email, "password": "agent-password", "role": "agent",
			"channel_permissions": map[string][]string{p.ID: append([]string{"reply", "note"}, actions...)}}, 201, nil)
		var tok struct{ Token string }
		h.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": email, "password": "agent-password"}, 201, &tok)
		return tok.Token
	}
	replier := agent("replier@example.com")
	moderator := agent("moderator@example.com", "hide", "like")

	// Without the permission: 403 for every action, and the middleware
	// hears nothing.
	for _, a := range []string{"hide", "unhide", "delete", "like", "unlike"} {
		h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/"+a, replier, nil, 403, nil)
	}
	h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/delete", moderator, nil, 403, nil)
	if n := len(mw.Moderations()); n != 0 {
		t.Fatalf("%d moderation callbacks after refusals", n)
	}

	type msg struct {
		ID, Visibility         string
		Hidden, Deleted, Liked bool
	}
	var m msg
	h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/hide", moderator, nil, 200, &m)
	if !m.Hidden || m.Visibility != "public" {
		t.Fatalf("after hide: %+v", m)
	}
	got := mw.Moderations()
	if len(got) != 1 || got[0].Action != "hide" || got[0].Message.ID != comment.MessageID || got[0].Message.PlatformID != "c-1" ||
		got[0].Thread.ID != "post-1" || got[0].Author.ID != "fan-1" || got[0].PointOfContactID != p.ID {
		t.Fatalf("moderation callback: %+v", got)
	}
	// Hiding again asks the platform nothing.
	h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/hide", moderator, nil, 200, &m)
	if len(mw.Moderations()) != 1 {
		t.Fatalf("a second hide called the platform")
	}
	// The platform refuses a like: 502 with its reason; nothing changes.
	mw.FailNext(fake.Failure{Status: 403, Body: `{"error":"liking is not allowed on this post"}`})
	status, body, _ = h.do("POST", "/api/v1/messages/"+comment.MessageID+"/like", moderator, nil)
	if status != 502 || !strings.Contains(string(body), "liking is not allowed") {
		t.Fatalf("refused like: %d %s", status, body)
	}
	h.mustDo("GET", "/api/v1/messages/"+comment.MessageID, moderator, nil, 200, &m)
	if m.Liked || !m.Hidden {
		t.Fatalf("after a refused like: %+v", m)
	}
	h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/like", moderator, nil, 200, &m)
	h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/unhide", moderator, nil, 200, &m)
	if !m.Liked || m.Hidden {
		t.Fatalf("after like and unhide: %+v", m)
	}
	// Private messages and the business's own messages are not moderated.
	status, body, _ = h.do("POST", "/api/v1/messages/"+private.MessageID+"/hide", moderator, nil)
	if status != 409 || !strings.Contains(string(body), "private") {
		t.Fatalf("hide a private message: %d %s", status, body)
	}
	var sent struct{ ID string }
	h.mustDo("POST", "/api/v1/cases/"+comment.CaseID+"/messages", h.admin, map[string]string{"text": "Sorry! We sent you a DM."}, 202, &sent)
	h.mustDo("POST", "/api/v1/messages/"+sent.ID+"/hide", h.admin, nil, 409, nil)
	// Admins may delete; the message stays in Parley, marked deleted, and
	// cannot be acted on again.
	h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/delete", h.admin, nil, 200, &m)
	if !m.Deleted {
		t.Fatalf("after delete: %+v", m)
	}
	h.mustDo("POST", "/api/v1/messages/"+comment.MessageID+"/like", h.admin, nil, 409, nil)
	if got := mw.Moderations(); len(got) != 4 || got[3].Action != "delete" {
		t.Fatalf("moderation callbacks: %+v", got)
	}
	// Unknown message → 404; the case's history names who did what.
	h.mustDo("POST", "/api/v1/messages/nope/hide", moderator, nil, 404, nil)
	var hist struct{ Items []struct{ Action string } }
	h.mustDo("GET", "/api/v1/cases/"+comment.CaseID+"/history", h.admin, nil, 200, &hist)
	var actions []string
	for _, e := range hist.Items {
		if strings.HasPrefix(e.Action, "message.") {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "message.hide,message.like,message.unhide,message.delete" {
		t.Fatalf("history: %v", actions)
	}
}
