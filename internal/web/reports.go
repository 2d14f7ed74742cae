package web

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/reports"
)

// Reports for supervisors and administrators: per channel, skill, agent or
// point of contact over a range of days (see internal/reports for what each
// figure means), as JSON or CSV.

// runReport reads from, to and group and runs the report; a bad parameter
// is a 400 naming it.
func (s *Server) runReport(r *http.Request, u *account.User) (*reports.Report, error) {
	q := r.URL.Query()
	// The service is a handle on the database and the clock: nothing to
	// keep between requests.
	return reports.New(s.DB, s.Now).Run(r.Context(), u.WorkspaceID, reports.Query{From: q.Get("from"), To: q.Get("to"), Group: q.Get("group")})
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request, u *account.User) {
	rep, err := s.runReport(r, u)
	s.respond(w, r, http.StatusOK, rep, err)
}

func (s *Server) getReportCSV(w http.ResponseWriter, r *http.Request, u *account.User) {
	rep, err := s.runReport(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, rep); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="parley-report-%s-%s-%s.csv"`, rep.Group, rep.From, rep.To))
	_, _ = w.Write(buf.Bytes())
}
