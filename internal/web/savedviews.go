package web

import (
	"errors"
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/inbox"
)

// Saved inbox views: named case filters, private or shared with the
// workspace (supervisors and administrators share).

func (s *Server) listSavedViews(w http.ResponseWriter, r *http.Request, u *account.User) {
	vs, err := s.Inbox.ListSavedViews(r.Context(), u)
	s.respondItems(w, r, vs, err)
}

func (s *Server) createSavedView(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in inbox.NewSavedView
	if !s.decodeJSON(w, r, &in) {
		return
	}
	v, err := s.Inbox.CreateSavedView(r.Context(), u, in)
	if errors.Is(err, inbox.ErrShareNotAllowed) {
		problem(w, http.StatusForbidden, "only supervisors and administrators may share a view with the workspace")
		return
	}
	s.respond(w, r, http.StatusCreated, v, err)
}

func (s *Server) getSavedView(w http.ResponseWriter, r *http.Request, u *account.User) {
	v, err := s.Inbox.GetSavedView(r.Context(), u, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, v, err)
}

func (s *Server) deleteSavedView(w http.ResponseWriter, r *http.Request, u *account.User) {
	err := s.Inbox.DeleteSavedView(r.Context(), u, r.PathValue("id"))
	switch {
	case errors.Is(err, inbox.ErrForbidden):
		problem(w, http.StatusForbidden, "only the view's owner or an administrator may delete it")
	case err != nil:
		s.fail(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
