package web

import (
	"net/http"
	"strings"

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

func (s *Server) linkPreview(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		URL string `json:"url"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if !strings.HasPrefix(in.URL, "https://") && !strings.HasPrefix(in.URL, "http://") {
		invalid(w, "url", "an absolute http(s) URL")
		return
	}
	pv, err := s.Content.LinkPreview(r.Context(), in.URL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pv)
}
