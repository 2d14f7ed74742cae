package automation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// sampleFacts is a resolved WhatsApp case with tags and custom fields, seen
// from a message_created event.
func sampleFacts() *facts {
	return &facts{
		event:      Event{Type: TriggerStatusChanged, FromStatus: "open", ToStatus: "resolved", Direction: "inbound", At: startTime()},
		caseLoaded: true,
		kase: CaseView{ID: "case-1", Status: "resolved", ChannelType: "whatsapp", PointOfContactID: "poc-1", SkillID: "skill-billing",
			Priority: 40, Tags: []string{"vip", "billing"}, AssigneeID: "", Subject: "Refund for order 1234",
			CustomFields:        map[string]any{"plan": "Gold", "seats": 12.0, "score": "7.5", "trial": false, "langs": []any{"en", "FR"}, "meta": map[string]any{"a": 1.0}},
			InboundSinceTrigger: true},
		messageLoaded: true,
		message:       MessageView{ID: "m-1", Direction: "inbound", Text: "Hello, I want my MONEY back"},
	}
}

func TestConditionOperators(t *testing.T) {
	tests := []struct {
		field, op string
		value     any
		want      bool
	}{
		// strings
		{"case.status", OpEq, "resolved", true},
		{"case.status", OpEq, "open", false},
		{"case.status", OpNe, "open", true},
		{"case.status", OpIn, []string{"open", "resolved"}, true},
		{"case.status", OpNotIn, []string{"open", "resolved"}, false},
		{"case.subject", OpEq, "refund for order 1234", false}, // eq is exact
		{"case.subject", OpContains, "REFUND", true},           // contains ignores case
		{"case.subject", OpNotContains, "refund", false},
		{"case.subject", OpNotContains, "invoice", true},
		{"case.subject", OpMatches, `order \d{4}$`, true},
		{"case.subject", OpMatches, `^order`, false},
		{"case.skill_id", OpExists, nil, true},
		{"case.assignee_id", OpExists, nil, false},
		{"case.assignee_id", OpNotExists, nil, true},
		{"case.channel_type", OpEq, "whatsapp", true},
		{"case.point_of_contact_id", OpIn, []string{"poc-2"}, false},
		{"message.text", OpContains, "money", true},
		{"message.text", OpMatches, `(?i)money\s+back`, true},
		{"message.direction", OpEq, "inbound", true},
		{"event.from_status", OpEq, "open", true},
		{"event.to_status", OpNe, "resolved", false},
		// numbers
		{"case.priority", OpEq, 40, true},
		{"case.priority", OpNe, 40, false},
		{"case.priority", OpIn, []int{10, 40}, true},
		{"case.priority", OpNotIn, []int{10, 40}, false},
		{"case.priority", OpGt, 40, false},
		{"case.priority", OpGte, 40, true},
		{"case.priority", OpLt, 50, true},
		{"case.priority", OpLte, 39.5, false},
		// booleans
		{"case.inbound_since_trigger", OpEq, true, true},
		{"case.inbound_since_trigger", OpEq, false, false},
		{"case.inbound_since_trigger", OpNe, false, true},
		// tags: membership, ignoring case
		{"case.tags", OpContains, "VIP", true},
		{"case.tags", OpContains, "vi", false},
		{"case.tags", OpNotContains, "spam", true},
		{"case.tags", OpIn, []string{"spam", "billing"}, true},
		{"case.tags", OpNotIn, []string{"spam", "billing"}, false},
		{"case.tags", OpExists, nil, true},
		{"case.tags", OpNotExists, nil, false},
		{"case.tags", OpMatches, `^bill`, true},
		// custom fields
		{"case.custom_fields.plan", OpEq, "Gold", true},
		{"case.custom_fields.plan", OpEq, "gold", false},
		{"case.custom_fields.plan", OpNe, "Silver", true},
		{"case.custom_fields.plan", OpIn, []string{"Gold", "Platinum"}, true},
		{"case.custom_fields.plan", OpNotIn, []string{"Gold"}, false},
		{"case.custom_fields.plan", OpContains, "OL", true},
		{"case.custom_fields.plan", OpNotContains, "OL", false},
		{"case.custom_fields.plan", OpMatches, `^G`, true},
		{"case.custom_fields.plan", OpExists, nil, true},
		{"case.custom_fields.missing", OpExists, nil, false},
		{"case.custom_fields.missing", OpNotExists, nil, true},
		{"case.custom_fields.missing", OpNe, "x", true},
		{"case.custom_fields.missing", OpGt, 0, false},
		{"case.custom_fields.seats", OpEq, 12, true},
		{"case.custom_fields.seats", OpGt, 10, true},
		{"case.custom_fields.seats", OpLte, 11, false},
		{"case.custom_fields.seats", OpMatches, `^12$`, true},
		{"case.custom_fields.score", OpGte, 7.5, true}, // a numeric string compares as a number
		{"case.custom_fields.score", OpEq, 7.5, true},
		{"case.custom_fields.plan", OpLt, 100, false}, // not a number
		{"case.custom_fields.trial", OpEq, false, true},
		{"case.custom_fields.trial", OpEq, "false", false},
		{"case.custom_fields.langs", OpContains, "fr", true}, // list membership
		{"case.custom_fields.langs", OpNotContains, "de", true},
		{"case.custom_fields.meta", OpContains, "a", false},
		{"case.custom_fields.meta", OpExists, nil, true},
	}
	f := sampleFacts()
	for _, tt := range tests {
		c := cond(tt.field, tt.op, tt.value)
		cc, err := compileCondition("c", c, TriggerMessageCreated)
		if strings.HasPrefix(tt.field, "event.") {
			cc, err = compileCondition("c", c, TriggerStatusChanged)
		}
		if err != nil {
			t.Errorf("%s %s %v: %v", tt.field, tt.op, tt.value, err)
			continue
		}
		got, known := cc.eval(f)
		if !known || got != tt.want {
			t.Errorf("%s %s %v = %v (known %v), want %v", tt.field, tt.op, tt.value, got, known, tt.want)
		}
	}
}

