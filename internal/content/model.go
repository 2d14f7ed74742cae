package content

import "encoding/json"

// Type is the kind of a canonical message. It decides which fields of
// Content are meaningful and which rendering ladder applies.
type Type string

// The canonical content types. The first seven map onto the seven rich
// content types of the reference product (see Feature* keys); card,
// carousel, file and location are what channels need beyond them.
const (
	TypeText         Type = "text"
	TypeHTML         Type = "html"
	TypeMarkdown     Type = "markdown"
	TypeQuickReplies Type = "quick_replies"
	TypeListPicker   Type = "list_picker"
	TypeTimePicker   Type = "time_picker"
	TypeForm         Type = "form"
	TypeRichLink     Type = "rich_link"
	TypeAdaptiveCard Type = "adaptive_card"
	TypeCard         Type = "card"
	TypeCarousel     Type = "carousel"
	TypeFile         Type = "file"
	TypeLocation     Type = "location"
)

// Types returns every canonical content type, in a stable order. It returns a
// new slice each call so callers may modify it.
func Types() []Type {
	return []Type{
		TypeText, TypeHTML, TypeMarkdown, TypeQuickReplies, TypeListPicker,
		TypeTimePicker, TypeForm, TypeRichLink, TypeAdaptiveCard, TypeCard,
		TypeCarousel, TypeFile, TypeLocation,
	}
}

// Content is one canonical message. It is what Parley stores on every
// message and what the API, bots, flows and agents send; channel adapters
// never see anything else (they call Render).
//
// Field use by type:
//   - text, html, markdown: Text is the body (HTML or Markdown source).
//   - quick_replies, list_picker: Text (or Title) is the prompt; Options
//     (1–10 / 1–100); list_picker may have Sections, MultiSelect, Persistent.
//   - time_picker: Text/Title prompt, Slots (1–50), Timezone (IANA, the
//     zone the slots are shown in unless the recipient's is known), optional
//     Location (where the appointment takes place).
//   - form: Text/Title prompt, Fields (1–20).
//   - rich_link: Link; Text is an optional message around it.
//   - card: Title and/or Text, optional Media (an image), optional Link (what
//     tapping the card opens) and up to 3 Options used as the card's actions.
//   - carousel: Items (1–10 cards); Text is an optional introduction.
//   - adaptive_card: AdaptiveCard (version ≤ 1.5) and FallbackText.
//   - file: Media; Text is an optional caption.
//   - location: Location; Text is an optional message.
//
// Labels are stored whole; they are cut to a channel's limit only when
// rendering, so the canonical message stays the truth the agent sees.
type Content struct {
	Type         Type                       `json:"type"`
	Text         string                     `json:"text,omitempty"`
	Title        string                     `json:"title,omitempty"`
	FallbackText string                     `json:"fallback_text,omitempty"`
	Options      []Option                   `json:"options,omitempty"`
	Sections     []Section                  `json:"sections,omitempty"`
	MultiSelect  bool                       `json:"multi_select,omitempty"`
	Persistent   bool                       `json:"persistent,omitempty"`
	Slots        []TimeSlot                 `json:"slots,omitempty"`
	Timezone     string                     `json:"timezone,omitempty"`
	Location     *Location                  `json:"location,omitempty"`
	Fields       []Field                    `json:"fields,omitempty"`
	Items        []Card                     `json:"items,omitempty"`
	Link         *Link                      `json:"link,omitempty"`
	Media        *Media                     `json:"media,omitempty"`
	AdaptiveCard json.RawMessage            `json:"adaptive_card,omitempty"`
	Overrides    map[string]json.RawMessage `json:"overrides,omitempty"`
}

// OptionKind says what choosing an option does.
type OptionKind string

// Option kinds. Reply and postback options are answers the customer sends
// back (they create a pending Prompt); url and call options are actions the
// customer's device performs (only on cards and carousels).
const (
	OptionReply    OptionKind = "reply"    // the label is sent back as the answer (default)
	OptionPostback OptionKind = "postback" // like reply, and Postback is handed to the consumer
	OptionURL      OptionKind = "url"      // opens Postback, an https URL
	OptionCall     OptionKind = "call"     // calls Postback, a phone number in E.164 (+33123456789)
)

