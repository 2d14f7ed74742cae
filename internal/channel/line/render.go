package line

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/content"
)

// Limits of LINE's message objects (Messaging API reference).
const (
	maxQuickReplies      = 13
	maxActionLabel       = 20
	maxPostbackData      = 300
	maxDisplayText       = 300
	maxAltText           = 400
	maxTemplateTitle     = 40
	maxButtonsText       = 160 // 60 with a title or an image
	maxColumnText        = 120 // 60 with a title or an image
	maxShortTemplateText = 60
	maxButtonsActions    = 4
	maxColumns           = 10
	maxColumnActions     = 3
	maxURI               = 1000
	maxImageURL          = 2000
	maxLocationField     = 100
)

type obj = map[string]any

// RenderNative upgrades what the content engine rendered for LINE (plain
// text, and for a question its prompt) to LINE's own elements:
//
//   - quick replies, list pickers, time pickers: quick-reply buttons (≤ 13,
//     labels ≤ 20 characters) over the numbered text, which stays the
//     message body because LINE for PC shows no quick replies; a persistent
//     list of ≤ 4 options becomes a buttons template; what does not fit
//     them, up to 10 choices, a carousel template (one column per choice);
//     more, or a multi-select list, stays numbered text;
//   - rich link and card: a buttons template with uri (and postback)
//     actions; carousel: a carousel template;
//   - location: a location message.
//
// Every button that answers is a postback whose data is the option (or
// slot) id, "|" and the label, with the label as displayText: the tap comes
// back as that id (InboundEvent.ChoiceID) and the label (Text). Templates
// carry the numbered text as altText, shown in notifications.
func (a *Adapter) RenderNative(c content.Content, base content.Rendered) (content.Rendered, bool) {
	var (
		rung string
		msgs []any
	)
	switch c.Type {
	case content.TypeQuickReplies, content.TypeListPicker:
		if !c.MultiSelect {
			rung, msgs = renderChoices(&c, base, optionChoices(&c, base.Prompt), c.Persistent)
		}
	case content.TypeTimePicker:
		rung, msgs = renderChoices(&c, base, slotChoices(&c, base.Prompt), false)
	case content.TypeRichLink:
		rung, msgs = renderRichLink(&c, base)
	case content.TypeCard:
		rung, msgs = renderCard(&c, base)
	case content.TypeCarousel:
		rung, msgs = renderCarousel(&c, base)
	case content.TypeLocation:
		rung, msgs = renderLocation(&c)
	}
	if rung == "" {
		return base, false
	}
	native, err := json.Marshal(obj{"messages": msgs})
	if err != nil {
		return base, false
	}
	out := base
	out.Type, out.Native = rung, native
	return out, true
}

// choice is one answer button: the id that comes back, the label the
// customer sees in the chat once tapped (and in the numbered text), the
// button's own label (≤ 20 characters), an optional longer description and
// icon.
type choice struct {
	id, label, button, description, icon string
}

// optionChoices lists the options in the prompt's order (the numbering the
// customer sees), falling back to the content's.
func optionChoices(c *content.Content, p *content.Prompt) []choice {
	byID := make(map[string]content.Option, len(c.Options))
	for _, o := range c.Options {
		byID[o.ID] = o
	}
	var out []choice
	add := func(id, label string) {
		o := byID[id]
		out = append(out, choice{id: id, label: label, button: label, description: o.Description, icon: o.IconURL})
	}
	if p != nil && len(p.Options) > 0 {
		for _, po := range p.Options {
			add(po.ID, po.Label)
		}
		return out
	}
	for _, o := range c.Options {
		add(o.ID, o.Label)
	}
	return out
}

