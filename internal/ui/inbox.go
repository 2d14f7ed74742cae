package ui

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
)

// activeStatuses are what the inbox shows by default: cases still to work.
func activeStatuses() []inbox.Status {
	return []inbox.Status{inbox.StatusNew, inbox.StatusOpen, inbox.StatusPending, inbox.StatusEscalated}
}

// inboxQuery is the inbox's filters and sort, as they appear in the URL.
type inboxQuery struct {
	Status   string // "", "active", "all", or one status
	Channel  string
	Point    string
	Skill    string
	Assignee string // "", "me", "none", or a user id
	Owner    string // "", "me", "none", or a user id
	From, To string // creation dates, YYYY-MM-DD, both included (UTC)
	Tag      string
	Q        string
	Sort     string
	Cursor   string
	base     string // the inbox's path
}

func (h *Handler) parseInboxQuery(q url.Values) inboxQuery {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return inboxQuery{Status: get("status"), Channel: get("channel"), Point: get("poc"), Skill: get("skill"), Assignee: get("assignee"),
		Owner: get("owner"), From: get("from"), To: get("to"), Tag: get("tag"), Q: get("q"), Sort: get("sort"), Cursor: get("cursor"), base: h.p("inbox")}
}

// values encodes the query; with status set to the given one.
func (q inboxQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("status", q.Status)
	set("channel", q.Channel)
	set("poc", q.Point)
	set("skill", q.Skill)
	set("assignee", q.Assignee)
	set("owner", q.Owner)
	set("from", q.From)
	set("to", q.To)
	set("tag", q.Tag)
	set("q", q.Q)
	set("sort", q.Sort)
	set("cursor", q.Cursor)
	return v
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// Tab is the inbox URL with one status tab selected (and no cursor).
func (q inboxQuery) Tab(status string) string {
	q.Status, q.Cursor = status, ""
	return withQuery(q.base, q.values())
}

// ListURL is the case list fragment's URL, without the cursor (live
// refresh shows the first page).
func (q inboxQuery) ListURL() string {
	q.Cursor = ""
	return withQuery(q.base+"/list", q.values())
}

// NextURL is the next page.
func (q inboxQuery) NextURL(cursor string) string {
	q.Cursor = cursor
	return withQuery(q.base, q.values())
}

// filter is the case list the query selects for u: the same filters a
// saved view holds (viewFilters), with the page's cursor.
func (q inboxQuery) filter(u *account.User) inbox.CaseFilter {
	f := viewFilters(q).CaseFilter(u)
	f.Cursor, f.Limit = q.Cursor, 50
	return f
}

// caseRow is one line of the inbox.
type caseRow struct {
	*inbox.Case
	PointName    string
	SkillName    string
	AssigneeName string
	// Unread: the customer wrote last and nobody answered yet.
	Unread bool
	// CanResolve: "resolved" is an allowed next status (the e shortcut).
	CanResolve bool
}

// statusTab is one status filter with its count.
type statusTab struct {
	Key, Href string
	Count     int
	Current   bool
}

type inboxData struct {
	Query      inboxQuery
	Rows       []caseRow
	NextCursor string
	Tabs       []statusTab
	Channels   []string
	Points     []channel.PointOfContact
	Skills     []routing.Skill
	Users      []account.User
	Sorts      []string
	Offers     []offerView
	Agent      *routing.Agent
	States     []string
}

// names are the lookups a page needs to show ids as names.
type names struct {
	points map[string]channel.PointOfContact
	skills map[string]string
	users  map[string]string
	pl     []channel.PointOfContact
	sl     []routing.Skill
	ul     []account.User
}

func (h *Handler) names(ctx context.Context, u *account.User) (*names, error) {
	n := &names{points: map[string]channel.PointOfContact{}, skills: map[string]string{}, users: map[string]string{}}
	ps, err := h.d.Points.List(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if u.CanSee(p.ID) {
			n.points[p.ID] = p
			n.pl = append(n.pl, p)
		}
	}
	if n.sl, err = h.d.Skills.List(ctx, u.WorkspaceID); err != nil {
		return nil, err
	}
	for _, s := range n.sl {
		n.skills[s.ID] = s.Name
	}
	if n.ul, err = h.d.Accounts.ListUsers(ctx, u.WorkspaceID); err != nil {
		return nil, err
	}
	for _, x := range n.ul {
		n.users[x.ID] = x.Name
	}
	return n, nil
}

func (n *names) row(c *inbox.Case) caseRow {
	r := caseRow{Case: c, PointName: n.points[c.PointOfContactID].Name}
	if c.SkillID != nil {
		r.SkillName = n.skills[*c.SkillID]
	}
	if c.AssigneeID != nil {
		r.AssigneeName = n.users[*c.AssigneeID]
	}
	r.Unread = unread(c)
	r.CanResolve = contains(statusStrings(c.AllowedStatuses), string(inbox.StatusResolved))
	return r
}

// unread: a new case, or an active one whose customer wrote after the last
// agent reply.
func unread(c *inbox.Case) bool {
	switch c.Status {
	case inbox.StatusResolved, inbox.StatusClosed, inbox.StatusTrashed:
		return false
	case inbox.StatusNew:
		return true
	}
	return c.LastInboundAt != nil && (c.LastReplyAt == nil || c.LastInboundAt.After(*c.LastReplyAt))
}

func statusStrings(ss []inbox.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// listCases reads one page of the inbox with the lookups to show it.
func (h *Handler) listCases(ctx context.Context, u *account.User, q inboxQuery, n *names) (*inboxData, error) {
	page, err := h.d.Inbox.ListCases(ctx, u, q.filter(u))
	if err != nil {
		return nil, err
	}
	d := &inboxData{Query: q, NextCursor: page.NextCursor}
	for _, c := range page.Items {
		d.Rows = append(d.Rows, n.row(c))
	}
	counts, err := h.countByStatus(ctx, u, q.filter(u))
	if err != nil {
		return nil, err
	}
	active, all := 0, 0
	for _, s := range activeStatuses() {
		active += counts[s]
	}
	for _, n := range counts {
		all += n
	}
	cur := q.Status
	if cur == "" {
		cur = "active"
	}
	d.Tabs = append(d.Tabs, statusTab{Key: "active", Href: q.Tab("active"), Count: active, Current: cur == "active"})
	for _, s := range inbox.Statuses {
		d.Tabs = append(d.Tabs, statusTab{Key: string(s), Href: q.Tab(string(s)), Count: counts[s], Current: cur == string(s)})
	}
	d.Tabs = append(d.Tabs, statusTab{Key: "all", Href: q.Tab("all"), Count: all, Current: cur == "all"})
	return d, nil
}

func (h *Handler) inboxPage(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	q := h.parseInboxQuery(r.URL.Query())
	n, err := h.names(ctx, e.u)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d, err := h.listCases(ctx, e.u, q, n)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d.Channels = channelTypesOf(n.pl)
	d.Points, d.Skills, d.Users = n.pl, n.sl, n.ul
	d.Sorts = []string{"-last_message_at", "last_message_at", "-created_at", "created_at", "-updated_at"}
	if d.Offers, err = h.offers(ctx, e.u); err != nil {
		h.fail(w, r, e, err)
		return
	}
	if a, err := h.d.Router.Agent(ctx, e.u.WorkspaceID, e.u.ID); err == nil {
		d.Agent = &a
	}
	d.States = []string{routing.StateAvailable, routing.StateAway, routing.StateOffline}
	v := h.newView(r, e, "inbox.title", "inbox", d)
	v.Shortcuts = true
	h.render(w, r, e, http.StatusOK, "inbox", v)
}

// inboxList is the case list alone, fetched again on live events.
func (h *Handler) inboxList(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	q := h.parseInboxQuery(r.URL.Query())
	n, err := h.names(ctx, e.u)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d, err := h.listCases(ctx, e.u, q, n)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.fragment(w, r, e, "inbox", "caselist", d)
}

// channelTypesOf lists the channel types of the points of contact shown.
func channelTypesOf(ps []channel.PointOfContact) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		if !seen[p.Type] {
			seen[p.Type] = true
			out = append(out, p.Type)
		}
	}
	sort.Strings(out)
	return out
}

