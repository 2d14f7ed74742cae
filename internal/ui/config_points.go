package ui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/hours"
	"github.com/parleyhq/parley/internal/routing"
	"github.com/parleyhq/parley/internal/script"
	"github.com/parleyhq/parley/internal/store"
)

// ---- Point of contact: the edit page ----

// businessHoursKey is the core setting edited with its own fields rather
// than as a raw setting.
const businessHoursKey = "business_hours"

// settingRow is one setting of the form: a stored one (its key fixed) or
// an empty row for a new one.
type settingRow struct {
	Key    string
	Value  string
	JSON   bool // the stored value is not a string: it is edited as JSON
	New    bool
	Remove bool
	Err    string
}

// credentialRow is one stored credential: its name only; a value typed
// replaces it, an empty one keeps it.
type credentialRow struct {
	Name   string
	Remove bool
	Err    string
}

type dayHours struct {
	Key, Value string // weekday key ("mon") and its intervals ("09:00-12:00, 14:00-18:00")
}

type hoursForm struct {
	Timezone string
	Days     []dayHours
	Holidays string
}

// pointForm is what the edit form shows: the point of contact as stored,
// or as the administrator typed it when it was refused.
type pointForm struct {
	Name, Skill, Script string
	Settings            []settingRow
	Credentials         []credentialRow
	NewCredName         string
	Hours               hoursForm
}

type registration struct{ Status, Error string }

type pointEditData struct {
	Point         channel.PointOfContact
	Webhook       string
	VerifyToken   string
	Skills        []routing.Skill
	Scripts       []script.Script
	ScriptMissing bool // default_script names no script of the workspace
	Form          pointForm
	CanRegister   bool
	CanSync       bool
	Registration  *registration
	Errs          *formErrors
}

// newSettingRows is how many empty rows the form offers for new settings.
const newSettingRows = 2