func TestConditionSetsAreANDInsideOrBetween(t *testing.T) {
	rule := func(sets ...[]Condition) *compiledRule {
		t.Helper()
		r, err := compile(Rule{Name: "r", Trigger: Trigger{Type: TriggerMessageCreated}, Conditions: sets,
			Actions: []Action{{Type: ActionAddTag, Tags: []string{"x"}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	yes, no := cond("case.status", OpEq, "resolved"), cond("case.status", OpEq, "open")
	f := sampleFacts()
	for _, tt := range []struct {
		name string
		sets [][]Condition
		want bool
	}{
		{"no sets: always", nil, true},
		{"one set, all true", [][]Condition{{yes, yes}}, true},
		{"one set, one false", [][]Condition{{yes, no}}, false},
		{"second set true", [][]Condition{{no}, {yes, yes}}, true},
		{"every set false", [][]Condition{{yes, no}, {no}}, false},
	} {
		if got := rule(tt.sets...).match(f); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// Before the case is read (at enqueue), case conditions cannot say no;
	// event and message conditions can.
	partial := &facts{event: f.event, messageLoaded: true, message: f.message}
	if !rule([]Condition{no}).match(partial) {
		t.Error("a case condition decided before the case was read")
	}
	if rule([]Condition{no, cond("message.text", OpContains, "invoice")}).match(partial) {
		t.Error("a false message condition let the rule through")
	}
}

func TestValidationNamesTheField(t *testing.T) {
	valid := func() RuleInput {
		return RuleInput{Name: "r", Trigger: Trigger{Type: TriggerStatusChanged, To: "resolved"},
			Conditions: [][]Condition{{cond("case.status", OpEq, "resolved")}},
			Actions:    []Action{{Type: ActionSetStatus, Status: "closed"}}}
	}
	if err := Validate(valid()); err != nil {
		t.Fatalf("valid rule: %v", err)
	}
	tests := []struct {
		field  string
		mutate func(*RuleInput)
	}{
		{"name", func(r *RuleInput) { r.Name = " " }},
		{"name", func(r *RuleInput) { r.Name = strings.Repeat("x", 101) }},
		{"trigger.type", func(r *RuleInput) { r.Trigger.Type = "case_deleted" }},
		{"trigger.to", func(r *RuleInput) { r.Trigger.To = "done" }},
		{"trigger.to", func(r *RuleInput) { r.Trigger.From = "resolved" }},
		{"trigger.from", func(r *RuleInput) { r.Trigger = Trigger{Type: TriggerCaseCreated, From: "new"} }},
		{"trigger.direction", func(r *RuleInput) { r.Trigger.Direction = "inbound" }},
		{"trigger.direction", func(r *RuleInput) { r.Trigger = Trigger{Type: TriggerMessageCreated, Direction: "sideways"} }},
		{"delay_seconds", func(r *RuleInput) { r.DelaySeconds = -1 }},
		{"delay_seconds", func(r *RuleInput) { r.DelaySeconds = 90*86400 + 1 }},
		{"delay_seconds", func(r *RuleInput) {
			r.Trigger = Trigger{Type: TriggerBeforeCaseClosed}
			r.Actions = []Action{{Type: ActionAddTag, Tags: []string{"x"}}}
			r.DelaySeconds = 60
		}},
		{"conditions[0]", func(r *RuleInput) { r.Conditions = [][]Condition{{}} }},
		{"conditions", func(r *RuleInput) { r.Conditions = make([][]Condition, 11) }},
		{"conditions[0][0].field", func(r *RuleInput) { r.Conditions[0][0].Field = "case.colour" }},
		{"conditions[0][0].field", func(r *RuleInput) { r.Conditions[0][0].Field = "case.custom_fields.bad name" }},
		{"conditions[0][0].field", func(r *RuleInput) { r.Conditions[0][0] = cond("message.text", OpContains, "x") }},
		{"conditions[0][0].op", func(r *RuleInput) { r.Conditions[0][0].Op = "like" }},
		{"conditions[0][0].op", func(r *RuleInput) { r.Conditions[0][0] = cond("case.priority", OpContains, "1") }},
		{"conditions[0][0].op", func(r *RuleInput) { r.Conditions[0][0] = cond("case.tags", OpEq, "vip") }},
		{"conditions[0][0].op", func(r *RuleInput) { r.Conditions[0][0] = cond("case.inbound_since_trigger", OpExists, nil) }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0].Value = raw("solved") }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0].Value = raw(3) }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0].Value = json.RawMessage(`{bad`) }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.priority", OpGt, "high") }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.subject", OpExists, "x") }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.subject", OpIn, []string{}) }},
		{"conditions[0][0].value[1]", func(r *RuleInput) { r.Conditions[0][0] = cond("case.status", OpIn, []string{"open", "shut"}) }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.subject", OpContains, "") }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.inbound_since_trigger", OpEq, "no") }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.custom_fields.x", OpEq, []int{1}) }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.subject", OpMatches, "(unclosed") }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.subject", OpMatches, strings.Repeat("a", 513)) }},
		{"conditions[0][0].value", func(r *RuleInput) { r.Conditions[0][0] = cond("case.subject", OpMatches, `((a{100}){100}){100}`) }},
		{"actions", func(r *RuleInput) { r.Actions = nil }},
		{"actions", func(r *RuleInput) { r.Actions = make([]Action, 21) }},
		{"actions[0].type", func(r *RuleInput) { r.Actions[0].Type = "delete_case" }},
		{"actions[0].status", func(r *RuleInput) { r.Actions[0].Status = "trashed" }},
		{"actions[0].tags", func(r *RuleInput) { r.Actions[0].Tags = []string{"x"} }},
		{"actions[0].type", func(r *RuleInput) {
			r.Trigger = Trigger{Type: TriggerBeforeCaseClosed}
			r.Conditions = nil
		}},
		{"actions[0].tags", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionAddTag} }},
		{"actions[0].tags[1]", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionRemoveTag, Tags: []string{"ok", "a,b"}} }},
		{"actions[0].priority", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSetPriority, Priority: intp(101)} }},
		{"actions[0].priority", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSetPriority} }},
		{"actions[0].field", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSetField, Field: "a b", Value: raw(1)} }},
		{"actions[0].value", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSetField, Field: "plan"} }},
		{"actions[0].skill_id", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionReroute} }},
		{"actions[0].text", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSendMessage} }},
		{"actions[0].text", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSendMessage, Text: "Hi {{case.nme}}"} }},
		{"actions[0].text", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSendMessage, Text: "You said {{message.text}}"} }},
		{"actions[0].content", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionSendMessage, Content: json.RawMessage(`[1]`)} }},
		{"actions[0].content.type", func(r *RuleInput) {
			r.Actions[0] = Action{Type: ActionSendMessage, Content: json.RawMessage(`{"type":"hologram","text":"x"}`)}
		}},
		{"actions[0].to", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionNotifyEmail, Subject: "s"} }},
		{"actions[0].to[0]", func(r *RuleInput) {
			r.Actions[0] = Action{Type: ActionNotifyEmail, To: []string{"not-an-address"}, Subject: "s"}
		}},
		{"actions[0].subject", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionNotifyEmail, To: []string{"a@example.com"}} }},
		{"actions[0].subject", func(r *RuleInput) {
			r.Actions[0] = Action{Type: ActionNotifyEmail, To: []string{"a@example.com"}, Subject: "a\r\nBcc: x@example.com"}
		}},
		{"actions[0].body", func(r *RuleInput) {
			r.Actions[0] = Action{Type: ActionNotifyEmail, To: []string{"a@example.com"}, Subject: "s", Body: "{{case.secret}}"}
		}},
		{"actions[0].url", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionCallURL, URL: "ftp://example.com/x"} }},
		{"actions[0].url", func(r *RuleInput) { r.Actions[0] = Action{Type: ActionCallURL, URL: "/relative"} }},
		{"secret", func(r *RuleInput) { s := strings.Repeat("s", 257); r.Secret = &s }},
	}
	for _, tt := range tests {
		in := valid()
		tt.mutate(&in)
		err := Validate(in)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: got %v, want a *ValidationError", tt.field, err)
			continue
		}
		if ve.FieldName() != tt.field || ve.FieldReason() == "" || ve.FieldReason() != ve.Reason {
			t.Errorf("want field %s, got %s: %s", tt.field, ve.Field, ve.Reason)
		}
	}
}

