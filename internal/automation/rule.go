package automation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/content"
)

// Trigger types.
const (
	TriggerCaseCreated      = "case_created"
	TriggerStatusChanged    = "status_changed"
	TriggerMessageCreated   = "message_created"
	TriggerAssigneeChanged  = "assignee_changed"
	TriggerBeforeCaseClosed = "before_case_closed"
)

// Action types.
const (
	ActionAddTag      = "add_tag"
	ActionRemoveTag   = "remove_tag"
	ActionSetStatus   = "set_status"
	ActionSetPriority = "set_priority"
	ActionSetField    = "set_field"
	ActionReroute     = "reroute"
	ActionSendMessage = "send_message"
	ActionNotifyEmail = "notify_email"
	ActionCallURL     = "call_url"
)

// Limits on what a rule may hold, so that evaluating a workspace's rules on
// every event stays cheap and a stored rule stays readable.
const (
	MaxDelay             = 90 * 24 * time.Hour
	MaxNameLen           = 100
	MaxConditionSets     = 10
	MaxConditionsPerSet  = 20
	MaxListValues        = 100
	MaxPatternLen        = 512
	MaxActions           = 20
	MaxTagsPerAction     = 20
	MaxRecipients        = 20
	MaxSubjectLen        = 200
	MaxBodyLen           = 20000
	MaxURLLen            = 2048
	MaxSecretLen         = 256
	MaxFieldValueBytes   = 4096
	MaxRulesPerWorkspace = 500
)

// Trigger says which events a rule listens to.
type Trigger struct {
	Type string `json:"type"`
	// From and To narrow status_changed to changes from and/or to a status.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Direction narrows message_created to inbound or outbound messages.
	Direction string `json:"direction,omitempty"`
}

// Condition compares a field of the case, message or event with a value.
type Condition struct {
	Field string          `json:"field"`
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value,omitempty"`
}

// Action is one thing a rule does. Which fields apply depends on Type;
// setting a field another type uses is refused, not ignored.
type Action struct {
	Type string `json:"type"`
	// add_tag, remove_tag.
	Tags []string `json:"tags,omitempty"`
	// set_status.
	Status string `json:"status,omitempty"`
	// set_priority (0–100).
	Priority *int `json:"priority,omitempty"`
	// set_field: a custom field's name and its new value (JSON null removes it).
	Field string          `json:"field,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
	// reroute.
	SkillID string `json:"skill_id,omitempty"`
	// send_message: text, or canonical rich content (RICH_CONTENT.md).
	Text    string          `json:"text,omitempty"`
	Content json.RawMessage `json:"content,omitempty"`
	// notify_email.
	To      []string `json:"to,omitempty"`
	Subject string   `json:"subject,omitempty"`
	Body    string   `json:"body,omitempty"`
	// call_url: POSTed the case and the event as JSON.
	URL string `json:"url,omitempty"`
}

// Rule is a stored rule. Its call_url secret is never shown, only whether
// there is one.
type Rule struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Enabled      bool          `json:"enabled"`
	Trigger      Trigger       `json:"trigger"`
	Conditions   [][]Condition `json:"conditions"`
	DelaySeconds int64         `json:"delay_seconds"`
	Actions      []Action      `json:"actions"`
	HasSecret    bool          `json:"has_secret"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// RuleInput is what Create and Update accept.
type RuleInput struct {
	Name string `json:"name"`
	// Enabled defaults to true on Create; nil keeps it on Update.
	Enabled      *bool         `json:"enabled"`
	Trigger      Trigger       `json:"trigger"`
	Conditions   [][]Condition `json:"conditions"`
	DelaySeconds int64         `json:"delay_seconds"`
	Actions      []Action      `json:"actions"`
	// Secret signs call_url requests. nil keeps the stored one on Update;
	// "" removes it.
	Secret *string `json:"secret"`
}

// ValidationError names the part of a rule that is wrong ("trigger.to",
// "conditions[1][0].value", "actions[2].url") and why.
type ValidationError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *ValidationError) Error() string { return "automation: " + e.Field + ": " + e.Reason }

