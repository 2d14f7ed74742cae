package ui

import (
	"net/http"
)

// loginPage shows the sign-in form. The form posts to the session API
// (POST /api/v1/auth/login, with its per-IP rate limit), which sets the
// parley_session cookie; app.js then goes to the page asked for.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	u, err := h.user(r)
	if err != nil {
		h.log.Error("ui session", "err", err)
	}
	next := h.localPath(r.URL.Query().Get("next"))
	if u != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	e := h.env(r, nil)
	v := h.newView(r, e, "login.title", "login", map[string]string{"Next": next})
	h.render(w, r, e, http.StatusOK, "login", v)
}

// logout ends the session (the session API's EndSession) and clears the
// cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := h.d.Accounts.EndSession(r.Context(), c.Value); err != nil {
			h.log.Error("ui logout", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, h.p("login"), http.StatusSeeOther)
}
