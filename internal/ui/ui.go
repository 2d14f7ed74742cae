// Package ui is Parley's agent workspace and admin console: server-rendered
// html/template pages with htmx (vendored, pinned) and a little plain
// JavaScript, live over the event stream (GET /api/v1/events), in English
// and French.
//
// The UI holds no state of its own: every page reads through the same domain
// services as the API (inbox, account, channel, routing), and every change
// goes through them with the same permission checks as the matching API
// endpoint (the route-level role checks of internal/web are repeated here,
// next to each handler). Browsers sign in with the session API
// (POST /api/v1/auth/login sets the parley_session cookie); state-changing
// requests are protected by net/http's CrossOriginProtection and SameSite
// cookies; every string from a customer reaches the page through
// html/template's contextual escaping only.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/automation"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/store"
)

// files holds the templates, the static assets and the message catalogs.
//
//go:embed templates/*.html assets/* i18n/*.json
var files embed.FS

// SessionCookie is the browser session cookie the session API sets.
const SessionCookie = "parley_session"

// LangCookie holds the user's choice of language.
const LangCookie = "parley_lang"

// Deps are the domain services the UI reads and changes through.
type Deps struct {
	DB        *store.DB // read-only queries: status counts and reports
	Accounts  *account.Service
	Inbox     *inbox.Service
	Points    *channel.Points
	Skills    *routing.Skills
	Router    *routing.Router
	Templates *channel.Templates
	// Registry (optional) lists the channel types offered when creating a
	// point of contact and registers webhooks where the platform needs it.
	Registry *channel.Registry
	// Scripts and ScriptEngine (optional) back the script editor and its
	// test run; Automation (optional) the automation rules pages.
	Scripts      *script.Store
	ScriptEngine *script.Engine
	Automation   *automation.Engine
	// Attachments (optional) checks and stores files agents attach to
	// replies, each at most MaxAttachmentBytes (0: 25 MiB).
	Attachments        AttachmentStore
	MaxAttachmentBytes int64
	Logger             *slog.Logger
	Now                func() time.Time
}

// Options are the UI's settings.
type Options struct {
	// Prefix is where the UI is mounted (default "/ui").
	Prefix string
	// PublicURL is how platforms reach this server: the webhook URLs shown
	// to administrators.
	PublicURL string
}

// Handler serves the UI under its prefix.
type Handler struct {
	d      Deps
	o      Options
	log    *slog.Logger
	cats   catalogs
	pages  map[string]map[string]*template.Template // language → page → templates
	assets map[string]string                        // asset name → content hash
	// passwordAttempts limits wrong current passwords on the settings page.
	passwordAttempts *attemptLimiter
	handler          http.Handler
}

// pageNames are the page templates: every templates/<name>.html whose name
// does not start with "_". Each defines "content" and is executed through
// "layout"; partials (fragments) live in the "_" files.
func pageNames() ([]string, error) {
	paths, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if !strings.HasPrefix(name, "_") {
			out = append(out, name)
		}
	}
	return out, nil
}

// New builds the UI: it parses every template once per language.
func New(d Deps, o Options) (*Handler, error) {
	if o.Prefix == "" {
		o.Prefix = "/ui"
	}
	o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{d: d, o: o, log: d.Logger, assets: map[string]string{}, passwordAttempts: newPasswordAttempts()}
	if h.log == nil {
		h.log = slog.Default()
	}
	var err error
	if h.cats, err = loadCatalogs(files); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, "assets/"+e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		h.assets[e.Name()] = hex.EncodeToString(sum[:6])
	}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	h.routes(mux)
	h.handler = h.recoverer(h.securityHeaders(http.NewCrossOriginProtection().Handler(mux)))
	return h, nil
}

// ServeHTTP serves the UI.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// Prefix is where the UI is mounted.
func (h *Handler) Prefix() string { return h.o.Prefix }

