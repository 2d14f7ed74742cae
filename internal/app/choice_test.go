package app

import (
	"encoding/json"
	"strings"
	"testing"
)

type apiChoice struct {
	InReplyTo string   `json:"in_reply_to"`
	OptionIDs []string `json:"option_ids"`
	Source    string
}

// TestRepliesMappedToChoices: every answer to a rich prompt — a number, a
// native id, an ambiguous word, free text — comes back as the same
// structured choice on the customer's message (issue 3, item 6).
func TestRepliesMappedToChoices(t *testing.T) {
	h, mw, p := startWithMiddleware(t, nil)
	res := h.inbound(p, "m0", "t1", "u1", "I need a size")

	sizes := map[string]any{"type": "list_picker", "text": "Which size?", "options": []map[string]string{
		{"id": "ls", "label": "Large shirt"}, {"id": "lt", "label": "Large trousers"}, {"id": "s", "label": "Small shirt"}}}
	ask := func(content map[string]any) string {
		var m struct{ ID string }
		h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]any{"content": content}, 202, &m)
		return m.ID
	}
	choiceOf := func(id string) *apiChoice {
		t.Helper()
		var page struct {
			Items []struct {
				ID, Direction string
				Author        struct{ Type string }
				Text          string
				Choice        json.RawMessage
			}
		}
		h.mustDo("GET", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, nil, 200, &page)
		for _, m := range page.Items {
			if m.ID == id {
				if len(m.Choice) == 0 {
					return nil
				}
				var c apiChoice
				_ = json.Unmarshal(m.Choice, &c)
				return &c
			}
		}
		t.Fatalf("message %s not found", id)
		return nil
	}

	// A number.
	q1 := ask(sizes)
	r := h.inbound(p, "m1", "t1", "u1", "2")
	if c := choiceOf(r.MessageID); c == nil || c.InReplyTo != q1 || len(c.OptionIDs) != 1 || c.OptionIDs[0] != "lt" || c.Source != "number" {
		t.Fatalf("'2' → %+v", c)
	}
	// The prompt is answered: a later "3" is just text.
	r = h.inbound(p, "m2", "t1", "u1", "3")
	if c := choiceOf(r.MessageID); c != nil {
		t.Fatalf("answered prompt still mapped: %+v", c)
	}

	// A native id from the platform (a tapped button).
	q2 := ask(sizes)
	var native ingestResult
	h.mustDo("POST", "/api/v1/byoc/"+p.ID+"/messages", p.Token, map[string]any{"id": "m3", "thread": map[string]string{"id": "t1"},
		"author": map[string]string{"id": "u1"}, "text": "Small shirt", "choice_id": "s"}, 200, &native)
	if c := choiceOf(native.MessageID); c == nil || c.InReplyTo != q2 || c.OptionIDs[0] != "s" || c.Source != "native" {
		t.Fatalf("native → %+v", c)
	}

	// Free text leaves the prompt open; an ambiguous word makes the bot ask
	// again with only the tied options; "1" then means the first of those.
	ask(sizes)
	eventually(t, "the third question reaches the customer", func() bool { return len(mw.Received()) == 3 })
	before := len(mw.Received())
	r = h.inbound(p, "m4", "t1", "u1", "what colours do you have?")
	if c := choiceOf(r.MessageID); c != nil {
		t.Fatalf("free text mapped: %+v", c)
	}
	r = h.inbound(p, "m5", "t1", "u1", "large")
	if c := choiceOf(r.MessageID); c != nil {
		t.Fatalf("ambiguous answer mapped: %+v", c)
	}
	eventually(t, "the bot asks again", func() bool { return len(mw.Received()) > before })
	again := mw.Received()[len(mw.Received())-1]
	if !strings.Contains(again.Text, "Large shirt") || !strings.Contains(again.Text, "Large trousers") || strings.Contains(again.Text, "Small shirt") {
		t.Fatalf("asked again with: %q", again.Text)
	}
	r = h.inbound(p, "m6", "t1", "u1", "1")
	if c := choiceOf(r.MessageID); c == nil || c.OptionIDs[0] != "ls" {
		t.Fatalf("'1' after asking again → %+v", c)
	}
	// A platform retry of an answered message changes nothing.
	dup := h.inbound(p, "m6", "t1", "u1", "1")
	if !dup.Duplicate {
		t.Fatal("retry not deduplicated")
	}
}

// TestFormAnsweredInText: on a text channel a form is asked one field at a
// time; an invalid answer is asked again; the last answer completes it.
func TestFormAnsweredInText(t *testing.T) {
	h, mw, p := startWithMiddleware(t, nil)
	res := h.inbound(p, "m0", "t1", "u1", "I want a callback")
	form := map[string]any{"type": "form", "title": "Call-back request", "fields": []map[string]any{
		{"name": "email", "type": "email", "label": "Your email", "required": true},
		{"name": "topic", "type": "select", "label": "Topic", "required": true, "options": []map[string]string{{"id": "billing", "label": "Billing"}, {"id": "delivery", "label": "Delivery"}}},
	}}
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]any{"content": form}, 202, nil)
	eventually(t, "the form's first question", func() bool { return len(mw.Received()) == 1 })
	if first := mw.Received()[0].Text; !strings.Contains(first, "email") {
		t.Fatalf("first question: %q", first)
	}
	h.inbound(p, "m1", "t1", "u1", "not an email")
	eventually(t, "the invalid answer asked again", func() bool { return len(mw.Received()) == 2 })
	h.inbound(p, "m2", "t1", "u1", "ada@example.com")
	eventually(t, "the next question", func() bool { return len(mw.Received()) == 3 })
	if next := mw.Received()[2].Text; !strings.Contains(next, "Topic") {
		t.Fatalf("second question: %q", next)
	}
	last := h.inbound(p, "m3", "t1", "u1", "billing")
	var page struct {
		Items []struct {
			ID     string
			Choice *struct {
				Kind   string
				Fields map[string]string
			}
		}
	}
	h.mustDo("GET", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, nil, 200, &page)
	for _, m := range page.Items {
		if m.ID == last.MessageID {
			if m.Choice == nil || m.Choice.Kind != "form" || m.Choice.Fields["email"] != "ada@example.com" || m.Choice.Fields["topic"] != "billing" {
				t.Fatalf("completed form: %+v", m.Choice)
			}
			return
		}
	}
	t.Fatal("last answer not found")
}
