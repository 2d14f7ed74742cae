package viber

import (
	"encoding/json"
	"html"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/content"
)

// Bounds of the native renderings. Viber's documentation gives no maximum
// number of keyboard buttons or carousel items; these are conservative.
const (
	maxKeyboardButtons = 24
	maxRichMediaItems  = 6
	// A rich_media item is a group of 6 columns × up to 7 rows.
	richMediaColumns = 6
	richMediaRows    = 7
	// Labels up to this many characters fit half a keyboard row.
	halfRowLabel = 16
)

// choicesPrefix marks tracking_data Parley wrote: the rest is a JSON object
// from each reply button's ActionBody to the option (or slot) id it stands
// for. Viber returns the tracking_data of the last message it delivered
// with the customer's next message, so a tap (a text message whose text is
// the ActionBody) maps back to its option.
const choicesPrefix = "parley:choices:"

// encodeChoices writes the tracking_data of a message with reply buttons;
// false when it would exceed Viber's limit.
func encodeChoices(bodies map[string]string) (string, bool) {
	if len(bodies) == 0 {
		return "", true
	}
	b, err := marshal(bodies)
	if err != nil {
		return "", false
	}
	s := choicesPrefix + string(b)
	return s, len(s) <= MaxTrackingData
}

// decodeChoices reads tracking_data written by encodeChoices; anything
// else (another bot's tracking data, none) gives nil.
func decodeChoices(tracking string) map[string]string {
	rest, ok := strings.CutPrefix(tracking, choicesPrefix)
	if !ok {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(rest), &m) != nil {
		return nil
	}
	return m
}

// The native payloads: a send_message body without "receiver" and "sender"
// (Send adds them from the thread and the point of contact).
type nativeMessage struct {
	MinAPIVersion int        `json:"min_api_version"`
	Type          string     `json:"type"`
	Text          *string    `json:"text,omitempty"`
	Media         string     `json:"media,omitempty"`
	Location      *location  `json:"location,omitempty"`
	RichMedia     *richMedia `json:"rich_media,omitempty"`
	AltText       string     `json:"alt_text,omitempty"`
	Keyboard      *keyboard  `json:"keyboard,omitempty"`
	TrackingData  string     `json:"tracking_data,omitempty"`
}

type location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

type keyboard struct {
	Type          string   `json:"Type"`
	DefaultHeight bool     `json:"DefaultHeight"`
	Buttons       []button `json:"Buttons"`
}

type richMedia struct {
	Type                string   `json:"Type"`
	ButtonsGroupColumns int      `json:"ButtonsGroupColumns"`
	ButtonsGroupRows    int      `json:"ButtonsGroupRows"`
	BgColor             string   `json:"BgColor"`
	Buttons             []button `json:"Buttons"`
}

type button struct {
	Columns    int    `json:"Columns"`
	Rows       int    `json:"Rows"`
	ActionType string `json:"ActionType"`
	ActionBody string `json:"ActionBody"`
	Image      string `json:"Image,omitempty"`
	Text       string `json:"Text,omitempty"`
	TextSize   string `json:"TextSize,omitempty"`
	TextHAlign string `json:"TextHAlign,omitempty"`
	TextVAlign string `json:"TextVAlign,omitempty"`
	BgColor    string `json:"BgColor,omitempty"`
}

func textPtr(s string) *string { return &s }

