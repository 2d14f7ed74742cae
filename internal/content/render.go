package content

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownChannelType is returned by Render for a channel type that is not
// one of ChannelTypes.
var ErrUnknownChannelType = errors.New("content: unknown channel type")

// DefaultPromptTTL is how long a pending prompt waits for an answer when
// RenderOptions.PromptTTL is zero: the longest reply window Parley knows
// (Messenger's human-agent tag, 7 days).
const DefaultPromptTTL = 7 * 24 * time.Hour

// RenderOptions are what Render needs besides the content and the channel.
type RenderOptions struct {
	// Recipient narrows the channel's send row for this recipient (an
	// Apple device's capability list, an old chat widget). A key it lacks
	// does not narrow; it can never raise a level above the channel's.
	Recipient Support
	// Location is the customer's time zone, used to write time slots. Nil
	// falls back to Content.Timezone, then UTC.
	Location *time.Location
	// Now is the time of sending; with PromptTTL it sets Prompt.ExpiresAt.
	// Zero means the prompt never expires.
	Now       time.Time
	PromptTTL time.Duration
	// MessageID is the id of the message being rendered; it becomes
	// Prompt.ID and Apple's requestIdentifier.
	MessageID string
	// FormURL is a signed single-use URL of the hosted form for this
	// message, when the caller made one: it is the second rung of the form
	// ladder, before asking one question at a time.
	FormURL string
}

// Rendered is what a channel receives for one canonical message, and what
// Parley stores beside the canonical content so an agent sees exactly what
// the customer saw.
type Rendered struct {
	Channel string `json:"channel"`
	// Type is the rung used: "<channel>.<form>" for a native payload
	// ("whatsapp.interactive.list", "messenger.template.generic"), "text"
	// for generated plain text, "fallback_text" for Content.FallbackText,
	// "form.web" / "form.sequential" for the form ladder, "attachment" for
	// a file the adapter uploads from the blob store, "override" for
	// Content.Overrides.
	Type string `json:"type"`
	// Native is the exact platform payload, nil when the channel gets text
	// only (the adapter then sends Text in its plain text message).
	//   - whatsapp: the Cloud API /messages body without "to" (and without
	//     "context"): the adapter adds the recipient.
	//   - messenger: the Send API body without "recipient" and
	//     "messaging_type": the adapter adds them (the type depends on the
	//     reply window).
	//   - apple_messages: the MSP message body without "id", "sourceId"
	//     and "destinationId".
	//   - google_business_messages: the message body without "messageId"
	//     and "representative".
	//   - chat: the widget message (see chatMessage).
	Native json.RawMessage `json:"native,omitempty"`
	// Text is the plain-text version, always set: the message itself on
	// text-only rungs, the transcript and notification text otherwise.
	Text string `json:"text"`
	// HTML is the sanitised HTML for email (always, as the HTML part beside
	// Text) and for chat html/markdown messages.
	HTML string `json:"html,omitempty"`
	// Prompt is the pending prompt to store for the thread when the message
	// expects an answer; nil otherwise.
	Prompt *Prompt `json:"prompt,omitempty"`
}

// Render turns canonical content into what one channel type receives: the
// first rung of the content type's ladder that the channel (per the send
// table) and the recipient support, down to plain text that still works.
// Content is validated first; an invalid content returns its
// *ValidationError. Per-channel limits (counts, label lengths) are applied
// here: a message that does not fit a native rung goes down the ladder, and
// labels are cut only to the rung's own limit.
func Render(channelType string, c Content, opts RenderOptions) (Rendered, error) {
	if !KnownChannelType(channelType) {
		return Rendered{}, fmt.Errorf("%w: %q", ErrUnknownChannelType, channelType)
	}
	if err := c.Validate(); err != nil {
		return Rendered{}, err
	}
	r := &renderer{ch: channelType, c: &c, opts: opts, loc: time.UTC}
	if opts.Location != nil {
		r.loc = opts.Location
	} else if c.Timezone != "" {
		if loc, err := loadZone(c.Timezone); err == nil {
			r.loc = loc
		}
	}
	out, err := r.render()
	if err != nil {
		return Rendered{}, err
	}
	out.Channel = channelType
	if channelType == ChannelEmail && out.HTML == "" {
		out.HTML = textToHTML(out.Text)
	}
	return out, nil
}