// FieldName and FieldReason let the HTTP layer answer 400 without
// depending on this package.
func (e *ValidationError) FieldName() string   { return e.Field }
func (e *ValidationError) FieldReason() string { return e.Reason }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// caseStatuses are the inbox's case statuses (DESIGN.md).
func caseStatuses() []string {
	return []string{"new", "open", "pending", "escalated", "resolved", "closed", "trashed"}
}

// settableStatuses are those a rule may set: trashing is for agents only,
// and "new" means no agent has replied, which a rule cannot make true.
func settableStatuses() []string {
	return []string{"open", "pending", "escalated", "resolved", "closed"}
}

func triggerTypes() []string {
	return []string{TriggerCaseCreated, TriggerStatusChanged, TriggerMessageCreated, TriggerAssigneeChanged, TriggerBeforeCaseClosed}
}

// compiledRule is a rule ready to evaluate: conditions parsed and typed,
// regular expressions compiled, the secret opened.
type compiledRule struct {
	Rule
	secret []byte
	sets   [][]condition
}

// matchesEvent reports whether the rule's trigger selects the event.
func (r *compiledRule) matchesEvent(ev Event) bool {
	t := r.Trigger
	if t.Type != ev.Type {
		return false
	}
	switch t.Type {
	case TriggerStatusChanged:
		return (t.From == "" || t.From == ev.FromStatus) && (t.To == "" || t.To == ev.ToStatus)
	case TriggerMessageCreated:
		return t.Direction == "" || t.Direction == ev.Direction
	}
	return true
}

// delay is the rule's delay as a duration.
func (r *compiledRule) delay() time.Duration { return time.Duration(r.DelaySeconds) * time.Second }

// normalise trims what can be trimmed, so stored rules are canonical. It
// copies what it changes: the caller's slices stay as they were.
func (in *RuleInput) normalise() {
	in.Name = strings.TrimSpace(in.Name)
	in.Trigger.Type = strings.TrimSpace(in.Trigger.Type)
	in.Actions = slices.Clone(in.Actions)
	for i := range in.Actions {
		a := &in.Actions[i]
		a.Tags, a.To = slices.Clone(a.Tags), slices.Clone(a.To)
		a.Type = strings.TrimSpace(a.Type)
		for j, t := range a.Tags {
			a.Tags[j] = strings.ToLower(strings.TrimSpace(t))
		}
		for j, to := range a.To {
			a.To[j] = strings.TrimSpace(to)
		}
		a.URL = strings.TrimSpace(a.URL)
		a.Field = strings.TrimSpace(a.Field)
	}
	if in.Conditions == nil {
		in.Conditions = [][]Condition{}
	}
}

// compile validates a rule and prepares it for evaluation. Checks that need
// the database (the skill of a reroute exists) are the store's.
func compile(r Rule, secret []byte) (*compiledRule, error) {
	if r.Name == "" || utf8.RuneCountInString(r.Name) > MaxNameLen || strings.IndexFunc(r.Name, unicode.IsControl) >= 0 {
		return nil, invalid("name", "1 to %d characters, no control characters", MaxNameLen)
	}
	if len(secret) > MaxSecretLen {
		return nil, invalid("secret", "at most %d bytes", MaxSecretLen)
	}
	if err := checkTrigger(r.Trigger); err != nil {
		return nil, err
	}
	if r.DelaySeconds < 0 || time.Duration(r.DelaySeconds)*time.Second > MaxDelay {
		return nil, invalid("delay_seconds", "0 to %d (90 days)", int64(MaxDelay/time.Second))
	}
	if r.Trigger.Type == TriggerBeforeCaseClosed && r.DelaySeconds != 0 {
		return nil, invalid("delay_seconds", "before_case_closed rules run while the case closes; they cannot be delayed")
	}
	cr := &compiledRule{Rule: r, secret: secret}
	if len(r.Conditions) > MaxConditionSets {
		return nil, invalid("conditions", "at most %d condition sets", MaxConditionSets)
	}
	for i, set := range r.Conditions {
		field := fmt.Sprintf("conditions[%d]", i)
		if len(set) == 0 {
			return nil, invalid(field, "an empty set would always match; remove it (no sets at all means always)")
		}
		if len(set) > MaxConditionsPerSet {
			return nil, invalid(field, "at most %d conditions in a set", MaxConditionsPerSet)
		}
		var compiled []condition
		for j, c := range set {
			cc, err := compileCondition(fmt.Sprintf("%s[%d]", field, j), c, r.Trigger.Type)
			if err != nil {
				return nil, err
			}
			compiled = append(compiled, cc)
		}
		cr.sets = append(cr.sets, compiled)
	}
	if len(r.Actions) == 0 {
		return nil, invalid("actions", "at least one action")
	}
	if len(r.Actions) > MaxActions {
		return nil, invalid("actions", "at most %d actions", MaxActions)
	}
	for i, a := range r.Actions {
		if err := checkAction(fmt.Sprintf("actions[%d]", i), a, r.Trigger.Type); err != nil {
			return nil, err
		}
	}
	return cr, nil
}

