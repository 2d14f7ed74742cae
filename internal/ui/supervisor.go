package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/store"
)

type supervisorData struct {
	Classes []string
	Queues  []routing.QueueStat
	Agents  []agentView

	// Sel is what the supervisor opened: an agent (their cases and the
	// panel that changes them), a queue (its waiting cases), a case to
	// move. It is in the URL, so the live board keeps it.
	Sel supSelection
	// LiveURL is where the board fetches itself again on live events.
	LiveURL string
	// Selected is the agent opened, Queue the queue opened.
	Selected *agentView
	Queue    *routing.QueueStat
	// Cases are the opened agent's active cases or the opened queue's
	// waiting ones, MoreCases whether there are more than shown.
	Cases     []caseRow
	MoreCases bool
	// Manage are the opened agent's forms, Move the case being moved
	// (both outside the live board, so a refresh never wipes what the
	// supervisor is typing).
	Manage *manageForm
	Move   *moveForm
	Skills []routing.Skill
	// CanAdmin: capacity and skills are the administrators' (as PUT
	// /api/v1/agents/{id}/capacity and /skills).
	CanAdmin bool
	States   []string
	Errors   map[string]string // input name → catalog key of its message
}

type agentView struct {
	routing.Agent
	Loads []loadView
}

// loadView is one capacity class: load of capacity, and how full.
type loadView struct {
	Class       string
	Load, Limit int
	Percent     int
}

