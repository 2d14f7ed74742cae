package script

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/content"
)

// Action types: what a script or a bot asks the inbox to do.
const (
	ActionSetSkill     = "set_skill"
	ActionSetPriority  = "set_priority"
	ActionAddTag       = "add_tag"
	ActionRemoveTag    = "remove_tag"
	ActionSetField     = "set_field"
	ActionReply        = "reply"
	ActionSetStatus    = "set_status"
	ActionRouteToAgent = "route_to_agent"
	ActionHandToBot    = "hand_to_bot"
	// ActionHandBack comes only from bots: the bot gives the conversation
	// back to people (routing by skill as usual).
	ActionHandBack = "hand_back"
	ActionStop     = "stop"
)

// Limits on action arguments. Tags and priorities follow the inbox's own
// rules so that an action that passes here is one the inbox accepts.
const (
	MinPriority        = 0
	MaxPriority        = 100
	MaxFieldValueBytes = 4 << 10
	maxSkillNameLen    = 100
	maxTagLen          = 64
	maxAgentLen        = 254
)

// Action is one thing a script (or a bot it handed to) asks for. Only the
// fields of its Type are set.
type Action struct {
	Type     string          `json:"type"`
	Skill    string          `json:"skill,omitempty"`    // set_skill: skill name
	Priority int             `json:"priority,omitempty"` // set_priority: 0–100
	Tag      string          `json:"tag,omitempty"`      // add_tag, remove_tag: lower-case
	Field    string          `json:"field,omitempty"`    // set_field: custom field name
	Value    any             `json:"value,omitempty"`    // set_field: JSON value; nil clears the field
	Text     string          `json:"text,omitempty"`     // reply: plain text
	Content  json.RawMessage `json:"content,omitempty"`  // reply: canonical rich content (validated)
	Status   string          `json:"status,omitempty"`   // set_status
	Agent    string          `json:"agent,omitempty"`    // route_to_agent: agent email or id
	Bot      string          `json:"bot,omitempty"`      // hand_to_bot: bot name
	Stop     string          `json:"stop,omitempty"`     // stop: close | trash
}

var (
	fieldNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	botNamePattern   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)
)

// automationStatuses are the case statuses an automation may set (new is
// where cases start, never a target). The inbox still refuses illegal
// transitions when applying.
func automationStatus(s string) bool {
	switch s {
	case "open", "pending", "escalated", "resolved", "closed", "trashed":
		return true
	}
	return false
}

// Normalize checks an action and returns its canonical form: fields of
// other types cleared, skill and agent trimmed, tags lower-cased, rich
// content re-encoded after content.Content.Validate. Scripts' actions pass
// through it when called, bots' answers when received; the caller may use
// it on actions from elsewhere (an API).
func (a Action) Normalize() (Action, error) {
	out := Action{Type: a.Type}
	switch a.Type {
	case ActionSetSkill:
		out.Skill = strings.TrimSpace(a.Skill)
		if out.Skill == "" || utf8.RuneCountInString(out.Skill) > maxSkillNameLen || hasControl(out.Skill) {
			return Action{}, fmt.Errorf("a skill name is 1 to %d characters", maxSkillNameLen)
		}
	case ActionSetPriority:
		if a.Priority < MinPriority || a.Priority > MaxPriority {
			return Action{}, fmt.Errorf("priority must be between %d and %d, not %d", MinPriority, MaxPriority, a.Priority)
		}
		out.Priority = a.Priority
	case ActionAddTag, ActionRemoveTag:
		out.Tag = strings.ToLower(strings.TrimSpace(a.Tag))
		if out.Tag == "" || len(out.Tag) > maxTagLen || strings.ContainsAny(out.Tag, ",") || hasControl(out.Tag) {
			return Action{}, fmt.Errorf("a tag is 1 to %d bytes without commas, not %q", maxTagLen, a.Tag)
		}
	case ActionSetField:
		if !fieldNamePattern.MatchString(a.Field) {
			return Action{}, fmt.Errorf("a field name is 1 to 64 letters, digits or _ . : -, not %q", a.Field)
		}
		raw, err := json.Marshal(a.Value)
		if err != nil {
			return Action{}, fmt.Errorf("the value of %s is not JSON: %v", a.Field, err)
		}
		if len(raw) > MaxFieldValueBytes {
			return Action{}, fmt.Errorf("the value of %s is larger than %d bytes", a.Field, MaxFieldValueBytes)
		}
		out.Field, out.Value = a.Field, a.Value
	case ActionReply:
		hasContent := len(bytes.TrimSpace(a.Content)) > 0 && !bytes.Equal(bytes.TrimSpace(a.Content), []byte("null"))
		switch {
		case a.Text != "" && hasContent:
			return Action{}, errors.New("give a text or a content, not both")
		case hasContent:
			c, err := canonicalContent(a.Content)
			if err != nil {
				return Action{}, err
			}
			out.Content = c
		case strings.TrimSpace(a.Text) == "":
			return Action{}, errors.New("a reply needs a text or a content")
		case utf8.RuneCountInString(a.Text) > content.MaxTextLen:
			return Action{}, fmt.Errorf("the text is longer than %d characters", content.MaxTextLen)
		default:
			out.Text = a.Text
		}
	case ActionSetStatus:
		if !automationStatus(a.Status) {
			return Action{}, fmt.Errorf("status must be open, pending, escalated, resolved, closed or trashed, not %q", a.Status)
		}
		out.Status = a.Status
	case ActionRouteToAgent:
		out.Agent = strings.TrimSpace(a.Agent)
		if out.Agent == "" || len(out.Agent) > maxAgentLen || strings.IndexFunc(out.Agent, unicode.IsSpace) >= 0 || hasControl(out.Agent) {
			return Action{}, fmt.Errorf("an agent is an email or a user id, not %q", a.Agent)
		}
	case ActionHandToBot:
		if !botNamePattern.MatchString(a.Bot) {
			return Action{}, fmt.Errorf("a bot name is 1 to 100 letters, digits or _ . : -, not %q", a.Bot)
		}
		out.Bot = a.Bot
	case ActionHandBack:
	case ActionStop:
		if a.Stop != "close" && a.Stop != "trash" {
			return Action{}, fmt.Errorf(`stop takes "close" or "trash", not %q`, a.Stop)
		}
		out.Stop = a.Stop
	default:
		return Action{}, fmt.Errorf("unknown action type %q", a.Type)
	}
	return out, nil
}

// canonicalContent decodes rich content strictly (a misspelt field is an
// error, not silently dropped), validates it and re-encodes it.
func canonicalContent(raw []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c content.Content
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("content: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return nil, errors.New("content: more than one JSON value")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }
