package content

// Channel type identifiers, as used in the API, the database and the
// capability tables (DESIGN.md). WeChat is a BYOC middleware, not a type.
const (
	ChannelChat                   = "chat"
	ChannelEmail                  = "email"
	ChannelSMS                    = "sms"
	ChannelWhatsApp               = "whatsapp"
	ChannelMessenger              = "messenger"
	ChannelInstagramDirect        = "instagram_direct"
	ChannelXDM                    = "x_dm"
	ChannelTelegram               = "telegram"
	ChannelLINE                   = "line"
	ChannelViber                  = "viber"
	ChannelSlack                  = "slack"
	ChannelTeams                  = "teams"
	ChannelAppleMessages          = "apple_messages"
	ChannelGoogleBusinessMessages = "google_business_messages"
	ChannelBYOC                   = "byoc"
	ChannelFacebook               = "facebook"
	ChannelInstagram              = "instagram"
	ChannelX                      = "x"
	ChannelLinkedIn               = "linkedin"
	ChannelYouTube                = "youtube"
	ChannelGooglePlay             = "google_play"
	ChannelGooglePlaces           = "google_places"
	ChannelAppStore               = "app_store"
)

// ChannelTypes returns every channel type identifier in a stable order (a
// new slice each call).
func ChannelTypes() []string {
	return []string{
		ChannelChat, ChannelEmail, ChannelSMS, ChannelWhatsApp, ChannelMessenger,
		ChannelInstagramDirect, ChannelXDM, ChannelTelegram, ChannelLINE, ChannelViber,
		ChannelSlack, ChannelTeams, ChannelAppleMessages, ChannelGoogleBusinessMessages,
		ChannelBYOC, ChannelFacebook, ChannelInstagram, ChannelX, ChannelLinkedIn,
		ChannelYouTube, ChannelGooglePlay, ChannelGooglePlaces, ChannelAppStore,
	}
}

// KnownChannelType reports whether s is one of ChannelTypes.
func KnownChannelType(s string) bool {
	for _, t := range ChannelTypes() {
		if t == s {
			return true
		}
	}
	return false
}

// Level is how a channel shows one rich content type.
type Level string

// Support levels. The reference product's tables only have ✓ (native) and ✗
// (plain text), plus one "uses the fallback text" cell: email's quick
// replies in the send table.
const (
	Native       Level = "native"
	FallbackText Level = "fallback_text"
	PlainText    Level = "plain_text"
)

// The seven rich content features of the reference product: the columns of
// the two support tables and the keys of a Support map.
const (
	FeatureAdaptiveCard = "adaptive_card"
	FeatureHTMLMarkdown = "html_markdown"
	FeatureRichLink     = "rich_link"
	FeatureQuickReplies = "quick_replies"
	FeatureListPicker   = "list_picker"
	FeatureTimePicker   = "time_picker"
	FeatureForm         = "form"
)

// Features returns the seven feature keys in the tables' column order.
func Features() []string {
	return []string{
		FeatureAdaptiveCard, FeatureHTMLMarkdown, FeatureRichLink,
		FeatureQuickReplies, FeatureListPicker, FeatureTimePicker, FeatureForm,
	}
}

// Support is one row of a support table: a Level for each of the seven
// feature keys. A Support always has all seven keys.
type Support map[string]Level

// row is a table row in column order (see Features).
type row [7]Level

func (r row) support() Support {
	s := make(Support, len(r))
	for i, f := range Features() {
		s[f] = r[i]
	}
	return s
}

const (
	lvY = Native
	lvN = PlainText
	lvF = FallbackText
)

// seedRows returns the two rows of MISSION.md §3 for a channel, exactly as
// the reference product's documentation gives them. Columns: adaptive card,
// HTML/Markdown, rich link, quick replies, list picker, time picker, form.
// Channels the seed does not list have no rich content: every cell is plain
// text. (Parley will go beyond the seed with native elements of some of
// those platforms — Telegram inline keyboards, Slack Block Kit, … — when
// their adapters land; they will be added here, with their own tests.)
func seedRows(channel string) (send, agent row) {
	switch channel {
	case ChannelAppleMessages:
		return row{lvN, lvN, lvY, lvY, lvY, lvY, lvY}, row{lvN, lvN, lvY, lvY, lvY, lvY, lvY}
	case ChannelChat:
		return row{lvY, lvY, lvY, lvY, lvY, lvN, lvY}, row{lvN, lvN, lvY, lvY, lvY, lvN, lvY}
	case ChannelEmail:
		return row{lvN, lvY, lvN, lvF, lvN, lvN, lvN}, row{lvN, lvY, lvN, lvN, lvN, lvN, lvN}
	case ChannelMessenger:
		return row{lvN, lvN, lvY, lvY, lvY, lvY, lvN}, row{lvN, lvN, lvY, lvY, lvY, lvN, lvN}
	case ChannelWhatsApp:
		return row{lvN, lvY, lvY, lvY, lvY, lvY, lvN}, row{lvN, lvY, lvY, lvY, lvY, lvN, lvN}
	case ChannelGoogleBusinessMessages:
		return row{lvN, lvN, lvY, lvN, lvY, lvY, lvN}, row{lvN, lvN, lvY, lvN, lvY, lvN, lvN}
	}
	return row{lvN, lvN, lvN, lvN, lvN, lvN, lvN}, row{lvN, lvN, lvN, lvN, lvN, lvN, lvN}
}