func TestValidRulesOfEveryKind(t *testing.T) {
	for _, in := range []RuleInput{
		closeResolvedRule(),
		{Name: "survey", Trigger: Trigger{Type: TriggerBeforeCaseClosed}, Actions: []Action{{Type: ActionSendMessage,
			Content: json.RawMessage(`{"type":"quick_replies","text":"Rate us","options":[{"id":"1","label":"1"},{"id":"5","label":"5"}]}`)}}},
		{Name: "fields", Trigger: Trigger{Type: TriggerMessageCreated, Direction: "outbound"},
			Conditions: [][]Condition{{cond("message.direction", OpEq, "outbound"), cond("case.custom_fields.plan", OpExists, nil)}},
			Actions: []Action{{Type: ActionSetField, Field: "last_reply", Value: raw(map[string]any{"by": "bot"})}, {Type: ActionSetField, Field: "old", Value: json.RawMessage(`null`)},
				{Type: ActionNotifyEmail, To: []string{"a@example.com"}, Subject: "{{message.text}}", Body: "{{case.custom_fields.plan}}"}}},
		{Name: "max delay", Trigger: Trigger{Type: TriggerAssigneeChanged}, DelaySeconds: int64(MaxDelay / time.Second),
			Actions: []Action{{Type: ActionCallURL, URL: "https://crm.example.com/hook?x=1"}, {Type: ActionReroute, SkillID: "s"}}},
	} {
		if err := Validate(in); err != nil {
			t.Errorf("%s: %v", in.Name, err)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	f := sampleFacts()
	r := &compiledRule{Rule: Rule{ID: "rule-1", Name: "Rule"}}
	got := render("{{case.id}}/{{ case.status }}/{{case.priority}}/{{case.tags}}/{{case.custom_fields.seats}}/{{case.custom_fields.langs}}/{{case.custom_fields.none}}/{{case.inbound_since_trigger}}/{{rule.name}}/{{ message.text }}/{{unclosed", f, r, false)
	want := `case-1/resolved/40/vip, billing/12/["en","FR"]//true/Rule/Hello, I want my MONEY back/{{unclosed`
	if got != want {
		t.Fatalf("render:\n got %s\nwant %s", got, want)
	}
	f.kase.Subject = "a\r\nb"
	if got := render("S: {{case.subject}}", f, r, true); got != "S: a b" {
		t.Fatalf("one line: %q", got)
	}
}