func checkTrigger(t Trigger) error {
	if !slices.Contains(triggerTypes(), t.Type) {
		return invalid("trigger.type", "one of %s", strings.Join(triggerTypes(), ", "))
	}
	if t.Type != TriggerStatusChanged && (t.From != "" || t.To != "") {
		return invalid("trigger.from", "from and to apply to status_changed only")
	}
	if t.Type != TriggerMessageCreated && t.Direction != "" {
		return invalid("trigger.direction", "applies to message_created only")
	}
	for _, f := range []struct{ name, status string }{{"trigger.from", t.From}, {"trigger.to", t.To}} {
		if f.status != "" && !slices.Contains(caseStatuses(), f.status) {
			return invalid(f.name, "a case status (%s) or empty for any", strings.Join(caseStatuses(), ", "))
		}
	}
	if t.From != "" && t.From == t.To {
		return invalid("trigger.to", "a status change goes to another status than it comes from")
	}
	if t.Direction != "" && t.Direction != "inbound" && t.Direction != "outbound" {
		return invalid("trigger.direction", "inbound, outbound, or empty for both")
	}
	return nil
}

// actionFields lists the optional fields each action type uses.
func actionFields(typ string) ([]string, bool) {
	switch typ {
	case ActionAddTag, ActionRemoveTag:
		return []string{"tags"}, true
	case ActionSetStatus:
		return []string{"status"}, true
	case ActionSetPriority:
		return []string{"priority"}, true
	case ActionSetField:
		return []string{"field", "value"}, true
	case ActionReroute:
		return []string{"skill_id"}, true
	case ActionSendMessage:
		return []string{"text", "content"}, true
	case ActionNotifyEmail:
		return []string{"to", "subject", "body"}, true
	case ActionCallURL:
		return []string{"url"}, true
	}
	return nil, false
}

// setFields names the optional fields of a that are set.
func (a *Action) setFields() []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("tags", len(a.Tags) > 0)
	add("status", a.Status != "")
	add("priority", a.Priority != nil)
	add("field", a.Field != "")
	add("value", len(a.Value) > 0)
	add("skill_id", a.SkillID != "")
	add("text", a.Text != "")
	add("content", len(a.Content) > 0)
	add("to", len(a.To) > 0)
	add("subject", a.Subject != "")
	add("body", a.Body != "")
	add("url", a.URL != "")
	return out
}

func actionTypes() []string {
	return []string{ActionAddTag, ActionRemoveTag, ActionSetStatus, ActionSetPriority, ActionSetField, ActionReroute, ActionSendMessage, ActionNotifyEmail, ActionCallURL}
}

