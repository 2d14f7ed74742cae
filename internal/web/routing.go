package web

import (
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/routing"
)

// The digital ACD's API: agents' presence, capacity and skills; offers
// (accept, reject); pull mode; transfers; queues for supervisors.

// supervisor requires a supervisor or an admin.
func (s *Server) supervisor(h func(http.ResponseWriter, *http.Request, *account.User)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, u *account.User) {
		if !u.IsSupervisor() {
			problem(w, http.StatusForbidden, "supervisors and administrators only")
			return
		}
		h(w, r, u)
	})
}

// agentTarget resolves {id} ("me" is the caller); agents may only act on
// themselves.
func agentTarget(w http.ResponseWriter, r *http.Request, u *account.User) (string, bool) {
	id := r.PathValue("id")
	if id == "me" {
		id = u.ID
	}
	if id != u.ID && !u.IsSupervisor() {
		problem(w, http.StatusForbidden, "agents may only change their own state")
		return "", false
	}
	return id, true
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, u *account.User) {
	as, err := s.Router.Agents(r.Context(), u.WorkspaceID)
	s.respondItems(w, r, as, err)
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request, u *account.User) {
	id, ok := agentTarget(w, r, u)
	if !ok {
		return
	}
	a, err := s.Router.Agent(r.Context(), u.WorkspaceID, id)
	s.respond(w, r, http.StatusOK, a, err)
}

func (s *Server) setAgentState(w http.ResponseWriter, r *http.Request, u *account.User) {
	id, ok := agentTarget(w, r, u)
	if !ok {
		return
	}
	var in struct {
		State      string `json:"state"`
		AwayReason string `json:"away_reason"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	a, err := s.Router.SetState(r.Context(), u.WorkspaceID, u.ID, id, in.State, in.AwayReason)
	s.respond(w, r, http.StatusOK, a, err)
}

func (s *Server) setAgentCapacity(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in routing.Capacity
	if !s.decodeJSON(w, r, &in) {
		return
	}
	a, err := s.Router.SetCapacity(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"), in)
	s.respond(w, r, http.StatusOK, a, err)
}

func (s *Server) setAgentSkills(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		Skills []routing.AgentSkill `json:"skills"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	a, err := s.Router.SetSkills(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"), in.Skills)
	s.respond(w, r, http.StatusOK, a, err)
}

func (s *Server) listOffers(w http.ResponseWriter, r *http.Request, u *account.User) {
	os, err := s.Router.Offers(r.Context(), u.WorkspaceID, u.ID)
	s.respondItems(w, r, os, err)
}

func (s *Server) acceptOffer(w http.ResponseWriter, r *http.Request, u *account.User) {
	o, err := s.Router.Accept(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, o, err)
}

func (s *Server) rejectOffer(w http.ResponseWriter, r *http.Request, u *account.User) {
	if err := s.Router.Reject(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) requestNextCase(w http.ResponseWriter, r *http.Request, u *account.User) {
	id, err := s.Router.RequestNext(r.Context(), u.WorkspaceID, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.Inbox.GetCase(r.Context(), u, id)
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) transferCase(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		SkillID string `json:"skill_id"`
		UserID  string `json:"user_id"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	// The caller must see the case (and reply on it, if an agent).
	if _, err := s.Inbox.GetCase(r.Context(), u, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Router.Transfer(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"), in.SkillID, in.UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.Inbox.GetCase(r.Context(), u, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request, u *account.User) {
	qs, err := s.Router.Queues(r.Context(), u.WorkspaceID)
	s.respondItems(w, r, qs, err)
}
