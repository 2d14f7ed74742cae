package slack

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/content"
)

// Block Kit limits (CHANNELS.md §9, Slack's Block Kit reference).
const (
	maxBlocks          = 50
	maxSectionText     = 3000
	maxPlainText       = 75 // button text, option text and description, option group label
	maxActionsElements = 25
	maxSelectOptions   = 100
	maxAltText         = 2000
	maxURL             = 3000
	// maxListButtons: a single-choice list of at most this many options,
	// without sections or descriptions, shows as buttons; longer lists as
	// a menu.
	maxListButtons = 5
)

// The action_ids of the elements Parley renders. Parse reads them back:
// a choice carries the option (or slot) id in its value, a link button
// answers nothing, and the multi-select answers with its Send button.
const (
	actionChoicePrefix = "choice:" // button: "choice:<option id>", value <option id>
	actionSelect       = "choice"  // static_select: selected_option.value is the option id
	actionMultiChoice  = "choices" // multi_static_select of a multi-select list
	actionSubmit       = "submit"  // the Send button of a multi-select list
	actionLinkPrefix   = "link:"   // a button that opens a URL
)

type obj = map[string]any

// RenderNative upgrades what the content engine rendered for Slack (plain
// text with a numbered fallback and, for a question, its prompt) to Block
// Kit: quick replies as buttons, list pickers as buttons or a menu (option
// groups for sections, a multi-select and a Send button for multi-select
// lists), time pickers as one button per slot (a menu beyond 25 slots),
// rich links, cards and carousels as sections with an image accessory and
// link buttons, and images as image blocks. base.Text stays the message's
// text fallback (notifications, the transcript) and base.Prompt is kept:
// every answer button or menu option carries its option or slot id, which
// Parse returns as the event's ChoiceID. Content that does not fit Block
// Kit's limits stays as base (ok false).
func (a *Adapter) RenderNative(c content.Content, base content.Rendered) (content.Rendered, bool) {
	if base.Native != nil || base.Type == "override" {
		return base, false
	}
	var (
		form   string
		blocks []obj
		ok     bool
	)
	switch c.Type {
	case content.TypeQuickReplies:
		form = "quick_replies"
		blocks, ok = optionButtons(head(&c), c.Options)
	case content.TypeListPicker:
		form, blocks, ok = listPicker(&c)
	case content.TypeTimePicker:
		form, blocks, ok = timePicker(&c, base.Prompt)
	case content.TypeRichLink:
		form = "rich_link"
		blocks, ok = richLink(&c)
	case content.TypeCard:
		form = "card"
		blocks, ok = card(c.Title, c.Text, mediaURL(c.Media), mediaAlt(c.Media), c.Link, c.Options)
	case content.TypeCarousel:
		form = "carousel"
		blocks, ok = carousel(&c)
	case content.TypeFile:
		form = "image"
		blocks, ok = image(&c)
	}
	if !ok || len(blocks) == 0 || len(blocks) > maxBlocks {
		return base, false
	}
	native, err := marshal(obj{"text": escape(base.Text), "blocks": blocks})
	if err != nil {
		return base, false
	}
	out := base
	out.Type = Type + "." + form
	out.Native = native
	return out, true
}

// escape writes text for a mrkdwn field: Slack parses &, < and > as
// control characters, so they are sent as entities.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// cut shortens s to at most n characters, ending with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

func plainTextObj(s string) obj { return obj{"type": "plain_text", "text": s} }

// section is a mrkdwn section; nil when text is empty, ok false when it is
// over Slack's limit.
func section(text string) (obj, bool) {
	if strings.TrimSpace(text) == "" {
		return nil, true
	}
	if utf8.RuneCountInString(text) > maxSectionText {
		return nil, false
	}
	return obj{"type": "section", "text": obj{"type": "mrkdwn", "text": text}}, true
}

// head is a picker's question in mrkdwn: a bold title over the text, or
// whichever of them is set.
func head(c *content.Content) string {
	switch {
	case c.Title != "" && c.Text != "":
		return "*" + escape(c.Title) + "*\n" + escape(c.Text)
	case c.Text != "":
		return escape(c.Text)
	}
	return escape(c.Title)
}

func choiceButton(id, label string) obj {
	return obj{"type": "button", "text": plainTextObj(cut(label, maxPlainText)), "action_id": actionChoicePrefix + id, "value": id}
}

func linkButton(n int, label, target string) obj {
	return obj{"type": "button", "text": plainTextObj(cut(label, maxPlainText)), "action_id": actionLinkPrefix + strconv.Itoa(n), "url": target}
}

// actions splits elements into actions blocks of at most 25.
func actions(elements []obj) []obj {
	var out []obj
	for len(elements) > 0 {
		n := min(len(elements), maxActionsElements)
		out = append(out, obj{"type": "actions", "elements": elements[:n]})
		elements = elements[n:]
	}
	return out
}