// Capabilities returns the two table rows for a channel type: what the
// API, bots and flows can send (send) and what a human agent can see and
// send (agent). ok is false for an unknown channel type. The maps are new
// on every call.
func Capabilities(channelType string) (send, agent Support, ok bool) {
	if !KnownChannelType(channelType) {
		return nil, nil, false
	}
	s, a := seedRows(channelType)
	return s.support(), a.support(), true
}

// featureOf maps a canonical type to the table column that governs it.
// Cards and carousels are link-like rich messages, so they follow the rich
// link column; text, file and location are not in the tables ("" result).
func featureOf(t Type) string {
	switch t {
	case TypeAdaptiveCard:
		return FeatureAdaptiveCard
	case TypeHTML, TypeMarkdown:
		return FeatureHTMLMarkdown
	case TypeRichLink, TypeCard, TypeCarousel:
		return FeatureRichLink
	case TypeQuickReplies:
		return FeatureQuickReplies
	case TypeListPicker:
		return FeatureListPicker
	case TypeTimePicker:
		return FeatureTimePicker
	case TypeForm:
		return FeatureForm
	}
	return ""
}

// takesAttachments reports whether Parley sends files to a channel (MISSION.md
// §2): LINE explicitly takes none from Parley, social channels publish text,
// Google Business Messages is shut down.
func takesAttachments(channel string) bool {
	switch channel {
	case ChannelChat, ChannelEmail, ChannelSMS, ChannelWhatsApp, ChannelMessenger,
		ChannelInstagramDirect, ChannelXDM, ChannelTelegram, ChannelAppleMessages,
		ChannelSlack, ChannelBYOC:
		return true
	}
	return false
}

// AgentMaySend reports whether a human agent may send content of type t on
// a channel type, per the agent table. The mapping:
//   - text: always;
//   - html, markdown: the HTML/Markdown column;
//   - rich_link, card, carousel: the rich link column;
//   - quick_replies, list_picker, time_picker, form, adaptive_card: their own column;
//   - file, location: where Parley sends attachments to the channel (chat,
//     email, sms, whatsapp, messenger, instagram_direct, x_dm, telegram,
//     apple_messages, slack, byoc) — a location is sent like a shared pin.
//
// Only a native cell allows the type: what an agent cannot see rendered,
// the agent may not send (email's quick replies are ✗ for agents).
func AgentMaySend(channelType string, t Type) bool {
	if !KnownChannelType(channelType) || !knownType(t) {
		return false
	}
	switch t {
	case TypeText:
		return true
	case TypeFile, TypeLocation:
		return takesAttachments(channelType)
	}
	_, agent := seedRows(channelType)
	return agent.support()[featureOf(t)] == Native
}

// AppleRecipientSupport turns an Apple Messages for Business capability-list
// header ("LIST,TIME,FORM,QUICK") into a Support that narrows what
// RenderOptions.Recipient allows: a device that does not announce LIST gets
// no list picker, and so on. Features Apple does not announce are left at
// native (the channel row still decides).
func AppleRecipientSupport(capabilityList string) Support {
	has := make(map[string]bool)
	for _, c := range splitAny(capabilityList, ", ") {
		has[upperASCII(c)] = true
	}
	s := row{lvY, lvY, lvY, lvY, lvY, lvY, lvY}.support()
	for cap, feature := range map[string]string{
		"LIST": FeatureListPicker, "TIME": FeatureTimePicker,
		"FORM": FeatureForm, "QUICK": FeatureQuickReplies,
	} {
		if !has[cap] {
			s[feature] = PlainText
		}
	}
	return s
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// levelFor is the effective level of a feature for one rendering: the
// channel's send cell, lowered (never raised) by the recipient's support.
func levelFor(channel, feature string, recipient Support) Level {
	if feature == "" {
		return PlainText
	}
	send, _ := seedRows(channel)
	l := send.support()[feature]
	if recipient != nil {
		if r, ok := recipient[feature]; ok && rank(r) < rank(l) {
			l = r
		}
	}
	return l
}

func rank(l Level) int {
	switch l {
	case Native:
		return 2
	case FallbackText:
		return 1
	}
	return 0
}
