package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
)

// The acceptance for default scripts: a script sets skill
// "billing" when the text mentions an invoice and answers with a
// quick-reply menu out of hours; an infinite loop is stopped by the step
// limit and the case still reaches its default skill's queue, with the
// failure in its history.
func TestDefaultScriptsRouteReplyAndFailSafely(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)} // a Tuesday evening
	h := start(t, func(c *Config) { c.Now = clock.Now; c.RoutingTick = 50 * time.Millisecond })
	mw, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()

	var general, billing struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "General"}, 201, &general)
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]any{"name": "billing"}, 201, &billing)
	// A script that does not compile is refused with its line.
	_, body, _ := h.do("POST", "/api/v1/scripts", h.admin, map[string]any{"name": "broken", "source": "if True\n  pass"})
	if !strings.Contains(string(body), "line 2:1") {
		t.Fatalf("compile error without its line: %s", body)
	}
	var sc struct {
		ID      string
		Version int
	}
	h.mustDo("POST", "/api/v1/scripts", h.admin, map[string]any{"name": "triage", "source": `
if message and "invoice" in message.text.lower():
    set_skill("billing")
if not in_business_hours():
    reply_quick_replies("We are closed. What can we help with?", [("billing", "An invoice"), ("other", "Something else")])
`}, 201, &sc)
	var loop struct{ ID string }
	h.mustDo("POST", "/api/v1/scripts", h.admin, map[string]any{"name": "loop", "source": "while True:\n    pass\n"}, 201, &loop)
	// Dry run: out of hours, the reply and the skill.
	var dry struct {
		Actions []struct{ Type, Skill string }
		Error   string
	}
	h.mustDo("POST", "/api/v1/scripts/"+sc.ID+"/test", h.admin, map[string]any{"input": map[string]any{"Event": "message",
		"Message": map[string]any{"text": "my INVOICE is wrong"}, "Hours": map[string]any{"timezone": "UTC", "weekly": map[string]any{"tue": []map[string]string{{"start": "09:00", "end": "17:00"}}}}}}, 200, &dry)
	if dry.Error != "" || len(dry.Actions) != 2 || dry.Actions[0].Skill != "billing" || dry.Actions[1].Type != "reply" {
		t.Fatalf("dry run: %+v", dry)
	}

	hoursDoc := map[string]any{"timezone": "Europe/Paris", "weekly": map[string]any{
		"mon": []map[string]string{{"start": "09:00", "end": "18:00"}}, "tue": []map[string]string{{"start": "09:00", "end": "18:00"}}}}
	triaged := h.createBYOC(mw.URL + "/callback")
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+triaged.ID, h.admin, map[string]any{"default_skill_id": general.ID, "default_script": sc.ID,
		"settings": map[string]any{"callback_url": mw.URL + "/callback", "business_hours": hoursDoc}}, 200, nil)
	looping := h.createBYOC(mw.URL + "/callback")
	h.mustDo("PATCH", "/api/v1/points-of-contact/"+looping.ID, h.admin, map[string]any{"default_skill_id": general.ID, "default_script": loop.ID}, 200, nil)

	type routed struct {
		SkillID      *string `json:"skill_id"`
		RoutingState string  `json:"routing_state"`
	}
	read := func(id string) routed {
		var r routed
		h.mustDo("GET", "/api/v1/cases/"+id, h.admin, nil, 200, &r)
		return r
	}
	invoice := h.inbound(triaged, "m1", "t1", "ana", "Hello, where is my invoice?")
	other := h.inbound(triaged, "m2", "t2", "ben", "Hello")
	eventually(t, "the invoice case in the billing queue", func() bool {
		r := read(invoice.CaseID)
		return r.SkillID != nil && *r.SkillID == billing.ID && r.RoutingState == "queued"
	})
	eventually(t, "the other case in the default queue", func() bool {
		r := read(other.CaseID)
		return r.SkillID != nil && *r.SkillID == general.ID && r.RoutingState == "queued"
	})
	// Out of hours (20:00 UTC is 21:00 in Paris): a quick-reply menu, sent
	// as the bot.
	var menu json.RawMessage
	eventually(t, "the out-of-hours menu", func() bool {
		var page struct {
			Items []struct {
				Direction string
				Author    struct{ Type string }
				Content   json.RawMessage
			}
		}
		h.mustDo("GET", "/api/v1/cases/"+invoice.CaseID+"/messages", h.admin, nil, 200, &page)
		for _, m := range page.Items {
			if m.Direction == "outbound" && m.Author.Type == "bot" {
				menu = m.Content
				return true
			}
		}
		return false
	})
	if !strings.Contains(string(menu), `"quick_replies"`) || !strings.Contains(string(menu), "An invoice") {
		t.Fatalf("menu content: %s", menu)
	}
	// The infinite loop: stopped, nothing applied, default skill, history.
	stuck := h.inbound(looping, "m3", "t3", "cy", "invoice please")
	eventually(t, "the looping script's case in the default queue", func() bool {
		r := read(stuck.CaseID)
		return r.SkillID != nil && *r.SkillID == general.ID && r.RoutingState == "queued"
	})
	var hist struct {
		Items []struct {
			Action  string
			Details map[string]any
		}
	}
	h.mustDo("GET", "/api/v1/cases/"+stuck.CaseID+"/history", h.admin, nil, 200, &hist)
	found := false
	for _, e := range hist.Items {
		if e.Action == "script.failed" && strings.Contains(e.Details["error"].(string), "step") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no script.failed entry mentioning the step limit: %+v", hist.Items)
	}
	// A new version keeps the old one.
	h.mustDo("PUT", "/api/v1/scripts/"+sc.ID, h.admin, map[string]any{"source": "set_priority(5)\n"}, 200, &sc)
	var versions struct{ Items []struct{ Version int } }
	h.mustDo("GET", "/api/v1/scripts/"+sc.ID+"/versions", h.admin, nil, 200, &versions)
	if sc.Version != 2 || len(versions.Items) != 2 {
		t.Fatalf("versions: %d, %+v", sc.Version, versions.Items)
	}
}
