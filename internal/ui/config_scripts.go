package ui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/hours"
	"github.com/parleyhq/parley/internal/script"
)

// ---- Scripts: list, editor, versions, test run ----

type scriptRow struct {
	script.Script
	UsedBy []string // the points of contact whose default script it is
}

type scriptsData struct {
	Scripts []scriptRow
	Name    string // the creation form, as typed when refused
	Source  string
	Lines   []gutterLine
	Errs    *formErrors
}

// gutterLine is one line number beside the editor; Err marks a line a
// compile error points at.
type gutterLine struct {
	N   int
	Err bool
}

type versionRow struct {
	Version int
	At      time.Time
	By      string
	Current bool
}

// testForm is the test run's sample input.
type testForm struct {
	Event, Text, Channel, Point, Day string
	Hour                             int
}

type paramView struct{ Key, Value string }

type actionView struct {
	Type   string
	Params []paramView
}

// testView is what a test run shows: the actions the script would take,
// its log, or why it failed (with the line and column).
type testView struct {
	Ran          bool
	Actions      []actionView
	Logs         []string
	Error        string
	Line, Col    int
	CompileError string
	Steps        uint64
	Millis       string
	At           time.Time
}

type scriptData struct {
	Script   script.Script
	Source   string // what the editor holds (the draft when shown again)
	Lines    []gutterLine
	Versions []versionRow
	UsedBy   []string
	Errs     *formErrors
	Test     *testView
	TestForm testForm
	CanTest  bool
	Types    []string
	Points   []channel.PointOfContact
	Days     []string
	Hours    []int
}

type versionData struct {
	Script  script.Script
	Version script.ScriptVersion
	By      string
	Lines   []gutterLine
	Current bool
}

// extraGutterLines are numbered past the end of the source, so the
// gutter keeps up while the administrator types (the editor grows with
// its content; no script keeps the numbers in step).
const extraGutterLines = 100

var errorPosition = regexp.MustCompile(`line (\d+):(\d+)`)

// gutter numbers the lines of source, marking those named by errText
// ("line 3:7: …; line 9:1: …").
func gutter(source, errText string, extra int) []gutterLine {
	bad := map[int]bool{}
	for _, m := range errorPosition.FindAllStringSubmatch(errText, -1) {
		n, _ := strconv.Atoi(m[1])
		bad[n] = true
	}
	n := strings.Count(source, "\n") + 1 + extra
	out := make([]gutterLine, n)
	for i := range out {
		out[i] = gutterLine{N: i + 1, Err: bad[i+1]}
	}
	return out
}

func (h *Handler) scriptsAvailable(w http.ResponseWriter, r *http.Request, e *env) bool {
	if h.d.Scripts == nil {
		h.unavailable(w, r, e)
		return false
	}
	return true
}