func (h *Handler) supervisorData(ctx context.Context, u *account.User, sel supSelection) (*supervisorData, error) {
	qs, err := h.d.Router.Queues(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	as, err := h.d.Router.Agents(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	sel.base = h.p("supervisor")
	d := &supervisorData{Queues: qs, Classes: []string{"chat", "messaging", "email", "social", "total"}, Sel: sel, CanAdmin: u.IsAdmin(),
		LiveURL: h.p("supervisor", "live") + sel.query(false)}
	for _, a := range as {
		v := agentView{Agent: a}
		for _, c := range []struct {
			class       string
			load, limit int
		}{
			{"chat", a.Load.Chat, a.Capacity.Chat}, {"messaging", a.Load.Messaging, a.Capacity.Messaging},
			{"email", a.Load.Email, a.Capacity.Email}, {"social", a.Load.Social, a.Capacity.Social}, {"total", a.Load.Total, a.Capacity.Total},
		} {
			p := 0
			if c.limit > 0 {
				p = min(100, 100*c.load/c.limit)
			}
			v.Loads = append(v.Loads, loadView{Class: c.class, Load: c.load, Limit: c.limit, Percent: p})
		}
		d.Agents = append(d.Agents, v)
	}
	if err := h.supervisorSelection(ctx, u, d); err != nil {
		return nil, err
	}
	return d, nil
}

// supSelection is the board's selection, read from the URL (or from the
// hidden fields of a form posted from the board).
type supSelection struct {
	Agent, Queue, Move string
	base               string // the supervision page's path
}

func selectionOf(v url.Values) supSelection {
	return supSelection{Agent: strings.TrimSpace(v.Get("agent")), Queue: strings.TrimSpace(v.Get("queue")), Move: strings.TrimSpace(v.Get("move"))}
}

// query encodes the selection ("" when empty); withMove keeps the case
// being moved.
func (s supSelection) query(withMove bool) string {
	v := url.Values{}
	if s.Agent != "" {
		v.Set("agent", s.Agent)
	}
	if s.Queue != "" {
		v.Set("queue", s.Queue)
	}
	if withMove && s.Move != "" {
		v.Set("move", s.Move)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// AgentURL opens an agent, QueueURL a queue, MoveURL a case to move (in
// the current selection), CloseURL closes the move panel.
func (s supSelection) AgentURL(id string) string { return s.base + supSelection{Agent: id}.query(true) }
func (s supSelection) QueueURL(id string) string { return s.base + supSelection{Queue: id}.query(true) }
func (s supSelection) MoveURL(id string) string  { s.Move = id; return s.base + s.query(true) }
func (s supSelection) CloseURL() string          { return s.base + s.query(false) }

func (h *Handler) supervisorPage(w http.ResponseWriter, r *http.Request, e *env) {
	var notice string
	if saved := r.URL.Query().Get("saved"); saved != "" {
		switch saved {
		case "state", "capacity", "skills", "moved":
			notice = "people.saved_" + saved
		}
	}
	h.showSupervisor(w, r, e, http.StatusOK, selectionOf(r.URL.Query()), supOptions{notice: notice})
}

func (h *Handler) supervisorFragment(w http.ResponseWriter, r *http.Request, e *env) {
	d, err := h.supervisorData(r.Context(), e.u, selectionOf(r.URL.Query()))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.fragment(w, r, e, "supervisor", "board", d)
}

// supOptions are what a request adds to the supervision page: a refused
// change with its input and error, or a notice.
type supOptions struct {
	manage *manageForm
	moveTo string
	errors map[string]string
	errKey string
	detail string
	notice string
}

func (h *Handler) showSupervisor(w http.ResponseWriter, r *http.Request, e *env, status int, sel supSelection, o supOptions) {
	d, err := h.supervisorData(r.Context(), e.u, sel)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	if o.manage != nil && d.Manage != nil {
		d.Manage.apply(o.manage)
	}
	if d.Move != nil && o.moveTo != "" {
		d.Move.To = o.moveTo
	}
	d.Errors = o.errors
	v := h.newView(r, e, "supervisor.title", "supervisor", d)
	if o.errKey != "" {
		v.Error, v.Detail = e.t(o.errKey), o.detail
	}
	if o.notice != "" {
		v.Notice = e.t(o.notice)
	}
	h.render(w, r, e, status, "supervisor", v)
}

// supervisorSelection fills what the selection opens. An unknown agent,
// queue or case opens nothing.
func (h *Handler) supervisorSelection(ctx context.Context, u *account.User, d *supervisorData) error {
	sel := d.Sel
	if sel.Agent == "" && sel.Queue == "" && sel.Move == "" {
		return nil
	}
	var err error
	if d.Skills, err = h.d.Skills.List(ctx, u.WorkspaceID); err != nil {
		return err
	}
	n, err := h.names(ctx, u)
	if err != nil {
		return err
	}
	var f inbox.CaseFilter
	switch {
	case sel.Agent != "":
		for i := range d.Agents {
			if d.Agents[i].UserID == sel.Agent {
				d.Selected = &d.Agents[i]
			}
		}
		if d.Selected == nil {
			break
		}
		d.Manage = manageFormOf(d.Selected, d.Skills)
		d.States = []string{routing.StateAvailable, routing.StateAway, routing.StateOffline}
		// Pending cases wait on the customer: still theirs, not counted
		// in their load.
		f = inbox.CaseFilter{AssigneeID: sel.Agent, Statuses: activeStatuses(), Limit: 50}
	case sel.Queue != "":
		for i := range d.Queues {
			if d.Queues[i].SkillID == sel.Queue {
				d.Queue = &d.Queues[i]
			}
		}
		if d.Queue == nil {
			break
		}
		// The queue: the skill's active cases nobody holds, oldest first.
		f = inbox.CaseFilter{SkillID: sel.Queue, AssigneeID: "none", Statuses: []inbox.Status{inbox.StatusNew, inbox.StatusOpen, inbox.StatusEscalated},
			Sort: "created_at", Limit: 50}
	}
	if f.Limit > 0 {
		page, err := h.d.Inbox.ListCases(ctx, u, f)
		if err != nil {
			return err
		}
		for _, c := range page.Items {
			d.Cases = append(d.Cases, n.row(c))
		}
		d.MoreCases = page.NextCursor != ""
	}
	if sel.Move != "" {
		c, err := h.d.Inbox.GetCase(ctx, u, sel.Move)
		switch {
		case err == nil:
			d.Move = &moveForm{Case: n.row(c), Agents: d.Agents, Skills: d.Skills}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	return nil
}
