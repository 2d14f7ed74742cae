package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/store"
)

// The customer card (GET /contacts/{id}): the contact's details, editable
// (as PATCH /api/v1/contacts/{id}: anyone who may see the contact); their
// identities on every channel; their cases on every channel with the last
// message of each; their likely duplicates, which supervisors and admins
// merge into this contact after a confirmation (as POST
// /api/v1/contacts/{id}/merge, which inbox.MergeContacts limits to them).
// The inbox keeps no notes on contacts (notes belong to cases), so the card
// has none.

// contactCasesShown is how many of a contact's cases the card lists.
const contactCasesShown = 50

type contactData struct {
	Contact    *inbox.Contact
	MergedInto *inbox.Contact // the survivor, when this contact was merged
	Identities []identityView
	Cases      []contactCaseRow
	MoreCases  bool
	Duplicates []duplicateView
	CanMerge   bool
	Confirm    *mergeConfirm // a merge waiting for its confirmation
	Form       contactForm
	Errors     map[string]string // input name → catalog key of its message
}

// identityView is an identity with the name of its point of contact ("" when
// the user may not see that point of contact, or it was deleted).
type identityView struct {
	inbox.Identity
	PointName string
}

type contactCaseRow struct {
	caseRow
	Last *lastMessage
}

// lastMessage is the latest message of a case, for the card's case list.
type lastMessage = inbox.LastMessage

type duplicateView struct {
	Contact    *inbox.Contact
	Reasons    []inbox.DuplicateReason
	Identities []identityView
}

type mergeConfirm struct {
	From       *inbox.Contact
	Identities []identityView
	Cases      int
	MoreCases  bool
}

// contactForm is the card's form: what the contact has, or what the user
// typed when a change was refused.
type contactForm struct {
	Name, Email, Phone string
	Fields             []customField
}

// customField is one custom field as a row of the form; JSON marks a value
// that is not a string (a number, a list…), edited as JSON.
type customField struct {
	Key, Value string
	JSON       bool
}

// extraFieldRows are the empty rows offered to add custom fields.
const extraFieldRows = 2

func formOf(c *inbox.Contact) contactForm {
	f := contactForm{Name: c.Name, Email: c.Email, Phone: c.Phone}
	var obj map[string]json.RawMessage
	if json.Unmarshal(c.CustomFields, &obj) == nil {
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				f.Fields = append(f.Fields, customField{Key: k, Value: s})
			} else {
				f.Fields = append(f.Fields, customField{Key: k, Value: string(raw), JSON: true})
			}
		}
	}
	sort.Slice(f.Fields, func(i, j int) bool { return f.Fields[i].Key < f.Fields[j].Key })
	return f
}

// withBlankRows adds the empty rows for new custom fields.
func (f contactForm) withBlankRows() contactForm {
	for i := 0; i < extraFieldRows; i++ {
		f.Fields = append(f.Fields, customField{})
	}
	return f
}

// cardOptions are what a request adds to the card: a merge to confirm, a
// refused change with its input.
type cardOptions struct {
	confirmFrom string
	form        *contactForm
	errors      map[string]string
	errKey      string
	detail      string
	notice      string
}