// offerView is an offer from routing with the case it is for.
type offerView struct {
	routing.Offer
	Contact, Subject, ChannelType string
	Seconds                       int
}

func (h *Handler) offers(ctx context.Context, u *account.User) ([]offerView, error) {
	os, err := h.d.Router.Offers(ctx, u.WorkspaceID, u.ID)
	if err != nil {
		return nil, err
	}
	now := h.d.Now()
	var out []offerView
	for _, o := range os {
		v := offerView{Offer: o, Seconds: int(o.ExpiresAt.Sub(now).Round(time.Second) / time.Second)}
		if c, err := h.d.Inbox.GetCase(ctx, u, o.CaseID); err == nil {
			v.Contact, v.Subject, v.ChannelType = c.ContactName, c.Subject, c.ChannelType
		}
		out = append(out, v)
	}
	return out, nil
}

func (h *Handler) offersFragment(w http.ResponseWriter, r *http.Request, e *env) {
	os, err := h.offers(r.Context(), e.u)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.fragment(w, r, e, "inbox", "offers", map[string]any{"Offers": os})
}

func (h *Handler) acceptOffer(w http.ResponseWriter, r *http.Request, e *env) {
	o, err := h.d.Router.Accept(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.back(w, r, "cases", o.CaseID)
}

func (h *Handler) rejectOffer(w http.ResponseWriter, r *http.Request, e *env) {
	if err := h.d.Router.Reject(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.back(w, r, "inbox")
}

// setPresence changes the user's own routing state (as PUT
// /api/v1/agents/me/state).
func (h *Handler) setPresence(w http.ResponseWriter, r *http.Request, e *env) {
	if _, err := h.d.Router.SetState(r.Context(), e.u.WorkspaceID, e.u.ID, e.u.ID, r.FormValue("state"), r.FormValue("reason")); err != nil {
		h.fail(w, r, e, err)
		return
	}
	http.Redirect(w, r, h.localPath(r.FormValue("next")), http.StatusSeeOther)
}

// agentTypes lists the rich content types an agent may send on a channel
// (content.AgentMaySend, the agent table of MISSION §3), among those the
// composer offers.
func agentTypes(channelType string) map[string]bool {
	out := map[string]bool{}
	for _, t := range []content.Type{content.TypeQuickReplies, content.TypeListPicker, content.TypeRichLink} {
		if content.AgentMaySend(channelType, t) {
			out[string(t)] = true
		}
	}
	return out
}
