package content

import (
	"strings"
	"time"
)

// Channel limits applied at render time (CHANNELS.md).
const (
	waMaxButtons     = 3
	waButtonTitle    = 20
	waMaxRows        = 10
	waRowTitle       = 24
	waRowDescription = 72
	waSectionTitle   = 24
	waBody           = 1024
	waHeader         = 60
	waListButton     = 20

	msgrMaxQuickReplies = 13
	msgrTitle           = 20
	msgrText            = 2000
	msgrMaxElements     = 10
	msgrElementText     = 80
	msgrMaxButtons      = 3

	appleMinQuick   = 2
	appleMaxQuick   = 5
	appleQuickTitle = 24

	gbmMaxSuggestions  = 13
	gbmSuggestionText  = 25
	gbmCardSuggestions = 4
)

// appleBID is the balloon id of Apple's built-in interactive messages.
const appleBID = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension"

// ---- WhatsApp Cloud API ----

func waBase(kind string, body any) obj {
	return obj{"messaging_product": "whatsapp", "recipient_type": "individual", "type": kind, kind: body}
}

func (r *renderer) whatsapp(p *Prompt) (string, any, bool) {
	c := r.c
	switch c.Type {
	case TypeQuickReplies:
		if x, ok := r.waButtons(c.Options); ok {
			return "whatsapp.interactive.button", x, true
		}
		if x, ok := r.waList(r.groups()); ok {
			return "whatsapp.interactive.list", x, true
		}
	case TypeListPicker:
		if c.MultiSelect {
			return "", nil, false // a WhatsApp list answers one row: numbered text allows several
		}
		if x, ok := r.waList(r.groups()); ok {
			return "whatsapp.interactive.list", x, true
		}
		if x, ok := r.waButtons(c.Options); ok {
			return "whatsapp.interactive.button", x, true
		}
	case TypeTimePicker:
		rows := make([]Option, len(c.Slots))
		for i, s := range c.Slots {
			start, end := r.slotTimes(s)
			rows[i] = Option{ID: s.ID, Label: r.slotRange(s), Description: start.Format("Monday 2 January 2006") + ", " + durationLabel(end.Sub(start))}
		}
		if x, ok := r.waList([]optionGroup{{opts: rows}}); ok {
			return "whatsapp.interactive.list", x, true
		}
	case TypeRichLink:
		return "whatsapp.text.preview", waBase("text", obj{"preview_url": true, "body": r.linkText()}), true
	case TypeCard:
		return r.waCard()
	}
	return "", nil, false
}

// waInteractive builds the interactive envelope: Title becomes the header
// when there is also a Text, and the body is the prompt.
func (r *renderer) waInteractive(kind string, action obj) (obj, bool) {
	body := r.c.prompt()
	if body == "" || !fits(body, waBody) {
		return nil, false
	}
	in := obj{"type": kind, "body": obj{"text": body}, "action": action}
	if r.c.Title != "" && r.c.Text != "" {
		in["header"] = obj{"type": "text", "text": truncate(r.c.Title, waHeader)}
	}
	return waBase("interactive", in), true
}

// waButtons: ≤ 3 buttons, every title ≤ 20 characters and unique. Buttons
// are not truncated: two cut labels could read the same.
func (r *renderer) waButtons(opts []Option) (obj, bool) {
	if len(opts) > waMaxButtons {
		return nil, false
	}
	seen := map[string]bool{}
	var buttons []obj
	for _, o := range opts {
		if !fits(o.Label, waButtonTitle) || seen[o.Label] {
			return nil, false
		}
		seen[o.Label] = true
		buttons = append(buttons, obj{"type": "reply", "reply": obj{"id": o.ID, "title": o.Label}})
	}
	return r.waInteractive("button", obj{"buttons": buttons})
}

