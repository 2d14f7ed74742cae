package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/automation"
	"github.com/parleyhq/parley/internal/routing"
)

// ---- Automation rules ----
//
// A rule is edited with a structured form for the common cases (trigger,
// condition rows grouped into AND sets that are ORed, a delay, action rows
// with their parameters) and, for everything else, as its JSON document.
// Both go through the engine's CreateRule/UpdateRule, which validate the
// rule and name the field that is wrong.

type ruleRow struct {
	automation.Rule
	Pending int
	Delay   string // "" when the rule acts at once
}

type condRow struct {
	Set              int // 1-based condition set: AND inside a set, OR between sets
	Field, Op, Value string
	Err              string
}

type actionRow struct {
	Type, Tags, Status, Priority, Field, Value, Skill, Text, To, Subject, Body, URL string
	Err                                                                             string
}

type ruleForm struct {
	Name                         string
	Enabled                      bool
	Trigger, From, To, Direction string
	Delay, Unit                  string
	Conditions                   []condRow
	Actions                      []actionRow
	HasSecret                    bool
}

type ruleData struct {
	Rule       *automation.Rule // nil for a new rule
	Form       ruleForm
	Structured bool // the structured form can show this rule
	JSON       string
	Errs       *formErrors // the structured form's
	JSONErrs   *formErrors // the JSON editor's
	JSONOpen   bool
	Checked    bool // the JSON document was checked and is valid
	Pending    int

	Triggers, Statuses, Settable, Ops, Fields, ActionTypes, Units []string
	Skills                                                        []routing.Skill
	Sets                                                          []int
}

// Rows the form adds past a rule's own, for new conditions and actions.
const (
	newConditionRows = 2
	newActionRows    = 2
)

func ruleTriggers() []string {
	return []string{automation.TriggerCaseCreated, automation.TriggerStatusChanged, automation.TriggerMessageCreated,
		automation.TriggerAssigneeChanged, automation.TriggerBeforeCaseClosed}
}

func ruleActionTypes() []string {
	return []string{automation.ActionAddTag, automation.ActionRemoveTag, automation.ActionSetStatus, automation.ActionSetPriority,
		automation.ActionSetField, automation.ActionReroute, automation.ActionSendMessage, automation.ActionNotifyEmail, automation.ActionCallURL}
}

func ruleOps() []string {
	return []string{automation.OpEq, automation.OpNe, automation.OpIn, automation.OpNotIn, automation.OpContains, automation.OpNotContains,
		automation.OpGt, automation.OpGte, automation.OpLt, automation.OpLte, automation.OpExists, automation.OpNotExists, automation.OpMatches}
}

// ruleFields are the condition fields offered; a custom field is typed
// after its prefix.
func ruleFields() []string {
	var out []string
	for _, f := range automation.FieldNames() {
		out = append(out, strings.TrimSuffix(f, "<name>"))
	}
	return out
}

var delayUnits = []struct {
	name    string
	seconds int64
}{{"days", 86400}, {"hours", 3600}, {"minutes", 60}, {"seconds", 1}}

func (h *Handler) automationAvailable(w http.ResponseWriter, r *http.Request, e *env) bool {
	if h.d.Automation == nil {
		h.unavailable(w, r, e)
		return false
	}
	return true
}

// pendingJobs counts each rule's jobs waiting to run.
func (h *Handler) pendingJobs(ctx context.Context, workspaceID string) (map[string]int, error) {
	return h.d.Automation.PendingJobsByRule(ctx, workspaceID)
}

