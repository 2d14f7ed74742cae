package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/routing"
)

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.limiter.allow(clientIP(r), s.Now()) {
		w.Header().Set("Retry-After", "5")
		problem(w, http.StatusTooManyRequests, "too many login attempts; wait and try again")
		return
	}
	var in struct {
		Email     string `json:"email"`
		Password  string `json:"password"`
		Name      string `json:"name"`
		ExpiresIn int    `json:"expires_in"` // seconds; 0 = never
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	u, err := s.Accounts.Login(r.Context(), in.Email, in.Password)
	if err != nil {
		if err == account.ErrBadCredentials {
			problem(w, http.StatusUnauthorized, "wrong email or password")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.issueToken(w, r, &u, in.Name, in.ExpiresIn)
}

const sessionCookie = "parley_session"

func hasCookie(r *http.Request, name string) bool {
	c, err := r.Cookie(name)
	return err == nil && c.Value != ""
}

// sessionLogin signs a browser in: the session lives in an HttpOnly,
// Secure, SameSite cookie; cross-origin writes are refused by the
// CrossOriginProtection middleware.
func (s *Server) sessionLogin(w http.ResponseWriter, r *http.Request) {
	if !s.limiter.allow(clientIP(r), s.Now()) {
		w.Header().Set("Retry-After", "5")
		problem(w, http.StatusTooManyRequests, "too many login attempts; wait and try again")
		return
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	u, err := s.Accounts.Login(r.Context(), in.Email, in.Password)
	if err == account.ErrBadCredentials {
		problem(w, http.StatusUnauthorized, "wrong email or password")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	value, expires, err := s.Accounts.CreateSession(r.Context(), &u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", Expires: expires, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusOK, map[string]any{"user": u, "expires_at": expires})
}

func (s *Server) sessionLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.Accounts.EndSession(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request, u *account.User) {
	teams, err := s.Accounts.ListTeams(r.Context(), u.WorkspaceID)
	s.respondItems(w, r, teams, err)
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		Name string `json:"name"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	t, err := s.Accounts.CreateTeam(r.Context(), u, in.Name)
	s.respond(w, r, http.StatusCreated, t, err)
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request, u *account.User) {
	t, err := s.Accounts.GetTeam(r.Context(), u.WorkspaceID, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, t, err)
}

func (s *Server) deleteTeam(w http.ResponseWriter, r *http.Request, u *account.User) {
	if err := s.Accounts.DeleteTeam(r.Context(), u, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request, u *account.User) {
	s.setTeamMember(w, r, u, true)
}

func (s *Server) removeTeamMember(w http.ResponseWriter, r *http.Request, u *account.User) {
	s.setTeamMember(w, r, u, false)
}

func (s *Server) setTeamMember(w http.ResponseWriter, r *http.Request, u *account.User, member bool) {
	t, err := s.Accounts.SetTeamMember(r.Context(), u, r.PathValue("id"), r.PathValue("userID"), member)
	s.respond(w, r, http.StatusOK, t, err)
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, u *account.User, name string, expiresIn int) {
	if expiresIn < 0 {
		invalid(w, "expires_in", "seconds, 0 for no expiry")
		return
	}
	value, t, err := s.Accounts.CreateToken(r.Context(), u, name, time.Duration(expiresIn)*time.Second)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": value, "token_info": t, "user": u})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, u *account.User) {
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, u *account.User) {
	ts, err := s.Accounts.ListTokens(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []account.Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ts})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		Name      string `json:"name"`
		ExpiresIn int    `json:"expires_in"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	s.issueToken(w, r, u, in.Name, in.ExpiresIn)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, u *account.User) {
	if err := s.Accounts.RevokeToken(r.Context(), u, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, u *account.User) {
	users, err := s.Accounts.ListUsers(r.Context(), u.WorkspaceID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if users == nil {
		users = []account.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": users})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in account.NewUser
	if !s.decodeJSON(w, r, &in) {
		return
	}
	created, err := s.Accounts.CreateUser(r.Context(), s.DB, u.WorkspaceID, in)
	s.respond(w, r, http.StatusCreated, created, err)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, u *account.User) {
	got, err := s.Accounts.GetUser(r.Context(), u.WorkspaceID, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, got, err)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, u *account.User) {
	var p account.UserPatch
	if !s.decodeJSON(w, r, &p) {
		return
	}
	id := r.PathValue("id")
	if !u.IsAdmin() {
		// Users may change their own name and password, nothing else.
		if id != u.ID || p.Role != nil || p.ChannelPermissions != nil || p.Disabled != nil {
			problem(w, http.StatusForbidden, "administrators only")
			return
		}
	}
	if u.IsAdmin() && id == u.ID && ((p.Role != nil && *p.Role != account.RoleAdmin) || (p.Disabled != nil && *p.Disabled)) {
		problem(w, http.StatusConflict, "you cannot demote or disable yourself")
		return
	}
	got, err := s.Accounts.UpdateUser(r.Context(), u, id, p)
	s.respond(w, r, http.StatusOK, got, err)
}

func (s *Server) listSkills(w http.ResponseWriter, r *http.Request, u *account.User) {
	sk, err := s.Skills.List(r.Context(), u.WorkspaceID)
	s.respondItems(w, r, sk, err)
}

func (s *Server) createSkill(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in routing.SkillPatch
	if !s.decodeJSON(w, r, &in) {
		return
	}
	var name, desc string
	if in.Name != nil {
		name = *in.Name
	}
	if in.Description != nil {
		desc = *in.Description
	}
	sk, err := s.Skills.Create(r.Context(), u.WorkspaceID, u.ID, name, desc)
	if err == nil {
		in.Name, in.Description = nil, nil
		if in != (routing.SkillPatch{}) {
			sk, err = s.Skills.Update(r.Context(), u.WorkspaceID, u.ID, sk.ID, in)
		}
	}
	s.respond(w, r, http.StatusCreated, sk, err)
}

func (s *Server) getSkill(w http.ResponseWriter, r *http.Request, u *account.User) {
	sk, err := s.Skills.Get(r.Context(), u.WorkspaceID, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, sk, err)
}

func (s *Server) updateSkill(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in routing.SkillPatch
	if !s.decodeJSON(w, r, &in) {
		return
	}
	sk, err := s.Skills.Update(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"), in)
	s.respond(w, r, http.StatusOK, sk, err)
}

func (s *Server) deleteSkill(w http.ResponseWriter, r *http.Request, u *account.User) {
	if err := s.Skills.Delete(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pointView is a point of contact as the API shows it: credentials by name
// only, never their values. The one exception is a Meta verify token: it
// only answers Meta's subscription handshake (payloads are authenticated
// by the app secret, which is never shown), and an admin needs it again
// whenever they configure the webhook in Meta's console.
type pointView struct {
	channel.PointOfContact
	Credentials []string `json:"credentials_set"`
	VerifyToken string   `json:"verify_token,omitempty"`
}

func (s *Server) view(p channel.PointOfContact) pointView {
	p.WebhookURL = strings.TrimRight(s.opts.PublicURL, "/") + "/webhooks/" + p.ID
	if p.Type == "byoc" {
		p.WebhookURL = strings.TrimRight(s.opts.PublicURL, "/") + "/api/v1/byoc/" + p.ID + "/messages"
	}
	names := p.CredentialNames()
	if names == nil {
		names = []string{}
	}
	return pointView{PointOfContact: p, Credentials: names, VerifyToken: p.Credential("verify_token")}
}

func (s *Server) listPoints(w http.ResponseWriter, r *http.Request, u *account.User) {
	ps, err := s.Points.List(r.Context(), u.WorkspaceID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []pointView{}
	for _, p := range ps {
		if u.CanSee(p.ID) {
			out = append(out, s.view(p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) createPoint(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in channel.NewPointOfContact
	if !s.decodeJSON(w, r, &in) {
		return
	}
	p, generated, err := s.Points.Create(r.Context(), u.WorkspaceID, u.ID, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view := s.view(p)
	out := map[string]any{"point_of_contact": view}
	for k, v := range generated {
		out[k] = v // shown once: token, secret
	}
	if reg := s.registerWebhook(r.Context(), &p, view.WebhookURL); reg != nil {
		out["webhook_registration"] = reg
	}
	writeJSON(w, http.StatusCreated, out)
}

// webhookRegistration tells the admin whether the platform was told the
// webhook URL (Telegram setWebhook, Viber set_webhook).
type webhookRegistration struct {
	URL    string `json:"url"`
	Status string `json:"status"` // registered, failed
	Error  string `json:"error,omitempty"`
}

// registerWebhook tells the platform where to send webhooks when its
// adapter needs that; nil when it does not. A failure (the platform
// unreachable, a wrong token) is reported, never fatal: the point of
// contact exists and the action can be retried.
func (s *Server) registerWebhook(ctx context.Context, p *channel.PointOfContact, url string) *webhookRegistration {
	adapter, ok := s.Registry.Get(p.Type)
	if !ok {
		return nil
	}
	reg, ok := adapter.(channel.WebhookRegistrar)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out := &webhookRegistration{URL: url, Status: "registered"}
	if err := reg.RegisterWebhook(ctx, p, url); err != nil {
		out.Status, out.Error = "failed", err.Error()
		s.log.Warn("webhook registration failed", "point_of_contact", p.ID, "type", p.Type, "err", err)
	}
	return out
}

func (s *Server) registerPointWebhook(w http.ResponseWriter, r *http.Request, u *account.User) {
	p, err := s.Points.Get(r.Context(), u.WorkspaceID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view := s.view(p)
	reg := s.registerWebhook(r.Context(), &p, view.WebhookURL)
	if reg == nil {
		problem(w, http.StatusUnprocessableEntity, "channel type "+p.Type+" does not register webhooks: paste the webhook URL into the platform's console")
		return
	}
	status := http.StatusOK
	if reg.Status != "registered" {
		status = http.StatusBadGateway
	}
	writeJSON(w, status, reg)
}

func (s *Server) getPoint(w http.ResponseWriter, r *http.Request, u *account.User) {
	id := r.PathValue("id")
	if !u.CanSee(id) {
		problem(w, http.StatusNotFound, "not found")
		return
	}
	p, err := s.Points.Get(r.Context(), u.WorkspaceID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(p))
}

func (s *Server) updatePoint(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in channel.Patch
	if !s.decodeJSON(w, r, &in) {
		return
	}
	p, err := s.Points.Update(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(p))
}

func (s *Server) deletePoint(w http.ResponseWriter, r *http.Request, u *account.User) {
	if err := s.Points.Delete(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotatePoint(w http.ResponseWriter, r *http.Request, u *account.User) {
	p, generated, err := s.Points.RotateCredentials(r.Context(), u.WorkspaceID, u.ID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"point_of_contact": s.view(p)}
	for k, v := range generated {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

// queryLimit reads the optional `limit` query parameter (0 when absent),
// answering 400 itself when it is not a positive integer.
// respondItems writes a list as {"items": […]}, or the problem for err.
func (s *Server) respondItems(w http.ResponseWriter, r *http.Request, items any, err error) {
	s.respond(w, r, http.StatusOK, map[string]any{"items": items}, err)
}

// respond writes v as JSON with status, or the problem for err.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

func queryLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 0, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 {
		invalid(w, "limit", "a positive integer")
		return 0, false
	}
	return n, true
}

func parseTimeParam(q, name string) (*time.Time, error) {
	if q == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, q)
	if err != nil {
		return nil, &inbox.ValidationError{Field: name, Reason: "RFC 3339 time, e.g. 2026-11-24T09:00:00Z"}
	}
	return &t, nil
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request, u *account.User) {
	q := r.URL.Query()
	f := inbox.CaseFilter{PointOfContactID: q.Get("point_of_contact_id"), ChannelType: q.Get("channel_type"), SkillID: q.Get("skill_id"),
		AssigneeID: q.Get("assignee_id"), OwnerID: q.Get("owner_id"), Tag: q.Get("tag"), Text: q.Get("q"), ContactID: q.Get("contact_id"),
		Sort: q.Get("sort"), Cursor: q.Get("cursor")}
	if f.AssigneeID == "me" {
		f.AssigneeID = u.ID
	}
	if f.OwnerID == "me" {
		f.OwnerID = u.ID
	}
	for _, st := range q["status"] {
		for _, v := range strings.Split(st, ",") {
			if v = strings.TrimSpace(v); v != "" {
				f.Statuses = append(f.Statuses, inbox.Status(v))
			}
		}
	}
	var err error
	if f.CreatedAfter, err = parseTimeParam(q.Get("created_after"), "created_after"); err != nil {
		s.fail(w, r, err)
		return
	}
	if f.CreatedBefore, err = parseTimeParam(q.Get("created_before"), "created_before"); err != nil {
		s.fail(w, r, err)
		return
	}
	var ok bool
	if f.Limit, ok = queryLimit(w, r); !ok {
		return
	}
	page, err := s.Inbox.ListCases(r.Context(), u, f)
	s.respond(w, r, http.StatusOK, page, err)
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request, u *account.User) {
	c, err := s.Inbox.GetCase(r.Context(), u, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) updateCase(w http.ResponseWriter, r *http.Request, u *account.User) {
	var p inbox.CasePatch
	if !s.decodeJSON(w, r, &p) {
		return
	}
	if p.Status != nil && *p.Status == inbox.StatusClosed && s.Automation != nil {
		// "Before case closed" rules run first (and must not run inside
		// the closing transaction).
		if c, err := s.Inbox.GetCase(r.Context(), u, r.PathValue("id")); err == nil && c.Status != inbox.StatusClosed {
			if err := s.Automation.BeforeClose(r.Context(), u.WorkspaceID, c.ID); err != nil {
				s.log.Warn("before-close rules failed", "case", c.ID, "err", err)
			}
		}
	}
	c, err := s.Inbox.UpdateCase(r.Context(), u, r.PathValue("id"), p)
	if err == nil && s.Router != nil {
		if p.AssigneeID != nil {
			// Assigned by hand: routing stops offering the case; unassigned
			// by hand: it goes back to its queue.
			err = s.Router.AssignedByHand(r.Context(), u.WorkspaceID, c.ID)
			if err == nil {
				c, err = s.Inbox.GetCase(r.Context(), u, c.ID)
			}
		}
		// A status or skill change can free an agent's slot or move the
		// case between queues.
		s.Router.Kick(u.WorkspaceID)
	}
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, u *account.User) {
	limit, ok := queryLimit(w, r)
	if !ok {
		return
	}
	page, err := s.Inbox.ListMessages(r.Context(), u, r.PathValue("id"), limit, r.URL.Query().Get("cursor"))
	s.respond(w, r, http.StatusOK, page, err)
}

// replyRequest is an outbound message; attachments are base64 data.
type replyRequest struct {
	Text        string                 `json:"text"`
	Content     json.RawMessage        `json:"content"`
	Attachments []attachmentIn         `json:"attachments"`
	Template    *inbox.TemplateRequest `json:"template"`
	ReplyTo     string                 `json:"reply_to"`
}

type attachmentIn struct {
	Data     string `json:"data"`
	MimeType string `json:"mime_type"`
	Name     string `json:"name"`
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in replyRequest
	if !s.decodeJSON(w, r, &in) {
		return
	}
	msg, ok := s.newMessage(w, r, in)
	if !ok {
		return
	}
	m, err := s.Inbox.Reply(r.Context(), u, r.PathValue("id"), msg)
	s.respond(w, r, http.StatusAccepted, m, err)
}

// newMessage turns a request into an inbox message: attachments stored,
// rich links completed (outside any transaction: it may fetch a page).
func (s *Server) newMessage(w http.ResponseWriter, r *http.Request, in replyRequest) (inbox.NewMessage, bool) {
	if len(in.Attachments) > 10 {
		invalid(w, "attachments", "at most 10")
		return inbox.NewMessage{}, false
	}
	var files []inbox.File
	for i, a := range in.Attachments {
		data, err := base64.StdEncoding.DecodeString(a.Data)
		if err != nil || len(data) == 0 {
			invalid(w, "attachments["+strconv.Itoa(i)+"].data", "non-empty base64")
			return inbox.NewMessage{}, false
		}
		f, err := s.Ingress.StoreFile(r.Context(), "attachments["+strconv.Itoa(i)+"]", a.Name, a.MimeType, data, "")
		if err != nil {
			s.fail(w, r, err)
			return inbox.NewMessage{}, false
		}
		files = append(files, f)
	}
	content := []byte(in.Content)
	if s.Content != nil && len(content) > 0 {
		content = s.Content.Enrich(r.Context(), content)
	}
	return inbox.NewMessage{Text: in.Text, Content: content, Files: files, Template: in.Template, ReplyTo: in.ReplyTo}, true
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, u *account.User) {
	id := r.PathValue("id")
	if !u.CanSee(id) {
		problem(w, http.StatusNotFound, "not found")
		return
	}
	if _, err := s.Points.Get(r.Context(), u.WorkspaceID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	ts, err := s.Templates.List(r.Context(), u.WorkspaceID, id)
	s.respondItems(w, r, ts, err)
}

func (s *Server) syncTemplates(w http.ResponseWriter, r *http.Request, u *account.User) {
	if !u.IsSupervisor() {
		problem(w, http.StatusForbidden, "supervisors and administrators only")
		return
	}
	p, err := s.Points.Get(r.Context(), u.WorkspaceID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ts, err := s.Templates.Sync(r.Context(), u.ID, &p)
	s.respondItems(w, r, ts, err)
}

func (s *Server) startConversation(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		To inbox.Recipient `json:"to"`
		replyRequest
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	id := r.PathValue("id")
	if !u.CanSee(id) {
		problem(w, http.StatusNotFound, "not found")
		return
	}
	p, err := s.Points.Get(r.Context(), u.WorkspaceID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msg, ok := s.newMessage(w, r, in.replyRequest)
	if !ok {
		return
	}
	m, c, err := s.Inbox.StartConversation(r.Context(), u, &p, in.To, msg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"case": c, "message": m})
}

// previewText tells an agent, before sending, what a text costs on the
// case's channel: SMS segments and encoding.
func (s *Server) previewText(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		Text string `json:"text"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c, err := s.Inbox.GetCase(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"channel_type": c.ChannelType, "characters": utf8.RuneCountInString(in.Text), "reply_window": c.ReplyWindow}
	if a, ok := s.Registry.Get(c.ChannelType); ok {
		if sc, ok := a.(channel.SegmentCounter); ok {
			n, enc := sc.Segments(in.Text)
			out["segments"], out["encoding"] = n, enc
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) typing(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		On bool `json:"on"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	t, err := s.Inbox.CaseTarget(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.Points.Lookup(r.Context(), t.PointOfContactID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	adapter, _ := s.Registry.Get(p.Type)
	typer, ok := adapter.(channel.Typer)
	if !ok {
		w.WriteHeader(http.StatusNoContent) // the channel has no typing indicator
		return
	}
	// Typing on also marks the customer's last message read, as people do.
	if in.On && t.LastInboundID != "" {
		if err := typer.MarkRead(r.Context(), &p, t.LastInboundID); err != nil {
			s.log.Warn("mark read", "case", r.PathValue("id"), "err", err)
		}
	}
	if err := typer.Typing(r.Context(), &p, t.ThreadExternalID, t.RecipientID, in.On); err != nil {
		problem(w, http.StatusBadGateway, "the platform refused the typing indicator: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listNotes(w http.ResponseWriter, r *http.Request, u *account.User) {
	notes, err := s.Inbox.ListNotes(r.Context(), u, r.PathValue("id"))
	s.respondItems(w, r, notes, err)
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		Body string `json:"body"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	n, err := s.Inbox.AddNote(r.Context(), u, r.PathValue("id"), in.Body)
	s.respond(w, r, http.StatusCreated, n, err)
}

func (s *Server) setTags(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if len(in.Add)+len(in.Remove) == 0 || len(in.Add) > 50 {
		invalid(w, "add", "give tags to add (at most 50) or remove")
		return
	}
	c, err := s.Inbox.SetTags(r.Context(), u, r.PathValue("id"), in.Add, in.Remove)
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) caseHistory(w http.ResponseWriter, r *http.Request, u *account.User) {
	h, err := s.Inbox.CaseHistory(r.Context(), u, r.PathValue("id"))
	s.respondItems(w, r, h, err)
}

func (s *Server) searchContacts(w http.ResponseWriter, r *http.Request, u *account.User) {
	limit, ok := queryLimit(w, r)
	if !ok {
		return
	}
	page, err := s.Inbox.SearchContacts(r.Context(), u, r.URL.Query().Get("q"), limit, r.URL.Query().Get("cursor"))
	s.respond(w, r, http.StatusOK, page, err)
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request, u *account.User) {
	c, err := s.Inbox.GetContact(r.Context(), u, r.PathValue("id"))
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request, u *account.User) {
	var p inbox.ContactPatch
	if !s.decodeJSON(w, r, &p) {
		return
	}
	if _, err := s.Inbox.GetContact(r.Context(), u, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.Inbox.UpdateContact(r.Context(), u, r.PathValue("id"), p)
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) mergeContacts(w http.ResponseWriter, r *http.Request, u *account.User) {
	var in struct {
		FromID string `json:"from_id"`
	}
	if !s.decodeJSON(w, r, &in) {
		return
	}
	if in.FromID == "" {
		invalid(w, "from_id", "required: the contact to merge into this one")
		return
	}
	c, err := s.Inbox.MergeContacts(r.Context(), u, r.PathValue("id"), in.FromID)
	s.respond(w, r, http.StatusOK, c, err)
}
