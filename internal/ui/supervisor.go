package ui

import (
	"context"
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/routing"
)

type supervisorData struct {
	Classes []string
	Queues  []routing.QueueStat
	Agents  []agentView
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

func (h *Handler) supervisorData(ctx context.Context, u *account.User) (*supervisorData, error) {
	qs, err := h.d.Router.Queues(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	as, err := h.d.Router.Agents(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	d := &supervisorData{Queues: qs, Classes: []string{"chat", "messaging", "email", "social", "total"}}
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
	return d, nil
}

func (h *Handler) supervisorPage(w http.ResponseWriter, r *http.Request, e *env) {
	d, err := h.supervisorData(r.Context(), e.u)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.render(w, r, e, http.StatusOK, "supervisor", h.newView(r, e, "supervisor.title", "supervisor", d))
}

func (h *Handler) supervisorFragment(w http.ResponseWriter, r *http.Request, e *env) {
	d, err := h.supervisorData(r.Context(), e.u)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.fragment(w, r, e, "supervisor", "board", d)
}