// RenderNative upgrades what the content engine rendered for Viber (plain
// text with numbered options, and the prompt) to Viber's own elements:
//   - quick replies, single-choice list pickers and time pickers: a text
//     message with a keyboard of reply buttons (links as open-url buttons),
//     "viber.keyboard";
//   - cards and carousels (up to 6 items): rich_media, "viber.rich_media",
//     with min_api_version 2 and alt_text for older clients;
//   - a file given by URL that is a JPEG, PNG or GIF image: a picture
//     message, "viber.picture";
//   - a location: a location message, "viber.location".
//
// Native is the send_message body without receiver and sender, or a JSON
// array of such bodies sent in order (an introduction before a carousel).
// base.Text and base.Prompt are kept. ok is false (base unchanged) for
// everything else and whenever the content does not fit: a multi-select
// list (a keyboard tap answers one option), more than 24 options, a call
// action (Viber buttons cannot dial).
func (a *Adapter) RenderNative(c content.Content, base content.Rendered) (content.Rendered, bool) {
	if base.Native != nil || base.Type == "override" {
		return base, false
	}
	var (
		native any
		rung   string
		ok     bool
	)
	switch c.Type {
	case content.TypeQuickReplies, content.TypeListPicker, content.TypeTimePicker:
		native, ok = keyboardMessage(c, base)
		rung = "viber.keyboard"
	case content.TypeCard, content.TypeCarousel:
		native, ok = richMediaMessages(c, base)
		rung = "viber.rich_media"
	case content.TypeFile:
		native, ok = pictureMessages(c)
		rung = "viber.picture"
	case content.TypeLocation:
		native, ok = locationMessages(c)
		rung = "viber.location"
	}
	if !ok {
		return base, false
	}
	raw, err := marshal(native)
	if err != nil {
		return base, false
	}
	out := base
	out.Type, out.Native = rung, raw
	return out, true
}

// heading is the question above the buttons: title and text, or either.
func heading(c content.Content) string {
	switch {
	case c.Title != "" && c.Text != "":
		return c.Title + "\n" + c.Text
	case c.Text != "":
		return c.Text
	}
	return c.Title
}