type renderer struct {
	ch   string
	c    *Content
	opts RenderOptions
	loc  *time.Location
}

type obj = map[string]any

func (r *renderer) level(feature string) Level {
	return levelFor(r.ch, feature, r.opts.Recipient)
}

func (r *renderer) native(rung string, payload any, text string, p *Prompt) (Rendered, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Rendered{}, fmt.Errorf("content: encode %s: %w", rung, err)
	}
	return Rendered{Type: rung, Native: b, Text: text, Prompt: p}, nil
}

func (r *renderer) render() (Rendered, error) {
	c := r.c
	text, prompt := r.fallback()
	if raw, ok := c.Overrides[r.ch]; ok {
		return Rendered{Type: "override", Native: append(json.RawMessage(nil), raw...), Text: text, Prompt: prompt}, nil
	}
	plain := Rendered{Type: "text", Text: text, Prompt: prompt}
	lvl := r.level(featureOf(c.Type))
	if c.FallbackText != "" || lvl == FallbackText {
		// The author's fallback text, or the channel's table cell says
		// "uses the fallback text" (email's quick replies): the generated
		// numbered text stands in when the author wrote none.
		plain.Type = "fallback_text"
	}
	native := lvl == Native
	switch c.Type {
	case TypeText:
		return Rendered{Type: "text", Text: c.Text}, nil
	case TypeHTML, TypeMarkdown:
		return r.renderMarkup(native, plain)
	case TypeAdaptiveCard:
		if native && r.ch == ChannelChat {
			return r.native("chat.adaptive_card", r.chatMessage(), text, nil)
		}
		return plain, nil
	case TypeFile:
		return r.renderFile(plain)
	case TypeLocation:
		return r.renderLocation(plain)
	case TypeForm:
		return r.renderForm(native, prompt)
	}
	if !native {
		return plain, nil
	}
	var (
		rung    string
		payload any
		ok      bool
	)
	switch r.ch {
	case ChannelWhatsApp:
		rung, payload, ok = r.whatsapp(prompt)
	case ChannelMessenger:
		rung, payload, ok = r.messenger(prompt)
	case ChannelAppleMessages:
		rung, payload, ok = r.apple(prompt)
	case ChannelGoogleBusinessMessages:
		rung, payload, ok = r.gbm(prompt)
	case ChannelChat:
		rung, payload, ok = "chat."+string(c.Type), r.chatMessage(), true
	}
	if !ok {
		return plain, nil
	}
	return r.native(rung, payload, text, prompt)
}

// renderMarkup: email and chat get sanitised HTML, WhatsApp its own
// markup, everyone else plain text made from the sanitised HTML.
func (r *renderer) renderMarkup(native bool, plain Rendered) (Rendered, error) {
	c := r.c
	var h string
	if c.Type == TypeHTML {
		h = sanitizeHTML(c.Text)
	} else {
		h = markdownToHTML(c.Text)
	}
	text := htmlToText(h, false)
	if c.FallbackText != "" {
		text = c.FallbackText
	}
	if !native {
		return Rendered{Type: plain.Type, Text: text}, nil
	}
	switch r.ch {
	case ChannelEmail:
		return Rendered{Type: "email.html", Text: text, HTML: h}, nil
	case ChannelChat:
		out, err := r.native("chat.html", obj{"v": 1, "type": "html", "html": h, "text": text}, text, nil)
		out.HTML = h
		return out, err
	case ChannelWhatsApp:
		body := htmlToText(h, true)
		if body == "" || !fits(body, 4096) {
			return Rendered{Type: plain.Type, Text: text}, nil
		}
		return r.native("whatsapp.text.markup", waBase("text", obj{"preview_url": false, "body": body}), text, nil)
	}
	return Rendered{Type: plain.Type, Text: text}, nil
}