func (h *Handler) rulesPage(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.automationAvailable(w, r, e) {
		return
	}
	ctx := r.Context()
	rs, err := h.d.Automation.ListRules(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	pending, err := h.pendingJobs(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	var rows []ruleRow
	for _, rule := range rs {
		row := ruleRow{Rule: rule, Pending: pending[rule.ID]}
		if rule.DelaySeconds > 0 {
			row.Delay = humanDuration(e.cat, float64(rule.DelaySeconds))
		}
		rows = append(rows, row)
	}
	v := h.newView(r, e, "config.rule.list_title", "automation", map[string]any{"Rules": rows})
	if r.URL.Query().Get("deleted") == "1" {
		v.Notice = e.t("config.rule.deleted")
	}
	h.render(w, r, e, http.StatusOK, "admin_automation", v)
}

// delayOf writes seconds in the largest unit that divides them.
func delayOf(sec int64) (string, string) {
	if sec == 0 {
		return "0", "minutes"
	}
	for _, u := range delayUnits {
		if sec%u.seconds == 0 {
			return strconv.FormatInt(sec/u.seconds, 10), u.name
		}
	}
	return strconv.FormatInt(sec, 10), "seconds"
}

func isCustomField(field string) bool { return strings.HasPrefix(field, "case.custom_fields.") }

// scalarText shows one compared value: text as typed; a custom field's
// text that would read as JSON is quoted, so it stays text when saved.
func scalarText(field string, v any) string {
	if s, ok := v.(string); ok {
		if isCustomField(field) && json.Valid([]byte(s)) {
			q, _ := json.Marshal(s)
			return string(q)
		}
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// conditionText shows a condition's value in the form; false when the
// form cannot show it faithfully (a list item holding a comma).
func conditionText(c automation.Condition) (string, bool) {
	if len(c.Value) == 0 {
		return "", true
	}
	var v any
	if json.Unmarshal(c.Value, &v) != nil {
		return "", false
	}
	if list, ok := v.([]any); ok && (c.Op == automation.OpIn || c.Op == automation.OpNotIn) {
		parts := make([]string, 0, len(list))
		for _, item := range list {
			t := scalarText(c.Field, item)
			if strings.Contains(t, ",") {
				return "", false
			}
			parts = append(parts, t)
		}
		return strings.Join(parts, ", "), true
	}
	if _, ok := v.(map[string]any); ok {
		return "", false
	}
	if _, ok := v.([]any); ok {
		return "", false
	}
	return scalarText(c.Field, v), true
}

// scalarValue reads one typed value as the field's kind wants it.
func scalarValue(field, text string) any {
	switch field {
	case "case.priority":
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	case "case.inbound_since_trigger":
		if b, err := strconv.ParseBool(text); err == nil {
			return b
		}
	}
	if isCustomField(field) {
		var v any
		if json.Unmarshal([]byte(text), &v) == nil {
			return v
		}
	}
	return text
}

// conditionValue turns a typed value into the condition's JSON value; the
// engine then checks it against the field and operator.
func conditionValue(field, op, text string) json.RawMessage {
	text = strings.TrimSpace(text)
	var v any
	switch op {
	case automation.OpExists, automation.OpNotExists:
		return nil
	case automation.OpIn, automation.OpNotIn:
		list := []any{}
		for _, part := range strings.Split(text, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, scalarValue(field, part))
			}
		}
		v = list
	case automation.OpGt, automation.OpGte, automation.OpLt, automation.OpLte:
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			v = f
		} else {
			v = text
		}
	case automation.OpMatches:
		v = text
	case automation.OpContains, automation.OpNotContains:
		v = text
		if isCustomField(field) {
			v = scalarValue(field, text)
		}
	default:
		v = scalarValue(field, text)
	}
	b, _ := json.Marshal(v)
	return b
}

// fieldValueText shows a set_field value: text as is unless it would read
// as JSON, other values as JSON.
func fieldValueText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && !json.Valid([]byte(s)) {
		return s
	}
	return string(raw)
}

// fieldValue reads a typed set_field value: JSON when it is JSON, else
// text; empty removes the field (JSON null).
func fieldValue(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	if t == "" {
		return json.RawMessage("null")
	}
	if json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(text)
	return b
}