func checkAction(field string, a Action, trigger string) error {
	uses, ok := actionFields(a.Type)
	if !ok {
		return invalid(field+".type", "one of %s", strings.Join(actionTypes(), ", "))
	}
	for _, f := range a.setFields() {
		if !slices.Contains(uses, f) {
			return invalid(field+"."+f, "not used by %s", a.Type)
		}
	}
	switch a.Type {
	case ActionAddTag, ActionRemoveTag:
		if len(a.Tags) == 0 || len(a.Tags) > MaxTagsPerAction {
			return invalid(field+".tags", "1 to %d tags", MaxTagsPerAction)
		}
		for i, t := range a.Tags {
			if !validTag(t) {
				return invalid(fmt.Sprintf("%s.tags[%d]", field, i), "tags are 1–64 characters without commas")
			}
		}
	case ActionSetStatus:
		if !slices.Contains(settableStatuses(), a.Status) {
			return invalid(field+".status", "one of %s", strings.Join(settableStatuses(), ", "))
		}
		if trigger == TriggerBeforeCaseClosed {
			return invalid(field+".type", "a before_case_closed rule cannot change the status of the case being closed")
		}
	case ActionSetPriority:
		if a.Priority == nil || *a.Priority < 0 || *a.Priority > 100 {
			return invalid(field+".priority", "required, 0 to 100")
		}
	case ActionSetField:
		if !validCustomFieldName(a.Field) {
			return invalid(field+".field", "a custom field name: 1 to 64 letters, digits, '_' or '-'")
		}
		if len(a.Value) == 0 {
			return invalid(field+".value", "required (JSON null removes the field)")
		}
		if len(a.Value) > MaxFieldValueBytes || !json.Valid(a.Value) {
			return invalid(field+".value", "a JSON value of at most %d bytes", MaxFieldValueBytes)
		}
	case ActionReroute:
		if a.SkillID == "" {
			return invalid(field+".skill_id", "required")
		}
	case ActionSendMessage:
		if a.Text == "" && len(a.Content) == 0 {
			return invalid(field+".text", "text or content is required")
		}
		if utf8.RuneCountInString(a.Text) > content.MaxTextLen {
			return invalid(field+".text", "at most %d characters", content.MaxTextLen)
		}
		if err := checkPlaceholders(field+".text", a.Text, trigger); err != nil {
			return err
		}
		if len(a.Content) > 0 {
			if err := checkContent(field+".content", a.Content); err != nil {
				return err
			}
		}
	case ActionNotifyEmail:
		if len(a.To) == 0 || len(a.To) > MaxRecipients {
			return invalid(field+".to", "1 to %d addresses", MaxRecipients)
		}
		for i, to := range a.To {
			if addr, err := mail.ParseAddress(to); err != nil || addr.Address != to {
				return invalid(fmt.Sprintf("%s.to[%d]", field, i), "an email address (name@example.com)")
			}
		}
		if a.Subject == "" || utf8.RuneCountInString(a.Subject) > MaxSubjectLen || strings.ContainsAny(a.Subject, "\r\n") {
			return invalid(field+".subject", "1 to %d characters on one line", MaxSubjectLen)
		}
		if utf8.RuneCountInString(a.Body) > MaxBodyLen {
			return invalid(field+".body", "at most %d characters", MaxBodyLen)
		}
		if err := checkPlaceholders(field+".subject", a.Subject, trigger); err != nil {
			return err
		}
		if err := checkPlaceholders(field+".body", a.Body, trigger); err != nil {
			return err
		}
	case ActionCallURL:
		u, err := url.Parse(a.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(a.URL) > MaxURLLen {
			return invalid(field+".url", "an absolute http or https URL of at most %d characters", MaxURLLen)
		}
	}
	return nil
}

// checkContent validates canonical rich content as the inbox would, and
// reports its field under ours.
func checkContent(field string, raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c content.Content
	if err := dec.Decode(&c); err != nil {
		return invalid(field, "canonical content (a JSON object): %v", err)
	}
	if err := c.Validate(); err != nil {
		if ce, ok := err.(*content.ValidationError); ok {
			sub := field
			if ce.Field != "" {
				sub += "." + ce.Field
			}
			return invalid(sub, "%s", ce.Reason)
		}
		return invalid(field, "%v", err)
	}
	return nil
}

// validTag matches the inbox's tag rule (normaliseTag): lower-case, 1–64
// characters, no commas or line breaks.
func validTag(t string) bool {
	return t != "" && len(t) <= 64 && !strings.ContainsAny(t, ",\n\r\t") && t == strings.ToLower(strings.TrimSpace(t))
}

func validCustomFieldName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
