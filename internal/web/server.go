// Package web is Parley's HTTP surface: the REST API under /api/v1, the
// platform webhooks, the BYOC endpoints, live events, health and metrics.
// Handlers are methods on Server, which holds exactly the components they
// use; domain errors become problem+json responses in one place (fail).
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/automation"
	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/ingress"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/store"
)

// ContentService is the rich-content engine as the API uses it.
type ContentService interface {
	// Capabilities returns the support rows of a channel type.
	Capabilities(channelType string) (any, bool)
	// Preview renders content for a channel type without sending it.
	Preview(channelType string, content []byte) (any, error)
	// LinkPreview fetches a page's title and image, SSRF-guarded.
	LinkPreview(ctx context.Context, url string) (any, error)
	// Enrich completes content before it is stored (a rich link's title
	// and image from its page), best effort.
	Enrich(ctx context.Context, content json.RawMessage) json.RawMessage
}

// Options are the server's limits and settings.
type Options struct {
	// PublicURL is how platforms and browsers reach this server (for
	// webhook URLs and signed attachment links).
	PublicURL string
	// MaxBodyBytes bounds API and webhook bodies (default 32 MiB).
	MaxBodyBytes int64
	// MaxAttachmentBytes bounds one attachment (default 25 MiB).
	MaxAttachmentBytes int64
	// FileURLTTL is how long signed attachment URLs work (default 24 h).
	FileURLTTL time.Duration
	// FileKey signs attachment URLs.
	FileKey []byte
	// LoginRate and LoginBurst limit login attempts per client IP.
	LoginRate  float64
	LoginBurst int
	// SSEHeartbeat overrides the event stream heartbeat (tests).
	SSEHeartbeat time.Duration
}

// Deps are the components the handlers use.
type Deps struct {
	DB       *store.DB
	Accounts *account.Service
	Inbox    *inbox.Service
	Points   *channel.Points
	Registry *channel.Registry
	Skills   *routing.Skills
	Router   *routing.Router
	Scripts  *script.Store
	// Automation runs workflow rules (and before-close rules on closing).
	Automation *automation.Engine
	// ScriptEngine compiles and dry-runs scripts for the test action.
	ScriptEngine *script.Engine
	Templates    *channel.Templates
	Hub          *realtime.Hub
	Blobs        *blob.FileStore
	Ingress      *ingress.Service
	Content      ContentService
	Metrics      prometheus.Registerer
	Gatherer     prometheus.Gatherer
	Logger       *slog.Logger
	Now          func() time.Time
}

// Server serves HTTP.
type Server struct {
	Deps
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []Route
	limiter *ipLimiter
	metrics serverMetrics
}

// Route is one registered endpoint (listed so a test can check the OpenAPI
// document has every one).
type Route struct{ Method, Pattern string }

// New builds the server and its routes.
func New(d Deps, o Options) *Server {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 25 << 20
	}
	if o.FileURLTTL <= 0 {
		o.FileURLTTL = 24 * time.Hour
	}
	if o.LoginRate <= 0 {
		o.LoginRate, o.LoginBurst = 0.2, 10
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{Deps: d, opts: o, log: d.Logger, mux: http.NewServeMux(), limiter: newIPLimiter(o.LoginRate, o.LoginBurst)}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.metrics = newServerMetrics(d.Metrics, d.DB)
	s.registerRoutes()
	return s
}

// Routes lists the registered endpoints.
func (s *Server) Routes() []Route {
	out := append([]Route(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool { return out[i].Pattern+out[i].Method < out[j].Pattern+out[j].Method })
	return out
}

func (s *Server) handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Pattern: path})
	s.mux.HandleFunc(pattern, h)
}

