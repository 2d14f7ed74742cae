package ui

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/routing"
)

// ---- Points of contact ----

type pointRow struct {
	channel.PointOfContact
	Webhook     string
	SkillName   string
	Credentials []string
}

// created is shown once after a point of contact is created or its
// credentials rotated: the generated secrets and the webhook URL.
type created struct {
	Name         string
	Webhook      string
	Secrets      []kv
	Registration string // registered, failed, or "" when the platform needs none
	RegError     string
}

type pointsData struct {
	Points  []pointRow
	Types   []string
	Skills  []routing.Skill
	Created *created
	Form    map[string]string
}

// webhookURL is where a point of contact's platform posts (as the API
// shows it).
func (h *Handler) webhookURL(p channel.PointOfContact) string {
	base := strings.TrimRight(h.o.PublicURL, "/")
	if p.Type == "byoc" {
		return base + "/api/v1/byoc/" + p.ID + "/messages"
	}
	return base + "/webhooks/" + p.ID
}

func (h *Handler) channelTypes() []string {
	if h.d.Registry != nil {
		return h.d.Registry.Types()
	}
	return content.ChannelTypes()
}

func (h *Handler) pointsData(ctx context.Context, u *account.User) (*pointsData, error) {
	ps, err := h.d.Points.List(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	sk, err := h.d.Skills.List(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, s := range sk {
		names[s.ID] = s.Name
	}
	d := &pointsData{Types: h.channelTypes(), Skills: sk, Form: map[string]string{}}
	for _, p := range ps {
		row := pointRow{PointOfContact: p, Webhook: h.webhookURL(p), Credentials: p.CredentialNames()}
		sort.Strings(row.Credentials)
		if p.DefaultSkillID != nil {
			row.SkillName = names[*p.DefaultSkillID]
		}
		d.Points = append(d.Points, row)
	}
	return d, nil
}

func (h *Handler) pointsPage(w http.ResponseWriter, r *http.Request, e *env) {
	h.showPoints(w, r, e, http.StatusOK, nil, nil, "", "")
}

func (h *Handler) showPoints(w http.ResponseWriter, r *http.Request, e *env, status int, c *created, form map[string]string, errKey, detail string) {
	d, err := h.pointsData(r.Context(), e.u)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d.Created = c
	if form != nil {
		d.Form = form
	}
	v := h.newView(r, e, "points.title", "points", d)
	if errKey != "" {
		v.Error, v.Detail = e.t(errKey), detail
	}
	h.render(w, r, e, status, "points", v)
}

// parsePairs reads "key=value" lines; true and false become booleans.
func parsePairs(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); ok && k != "" {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func settingsOf(pairs map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range pairs {
		switch v {
		case "true":
			out[k] = true
		case "false":
			out[k] = false
		default:
			out[k] = v
		}
	}
	return out
}

// createPoint configures a point of contact (admins only, as POST
// /api/v1/points-of-contact) and shows its secrets and webhook URL once.
func (h *Handler) createPoint(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	form := map[string]string{"type": r.FormValue("type"), "name": r.FormValue("name"), "skill": r.FormValue("skill"),
		"script": r.FormValue("script"), "settings": r.FormValue("settings")}
	in := channel.NewPointOfContact{Type: form["type"], Name: form["name"], DefaultScript: form["script"],
		Settings: settingsOf(parsePairs(form["settings"])), Credentials: parsePairs(r.FormValue("credentials"))}
	if form["skill"] != "" {
		s := form["skill"]
		in.DefaultSkillID = &s
	}
	p, generated, err := h.d.Points.Create(ctx, e.u.WorkspaceID, e.u.ID, in)
	if err != nil {
		status, key, detail := h.failure(r, err)
		h.showPoints(w, r, e, status, nil, form, key, detail)
		return
	}
	c := &created{Name: p.Name, Webhook: h.webhookURL(p)}
	for k, v := range generated {
		c.Secrets = append(c.Secrets, kv{k, v})
	}
	sort.Slice(c.Secrets, func(i, j int) bool { return c.Secrets[i].K < c.Secrets[j].K })
	c.Registration, c.RegError = h.registerWebhook(ctx, &p, c.Webhook)
	h.showPoints(w, r, e, http.StatusCreated, c, nil, "", "")
}

// registerWebhook tells the platform the webhook URL where its adapter
// needs that (Telegram, Viber), as the API does on creation.
func (h *Handler) registerWebhook(ctx context.Context, p *channel.PointOfContact, url string) (string, string) {
	if h.d.Registry == nil {
		return "", ""
	}
	a, ok := h.d.Registry.Get(p.Type)
	if !ok {
		return "", ""
	}
	reg, ok := a.(channel.WebhookRegistrar)
	if !ok {
		return "", ""
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := reg.RegisterWebhook(ctx, p, url); err != nil {
		h.log.Warn("webhook registration failed", "point_of_contact", p.ID, "type", p.Type, "err", err)
		return "failed", err.Error()
	}
	return "registered", ""
}

func (h *Handler) deletePoint(w http.ResponseWriter, r *http.Request, e *env) {
	if err := h.d.Points.Delete(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id")); err != nil {
		status, key, detail := h.failure(r, err)
		h.showPoints(w, r, e, status, nil, nil, key, detail)
		return
	}
	h.back(w, r, "admin", "points")
}

func (h *Handler) rotatePoint(w http.ResponseWriter, r *http.Request, e *env) {
	p, generated, err := h.d.Points.RotateCredentials(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id"))
	if err != nil {
		status, key, detail := h.failure(r, err)
		h.showPoints(w, r, e, status, nil, nil, key, detail)
		return
	}
	c := &created{Name: p.Name, Webhook: h.webhookURL(p)}
	for k, v := range generated {
		c.Secrets = append(c.Secrets, kv{k, v})
	}
	sort.Slice(c.Secrets, func(i, j int) bool { return c.Secrets[i].K < c.Secrets[j].K })
	h.showPoints(w, r, e, http.StatusOK, c, nil, "", "")
}

// ---- Skills ----

func (h *Handler) skillsPage(w http.ResponseWriter, r *http.Request, e *env) {
	h.showSkills(w, r, e, http.StatusOK, "", "")
}

func (h *Handler) showSkills(w http.ResponseWriter, r *http.Request, e *env, status int, errKey, detail string) {
	sk, err := h.d.Skills.List(r.Context(), e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	v := h.newView(r, e, "skills.title", "skills", map[string]any{"Skills": sk})
	if errKey != "" {
		v.Error, v.Detail = e.t(errKey), detail
	}
	h.render(w, r, e, status, "skills", v)
}

// intField reads an optional non-negative integer form field.
func intField(r *http.Request, name string) (*int, error) {
	v := strings.TrimSpace(r.FormValue(name))
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, &routing.ValidationError{Field: name, Reason: "a whole number"}
	}
	return &n, nil
}

func skillPatch(r *http.Request) (routing.SkillPatch, error) {
	var p routing.SkillPatch
	var err error
	if p.OfferTimeoutSeconds, err = intField(r, "offer_timeout_seconds"); err != nil {
		return p, err
	}
	first, err := intField(r, "sla_first_response_seconds")
	if err != nil {
		return p, err
	}
	next, err := intField(r, "sla_next_response_seconds")
	if err != nil {
		return p, err
	}
	if first != nil || next != nil {
		sla := routing.SLA{WarningPercent: 80}
		if first != nil {
			sla.FirstResponseSeconds = *first
		}
		if next != nil {
			sla.NextResponseSeconds = *next
		}
		p.SLA = &sla
	}
	return p, nil
}

func (h *Handler) createSkill(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	p, err := skillPatch(r)
	if err == nil {
		var sk routing.Skill
		sk, err = h.d.Skills.Create(ctx, e.u.WorkspaceID, e.u.ID, r.FormValue("name"), r.FormValue("description"))
		if err == nil && (p.OfferTimeoutSeconds != nil || p.SLA != nil) {
			_, err = h.d.Skills.Update(ctx, e.u.WorkspaceID, e.u.ID, sk.ID, p)
		}
	}
	if err != nil {
		status, key, detail := h.failure(r, err)
		h.showSkills(w, r, e, status, key, detail)
		return
	}
	h.back(w, r, "admin", "skills")
}

func (h *Handler) updateSkill(w http.ResponseWriter, r *http.Request, e *env) {
	p, err := skillPatch(r)
	if err == nil {
		if name := strings.TrimSpace(r.FormValue("name")); name != "" {
			p.Name = &name
		}
		if _, ok := r.PostForm["description"]; ok {
			d := r.PostForm.Get("description")
			p.Description = &d
		}
		_, err = h.d.Skills.Update(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id"), p)
	}
	if err != nil {
		status, key, detail := h.failure(r, err)
		h.showSkills(w, r, e, status, key, detail)
		return
	}
	h.back(w, r, "admin", "skills")
}

func (h *Handler) deleteSkill(w http.ResponseWriter, r *http.Request, e *env) {
	if err := h.d.Skills.Delete(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id")); err != nil {
		status, key, detail := h.failure(r, err)
		h.showSkills(w, r, e, status, key, detail)
		return
	}
	h.back(w, r, "admin", "skills")
}

// ---- Users and channel permissions ----

// permRow is one line of a user's permission matrix: every point of
// contact ("*") or one of them.
type permRow struct {
	Key, Name string
	See       bool
	Actions   map[string]bool
}

type userRow struct {
	account.User
	Perms []permRow
	Self  bool
}

type usersData struct {
	Users   []userRow
	Roles   []string
	Actions []string
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, e *env) {
	h.showUsers(w, r, e, http.StatusOK, "", "")
}

func (h *Handler) showUsers(w http.ResponseWriter, r *http.Request, e *env, status int, errKey, detail string) {
	ctx := r.Context()
	us, err := h.d.Accounts.ListUsers(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	ps, err := h.d.Points.List(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d := &usersData{Roles: []string{string(account.RoleAgent), string(account.RoleSupervisor), string(account.RoleAdmin)}, Actions: account.AllActions}
	for _, u := range us {
		row := userRow{User: u, Self: u.ID == e.u.ID}
		keys := []struct{ key, name string }{{"*", ""}}
		for _, p := range ps {
			keys = append(keys, struct{ key, name string }{p.ID, p.Name})
		}
		for _, k := range keys {
			acts, ok := u.ChannelPermissions[k.key]
			pr := permRow{Key: k.key, Name: k.name, See: ok, Actions: map[string]bool{}}
			for _, a := range acts {
				pr.Actions[a] = true
			}
			row.Perms = append(row.Perms, pr)
		}
		d.Users = append(d.Users, row)
	}
	v := h.newView(r, e, "users.title", "users", d)
	if errKey != "" {
		v.Error, v.Detail = e.t(errKey), detail
	}
	h.render(w, r, e, status, "users", v)
}

// permissionsFrom reads the matrix: see:<key> and act:<key> checkboxes.
func permissionsFrom(r *http.Request) account.Permissions {
	out := account.Permissions{}
	for name, vals := range r.PostForm {
		if key, ok := strings.CutPrefix(name, "see:"); ok && len(vals) > 0 {
			if _, exists := out[key]; !exists {
				out[key] = []string{}
			}
		}
		if key, ok := strings.CutPrefix(name, "act:"); ok {
			out[key] = append(out[key], vals...)
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, e *env) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	in := account.NewUser{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"), Role: account.Role(r.PostForm.Get("role")), Password: r.PostForm.Get("password")}
	if _, err := h.d.Accounts.CreateUser(r.Context(), h.d.DB, e.u.WorkspaceID, in); err != nil {
		status, key, detail := h.failure(r, err)
		h.showUsers(w, r, e, status, key, detail)
		return
	}
	h.back(w, r, "admin", "users")
}

// updateUser changes a user's role, state, password and channel
// permissions, with the API's rule that admins cannot demote or disable
// themselves.
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, e *env) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	id := r.PathValue("id")
	var p account.UserPatch
	if v := strings.TrimSpace(r.PostForm.Get("name")); v != "" {
		p.Name = &v
	}
	if v := r.PostForm.Get("role"); v != "" {
		role := account.Role(v)
		p.Role = &role
	}
	disabled := r.PostForm.Get("disabled") == "1"
	p.Disabled = &disabled
	if v := r.PostForm.Get("password"); v != "" {
		p.Password = &v
	}
	perms := permissionsFrom(r)
	p.ChannelPermissions = &perms
	if id == e.u.ID && ((p.Role != nil && *p.Role != account.RoleAdmin) || disabled) {
		h.showUsers(w, r, e, http.StatusConflict, "error.self_demote", "")
		return
	}
	if _, err := h.d.Accounts.UpdateUser(r.Context(), e.u, id, p); err != nil {
		status, key, detail := h.failure(r, err)
		h.showUsers(w, r, e, status, key, detail)
		return
	}
	h.back(w, r, "admin", "users")
}