// contactCard reads everything the card shows.
func (h *Handler) contactCard(ctx context.Context, u *account.User, id string, o cardOptions) (*contactData, error) {
	ct, err := h.d.Inbox.GetContact(ctx, u, id)
	if err != nil {
		return nil, err
	}
	n, err := h.names(ctx, u)
	if err != nil {
		return nil, err
	}
	d := &contactData{Contact: ct, Identities: identityViews(ct.Identities, n), CanMerge: u.IsSupervisor(), Errors: o.errors}
	if ct.MergedInto != nil {
		if d.MergedInto, err = h.d.Inbox.GetContact(ctx, u, *ct.MergedInto); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if d.MergedInto == nil {
			d.MergedInto = &inbox.Contact{ID: *ct.MergedInto}
		}
	}
	page, err := h.d.Inbox.ListCases(ctx, u, inbox.CaseFilter{ContactID: ct.ID, Limit: contactCasesShown})
	if err != nil {
		return nil, err
	}
	d.MoreCases = page.NextCursor != ""
	ids := make([]string, 0, len(page.Items))
	for _, c := range page.Items {
		ids = append(ids, c.ID)
	}
	last, err := h.lastMessages(ctx, u, ids)
	if err != nil {
		return nil, err
	}
	for _, c := range page.Items {
		row := contactCaseRow{caseRow: n.row(c)}
		if m, ok := last[c.ID]; ok {
			row.Last = &m
		}
		d.Cases = append(d.Cases, row)
	}
	if ct.MergedInto == nil {
		dups, err := h.d.Inbox.LikelyDuplicates(ctx, u, ct.ID, 20)
		if err != nil {
			return nil, err
		}
		for _, dup := range dups {
			d.Duplicates = append(d.Duplicates, duplicateView{Contact: dup.Contact, Reasons: dup.Reasons, Identities: identityViews(dup.Contact.Identities, n)})
		}
	}
	if o.confirmFrom != "" {
		from, err := h.d.Inbox.GetContact(ctx, u, o.confirmFrom)
		if err != nil {
			return nil, err
		}
		if from.MergedInto != nil || from.ID == ct.ID || ct.MergedInto != nil {
			return nil, &inbox.ValidationError{Field: "from_id", Reason: "this contact cannot be merged into this one"}
		}
		cases, err := h.d.Inbox.ListCases(ctx, u, inbox.CaseFilter{ContactID: from.ID, Limit: 100})
		if err != nil {
			return nil, err
		}
		d.Confirm = &mergeConfirm{From: from, Identities: identityViews(from.Identities, n), Cases: len(cases.Items), MoreCases: cases.NextCursor != ""}
	}
	if o.form != nil {
		d.Form = *o.form
	} else {
		d.Form = formOf(ct).withBlankRows()
	}
	return d, nil
}

func identityViews(is []inbox.Identity, n *names) []identityView {
	out := make([]identityView, 0, len(is))
	for _, i := range is {
		out = append(out, identityView{Identity: i, PointName: n.points[i.PointOfContactID].Name})
	}
	return out
}

// showContact renders the card; a refused change comes back with its
// status, its error and the user's input.
func (h *Handler) showContact(w http.ResponseWriter, r *http.Request, e *env, status int, o cardOptions) {
	d, err := h.contactCard(r.Context(), e.u, r.PathValue("id"), o)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	v := h.newView(r, e, "contact.title", "inbox", d)
	if o.errKey != "" {
		v.Error, v.Detail = e.t(o.errKey), o.detail
	}
	if o.notice != "" {
		v.Notice = e.t(o.notice)
	}
	h.render(w, r, e, status, "contact", v)
}

// peopleContactPage is GET /contacts/{id}, with the notice of a change just
// made.
func (h *Handler) peopleContactPage(w http.ResponseWriter, r *http.Request, e *env) {
	var o cardOptions
	switch {
	case r.URL.Query().Get("merged") != "":
		o.notice = "people.merged"
	case r.URL.Query().Get("saved") != "":
		o.notice = "people.saved"
	}
	h.showContact(w, r, e, http.StatusOK, o)
}

// contactFormFrom reads the card's form. Fields absent from the form are
// left as they are; custom fields are replaced when their rows are posted.
func contactFormFrom(r *http.Request) (contactForm, inbox.ContactPatch, error) {
	var f contactForm
	var p inbox.ContactPatch
	pf := r.PostForm
	if _, ok := pf["name"]; ok {
		f.Name = pf.Get("name")
		p.Name = &f.Name
	}
	if _, ok := pf["email"]; ok {
		f.Email = pf.Get("email")
		p.Email = &f.Email
	}
	if _, ok := pf["phone"]; ok {
		f.Phone = pf.Get("phone")
		p.Phone = &f.Phone
	}
	keys, vals, kinds := pf["cf_key"], pf["cf_value"], pf["cf_json"]
	if len(keys) == 0 {
		return f, p, nil
	}
	obj := map[string]json.RawMessage{}
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for i, k := range keys {
		row := customField{Key: strings.TrimSpace(k)}
		if i < len(vals) {
			row.Value = vals[i]
		}
		row.JSON = i < len(kinds) && kinds[i] == "1"
		f.Fields = append(f.Fields, row)
		switch {
		case row.Key == "" && strings.TrimSpace(row.Value) == "":
			continue
		case row.Key == "":
			fail(&inbox.ValidationError{Field: fmt.Sprintf("custom_fields[%d].key", i), Reason: "a field needs a name"})
			continue
		case obj[row.Key] != nil:
			fail(&inbox.ValidationError{Field: fmt.Sprintf("custom_fields[%d].key", i), Reason: "the field " + row.Key + " is listed twice"})
			continue
		}
		if row.JSON {
			if !json.Valid([]byte(row.Value)) {
				fail(&inbox.ValidationError{Field: fmt.Sprintf("custom_fields[%d].value", i), Reason: "not valid JSON"})
				continue
			}
			obj[row.Key] = json.RawMessage(row.Value)
			continue
		}
		raw, err := json.Marshal(row.Value)
		if err != nil {
			fail(err)
			continue
		}
		obj[row.Key] = raw
	}
	if firstErr != nil {
		return f, p, firstErr
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return f, p, err
	}
	cf := json.RawMessage(raw)
	p.CustomFields = &cf
	return f, p, nil
}

