package content

import (
	"strings"
	"time"
)

// PromptKind is what a pending prompt waits for.
type PromptKind string

// Prompt kinds.
const (
	KindOption PromptKind = "option" // quick replies, list picker, card actions
	KindSlot   PromptKind = "slot"   // time picker
	KindForm   PromptKind = "form"   // form
)

// FormMode is how a form was presented, which decides how answers arrive.
type FormMode string

// Form modes, richest first.
const (
	FormNative     FormMode = "native"     // Apple or chat widget form: all values arrive at once
	FormWeb        FormMode = "web"        // a hosted form on a signed single-use URL
	FormSequential FormMode = "sequential" // one question at a time in text
)

// Prompt is the pending question of a thread: the last rich message that
// waits for an answer, with everything Resolve needs to map any reply back
// (the numbering the customer saw, option ids and postbacks, slots, form
// fields and progress). It is plain data, JSON-serialisable, stored per
// thread by the caller.
type Prompt struct {
	ID          string         `json:"id"`      // the message it belongs to (RenderOptions.MessageID)
	Channel     string         `json:"channel"` // the channel type it was rendered for
	Kind        PromptKind     `json:"kind"`
	Options     []PromptOption `json:"options,omitempty"` // option and slot prompts, in displayed order
	MultiSelect bool           `json:"multi_select,omitempty"`
	Persistent  bool           `json:"persistent,omitempty"` // stays open after an answer
	Slots       []TimeSlot     `json:"slots,omitempty"`
	Timezone    string         `json:"timezone,omitempty"` // the zone slot labels were written in
	Fields      []Field        `json:"fields,omitempty"`
	Form        *FormState     `json:"form,omitempty"`
	ExpiresAt   time.Time      `json:"expires_at,omitzero"` // zero: never
}

// PromptOption is one numbered answer as the customer saw it.
type PromptOption struct {
	Number   int    `json:"number"` // 1-based, as shown in numbered text
	ID       string `json:"id"`     // option or slot id: what native replies carry
	Label    string `json:"label"`  // the full label (not truncated)
	Postback string `json:"postback,omitempty"`
}

// FormState is the progress of a form.
type FormState struct {
	Mode   FormMode          `json:"mode"`
	Step   int               `json:"step"` // index of the field being asked (sequential mode)
	Values map[string]string `json:"values,omitempty"`
}

// Source says how an answer was recognised.
type Source string

// Sources, in the order Resolve tries them.
const (
	SourceNative     Source = "native"
	SourceNumber     Source = "number"
	SourceLabel      Source = "label"
	SourceFuzzy      Source = "fuzzy"
	SourceWebForm    Source = "webform"
	SourceSequential Source = "sequential"
)

// Choice is the one structured event a reply to rich content becomes,
// whatever the channel and however the customer answered. Scripts, bots,
// automation and agents consume it; the customer's own message stays in the
// transcript.
type Choice struct {
	InReplyTo string            `json:"in_reply_to"` // Prompt.ID
	Kind      PromptKind        `json:"kind"`
	OptionIDs []string          `json:"option_ids,omitempty"`
	Postbacks []string          `json:"postbacks,omitempty"` // same order as OptionIDs; "" when an option has none
	Slot      *TimeSlot         `json:"slot,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
	Source    Source            `json:"source"`
	RawText   string            `json:"raw_text,omitempty"`
}

// Reply is an inbound message as a channel adapter parsed it.
type Reply struct {
	// Text is what the customer typed (or the title of what they tapped).
	Text string `json:"text,omitempty"`
	// NativeID is the structured id a platform sent back: a WhatsApp
	// button_reply/list_reply id, a Messenger quick-reply payload or
	// postback payload, a Google Business Messages postbackData, an Apple
	// list/time-picker item identifier, a chat-widget choice. Renderers
	// always put the option or slot id there, so it is an id of the prompt.
	// Several ids (multi-select) are joined with commas, which ids cannot
	// contain.
	NativeID string `json:"native_id,omitempty"`
	// FormValues is a whole submitted form (Apple or chat-widget form, or the
	// hosted web form), keyed by field name.
	FormValues map[string]string `json:"form_values,omitempty"`
}

// Outcome is what an inbound reply did to the pending prompt.
//
// The caller: deletes the pending prompt when PromptClosed, otherwise stores
// UpdatedPrompt; emits Choice when set; when AskAgain is set, renders it on
// the prompt's channel and sends it — and if that rendering carries its own
// Prompt (asking again with only the tied options is itself a picker), that
// Prompt becomes the pending one.
type Outcome struct {
	Choice        *Choice  `json:"choice,omitempty"`
	AskAgain      *Content `json:"ask_again,omitempty"`
	PromptClosed  bool     `json:"prompt_closed,omitempty"`
	Cancelled     bool     `json:"cancelled,omitempty"` // the customer cancelled a form
	UpdatedPrompt *Prompt  `json:"updated_prompt,omitempty"`
}

// optionByID finds a prompt option by id.
func (p *Prompt) optionByID(id string) (PromptOption, bool) {
	for _, o := range p.Options {
		if o.ID == id {
			return o, true
		}
	}
	return PromptOption{}, false
}

func (p *Prompt) slotByID(id string) *TimeSlot {
	for i := range p.Slots {
		if p.Slots[i].ID == id {
			s := p.Slots[i]
			return &s
		}
	}
	return nil
}

// clone deep-copies a prompt so an Outcome never aliases the caller's.
func (p *Prompt) clone() *Prompt {
	c := *p
	c.Options = append([]PromptOption(nil), p.Options...)
	c.Slots = append([]TimeSlot(nil), p.Slots...)
	c.Fields = append([]Field(nil), p.Fields...)
	if p.Form != nil {
		fs := *p.Form
		fs.Values = make(map[string]string, len(p.Form.Values))
		for k, v := range p.Form.Values {
			fs.Values[k] = v
		}
		c.Form = &fs
	}
	return &c
}

// numberedLines writes "1) Label" lines.
func numberedLines(b *strings.Builder, opts []PromptOption) {
	for _, o := range opts {
		b.WriteString(itoa(o.Number) + ") " + o.Label + "\n")
	}
}
