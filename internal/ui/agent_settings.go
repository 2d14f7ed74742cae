package ui

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/store"
)

// The signed-in user's own settings: name and password (as PATCH
// /api/v1/users/{id} lets every user change their own), language (the
// parley_lang cookie, through POST /lang) and presence with an away reason
// (through POST /presence).

// Password lengths, as account.CreateUser and UpdateUser enforce them
// (bcrypt reads at most 72 bytes).
const (
	minPasswordLength = 8
	maxPasswordLength = 72
)

type settingsData struct {
	Name        string // as typed, when a change was refused
	Agent       *routing.Agent
	States      []string
	Done        string // the change just saved: profile or password
	MinPassword int
	MaxPassword int
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, e *env) {
	h.showSettings(w, r, e, http.StatusOK, e.u.Name, "", "")
}

// showSettings renders the page, with an error when a change was refused.
func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request, e *env, status int, name, errKey, detail string) {
	d := &settingsData{Name: name, States: []string{routing.StateAvailable, routing.StateAway, routing.StateOffline},
		MinPassword: minPasswordLength, MaxPassword: maxPasswordLength}
	if a, err := h.d.Router.Agent(r.Context(), e.u.WorkspaceID, e.u.ID); err == nil {
		d.Agent = &a
	} else if !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, e, err)
		return
	}
	v := h.newView(r, e, "agent.settings.title", "settings", d)
	v.Here = h.p("settings")
	switch done := r.URL.Query().Get("done"); {
	case errKey != "":
		v.Error, v.Detail = e.t(errKey), detail
	case done == "profile" || done == "password":
		d.Done = done
		v.Notice = e.t("agent.settings.saved_" + done)
	}
	h.render(w, r, e, status, "settings", v)
}

// saveProfile changes the user's own name.
func (h *Handler) saveProfile(w http.ResponseWriter, r *http.Request, e *env) {
	name := strings.TrimSpace(r.FormValue("name"))
	if _, err := h.d.Accounts.UpdateUser(r.Context(), e.u, e.u.ID, account.UserPatch{Name: &name}); err != nil {
		status, key, detail := h.failure(r, err)
		h.showSettings(w, r, e, status, name, key, detail)
		return
	}
	http.Redirect(w, r, h.p("settings")+"?done=profile", http.StatusSeeOther)
}

// changePassword sets a new password once the current one is proven: a
// session left open on a shared computer must not be enough to take the
// account over. Wrong current passwords are limited per user. Every other
// session of the user ends (this one stays).
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, e *env) {
	current, next, confirm := r.FormValue("current"), r.FormValue("new"), r.FormValue("confirm")
	now := h.d.Now()
	switch {
	case h.passwordAttempts.blocked(e.u.ID, now):
		h.showSettings(w, r, e, http.StatusTooManyRequests, e.u.Name, "agent.settings.too_many", "")
		return
	case next != confirm:
		h.showSettings(w, r, e, http.StatusBadRequest, e.u.Name, "agent.settings.mismatch", "")
		return
	case len(next) < minPasswordLength || len(next) > maxPasswordLength:
		h.showSettings(w, r, e, http.StatusBadRequest, e.u.Name, "agent.settings.length", e.t("agent.settings.length_hint", minPasswordLength, maxPasswordLength))
		return
	}
	proven, err := h.d.Accounts.Login(r.Context(), e.u.Email, current)
	if errors.Is(err, account.ErrBadCredentials) || (err == nil && proven.ID != e.u.ID) {
		h.passwordAttempts.fail(e.u.ID, now)
		h.showSettings(w, r, e, http.StatusBadRequest, e.u.Name, "agent.settings.wrong_current", "")
		return
	}
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	if _, err := h.d.Accounts.UpdateUser(r.Context(), e.u, e.u.ID, account.UserPatch{Password: &next}); err != nil {
		status, key, detail := h.failure(r, err)
		h.showSettings(w, r, e, status, e.u.Name, key, detail)
		return
	}
	h.passwordAttempts.reset(e.u.ID)
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := h.d.Accounts.EndOtherSessions(r.Context(), e.u, c.Value); err != nil {
			h.fail(w, r, e, err)
			return
		}
	}
	http.Redirect(w, r, h.p("settings")+"?done=password", http.StatusSeeOther)
}

// newPasswordAttempts allows 5 wrong current passwords per user in 15
// minutes (this node's count).
func newPasswordAttempts() *attemptLimiter {
	return &attemptLimiter{max: 5, window: 15 * time.Minute, failures: map[string][]time.Time{}}
}

type attemptLimiter struct {
	mu       sync.Mutex
	max      int
	window   time.Duration
	failures map[string][]time.Time
}

// recent drops failures older than the window; the caller holds mu.
func (l *attemptLimiter) recent(key string, now time.Time) []time.Time {
	kept := l.failures[key][:0]
	for _, t := range l.failures[key] {
		if now.Sub(t) < l.window {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.failures, key)
		return nil
	}
	l.failures[key] = kept
	return kept
}

func (l *attemptLimiter) blocked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, now)) >= l.max
}

func (l *attemptLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures[key] = append(l.recent(key, now), now)
}

func (l *attemptLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}
