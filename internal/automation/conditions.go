package automation

import (
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// Condition operators.
const (
	OpEq          = "eq"
	OpNe          = "ne"
	OpIn          = "in"
	OpNotIn       = "not_in"
	OpContains    = "contains"
	OpNotContains = "not_contains"
	OpGt          = "gt"
	OpGte         = "gte"
	OpLt          = "lt"
	OpLte         = "lte"
	OpExists      = "exists"
	OpNotExists   = "not_exists"
	OpMatches     = "matches"
)

// maxPatternInsts bounds a compiled regular expression's program. RE2
// matching is linear in the input, but the constant is the program size:
// x{1000}{1000}-style patterns must not be saved.
const maxPatternInsts = 5000

type valueKind int

const (
	kindString valueKind = iota
	kindNumber
	kindBool
	kindTags
	kindAny // a custom field: whatever JSON it holds
)

// opsFor lists the operators that make sense on a kind of value.
func opsFor(k valueKind) []string {
	switch k {
	case kindString:
		return []string{OpEq, OpNe, OpIn, OpNotIn, OpContains, OpNotContains, OpExists, OpNotExists, OpMatches}
	case kindNumber:
		return []string{OpEq, OpNe, OpIn, OpNotIn, OpGt, OpGte, OpLt, OpLte}
	case kindBool:
		return []string{OpEq, OpNe}
	case kindTags:
		return []string{OpContains, OpNotContains, OpIn, OpNotIn, OpExists, OpNotExists, OpMatches}
	}
	return []string{OpEq, OpNe, OpIn, OpNotIn, OpContains, OpNotContains, OpGt, OpGte, OpLt, OpLte, OpExists, OpNotExists, OpMatches}
}

// fieldSource says when a field's value is known.
type fieldSource int

const (
	sourceEvent   fieldSource = iota // with the event; never changes
	sourceMessage                    // the event's message: known once it is read, never changes
	sourceCase                       // the case as it is when the job runs
)

type fieldSpec struct {
	kind     valueKind
	source   fieldSource
	triggers []string // the triggers whose events have the field; nil: all
	enum     []string // the values eq/ne/in/not_in may compare with; nil: any
}

// FieldNames lists the condition fields (case.custom_fields.<name> stands
// for any custom field), for the API's documentation and the rule editor.
func FieldNames() []string {
	return []string{"case.status", "case.channel_type", "case.point_of_contact_id", "case.skill_id", "case.priority", "case.tags",
		"case.assignee_id", "case.subject", "case.custom_fields.<name>", "case.inbound_since_trigger",
		"message.text", "message.direction", "event.from_status", "event.to_status"}
}

func lookupField(name string) (fieldSpec, bool) {
	if custom, ok := strings.CutPrefix(name, "case.custom_fields."); ok {
		return fieldSpec{kind: kindAny, source: sourceCase}, validCustomFieldName(custom)
	}
	switch name {
	case "case.status":
		return fieldSpec{kind: kindString, source: sourceCase, enum: caseStatuses()}, true
	case "case.channel_type", "case.point_of_contact_id", "case.skill_id", "case.assignee_id", "case.subject":
		return fieldSpec{kind: kindString, source: sourceCase}, true
	case "case.priority":
		return fieldSpec{kind: kindNumber, source: sourceCase}, true
	case "case.tags":
		return fieldSpec{kind: kindTags, source: sourceCase}, true
	case "case.inbound_since_trigger":
		return fieldSpec{kind: kindBool, source: sourceCase}, true
	case "message.text":
		return fieldSpec{kind: kindString, source: sourceMessage, triggers: []string{TriggerMessageCreated}}, true
	case "message.direction":
		return fieldSpec{kind: kindString, source: sourceMessage, triggers: []string{TriggerMessageCreated}, enum: []string{"inbound", "outbound"}}, true
	case "event.from_status", "event.to_status":
		return fieldSpec{kind: kindString, source: sourceEvent, triggers: []string{TriggerStatusChanged, TriggerBeforeCaseClosed}, enum: caseStatuses()}, true
	}
	return fieldSpec{}, false
}

// condition is a Condition parsed for evaluation.
type condition struct {
	field string
	spec  fieldSpec
	op    string
	// The compared value, in the form the kind needs: str (lower-cased for
	// contains and for tags), num, boolean, scalar (custom fields), or the
	// list for in/not_in.
	str     string
	num     float64
	boolean bool
	scalar  any
	strs    []string
	nums    []float64
	scalars []any
	re      *regexp.Regexp
}

func compileCondition(field string, c Condition, trigger string) (condition, error) {
	spec, ok := lookupField(c.Field)
	if !ok {
		return condition{}, invalid(field+".field", "unknown field %q (known: %s)", c.Field, strings.Join(FieldNames(), ", "))
	}
	if spec.triggers != nil && !slices.Contains(spec.triggers, trigger) {
		return condition{}, invalid(field+".field", "%s exists only for %s rules", c.Field, strings.Join(spec.triggers, " and "))
	}
	if !slices.Contains(opsFor(spec.kind), c.Op) {
		return condition{}, invalid(field+".op", "%q does not apply to %s (use %s)", c.Op, c.Field, strings.Join(opsFor(spec.kind), ", "))
	}
	cc := condition{field: c.Field, spec: spec, op: c.Op}
	vf := field + ".value"
	var v any
	if len(c.Value) > 0 {
		if err := json.Unmarshal(c.Value, &v); err != nil {
			return condition{}, invalid(vf, "not valid JSON")
		}
	}
	switch c.Op {
	case OpExists, OpNotExists:
		if v != nil {
			return condition{}, invalid(vf, "%s takes no value", c.Op)
		}
	case OpEq, OpNe:
		if err := cc.setScalar(vf, v); err != nil {
			return condition{}, err
		}
	case OpIn, OpNotIn:
		list, ok := v.([]any)
		if !ok || len(list) == 0 || len(list) > MaxListValues {
			return condition{}, invalid(vf, "a list of 1 to %d values", MaxListValues)
		}
		for i, item := range list {
			one := condition{field: cc.field, spec: spec, op: OpEq}
			if err := one.setScalar(fmt.Sprintf("%s[%d]", vf, i), item); err != nil {
				return condition{}, err
			}
			cc.strs = append(cc.strs, one.str)
			cc.nums = append(cc.nums, one.num)
			cc.scalars = append(cc.scalars, one.scalar)
		}
	case OpContains, OpNotContains:
		switch spec.kind {
		case kindAny:
			if err := cc.setScalar(vf, v); err != nil {
				return condition{}, err
			}
		default:
			s, ok := v.(string)
			if !ok || s == "" {
				return condition{}, invalid(vf, "a non-empty string")
			}
			cc.str = strings.ToLower(s)
		}
		if s, ok := cc.scalar.(string); ok {
			cc.str = strings.ToLower(s)
		}
	case OpGt, OpGte, OpLt, OpLte:
		n, ok := v.(float64)
		if !ok {
			return condition{}, invalid(vf, "a number")
		}
		cc.num = n
	case OpMatches:
		s, ok := v.(string)
		if !ok {
			return condition{}, invalid(vf, "a regular expression (RE2 syntax) as a string")
		}
		re, err := compilePattern(s)
		if err != nil {
			return condition{}, invalid(vf, "%v", err)
		}
		cc.re = re
	}
	return cc, nil
}

// setScalar sets the value an eq (or one list item) compares with.
func (c *condition) setScalar(field string, v any) error {
	switch c.spec.kind {
	case kindString, kindTags:
		s, ok := v.(string)
		if !ok {
			return invalid(field, "a string")
		}
		if c.spec.enum != nil && !slices.Contains(c.spec.enum, s) {
			return invalid(field, "one of %s", strings.Join(c.spec.enum, ", "))
		}
		if c.spec.kind == kindTags {
			s = strings.ToLower(strings.TrimSpace(s))
		}
		c.str = s
	case kindNumber:
		n, ok := v.(float64)
		if !ok {
			return invalid(field, "a number")
		}
		c.num = n
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return invalid(field, "true or false")
		}
		c.boolean = b
	case kindAny:
		switch v.(type) {
		case string, float64, bool:
			c.scalar = v
		default:
			return invalid(field, "a string, number or boolean")
		}
	}
	return nil
}

