package ui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// ---- Message templates ----

type templateRow struct {
	Name, Language, Category string
	Status                   string // approved, pending, rejected, paused, disabled ("" when the platform has none)
	Body                     string // the body text, shortened
	Parameters               int
	SyncedAt                 time.Time
}

// templatePoint is one point of contact on the overview.
type templatePoint struct {
	channel.PointOfContact
	Count    int
	CanSync  bool
	SyncedAt *time.Time
}

type templatesData struct {
	Points    []templatePoint         // the overview
	Point     *channel.PointOfContact // one point of contact's templates
	CanSync   bool
	Templates []templateRow
	Synced    bool // just synchronised
}

// maxPreview is how much of a template's body the list shows.
const maxPreview = 160

// templateBody is the text of a template's body component, shortened.
func templateBody(components json.RawMessage) string {
	var comps []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(components, &comps)
	for _, c := range comps {
		if strings.EqualFold(c.Type, "body") {
			if utf8.RuneCountInString(c.Text) > maxPreview {
				r := []rune(c.Text)
				return string(r[:maxPreview]) + "…"
			}
			return c.Text
		}
	}
	return ""
}

func (h *Handler) canSync(p channel.PointOfContact) bool {
	if h.d.Registry == nil {
		return true // the store will say whether the channel has templates
	}
	_, ok := h.adapterOf(p).(channel.TemplateSyncer)
	return ok
}

// templatesOverview lists the points of contact with their templates
// (admins only: the pages that change configuration are).
func (h *Handler) templatesOverview(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	ps, err := h.d.Points.List(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d := &templatesData{}
	for _, p := range ps {
		ts, err := h.d.Templates.List(ctx, e.u.WorkspaceID, p.ID)
		if err != nil {
			h.fail(w, r, e, err)
			return
		}
		tp := templatePoint{PointOfContact: p, Count: len(ts), CanSync: h.canSync(p)}
		if len(ts) > 0 {
			at := ts[0].SyncedAt
			tp.SyncedAt = &at
		}
		// Points of contact whose channel has no platform templates are
		// left out unless something was stored for them.
		if tp.CanSync || tp.Count > 0 {
			d.Points = append(d.Points, tp)
		}
	}
	h.render(w, r, e, http.StatusOK, "admin_templates", h.newView(r, e, "config.tpl.title", "templates", d))
}

func (h *Handler) templatesData(ctx context.Context, e *env, id string) (*templatesData, error) {
	p, err := h.d.Points.Get(ctx, e.u.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	d := &templatesData{Point: &p, CanSync: h.canSync(p)}
	ts, err := h.d.Templates.List(ctx, e.u.WorkspaceID, p.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		d.Templates = append(d.Templates, templateRow{Name: t.Name, Language: t.Language, Category: t.Category, Status: strings.ToLower(t.Status),
			Body: templateBody(t.Components), Parameters: len(t.Parameters), SyncedAt: t.SyncedAt})
	}
	return d, nil
}

func (h *Handler) pointTemplatesPage(w http.ResponseWriter, r *http.Request, e *env) {
	d, err := h.templatesData(r.Context(), e, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	v := h.newView(r, e, "config.tpl.title", "templates", d)
	if r.URL.Query().Get("synced") == "1" {
		v.Notice = e.t("config.tpl.synced", len(d.Templates))
	}
	h.render(w, r, e, http.StatusOK, "admin_templates", v)
}

// syncPointTemplates fetches the templates from the platform, as POST
// /api/v1/points-of-contact/{id}/templates/sync does; the platform's
// reason is shown when it refuses.
func (h *Handler) syncPointTemplates(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, err := h.d.Points.Get(ctx, e.u.WorkspaceID, id)
	if err == nil {
		_, err = h.d.Templates.Sync(ctx, e.u.ID, &p)
	}
	if err != nil {
		status, key, detail := h.failure(r, err)
		if errors.Is(err, channel.ErrUnsupported) {
			key, detail = "config.tpl.unsupported", ""
		}
		d, derr := h.templatesData(ctx, e, id)
		if derr != nil {
			h.renderError(w, r, e, status, key, detail)
			return
		}
		v := h.newView(r, e, "config.tpl.title", "templates", d)
		v.Error, v.Detail = e.t(key), platformReason(detail)
		h.render(w, r, e, status, "admin_templates", v)
		return
	}
	http.Redirect(w, r, h.p("admin", "points", id, "templates")+"?synced=1", http.StatusSeeOther)
}

// platformReason strips the store's own preamble from a platform error,
// leaving the platform's words.
func platformReason(detail string) string {
	if rest, ok := strings.CutPrefix(detail, channel.ErrPlatform.Error()+": "); ok {
		return rest
	}
	return detail
}
