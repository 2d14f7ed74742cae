package teams

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/parleyhq/parley/internal/content"
)

// Rendering (MISSION.md §3 gives Teams no rich content; Teams has it, so
// the adapter upgrades the engine's plain text, RICH_CONTENT.md's ladder):
//
//   - quick replies: up to 3 → suggested actions (imBack buttons under the
//     message, gone after a tap; Teams shows at most three). An imBack
//     tap sends the button's value as the customer's own text, so the value
//     is the label and the core's prompt resolution matches it (only when
//     the labels are told apart that way: distinct, not numbers); messageBack
//     is not a suggested action Teams supports. More options → an Adaptive
//     Card with one Action.Submit button each (up to 6, what Teams shows),
//     then a card with a choice list.
//   - list picker → a card with an Input.ChoiceSet (multi-select when the
//     list is) and a Send button; sections are flattened in their order.
//   - time picker → a card with one button per slot (up to 6), else a
//     choice list of the slots; slot labels as the text fallback wrote
//     them, in the customer's zone. (The canonical picker offers slots
//     only, so Input.Date/Input.Time have no use.)
//   - card, rich link, carousel → Adaptive Cards with image, text,
//     Action.Submit for answers and Action.OpenUrl for links.
//   - adaptive_card → the author's card, as it is.
//   - file by URL → an inline image, or a card with a download button.
//
// Every Action.Submit carries {"parley_choice": <option or slot id>,
// "parley_label": <label>}; a choice list submits "parley_choice" (ids
// joined by commas when multi-select) with a "parley_labels" map. Parse
// turns them back into ChoiceID and Text.

const (
	cardVersion       = "1.5"
	cardSchema        = "http://adaptivecards.io/schemas/adaptive-card.json"
	maxSuggested      = 3
	maxCardButtons    = 6
	maxExpandedChoice = 10
)

// choice is one answer as the customer sees it.
type choice struct {
	id, label string
}

// RenderNative upgrades the engine's plain text to Teams' native elements.
// base.Text (the transcript's text, and the card's fallback) and
// base.Prompt stay as they are.
func (a *Adapter) RenderNative(c content.Content, base content.Rendered) (content.Rendered, bool) {
	payload, form := nativeActivity(c, base)
	if payload == nil {
		return base, false
	}
	b, err := marshal(payload)
	if err != nil {
		return base, false
	}
	out := base
	out.Type = Type + "." + form
	out.Native = b
	return out, true
}