// fieldErrors names the inputs a validation error is about, for the form
// to mark them; the catalog key says what is expected there.
func fieldErrors(err error) map[string]string {
	var ve *inbox.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	f := ve.Field
	switch {
	case f == "name", f == "email", f == "phone":
		return map[string]string{f: "people.invalid." + f}
	case strings.HasPrefix(f, "custom_fields["):
		// custom_fields[3].key → cf_key-3
		idx, part, _ := strings.Cut(strings.TrimPrefix(f, "custom_fields["), "].")
		return map[string]string{"cf_" + part + "-" + idx: "people.invalid.cf_" + part}
	case f == "custom_fields":
		return map[string]string{"custom_fields": "people.invalid.custom_fields"}
	}
	return nil
}

// updateContactCard saves the card's form through inbox.UpdateContact,
// after the visibility check the API makes (404 for a contact the user
// may not see).
func (h *Handler) updateContactCard(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	if _, err := h.d.Inbox.GetContact(ctx, e.u, id); err != nil {
		h.fail(w, r, e, err)
		return
	}
	form, patch, err := contactFormFrom(r)
	if err == nil {
		_, err = h.d.Inbox.UpdateContact(ctx, e.u, id, patch)
	}
	if err != nil {
		status, key, detail := h.failure(r, err)
		if status == http.StatusNotFound || status == http.StatusInternalServerError {
			h.renderError(w, r, e, status, key, detail)
			return
		}
		if _, ok := r.PostForm["cf_key"]; !ok {
			// A form without the custom field rows: show the contact's.
			if ct, gerr := h.d.Inbox.GetContact(ctx, e.u, id); gerr == nil {
				form.Fields = formOf(ct).Fields
			}
		}
		h.showContact(w, r, e, status, cardOptions{form: &form, errors: fieldErrors(err), errKey: key, detail: detail})
		return
	}
	http.Redirect(w, r, h.p("contacts", id)+"?saved=1", http.StatusSeeOther)
}

// mergeConfirmPage asks a supervisor to confirm merging ?from= into this
// contact, showing what moves.
func (h *Handler) mergeConfirmPage(w http.ResponseWriter, r *http.Request, e *env) {
	if !e.u.IsSupervisor() {
		h.renderError(w, r, e, http.StatusForbidden, "error.supervisors_only", "")
		return
	}
	from := strings.TrimSpace(r.URL.Query().Get("from"))
	if from == "" {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "from_id: required")
		return
	}
	h.showContact(w, r, e, http.StatusOK, cardOptions{confirmFrom: from})
}

// mergeContacts merges the posted contact into this one (supervisors and
// admins, as the API: inbox.MergeContacts refuses agents too).
func (h *Handler) mergeContacts(w http.ResponseWriter, r *http.Request, e *env) {
	if !e.u.IsSupervisor() {
		h.renderError(w, r, e, http.StatusForbidden, "error.supervisors_only", "")
		return
	}
	id, from := r.PathValue("id"), strings.TrimSpace(r.FormValue("from"))
	if from == "" {
		h.showContact(w, r, e, http.StatusBadRequest, cardOptions{errKey: "error.invalid", detail: "from_id: required"})
		return
	}
	if _, err := h.d.Inbox.MergeContacts(r.Context(), e.u, id, from); err != nil {
		status, key, detail := h.failure(r, err)
		if status == http.StatusNotFound || status == http.StatusInternalServerError || status == http.StatusForbidden {
			h.renderError(w, r, e, status, key, detail)
			return
		}
		h.showContact(w, r, e, status, cardOptions{errKey: key, detail: detail})
		return
	}
	http.Redirect(w, r, h.p("contacts", id)+"?merged="+url.QueryEscape(from), http.StatusSeeOther)
}