// renderFile sends a file natively where Parley has the platform's
// attachment shape by URL; a file known only by attachment id goes to the
// adapter ("attachment" rung), which uploads it from the blob store.
func (r *renderer) renderFile(plain Rendered) (Rendered, error) {
	m := r.c.Media
	if !takesAttachments(r.ch) {
		return plain, nil
	}
	if m.URL == "" {
		return Rendered{Type: "attachment", Text: plain.Text}, nil
	}
	kind := mediaKind(m.MimeType)
	switch r.ch {
	case ChannelWhatsApp:
		body := obj{"link": m.URL}
		waKind := kind
		if waKind == "file" {
			waKind = "document"
			if m.FileName != "" {
				body["filename"] = m.FileName
			}
		}
		if r.c.Text != "" && waKind != "audio" {
			body["caption"] = truncate(r.c.Text, 1024)
		}
		return r.native("whatsapp."+waKind, waBase(waKind, body), plain.Text, nil)
	case ChannelMessenger:
		return r.native("messenger.attachment."+kind, obj{"message": obj{"attachment": obj{
			"type": kind, "payload": obj{"url": m.URL, "is_reusable": true}}}}, plain.Text, nil)
	case ChannelChat:
		return r.native("chat.file", r.chatMessage(), plain.Text, nil)
	}
	return Rendered{Type: "attachment", Text: plain.Text}, nil
}

func mediaKind(mimeType string) string {
	switch {
	case strings.HasPrefix(mimeType, "image/"):
		return "image"
	case strings.HasPrefix(mimeType, "video/"):
		return "video"
	case strings.HasPrefix(mimeType, "audio/"):
		return "audio"
	}
	return "file"
}

func (r *renderer) renderLocation(plain Rendered) (Rendered, error) {
	l := r.c.Location
	switch r.ch {
	case ChannelWhatsApp:
		loc := obj{"latitude": l.Latitude, "longitude": l.Longitude}
		if l.Title != "" {
			loc["name"] = l.Title
		}
		if l.Address != "" {
			loc["address"] = l.Address
		}
		return r.native("whatsapp.location", waBase("location", loc), plain.Text, nil)
	case ChannelChat:
		return r.native("chat.location", r.chatMessage(), plain.Text, nil)
	}
	return plain, nil
}

// renderForm: native form (Apple, chat widget) → hosted web form when the
// caller has a URL for it → one question at a time in text.
func (r *renderer) renderForm(native bool, p *Prompt) (Rendered, error) {
	c := r.c
	if native && (r.ch == ChannelAppleMessages || r.ch == ChannelChat) {
		p.Form.Mode = FormNative
		var b strings.Builder
		b.WriteString(c.prompt())
		for _, f := range c.Fields {
			b.WriteString("\n- " + f.Label)
		}
		if r.ch == ChannelChat {
			return r.native("chat.form", r.chatMessage(), b.String(), p)
		}
		return r.native("apple.form", r.appleForm(), b.String(), p)
	}
	if r.opts.FormURL != "" {
		p.Form.Mode = FormWeb
		text := c.prompt() + "\n" + r.opts.FormURL
		if c.Title != "" && c.Text != "" {
			text = c.Title + "\n" + text
		}
		return Rendered{Type: "form.web", Text: text, Prompt: p}, nil
	}
	p.Form.Mode = FormSequential
	var b strings.Builder
	if c.Title != "" && c.Text != "" {
		b.WriteString(c.Title + "\n")
	}
	b.WriteString(c.prompt() + "\n")
	b.WriteString(fieldQuestion(c.Fields[0], true))
	return Rendered{Type: "form.sequential", Text: b.String(), Prompt: p}, nil
}