// slotChoices lists the time slots with their labels in the customer's
// zone (the prompt's, as the numbered text writes them); the button shows
// the slot's own label when it fits, else "Mon 24 Nov 09:00".
func slotChoices(c *content.Content, p *content.Prompt) []choice {
	loc := time.UTC
	labels := map[string]string{}
	if p != nil {
		if p.Timezone != "" {
			if l, err := time.LoadLocation(p.Timezone); err == nil {
				loc = l
			}
		}
		for _, o := range p.Options {
			labels[o.ID] = o.Label
		}
	} else if c.Timezone != "" {
		if l, err := time.LoadLocation(c.Timezone); err == nil {
			loc = l
		}
	}
	out := make([]choice, 0, len(c.Slots))
	for _, s := range c.Slots {
		start, _ := time.Parse(time.RFC3339, s.Start)
		short := start.In(loc).Format("Mon 2 Jan 15:04")
		label := labels[s.ID]
		if label == "" {
			label = s.Label
		}
		if label == "" {
			label = start.In(loc).Format("Monday 2 Jan, 15:04")
		}
		button := short
		if s.Label != "" && fits(s.Label, maxActionLabel) {
			button = s.Label
		}
		out = append(out, choice{id: s.ID, label: label, button: button})
	}
	return out
}

// buttonsFit: every button label fits and no two read the same.
func buttonsFit(cs []choice) bool {
	seen := map[string]bool{}
	for _, ch := range cs {
		if ch.button == "" || !fits(ch.button, maxActionLabel) || seen[ch.button] {
			return false
		}
		seen[ch.button] = true
	}
	return true
}

// renderChoices takes the first rung that fits: quick replies, a buttons
// template (persistent lists: quick replies vanish after a tap), a
// carousel with one column per choice.
func renderChoices(c *content.Content, base content.Rendered, cs []choice, persistent bool) (string, []any) {
	n := len(cs)
	if n == 0 {
		return "", nil
	}
	fit := buttonsFit(cs)
	switch {
	case !persistent && n <= maxQuickReplies && fit:
		body := base.Text
		if body == "" || !fits(body, MaxTextLength) {
			body = promptText(c)
		}
		items := make([]any, 0, n)
		for _, ch := range cs {
			it := obj{"type": "action", "action": postback(ch, ch.button)}
			if httpsURL(ch.icon, maxImageURL) {
				it["imageUrl"] = ch.icon
			}
			items = append(items, it)
		}
		return "line.quick_reply", []any{obj{"type": "text", "text": body, "quickReply": obj{"items": items}}}
	case n <= maxButtonsActions && fit:
		t := obj{"type": "buttons"}
		text := promptText(c)
		if c.Title != "" && c.Text != "" {
			t["title"] = truncate(c.Title, maxTemplateTitle)
			text = c.Text
		}
		limit := maxButtonsText
		if t["title"] != nil {
			limit = maxShortTemplateText
		}
		var msgs []any
		if !fits(text, limit) {
			// The whole question first, in its own message.
			msgs = append(msgs, textMessage(text))
			text = truncate(text, limit)
		}
		t["text"] = text
		actions := make([]any, 0, n)
		for _, ch := range cs {
			actions = append(actions, postback(ch, ch.button))
		}
		t["actions"] = actions
		return "line.template.buttons", append(msgs, template(base, t))
	case n <= maxColumns:
		images := true
		for _, ch := range cs {
			images = images && httpsURL(ch.icon, maxImageURL)
		}
		limit := maxColumnText
		if images {
			limit = maxShortTemplateText
		}
		cols := make([]any, 0, n)
		for _, ch := range cs {
			text := ch.label
			if ch.description != "" {
				text += " — " + ch.description
			}
			button := ch.button
			if !fits(button, maxActionLabel) {
				button = "Choose"
			}
			col := obj{"text": truncate(text, limit), "actions": []any{postback(ch, button)}}
			if images {
				col["thumbnailImageUrl"] = ch.icon
			}
			cols = append(cols, col)
		}
		return "line.template.carousel", []any{textMessage(truncate(promptText(c), MaxTextLength)),
			template(base, obj{"type": "carousel", "columns": cols})}
	}
	return "", nil
}