// waList: ≤ 10 rows in all, ≤ 10 sections; row titles cut to 24, the full
// label then goes into the description when that is free.
func (r *renderer) waList(groups []optionGroup) (obj, bool) {
	total := 0
	for _, g := range groups {
		total += len(g.opts)
	}
	if total == 0 || total > waMaxRows || len(groups) > 10 {
		return nil, false
	}
	var sections []obj
	for _, g := range groups {
		var rows []obj
		for _, o := range g.opts {
			row := obj{"id": o.ID, "title": truncate(o.Label, waRowTitle)}
			desc := o.Description
			if desc == "" && !fits(o.Label, waRowTitle) {
				desc = o.Label
			}
			if desc != "" {
				row["description"] = truncate(desc, waRowDescription)
			}
			rows = append(rows, row)
		}
		s := obj{"rows": rows}
		if g.title != "" {
			s["title"] = truncate(g.title, waSectionTitle)
		} else if len(groups) > 1 {
			s["title"] = "More"
		}
		sections = append(sections, s)
	}
	return r.waInteractive("list", obj{"button": "Choose", "sections": sections})
}

// waCard: reply-button message with the card's image as header when all
// actions are answers; a cta_url message for a single link action; else a
// text with a link preview.
func (r *renderer) waCard() (string, any, bool) {
	c := r.c
	body := c.Text
	if body == "" {
		body = c.Title
	}
	if !fits(body, waBody) {
		return "", nil, false
	}
	var header obj
	if c.Media != nil && c.Media.URL != "" {
		header = obj{"type": "image", "image": obj{"link": c.Media.URL}}
	} else if c.Title != "" && c.Text != "" {
		header = obj{"type": "text", "text": truncate(c.Title, waHeader)}
	}
	answers := 0
	for _, o := range c.Options {
		if o.answerable() {
			answers++
		}
	}
	in := obj{"body": obj{"text": body}}
	if header != nil {
		in["header"] = header
	}
	switch {
	case answers > 0 && answers == len(c.Options):
		seen := map[string]bool{}
		var buttons []obj
		for _, o := range c.Options {
			if !fits(o.Label, waButtonTitle) || seen[o.Label] {
				return "", nil, false
			}
			seen[o.Label] = true
			buttons = append(buttons, obj{"type": "reply", "reply": obj{"id": o.ID, "title": o.Label}})
		}
		in["type"] = "button"
		in["action"] = obj{"buttons": buttons}
		return "whatsapp.interactive.button", waBase("interactive", in), true
	case len(c.Options) == 1 && c.Options[0].kindOrReply() == OptionURL:
		in["type"] = "cta_url"
		in["action"] = obj{"name": "cta_url", "parameters": obj{"display_text": truncate(c.Options[0].Label, waButtonTitle), "url": c.Options[0].Postback}}
		return "whatsapp.interactive.cta_url", waBase("interactive", in), true
	case len(c.Options) == 0 && c.Link != nil:
		in["type"] = "cta_url"
		in["action"] = obj{"name": "cta_url", "parameters": obj{"display_text": "Open", "url": c.Link.URL}}
		return "whatsapp.interactive.cta_url", waBase("interactive", in), true
	}
	return "", nil, false
}

// linkText is a rich link as one text: optional message, title, URL.
func (r *renderer) linkText() string {
	c := r.c
	var parts []string
	if c.Text != "" {
		parts = append(parts, c.Text)
	}
	title := c.Link.Title
	if title == "" {
		title = c.Title
	}
	if title != "" {
		parts = append(parts, title)
	}
	return strings.Join(append(parts, c.Link.URL), "\n")
}

// ---- Messenger Send API ----

