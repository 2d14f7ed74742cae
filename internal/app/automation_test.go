package app

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
)

// The reference rule, through the API on a fake clock: close a case 48 h
// after it was resolved if no new message arrived; a case that got a new
// message is left alone.
func TestAutoCloseFortyEightHoursAfterResolved(t *testing.T) {
	clock := newTestClock()
	h := start(t, func(c *Config) { c.Now = clock.Now })
	mw, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	p := h.createBYOC(mw.URL + "/callback")
	h.mustDo("POST", "/api/v1/automation/rules", h.admin, map[string]any{
		"name": "Close 48 h after resolved", "enabled": true, "trigger": map[string]string{"type": "status_changed", "to": "resolved"}, "delay_seconds": 48 * 3600,
		"conditions": [][]map[string]any{{
			{"field": "case.status", "op": "eq", "value": "resolved"},
			{"field": "case.inbound_since_trigger", "op": "eq", "value": false},
		}},
		"actions": []map[string]any{{"type": "set_status", "status": "closed"}},
	}, 201, nil)
	eventually(t, "the rule seen", func() bool { return h.app.tap.rules.Load() })

	quiet := h.inbound(p, "q1", "tq", "quiet", "Thanks, all good").CaseID
	chatty := h.inbound(p, "c1", "tc", "chatty", "One more thing").CaseID
	h.setStatus(quiet, "resolved", 200)
	h.setStatus(chatty, "resolved", 200)
	var jobs struct{ Items []struct{ Status string } }
	eventually(t, "a job scheduled", func() bool {
		h.mustDo("GET", "/api/v1/cases/"+quiet+"/automation", h.admin, nil, 200, &jobs)
		return len(jobs.Items) == 1
	})
	clock.Advance(24 * time.Hour)
	h.inbound(p, "c2", "tc", "chatty", "Actually, it broke again") // reopens the case
	clock.Advance(23*time.Hour + 59*time.Minute)
	time.Sleep(1500 * time.Millisecond) // a poll of the automation loop at 47 h 59 m
	if got := h.getCase(quiet).Status; got != "resolved" {
		t.Fatalf("at 47 h 59 m the quiet case is %s", got)
	}
	clock.Advance(2 * time.Minute)
	eventually(t, "the quiet case closed after 48 h", func() bool { return h.getCase(quiet).Status == "closed" })
	if got := h.getCase(chatty).Status; got != "open" {
		t.Fatalf("the case with a new message is %s, want open", got)
	}
}