func compilePattern(p string) (*regexp.Regexp, error) {
	if p == "" || len(p) > MaxPatternLen {
		return nil, fmt.Errorf("a pattern of 1 to %d bytes", MaxPatternLen)
	}
	parsed, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("not a valid RE2 regular expression: %v", err)
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, fmt.Errorf("not a valid RE2 regular expression: %v", err)
	}
	if len(prog.Inst) > maxPatternInsts {
		return nil, fmt.Errorf("the pattern is too complex (%d instructions, at most %d)", len(prog.Inst), maxPatternInsts)
	}
	return regexp.Compile(p)
}

// facts are what conditions, placeholders and call_url see: the event and,
// once loaded, the case and the event's message.
type facts struct {
	event         Event
	caseLoaded    bool
	kase          CaseView
	messageLoaded bool
	message       MessageView
}

// CaseView is a case as rules see it, and as call_url sends it.
type CaseView struct {
	ID                  string         `json:"id"`
	Status              string         `json:"status"`
	ChannelType         string         `json:"channel_type"`
	PointOfContactID    string         `json:"point_of_contact_id"`
	SkillID             string         `json:"skill_id,omitempty"`
	Priority            int64          `json:"priority"`
	Tags                []string       `json:"tags"`
	AssigneeID          string         `json:"assignee_id,omitempty"`
	Subject             string         `json:"subject"`
	CustomFields        map[string]any `json:"custom_fields"`
	InboundSinceTrigger bool           `json:"inbound_since_trigger"`
}