func (s *Server) registerRoutes() {
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}).ServeHTTP)
	s.handle("GET /api/v1/openapi.json", s.openAPI)

	s.handle("POST /api/v1/auth/token", s.login)
	s.handle("POST /api/v1/auth/login", s.sessionLogin)
	s.handle("POST /api/v1/auth/logout", s.sessionLogout)
	s.handle("GET /api/v1/me", s.authed(s.me))
	s.handle("GET /api/v1/tokens", s.authed(s.listTokens))
	s.handle("POST /api/v1/tokens", s.authed(s.createToken))
	s.handle("DELETE /api/v1/tokens/{id}", s.authed(s.revokeToken))
	s.handle("GET /api/v1/users", s.authed(s.listUsers))
	s.handle("POST /api/v1/users", s.admin(s.createUser))
	s.handle("GET /api/v1/users/{id}", s.authed(s.getUser))
	s.handle("PATCH /api/v1/users/{id}", s.authed(s.updateUser))

	s.handle("GET /api/v1/teams", s.authed(s.listTeams))
	s.handle("POST /api/v1/teams", s.admin(s.createTeam))
	s.handle("GET /api/v1/teams/{id}", s.authed(s.getTeam))
	s.handle("DELETE /api/v1/teams/{id}", s.admin(s.deleteTeam))
	s.handle("PUT /api/v1/teams/{id}/members/{userID}", s.admin(s.addTeamMember))
	s.handle("DELETE /api/v1/teams/{id}/members/{userID}", s.admin(s.removeTeamMember))

	s.handle("GET /api/v1/skills", s.authed(s.listSkills))
	s.handle("POST /api/v1/skills", s.admin(s.createSkill))
	s.handle("GET /api/v1/skills/{id}", s.authed(s.getSkill))
	s.handle("PATCH /api/v1/skills/{id}", s.admin(s.updateSkill))
	s.handle("DELETE /api/v1/skills/{id}", s.admin(s.deleteSkill))
	s.handle("GET /api/v1/agents", s.supervisor(s.listAgents))
	s.handle("GET /api/v1/agents/{id}", s.authed(s.getAgent))
	s.handle("PUT /api/v1/agents/{id}/state", s.authed(s.setAgentState))
	s.handle("PUT /api/v1/agents/{id}/capacity", s.admin(s.setAgentCapacity))
	s.handle("PUT /api/v1/agents/{id}/skills", s.admin(s.setAgentSkills))
	s.handle("GET /api/v1/offers", s.authed(s.listOffers))
	s.handle("POST /api/v1/offers/{id}/accept", s.authed(s.acceptOffer))
	s.handle("POST /api/v1/offers/{id}/reject", s.authed(s.rejectOffer))
	s.handle("POST /api/v1/routing/next", s.authed(s.requestNextCase))
	s.handle("POST /api/v1/cases/{id}/transfer", s.authed(s.transferCase))
	s.handle("GET /api/v1/queues", s.supervisor(s.listQueues))
	s.handle("GET /api/v1/reports", s.supervisor(s.getReport))
	s.handle("GET /api/v1/reports.csv", s.supervisor(s.getReportCSV))
	s.handle("GET /api/v1/automation/rules", s.supervisor(s.listRules))
	s.handle("POST /api/v1/automation/rules", s.admin(s.createRule))
	s.handle("GET /api/v1/automation/rules/{id}", s.supervisor(s.getRule))
	s.handle("PUT /api/v1/automation/rules/{id}", s.admin(s.updateRule))
	s.handle("DELETE /api/v1/automation/rules/{id}", s.admin(s.deleteRule))
	s.handle("GET /api/v1/cases/{id}/automation", s.authed(s.caseAutomationJobs))
	s.handle("GET /api/v1/scripts", s.supervisor(s.listScripts))
	s.handle("POST /api/v1/scripts", s.admin(s.createScript))
	s.handle("GET /api/v1/scripts/{id}", s.supervisor(s.getScript))
	s.handle("PUT /api/v1/scripts/{id}", s.admin(s.updateScript))
	s.handle("DELETE /api/v1/scripts/{id}", s.admin(s.deleteScript))
	s.handle("GET /api/v1/scripts/{id}/versions", s.supervisor(s.listScriptVersions))
	s.handle("GET /api/v1/scripts/{id}/versions/{n}", s.supervisor(s.getScriptVersion))
	s.handle("POST /api/v1/scripts/{id}/test", s.admin(s.testScript))

	s.handle("GET /api/v1/points-of-contact", s.authed(s.listPoints))
	s.handle("POST /api/v1/points-of-contact", s.admin(s.createPoint))
	s.handle("GET /api/v1/points-of-contact/{id}", s.authed(s.getPoint))
	s.handle("PATCH /api/v1/points-of-contact/{id}", s.admin(s.updatePoint))
	s.handle("DELETE /api/v1/points-of-contact/{id}", s.admin(s.deletePoint))
	s.handle("POST /api/v1/points-of-contact/{id}/rotate-credentials", s.admin(s.rotatePoint))
	s.handle("POST /api/v1/points-of-contact/{id}/register-webhook", s.admin(s.registerPointWebhook))
	s.handle("GET /api/v1/points-of-contact/{id}/templates", s.authed(s.listTemplates))
	s.handle("POST /api/v1/points-of-contact/{id}/templates/sync", s.authed(s.syncTemplates))
	s.handle("POST /api/v1/points-of-contact/{id}/conversations", s.authed(s.startConversation))

	s.handle("GET /api/v1/cases", s.authed(s.listCases))
	s.handle("GET /api/v1/cases/{id}", s.authed(s.getCase))
	s.handle("PATCH /api/v1/cases/{id}", s.authed(s.updateCase))
	s.handle("GET /api/v1/cases/{id}/messages", s.authed(s.listMessages))
	s.handle("POST /api/v1/cases/{id}/messages", s.authed(s.reply))
	s.handle("GET /api/v1/cases/{id}/notes", s.authed(s.listNotes))
	s.handle("POST /api/v1/cases/{id}/notes", s.authed(s.addNote))
	s.handle("POST /api/v1/cases/{id}/tags", s.authed(s.setTags))
	s.handle("POST /api/v1/cases/{id}/typing", s.authed(s.typing))
	s.handle("POST /api/v1/cases/{id}/preview", s.authed(s.previewText))
	s.handle("GET /api/v1/cases/{id}/history", s.authed(s.caseHistory))

	s.handle("GET /api/v1/saved-views", s.authed(s.listSavedViews))
	s.handle("POST /api/v1/saved-views", s.authed(s.createSavedView))
	s.handle("GET /api/v1/saved-views/{id}", s.authed(s.getSavedView))
	s.handle("DELETE /api/v1/saved-views/{id}", s.authed(s.deleteSavedView))

	s.handle("GET /api/v1/messages/{id}", s.authed(s.getMessage))
	for _, a := range channel.ModerationActions() {
		s.handle("POST /api/v1/messages/{id}/"+string(a), s.authed(s.moderate(a)))
	}

	s.handle("GET /api/v1/contacts", s.authed(s.searchContacts))
	s.handle("GET /api/v1/contacts/{id}", s.authed(s.getContact))
	s.handle("PATCH /api/v1/contacts/{id}", s.authed(s.updateContact))
	s.handle("POST /api/v1/contacts/{id}/merge", s.authed(s.mergeContacts))

	s.handle("GET /api/v1/attachments/{id}", s.authed(s.downloadAttachment))
	s.handle("GET /files/{id}", s.signedFile)

	s.handle("GET /api/v1/events", s.authed(s.events))

	s.handle("POST /api/v1/byoc/{pointOfContactID}/messages", s.byocIngress)
	s.handle("POST /api/v1/byoc/{pointOfContactID}/statuses", s.byocIngress)
	s.handle("GET /webhooks/{pointOfContactID}", s.webhook)
	s.handle("POST /webhooks/{pointOfContactID}", s.webhook)

	if s.Content != nil {
		s.handle("GET /api/v1/channel-types/{type}/capabilities", s.authed(s.capabilities))
		s.handle("POST /api/v1/channel-types/{type}/render", s.authed(s.render))
		s.handle("POST /api/v1/link-preview", s.authed(s.linkPreview))
	}
}

