package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
)

// TestBYOCLifecycle is issue 2's main acceptance path, through the HTTP API
// only: inbound → case, dedupe, threading, agent reply → signed callback,
// receipts, and the case rules for resolved and closed cases.
func TestBYOCLifecycle(t *testing.T) {
	h, mw, p := startWithMiddleware(t, nil)

	// The creation answer is the only place the secrets appear.
	_, raw, _ := h.do("GET", "/api/v1/points-of-contact/"+p.ID, h.admin, nil)
	if strings.Contains(string(raw), p.Secret) || strings.Contains(string(raw), p.Token) {
		t.Fatalf("point of contact leaks its secrets: %s", raw)
	}

	first := h.inbound(p, "mw-1", "thread-1", "cust-1", "Hello, where is my order?")
	if first.CaseID == "" || first.MessageID == "" || first.Duplicate {
		t.Fatalf("first inbound: %+v", first)
	}
	c := h.getCase(first.CaseID)
	if c.Status != "new" || c.ContactID == "" {
		t.Fatalf("case after first message: %+v", c)
	}
	var contact struct {
		Name       string
		Identities []struct{ Address string }
	}
	h.mustDo("GET", "/api/v1/contacts/"+c.ContactID, h.admin, nil, 200, &contact)
	if contact.Name != "Customer cust-1" || len(contact.Identities) != 1 || contact.Identities[0].Address != "cust-1" {
		t.Fatalf("contact: %+v", contact)
	}

	again := h.inbound(p, "mw-1", "thread-1", "cust-1", "Hello, where is my order?")
	if !again.Duplicate || again.MessageID != first.MessageID || again.CaseID != first.CaseID {
		t.Fatalf("retry made something new: %+v vs %+v", again, first)
	}
	if n := len(h.messages(first.CaseID)); n != 1 {
		t.Fatalf("after a retry the case has %d messages, want 1", n)
	}

	second := h.inbound(p, "mw-2", "thread-1", "cust-1", "It was due yesterday.")
	if second.CaseID != first.CaseID || second.ThreadID != first.ThreadID {
		t.Fatalf("second message went elsewhere: %+v", second)
	}

	// The agent replies: 202, pending, then the callback gets it signed.
	var reply apiMessage
	h.mustDo("POST", "/api/v1/cases/"+first.CaseID+"/messages", h.admin, map[string]string{"text": "Let me check that for you."}, 202, &reply)
	if reply.Status != "pending" {
		t.Fatalf("reply status %q", reply.Status)
	}
	eventually(t, "the callback receives the reply", func() bool { return len(mw.Received()) == 1 })
	cb := mw.Received()[0]
	if !cb.Verified || cb.MessageID != reply.ID || cb.Text != "Let me check that for you." || cb.Thread.ID != "thread-1" || cb.Recipient.ID != "cust-1" {
		t.Fatalf("callback: %+v", cb)
	}
	var stored apiMessage
	eventually(t, "the middleware's id is stored", func() bool {
		for _, m := range h.messages(first.CaseID) {
			if m.ID == reply.ID {
				stored = m
			}
		}
		return stored.Status == "sent"
	})
	if stored.PlatformMessageID == nil || *stored.PlatformMessageID != fake.PlatformID(1) {
		t.Fatalf("platform id not stored: %+v", stored)
	}
	if got := h.getCase(first.CaseID).Status; got != "pending" {
		t.Fatalf("after the agent reply the case is %q, want pending", got)
	}

	// Receipts, by the middleware's id; they never go backwards.
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/statuses", p.Token, map[string]string{"message_id": fake.PlatformID(1), "status": "delivered"}, 200, nil)
	if m := h.messages(first.CaseID)[2]; m.Status != "delivered" {
		t.Fatalf("after the receipt: %+v", m)
	}
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/statuses", p.Token, map[string]string{"message_id": reply.ID, "status": "read"}, 200, nil)
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/statuses", p.Token, map[string]string{"message_id": reply.ID, "status": "delivered"}, 200, nil)
	if m := h.messages(first.CaseID)[2]; m.Status != "read" {
		t.Fatalf("a late delivered receipt moved read back: %+v", m)
	}
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/statuses", p.Token, map[string]string{"message_id": "nope", "status": "read"}, 404, nil)

	// A pending case reopens on a customer message.
	h.inbound(p, "mw-3", "thread-1", "cust-1", "Any news?")
	if got := h.getCase(first.CaseID).Status; got != "open" {
		t.Fatalf("pending + inbound → %q, want open", got)
	}
	// resolved + inbound → open.
	h.setStatus(first.CaseID, "resolved", 200)
	h.inbound(p, "mw-4", "thread-1", "cust-1", "One more thing")
	if got := h.getCase(first.CaseID).Status; got != "open" {
		t.Fatalf("resolved + inbound → %q, want open", got)
	}
	// closed + inbound → a new case in the same thread.
	h.setStatus(first.CaseID, "resolved", 200)
	h.setStatus(first.CaseID, "closed", 200)
	next := h.inbound(p, "mw-5", "thread-1", "cust-1", "Hello again")
	if next.CaseID == first.CaseID || next.ThreadID != first.ThreadID {
		t.Fatalf("after closed: %+v (first %+v)", next, first)
	}
	if got := h.getCase(next.CaseID).Status; got != "new" {
		t.Fatalf("new case status %q", got)
	}
	if got := h.getCase(first.CaseID).Status; got != "closed" {
		t.Fatalf("closed case changed to %q", got)
	}
	// Replying on the closed case is refused; the history shows who did what.
	h.mustDo("POST", "/api/v1/cases/"+first.CaseID+"/messages", h.admin, map[string]string{"text": "late"}, 409, nil)
	var hist struct{ Items []struct{ Action string } }
	h.mustDo("GET", "/api/v1/cases/"+first.CaseID+"/history", h.admin, nil, 200, &hist)
	if len(hist.Items) < 5 {
		t.Fatalf("history too short: %+v", hist.Items)
	}
}