// optionButtons is the question and one button per option.
func optionButtons(question string, opts []content.Option) ([]obj, bool) {
	var blocks []obj
	s, ok := section(question)
	if !ok {
		return nil, false
	}
	if s != nil {
		blocks = append(blocks, s)
	}
	buttons := make([]obj, 0, len(opts))
	for _, o := range opts {
		buttons = append(buttons, choiceButton(o.ID, o.Label))
	}
	return append(blocks, actions(buttons)...), true
}

// listPicker: a few plain options as buttons; otherwise a menu, with
// option groups for sections, or a multi-select and a Send button.
func listPicker(c *content.Content) (string, []obj, bool) {
	plain := len(c.Sections) == 0 && len(c.Options) <= maxListButtons
	for _, o := range c.Options {
		if o.Description != "" {
			plain = false
		}
	}
	if plain && !c.MultiSelect {
		blocks, ok := optionButtons(head(c), c.Options)
		return "list_picker.buttons", blocks, ok
	}
	if len(c.Options) > maxSelectOptions {
		return "", nil, false
	}
	menu := obj{"placeholder": plainTextObj("Choose an option")}
	if groups := optionGroups(c); groups != nil {
		menu["option_groups"] = groups
	} else {
		menu["options"] = selectOptions(c.Options)
	}
	question := head(c)
	if strings.TrimSpace(question) == "" || utf8.RuneCountInString(question) > maxSectionText {
		return "", nil, false
	}
	if !c.MultiSelect {
		menu["type"], menu["action_id"] = "static_select", actionSelect
		return "list_picker.select", []obj{{"type": "section", "text": obj{"type": "mrkdwn", "text": question}, "accessory": menu}}, true
	}
	menu["type"], menu["action_id"] = "multi_static_select", actionMultiChoice
	menu["placeholder"] = plainTextObj("Choose one or more")
	send := obj{"type": "button", "text": plainTextObj("Send"), "action_id": actionSubmit, "value": actionSubmit, "style": "primary"}
	return "list_picker.multi_select", []obj{
		{"type": "section", "text": obj{"type": "mrkdwn", "text": question}, "accessory": menu},
		{"type": "actions", "elements": []obj{send}},
	}, true
}

func selectOption(o content.Option) obj {
	out := obj{"text": plainTextObj(cut(o.Label, maxPlainText)), "value": o.ID}
	if o.Description != "" {
		out["description"] = plainTextObj(cut(o.Description, maxPlainText))
	}
	return out
}

func selectOptions(opts []content.Option) []obj {
	out := make([]obj, 0, len(opts))
	for _, o := range opts {
		out = append(out, selectOption(o))
	}
	return out
}

// optionGroups mirrors the engine's grouping: the sections in order, then
// the options no section names under "More". Nil without sections.
func optionGroups(c *content.Content) []obj {
	if len(c.Sections) == 0 {
		return nil
	}
	byID := make(map[string]content.Option, len(c.Options))
	for _, o := range c.Options {
		byID[o.ID] = o
	}
	used := map[string]bool{}
	var groups []obj
	for _, s := range c.Sections {
		var opts []content.Option
		for _, id := range s.OptionIDs {
			opts = append(opts, byID[id])
			used[id] = true
		}
		groups = append(groups, obj{"label": plainTextObj(cut(s.Title, maxPlainText)), "options": selectOptions(opts)})
	}
	var rest []content.Option
	for _, o := range c.Options {
		if !used[o.ID] {
			rest = append(rest, o)
		}
	}
	if len(rest) > 0 {
		groups = append(groups, obj{"label": plainTextObj("More"), "options": selectOptions(rest)})
	}
	return groups
}

// timePicker: one button per slot, labelled as the numbered fallback
// writes it in the customer's time zone (the prompt's labels); beyond 25
// slots, a menu. The content model has no free date or time question
// (slots only), so Slack's datepicker and timepicker are not used.
func timePicker(c *content.Content, p *content.Prompt) (string, []obj, bool) {
	if p == nil || len(p.Options) != len(c.Slots) {
		return "", nil, false
	}
	question := head(c)
	if l := c.Location; l != nil && (l.Title != "" || l.Address != "") {
		question += "\n" + escape(strings.TrimSpace(l.Title+" "+l.Address))
	}
	if len(p.Options) <= maxActionsElements {
		buttons := make([]obj, 0, len(p.Options))
		for _, o := range p.Options {
			buttons = append(buttons, choiceButton(o.ID, o.Label))
		}
		s, ok := section(question)
		if !ok {
			return "", nil, false
		}
		var blocks []obj
		if s != nil {
			blocks = append(blocks, s)
		}
		return "time_picker.buttons", append(blocks, actions(buttons)...), true
	}
	if utf8.RuneCountInString(question) > maxSectionText || strings.TrimSpace(question) == "" {
		return "", nil, false
	}
	opts := make([]obj, 0, len(p.Options))
	for _, o := range p.Options {
		opts = append(opts, obj{"text": plainTextObj(cut(o.Label, maxPlainText)), "value": o.ID})
	}
	menu := obj{"type": "static_select", "action_id": actionSelect, "placeholder": plainTextObj("Choose a time"), "options": opts}
	return "time_picker.select", []obj{{"type": "section", "text": obj{"type": "mrkdwn", "text": question}, "accessory": menu}}, true
}

