package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/store"
)

// maxQuickReplies is how many option inputs the composer offers.
const maxQuickReplies = 5

type caseData struct {
	Case      caseRow
	Timeline  []entry
	More      bool // more messages than the timeline shows
	Contact   *inbox.Contact
	Others    []caseRow // the contact's other cases, every channel
	Points    map[string]channel.PointOfContact
	Skills    []routing.Skill
	Users     []account.User
	Agents    []routing.Agent
	CanReply  bool
	CanNote   bool
	Rich      map[string]bool // rich types the agent may send here
	QuickN    []int
	Templates []channel.StoredTemplate
	Form      composerForm
}

// composerForm is what the agent typed, kept when a send is refused.
type composerForm struct {
	Text     string
	Options  []string
	Template string
	Params   string
	Note     string
}

// caseData reads everything the case page shows.
func (h *Handler) caseData(ctx context.Context, u *account.User, id string) (*caseData, error) {
	c, err := h.d.Inbox.GetCase(ctx, u, id)
	if err != nil {
		return nil, err
	}
	n, err := h.names(ctx, u)
	if err != nil {
		return nil, err
	}
	d := &caseData{Case: n.row(c), Points: n.points, Skills: n.sl, Users: n.ul, QuickN: seqN(maxQuickReplies)}
	if d.Timeline, d.More, err = h.timeline(ctx, u, c, n); err != nil {
		return nil, err
	}
	if d.Contact, err = h.d.Inbox.GetContact(ctx, u, c.ContactID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	others, err := h.d.Inbox.ListCases(ctx, u, inbox.CaseFilter{ContactID: c.ContactID, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, o := range others.Items {
		if o.ID != c.ID {
			d.Others = append(d.Others, n.row(o))
		}
	}
	d.CanReply = u.Can(account.ActionReply, c.PointOfContactID) && c.Status != inbox.StatusClosed && c.Status != inbox.StatusTrashed
	d.CanNote = u.Can(account.ActionNote, c.PointOfContactID)
	d.Rich = agentTypes(c.ChannelType)
	if h.d.Templates != nil {
		ts, err := h.d.Templates.List(ctx, u.WorkspaceID, c.PointOfContactID)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if t.Status == "approved" {
				d.Templates = append(d.Templates, t)
			}
		}
	}
	if u.IsSupervisor() {
		if d.Agents, err = h.d.Router.Agents(ctx, u.WorkspaceID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func seqN(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// timeline merges a case's messages and notes by time.
func (h *Handler) timeline(ctx context.Context, u *account.User, c *inbox.Case, n *names) ([]entry, bool, error) {
	page, err := h.d.Inbox.ListMessages(ctx, u, c.ID, 500, "")
	if err != nil {
		return nil, false, err
	}
	notes, err := h.d.Inbox.ListNotes(ctx, u, c.ID)
	if err != nil {
		return nil, false, err
	}
	out := make([]entry, 0, len(page.Items)+len(notes))
	for _, m := range page.Items {
		out = append(out, entry{At: m.CreatedAt, Msg: h.messageView(m, c, n, u)})
	}
	for _, nt := range notes {
		out = append(out, entry{At: nt.CreatedAt, Note: &noteView{ID: nt.ID, Author: n.users[nt.AuthorID], Body: nt.Body, At: nt.CreatedAt}})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, page.NextCursor != "", nil
}

func (h *Handler) casePage(w http.ResponseWriter, r *http.Request, e *env) {
	h.showCase(w, r, e, http.StatusOK, composerForm{}, "", "")
}

// showCase renders the case page, with an error and the agent's input
// when a change was refused.
func (h *Handler) showCase(w http.ResponseWriter, r *http.Request, e *env, status int, form composerForm, errKey, detail string) {
	d, err := h.caseData(r.Context(), e.u, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d.Form = form
	v := h.newView(r, e, "case.title", "inbox", d)
	v.Shortcuts = true
	if errKey != "" {
		v.Error, v.Detail = e.t(errKey), detail
	}
	h.render(w, r, e, status, "case", v)
}

// refuse shows the case again with the error a change met.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, e *env, form composerForm, err error) {
	status, key, detail := h.failure(r, err)
	if status == http.StatusNotFound || status == http.StatusInternalServerError {
		h.renderError(w, r, e, status, key, detail)
		return
	}
	h.showCase(w, r, e, status, form, key, detail)
}

func (h *Handler) timelineFragment(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	c, err := h.d.Inbox.GetCase(ctx, e.u, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	n, err := h.names(ctx, e.u)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	tl, more, err := h.timeline(ctx, e.u, c, n)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.fragment(w, r, e, "case", "timeline", &caseData{Case: n.row(c), Timeline: tl, More: more})
}

func (h *Handler) summaryFragment(w http.ResponseWriter, r *http.Request, e *env) {
	d, err := h.caseData(r.Context(), e.u, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.fragment(w, r, e, "case", "summary", d)
}

// reply sends the composer's message through inbox.Reply (which checks the
// reply permission, the case's state and the reply window, and limits
// agents to their channel's agent table).
func (h *Handler) reply(w http.ResponseWriter, r *http.Request, e *env) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	form := composerForm{Text: r.PostForm.Get("text"), Template: r.PostForm.Get("template"), Params: r.PostForm.Get("params")}
	for i := 1; i <= maxQuickReplies; i++ {
		form.Options = append(form.Options, r.PostForm.Get("option"+strconv.Itoa(i)))
	}
	msg, err := composeMessage(form)
	if err != nil {
		h.refuse(w, r, e, form, err)
		return
	}
	if _, err := h.d.Inbox.Reply(r.Context(), e.u, r.PathValue("id"), msg); err != nil {
		h.refuse(w, r, e, form, err)
		return
	}
	if h.d.Router != nil {
		h.d.Router.Kick(e.u.WorkspaceID)
	}
	h.back(w, r, "cases", r.PathValue("id"))
}

// composeMessage turns the composer's fields into an inbox message: a
// template, quick replies, or text.
func composeMessage(f composerForm) (inbox.NewMessage, error) {
	if f.Template != "" {
		name, lang, _ := strings.Cut(f.Template, "|")
		params := []string{}
		for _, p := range strings.Split(strings.ReplaceAll(f.Params, "\r\n", "\n"), "\n") {
			if p = strings.TrimSpace(p); p != "" {
				params = append(params, p)
			}
		}
		return inbox.NewMessage{Template: &inbox.TemplateRequest{Name: name, Language: lang, Parameters: params}}, nil
	}
	var opts []content.Option
	for i, label := range f.Options {
		if label = strings.TrimSpace(label); label != "" {
			opts = append(opts, content.Option{ID: fmt.Sprintf("o%d", i+1), Label: label})
		}
	}
	if len(opts) == 0 {
		return inbox.NewMessage{Text: f.Text}, nil
	}
	if strings.TrimSpace(f.Text) == "" {
		return inbox.NewMessage{}, &inbox.ValidationError{Field: "text", Reason: "quick replies need a question"}
	}
	raw, err := json.Marshal(content.Content{Type: content.TypeQuickReplies, Text: f.Text, Options: opts})
	if err != nil {
		return inbox.NewMessage{}, err
	}
	return inbox.NewMessage{Content: raw}, nil
}

func (h *Handler) addNote(w http.ResponseWriter, r *http.Request, e *env) {
	body := r.FormValue("body")
	if _, err := h.d.Inbox.AddNote(r.Context(), e.u, r.PathValue("id"), body); err != nil {
		h.refuse(w, r, e, composerForm{Note: body}, err)
		return
	}
	h.back(w, r, "cases", r.PathValue("id"))
}

// update applies a case patch as PATCH /api/v1/cases/{id} does: the inbox
// checks visibility and transitions; routing follows hand assignments and
// status changes.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, e *env, p inbox.CasePatch) {
	ctx := r.Context()
	c, err := h.d.Inbox.UpdateCase(ctx, e.u, r.PathValue("id"), p)
	if err == nil && h.d.Router != nil {
		if p.AssigneeID != nil {
			err = h.d.Router.AssignedByHand(ctx, e.u.WorkspaceID, c.ID)
		}
		h.d.Router.Kick(e.u.WorkspaceID)
	}
	if err != nil {
		h.refuse(w, r, e, composerForm{}, err)
		return
	}
	if next := r.FormValue("next"); next != "" {
		http.Redirect(w, r, h.localPath(next), http.StatusSeeOther)
		return
	}
	h.back(w, r, "cases", r.PathValue("id"))
}

func (h *Handler) setStatus(w http.ResponseWriter, r *http.Request, e *env) {
	s := inbox.Status(r.FormValue("status"))
	h.update(w, r, e, inbox.CasePatch{Status: &s})
}

func (h *Handler) setProperties(w http.ResponseWriter, r *http.Request, e *env) {
	var p inbox.CasePatch
	if v := strings.TrimSpace(r.FormValue("priority")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			h.refuse(w, r, e, composerForm{}, &inbox.ValidationError{Field: "priority", Reason: "between 0 and 100"})
			return
		}
		p.Priority = &n
	}
	if _, ok := r.PostForm["skill"]; ok {
		s := r.PostForm.Get("skill")
		p.SkillID = &s
	}
	if _, ok := r.PostForm["cf_new_key"]; ok {
		c, err := h.d.Inbox.GetCase(r.Context(), e.u, r.PathValue("id"))
		if err != nil {
			h.fail(w, r, e, err)
			return
		}
		if p.CustomFields, err = customFieldsPatch(r, c.CustomFields); err != nil {
			h.refuse(w, r, e, composerForm{}, err)
			return
		}
	}
	h.update(w, r, e, p)
}

// assign takes the case ("me"), gives it to someone (supervisors; the
// inbox refuses agents), or releases it ("").
func (h *Handler) assign(w http.ResponseWriter, r *http.Request, e *env) {
	a := r.FormValue("assignee")
	if a == "me" {
		a = e.u.ID
	}
	h.update(w, r, e, inbox.CasePatch{AssigneeID: &a})
}

func (h *Handler) setTags(w http.ResponseWriter, r *http.Request, e *env) {
	var add, remove []string
	for _, t := range strings.Split(r.FormValue("add"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			add = append(add, t)
		}
	}
	if t := r.FormValue("remove"); t != "" {
		remove = append(remove, t)
	}
	if len(add)+len(remove) == 0 {
		h.back(w, r, "cases", r.PathValue("id"))
		return
	}
	if _, err := h.d.Inbox.SetTags(r.Context(), e.u, r.PathValue("id"), add, remove); err != nil {
		h.refuse(w, r, e, composerForm{}, err)
		return
	}
	h.back(w, r, "cases", r.PathValue("id"))
}

// transfer moves the case to a skill's queue or to an agent, as POST
// /api/v1/cases/{id}/transfer does (the caller must see the case).
func (h *Handler) transfer(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := h.d.Inbox.GetCase(ctx, e.u, id); err != nil {
		h.fail(w, r, e, err)
		return
	}
	to := r.FormValue("to")
	kind, target, _ := strings.Cut(to, ":")
	var skill, user string
	switch kind {
	case "skill":
		skill = target
	case "user":
		user = target
	}
	if err := h.d.Router.Transfer(ctx, e.u.WorkspaceID, e.u.ID, id, skill, user); err != nil {
		h.refuse(w, r, e, composerForm{}, err)
		return
	}
	h.back(w, r, "cases", id)
}

// moderateMessage hides, shows, deletes, likes or unlikes a customer's
// public message through inbox.Moderate, which checks the channel
// permission (403) before the platform is asked.
func (h *Handler) moderateMessage(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	action := channel.ModerationAction(r.PathValue("action"))
	known := false
	for _, a := range channel.ModerationActions() {
		known = known || a == action
	}
	if !known {
		h.renderError(w, r, e, http.StatusNotFound, "error.not_found", "")
		return
	}
	m, err := h.d.Inbox.GetMessage(ctx, e.u, r.PathValue("mid"))
	if err == nil && m.CaseID != r.PathValue("id") {
		err = store.ErrNotFound
	}
	if err == nil {
		_, err = h.d.Inbox.Moderate(ctx, e.u, m.ID, action)
	}
	if err != nil {
		h.refuse(w, r, e, composerForm{}, err)
		return
	}
	h.back(w, r, "cases", m.CaseID)
}

// contactPage is the customer card on its own (people_contact.go).
func (h *Handler) contactPage(w http.ResponseWriter, r *http.Request, e *env) {
	h.peopleContactPage(w, r, e)
}