func (r *renderer) messenger(p *Prompt) (string, any, bool) {
	c := r.c
	switch c.Type {
	case TypeQuickReplies:
		return r.msgrQuickReplies(c.Options)
	case TypeListPicker:
		// Messenger has no list: quick replies when they fit and one answer
		// is wanted.
		if c.MultiSelect {
			return "", nil, false
		}
		var opts []Option
		for _, g := range r.groups() {
			opts = append(opts, g.opts...)
		}
		return r.msgrQuickReplies(opts)
	case TypeTimePicker:
		opts := make([]Option, len(c.Slots))
		for i, s := range c.Slots {
			opts[i] = Option{ID: s.ID, Label: r.slotShort(s)}
		}
		return r.msgrQuickReplies(opts)
	case TypeRichLink:
		title := c.Link.Title
		if title == "" {
			title = c.Title
		}
		if title == "" {
			title = c.Link.URL
		}
		el := obj{"title": truncate(title, msgrElementText),
			"default_action": obj{"type": "web_url", "url": c.Link.URL},
			"buttons":        []obj{{"type": "web_url", "url": c.Link.URL, "title": "Open"}}}
		if c.Text != "" {
			el["subtitle"] = truncate(c.Text, msgrElementText)
		}
		if c.Link.ImageURL != "" {
			el["image_url"] = c.Link.ImageURL
		}
		return "messenger.template.generic", msgrGeneric([]obj{el}), true
	case TypeCard:
		card := Card{Title: c.Title, Subtitle: c.Text, Actions: c.Options}
		if card.Title == "" {
			card.Title, card.Subtitle = c.Text, ""
		}
		if c.Media != nil {
			card.MediaURL = c.Media.URL
		}
		if c.Link != nil {
			card.URL = c.Link.URL
		}
		return "messenger.template.generic", msgrGeneric([]obj{msgrElement(card)}), true
	case TypeCarousel:
		els := make([]obj, 0, len(c.Items))
		for _, it := range c.Items {
			els = append(els, msgrElement(it))
		}
		return "messenger.template.generic", msgrGeneric(els), true
	}
	return "", nil, false
}

// msgrQuickReplies: ≤ 13 quick replies, every title ≤ 20 characters.
func (r *renderer) msgrQuickReplies(opts []Option) (string, any, bool) {
	text := r.c.prompt()
	if len(opts) == 0 || len(opts) > msgrMaxQuickReplies || !fits(text, msgrText) {
		return "", nil, false
	}
	qrs := make([]obj, 0, len(opts))
	for _, o := range opts {
		if !fits(o.Label, msgrTitle) {
			return "", nil, false
		}
		qr := obj{"content_type": "text", "title": o.Label, "payload": o.ID}
		if o.IconURL != "" {
			qr["image_url"] = o.IconURL
		}
		qrs = append(qrs, qr)
	}
	return "messenger.quick_replies", obj{"message": obj{"text": text, "quick_replies": qrs}}, true
}

func msgrGeneric(elements []obj) obj {
	return obj{"message": obj{"attachment": obj{"type": "template", "payload": obj{
		"template_type": "generic", "elements": elements}}}}
}

// msgrElement: title/subtitle ≤ 80, ≤ 3 buttons (titles ≤ 20). Answer
// actions are postback buttons whose payload is the action id.
func msgrElement(c Card) obj {
	title := c.Title
	if title == "" {
		title = c.Subtitle
	}
	el := obj{"title": truncate(title, msgrElementText)}
	if c.Title != "" && c.Subtitle != "" {
		el["subtitle"] = truncate(c.Subtitle, msgrElementText)
	}
	if c.MediaURL != "" {
		el["image_url"] = c.MediaURL
	}
	if c.URL != "" {
		el["default_action"] = obj{"type": "web_url", "url": c.URL}
	}
	var buttons []obj
	for _, a := range c.Actions {
		t := truncate(a.Label, msgrTitle)
		switch a.kindOrReply() {
		case OptionURL:
			buttons = append(buttons, obj{"type": "web_url", "url": a.Postback, "title": t})
		case OptionCall:
			buttons = append(buttons, obj{"type": "phone_number", "payload": a.Postback, "title": t})
		default:
			buttons = append(buttons, obj{"type": "postback", "payload": a.ID, "title": t})
		}
	}
	if len(buttons) > 0 {
		el["buttons"] = buttons
	}
	return el
}

