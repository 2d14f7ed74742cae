package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/script"
)

// Default scripts: created and updated through the API, every save a new
// version; a dry run shows what a script would do with a sample input.

func (s *Server) listScripts(w http.ResponseWriter, r *http.Request, u *account.User) {
	out, err := s.Scripts.List(r.Context(), u.WorkspaceID)
	s.respondItems(w, r, out, err)
}

func (s *Server) createScript(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct{ Name, Source string }
	if !s.decodeJSON(w, r, &in) {
		return
	}
	sc, err := s.Scripts.Create(r.Context(), u.WorkspaceID, u.ID, in.Name, in.Source)
	s.respond(w, r, http.StatusCreated, sc, err)
}

func (s *Server) getScript(w http.ResponseWriter, r *http.Request, u *account.User) {
	sc, err := s.Scripts.Get(r.Context(), u.WorkspaceID, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, sc, err)
}

func (s *Server) updateScript(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct{ Source string }
	if !s.decodeJSON(w, r, &in) {
		return
	}
	sc, err := s.Scripts.Update(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"), in.Source)
	s.respond(w, r, http.StatusOK, sc, err)
}

func (s *Server) deleteScript(w http.ResponseWriter, r *http.Request, u *account.User) {
	if err := s.Scripts.Delete(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id")); err != nil {
		if errors.Is(err, script.ErrInUse) {
			problem(w, http.StatusConflict, err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listScriptVersions(w http.ResponseWriter, r *http.Request, u *account.User) {
	vs, err := s.Scripts.Versions(r.Context(), u.WorkspaceID, r.PathValue("id"))
	s.respondItems(w, r, vs, err)
}

func (s *Server) getScriptVersion(w http.ResponseWriter, r *http.Request, u *account.User) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		invalid(w, "n", "a version number from 1")
		return
	}
	v, err := s.Scripts.Version(r.Context(), u.WorkspaceID, r.PathValue("id"), n)
	s.respond(w, r, http.StatusOK, v, err)
}

// testScript is a dry run: the script (its current version, or the source
// given) runs on a sample input; the actions it would take are returned,
// nothing is applied.
func (s *Server) testScript(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		Source string       `json:"source"`
		Input  script.Input `json:"input"`
		Now    *time.Time   `json:"now"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	name := "draft"
	if in.Source == "" {
		sc, err := s.Scripts.Get(r.Context(), u.WorkspaceID, r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		in.Source, name = sc.Source, sc.Name
	}
	prog, err := s.ScriptEngine.Compile(name, in.Source)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Input.Event == "" {
		in.Input.Event = script.EventMessage
	}
	in.Input.Now = s.Now()
	if in.Now != nil {
		in.Input.Now = *in.Now
	}
	res := s.ScriptEngine.Run(r.Context(), prog, in.Input)
	out := map[string]any{"actions": res.Actions, "logs": res.Logs, "steps": res.Steps, "duration_ms": float64(res.Duration.Microseconds()) / 1000}
	if res.Actions == nil {
		out["actions"] = []script.Action{}
	}
	if res.Err != nil {
		out["error"] = res.Err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}
