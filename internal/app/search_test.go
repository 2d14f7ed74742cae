package app

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/account"
)

// The inbox's text search: every word of the search, as a word prefix, in
// one message of the case (through the full-text index on either
// database); or the whole search in the subject or the contact's name,
// email or phone. Full-text syntax typed by a user is only text, and
// another workspace's messages never match.
func TestCaseTextSearch(t *testing.T) {
	h := start(t, nil)
	p := h.createBYOC("http://127.0.0.1:9/unused")
	parcel := h.inbound(p, "m1", "t1", "u1", "Hello, my parcel 4242 has not arrived").CaseID
	h.inbound(p, "m1b", "t1", "u1", "Any news?") // a second message on the same case
	refund := h.inbound(p, "m2", "t2", "u2", "I want a refund for order 77").CaseID
	other := h.inbound(p, "m3", "t3", "u3", "Parcels are great, 4241 of them").CaseID
	var named struct{ ID string }
	h.mustDo("GET", "/api/v1/cases/"+refund, h.admin, nil, 200, nil)
	// The contact of the refund case is called "Customer u2" by the harness;
	// give them an email to find them by.
	var c struct {
		ContactID string `json:"contact_id"`
	}
	h.mustDo("GET", "/api/v1/cases/"+refund, h.admin, nil, 200, &c)
	h.mustDo("PATCH", "/api/v1/contacts/"+c.ContactID, h.admin, map[string]string{"email": "zoe.martin@example.com"}, 200, &named)

	search := func(q string) []string {
		t.Helper()
		var page struct{ Items []apiCase }
		h.mustDo("GET", "/api/v1/cases?q="+url.QueryEscape(q), h.admin, nil, 200, &page)
		out := []string{}
		for _, c := range page.Items {
			out = append(out, c.ID)
		}
		sort.Strings(out)
		return out
	}
	expect := func(q string, want ...string) {
		t.Helper()
		sort.Strings(want)
		if got := search(q); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("q=%q: got %v, want %v", q, got, want)
		}
	}
	expect("parcel", parcel, other) // "parcel" is a prefix of "Parcels"
	expect("parcel 4242", parcel)   // every word, in one message
	expect("PARC 424", parcel, other)
	expect("arrived parcel", parcel) // any order
	expect("news", parcel)           // the case's second message
	expect("refund", refund)
	expect("zoe.martin", refund)  // the contact's email (whole search)
	expect("Customer u3", other)  // the contact's name
	expect("chargeback")          // nothing
	expect(`"parcel" OR refund*`) // FTS syntax is text: all words must match one message
	expect(`4242") OR 1=1 --`)    // no injection: words 4242, or, 1, 1 (no message has them all)
	expect(`4242") --`, parcel)   // quotes and operators are separators
	expect("!!!")                 // no words: subject/contact only, nothing here
	// An edited subject is found at once, its old words no more.
	h.mustDo("PATCH", "/api/v1/cases/"+other, h.admin, map[string]string{"subject": "Broken zipper"}, 200, nil)
	expect("zipper", other)
	h.mustDo("PATCH", "/api/v1/cases/"+other, h.admin, map[string]string{"subject": "Torn sleeve"}, 200, nil)
	expect("zipper")
	expect("sleeve", other)

	// Another workspace's identical message does not match.
	ctx := context.Background()
	ws, err := h.app.Accounts.CreateWorkspace(ctx, h.app.DB, "Other Corp")
	if err != nil {
		t.Fatal(err)
	}
	boss, err := h.app.Accounts.CreateUser(ctx, h.app.DB, ws.ID, account.NewUser{Email: "boss@other.example", Role: account.RoleAdmin, Password: "other-password"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := h.app.Accounts.CreateToken(ctx, &boss, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
		Token          string
	}
	h.mustDo("POST", "/api/v1/points-of-contact", tok, map[string]any{"type": "byoc", "name": "Theirs", "settings": map[string]any{"callback_url": "http://127.0.0.1:9/x"}}, 201, &out)
	theirs := h.inbound(byocPoint{ID: out.PointOfContact.ID, Token: out.Token}, "m1", "t1", "u1", "Hello, my parcel 4242 has not arrived").CaseID
	expect("parcel 4242", parcel)
	var page struct{ Items []apiCase }
	h.mustDo("GET", "/api/v1/cases?q=parcel+4242", tok, nil, 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != theirs {
		t.Errorf("the other workspace's search: %+v", page.Items)
	}
}