// Handler is the full HTTP handler with its middleware.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	h = http.NewCrossOriginProtection().Handler(h)
	return s.recoverer(s.securityHeaders(h))
}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				problem(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type principalKey struct{}

func principalFrom(ctx context.Context) *account.User {
	p, _ := ctx.Value(principalKey{}).(*account.User)
	return p
}

// authed requires a valid API token, or a browser session cookie.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *account.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var p account.Principal
		var err error
		switch {
		case ok:
			p, err = s.Accounts.Authenticate(r.Context(), strings.TrimSpace(token))
		case hasCookie(r, sessionCookie):
			c, _ := r.Cookie(sessionCookie)
			p, err = s.Accounts.SessionUser(r.Context(), c.Value)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
			problem(w, http.StatusUnauthorized, "an API token is required (Authorization: Bearer <token>)")
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley", error="invalid_token"`)
			s.fail(w, r, err)
			return
		}
		u := p.User
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, &u)), &u)
	}
}

// admin requires an admin.
func (s *Server) admin(h func(http.ResponseWriter, *http.Request, *account.User)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, u *account.User) {
		if !u.IsAdmin() {
			problem(w, http.StatusForbidden, "administrators only")
			return
		}
		h(w, r, u)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": string(s.DB.Dialect())})
}