// MessageView is the event's message, as call_url sends it.
type MessageView struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	Text      string `json:"text"`
}

// fieldValue is a field's value in the form its kind needs.
type fieldValue struct {
	known   bool
	str     string
	num     float64
	boolean bool
	tags    []string
	raw     any // kindAny: nil when absent
}

func (f *facts) lookup(name string) fieldValue {
	if custom, ok := strings.CutPrefix(name, "case.custom_fields."); ok {
		return fieldValue{known: f.caseLoaded, raw: f.kase.CustomFields[custom]}
	}
	c, m := &f.kase, &f.message
	switch name {
	case "event.from_status":
		return fieldValue{known: true, str: f.event.FromStatus}
	case "event.to_status":
		return fieldValue{known: true, str: f.event.ToStatus}
	case "event.type":
		return fieldValue{known: true, str: f.event.Type}
	case "message.direction":
		if f.event.Direction != "" {
			return fieldValue{known: true, str: f.event.Direction}
		}
		return fieldValue{known: f.messageLoaded, str: m.Direction}
	case "message.text":
		return fieldValue{known: f.messageLoaded, str: m.Text}
	}
	v := fieldValue{known: f.caseLoaded}
	switch name {
	case "case.id":
		v.str = c.ID
	case "case.status":
		v.str = c.Status
	case "case.channel_type":
		v.str = c.ChannelType
	case "case.point_of_contact_id":
		v.str = c.PointOfContactID
	case "case.skill_id":
		v.str = c.SkillID
	case "case.assignee_id":
		v.str = c.AssigneeID
	case "case.subject":
		v.str = c.Subject
	case "case.priority":
		v.num = float64(c.Priority)
	case "case.tags":
		v.tags = c.Tags
	case "case.inbound_since_trigger":
		v.boolean = c.InboundSinceTrigger
	default:
		v.known = false
	}
	return v
}

// eval evaluates the condition; known is false when it depends on what
// has not been loaded (the case, at enqueue time).
func (c *condition) eval(f *facts) (result, known bool) {
	v := f.lookup(c.field)
	if !v.known {
		return false, false
	}
	switch c.spec.kind {
	case kindString:
		return c.evalString(v.str), true
	case kindNumber:
		return c.evalNumber(v.num), true
	case kindBool:
		return (v.boolean == c.boolean) == (c.op == OpEq), true
	case kindTags:
		return c.evalTags(v.tags), true
	}
	return c.evalAny(v.raw), true
}

