package web

import (
	"net/http"

	"github.com/parleyhq/parley/internal/account"
)

func (s *Server) capabilities(w http.ResponseWriter, r *http.Request, u *account.User) {
	caps, ok := s.Content.Capabilities(r.PathValue("type"))
	if !ok {
		problem(w, http.StatusNotFound, "unknown channel type")
		return
	}
	writeJSON(w, http.StatusOK, caps)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, u *account.User) {
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, ok := s.Content.Capabilities(r.PathValue("type")); !ok {
		problem(w, http.StatusNotFound, "unknown channel type")
		return
	}
	out, err := s.Content.Preview(r.PathValue("type"), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
