package app

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// TestCaseListFiltersAndPagination checks every filter of GET /cases and
// that cursor pagination walks all results once.
func TestCaseListFiltersAndPagination(t *testing.T) {
	h := start(t, nil)
	p1 := h.createBYOC("http://127.0.0.1:9/unused")
	p2 := h.createBYOC("http://127.0.0.1:9/unused")
	var skill struct{ ID string }
	h.mustDo("POST", "/api/v1/skills", h.admin, map[string]string{"name": "Billing"}, 201, &skill)
	var me struct{ ID string }
	h.mustDo("GET", "/api/v1/me", h.admin, nil, 200, &me)

	var ids []string
	for i := 0; i < 12; i++ {
		p := p1
		if i%3 == 0 {
			p = p2
		}
		text := "ordinary question"
		if i == 7 {
			text = "my invoice is wrong"
		}
		res := h.inbound(p, fmt.Sprintf("m%d", i), fmt.Sprintf("t%d", i), fmt.Sprintf("u%d", i), text)
		ids = append(ids, res.CaseID)
	}
	h.setStatus(ids[1], "open", 200)
	h.setStatus(ids[2], "resolved", 200)
	h.mustDo("POST", "/api/v1/cases/"+ids[4]+"/tags", h.admin, map[string][]string{"add": {"VIP", "refund"}}, 200, nil)
	h.mustDo("PATCH", "/api/v1/cases/"+ids[5], h.admin, map[string]any{"skill_id": skill.ID, "assignee_id": me.ID, "priority": 7}, 200, nil)

	list := func(query string) []string {
		t.Helper()
		var page struct {
			Items []apiCase
		}
		h.mustDo("GET", "/api/v1/cases?"+query, h.admin, nil, 200, &page)
		out := []string{}
		for _, c := range page.Items {
			out = append(out, c.ID)
		}
		return out
	}
	expect := func(query string, want ...string) {
		t.Helper()
		got := list(query)
		set := map[string]bool{}
		for _, id := range got {
			set[id] = true
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d cases, want %d", query, len(got), len(want))
			return
		}
		for _, id := range want {
			if !set[id] {
				t.Errorf("%s: missing %s", query, id)
			}
		}
	}
	expect("status=open", ids[1])
	expect("status=open,resolved", ids[1], ids[2])
	expect("point_of_contact_id="+p2.ID, ids[0], ids[3], ids[6], ids[9])
	expect("tag=vip", ids[4])
	expect("q=invoice", ids[7])
	expect("skill_id="+skill.ID, ids[5])
	expect("assignee_id=me", ids[5])
	expect("owner_id="+me.ID, ids[5])
	expect("channel_type=byoc&status=resolved", ids[2])
	if n := len(list("assignee_id=none")); n != 11 {
		t.Errorf("unassigned: %d", n)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	expect("created_after=" + future)
	if n := len(list("created_before=" + future)); n != 12 {
		t.Errorf("created_before: %d", n)
	}
	h.mustDo("GET", "/api/v1/cases?status=bogus", h.admin, nil, 400, nil)
	h.mustDo("GET", "/api/v1/cases?created_after=yesterday", h.admin, nil, 400, nil)
	h.mustDo("GET", "/api/v1/cases?cursor=%21%21", h.admin, nil, 400, nil)
	h.mustDo("GET", "/api/v1/cases?sort=sideways", h.admin, nil, 400, nil)

	// Pagination: 5 at a time, every case once, in every sort order.
	for _, sort := range []string{"", "created_at", "-created_at", "updated_at", "-updated_at", "last_message_at"} {
		seen := map[string]int{}
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			var page struct {
				Items      []apiCase
				NextCursor string `json:"next_cursor"`
			}
			raw := h.mustDo("GET", "/api/v1/cases?limit=5&sort="+sort+"&cursor="+url.QueryEscape(cursor), h.admin, nil, 200, nil)
			_ = json.Unmarshal(raw, &page)
			for _, c := range page.Items {
				seen[c.ID]++
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(seen) != 12 {
			t.Errorf("sort %q: paginated over %d distinct cases, want 12", sort, len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("sort %q: case %s listed %d times", sort, id, n)
			}
		}
	}
}

// TestEventsRespectPermissions: an agent limited to one point of contact
// receives no event about another.
func TestEventsRespectPermissions(t *testing.T) {
	h := start(t, nil)
	p1 := h.createBYOC("http://127.0.0.1:9/unused")
	p2 := h.createBYOC("http://127.0.0.1:9/unused")
	h.mustDo("POST", "/api/v1/users", h.admin, map[string]any{"email": "agent@example.com", "password": "agent-password", "role": "agent",
		"channel_permissions": map[string][]string{p1.ID: {"reply"}}}, 201, nil)
	var tok struct{ Token string }
	h.mustDo("POST", "/api/v1/auth/token", "", map[string]string{"email": "agent@example.com", "password": "agent-password"}, 201, &tok)
	req, _ := newStreamRequest(h.url+"/api/v1/events", tok.Token)
	events, stop := readSSE(t, req)
	defer stop()
	hidden := h.inbound(p2, "x1", "tx", "ux", "not for you")
	visible := h.inbound(p1, "y1", "ty", "uy", "for you")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case raw := <-events:
			var e struct {
				CaseID string `json:"case_id"`
			}
			_ = json.Unmarshal([]byte(raw), &e)
			if e.CaseID == hidden.CaseID {
				t.Fatal("agent received an event about a point of contact it may not see")
			}
			if e.CaseID == visible.CaseID {
				return // events are ordered: the hidden one would have come first
			}
		case <-deadline:
			t.Fatal("no event for the visible case")
		}
	}
}