// formOfRule shows a stored rule in the structured form; false when the
// form cannot show all of it (rich content, unusual values).
func formOfRule(rule automation.Rule) (ruleForm, bool) {
	f := ruleForm{Name: rule.Name, Enabled: rule.Enabled, Trigger: rule.Trigger.Type, From: rule.Trigger.From, To: rule.Trigger.To,
		Direction: rule.Trigger.Direction, HasSecret: rule.HasSecret}
	f.Delay, f.Unit = delayOf(rule.DelaySeconds)
	ok := true
	for i, set := range rule.Conditions {
		for _, c := range set {
			text, shown := conditionText(c)
			ok = ok && shown
			f.Conditions = append(f.Conditions, condRow{Set: i + 1, Field: c.Field, Op: c.Op, Value: text})
		}
	}
	for _, a := range rule.Actions {
		row := actionRow{Type: a.Type, Tags: strings.Join(a.Tags, ", "), Status: a.Status, Field: a.Field, Value: fieldValueText(a.Value),
			Skill: a.SkillID, Text: a.Text, To: strings.Join(a.To, ", "), Subject: a.Subject, Body: a.Body, URL: a.URL}
		if a.Priority != nil {
			row.Priority = strconv.Itoa(*a.Priority)
		}
		if len(a.Content) > 0 {
			ok = false
		}
		f.Actions = append(f.Actions, row)
	}
	return f, ok
}

// padRows adds the empty rows for new conditions and actions.
func (f *ruleForm) padRows() {
	set := 1
	if n := len(f.Conditions); n > 0 {
		set = f.Conditions[n-1].Set
	}
	for range newConditionRows {
		f.Conditions = append(f.Conditions, condRow{Set: set, Op: automation.OpEq})
	}
	for range newActionRows {
		f.Actions = append(f.Actions, actionRow{})
	}
}

// ruleDocument is the JSON editor's document: the rule as the API takes
// it, without the write-only secret unless one is being set.
type ruleDocument struct {
	Name         string                   `json:"name"`
	Enabled      *bool                    `json:"enabled"`
	Trigger      automation.Trigger       `json:"trigger"`
	Conditions   [][]automation.Condition `json:"conditions"`
	DelaySeconds int64                    `json:"delay_seconds"`
	Actions      []automation.Action      `json:"actions"`
}

func documentOf(rule automation.Rule) string {
	enabled := rule.Enabled
	doc := ruleDocument{Name: rule.Name, Enabled: &enabled, Trigger: rule.Trigger, Conditions: rule.Conditions, DelaySeconds: rule.DelaySeconds, Actions: rule.Actions}
	if doc.Conditions == nil {
		doc.Conditions = [][]automation.Condition{}
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b)
}