func nativeActivity(c content.Content, base content.Rendered) (map[string]any, string) {
	switch c.Type {
	case content.TypeQuickReplies:
		choices := promptChoices(base)
		if len(choices) == 0 {
			return nil, ""
		}
		if len(choices) <= maxSuggested && labelsResolvable(choices) && prompt(c) != "" {
			actions := make([]any, len(choices))
			for i, ch := range choices {
				actions[i] = map[string]any{"type": "imBack", "title": ch.label, "value": ch.label}
			}
			return map[string]any{"type": "message", "text": prompt(c), "textFormat": "plain",
				"suggestedActions": map[string]any{"actions": actions}}, "suggested_actions"
		}
		if len(choices) <= maxCardButtons {
			return cardMessage(adaptiveCard(header(c), submitButtons(choices), base.Text)), "adaptive_card.buttons"
		}
		return cardMessage(choiceListCard(header(c), choices, false, base.Text)), "adaptive_card.choice_set"
	case content.TypeListPicker:
		choices := listChoices(c, base)
		if len(choices) == 0 {
			return nil, ""
		}
		return cardMessage(choiceListCard(header(c), choices, c.MultiSelect, base.Text)), "adaptive_card.list"
	case content.TypeTimePicker:
		choices := promptChoices(base)
		if len(choices) == 0 {
			return nil, ""
		}
		if len(choices) <= maxCardButtons {
			return cardMessage(adaptiveCard(timeHeader(c), submitButtons(choices), base.Text)), "adaptive_card.time_picker"
		}
		return cardMessage(choiceListCard(timeHeader(c), choices, false, base.Text)), "adaptive_card.time_picker"
	case content.TypeCard:
		it := content.Card{Title: c.Title, Subtitle: c.Text, Actions: c.Options}
		if c.Media != nil {
			it.MediaURL = c.Media.URL
		}
		if c.Link != nil {
			it.URL = c.Link.URL
		}
		return cardMessage(itemCard(it, base.Text)), "adaptive_card.card"
	case content.TypeRichLink:
		l := c.Link
		title := l.Title
		if title == "" {
			title = c.Title
		}
		var body []any
		if l.ImageURL != "" {
			body = append(body, map[string]any{"type": "Image", "url": l.ImageURL, "size": "stretch", "altText": title})
		}
		if title != "" {
			body = append(body, textBlock(title, "bolder", "medium"))
		}
		if c.Text != "" {
			body = append(body, textBlock(c.Text, "", ""))
		}
		body = append(body, map[string]any{"type": "TextBlock", "text": l.URL, "isSubtle": true, "size": "small", "wrap": true})
		card := adaptiveCard(body, []any{openURL("Open", l.URL)}, base.Text)
		card["selectAction"] = map[string]any{"type": "Action.OpenUrl", "url": l.URL}
		return cardMessage(card), "adaptive_card.rich_link"
	case content.TypeCarousel:
		atts := make([]any, len(c.Items))
		for i, it := range c.Items {
			atts[i] = cardAttachment(itemCard(it, ""))
		}
		m := map[string]any{"type": "message", "attachmentLayout": "carousel", "attachments": atts}
		if c.Text != "" {
			m["text"], m["textFormat"] = c.Text, "plain"
		}
		return m, "carousel"
	case content.TypeAdaptiveCard:
		if len(c.AdaptiveCard) == 0 {
			return nil, ""
		}
		return map[string]any{"type": "message", "attachments": []any{
			map[string]any{"contentType": contentTypeAdaptiveCard, "content": json.RawMessage(c.AdaptiveCard)}}}, "adaptive_card"
	case content.TypeFile:
		m := c.Media
		if m == nil || m.URL == "" {
			return nil, "" // a stored file goes as an attachment of the message
		}
		name := m.FileName
		if name == "" {
			name = m.Alt
		}
		msg := map[string]any{"type": "message", "attachments": []any{fileAttachment(m.URL, name, m.MimeType)}}
		if c.Text != "" {
			msg["text"], msg["textFormat"] = c.Text, "plain"
		}
		if strings.HasPrefix(strings.ToLower(m.MimeType), "image/") {
			return msg, "image"
		}
		return msg, "file"
	}
	return nil, ""
}

// prompt is what introduces a picker: Text, else Title.
func prompt(c content.Content) string {
	if c.Title != "" && c.Text != "" {
		return c.Title + "\n" + c.Text
	}
	if c.Text != "" {
		return c.Text
	}
	return c.Title
}

// promptChoices are the answers in the order and words of the text
// fallback (the pending prompt the core stores).
func promptChoices(base content.Rendered) []choice {
	if base.Prompt == nil {
		return nil
	}
	out := make([]choice, 0, len(base.Prompt.Options))
	for _, o := range base.Prompt.Options {
		out = append(out, choice{id: o.ID, label: o.Label})
	}
	return out
}

// listChoices adds the options' descriptions, as the text fallback shows
// them ("Label — description").
func listChoices(c content.Content, base content.Rendered) []choice {
	desc := map[string]string{}
	for _, o := range c.Options {
		desc[o.ID] = o.Description
	}
	out := promptChoices(base)
	for i := range out {
		if d := desc[out[i].id]; d != "" {
			out[i].label += " — " + d
		}
	}
	return out
}

// labelsResolvable: an imBack tap comes back as its label only, which the
// core must map to exactly one option. Labels that fold to the same words,
// or that read as numbers (which the core takes as positions), are not.
func labelsResolvable(choices []choice) bool {
	seen := map[string]bool{}
	for _, ch := range choices {
		k := foldLabel(ch.label)
		if k == "" || seen[k] || !strings.ContainsFunc(k, unicode.IsLetter) {
			return false
		}
		for _, r := range k {
			if r > unicode.MaxASCII {
				return false // accents fold in the core; keep to cards then
			}
		}
		seen[k] = true
	}
	return true
}

func foldLabel(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		} else {
			space = true
		}
	}
	return b.String()
}