func (c *condition) evalString(s string) bool {
	switch c.op {
	case OpEq:
		return s == c.str
	case OpNe:
		return s != c.str
	case OpIn:
		return slices.Contains(c.strs, s)
	case OpNotIn:
		return !slices.Contains(c.strs, s)
	case OpContains:
		return strings.Contains(strings.ToLower(s), c.str)
	case OpNotContains:
		return !strings.Contains(strings.ToLower(s), c.str)
	case OpExists:
		return s != ""
	case OpNotExists:
		return s == ""
	case OpMatches:
		return c.re.MatchString(s)
	}
	return false
}

func (c *condition) evalNumber(n float64) bool {
	switch c.op {
	case OpEq:
		return n == c.num
	case OpNe:
		return n != c.num
	case OpIn:
		return slices.Contains(c.nums, n)
	case OpNotIn:
		return !slices.Contains(c.nums, n)
	case OpGt:
		return n > c.num
	case OpGte:
		return n >= c.num
	case OpLt:
		return n < c.num
	case OpLte:
		return n <= c.num
	}
	return false
}

func (c *condition) evalTags(tags []string) bool {
	has := func(t string) bool {
		return slices.ContainsFunc(tags, func(x string) bool { return strings.EqualFold(x, t) })
	}
	switch c.op {
	case OpContains:
		return has(c.str)
	case OpNotContains:
		return !has(c.str)
	case OpIn:
		return slices.ContainsFunc(c.strs, has)
	case OpNotIn:
		return !slices.ContainsFunc(c.strs, has)
	case OpExists:
		return len(tags) > 0
	case OpNotExists:
		return len(tags) == 0
	case OpMatches:
		return slices.ContainsFunc(tags, c.re.MatchString)
	}
	return false
}

// evalAny compares a custom field's JSON value. Numbers compare with
// numeric strings too: custom fields filled in from forms often hold "42".
func (c *condition) evalAny(v any) bool {
	switch c.op {
	case OpExists:
		return v != nil
	case OpNotExists:
		return v == nil
	case OpEq:
		return scalarEqual(v, c.scalar)
	case OpNe:
		return !scalarEqual(v, c.scalar)
	case OpIn:
		return slices.ContainsFunc(c.scalars, func(s any) bool { return scalarEqual(v, s) })
	case OpNotIn:
		return !slices.ContainsFunc(c.scalars, func(s any) bool { return scalarEqual(v, s) })
	case OpContains:
		return anyContains(v, c.scalar)
	case OpNotContains:
		return !anyContains(v, c.scalar)
	case OpGt, OpGte, OpLt, OpLte:
		n, ok := toNumber(v)
		return ok && c.evalNumber(n)
	case OpMatches:
		s, ok := textOf(v)
		return ok && c.re.MatchString(s)
	}
	return false
}

func scalarEqual(v, want any) bool {
	switch w := want.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == w
	case float64:
		n, ok := toNumber(v)
		return ok && n == w
	case bool:
		b, ok := v.(bool)
		return ok && b == w
	}
	return false
}

// anyContains: a string contains the value's text (case-insensitively); a
// list contains it as an element.
func anyContains(v, want any) bool {
	switch x := v.(type) {
	case string:
		w, _ := textOf(want)
		return strings.Contains(strings.ToLower(x), strings.ToLower(w))
	case []any:
		return slices.ContainsFunc(x, func(e any) bool {
			if es, ok := e.(string); ok {
				if ws, ok := want.(string); ok {
					return strings.EqualFold(es, ws)
				}
			}
			return scalarEqual(e, want)
		})
	}
	return false
}

func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return n, err == nil
	}
	return 0, false
}

// textOf is a scalar's text: strings as they are, numbers and booleans as
// JSON writes them.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// match evaluates the rule's condition sets: AND inside a set, OR between
// sets, no sets means always. With partial facts (the case not loaded) a
// condition that cannot be evaluated counts as true, so the answer is "may
// match"; with full facts it is exact.
func (r *compiledRule) match(f *facts) bool {
	if len(r.sets) == 0 {
		return true
	}
	for _, set := range r.sets {
		ok := true
		for i := range set {
			if res, known := set[i].eval(f); known && !res {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// needsMessageText reports whether evaluating the rule needs the event's
// message to be read (for its text).
func (r *compiledRule) needsMessageText() bool {
	for _, set := range r.sets {
		for _, c := range set {
			if c.field == "message.text" {
				return true
			}
		}
	}
	return false
}
