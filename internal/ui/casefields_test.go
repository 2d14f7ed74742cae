package ui_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestCaseCustomFieldsAndInboxFilters: custom fields are shown, changed,
// added and removed from the case view (a number left alone keeps its
// type); the inbox filters by owner and by creation date.
func TestCaseCustomFieldsAndInboxFilters(t *testing.T) {
	h := start(t)
	_, p := h.middleware("Acme")
	res := h.inbound(p, "m1", "t1", "u1", "Ana", "Hello")
	other := h.inbound(p, "m2", "t2", "u2", "Ben", "Hi")
	h.mustDo("PATCH", "/api/v1/cases/"+res.CaseID, h.admin, map[string]any{"custom_fields": map[string]any{"order": "A-17", "items": 3}}, 200, nil)
	admin := h.session(adminEmail, adminPassword)

	_, body := h.page("/ui/cases/"+res.CaseID, admin)
	if !strings.Contains(body, `name="cf.order" value="A-17"`) || !strings.Contains(body, `name="cf.items" value="3"`) {
		t.Fatalf("custom fields not shown for editing")
	}
	form := url.Values{"priority": {"0"}, "skill": {""}, "cf.order": {"A-18"}, "cf.items": {"3"}, "cf_new_key": {"carrier"}, "cf_new_value": {"DHL"}}
	if status, body, _ := h.form("/ui/cases/"+res.CaseID+"/properties", admin, form.Encode()); status != 303 {
		t.Fatalf("save: %d %s", status, body)
	}
	fields := func() map[string]any {
		var c struct {
			CustomFields map[string]any `json:"custom_fields"`
		}
		h.mustDo("GET", "/api/v1/cases/"+res.CaseID, h.admin, nil, 200, &c)
		return c.CustomFields
	}
	got, _ := json.Marshal(fields())
	if string(got) != `{"carrier":"DHL","items":3,"order":"A-18"}` {
		t.Fatalf("after saving: %s", got)
	}
	form = url.Values{"cf.order": {""}, "cf.items": {"3"}, "cf.carrier": {"DHL"}, "cf_new_key": {""}, "cf_new_value": {""}}
	h.form("/ui/cases/"+res.CaseID+"/properties", admin, form.Encode())
	if got, _ := json.Marshal(fields()); string(got) != `{"carrier":"DHL","items":3}` {
		t.Fatalf("after emptying order: %s", got)
	}
	// A new field without a value is refused and changes nothing.
	form = url.Values{"cf.items": {"4"}, "cf_new_key": {"note"}, "cf_new_value": {""}}
	if status, body, _ := h.form("/ui/cases/"+res.CaseID+"/properties", admin, form.Encode()); status != 400 || !strings.Contains(body, "a new field needs a value") {
		t.Fatalf("new field without value: %d", status)
	}
	if got, _ := json.Marshal(fields()); string(got) != `{"carrier":"DHL","items":3}` {
		t.Fatalf("after a refused save: %s", got)
	}

	// Owner filter: the case taken through routing has an owner; here an
	// admin assigns it, which makes them the owner as well.
	var me struct{ ID string }
	h.mustDo("GET", "/api/v1/me", h.admin, nil, 200, &me)
	h.mustDo("PATCH", "/api/v1/cases/"+res.CaseID, h.admin, map[string]any{"assignee_id": me.ID}, 200, nil)
	rows := func(query string) string {
		_, body := h.page("/ui/inbox?"+query, admin)
		return body
	}
	if b := rows("owner=me"); !strings.Contains(b, res.CaseID) || strings.Contains(b, other.CaseID) {
		t.Errorf("owner=me")
	}
	if b := rows("owner=none"); strings.Contains(b, res.CaseID) || !strings.Contains(b, other.CaseID) {
		t.Errorf("owner=none")
	}
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	if b := rows("from=" + today + "&to=" + today); !strings.Contains(b, res.CaseID) || !strings.Contains(b, other.CaseID) {
		t.Errorf("created today")
	}
	if b := rows("from=" + tomorrow); strings.Contains(b, res.CaseID) || strings.Contains(b, other.CaseID) {
		t.Errorf("created from tomorrow")
	}
	if b := rows("from=" + tomorrow); !strings.Contains(b, `name="from" value="`+tomorrow+`"`) {
		t.Errorf("the date filter is not kept in the form")
	}
}