// fallback builds the plain-text version of any content and the prompt an
// answer maps back through. Numbered text looks like RICH_CONTENT.md's:
//
//	Which day suits you?
//	1) Monday 24 Nov, 09:00–09:30
//	2) Monday 24 Nov, 14:00–14:30
//	Reply with a number.
func (r *renderer) fallback() (string, *Prompt) {
	c := r.c
	var b strings.Builder
	var p *Prompt
	head := func() {
		if c.Title != "" && c.Text != "" {
			b.WriteString(c.Title + "\n" + c.Text + "\n")
		} else if s := c.prompt(); s != "" {
			b.WriteString(s + "\n")
		}
	}
	footer := func(multi bool) {
		if multi {
			b.WriteString("Reply with numbers, e.g. 1,3.")
		} else {
			b.WriteString("Reply with a number.")
		}
	}
	switch c.Type {
	case TypeText:
		b.WriteString(c.Text)
	case TypeHTML, TypeMarkdown, TypeAdaptiveCard:
		// replaced by their own text conversions or FallbackText.
		b.WriteString(c.FallbackText)
	case TypeQuickReplies, TypeListPicker:
		p = r.newPrompt(KindOption)
		p.MultiSelect, p.Persistent = c.MultiSelect, c.Persistent
		head()
		n := 0
		for _, g := range r.groups() {
			if g.title != "" {
				b.WriteString(g.title + "\n")
			}
			for _, o := range g.opts {
				n++
				p.Options = append(p.Options, PromptOption{Number: n, ID: o.ID, Label: o.Label, Postback: o.Postback})
				line := itoa(n) + ") " + o.Label
				if o.Description != "" {
					line += " — " + o.Description
				}
				b.WriteString(line + "\n")
			}
		}
		footer(c.MultiSelect)
	case TypeTimePicker:
		p = r.newPrompt(KindSlot)
		p.Slots = append([]TimeSlot(nil), c.Slots...)
		p.Timezone = r.loc.String()
		head()
		if l := c.Location; l != nil && (l.Title != "" || l.Address != "") {
			b.WriteString(strings.TrimSpace(l.Title+" "+l.Address) + "\n")
		}
		for i, s := range c.Slots {
			label := r.slotLabel(s)
			p.Options = append(p.Options, PromptOption{Number: i + 1, ID: s.ID, Label: label})
			b.WriteString(itoa(i+1) + ") " + label + "\n")
		}
		footer(false)
	case TypeForm:
		p = r.newPrompt(KindForm)
		p.Fields = append([]Field(nil), c.Fields...)
		p.Form = &FormState{Mode: FormSequential, Values: map[string]string{}}
		head()
		b.WriteString(fieldQuestion(c.Fields[0], true))
	case TypeRichLink:
		if c.Text != "" {
			b.WriteString(c.Text + "\n")
		}
		title := c.Link.Title
		if title == "" {
			title = c.Title
		}
		if title != "" {
			b.WriteString(title + " — ")
		}
		b.WriteString(c.Link.URL)
	case TypeCard:
		p = r.newPrompt(KindOption)
		head()
		if c.Link != nil {
			b.WriteString(c.Link.URL + "\n")
		}
		r.actionLines(&b, p, c.Options)
		if len(p.Options) > 0 {
			footer(false)
		}
	case TypeCarousel:
		p = r.newPrompt(KindOption)
		if c.Text != "" {
			b.WriteString(c.Text + "\n")
		}
		for i, it := range c.Items {
			if i > 0 || c.Text != "" {
				b.WriteString("\n")
			}
			line := it.Title
			if line == "" {
				line = it.Subtitle
			}
			if it.URL != "" {
				line += " — " + it.URL
			}
			b.WriteString(line + "\n")
			if it.Title != "" && it.Subtitle != "" {
				b.WriteString(it.Subtitle + "\n")
			}
			r.actionLines(&b, p, it.Actions)
		}
		if len(p.Options) > 0 {
			footer(false)
		}
	case TypeFile:
		if c.Text != "" {
			b.WriteString(c.Text + "\n")
		}
		name := c.Media.FileName
		if name == "" {
			name = c.Media.Alt
		}
		switch {
		case c.Media.URL != "" && name != "":
			b.WriteString(name + ": " + c.Media.URL)
		case c.Media.URL != "":
			b.WriteString(c.Media.URL)
		default:
			b.WriteString(name)
		}
	case TypeLocation:
		l := c.Location
		if c.Text != "" {
			b.WriteString(c.Text + "\n")
		}
		if l.Title != "" {
			b.WriteString(l.Title + "\n")
		}
		if l.Address != "" {
			b.WriteString(l.Address + "\n")
		}
		b.WriteString(mapsURL(l))
	}
	if p != nil && len(p.Options) == 0 && p.Kind != KindForm {
		p = nil
	}
	text := strings.TrimRight(b.String(), "\n")
	if c.FallbackText != "" {
		text = c.FallbackText
	}
	return text, p
}

// actionLines numbers the answer actions of a card and lists link and call
// actions as "Label: target" (they cannot be answered in text).
func (r *renderer) actionLines(b *strings.Builder, p *Prompt, actions []Option) {
	for _, a := range actions {
		if a.answerable() {
			n := len(p.Options) + 1
			p.Options = append(p.Options, PromptOption{Number: n, ID: a.ID, Label: a.Label, Postback: a.Postback})
			b.WriteString(itoa(n) + ") " + a.Label + "\n")
		} else {
			b.WriteString(a.Label + ": " + a.Postback + "\n")
		}
	}
}