// postback is an answer button: data "<id>|<label>", the label shown in
// the chat as the customer's message once tapped.
func postback(ch choice, button string) obj {
	label := ch.label
	if label == "" {
		label = ch.button
	}
	room := maxPostbackData - utf8.RuneCountInString(ch.id) - 1
	return obj{"type": "postback", "label": truncate(button, maxActionLabel),
		"data": ch.id + "|" + cut(label, room), "displayText": truncate(label, maxDisplayText)}
}

func template(base content.Rendered, t obj) obj {
	alt := base.Text
	if strings.TrimSpace(alt) == "" {
		alt = "(a message for the LINE app)"
	}
	return obj{"type": "template", "altText": truncate(alt, maxAltText), "template": t}
}

func textMessage(s string) obj { return obj{"type": "text", "text": s} }

// promptText is the question of a picker: title and text, or either.
func promptText(c *content.Content) string {
	switch {
	case c.Title != "" && c.Text != "":
		return c.Title + "\n" + c.Text
	case c.Text != "":
		return c.Text
	}
	return c.Title
}

// renderRichLink: a buttons template opening the link (its image and
// title when given); a text too long for the template goes first.
func renderRichLink(c *content.Content, base content.Rendered) (string, []any) {
	l := c.Link
	if !webURL(l.URL, maxURI) {
		return "", nil
	}
	title := l.Title
	if title == "" {
		title = c.Title
	}
	open := obj{"type": "uri", "label": "Open", "uri": l.URL}
	t := obj{"type": "buttons", "defaultAction": open, "actions": []any{open}}
	if title != "" {
		t["title"] = truncate(title, maxTemplateTitle)
	}
	if httpsURL(l.ImageURL, maxImageURL) {
		t["thumbnailImageUrl"] = l.ImageURL
	}
	return "line.template.buttons", templateWithText(base, t, c.Text, hostOf(l.URL))
}

// renderCard: a buttons template with the card's image, title, text and
// actions (answers as postbacks, links and calls as uri actions); a card
// with neither actions nor link stays text.
func renderCard(c *content.Content, base content.Rendered) (string, []any) {
	actions, ok := cardActions(c.Options, linkURL(c.Link))
	if !ok || len(actions) == 0 || len(actions) > maxButtonsActions {
		return "", nil
	}
	t := obj{"type": "buttons", "actions": actions}
	text := c.Text
	if c.Title != "" && c.Text != "" {
		t["title"] = truncate(c.Title, maxTemplateTitle)
	} else if text == "" {
		text = c.Title
	}
	if c.Media != nil && httpsURL(c.Media.URL, maxImageURL) {
		t["thumbnailImageUrl"] = c.Media.URL
	}
	if u := linkURL(c.Link); u != "" {
		t["defaultAction"] = obj{"type": "uri", "label": "Open", "uri": u}
	}
	return "line.template.buttons", templateWithText(base, t, text, text)
}

// templateWithText puts text in a buttons template, or, when it is too
// long for it, in a text message before the template, which then shows
// short instead.
func templateWithText(base content.Rendered, t obj, text, short string) []any {
	limit := maxButtonsText
	if t["title"] != nil || t["thumbnailImageUrl"] != nil {
		limit = maxShortTemplateText
	}
	var msgs []any
	if text != "" && !fits(text, limit) {
		msgs = append(msgs, textMessage(truncate(text, MaxTextLength)))
		text = ""
	}
	if text == "" {
		text = short
	}
	t["text"] = truncate(text, limit)
	return append(msgs, template(base, t))
}