func TestAttachmentsInAndOut(t *testing.T) {
	h, mw, p := startWithMiddleware(t, nil)
	png := []byte("\x89PNG\r\n\x1a\n0000IHDR-fake-image-bytes")
	var res ingestResult
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": "a1", "thread": map[string]string{"id": "t"}, "author": map[string]string{"id": "u"},
		"attachments": []map[string]any{{"data": png, "mime_type": "image/png", "name": "photo.png"}}}, 200, &res)
	ms := h.messages(res.CaseID)
	if len(ms) != 1 || len(ms[0].Attachments) != 1 || ms[0].Attachments[0].Size != int64(len(png)) || ms[0].Attachments[0].MimeType != "image/png" {
		t.Fatalf("inbound attachment: %+v", ms)
	}
	status, body, hdr := h.do("GET", "/api/v1/attachments/"+ms[0].Attachments[0].ID, h.admin, nil)
	if status != 200 || string(body) != string(png) || !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %q %v", status, body, hdr)
	}
	// Executables are refused and nothing is stored.
	status, body, _ = h.do("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": "a2", "thread": map[string]string{"id": "t"}, "author": map[string]string{"id": "u"},
		"attachments": []map[string]any{{"data": []byte("MZ\x90\x00evil"), "mime_type": "image/png", "name": "x.png"}}})
	if status != 400 || !strings.Contains(string(body), "executable") {
		t.Fatalf("executable: %d %s", status, body)
	}
	if n := len(h.messages(res.CaseID)); n != 1 {
		t.Fatalf("refused message stored: %d messages", n)
	}
	// Outbound attachment: the middleware gets a signed link that works.
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]any{"text": "see attached",
		"attachments": []map[string]any{{"data": []byte("%PDF-1.4 fake"), "mime_type": "application/pdf", "name": "invoice.pdf"}}}, 202, nil)
	eventually(t, "callback with attachment", func() bool { return len(mw.Received()) == 1 })
	cb := mw.Received()[0]
	if len(cb.Attachments) != 1 || cb.Attachments[0].Name != "invoice.pdf" {
		t.Fatalf("callback attachments: %+v", cb.Attachments)
	}
	status, body, _ = h.do("GET", strings.TrimPrefix(cb.Attachments[0].URL, h.url), "", nil)
	if status != 200 || string(body) != "%PDF-1.4 fake" {
		t.Fatalf("signed link: %d %q", status, body)
	}
	status, _, _ = h.do("GET", strings.TrimPrefix(cb.Attachments[0].URL, h.url)+"0", "", nil)
	if status != 403 {
		t.Fatalf("tampered signed link: %d", status)
	}
}