// Option is one answer of a quick-reply or list message, one choice of a
// select form field, or one action of a card.
type Option struct {
	// ID is stable and unique in the message, [A-Za-z0-9_.:-]{1,64}. It is
	// what native replies carry back, so it never contains a comma or a
	// space (Reply.NativeID lists several ids separated by commas).
	ID          string     `json:"id"`
	Label       string     `json:"label"`                 // 1–40 characters
	Description string     `json:"description,omitempty"` // ≤ 72 characters
	IconURL     string     `json:"icon_url,omitempty"`    // https
	Postback    string     `json:"postback,omitempty"`    // opaque, ≤ 1024 bytes; URL or phone for url/call kinds
	Kind        OptionKind `json:"kind,omitempty"`        // empty means reply
}

// Section groups list-picker options under a title.
type Section struct {
	Title     string   `json:"title"`
	OptionIDs []string `json:"option_ids"`
}

// TimeSlot is one bookable time of a time picker.
type TimeSlot struct {
	ID          string `json:"id"`              // same charset as Option.ID
	Start       string `json:"start"`           // RFC 3339
	DurationSec int    `json:"duration_sec"`    // 60–86400
	Label       string `json:"label,omitempty"` // optional; generated from Start in the customer's zone when empty
}

// Location is a place on a map: the subject of a location message or where a
// time-picker appointment happens.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	RadiusM   float64 `json:"radius_m,omitempty"`
	Title     string  `json:"title,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// FieldType is the kind of answer a form field expects.
type FieldType string

// Form field types.
const (
	FieldText   FieldType = "text"
	FieldEmail  FieldType = "email"
	FieldPhone  FieldType = "phone"
	FieldNumber FieldType = "number"
	FieldDate   FieldType = "date"
	FieldSelect FieldType = "select"
)

// Field is one question of a form.
type Field struct {
	Name        string    `json:"name"` // same charset as Option.ID; the key in Choice.Fields
	Type        FieldType `json:"type"`
	Label       string    `json:"label"` // 1–128 characters: the question
	Placeholder string    `json:"placeholder,omitempty"`
	Required    bool      `json:"required,omitempty"`
	MinLen      int       `json:"min_len,omitempty"`
	MaxLen      int       `json:"max_len,omitempty"` // ≤ 256; 0 means 256
	Pattern     string    `json:"pattern,omitempty"` // RE2, matched against the whole answer
	Options     []Option  `json:"options,omitempty"` // select only
	MultiSelect bool      `json:"multi_select,omitempty"`
}

// Card is one element of a carousel.
type Card struct {
	Title    string   `json:"title,omitempty"`
	Subtitle string   `json:"subtitle,omitempty"`
	MediaURL string   `json:"media_url,omitempty"` // https image
	URL      string   `json:"url,omitempty"`       // https, opened when the card is tapped
	Actions  []Option `json:"actions,omitempty"`   // ≤ 3
}

// Link is the subject of a rich link.
type Link struct {
	URL      string `json:"url"`
	Title    string `json:"title,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
}

// Media is a file: by https URL or by an attachment id of Parley's blob store.
type Media struct {
	URL          string `json:"url,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileName     string `json:"file_name,omitempty"`
	Alt          string `json:"alt,omitempty"`
}

// kindOrReply returns the option's kind, defaulting to reply.
func (o Option) kindOrReply() OptionKind {
	if o.Kind == "" {
		return OptionReply
	}
	return o.Kind
}

// answerable reports whether choosing the option sends an answer back.
func (o Option) answerable() bool {
	k := o.kindOrReply()
	return k == OptionReply || k == OptionPostback
}

// prompt returns the text that introduces a picker: Text, else Title.
func (c *Content) prompt() string {
	if c.Text != "" {
		return c.Text
	}
	return c.Title
}
