package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
)

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, u *account.User) {
	m, err := s.Inbox.GetMessage(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// moderate acts on a customer's public message on its platform. The
// channel permission is checked by the inbox before anything else: an
// agent without "hide" gets 403 whatever the message.
func (s *Server) moderate(action channel.ModerationAction) func(http.ResponseWriter, *http.Request, *account.User) {
	return func(w http.ResponseWriter, r *http.Request, u *account.User) {
		m, err := s.Inbox.Moderate(r.Context(), u, r.PathValue("id"), action)
		var me *inbox.ModerationError
		switch {
		case errors.As(err, &me) && me.Unsupported:
			problem(w, http.StatusConflict, me.Reason)
		case errors.As(err, &me):
			if me.Platform != nil && me.Platform.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(me.Platform.RetryAfter.Round(time.Second)/time.Second)))
			}
			problem(w, http.StatusBadGateway, me.Reason)
		case err != nil:
			s.fail(w, r, err)
		default:
			writeJSON(w, http.StatusOK, m)
		}
	}
}