func (h *Handler) parseTemplates() error {
	base := template.New("").Funcs(h.funcs(h.cats[defaultLang]))
	base, err := base.ParseFS(files, "templates/_*.html")
	if err != nil {
		return err
	}
	names, err := pageNames()
	if err != nil {
		return err
	}
	h.pages = map[string]map[string]*template.Template{}
	for _, lang := range languageList() {
		h.pages[lang] = map[string]*template.Template{}
		for _, name := range names {
			t, err := base.Clone()
			if err != nil {
				return err
			}
			t = t.Funcs(h.funcs(h.cats[lang]))
			if t, err = t.ParseFS(files, "templates/"+name+".html"); err != nil {
				return err
			}
			h.pages[lang][name] = t
		}
	}
	return nil
}

// p joins the prefix and a path.
func (h *Handler) p(elem ...string) string {
	return h.o.Prefix + "/" + strings.TrimPrefix(path.Join(elem...), "/")
}

// route registers a handler under the UI's prefix ("GET /inbox").
type route func(pattern string, fn http.HandlerFunc)

func (h *Handler) routes(mux *http.ServeMux) {
	handle := func(pattern string, fn http.HandlerFunc) {
		method, p, _ := strings.Cut(pattern, " ")
		if p == "/" {
			mux.HandleFunc(method+" "+h.o.Prefix+"/{$}", fn)
			return
		}
		mux.HandleFunc(method+" "+h.o.Prefix+p, fn)
	}
	handle("GET /assets/{name}", h.asset)
	handle("GET /login", h.loginPage)
	handle("POST /logout", h.logout)
	handle("POST /lang", h.setLang)
	handle("GET /", h.authed(func(w http.ResponseWriter, r *http.Request, e *env) {
		http.Redirect(w, r, h.p("inbox"), http.StatusSeeOther)
	}))

	handle("GET /inbox", h.authed(h.inboxPage))
	handle("GET /inbox/list", h.authed(h.inboxList))
	handle("GET /inbox/offers", h.authed(h.offersFragment))
	handle("POST /offers/{id}/accept", h.authed(h.acceptOffer))
	handle("POST /offers/{id}/reject", h.authed(h.rejectOffer))
	handle("POST /presence", h.authed(h.setPresence))

	handle("GET /cases/{id}", h.authed(h.casePage))
	handle("GET /cases/{id}/timeline", h.authed(h.timelineFragment))
	handle("GET /cases/{id}/summary", h.authed(h.summaryFragment))
	handle("POST /cases/{id}/reply", h.authed(h.reply))
	handle("POST /cases/{id}/notes", h.authed(h.addNote))
	handle("POST /cases/{id}/status", h.authed(h.setStatus))
	handle("POST /cases/{id}/properties", h.authed(h.setProperties))
	handle("POST /cases/{id}/assign", h.authed(h.assign))
	handle("POST /cases/{id}/tags", h.authed(h.setTags))
	handle("POST /cases/{id}/transfer", h.authed(h.transfer))
	handle("POST /cases/{id}/messages/{mid}/{action}", h.authed(h.moderateMessage))
	handle("GET /contacts/{id}", h.authed(h.contactPage))

	handle("GET /supervisor", h.supervisor(h.supervisorPage))
	handle("GET /supervisor/live", h.supervisor(h.supervisorFragment))
	handle("GET /reports", h.supervisor(h.reportsPage))
	handle("GET /reports.csv", h.supervisor(h.reportsCSV))

	handle("GET /admin/points", h.admin(h.pointsPage))
	handle("POST /admin/points", h.admin(h.createPoint))
	handle("POST /admin/points/{id}/delete", h.admin(h.deletePoint))
	handle("POST /admin/points/{id}/rotate", h.admin(h.rotatePoint))
	handle("GET /admin/skills", h.admin(h.skillsPage))
	handle("POST /admin/skills", h.admin(h.createSkill))
	handle("POST /admin/skills/{id}", h.admin(h.updateSkill))
	handle("POST /admin/skills/{id}/delete", h.admin(h.deleteSkill))
	handle("GET /admin/users", h.admin(h.usersPage))
	handle("POST /admin/users", h.admin(h.createUser))
	handle("POST /admin/users/{id}", h.admin(h.updateUser))

	// Each area of the UI registers its own pages.
	h.configRoutes(handle)
	h.agentRoutes(handle)
	h.peopleRoutes(handle)
}