// TestEventsStream checks live events arrive after commit and only for the
// caller's workspace.
func TestEventsStream(t *testing.T) {
	h := start(t, nil)
	p := h.createBYOC("http://127.0.0.1:9/unused")
	req, _ := newStreamRequest(h.url+"/api/v1/events", h.admin)
	events, stop := readSSE(t, req)
	defer stop()
	res := h.inbound(p, "e1", "t", "u", "hello")
	want := map[string]bool{"case.created": false, "message.created": false}
	deadline := time.After(10 * time.Second)
	for !(want["case.created"] && want["message.created"]) {
		select {
		case ev := <-events:
			var e struct {
				Type   string
				CaseID string `json:"case_id"`
			}
			_ = json.Unmarshal([]byte(ev), &e)
			if e.CaseID == res.CaseID {
				want[e.Type] = true
			}
		case <-deadline:
			t.Fatalf("events not received: %v", want)
		}
	}
}

// TestMergeContactsThenInbound: after a merge, the merged contact's threads
// and cases belong to the survivor, and new messages on those threads too.
func TestMergeContactsThenInbound(t *testing.T) {
	h := start(t, nil)
	p := h.createBYOC("http://127.0.0.1:9/unused")
	a := h.inbound(p, "m1", "thread-a", "ada-1", "hi from my phone")
	b := h.inbound(p, "m2", "thread-b", "ada-2", "hi from my laptop")
	var merged struct {
		ID         string
		Identities []struct{ Address string }
	}
	h.mustDo("POST", "/api/v1/contacts/"+a.ContactID+"/merge", h.admin, map[string]string{"from_id": b.ContactID}, 200, &merged)
	if len(merged.Identities) != 2 {
		t.Fatalf("survivor identities: %+v", merged.Identities)
	}
	if got := h.getCase(b.CaseID).ContactID; got != a.ContactID {
		t.Fatalf("merged case contact %s, want %s", got, a.ContactID)
	}
	again := h.inbound(p, "m3", "thread-b", "ada-2", "still me")
	if again.ContactID != a.ContactID || again.CaseID != b.CaseID {
		t.Fatalf("after merge: %+v", again)
	}
	var old struct {
		MergedInto *string `json:"merged_into"`
	}
	h.mustDo("GET", "/api/v1/contacts/"+b.ContactID, h.admin, nil, 200, &old)
	if old.MergedInto == nil || *old.MergedInto != a.ContactID {
		t.Fatalf("merged contact does not point at the survivor: %+v", old)
	}
}

func TestThreadMessages(t *testing.T) {
	h, mw, p := startWithMiddleware(t, nil)
	res := h.inbound(p, "m1", "visitor-1", "visitor-1", "hello")
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "hi there"}, 202, nil)
	eventually(t, "sent", func() bool { return len(mw.Received()) == 1 })
	ms, err := h.app.Inbox.ThreadMessages(context.Background(), p.ID, "visitor-1", 10)
	if err != nil || len(ms) != 2 || ms[0].Text != "hello" || ms[1].Text != "hi there" {
		t.Fatalf("history: %v %+v", err, ms)
	}
	if none, err := h.app.Inbox.ThreadMessages(context.Background(), p.ID, "nobody", 10); err != nil || len(none) != 0 {
		t.Fatalf("unknown thread: %v %d", err, len(none))
	}
}
