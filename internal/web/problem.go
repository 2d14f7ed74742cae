package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/store"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Errors []FieldProblem `json:"errors,omitempty"`
	// Allowed lists the legal target statuses of an illegal transition.
	Allowed []inbox.Status `json:"allowed,omitempty"`
	// ReplyWindow is the window that refused a send.
	ReplyWindow *channel.WindowView `json:"reply_window,omitempty"`
}

// FieldProblem names one invalid field.
type FieldProblem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func problem(w http.ResponseWriter, status int, detail string) {
	writeProblem(w, Problem{Status: status, Detail: detail})
}

func invalid(w http.ResponseWriter, field, reason string) {
	writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Invalid request", Detail: field + ": " + reason,
		Errors: []FieldProblem{{Field: field, Reason: reason}}})
}

// ContentValidationError is what the rich-content policy returns; the
// handler shows its field. Declared here so web does not depend on the
// content package's concrete type.
type fieldError interface {
	error
	FieldName() string
	FieldReason() string
}

// fail maps a domain error to a response. Unknown errors are logged and
// answered 500 without detail (no internals leak).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		te  *inbox.TransitionError
		we  *inbox.WindowError
		ue  *inbox.UnreachableError
		ive *inbox.ValidationError
		ave *account.ValidationError
		cve *channel.ValidationError
		rve *routing.ValidationError
		me  *channel.MalformedError
		fe  fieldError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, "not found")
	case errors.As(err, &ue):
		problem(w, http.StatusConflict, ue.Error())
	case errors.As(err, &we):
		writeProblem(w, Problem{Status: http.StatusConflict, Title: "Outside the reply window", Detail: we.Reason, ReplyWindow: we.Window})
	case errors.Is(err, inbox.ErrProactiveNotAllowed), errors.Is(err, inbox.ErrOptedOut):
		problem(w, http.StatusConflict, err.Error())
	case errors.Is(err, channel.ErrPlatform):
		problem(w, http.StatusBadGateway, err.Error())
	case errors.As(err, &te):
		writeProblem(w, Problem{Status: http.StatusConflict, Title: "Illegal status transition", Detail: te.Error(), Allowed: te.Allowed})
	case errors.As(err, &ive):
		invalid(w, ive.Field, ive.Reason)
	case errors.As(err, &ave):
		invalid(w, ave.Field, ave.Reason)
	case errors.As(err, &cve):
		invalid(w, cve.Field, cve.Reason)
	case errors.As(err, &rve):
		invalid(w, rve.Field, rve.Reason)
	case errors.As(err, &me):
		writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Malformed request", Detail: me.Error(), Errors: []FieldProblem{{Field: me.Field, Reason: me.Reason}}})
	case errors.As(err, &fe):
		invalid(w, fe.FieldName(), fe.FieldReason())
	case errors.As(err, &mbe):
		problem(w, http.StatusRequestEntityTooLarge, "request body too large")
	case errors.Is(err, account.ErrEmailTaken):
		problem(w, http.StatusConflict, "a user with this email already exists")
	case errors.Is(err, routing.ErrOfferGone), errors.Is(err, routing.ErrNoCapacity):
		problem(w, http.StatusConflict, err.Error())
	case errors.Is(err, routing.ErrQueueEmpty):
		problem(w, http.StatusNotFound, err.Error())
	case errors.Is(err, routing.ErrUnknownAgent):
		problem(w, http.StatusNotFound, "no such user")
	case errors.Is(err, routing.ErrSkillInUse):
		problem(w, http.StatusConflict, err.Error())
	case errors.Is(err, inbox.ErrCaseClosed):
		problem(w, http.StatusConflict, err.Error())
	case errors.Is(err, inbox.ErrForbidden):
		problem(w, http.StatusForbidden, "your channel permissions do not allow this")
	case errors.Is(err, channel.ErrUnauthenticated), errors.Is(err, account.ErrUnauthorized):
		problem(w, http.StatusUnauthorized, "missing, invalid or expired credentials")
	case errors.Is(err, channel.ErrUnsupported):
		problem(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		problem(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		problem(w, http.StatusInternalServerError, "internal error")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