func textBlock(text, weight, size string) map[string]any {
	t := map[string]any{"type": "TextBlock", "text": text, "wrap": true}
	if weight != "" {
		t["weight"] = weight
	}
	if size != "" {
		t["size"] = size
	}
	return t
}

// header is a picker's title and text.
func header(c content.Content) []any {
	switch {
	case c.Title != "" && c.Text != "":
		return []any{textBlock(c.Title, "bolder", "medium"), textBlock(c.Text, "", "")}
	case c.Text != "":
		return []any{textBlock(c.Text, "", "")}
	case c.Title != "":
		return []any{textBlock(c.Title, "bolder", "medium")}
	}
	return []any{}
}

// timeHeader adds where the appointment takes place.
func timeHeader(c content.Content) []any {
	h := header(c)
	if l := c.Location; l != nil && (l.Title != "" || l.Address != "") {
		h = append(h, map[string]any{"type": "TextBlock", "text": strings.TrimSpace(l.Title + " " + l.Address), "isSubtle": true, "wrap": true})
	}
	return h
}

func submitData(ch choice) map[string]any {
	return map[string]any{valueChoice: ch.id, valueLabel: ch.label}
}

func submitButtons(choices []choice) []any {
	out := make([]any, len(choices))
	for i, ch := range choices {
		out[i] = map[string]any{"type": "Action.Submit", "title": ch.label, "data": submitData(ch)}
	}
	return out
}

func openURL(title, u string) map[string]any {
	return map[string]any{"type": "Action.OpenUrl", "title": title, "url": u}
}

// choiceListCard is a header, a choice list and a Send button.
func choiceListCard(head []any, choices []choice, multi bool, fallback string) map[string]any {
	items := make([]any, len(choices))
	labels := make(map[string]any, len(choices))
	for i, ch := range choices {
		items[i] = map[string]any{"title": ch.label, "value": ch.id}
		labels[ch.id] = ch.label
	}
	style := "expanded"
	if len(choices) > maxExpandedChoice {
		style = "compact"
	}
	set := map[string]any{"type": "Input.ChoiceSet", "id": valueChoice, "style": style, "isMultiSelect": multi,
		"isRequired": true, "errorMessage": "Choose an option first.", "choices": items}
	body := append(head, set)
	send := map[string]any{"type": "Action.Submit", "title": "Send", "data": map[string]any{valueLabels: labels}}
	return adaptiveCard(body, []any{send}, fallback)
}

// itemCard is a card of a card message or a carousel.
func itemCard(it content.Card, fallback string) map[string]any {
	var body []any
	if it.MediaURL != "" {
		body = append(body, map[string]any{"type": "Image", "url": it.MediaURL, "size": "stretch", "altText": it.Title})
	}
	if it.Title != "" {
		body = append(body, textBlock(it.Title, "bolder", "medium"))
	}
	if it.Subtitle != "" {
		body = append(body, textBlock(it.Subtitle, "", ""))
	}
	var actions []any
	for _, o := range it.Actions {
		switch o.Kind {
		case content.OptionURL:
			actions = append(actions, openURL(o.Label, o.Postback))
		case content.OptionCall:
			actions = append(actions, openURL(o.Label, "tel:"+o.Postback))
		default:
			actions = append(actions, map[string]any{"type": "Action.Submit", "title": o.Label, "data": submitData(choice{o.ID, o.Label})})
		}
	}
	if fallback == "" {
		fallback = strings.TrimSpace(it.Title + "\n" + it.Subtitle)
	}
	card := adaptiveCard(body, actions, fallback)
	if it.URL != "" {
		card["selectAction"] = map[string]any{"type": "Action.OpenUrl", "url": it.URL}
	}
	return card
}

func adaptiveCard(body, actions []any, fallback string) map[string]any {
	card := map[string]any{"type": "AdaptiveCard", "$schema": cardSchema, "version": cardVersion, "body": body}
	if body == nil {
		card["body"] = []any{}
	}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	if fallback != "" {
		card["fallbackText"] = fallback
	}
	return card
}

func cardAttachment(card map[string]any) map[string]any {
	return map[string]any{"contentType": contentTypeAdaptiveCard, "content": card}
}

func cardMessage(card map[string]any) map[string]any {
	return map[string]any{"type": "message", "attachments": []any{cardAttachment(card)}}
}
