package ui

import (
	"context"
	"errors"
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/routing"
)

// formErrors is what a refused configuration form shows beside itself: a
// translated summary, the field the domain named (as the API names it,
// "settings.callback_url") with the domain's reason, and each form
// control's own message (keyed by the control's name) next to it.
type formErrors struct {
	Summary string
	Field   string
	Reason  string
	At      map[string]string
}

// fieldOf reads the field a domain validation error names.
func fieldOf(err error) (field, reason string, ok bool) {
	var (
		cve *channel.ValidationError
		rve *routing.ValidationError
		fe  interface {
			error
			FieldName() string
			FieldReason() string
		}
	)
	switch {
	case errors.As(err, &cve):
		return cve.Field, cve.Reason, true
	case errors.As(err, &rve):
		return rve.Field, rve.Reason, true
	case errors.As(err, &fe):
		return fe.FieldName(), fe.FieldReason(), true
	}
	return "", "", false
}

// formError turns a refusal into a status and the form's errors; at maps
// the domain's field name to the form control it came from (nil: the
// field name is the control's).
func (h *Handler) formError(r *http.Request, e *env, err error, at func(field string) string) (int, *formErrors) {
	status, key, detail := h.failure(r, err)
	fe := &formErrors{Summary: e.t(key), Reason: detail, At: map[string]string{}}
	if field, reason, ok := fieldOf(err); ok {
		fe.Field, fe.Reason = field, reason
		control := field
		if at != nil {
			control = at(field)
		}
		if control != "" {
			fe.At[control] = reason
		}
	}
	return status, fe
}

// invalidField is a refusal found by the form itself, before the domain
// (a value that is not a number, a setting that is not JSON): it is shown
// the same way as the domain's.
type invalidField struct{ Field, Reason string }

func (e *invalidField) Error() string       { return e.Field + ": " + e.Reason }
func (e *invalidField) FieldName() string   { return e.Field }
func (e *invalidField) FieldReason() string { return e.Reason }

// userNames maps the workspace's user ids to their names (who saved a
// script version).
func (h *Handler) userNames(ctx context.Context, u *account.User) map[string]string {
	out := map[string]string{}
	us, err := h.d.Accounts.ListUsers(ctx, u.WorkspaceID)
	if err != nil {
		return out
	}
	for _, x := range us {
		out[x.ID] = x.Name
	}
	return out
}

// unavailable answers when the service behind a page is not configured
// (a UI built without the script engine or the automation engine).
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, e *env) {
	h.renderError(w, r, e, http.StatusNotImplemented, "config.unavailable", "")
}