// ---- Apple Messages for Business (through an MSP) ----

func (r *renderer) appleInteractive(data obj, withBubbles bool) obj {
	data["version"] = "1.0"
	data["requestIdentifier"] = r.opts.MessageID
	in := obj{"bid": appleBID, "data": data}
	if withBubbles {
		received := obj{"title": truncate(r.c.prompt(), 512), "style": "icon"}
		if r.c.Title != "" && r.c.Text != "" {
			received["title"] = r.c.Title
			received["subtitle"] = truncate(r.c.Text, 512)
		}
		in["receivedMessage"] = received
		in["replyMessage"] = obj{"title": "Your answer", "style": "icon"}
	}
	return obj{"v": 1, "type": "interactive", "interactiveData": in}
}

func (r *renderer) apple(p *Prompt) (string, any, bool) {
	c := r.c
	switch c.Type {
	case TypeQuickReplies:
		if x, ok := r.appleQuick(); ok {
			return "apple.quick_reply", x, true
		}
		if r.level(FeatureListPicker) == Native {
			return "apple.list_picker", r.appleList(), true
		}
	case TypeListPicker:
		return "apple.list_picker", r.appleList(), true
	case TypeTimePicker:
		return "apple.time_picker", r.appleTime(), true
	case TypeRichLink:
		return "apple.rich_link", appleRichLink(c.Link.URL, firstNonEmpty(c.Link.Title, c.Title, c.Text), c.Link.ImageURL), true
	case TypeCard:
		if c.Link != nil && len(c.Options) == 0 {
			img := ""
			if c.Media != nil {
				img = c.Media.URL
			}
			return "apple.rich_link", appleRichLink(c.Link.URL, firstNonEmpty(c.Title, c.Text), img), true
		}
	}
	return "", nil, false
}

// appleQuick: 2–5 items of ≤ 24 characters.
func (r *renderer) appleQuick() (obj, bool) {
	opts := r.c.Options
	if len(opts) < appleMinQuick || len(opts) > appleMaxQuick {
		return nil, false
	}
	items := make([]obj, 0, len(opts))
	for _, o := range opts {
		if !fits(o.Label, appleQuickTitle) {
			return nil, false
		}
		items = append(items, obj{"identifier": o.ID, "title": o.Label})
	}
	return r.appleInteractive(obj{"quick-reply": obj{"summaryText": r.c.prompt(), "items": items}}, false), true
}

func (r *renderer) appleList() obj {
	var sections []obj
	order := 0
	for i, g := range r.groups() {
		items := make([]obj, 0, len(g.opts))
		for _, o := range g.opts {
			it := obj{"identifier": o.ID, "title": o.Label, "order": order, "style": "default"}
			if o.Description != "" {
				it["subtitle"] = o.Description
			}
			items = append(items, it)
			order++
		}
		title := g.title
		if title == "" {
			title = r.c.Title
		}
		sections = append(sections, obj{"title": title, "order": i, "multipleSelection": r.c.MultiSelect, "items": items})
	}
	return r.appleInteractive(obj{"listPicker": obj{"sections": sections}}, true)
}

// appleTime writes slots in UTC ("2026-05-26T08:27+0000", Apple's format)
// and the event's zone as timezoneOffset (minutes east of UTC at the first
// slot) so the device shows local times.
func (r *renderer) appleTime() obj {
	c := r.c
	slots := make([]obj, 0, len(c.Slots))
	for _, s := range c.Slots {
		start, _ := r.slotTimes(s)
		slots = append(slots, obj{"identifier": s.ID, "startTime": start.UTC().Format("2006-01-02T15:04-0700"), "duration": s.DurationSec})
	}
	first, _ := r.slotTimes(c.Slots[0])
	_, offset := first.Zone()
	event := obj{"identifier": r.opts.MessageID, "title": c.prompt(), "timeslots": slots, "timezoneOffset": offset / int(time.Minute/time.Second)}
	if l := c.Location; l != nil {
		loc := obj{"latitude": l.Latitude, "longitude": l.Longitude, "radius": l.RadiusM}
		if l.Title != "" {
			loc["title"] = l.Title
		}
		event["location"] = loc
	}
	return r.appleInteractive(obj{"event": event}, true)
}