func validLink(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && len(u) <= maxURL
}

func imageAccessory(imageURL, alt string) obj {
	if !validLink(imageURL) {
		return nil
	}
	return obj{"type": "image", "image_url": imageURL, "alt_text": cut(firstNonEmpty(alt, "image"), maxAltText)}
}

// richLink: the message, then the link's title and URL with its image,
// and a button that opens it.
func richLink(c *content.Content) ([]obj, bool) {
	l := c.Link
	if l == nil || !validLink(l.URL) {
		return nil, false
	}
	var blocks []obj
	intro, ok := section(escape(c.Text))
	if !ok {
		return nil, false
	}
	if intro != nil {
		blocks = append(blocks, intro)
	}
	title := firstNonEmpty(l.Title, c.Title)
	text := escape(l.URL)
	if title != "" {
		text = "*" + escape(title) + "*\n" + text
	}
	s, ok := section(text)
	if !ok || s == nil {
		return nil, false
	}
	if img := imageAccessory(l.ImageURL, title); img != nil {
		s["accessory"] = img
	}
	blocks = append(blocks, s, obj{"type": "actions", "elements": []obj{linkButton(0, "Open", l.URL)}})
	return blocks, true
}

func mediaURL(m *content.Media) string {
	if m == nil {
		return ""
	}
	return m.URL
}

func mediaAlt(m *content.Media) string {
	if m == nil {
		return ""
	}
	return firstNonEmpty(m.Alt, m.FileName)
}

// card: title and text with the image beside them; answer options as
// choice buttons, url options (and the card's own link) as link buttons;
// call options, which Slack buttons cannot dial, as "Label: number" lines.
func card(title, text, image, alt string, link *content.Link, opts []content.Option) ([]obj, bool) {
	var lines []string
	if title != "" {
		lines = append(lines, "*"+escape(title)+"*")
	}
	if text != "" {
		lines = append(lines, escape(text))
	}
	var buttons []obj
	links := 0
	for _, o := range opts {
		switch o.Kind {
		case content.OptionURL:
			if !validLink(o.Postback) {
				return nil, false
			}
			buttons = append(buttons, linkButton(links, o.Label, o.Postback))
			links++
		case content.OptionCall:
			lines = append(lines, escape(o.Label+": "+o.Postback))
		default:
			buttons = append(buttons, choiceButton(o.ID, o.Label))
		}
	}
	if link != nil && validLink(link.URL) {
		buttons = append(buttons, linkButton(links, firstNonEmpty(link.Title, "Open"), link.URL))
	}
	s, ok := section(strings.Join(lines, "\n"))
	if !ok || s == nil {
		return nil, false
	}
	if img := imageAccessory(image, firstNonEmpty(alt, title)); img != nil {
		s["accessory"] = img
	}
	return append([]obj{s}, actions(buttons)...), true
}

// carousel: an introduction, then each card, separated by dividers.
func carousel(c *content.Content) ([]obj, bool) {
	var blocks []obj
	intro, ok := section(escape(c.Text))
	if !ok {
		return nil, false
	}
	if intro != nil {
		blocks = append(blocks, intro)
	}
	for i, it := range c.Items {
		if i > 0 || intro != nil {
			blocks = append(blocks, obj{"type": "divider"})
		}
		var link *content.Link
		if it.URL != "" {
			link = &content.Link{URL: it.URL}
		}
		cb, ok := card(it.Title, it.Subtitle, it.MediaURL, it.Title, link, it.Actions)
		if !ok {
			return nil, false
		}
		blocks = append(blocks, cb...)
	}
	return blocks, true
}

// image: an image file known by URL as an image block, with its caption.
// Other files (and files known only by attachment id) are uploaded by
// Send, or written as their link.
func image(c *content.Content) ([]obj, bool) {
	m := c.Media
	if m == nil || !strings.HasPrefix(strings.ToLower(m.MimeType), "image/") || !validLink(m.URL) {
		return nil, false
	}
	var blocks []obj
	caption, ok := section(escape(c.Text))
	if !ok {
		return nil, false
	}
	if caption != nil {
		blocks = append(blocks, caption)
	}
	return append(blocks, obj{"type": "image", "image_url": m.URL, "alt_text": cut(firstNonEmpty(m.Alt, m.FileName, "image"), maxAltText)}), true
}