// securityHeaders: no framing, no sniffing, no referrer, and a strict
// Content-Security-Policy (scripts and styles from this origin only, no
// inline script, no eval), a second line of defence behind html/template.
func (h *Handler) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.Error("ui panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// env is one request's user and language.
type env struct {
	u    *account.User
	lang string
	cat  catalog
}

func (e *env) t(key string, args ...any) string { return e.cat.t(key, args...) }

// user resolves the session cookie; nil when there is none or it is not
// valid any more.
func (h *Handler) user(r *http.Request) (*account.User, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	p, err := h.d.Accounts.SessionUser(r.Context(), c.Value)
	if errors.Is(err, account.ErrUnauthorized) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p.User, nil
}

func (h *Handler) env(r *http.Request, u *account.User) *env {
	lang := h.language(r)
	return &env{u: u, lang: lang, cat: h.cats[lang]}
}

// authed requires a signed-in user: pages redirect to the login page,
// fragments and changes answer 401.
func (h *Handler) authed(fn func(http.ResponseWriter, *http.Request, *env)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := h.user(r)
		if err != nil {
			h.log.Error("ui session", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if u == nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				http.Redirect(w, r, h.p("login")+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			e := h.env(r, nil)
			h.renderError(w, r, e, http.StatusUnauthorized, "error.signed_out", "")
			return
		}
		fn(w, r, h.env(r, u))
	}
}

// supervisor requires a supervisor or an administrator (as the API's
// queues and agents endpoints do).
func (h *Handler) supervisor(fn func(http.ResponseWriter, *http.Request, *env)) http.HandlerFunc {
	return h.authed(func(w http.ResponseWriter, r *http.Request, e *env) {
		if !e.u.IsSupervisor() {
			h.renderError(w, r, e, http.StatusForbidden, "error.supervisors_only", "")
			return
		}
		fn(w, r, e)
	})
}

// admin requires an administrator (as the API's configuration endpoints do).
func (h *Handler) admin(fn func(http.ResponseWriter, *http.Request, *env)) http.HandlerFunc {
	return h.authed(func(w http.ResponseWriter, r *http.Request, e *env) {
		if !e.u.IsAdmin() {
			h.renderError(w, r, e, http.StatusForbidden, "error.admins_only", "")
			return
		}
		fn(w, r, e)
	})
}

// view is what every page template receives.
type view struct {
	Title     string // catalog key
	Nav       string
	User      *account.User
	Lang      string
	Prefix    string
	Here      string // this page's URL, for the language switch to come back to
	Error     string // translated
	Detail    string // the server's detail, as it gave it
	Notice    string // translated
	Data      any
	Shortcuts bool
}

func (h *Handler) newView(r *http.Request, e *env, title, nav string, data any) *view {
	here := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		here = r.URL.Path
	}
	return &view{Title: title, Nav: nav, User: e.u, Lang: e.lang, Prefix: h.o.Prefix, Here: here, Data: data}
}

// render executes a page through the layout into a buffer (a failing
// template never leaves half a page) and writes it.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, e *env, status int, page string, v *view) {
	h.exec(w, r, e, status, page, "layout", v)
}

// fragment executes one named template of a page's set (live refreshes).
func (h *Handler) fragment(w http.ResponseWriter, r *http.Request, e *env, page, name string, data any) {
	h.exec(w, r, e, http.StatusOK, page, name, data)
}