// appleForm is a Messages for Business form ("messageForms"): one page per
// field, pageIdentifier is the field's index (the adapter maps the
// submitted selections back to Prompt.Fields[i].Name).
func (r *renderer) appleForm() obj {
	c := r.c
	pages := make([]obj, 0, len(c.Fields))
	for i, f := range c.Fields {
		pg := obj{"pageIdentifier": itoa(i), "title": f.Label}
		if i+1 < len(c.Fields) {
			pg["nextPageIdentifier"] = itoa(i + 1)
		} else {
			pg["submitForm"] = true
		}
		switch f.Type {
		case FieldSelect:
			items := make([]obj, 0, len(f.Options))
			for _, o := range f.Options {
				items = append(items, obj{"identifier": o.ID, "title": o.Label, "value": o.ID})
			}
			pg["type"] = "select"
			pg["multipleSelection"] = f.MultiSelect
			pg["pageItems"] = items
		case FieldDate:
			pg["type"] = "datePicker"
			pg["options"] = obj{"dateFormat": "yyyy-MM-dd"}
		default:
			opt := obj{"required": f.Required, "inputType": "singleline", "maximumCharacterCount": f.maxLen()}
			if f.Placeholder != "" {
				opt["placeholder"] = f.Placeholder
			}
			if f.Pattern != "" {
				opt["regex"] = f.Pattern
			}
			switch f.Type {
			case FieldEmail:
				opt["keyboardType"], opt["textContentType"] = "emailAddress", "emailAddress"
			case FieldPhone:
				opt["keyboardType"], opt["textContentType"] = "phonePad", "telephoneNumber"
			case FieldNumber:
				opt["keyboardType"] = "decimalPad"
			default:
				opt["keyboardType"] = "default"
			}
			pg["type"] = "input"
			pg["options"] = opt
		}
		pages = append(pages, pg)
	}
	return r.appleInteractive(obj{"dynamic": obj{"template": "messageForms", "data": obj{
		"version": "1.0", "startPageIdentifier": "0", "showSummary": true, "pages": pages}}}, true)
}

