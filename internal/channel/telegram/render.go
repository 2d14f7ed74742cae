package telegram

import (
	"encoding/json"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/content"
)

// Inline keyboard limits.
const (
	// maxButtons is the most buttons Telegram takes in one inline keyboard.
	maxButtons = 100
	// maxButtonLabel bounds a button's label, in characters (Telegram shows
	// one line; content labels are at most 40 characters anyway).
	maxButtonLabel = 64
)

// keyboardButton is an InlineKeyboardButton: a callback button (the tap
// comes back as a callback query with its data) or a URL button.
type keyboardButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// RenderNative upgrades what the content engine rendered for Telegram (plain
// text and, for questions, the prompt) to Telegram's own elements:
//   - quick replies: an inline keyboard, rows of up to 3 buttons (fewer when
//     labels are long), callback_data = the option id;
//   - list picker: an inline keyboard, one button per row (descriptions
//     listed in the text); a multi-select list stays numbered text, since a
//     tap answers one option;
//   - time picker: one button per slot, labelled in the customer's time
//     zone as the prompt numbers them, callback_data = the slot id;
//   - rich link: the text with a URL button;
//   - card: its title and text (as a photo's caption when it has an image
//     that fits), a callback button per answer action, a URL button per link
//     action and for the card's link (call actions stay in the text:
//     Telegram has no call buttons);
//   - file by URL: sendPhoto for JPEG and PNG, sendDocument for PDF, ZIP
//     and GIF (the only documents Telegram fetches by URL).
//
// Native is the Bot API call as a webhook reply writes it, without chat_id:
// {"method":"sendMessage","text":…,"reply_markup":{"inline_keyboard":…}};
// Send adds the chat. base.Text and base.Prompt are kept, so a typed number
// or label still answers. ok is false when nothing native fits (the text
// goes as it is).
func (a *Adapter) RenderNative(c content.Content, base content.Rendered) (content.Rendered, bool) {
	var (
		form string
		call map[string]any
		ok   bool
	)
	switch c.Type {
	case content.TypeQuickReplies:
		form, call, ok = "inline_keyboard", nil, base.Prompt != nil
		if ok {
			buttons := promptButtons(base.Prompt)
			call = sendMessageCall(promptText(&c), chunk(buttons, perRow(buttons)))
		}
	case content.TypeListPicker:
		form, ok = "inline_keyboard.list", base.Prompt != nil && !c.MultiSelect
		if ok {
			call = sendMessageCall(promptText(&c)+descriptions(base.Prompt, c.Options), chunk(promptButtons(base.Prompt), 1))
		}
	case content.TypeTimePicker:
		form, ok = "inline_keyboard.slots", base.Prompt != nil
		if ok {
			text := promptText(&c)
			if l := c.Location; l != nil && strings.TrimSpace(l.Title+l.Address) != "" {
				text += "\n" + strings.TrimSpace(l.Title+" "+l.Address)
			}
			call = sendMessageCall(text, chunk(promptButtons(base.Prompt), 1))
		}
	case content.TypeRichLink:
		form, ok = "link", c.Link != nil && base.Text != ""
		if ok {
			label := c.Link.Title
			if label == "" {
				label = c.Title
			}
			if label == "" {
				label = "Open"
			}
			call = sendMessageCall(base.Text, [][]keyboardButton{{{Text: cut(label, maxButtonLabel), URL: c.Link.URL}}})
		}
	case content.TypeCard:
		form, call, ok = cardCall(&c)
	case content.TypeFile:
		form, call, ok = fileCall(&c)
	}
	if !ok || !fits(call) {
		return base, false
	}
	raw, err := json.Marshal(call)
	if err != nil {
		return base, false
	}
	out := base
	out.Type = Type + "." + form
	out.Native = raw
	return out, true
}

// sendMessageCall is a sendMessage call with an inline keyboard.
func sendMessageCall(text string, rows [][]keyboardButton) map[string]any {
	return map[string]any{"method": "sendMessage", "text": text, "reply_markup": map[string]any{"inline_keyboard": rows}}
}

// promptText is the question of a picker, as the numbered text starts.
func promptText(c *content.Content) string {
	if c.Title != "" && c.Text != "" {
		return c.Title + "\n" + c.Text
	}
	if c.Text != "" {
		return c.Text
	}
	return c.Title
}

// promptButtons makes a callback button for every answer of the prompt, in
// the order the prompt numbers them (sections first, as the text lists them).
func promptButtons(p *content.Prompt) []keyboardButton {
	out := make([]keyboardButton, 0, len(p.Options))
	for _, o := range p.Options {
		out = append(out, keyboardButton{Text: cut(o.Label, maxButtonLabel), CallbackData: o.ID})
	}
	return out
}