// renderCarousel: a carousel template, one column per card. LINE wants
// every column alike (as many actions; image and title on all or none), so
// a carousel whose cards differ in their number of actions stays text.
func renderCarousel(c *content.Content, base content.Rendered) (string, []any) {
	if len(c.Items) == 0 || len(c.Items) > maxColumns {
		return "", nil
	}
	images, titles := true, true
	for _, it := range c.Items {
		images = images && httpsURL(it.MediaURL, maxImageURL)
		titles = titles && it.Title != "" && it.Subtitle != ""
	}
	limit := maxColumnText
	if images || titles {
		limit = maxShortTemplateText
	}
	var cols []any
	count := -1
	for _, it := range c.Items {
		actions, ok := cardActions(it.Actions, webOrEmpty(it.URL))
		if !ok || len(actions) == 0 || len(actions) > maxColumnActions || (count >= 0 && len(actions) != count) {
			return "", nil
		}
		count = len(actions)
		col := obj{"actions": actions}
		text := it.Subtitle
		if titles {
			col["title"] = truncate(it.Title, maxTemplateTitle)
		} else {
			text = strings.TrimSpace(it.Title + "\n" + it.Subtitle)
		}
		col["text"] = truncate(text, limit)
		if images {
			col["thumbnailImageUrl"] = it.MediaURL
		}
		if u := webOrEmpty(it.URL); u != "" {
			col["defaultAction"] = obj{"type": "uri", "label": "Open", "uri": u}
		}
		cols = append(cols, col)
	}
	var msgs []any
	if strings.TrimSpace(c.Text) != "" {
		msgs = append(msgs, textMessage(truncate(c.Text, MaxTextLength)))
	}
	return "line.template.carousel", append(msgs, template(base, obj{"type": "carousel", "columns": cols}))
}

// cardActions turns card options into template actions: answers as
// postbacks, links and calls as uri actions; a card without options but
// with a link gets one "Open" action.
func cardActions(opts []content.Option, link string) ([]any, bool) {
	var out []any
	for _, o := range opts {
		switch o.Kind {
		case content.OptionURL:
			if !webURL(o.Postback, maxURI) {
				return nil, false
			}
			out = append(out, obj{"type": "uri", "label": truncate(o.Label, maxActionLabel), "uri": o.Postback})
		case content.OptionCall:
			out = append(out, obj{"type": "uri", "label": truncate(o.Label, maxActionLabel), "uri": "tel:" + o.Postback})
		default:
			out = append(out, postback(choice{id: o.ID, label: o.Label, button: o.Label}, o.Label))
		}
	}
	if len(out) == 0 && link != "" {
		out = append(out, obj{"type": "uri", "label": "Open", "uri": link})
	}
	return out, true
}

// renderLocation: the optional text, then LINE's location message (title
// and address are required there).
func renderLocation(c *content.Content) (string, []any) {
	l := c.Location
	if l == nil {
		return "", nil
	}
	title := l.Title
	if strings.TrimSpace(title) == "" {
		title = "Location"
	}
	address := l.Address
	if strings.TrimSpace(address) == "" {
		address = strconv.FormatFloat(l.Latitude, 'f', -1, 64) + ", " + strconv.FormatFloat(l.Longitude, 'f', -1, 64)
	}
	var msgs []any
	if strings.TrimSpace(c.Text) != "" {
		msgs = append(msgs, textMessage(truncate(c.Text, MaxTextLength)))
	}
	return "line.location", append(msgs, obj{"type": "location", "title": truncate(title, maxLocationField),
		"address": truncate(address, maxLocationField), "latitude": l.Latitude, "longitude": l.Longitude})
}

func linkURL(l *content.Link) string {
	if l == nil {
		return ""
	}
	return webOrEmpty(l.URL)
}

func webOrEmpty(u string) string {
	if webURL(u, maxURI) {
		return u
	}
	return ""
}

// webURL: an absolute http(s) URL LINE takes in a uri action.
func webURL(s string, max int) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(s) <= max
}

// httpsURL: LINE loads images over https only.
func httpsURL(s string, max int) bool {
	u, err := url.Parse(s)
	return s != "" && err == nil && u.Scheme == "https" && u.Host != "" && len(s) <= max
}

func hostOf(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return u.Host
	}
	return s
}

func fits(s string, max int) bool { return utf8.RuneCountInString(s) <= max }

// truncate cuts s to max characters, ending with "…" when cut.
func truncate(s string, max int) string {
	if fits(s, max) {
		return s
	}
	if max <= 1 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:max-1]), " \n") + "…"
}

// cut cuts s to max characters without a mark (postback data).
func cut(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if fits(s, max) {
		return s
	}
	return string([]rune(s)[:max])
}