func appleRichLink(url, title, image string) obj {
	data := obj{"url": url, "title": title}
	if image != "" {
		data["assets"] = obj{"image": obj{"url": image}}
	}
	return obj{"v": 1, "type": "richLink", "richLinkData": data}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// ---- Google Business Messages ----

func (r *renderer) gbm(p *Prompt) (string, any, bool) {
	c := r.c
	text, _ := r.fallback()
	switch c.Type {
	case TypeListPicker, TypeTimePicker:
		// GBM's answers are suggestion chips (≤ 13, ≤ 25 characters);
		// one answer only.
		if c.MultiSelect || len(p.Options) > gbmMaxSuggestions || !fits(c.prompt(), 3072) {
			return "", nil, false
		}
		sugg := make([]obj, 0, len(p.Options))
		for i, o := range p.Options {
			label := o.Label
			if c.Type == TypeTimePicker {
				label = r.slotRange(c.Slots[i])
			}
			sugg = append(sugg, obj{"reply": obj{"text": truncate(label, gbmSuggestionText), "postbackData": o.ID}})
		}
		return "google_business_messages.suggestions", obj{"text": c.prompt(), "suggestions": sugg, "fallback": text}, true
	case TypeRichLink:
		card := obj{"title": truncate(firstNonEmpty(c.Link.Title, c.Title, c.Link.URL), 200),
			"suggestions": []obj{{"action": obj{"text": "Open", "postbackData": "open_url", "openUrlAction": obj{"url": c.Link.URL}}}}}
		if c.Text != "" {
			card["description"] = truncate(c.Text, 2000)
		}
		if c.Link.ImageURL != "" {
			card["media"] = gbmMedia(c.Link.ImageURL)
		}
		return "google_business_messages.rich_card", obj{"richCard": obj{"standaloneCard": obj{"cardContent": card}}, "fallback": text}, true
	case TypeCard:
		card := Card{Title: c.Title, Subtitle: c.Text, Actions: c.Options}
		if c.Media != nil {
			card.MediaURL = c.Media.URL
		}
		if c.Link != nil {
			card.URL = c.Link.URL
		}
		return "google_business_messages.rich_card", obj{"richCard": obj{"standaloneCard": obj{"cardContent": gbmCard(card)}}, "fallback": text}, true
	case TypeCarousel:
		if len(c.Items) == 1 {
			return "google_business_messages.rich_card", obj{"richCard": obj{"standaloneCard": obj{"cardContent": gbmCard(c.Items[0])}}, "fallback": text}, true
		}
		cards := make([]obj, 0, len(c.Items))
		for _, it := range c.Items {
			cards = append(cards, gbmCard(it))
		}
		return "google_business_messages.carousel", obj{"richCard": obj{"carouselCard": obj{"cardWidth": "MEDIUM", "cardContents": cards}}, "fallback": text}, true
	}
	return "", nil, false
}

func gbmMedia(url string) obj {
	return obj{"height": "MEDIUM", "contentInfo": obj{"fileUrl": url, "forceRefresh": false}}
}

// gbmCard: title ≤ 200, description ≤ 2000, ≤ 4 suggestions.
func gbmCard(c Card) obj {
	card := obj{}
	if c.Title != "" {
		card["title"] = truncate(c.Title, 200)
	}
	if c.Subtitle != "" {
		card["description"] = truncate(c.Subtitle, 2000)
	}
	if c.MediaURL != "" {
		card["media"] = gbmMedia(c.MediaURL)
	}
	var sugg []obj
	if c.URL != "" {
		sugg = append(sugg, obj{"action": obj{"text": "Open", "postbackData": "open_url", "openUrlAction": obj{"url": c.URL}}})
	}
	for _, a := range c.Actions {
		t := truncate(a.Label, gbmSuggestionText)
		switch a.kindOrReply() {
		case OptionURL:
			sugg = append(sugg, obj{"action": obj{"text": t, "postbackData": a.ID, "openUrlAction": obj{"url": a.Postback}}})
		case OptionCall:
			sugg = append(sugg, obj{"action": obj{"text": t, "postbackData": a.ID, "dialAction": obj{"phoneNumber": a.Postback}}})
		default:
			sugg = append(sugg, obj{"reply": obj{"text": t, "postbackData": a.ID}})
		}
	}
	if len(sugg) > gbmCardSuggestions {
		sugg = sugg[:gbmCardSuggestions]
	}
	if len(sugg) > 0 {
		card["suggestions"] = sugg
	}
	return card
}

// ---- Parley chat widget ----

// chatMessage is the message our own chat widget receives over its
// WebSocket. Shape (version 1):
//
//	{"v":1,"type":"<content type>",          // text is never sent this way
//	 "title":"…","text":"…",                  // text is plain; html carries sanitised HTML
//	 "html":"…",                              // html and markdown types only
//	 "options":[{"id","label","description","icon_url","kind","url"}],
//	 "sections":[{"title","option_ids"}],"multi_select":bool,"persistent":bool,
//	 "fields":[{"name","type","label","placeholder","required","min_len","max_len","pattern","options","multi_select"}],
//	 "link":{"url","title","image_url"},
//	 "items":[{"title","subtitle","media_url","url","actions":[…options…]}],
//	 "media":{"url","mime_type","file_name","alt"},
//	 "location":{"latitude","longitude","title","address"},
//	 "card":{…Adaptive Card…},"fallback_text":"…"}
//
// Postbacks never reach the browser (they can carry integrators' data);
// url and call options carry their target in "url" ("tel:+33…" for calls).
// The widget answers with one event that its connection handler turns into a
// Reply for Resolve:
//
//	{"type":"choice","message_id":"…","option_ids":["a","b"]}  → Reply.NativeID "a,b"
//	{"type":"form_submit","message_id":"…","values":{…}}      → Reply.FormValues
//	{"type":"card_submit","message_id":"…","value":{…}}       → Reply.FormValues (Adaptive Card Action.Submit data)
func (r *renderer) chatMessage() obj {
	c := r.c
	m := obj{"v": 1, "type": string(c.Type)}
	if c.Title != "" {
		m["title"] = c.Title
	}
	if c.Text != "" {
		m["text"] = c.Text
	}
	if len(c.Options) > 0 {
		m["options"] = chatOptions(c.Options)
	}
	if len(c.Sections) > 0 {
		m["sections"] = c.Sections
	}
	if c.MultiSelect {
		m["multi_select"] = true
	}
	if c.Persistent {
		m["persistent"] = true
	}
	if len(c.Fields) > 0 {
		fields := make([]obj, 0, len(c.Fields))
		for _, f := range c.Fields {
			fo := obj{"name": f.Name, "type": f.Type, "label": f.Label, "required": f.Required, "max_len": f.maxLen()}
			if f.Placeholder != "" {
				fo["placeholder"] = f.Placeholder
			}
			if f.MinLen > 0 {
				fo["min_len"] = f.MinLen
			}
			if f.Pattern != "" {
				fo["pattern"] = f.Pattern
			}
			if len(f.Options) > 0 {
				fo["options"] = chatOptions(f.Options)
				fo["multi_select"] = f.MultiSelect
			}
			fields = append(fields, fo)
		}
		m["fields"] = fields
	}
	if c.Link != nil {
		m["link"] = c.Link
	}
	if len(c.Items) > 0 {
		items := make([]obj, 0, len(c.Items))
		for _, it := range c.Items {
			io := obj{}
			for k, v := range map[string]string{"title": it.Title, "subtitle": it.Subtitle, "media_url": it.MediaURL, "url": it.URL} {
				if v != "" {
					io[k] = v
				}
			}
			if len(it.Actions) > 0 {
				io["actions"] = chatOptions(it.Actions)
			}
			items = append(items, io)
		}
		m["items"] = items
	}
	if c.Media != nil {
		md := obj{}
		for k, v := range map[string]string{"url": c.Media.URL, "mime_type": c.Media.MimeType, "file_name": c.Media.FileName, "alt": c.Media.Alt} {
			if v != "" {
				md[k] = v
			}
		}
		m["media"] = md
	}
	if c.Location != nil {
		m["location"] = c.Location
	}
	if len(c.AdaptiveCard) > 0 {
		m["card"] = c.AdaptiveCard
		m["fallback_text"] = c.FallbackText
		delete(m, "text")
	}
	return m
}

func chatOptions(opts []Option) []obj {
	out := make([]obj, 0, len(opts))
	for _, o := range opts {
		oo := obj{"id": o.ID, "label": o.Label, "kind": string(o.kindOrReply())}
		if o.Description != "" {
			oo["description"] = o.Description
		}
		if o.IconURL != "" {
			oo["icon_url"] = o.IconURL
		}
		switch o.kindOrReply() {
		case OptionURL:
			oo["url"] = o.Postback
		case OptionCall:
			oo["url"] = "tel:" + o.Postback
		}
		out = append(out, oo)
	}
	return out
}

// durationLabel writes a slot length for people: "30 min", "1 h", "1 h 30 min".
func durationLabel(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m < 60:
		return itoa(m) + " min"
	case m%60 == 0:
		return itoa(m/60) + " h"
	}
	return itoa(m/60) + " h " + itoa(m%60) + " min"
}