func (h *Handler) ruleData(ctx context.Context, e *env, rule *automation.Rule) (*ruleData, error) {
	sk, err := h.d.Skills.List(ctx, e.u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	d := &ruleData{Rule: rule, Structured: true, Triggers: ruleTriggers(), Ops: ruleOps(), Fields: ruleFields(), ActionTypes: ruleActionTypes(), Skills: sk,
		Statuses: []string{"new", "open", "pending", "escalated", "resolved", "closed", "trashed"},
		Settable: []string{"open", "pending", "escalated", "resolved", "closed"}}
	for _, u := range delayUnits {
		d.Units = append(d.Units, u.name)
	}
	if rule == nil {
		d.Form = ruleForm{Enabled: true, Trigger: automation.TriggerCaseCreated, Delay: "0", Unit: "minutes"}
		d.JSON = documentOf(automation.Rule{Enabled: true, Trigger: automation.Trigger{Type: automation.TriggerCaseCreated},
			Actions: []automation.Action{{Type: automation.ActionAddTag, Tags: []string{"example"}}}})
	} else {
		d.Form, d.Structured = formOfRule(*rule)
		d.JSON = documentOf(*rule)
		pending, err := h.pendingJobs(ctx, e.u.WorkspaceID)
		if err != nil {
			return nil, err
		}
		d.Pending = pending[rule.ID]
	}
	d.Form.padRows()
	return d, nil
}

func (h *Handler) showRule(w http.ResponseWriter, r *http.Request, e *env, status int, d *ruleData) {
	n := 1
	for _, c := range d.Form.Conditions {
		n = max(n, c.Set)
	}
	for i := 1; i <= min(n+1, automation.MaxConditionSets); i++ {
		d.Sets = append(d.Sets, i)
	}
	title := "config.rule.new_title"
	if d.Rule != nil {
		title = "config.rule.title"
	}
	v := h.newView(r, e, title, "automation", d)
	if r.URL.Query().Get("saved") == "1" && status == http.StatusOK {
		v.Notice = e.t("config.rule.saved")
	}
	h.render(w, r, e, status, "admin_rule", v)
}

func (h *Handler) newRulePage(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.automationAvailable(w, r, e) {
		return
	}
	d, err := h.ruleData(r.Context(), e, nil)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.showRule(w, r, e, http.StatusOK, d)
}

func (h *Handler) rulePage(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.automationAvailable(w, r, e) {
		return
	}
	ctx := r.Context()
	rule, err := h.d.Automation.GetRule(ctx, e.u.WorkspaceID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d, err := h.ruleData(ctx, e, &rule)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	h.showRule(w, r, e, http.StatusOK, d)
}

// ruleFromForm reads the structured form: the form as typed, the rule
// input, and where each condition and action of the input came from
// (form row indexes), to put the engine's errors next to their rows.
func ruleFromForm(r *http.Request, e *env) (ruleForm, automation.RuleInput, map[[2]int]int, []int, error) {
	pf := r.PostForm
	f := ruleForm{Name: pf.Get("name"), Enabled: pf.Get("enabled") == "1", Trigger: pf.Get("trigger"), From: pf.Get("trigger_from"),
		To: pf.Get("trigger_to"), Direction: pf.Get("trigger_direction"), Delay: strings.TrimSpace(pf.Get("delay")), Unit: pf.Get("delay_unit")}
	enabled := f.Enabled
	in := automation.RuleInput{Name: f.Name, Enabled: &enabled, Trigger: automation.Trigger{Type: f.Trigger}, Conditions: [][]automation.Condition{}}
	// The trigger's narrowing fields the form hides for other triggers
	// are still posted: only those of the chosen trigger count, as for
	// actions' parameters.
	switch f.Trigger {
	case automation.TriggerStatusChanged:
		in.Trigger.From, in.Trigger.To = f.From, f.To
	case automation.TriggerMessageCreated:
		in.Trigger.Direction = f.Direction
	}
	var firstErr error
	fail := func(field, reason string) {
		if firstErr == nil {
			firstErr = &invalidField{field, reason}
		}
	}
	if f.Delay != "" && f.Delay != "0" {
		n, err := strconv.ParseInt(f.Delay, 10, 64)
		unit := int64(0)
		for _, u := range delayUnits {
			if u.name == f.Unit {
				unit = u.seconds
			}
		}
		if err != nil || n < 0 || unit == 0 {
			fail("delay_seconds", e.t("config.rule.err_delay"))
		} else {
			in.DelaySeconds = n * unit
		}
	}
	bySet := map[int][]int{}
	for i := 0; i < 200; i++ {
		n := strconv.Itoa(i)
		if _, ok := pf["cond_field_"+n]; !ok {
			break
		}
		set, _ := strconv.Atoi(pf.Get("cond_set_" + n))
		row := condRow{Set: max(set, 1), Field: strings.TrimSpace(pf.Get("cond_field_" + n)), Op: pf.Get("cond_op_" + n), Value: pf.Get("cond_value_" + n)}
		f.Conditions = append(f.Conditions, row)
		if row.Field == "" {
			continue
		}
		bySet[row.Set] = append(bySet[row.Set], i)
	}
	sets := make([]int, 0, len(bySet))
	for s := range bySet {
		sets = append(sets, s)
	}
	sort.Ints(sets)
	condRowOf := map[[2]int]int{}
	for si, s := range sets {
		var set []automation.Condition
		for ci, row := range bySet[s] {
			c := f.Conditions[row]
			set = append(set, automation.Condition{Field: c.Field, Op: c.Op, Value: conditionValue(c.Field, c.Op, c.Value)})
			condRowOf[[2]int{si, ci}] = row
		}
		in.Conditions = append(in.Conditions, set)
	}
	var actRowOf []int
	for i := 0; i < 100; i++ {
		n := strconv.Itoa(i)
		if _, ok := pf["act_type_"+n]; !ok {
			break
		}
		row := actionRow{Type: pf.Get("act_type_" + n), Tags: pf.Get("act_tags_" + n), Status: pf.Get("act_status_" + n), Priority: strings.TrimSpace(pf.Get("act_priority_" + n)),
			Field: pf.Get("act_field_" + n), Value: pf.Get("act_value_" + n), Skill: pf.Get("act_skill_" + n), Text: lf(pf.Get("act_text_" + n)),
			To: pf.Get("act_to_" + n), Subject: pf.Get("act_subject_" + n), Body: lf(pf.Get("act_body_" + n)), URL: pf.Get("act_url_" + n)}
		f.Actions = append(f.Actions, row)
		if row.Type == "" {
			continue
		}
		field := "actions[" + strconv.Itoa(len(in.Actions)) + "]"
		a := automation.Action{Type: row.Type}
		switch row.Type {
		case automation.ActionAddTag, automation.ActionRemoveTag:
			a.Tags = splitList(row.Tags)
		case automation.ActionSetStatus:
			a.Status = row.Status
		case automation.ActionSetPriority:
			p, err := strconv.Atoi(row.Priority)
			if err != nil {
				fail(field+".priority", e.t("config.rule.err_priority"))
			}
			a.Priority = &p
		case automation.ActionSetField:
			a.Field, a.Value = strings.TrimSpace(row.Field), fieldValue(row.Value)
		case automation.ActionReroute:
			a.SkillID = row.Skill
		case automation.ActionSendMessage:
			a.Text = row.Text
		case automation.ActionNotifyEmail:
			a.To, a.Subject, a.Body = splitList(row.To), row.Subject, row.Body
		case automation.ActionCallURL:
			a.URL = row.URL
		}
		in.Actions = append(in.Actions, a)
		actRowOf = append(actRowOf, i)
	}
	if s := pf.Get("secret"); s != "" {
		in.Secret = &s
	} else if pf.Get("secret_remove") == "1" {
		empty := ""
		in.Secret = &empty
	}
	return f, in, condRowOf, actRowOf, firstErr
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

var (
	conditionPath = regexp.MustCompile(`^conditions\[(\d+)\]\[(\d+)\]`)
	actionPath    = regexp.MustCompile(`^actions\[(\d+)\]`)
)

// ruleControl maps the engine's field ("conditions[1][0].value") to the
// form's row or control.
func ruleControl(condRowOf map[[2]int]int, actRowOf []int) func(string) string {
	return func(field string) string {
		if m := conditionPath.FindStringSubmatch(field); m != nil {
			i, _ := strconv.Atoi(m[1])
			j, _ := strconv.Atoi(m[2])
			if row, ok := condRowOf[[2]int{i, j}]; ok {
				return "cond_" + strconv.Itoa(row)
			}
		}
		if m := actionPath.FindStringSubmatch(field); m != nil {
			i, _ := strconv.Atoi(m[1])
			if i < len(actRowOf) {
				return "act_" + strconv.Itoa(actRowOf[i])
			}
		}
		switch {
		case strings.HasPrefix(field, "trigger"):
			return "trigger"
		case field == "delay_seconds":
			return "delay"
		}
		return field
	}
}

// jsonPosition is where a JSON decoding error is, as line:col.
func jsonPosition(doc string, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(doc)) {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	before := doc[:off]
	line := strings.Count(before, "\n") + 1
	col := int(off) - strings.LastIndex(before, "\n")
	return "line " + strconv.Itoa(line) + ":" + strconv.Itoa(col) + ": " + strings.TrimPrefix(err.Error(), "json: ")
}

// ruleFromJSON reads the JSON editor's document strictly (an unknown
// field is an error, not ignored).
func ruleFromJSON(doc string) (automation.RuleInput, error) {
	var in automation.RuleInput
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, &invalidField{"json", jsonPosition(doc, err)}
	}
	if dec.More() {
		return in, &invalidField{"json", "one JSON object only"}
	}
	return in, nil
}

func (h *Handler) createRule(w http.ResponseWriter, r *http.Request, e *env) {
	h.saveRule(w, r, e, "")
}

func (h *Handler) updateRule(w http.ResponseWriter, r *http.Request, e *env) {
	h.saveRule(w, r, e, r.PathValue("id"))
}

// saveRule creates (id "") or replaces a rule from the structured form or
// the JSON editor (mode=json; with check=1 the document is only
// validated by the engine), as POST and PUT /api/v1/automation/rules do
// (admins only).
func (h *Handler) saveRule(w http.ResponseWriter, r *http.Request, e *env, id string) {
	if !h.automationAvailable(w, r, e) {
		return
	}
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	var current *automation.Rule
	if id != "" {
		rule, err := h.d.Automation.GetRule(ctx, e.u.WorkspaceID, id)
		if err != nil {
			h.fail(w, r, e, err)
			return
		}
		current = &rule
	}
	d, err := h.ruleData(ctx, e, current)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	var (
		in        automation.RuleInput
		form      ruleForm
		condRowOf map[[2]int]int
		actRowOf  []int
	)
	jsonMode := r.PostForm.Get("mode") == "json"
	if jsonMode {
		d.JSON, d.JSONOpen = r.PostForm.Get("document"), true
		in, err = ruleFromJSON(d.JSON)
		if err == nil && r.PostForm.Get("check") == "1" {
			if err = automation.Validate(in); err == nil {
				d.Checked = true
				h.showRule(w, r, e, http.StatusOK, d)
				return
			}
		}
	} else {
		form, in, condRowOf, actRowOf, err = ruleFromForm(r, e)
	}
	var saved automation.Rule
	if err == nil {
		if id == "" {
			saved, err = h.d.Automation.CreateRule(ctx, e.u.WorkspaceID, e.u.ID, in)
		} else {
			saved, err = h.d.Automation.UpdateRule(ctx, e.u.WorkspaceID, e.u.ID, id, in)
		}
	}
	if err != nil {
		if jsonMode {
			status, errs := h.formError(r, e, err, nil)
			d.JSONErrs = errs
			h.showRule(w, r, e, status, d)
			return
		}
		status, errs := h.formError(r, e, err, ruleControl(condRowOf, actRowOf))
		for i := range form.Conditions {
			form.Conditions[i].Err = errs.At["cond_"+strconv.Itoa(i)]
		}
		for i := range form.Actions {
			form.Actions[i].Err = errs.At["act_"+strconv.Itoa(i)]
		}
		form.HasSecret = d.Form.HasSecret
		d.Form, d.Errs, d.Structured = form, errs, true
		h.showRule(w, r, e, status, d)
		return
	}
	http.Redirect(w, r, h.p("admin", "automation", saved.ID)+"?saved=1", http.StatusSeeOther)
}

func (h *Handler) enableRule(w http.ResponseWriter, r *http.Request, e *env) {
	h.toggleRule(w, r, e, true)
}

func (h *Handler) disableRule(w http.ResponseWriter, r *http.Request, e *env) {
	h.toggleRule(w, r, e, false)
}

// toggleRule turns a rule on or off (as PUT /api/v1/automation/rules/{id}
// with enabled does) and goes back where it was asked from.
func (h *Handler) toggleRule(w http.ResponseWriter, r *http.Request, e *env, on bool) {
	if !h.automationAvailable(w, r, e) {
		return
	}
	var err error
	if on {
		err = h.d.Automation.EnableRule(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id"))
	} else {
		err = h.d.Automation.DisableRule(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id"))
	}
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	next := h.p("admin", "automation")
	if n := r.FormValue("next"); n != "" {
		next = h.localPath(n)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) deleteRule(w http.ResponseWriter, r *http.Request, e *env) {
	if !h.automationAvailable(w, r, e) {
		return
	}
	if err := h.d.Automation.DeleteRule(r.Context(), e.u.WorkspaceID, e.u.ID, r.PathValue("id")); err != nil {
		h.fail(w, r, e, err)
		return
	}
	http.Redirect(w, r, h.p("admin", "automation")+"?deleted=1", http.StatusSeeOther)
}
