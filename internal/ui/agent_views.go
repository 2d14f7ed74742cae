package ui

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
)

// Saved views: the inbox's filters (its URL query) kept under a name
// through inbox.CreateSavedView, listed beside the filters as one-click
// links with their count.

// savedViewRow is one saved view in the inbox's sidebar.
type savedViewRow struct {
	inbox.SavedView
	Href      string // the inbox with the view's filters
	Current   bool   // the inbox shows exactly these filters now
	OwnerName string // a colleague's shared view: whose it is
	Count     int    // cases the view shows now
	CanDelete bool
}

type savedViewsData struct {
	Views []savedViewRow
	Self  string // this fragment's URL, for live refreshes
	Here  string // the inbox as shown, to come back to after a delete
}

// viewFilters turns the inbox's query into saved filters. The inbox's
// default tab ("" or "active") is the active statuses; "all" is none.
func viewFilters(q inboxQuery) inbox.ViewFilters {
	f := inbox.ViewFilters{ChannelType: q.Channel, PointOfContactID: q.Point, SkillID: q.Skill, AssigneeID: q.Assignee, OwnerID: q.Owner,
		CreatedFrom: q.From, CreatedTo: q.To, Tag: q.Tag, Text: q.Q, Sort: q.Sort}
	switch q.Status {
	case "", "active":
		f.Statuses = activeStatuses()
	case "all":
	default:
		f.Statuses = []inbox.Status{inbox.Status(q.Status)}
	}
	return f
}

// viewQuery is the inbox query that shows a view. The inbox's tabs show one
// status, the active ones, or all: a set of statuses made through the API
// that is none of these opens on "all" (its count is still exact).
func (h *Handler) viewQuery(f inbox.ViewFilters) inboxQuery {
	q := inboxQuery{Channel: f.ChannelType, Point: f.PointOfContactID, Skill: f.SkillID, Assignee: f.AssigneeID, Owner: f.OwnerID,
		From: f.CreatedFrom, To: f.CreatedTo, Tag: f.Tag, Q: f.Text, Sort: f.Sort, base: h.p("inbox")}
	switch {
	case len(f.Statuses) == 1:
		q.Status = string(f.Statuses[0])
	case slices.Equal(f.Statuses, activeStatuses()):
	default:
		q.Status = "all"
	}
	return q
}

// sameFilters tells whether the inbox shows a view's filters.
func sameFilters(a, b inboxQuery) bool {
	a.Cursor, b.Cursor = "", ""
	if a.Status == "active" {
		a.Status = ""
	}
	if b.Status == "active" {
		b.Status = ""
	}
	return a.values().Encode() == b.values().Encode()
}

// savedViews reads the views u may open, with their counts.
func (h *Handler) savedViews(ctx context.Context, u *account.User, shown inboxQuery) ([]savedViewRow, error) {
	vs, err := h.d.Inbox.ListSavedViews(ctx, u)
	if err != nil {
		return nil, err
	}
	var users map[string]string
	out := make([]savedViewRow, 0, len(vs))
	for _, v := range vs {
		q := h.viewQuery(v.Filters)
		row := savedViewRow{SavedView: v, Href: withQuery(q.base, q.values()), Current: sameFilters(q, shown), CanDelete: inbox.CanDeleteSavedView(u, v)}
		if v.OwnerID != u.ID {
			if users == nil {
				users = map[string]string{}
				list, err := h.d.Accounts.ListUsers(ctx, u.WorkspaceID)
				if err != nil {
					return nil, err
				}
				for _, x := range list {
					users[x.ID] = x.Name
				}
			}
			row.OwnerName = users[v.OwnerID]
		}
		// One count per view, the query the status tabs run (indexed,
		// text through the full-text index).
		counts, err := h.countByStatus(ctx, u, v.Filters.CaseFilter(u))
		if err != nil {
			return nil, err
		}
		for st, n := range counts {
			if len(v.Filters.Statuses) == 0 || slices.Contains(v.Filters.Statuses, st) {
				row.Count += n
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// savedViewsFragment is the list of saved views beside the inbox's
// filters, marked against the filters the inbox shows (its query).
func (h *Handler) savedViewsFragment(w http.ResponseWriter, r *http.Request, e *env) {
	shown := h.parseInboxQuery(r.URL.Query())
	rows, err := h.savedViews(r.Context(), e.u, shown)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	shown.Cursor = ""
	h.fragment(w, r, e, "inbox", "viewlist", &savedViewsData{Views: rows, Self: withQuery(h.p("inbox", "views"), shown.values()),
		Here: withQuery(shown.base, shown.values())})
}

// createSavedView saves the filters posted with the form (the inbox's
// current query) and opens the inbox on them. Sharing is for supervisors
// and administrators, as POST /api/v1/saved-views.
func (h *Handler) createSavedView(w http.ResponseWriter, r *http.Request, e *env) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	q := h.parseInboxQuery(r.PostForm)
	shared := r.PostForm.Get("shared") != ""
	if shared && !e.u.IsSupervisor() {
		h.renderError(w, r, e, http.StatusForbidden, "agent.views.share_forbidden", "")
		return
	}
	v, err := h.d.Inbox.CreateSavedView(r.Context(), e.u, inbox.NewSavedView{Name: r.PostForm.Get("name"), Shared: shared, Filters: viewFilters(q)})
	if errors.Is(err, inbox.ErrShareNotAllowed) {
		h.renderError(w, r, e, http.StatusForbidden, "agent.views.share_forbidden", "")
		return
	}
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	shown := h.viewQuery(v.Filters)
	http.Redirect(w, r, withQuery(shown.base, shown.values()), http.StatusSeeOther)
}

// deleteSavedView deletes a view (its owner; administrators: any), then
// goes back to the inbox as it was.
func (h *Handler) deleteSavedView(w http.ResponseWriter, r *http.Request, e *env) {
	err := h.d.Inbox.DeleteSavedView(r.Context(), e.u, r.PathValue("id"))
	if errors.Is(err, inbox.ErrForbidden) {
		h.renderError(w, r, e, http.StatusForbidden, "agent.views.delete_forbidden", "")
		return
	}
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	http.Redirect(w, r, h.localPath(r.FormValue("next")), http.StatusSeeOther)
}