// usedBy maps script ids to the names of the points of contact using them
// as default script.
func (h *Handler) usedBy(ctx context.Context, workspaceID string) (map[string][]string, error) {
	ps, err := h.d.Points.List(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range ps {
		if p.DefaultScript != "" {
			out[p.DefaultScript] = append(out[p.DefaultScript], p.Name)
		}
	}
	return out, nil
}

func (h *Handler) scriptsPage(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.scriptsAvailable(w, r, e) {
		return
	}
	h.showScripts(w, r, e, http.StatusOK, "", e.t("config.script.example"), nil)
}

func (h *Handler) showScripts(w http.ResponseWriter, r *http.Request, e *env, status int, name, source string, errs *formErrors) {
	ctx := r.Context()
	list, err := h.d.Scripts.List(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	used, err := h.usedBy(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d := &scriptsData{Name: name, Source: source, Errs: errs}
	errText := ""
	if errs != nil {
		errText = errs.Reason
	}
	d.Lines = gutter(source, errText, extraGutterLines)
	for _, s := range list {
		d.Scripts = append(d.Scripts, scriptRow{Script: s, UsedBy: used[s.ID]})
	}
	h.render(w, r, e, status, "admin_scripts", h.newView(r, e, "config.script.list_title", "scripts", d))
}

// createScript saves a new script as version 1 (admins only, as POST
// /api/v1/scripts); a source that does not compile is refused with its
// line and column.
func (h *Handler) createScript(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.scriptsAvailable(w, r, e) {
		return
	}
	name, source := r.FormValue("name"), lf(r.FormValue("source"))
	sc, err := h.d.Scripts.Create(r.Context(), e.u.WorkspaceID, e.u.ID, name, source)
	if err != nil {
		status, errs := h.formError(r, e, err, nil)
		h.showScripts(w, r, e, status, name, source, errs)
		return
	}
	h.back(w, r, "admin", "scripts", sc.ID)
}

func (h *Handler) scriptData(ctx context.Context, e *env, id string) (*scriptData, error) {
	sc, err := h.d.Scripts.Get(ctx, e.u.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	vs, err := h.d.Scripts.Versions(ctx, e.u.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	used, err := h.usedBy(ctx, e.u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	ps, err := h.d.Points.List(ctx, e.u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	names := h.userNames(ctx, e.u)
	now := h.d.Now().UTC()
	d := &scriptData{Script: sc, Source: sc.Source, UsedBy: used[id], CanTest: h.d.ScriptEngine != nil, Types: h.channelTypes(), Points: ps,
		Days: hours.WeekdayKeys(), TestForm: testForm{Event: script.EventMessage, Channel: "chat", Day: hours.WeekdayKey(now.Weekday()), Hour: now.Hour()}}
	for i := range 24 {
		d.Hours = append(d.Hours, i)
	}
	for _, v := range vs {
		d.Versions = append(d.Versions, versionRow{Version: v.Version, At: v.CreatedAt, By: names[v.CreatedBy], Current: v.Version == sc.Version})
	}
	return d, nil
}

func (h *Handler) showScript(w http.ResponseWriter, r *http.Request, e *env, status int, d *scriptData) {
	errText := ""
	if d.Errs != nil {
		errText = d.Errs.Reason
	}
	if d.Test != nil && d.Test.CompileError != "" {
		errText = d.Test.CompileError
	}
	d.Lines = gutter(d.Source, errText, extraGutterLines)
	v := h.newView(r, e, "config.script.title", "scripts", d)
	if n := r.URL.Query().Get("saved"); n != "" && status == http.StatusOK {
		v.Notice = e.t("config.script.saved", d.Script.Version)
	}
	h.render(w, r, e, status, "admin_script", v)
}

func (h *Handler) scriptPage(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.scriptsAvailable(w, r, e) {
		return
	}
	d, err := h.scriptData(r.Context(), e, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.showScript(w, r, e, http.StatusOK, d)
}

// saveScript saves the editor's source as the script's next version (as
// PUT /api/v1/scripts/{id}); compile errors are shown with their lines.
func (h *Handler) saveScript(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.scriptsAvailable(w, r, e) {
		return
	}
	ctx := r.Context()
	id, source := r.PathValue("id"), lf(r.FormValue("source"))
	_, err := h.d.Scripts.Update(ctx, e.u.WorkspaceID, e.u.ID, id, source)
	if err != nil {
		d, derr := h.scriptData(ctx, e, id)
		if derr != nil {
			h.fail(w, r, e, derr)
			return
		}
		status, errs := h.formError(r, e, err, nil)
		d.Source, d.Errs = source, errs
		d.TestForm = testFormOf(r, d.TestForm)
		h.showScript(w, r, e, status, d)
		return
	}
	http.Redirect(w, r, h.p("admin", "scripts", id)+"?saved=1", http.StatusSeeOther)
}

// deleteScript removes a script, refused while a point of contact has it
// as default script (as DELETE /api/v1/scripts/{id}).
func (h *Handler) deleteScript(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.scriptsAvailable(w, r, e) {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	err := h.d.Scripts.Delete(ctx, e.u.WorkspaceID, e.u.ID, id)
	if err == nil {
		h.back(w, r, "admin", "scripts")
		return
	}
	d, derr := h.scriptData(ctx, e, id)
	if derr != nil {
		h.fail(w, r, e, derr)
		return
	}
	status, key, detail := h.failure(r, err)
	if errors.Is(err, script.ErrInUse) {
		status, key, detail = http.StatusConflict, "config.script.in_use", strings.Join(d.UsedBy, ", ")
	}
	d.Errs = &formErrors{Summary: e.t(key), Reason: detail, At: map[string]string{}}
	h.showScript(w, r, e, status, d)
}

func (h *Handler) scriptVersionPage(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.scriptsAvailable(w, r, e) {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		h.renderError(w, r, e, http.StatusNotFound, "error.not_found", "")
		return
	}
	sc, err := h.d.Scripts.Get(ctx, e.u.WorkspaceID, id)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	v, err := h.d.Scripts.Version(ctx, e.u.WorkspaceID, id, n)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d := &versionData{Script: sc, Version: v, By: h.userNames(ctx, e.u)[v.CreatedBy], Lines: gutter(v.Source, "", 0), Current: v.Version == sc.Version}
	h.render(w, r, e, http.StatusOK, "admin_scriptversion", h.newView(r, e, "config.script.version_title", "scripts", d))
}

// lf undoes the CR LF line breaks browsers submit text areas with, so a
// script saved from the editor reads as one saved through the API.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// testFormOf reads the test panel's fields over the defaults.
func testFormOf(r *http.Request, def testForm) testForm {
	f := def
	if v := r.FormValue("test_event"); v == script.EventMessage || v == script.EventCaseCreated {
		f.Event = v
	}
	if _, ok := r.Form["test_text"]; ok {
		f.Text = lf(r.FormValue("test_text"))
	}
	if v := r.FormValue("test_channel"); v != "" {
		f.Channel = v
	}
	f.Point = r.FormValue("test_point")
	if v := r.FormValue("test_day"); v != "" {
		f.Day = v
	}
	if n, err := strconv.Atoi(r.FormValue("test_hour")); err == nil && n >= 0 && n < 24 {
		f.Hour = n
	}
	return f
}

// testScript is a dry run, as POST /api/v1/scripts/{id}/test: the
// editor's source (or the current version) runs on the sample input
// through the script engine; the actions it would take are shown and
// nothing is applied. htmx requests get the result panel alone.
func (h *Handler) testScript(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.scriptsAvailable(w, r, e) {
		return
	}
	if h.d.ScriptEngine == nil {
		h.unavailable(w, r, e)
		return
	}
	ctx := r.Context()
	d, err := h.scriptData(ctx, e, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	if src := lf(r.PostForm.Get("source")); strings.TrimSpace(src) != "" {
		d.Source = src
	}
	d.TestForm = testFormOf(r, d.TestForm)
	tv, err := h.runTest(ctx, e, d.Script.Name, d.Source, d.TestForm)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d.Test = tv
	if r.Header.Get("HX-Request") != "" {
		h.fragment(w, r, e, "admin_script", "config-scripttest", d)
		return
	}
	status := http.StatusOK
	if tv.CompileError != "" {
		status = http.StatusBadRequest
	}
	h.showScript(w, r, e, status, d)
}

func (h *Handler) runTest(ctx context.Context, e *env, name, source string, f testForm) (*testView, error) {
	tv := &testView{At: h.d.Now()}
	prog, err := h.d.ScriptEngine.Compile(name, source)
	if err != nil {
		if _, reason, ok := fieldOf(err); ok {
			tv.CompileError = reason
			return tv, nil
		}
		return nil, err
	}
	in := script.Input{Event: f.Event, Channel: script.Channel{Type: f.Channel},
		Contact: script.Contact{ID: "test-contact", Name: e.t("config.script.test_contact"), Fields: map[string]any{}},
		Case:    script.Case{ID: "test-case", Status: "new", New: f.Event == script.EventCaseCreated, Tags: []string{}, Fields: map[string]any{}}}
	if in.Event == "" {
		in.Event = script.EventMessage
	}
	if f.Text != "" || in.Event == script.EventMessage {
		in.Message = &script.Message{ID: "test-message", Text: f.Text, ContentType: "text", ChoiceOptionIDs: []string{}}
	}
	loc := time.UTC
	if f.Point != "" {
		p, err := h.d.Points.Get(ctx, e.u.WorkspaceID, f.Point)
		if err != nil {
			return nil, err
		}
		in.Channel = script.Channel{Type: p.Type, PointOfContactID: p.ID, Name: p.Name}
		if raw, ok := p.Settings[businessHoursKey]; ok && raw != nil {
			var sch hours.Schedule
			if b, err := json.Marshal(raw); err == nil && json.Unmarshal(b, &sch) == nil && sch.Validate() == nil {
				in.Hours = &sch
				in.Calendar = sch.Calendar()
				loc = in.Calendar.Location()
			}
		}
	}
	in.Now = sampleTime(h.d.Now(), loc, f.Day, f.Hour)
	res := h.d.ScriptEngine.Run(ctx, prog, in)
	tv.Ran, tv.Logs, tv.Steps = true, res.Logs, res.Steps
	tv.Millis = strconv.FormatFloat(float64(res.Duration.Microseconds())/1000, 'f', 2, 64)
	if res.Err != nil {
		tv.Error = res.Err.Error()
		var se *script.Error
		if errors.As(res.Err, &se) {
			tv.Error, tv.Line, tv.Col = se.Msg, se.Line, se.Col
		}
	}
	for _, a := range res.Actions {
		tv.Actions = append(tv.Actions, actionOf(a))
	}
	return tv, nil
}

// sampleTime is the given weekday of the current week (Monday first) at
// the given hour, in the zone of the point of contact's business hours.
func sampleTime(now time.Time, loc *time.Location, day string, hour int) time.Time {
	base := now.In(loc)
	monday := (int(base.Weekday()) + 6) % 7
	target := monday
	for i, k := range hours.WeekdayKeys() {
		if k == day {
			target = i
		}
	}
	d := base.AddDate(0, 0, target-monday)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, loc)
}

// actionOf lists an action's parameters (those its type uses).
func actionOf(a script.Action) actionView {
	v := actionView{Type: a.Type}
	add := func(k, val string) {
		if val != "" {
			v.Params = append(v.Params, paramView{k, val})
		}
	}
	add("skill", a.Skill)
	if a.Type == script.ActionSetPriority {
		add("priority", strconv.Itoa(a.Priority))
	}
	add("tag", a.Tag)
	add("field", a.Field)
	if a.Type == script.ActionSetField {
		b, _ := json.Marshal(a.Value)
		add("value", string(b))
	}
	add("text", a.Text)
	if len(a.Content) > 0 {
		add("content", string(a.Content))
	}
	add("status", a.Status)
	add("agent", a.Agent)
	add("bot", a.Bot)
	add("stop", a.Stop)
	return v
}