func (h *Handler) exec(w http.ResponseWriter, r *http.Request, e *env, status int, page, name string, data any) {
	t := h.pages[e.lang][page]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.Error("ui template", "page", page, "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Language", e.lang)
	hd.Set("Vary", "Cookie, Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows an error page (or, for htmx requests, an error
// fragment) with a translated message.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, e *env, status int, key, detail string) {
	v := h.newView(r, e, "error.title", "", nil)
	v.Error, v.Detail = e.t(key), detail
	if r.Header.Get("HX-Request") != "" {
		h.exec(w, r, e, status, "error", "alert", v)
		return
	}
	h.render(w, r, e, status, "error", v)
}

// failure maps a domain error to a status and a catalog key, as the API's
// fail does to problem+json. Unknown errors are logged and shown without
// detail.
func (h *Handler) failure(r *http.Request, err error) (int, string, string) {
	var (
		te  *inbox.TransitionError
		we  *inbox.WindowError
		ive *inbox.ValidationError
		ave *account.ValidationError
		cve *channel.ValidationError
		rve *routing.ValidationError
		me  *inbox.ModerationError
		fe  interface {
			error
			FieldName() string
			FieldReason() string
		}
	)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "error.not_found", ""
	case errors.As(err, &we):
		return http.StatusConflict, "error.window", we.Reason
	case errors.Is(err, inbox.ErrProactiveNotAllowed), errors.Is(err, inbox.ErrOptedOut):
		return http.StatusConflict, "error.conflict", err.Error()
	case errors.Is(err, channel.ErrPlatform):
		return http.StatusBadGateway, "error.platform", err.Error()
	case errors.As(err, &te):
		return http.StatusConflict, "error.transition", te.Error()
	case errors.As(err, &ive):
		return http.StatusBadRequest, "error.invalid", ive.Error()
	case errors.As(err, &ave):
		return http.StatusBadRequest, "error.invalid", ave.Error()
	case errors.As(err, &cve):
		return http.StatusBadRequest, "error.invalid", cve.Error()
	case errors.As(err, &rve):
		return http.StatusBadRequest, "error.invalid", rve.Error()
	case errors.As(err, &fe):
		return http.StatusBadRequest, "error.invalid", fe.FieldName() + ": " + fe.FieldReason()
	case errors.Is(err, account.ErrEmailTaken):
		return http.StatusConflict, "error.email_taken", ""
	case errors.Is(err, routing.ErrOfferGone), errors.Is(err, routing.ErrNoCapacity), errors.Is(err, routing.ErrSkillInUse):
		return http.StatusConflict, "error.conflict", err.Error()
	case errors.Is(err, routing.ErrQueueEmpty), errors.Is(err, routing.ErrUnknownAgent):
		return http.StatusNotFound, "error.not_found", err.Error()
	case errors.Is(err, inbox.ErrCaseClosed):
		return http.StatusConflict, "error.case_closed", ""
	case errors.Is(err, inbox.ErrForbidden):
		return http.StatusForbidden, "error.forbidden", ""
	case errors.As(err, &me) && me.Unsupported:
		return http.StatusConflict, "error.conflict", me.Reason
	case errors.As(err, &me):
		return http.StatusBadGateway, "error.platform", me.Reason
	case errors.Is(err, channel.ErrUnsupported):
		return http.StatusUnprocessableEntity, "error.unsupported", err.Error()
	case r.Context().Err() != nil:
		return http.StatusServiceUnavailable, "error.cancelled", ""
	}
	h.log.Error("ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, "error.internal", ""
}

// fail shows err as an error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, e *env, err error) {
	status, key, detail := h.failure(r, err)
	h.renderError(w, r, e, status, key, detail)
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	sum, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(files, "assets/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	if r.URL.Query().Get("v") == sum {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// back redirects (303) to a path under the prefix after a change.
func (h *Handler) back(w http.ResponseWriter, r *http.Request, elem ...string) {
	http.Redirect(w, r, h.p(elem...), http.StatusSeeOther)
}

// localPath accepts only a path of this UI as a place to go back to (no
// open redirects).
func (h *Handler) localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, h.o.Prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return h.p("inbox")
	}
	return next
}