// actionBodies gives each answerable option of the prompt the ActionBody
// its button sends: the label, which Viber shows in the chat as the
// customer's answer. Options sharing a label are told apart by context
// (a carousel card's title: "Buy – Trail shoe"), else by their number
// ("Buy (2)").
func actionBodies(p *content.Prompt, answerable func(id string) bool, context func(id string) string) map[string]string {
	count := func(bodies map[string]string) map[string]int {
		n := map[string]int{}
		for _, b := range bodies {
			n[b]++
		}
		return n
	}
	bodies := map[string]string{}
	for _, o := range p.Options {
		if answerable(o.ID) {
			bodies[o.ID] = strings.TrimSpace(o.Label)
		}
	}
	seen := count(bodies)
	for _, o := range p.Options {
		if b, ok := bodies[o.ID]; ok && seen[b] > 1 && context != nil && context(o.ID) != "" {
			bodies[o.ID] = b + " – " + context(o.ID)
		}
	}
	seen = count(bodies)
	for _, o := range p.Options {
		if b, ok := bodies[o.ID]; ok && (seen[b] > 1 || b == "") {
			bodies[o.ID] = strings.TrimSpace(b + " (" + itoa(o.Number) + ")")
		}
	}
	return bodies
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// choiceMap inverts option id → ActionBody into the tracking map.
func choiceMap(bodies map[string]string) map[string]string {
	m := make(map[string]string, len(bodies))
	for id, body := range bodies {
		m[body] = id
	}
	return m
}

// keyboardMessage renders a question with reply buttons, in the order the
// prompt numbered them.
func keyboardMessage(c content.Content, base content.Rendered) (any, bool) {
	p := base.Prompt
	if p == nil || len(p.Options) == 0 || len(p.Options) > maxKeyboardButtons || p.MultiSelect {
		return nil, false
	}
	options := map[string]content.Option{}
	for _, o := range c.Options {
		options[o.ID] = o
	}
	kind := func(id string) content.OptionKind {
		if k := options[id].Kind; k != "" {
			return k
		}
		return content.OptionReply // time slots, and options without a kind
	}
	answerable := func(id string) bool { k := kind(id); return k == content.OptionReply || k == content.OptionPostback }
	bodies := actionBodies(p, answerable, nil)
	half := len(p.Options) > 1
	for _, o := range p.Options {
		if utf8.RuneCountInString(o.Label) > halfRowLabel || options[o.ID].Description != "" {
			half = false
		}
	}
	kb := &keyboard{Type: "keyboard", DefaultHeight: false}
	for _, o := range p.Options {
		b := button{Columns: 6, Rows: 1, TextSize: "regular", Text: html.EscapeString(o.Label)}
		if half {
			b.Columns = 3
		}
		if d := options[o.ID].Description; d != "" {
			b.Rows = 2
			b.Text += "<br>" + html.EscapeString(d)
		}
		switch kind(o.ID) {
		case content.OptionReply, content.OptionPostback:
			b.ActionType, b.ActionBody = "reply", bodies[o.ID]
		case content.OptionURL:
			b.ActionType, b.ActionBody = "open-url", options[o.ID].Postback
		default:
			return nil, false // a call: Viber buttons cannot dial
		}
		kb.Buttons = append(kb.Buttons, b)
	}
	tracking, ok := encodeChoices(choiceMap(bodies))
	if !ok {
		return nil, false
	}
	text := heading(c)
	if c.Type == content.TypeTimePicker && c.Location != nil {
		if l := strings.TrimSpace(c.Location.Title + " " + c.Location.Address); l != "" {
			text = joinLines(text, l)
		}
	}
	if strings.TrimSpace(text) == "" {
		text = base.Text
	}
	if utf8.RuneCountInString(text) > MaxTextLength {
		return nil, false
	}
	return nativeMessage{MinAPIVersion: 1, Type: "text", Text: textPtr(text), Keyboard: kb, TrackingData: tracking}, true
}

// richMediaMessages renders a card or a carousel as rich_media: each card
// is a 6×7 group of its image, its title and subtitle, and up to three
// action buttons. A carousel's introduction goes first, as text.
func richMediaMessages(c content.Content, base content.Rendered) (any, bool) {
	cards := c.Items
	if c.Type == content.TypeCard {
		card := content.Card{Title: c.Title, Subtitle: c.Text, Actions: c.Options}
		if m := c.Media; m != nil && m.URL != "" && (m.MimeType == "" || strings.HasPrefix(m.MimeType, "image/")) {
			card.MediaURL = m.URL
		}
		if c.Link != nil {
			card.URL = c.Link.URL
		}
		cards = []content.Card{card}
	}
	if len(cards) == 0 || len(cards) > maxRichMediaItems {
		return nil, false
	}
	answerable := map[string]bool{}
	cardTitle := map[string]string{}
	for _, card := range cards {
		if len(card.Actions) > 3 {
			return nil, false
		}
		for _, o := range card.Actions {
			switch o.Kind {
			case "", content.OptionReply, content.OptionPostback:
				answerable[o.ID] = true
				cardTitle[o.ID] = card.Title
			case content.OptionURL:
			default:
				return nil, false // a call: Viber buttons cannot dial
			}
		}
	}
	bodies := map[string]string{}
	if base.Prompt != nil {
		bodies = actionBodies(base.Prompt, func(id string) bool { return answerable[id] }, func(id string) string { return cardTitle[id] })
	}
	rm := &richMedia{Type: "rich_media", ButtonsGroupColumns: richMediaColumns, ButtonsGroupRows: richMediaRows, BgColor: "#FFFFFF"}
	for _, card := range cards {
		tapType, tapBody := "none", "none"
		if card.URL != "" {
			tapType, tapBody = "open-url", card.URL
		}
		var text string
		if card.Title != "" {
			text = "<b>" + html.EscapeString(card.Title) + "</b>"
		}
		if card.Subtitle != "" {
			if text != "" {
				text += "<br>"
			}
			text += html.EscapeString(card.Subtitle)
		}
		free := richMediaRows - len(card.Actions)
		textRows := free
		if card.MediaURL != "" {
			textRows = 0
			if text != "" {
				textRows = 2
			}
			rm.Buttons = append(rm.Buttons, button{Columns: richMediaColumns, Rows: free - textRows, ActionType: tapType, ActionBody: tapBody, Image: card.MediaURL})
		}
		if textRows > 0 {
			b := button{Columns: richMediaColumns, Rows: textRows, ActionType: tapType, ActionBody: tapBody, Text: text,
				TextSize: "regular", TextHAlign: "left", TextVAlign: "middle"}
			if text == "" {
				b.BgColor = "#FFFFFF" // a button needs text, an image or a colour
			}
			rm.Buttons = append(rm.Buttons, b)
		}
		for _, o := range card.Actions {
			b := button{Columns: richMediaColumns, Rows: 1, Text: html.EscapeString(o.Label), TextSize: "regular", BgColor: "#F2F2F7"}
			if answerable[o.ID] {
				body, ok := bodies[o.ID]
				if !ok {
					return nil, false
				}
				b.ActionType, b.ActionBody = "reply", body
			} else {
				b.ActionType, b.ActionBody = "open-url", o.Postback
			}
			rm.Buttons = append(rm.Buttons, b)
		}
	}
	tracking, ok := encodeChoices(choiceMap(bodies))
	if !ok {
		return nil, false
	}
	msg := nativeMessage{MinAPIVersion: 2, Type: "rich_media", RichMedia: rm, AltText: truncateRunes(base.Text, MaxTextLength), TrackingData: tracking}
	if c.Type == content.TypeCarousel && strings.TrimSpace(c.Text) != "" {
		if utf8.RuneCountInString(c.Text) > MaxTextLength {
			return nil, false
		}
		return []nativeMessage{{MinAPIVersion: 1, Type: "text", Text: textPtr(c.Text)}, msg}, true
	}
	return msg, true
}

// pictureMessages sends an image file given by URL as a picture with its
// caption (a caption over Viber's limit goes first, as text).
func pictureMessages(c content.Content) (any, bool) {
	m := c.Media
	if m == nil || m.URL == "" || !pictureType(m.MimeType, m.URL) {
		return nil, false
	}
	if utf8.RuneCountInString(c.Text) > MaxCaptionLength {
		if utf8.RuneCountInString(c.Text) > MaxTextLength {
			return nil, false
		}
		return []nativeMessage{{MinAPIVersion: 1, Type: "text", Text: textPtr(c.Text)},
			{MinAPIVersion: 1, Type: "picture", Text: textPtr(""), Media: m.URL}}, true
	}
	return nativeMessage{MinAPIVersion: 1, Type: "picture", Text: textPtr(c.Text), Media: m.URL}, true
}

// pictureType: Viber pictures are JPEG, PNG or GIF.
func pictureType(mimeType, rawURL string) bool {
	switch strings.ToLower(strings.TrimSpace(strings.Split(mimeType, ";")[0])) {
	case "image/jpeg", "image/jpg", "image/png", "image/gif":
		return true
	case "":
		switch strings.ToLower(path.Ext(strings.Split(rawURL, "?")[0])) {
		case ".jpg", ".jpeg", ".png", ".gif":
			return true
		}
	}
	return false
}

// locationMessages sends a location pin, after a text with the message,
// the place's name and address when there are any.
func locationMessages(c content.Content) (any, bool) {
	l := c.Location
	if l == nil {
		return nil, false
	}
	pin := nativeMessage{MinAPIVersion: 1, Type: "location", Location: &location{Lat: l.Latitude, Lon: l.Longitude}}
	var lines []string
	for _, s := range []string{c.Text, l.Title, l.Address} {
		if strings.TrimSpace(s) != "" {
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 {
		return pin, true
	}
	text := strings.Join(lines, "\n")
	if utf8.RuneCountInString(text) > MaxTextLength {
		return nil, false
	}
	return []nativeMessage{{MinAPIVersion: 1, Type: "text", Text: textPtr(text)}, pin}, true
}
