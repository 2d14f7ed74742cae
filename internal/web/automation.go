package web

import (
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/automation"
)

// Workflow automation rules: trigger, condition sets, delay, actions.

func (s *Server) listRules(w http.ResponseWriter, r *http.Request, u *account.User) {
	rs, err := s.Automation.ListRules(r.Context(), u.WorkspaceID)
	s.respondItems(w, r, rs, err)
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in automation.RuleInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	rule, err := s.Automation.CreateRule(r.Context(), u.WorkspaceID, u.ID, in)
	s.respond(w, r, http.StatusCreated, rule, err)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request, u *account.User) {
	rule, err := s.Automation.GetRule(r.Context(), u.WorkspaceID, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, rule, err)
}

func (s *Server) updateRule(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in automation.RuleInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	rule, err := s.Automation.UpdateRule(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"), in)
	s.respond(w, r, http.StatusOK, rule, err)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request, u *account.User) {
	if err := s.Automation.DeleteRule(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) caseAutomationJobs(w http.ResponseWriter, r *http.Request, u *account.User) {
	if _, err := s.Inbox.GetCase(r.Context(), u, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.Automation.ListJobs(r.Context(), u.WorkspaceID, r.PathValue("id"))
	s.respondItems(w, r, jobs, err)
}