func mapsURL(l *Location) string {
	return "https://www.google.com/maps/search/?api=1&query=" +
		strconv.FormatFloat(l.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(l.Longitude, 'f', -1, 64)
}

func (r *renderer) newPrompt(kind PromptKind) *Prompt {
	p := &Prompt{ID: r.opts.MessageID, Channel: r.ch, Kind: kind}
	if !r.opts.Now.IsZero() {
		ttl := r.opts.PromptTTL
		if ttl <= 0 {
			ttl = DefaultPromptTTL
		}
		p.ExpiresAt = r.opts.Now.Add(ttl).UTC()
	}
	return p
}

type optionGroup struct {
	title string
	opts  []Option
}

// groups returns list options in display order: by section when there are
// sections (ungrouped options last, under "More"), else one untitled group.
func (r *renderer) groups() []optionGroup {
	c := r.c
	if len(c.Sections) == 0 {
		return []optionGroup{{opts: c.Options}}
	}
	byID := make(map[string]Option, len(c.Options))
	for _, o := range c.Options {
		byID[o.ID] = o
	}
	used := make(map[string]bool)
	var gs []optionGroup
	for _, s := range c.Sections {
		g := optionGroup{title: s.Title}
		for _, id := range s.OptionIDs {
			g.opts = append(g.opts, byID[id])
			used[id] = true
		}
		gs = append(gs, g)
	}
	rest := optionGroup{title: "More"}
	for _, o := range c.Options {
		if !used[o.ID] {
			rest.opts = append(rest.opts, o)
		}
	}
	if len(rest.opts) > 0 {
		gs = append(gs, rest)
	}
	return gs
}

// slotLabel writes a slot in the customer's zone: "Monday 24 Nov,
// 09:00–09:30", unless the content gave it a label.
func (r *renderer) slotLabel(s TimeSlot) string {
	if s.Label != "" {
		return s.Label
	}
	start, end := r.slotTimes(s)
	if start.YearDay() == end.YearDay() && start.Year() == end.Year() {
		return start.Format("Monday 2 Jan, 15:04") + "–" + end.Format("15:04")
	}
	return start.Format("Monday 2 Jan, 15:04") + "–" + end.Format("Monday 2 Jan, 15:04")
}

// slotShort is a slot label that fits 20 characters ("Mon 24 Nov 09:00").
func (r *renderer) slotShort(s TimeSlot) string {
	if s.Label != "" {
		return s.Label
	}
	start, _ := r.slotTimes(s)
	return start.Format("Mon 2 Jan 15:04")
}

// slotRange fits 24 characters ("Mon 24 Nov 09:00–09:30").
func (r *renderer) slotRange(s TimeSlot) string {
	if s.Label != "" {
		return s.Label
	}
	start, end := r.slotTimes(s)
	return start.Format("Mon 2 Jan 15:04") + "–" + end.Format("15:04")
}

func (r *renderer) slotTimes(s TimeSlot) (time.Time, time.Time) {
	start, _ := time.Parse(time.RFC3339, s.Start)
	start = start.In(r.loc)
	return start, start.Add(time.Duration(s.DurationSec) * time.Second)
}

// fieldQuestion is how a form field is asked in text.
func fieldQuestion(f Field, first bool) string {
	var b strings.Builder
	b.WriteString(f.Label)
	if f.Placeholder != "" {
		b.WriteString(" (e.g. " + f.Placeholder + ")")
	}
	if f.Type == FieldDate && f.Placeholder == "" {
		b.WriteString(" (YYYY-MM-DD)")
	}
	for i, o := range f.Options {
		b.WriteString("\n" + itoa(i+1) + ") " + o.Label)
	}
	var hints []string
	if f.Type == FieldSelect {
		if f.MultiSelect {
			hints = append(hints, "Reply with numbers, e.g. 1,3.")
		} else {
			hints = append(hints, "Reply with a number.")
		}
	}
	if !f.Required {
		hints = append(hints, "Optional: reply “skip” to leave it empty.")
	}
	if first {
		hints = append(hints, "Reply “cancel” to stop.")
	}
	if len(hints) > 0 {
		b.WriteString("\n" + strings.Join(hints, " "))
	}
	return b.String()
}