func formOfPoint(p channel.PointOfContact) pointForm {
	f := pointForm{Name: p.Name, Script: p.DefaultScript}
	if p.DefaultSkillID != nil {
		f.Skill = *p.DefaultSkillID
	}
	keys := make([]string, 0, len(p.Settings))
	for k := range p.Settings {
		if k != businessHoursKey {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		row := settingRow{Key: k}
		if s, ok := p.Settings[k].(string); ok {
			row.Value = s
		} else {
			b, _ := json.Marshal(p.Settings[k])
			row.Value, row.JSON = string(b), true
		}
		f.Settings = append(f.Settings, row)
	}
	for range newSettingRows {
		f.Settings = append(f.Settings, settingRow{New: true})
	}
	names := p.CredentialNames()
	sort.Strings(names)
	for _, n := range names {
		f.Credentials = append(f.Credentials, credentialRow{Name: n})
	}
	f.Hours = hoursOf(p.Settings[businessHoursKey])
	return f
}

// hoursOf shows a stored business-hours setting in the form's fields.
func hoursOf(v any) hoursForm {
	var s hours.Schedule
	if v != nil {
		if b, err := json.Marshal(v); err == nil {
			_ = json.Unmarshal(b, &s)
		}
	}
	f := hoursForm{Timezone: s.Timezone, Holidays: strings.Join(s.Holidays, "\n")}
	for _, d := range hours.WeekdayKeys() {
		var parts []string
		for _, iv := range s.Weekly[d] {
			parts = append(parts, iv.Start+"-"+iv.End)
		}
		f.Days = append(f.Days, dayHours{Key: d, Value: strings.Join(parts, ", ")})
	}
	return f
}

func (h *Handler) adapterOf(p channel.PointOfContact) channel.Adapter {
	if h.d.Registry == nil {
		return nil
	}
	a, _ := h.d.Registry.Get(p.Type)
	return a
}

func (h *Handler) pointEditData(ctx context.Context, e *env, id string) (*pointEditData, error) {
	p, err := h.d.Points.Get(ctx, e.u.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	sk, err := h.d.Skills.List(ctx, e.u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	d := &pointEditData{Point: p, Webhook: h.webhookURL(p), Skills: sk, Form: formOfPoint(p),
		// Meta's verify token only answers the subscription handshake and
		// is needed again whenever the webhook is set up in Meta's console:
		// the API shows it too. Every other credential stays write-only.
		VerifyToken: p.Credential("verify_token")}
	if h.d.Scripts != nil {
		if d.Scripts, err = h.d.Scripts.List(ctx, e.u.WorkspaceID); err != nil {
			return nil, err
		}
	}
	if p.DefaultScript != "" {
		d.ScriptMissing = true
		for _, s := range d.Scripts {
			if s.ID == p.DefaultScript {
				d.ScriptMissing = false
			}
		}
	}
	a := h.adapterOf(p)
	_, d.CanRegister = a.(channel.WebhookRegistrar)
	_, d.CanSync = a.(channel.TemplateSyncer)
	return d, nil
}

func (h *Handler) pointEditPage(w http.ResponseWriter, r *http.Request, e *env) {
	d, err := h.pointEditData(r.Context(), e, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	v := h.newView(r, e, "config.poc.title", "points", d)
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = e.t("config.poc.saved")
	}
	h.render(w, r, e, http.StatusOK, "admin_pointedit", v)
}

// pointControl maps a field the domain names to the form control showing
// it.
func pointControl(field string) string {
	switch {
	case field == "default_skill_id":
		return "skill"
	case field == "default_script":
		return "script"
	case strings.HasPrefix(field, "settings."+businessHoursKey):
		return businessHoursKey
	case strings.HasPrefix(field, "settings."), strings.HasPrefix(field, "credentials."):
		// settings.<key>[.more] → the row of <key>.
		prefix, rest, _ := strings.Cut(field, ".")
		key, _, _ := strings.Cut(rest, ".")
		return prefix + "." + key
	}
	return field
}

// updatePointForm applies the edit form through channel.Points' Update,
// as PATCH /api/v1/points-of-contact/{id} does (admins only).
func (h *Handler) updatePointForm(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	d, err := h.pointEditData(ctx, e, id)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	form, patch, err := h.pointPatch(ctx, e, d.Point, r)
	if err == nil {
		_, err = h.d.Points.Update(ctx, e.u.WorkspaceID, e.u.ID, id, patch)
	}
	if err != nil {
		status, errs := h.formError(r, e, err, pointControl)
		for i := range form.Settings {
			form.Settings[i].Err = errs.At["settings."+form.Settings[i].Key]
		}
		for i := range form.Credentials {
			form.Credentials[i].Err = errs.At["credentials."+form.Credentials[i].Name]
		}
		d.Form, d.Errs = form, errs
		h.render(w, r, e, status, "admin_pointedit", h.newView(r, e, "config.poc.title", "points", d))
		return
	}
	http.Redirect(w, r, h.p("admin", "points", id)+"?saved=1", http.StatusSeeOther)
}

// pointPatch reads the edit form: the form as typed (to show again if
// refused) and the patch. Settings keep their type: a stored string stays
// a string, other values are JSON; a new setting follows the creation
// form's rule (true and false are booleans, { or [ starts JSON, anything
// else is text).
func (h *Handler) pointPatch(ctx context.Context, e *env, p channel.PointOfContact, r *http.Request) (pointForm, channel.Patch, error) {
	pf := r.PostForm
	f := pointForm{Name: pf.Get("name"), Skill: pf.Get("skill"), Script: pf.Get("script"), NewCredName: strings.TrimSpace(pf.Get("cred_new_name"))}
	var firstErr error
	fail := func(field, reason string) {
		if firstErr == nil {
			firstErr = &invalidField{field, reason}
		}
	}
	name, skill, scriptID := f.Name, f.Skill, f.Script
	patch := channel.Patch{Name: &name, DefaultSkillID: &skill, DefaultScript: &scriptID}
	if scriptID != "" && h.d.Scripts != nil && scriptID != p.DefaultScript {
		if _, err := h.d.Scripts.Get(ctx, e.u.WorkspaceID, scriptID); errors.Is(err, store.ErrNotFound) {
			fail("default_script", e.t("config.poc.err_no_script"))
		} else if err != nil {
			return f, patch, err
		}
	}

	settings := map[string]any{}
	for i := 0; i < 200; i++ {
		n := strconv.Itoa(i)
		if _, ok := pf["set_key_"+n]; !ok {
			break
		}
		row := settingRow{Key: strings.TrimSpace(pf.Get("set_key_" + n)), Value: pf.Get("set_val_" + n), JSON: pf.Get("set_json_"+n) == "1",
			New: pf.Get("set_new_"+n) == "1", Remove: pf.Get("set_del_"+n) == "1"}
		f.Settings = append(f.Settings, row)
		switch {
		case row.New && row.Key == "" && strings.TrimSpace(row.Value) == "":
			continue
		case row.Key == "":
			fail("settings", e.t("config.poc.err_setting_name"))
			continue
		case row.Key == businessHoursKey:
			fail("settings."+row.Key, e.t("config.poc.err_hours_setting"))
			continue
		case row.Remove:
			settings[row.Key] = nil
			continue
		}
		v, ok := settingValue(row)
		if !ok {
			fail("settings."+row.Key, e.t("config.poc.err_json"))
			continue
		}
		settings[row.Key] = v
	}

	f.Hours = hoursForm{Timezone: strings.TrimSpace(pf.Get("bh_tz")), Holidays: pf.Get("bh_holidays")}
	blank := f.Hours.Timezone == "" && strings.TrimSpace(f.Hours.Holidays) == ""
	for _, d := range hours.WeekdayKeys() {
		v := pf.Get("bh_" + d)
		f.Hours.Days = append(f.Hours.Days, dayHours{Key: d, Value: v})
		blank = blank && strings.TrimSpace(v) == ""
	}
	switch sch, field, ok := scheduleOf(f.Hours); {
	case blank:
		if _, had := p.Settings[businessHoursKey]; had {
			settings[businessHoursKey] = nil
		}
	case !ok:
		fail("settings."+businessHoursKey+"."+field, e.t("config.poc.err_interval"))
	default:
		if err := sch.Validate(); err != nil {
			hf, reason, _ := fieldOf(err)
			fail("settings."+businessHoursKey+"."+hf, reason)
			break
		}
		var m map[string]any
		b, _ := json.Marshal(sch)
		_ = json.Unmarshal(b, &m)
		settings[businessHoursKey] = m
	}
	if len(settings) > 0 {
		patch.Settings = settings
	}

	creds := map[string]string{}
	for i := 0; i < 100; i++ {
		n := strconv.Itoa(i)
		if _, ok := pf["cred_name_"+n]; !ok {
			break
		}
		row := credentialRow{Name: pf.Get("cred_name_" + n), Remove: pf.Get("cred_del_"+n) == "1"}
		f.Credentials = append(f.Credentials, row)
		switch val := pf.Get("cred_val_" + n); {
		case row.Remove:
			creds[row.Name] = "" // the domain's way of removing one
		case val != "":
			creds[row.Name] = val
		}
	}
	if v := pf.Get("cred_new_val"); f.NewCredName != "" || v != "" {
		switch {
		case f.NewCredName == "":
			fail("credentials", e.t("config.poc.err_credential_name"))
		case v == "":
			fail("credentials."+f.NewCredName, e.t("config.poc.err_credential_value"))
		default:
			creds[f.NewCredName] = v
		}
	}
	if len(creds) > 0 {
		patch.Credentials = creds
	}
	return f, patch, firstErr
}

// settingValue converts a typed setting to the value stored.
func settingValue(row settingRow) (any, bool) {
	if !row.JSON && !row.New {
		return row.Value, true
	}
	v := strings.TrimSpace(row.Value)
	if !row.JSON {
		switch {
		case v == "true":
			return true, true
		case v == "false":
			return false, true
		case !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "["):
			return row.Value, true
		}
	}
	var out any
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, false
	}
	return out, true
}

// interval is one opening as typed: 09:00-12:00 (a hyphen or a dash
// between the times).
var interval = regexp.MustCompile(`^\s*(\d{1,2}:\d{2})\s*(?:-|–|—)\s*(\d{1,2}:\d{2})\s*$`)

// scheduleOf reads the business-hours fields; on a malformed interval it
// names the field ("weekly.mon").
func scheduleOf(f hoursForm) (hours.Schedule, string, bool) {
	s := hours.Schedule{Timezone: f.Timezone, Weekly: map[string][]hours.Interval{}}
	for _, d := range f.Days {
		for _, part := range strings.Split(d.Value, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			m := interval.FindStringSubmatch(part)
			if m == nil {
				return s, "weekly." + d.Key, false
			}
			s.Weekly[d.Key] = append(s.Weekly[d.Key], hours.Interval{Start: pad(m[1]), End: pad(m[2])})
		}
	}
	for _, hday := range strings.FieldsFunc(f.Holidays, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' }) {
		s.Holidays = append(s.Holidays, hday)
	}
	return s, "", true
}

// pad writes 9:00 as 09:00.
func pad(t string) string {
	if len(t) == 4 {
		return "0" + t
	}
	return t
}

// registerPointWebhook tells the platform the webhook URL, as POST
// /api/v1/points-of-contact/{id}/register-webhook does (admins only).
func (h *Handler) registerPointWebhook(w http.ResponseWriter, r *http.Request, e *env) {
	d, err := h.pointEditData(r.Context(), e, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	v := h.newView(r, e, "config.poc.title", "points", d)
	status, errText := h.registerWebhook(r.Context(), &d.Point, d.Webhook)
	switch status {
	case "":
		v.Error = e.t("config.poc.register_unsupported")
		h.render(w, r, e, http.StatusUnprocessableEntity, "admin_pointedit", v)
		return
	case "registered":
		d.Registration = &registration{Status: status}
		h.render(w, r, e, http.StatusOK, "admin_pointedit", v)
	default:
		d.Registration = &registration{Status: status, Error: errText}
		h.render(w, r, e, http.StatusBadGateway, "admin_pointedit", v)
	}
}