// descriptions lists the options' descriptions under the question, in the
// buttons' order: a button shows a label only.
func descriptions(p *content.Prompt, opts []content.Option) string {
	byID := make(map[string]string, len(opts))
	for _, o := range opts {
		byID[o.ID] = o.Description
	}
	var b strings.Builder
	for _, o := range p.Options {
		if d := byID[o.ID]; d != "" {
			b.WriteString("\n• " + o.Label + " — " + d)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\n" + b.String()
}

// perRow puts short labels three to a row and longer ones fewer, so that
// Telegram does not cut them on a phone.
func perRow(buttons []keyboardButton) int {
	longest := 0
	for _, b := range buttons {
		longest = max(longest, utf8.RuneCountInString(b.Text))
	}
	switch {
	case longest <= 12:
		return 3
	case longest <= 20:
		return 2
	}
	return 1
}

func chunk(buttons []keyboardButton, n int) [][]keyboardButton {
	rows := [][]keyboardButton{}
	for len(buttons) > 0 {
		k := min(n, len(buttons))
		rows = append(rows, buttons[:k])
		buttons = buttons[k:]
	}
	return rows
}

// cardCall renders a card: title and text, its actions as buttons, its
// link as a URL button, its image as a photo with the text as caption when
// the caption fits.
func cardCall(c *content.Content) (string, map[string]any, bool) {
	text := promptText(c)
	var rows [][]keyboardButton
	var calls []string
	for _, o := range c.Options {
		switch o.Kind {
		case content.OptionURL:
			rows = append(rows, []keyboardButton{{Text: cut(o.Label, maxButtonLabel), URL: o.Postback}})
		case content.OptionCall:
			calls = append(calls, o.Label+": "+o.Postback)
		default:
			rows = append(rows, []keyboardButton{{Text: cut(o.Label, maxButtonLabel), CallbackData: o.ID}})
		}
	}
	if c.Link != nil {
		label := c.Link.Title
		if label == "" {
			label = "Open"
		}
		rows = append(rows, []keyboardButton{{Text: cut(label, maxButtonLabel), URL: c.Link.URL}})
	}
	if len(calls) > 0 {
		text += "\n" + strings.Join(calls, "\n")
	}
	if c.Media != nil && c.Media.URL != "" && photoByURL(mediaType(c.Media)) && utf16Len(text) <= MaxCaptionLength {
		call := map[string]any{"method": "sendPhoto", "photo": c.Media.URL, "caption": text}
		if len(rows) > 0 {
			call["reply_markup"] = map[string]any{"inline_keyboard": rows}
		}
		return "card.photo", call, true
	}
	if len(rows) == 0 {
		return "", nil, false // plain text says it all
	}
	return "card", sendMessageCall(text, rows), true
}

// documentByURL tells the document types Telegram fetches by URL.
func documentByURL(mimeType string) bool {
	return mimeType == "application/pdf" || mimeType == "application/zip" || mimeType == "image/gif"
}

// fileCall sends a file given by URL the way Telegram fetches it.
func fileCall(c *content.Content) (string, map[string]any, bool) {
	m := c.Media
	if m == nil || m.URL == "" || utf16Len(c.Text) > MaxCaptionLength {
		return "", nil, false
	}
	mt := mediaType(m)
	var call map[string]any
	var form string
	switch {
	case photoByURL(mt):
		form, call = "photo", map[string]any{"method": "sendPhoto", "photo": m.URL}
	case documentByURL(mt):
		form, call = "document", map[string]any{"method": "sendDocument", "document": m.URL}
	default:
		return "", nil, false
	}
	if c.Text != "" {
		call["caption"] = c.Text
	}
	return form, call, true
}

// mediaType is a media's MIME type, or the one its URL's extension implies.
func mediaType(m *content.Media) string {
	if m.MimeType != "" {
		return baseMIME(m.MimeType)
	}
	p := m.URL
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".pdf":
		return "application/pdf"
	case ".zip":
		return "application/zip"
	}
	return ""
}

// fits checks a rendered call against the Bot API's limits: text 1–4096
// and caption ≤ 1024 UTF-16 units, at most 100 buttons, callback data of
// 1–64 bytes, URL buttons with http(s) URLs.
func fits(call map[string]any) bool {
	if call == nil {
		return false
	}
	if t, ok := call["text"].(string); ok && (strings.TrimSpace(t) == "" || utf16Len(t) > MaxTextLength) {
		return false
	}
	if t, ok := call["caption"].(string); ok && utf16Len(t) > MaxCaptionLength {
		return false
	}
	markup, _ := call["reply_markup"].(map[string]any)
	rows, _ := markup["inline_keyboard"].([][]keyboardButton)
	n := 0
	for _, row := range rows {
		for _, b := range row {
			n++
			if strings.TrimSpace(b.Text) == "" {
				return false
			}
			switch {
			case b.URL != "":
				if !strings.HasPrefix(b.URL, "https://") && !strings.HasPrefix(b.URL, "http://") {
					return false
				}
			case b.CallbackData == "" || len(b.CallbackData) > MaxCallbackData:
				return false
			}
		}
	}
	if markup != nil && (n == 0 || n > maxButtons) {
		return false
	}
	return true
}

// cut shortens a label to n characters, ending with "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), func(c rune) bool { return c == ' ' }) + "…"
}
