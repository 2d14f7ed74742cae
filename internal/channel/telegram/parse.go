package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
)

// callbackPrefix starts the PlatformMessageID of a tap: "cbq:<callback id>".
// Message ids are "<chat id>:<message id>" (digits, maybe a minus), so the
// two never collide.
const callbackPrefix = "cbq:"

// MaxIDLength bounds the ids Parley accepts from an update.
const MaxIDLength = 256

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// file is the common part of PhotoSize, Document, Video, Audio, Voice,
// VideoNote, Animation and Sticker.
type file struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name"`
	MimeType     string `json:"mime_type"`
	FileSize     int64  `json:"file_size"`
	Width        int64  `json:"width"`
	Height       int64  `json:"height"`
	// Sticker only.
	Emoji      string `json:"emoji"`
	IsAnimated bool   `json:"is_animated"`
	IsVideo    bool   `json:"is_video"`
}

type button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

type message struct {
	MessageID  int64  `json:"message_id"`
	From       *user  `json:"from"`
	SenderChat *chat  `json:"sender_chat"`
	Chat       chat   `json:"chat"`
	Date       int64  `json:"date"`
	EditDate   int64  `json:"edit_date"`
	Text       string `json:"text"`
	Caption    string `json:"caption"`
	Photo      []file `json:"photo"`
	Document   *file  `json:"document"`
	Animation  *file  `json:"animation"`
	Video      *file  `json:"video"`
	VideoNote  *file  `json:"video_note"`
	Voice      *file  `json:"voice"`
	Audio      *file  `json:"audio"`
	Sticker    *file  `json:"sticker"`
	Location   *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	Venue *struct {
		Title   string `json:"title"`
		Address string `json:"address"`
	} `json:"venue"`
	Contact *struct {
		PhoneNumber string `json:"phone_number"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
	} `json:"contact"`
	// Content Parley does not take, named in the transcript.
	Poll      json.RawMessage `json:"poll"`
	Dice      json.RawMessage `json:"dice"`
	Game      json.RawMessage `json:"game"`
	Story     json.RawMessage `json:"story"`
	Invoice   json.RawMessage `json:"invoice"`
	PaidMedia json.RawMessage `json:"paid_media"`
	Giveaway  json.RawMessage `json:"giveaway"`
	Checklist json.RawMessage `json:"checklist"`
	// ReplyToMessage is a whole Message; only its identity is read.
	ReplyToMessage *struct {
		MessageID int64 `json:"message_id"`
		Chat      chat  `json:"chat"`
	} `json:"reply_to_message"`
	ReplyMarkup *struct {
		InlineKeyboard [][]button `json:"inline_keyboard"`
	} `json:"reply_markup"`
}

type callbackQuery struct {
	ID              string   `json:"id"`
	From            user     `json:"from"`
	Message         *message `json:"message"`
	InlineMessageID string   `json:"inline_message_id"`
	ChatInstance    string   `json:"chat_instance"`
	Data            string   `json:"data"`
	GameShortName   string   `json:"game_short_name"`
}

type update struct {
	UpdateID      int64          `json:"update_id"`
	Message       *message       `json:"message"`
	EditedMessage *message       `json:"edited_message"`
	CallbackQuery *callbackQuery `json:"callback_query"`
}

// Parse reads one update. A message or an edited message becomes a message
// event with PlatformMessageID "<chat id>:<message id>" (an edit:
// "<chat id>:<message id>:edit:<edit date>", quoting the original); a
// callback query becomes a message event "cbq:<callback id>" whose ChoiceID
// is the button's callback_data and whose Text is the tapped button's label.
// These ids are the same on every redelivery of the update, so Telegram's
// retries are deduplicated. Messages from bots (Parley's own bot included,
// in groups) and update types Parley does not handle give no event.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, channel.Malformed("", "the body must be a JSON Update object")
	}
	var u update
	if err := json.Unmarshal(body, &u); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, channel.Malformed(te.Field, "must be %s", te.Type.String())
		}
		return nil, channel.Malformed("", "malformed update: %v", err)
	}
	var (
		ev  channel.InboundEvent
		ok  bool
		err error
	)
	switch {
	case u.Message != nil:
		ev, ok, err = a.parseMessage(u.Message, "message", false)
	case u.EditedMessage != nil:
		ev, ok, err = a.parseMessage(u.EditedMessage, "edited_message", true)
	case u.CallbackQuery != nil:
		ev, ok, err = a.parseCallback(u.CallbackQuery)
	default:
		return nil, nil // channel posts, member updates, polls…: not handled
	}
	if err != nil || !ok {
		return nil, err
	}
	return []channel.InboundEvent{ev}, nil
}

// messageID is Parley's id of a Telegram message: message ids are only
// unique within a chat.
func messageID(chatID, id int64) string {
	return strconv.FormatInt(chatID, 10) + ":" + strconv.FormatInt(id, 10)
}

func fullName(first, last string) string {
	return clip(strings.TrimSpace(strings.TrimSpace(first)+" "+strings.TrimSpace(last)), 200)
}

func (u *user) name() string {
	if n := fullName(u.FirstName, u.LastName); n != "" {
		return n
	}
	if u.Username != "" {
		return "@" + clip(u.Username, 64)
	}
	return ""
}

func (c *chat) name() string {
	if c.Title != "" {
		return clip(c.Title, 200)
	}
	if n := fullName(c.FirstName, c.LastName); n != "" {
		return n
	}
	if c.Username != "" {
		return "@" + clip(c.Username, 64)
	}
	return ""
}

func unix(sec int64) time.Time {
	if sec <= 0 || sec > 1<<40 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func (a *Adapter) parseMessage(m *message, field string, edited bool) (channel.InboundEvent, bool, error) {
	if m.Chat.ID == 0 {
		return channel.InboundEvent{}, false, channel.Malformed(field+".chat.id", "required")
	}
	if m.MessageID <= 0 {
		return channel.InboundEvent{}, false, channel.Malformed(field+".message_id", "required")
	}
	if m.From != nil && m.From.IsBot {
		return channel.InboundEvent{}, false, nil // our own bot, or another bot in a group
	}
	ev := channel.InboundEvent{
		Kind:              channel.EventMessage,
		PlatformMessageID: messageID(m.Chat.ID, m.MessageID),
		ThreadID:          strconv.FormatInt(m.Chat.ID, 10),
		ThreadName:        m.Chat.name(),
		SentAt:            unix(m.Date),
	}
	switch {
	case m.From != nil && m.From.ID != 0:
		ev.AuthorID, ev.AuthorName = strconv.FormatInt(m.From.ID, 10), m.From.name()
	case m.SenderChat != nil && m.SenderChat.ID != 0: // an anonymous group admin, a channel
		ev.AuthorID, ev.AuthorName = strconv.FormatInt(m.SenderChat.ID, 10), m.SenderChat.name()
	default:
		ev.AuthorID, ev.AuthorName = ev.ThreadID, ev.ThreadName
	}
	if ev.ThreadName == "" {
		ev.ThreadName = ev.AuthorName
	}
	if q := m.ReplyToMessage; q != nil && q.MessageID > 0 {
		c := q.Chat.ID
		if c == 0 {
			c = m.Chat.ID
		}
		ev.ReplyToPlatformID = messageID(c, q.MessageID)
	}
	ev.Text, ev.Content, ev.Attachments = messageContent(m)
	if ev.Text == "" && len(ev.Attachments) == 0 {
		return channel.InboundEvent{}, false, nil
	}
	if edited {
		// An edit is a new message of the transcript, quoting the
		// original; each edit has its own date, hence its own id.
		at := m.EditDate
		if at <= 0 {
			at = m.Date
		}
		ev.ReplyToPlatformID = ev.PlatformMessageID
		ev.PlatformMessageID += ":edit:" + strconv.FormatInt(at, 10)
		if t := unix(m.EditDate); !t.IsZero() {
			ev.SentAt = t
		}
		ev.Text = "[edited] " + ev.Text
		ev.Content = nil
	}
	if ev.SentAt.IsZero() {
		ev.SentAt = a.now().UTC()
	}
	ev.Text = strings.ToValidUTF8(ev.Text, "\uFFFD")
	return ev, true, nil
}

// messageContent is a message's text (its caption for files), canonical
// content when there is some (a shared location), and its file.
func messageContent(m *message) (string, json.RawMessage, []channel.InboundAttachment) {
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	var att *channel.InboundAttachment
	note := ""
	attach := func(f *file, kind, mimeType, ext string) {
		if f == nil || !fileID.MatchString(f.FileID) {
			note = "[" + kind + " without a file id]"
			return
		}
		if f.FileSize > MaxDownload {
			// Telegram serves bots files of at most 20 MB: asking would fail
			// the webhook, and Telegram would redeliver it for hours.
			name := f.FileName
			if name == "" {
				name = kind
			}
			note = fmt.Sprintf("[%s %s (%d MB) is too large for a bot to download (Telegram's limit is 20 MB)]", kind, clip(name, 120), (f.FileSize+(1<<20)-1)>>20)
			return
		}
		if f.MimeType != "" {
			mimeType = baseMIME(f.MimeType)
		}
		name := clip(f.FileName, 255)
		if name == "" {
			id := f.FileUniqueID
			if !fileID.MatchString(id) {
				id = clip(f.FileID, 32)
			}
			name = kind + "_" + clip(id, 64) + ext
		}
		att = &channel.InboundAttachment{MediaRef: f.FileID, MimeType: mimeType, Name: name}
	}
	switch {
	case len(m.Photo) > 0:
		attach(largest(m.Photo), "photo", "image/jpeg", ".jpg")
	case m.Animation != nil: // a GIF also comes as a document: take it once
		attach(m.Animation, "animation", "video/mp4", ".mp4")
	case m.Video != nil:
		attach(m.Video, "video", "video/mp4", ".mp4")
	case m.VideoNote != nil:
		attach(m.VideoNote, "video_note", "video/mp4", ".mp4")
	case m.Voice != nil:
		attach(m.Voice, "voice", "audio/ogg", ".ogg")
	case m.Audio != nil:
		attach(m.Audio, "audio", "audio/mpeg", ".mp3")
	case m.Document != nil:
		attach(m.Document, "document", "", "")
	case m.Sticker != nil:
		mt, ext := "image/webp", ".webp"
		switch {
		case m.Sticker.IsVideo:
			mt, ext = "video/webm", ".webm"
		case m.Sticker.IsAnimated:
			mt, ext = "application/x-tgsticker", ".tgs"
		}
		attach(m.Sticker, "sticker", mt, ext)
		if text == "" && m.Sticker.Emoji != "" {
			text = clip(m.Sticker.Emoji, 64)
		}
	case m.Venue != nil && m.Location != nil:
		t, c := locationText(m.Venue.Title, m.Venue.Address, m.Location.Latitude, m.Location.Longitude)
		return t, c, nil
	case m.Location != nil:
		t, c := locationText("", "", m.Location.Latitude, m.Location.Longitude)
		return t, c, nil
	case m.Contact != nil:
		name := fullName(m.Contact.FirstName, m.Contact.LastName)
		if name == "" {
			name = "contact"
		}
		line := "👤 " + name
		if p := strings.TrimSpace(m.Contact.PhoneNumber); p != "" {
			line += ": " + clip(p, 64)
		}
		return line, nil, nil
	}
	if note != "" {
		if text != "" {
			text += "\n"
		}
		text += note
	}
	var atts []channel.InboundAttachment
	if att != nil {
		atts = []channel.InboundAttachment{*att}
	}
	if text == "" && att == nil {
		for _, k := range []struct {
			name string
			raw  json.RawMessage
		}{{"poll", m.Poll}, {"dice", m.Dice}, {"game", m.Game}, {"story", m.Story}, {"invoice", m.Invoice},
			{"paid_media", m.PaidMedia}, {"giveaway", m.Giveaway}, {"checklist", m.Checklist}} {
			if len(k.raw) > 0 && string(k.raw) != "null" {
				return "[unsupported message type " + k.name + "]", nil, nil
			}
		}
		// A service message (a pin, members joining, a payment…): not
		// something the customer said.
		return "", nil, nil
	}
	return text, nil, atts
}

// largest picks the photo size with the most pixels (Telegram lists them
// smallest first; ties go to the later one).
func largest(sizes []file) *file {
	best := &sizes[0]
	for i := range sizes {
		s := &sizes[i]
		px, bestPx := s.Width*s.Height, best.Width*best.Height
		if px > bestPx || (px == bestPx && s.FileSize >= best.FileSize) {
			best = s
		}
	}
	return best
}

// locationText writes a shared location (or venue) as plain text, and as
// canonical location content when its values are valid.
func locationText(name, address string, lat, long float64) (string, json.RawMessage) {
	coords := "(" + strconv.FormatFloat(lat, 'f', -1, 64) + ", " + strconv.FormatFloat(long, 'f', -1, 64) + ")"
	var parts []string
	for _, p := range []string{name, address} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, clip(p, 200))
		}
	}
	text := "📍 " + coords
	if len(parts) > 0 {
		text = "📍 " + strings.Join(parts, ", ") + " " + coords
	}
	c := content.Content{Type: content.TypeLocation, Location: &content.Location{Latitude: lat, Longitude: long, Title: clip(name, 200), Address: clip(address, 200)}}
	if c.Validate() != nil {
		return text, nil
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return text, nil
	}
	return text, raw
}

// parseCallback reads a tap on an inline-keyboard button. Text is the
// tapped button's label, found in the keyboard of the message it belongs to
// (callback_query.message.reply_markup), else the data itself.
func (a *Adapter) parseCallback(q *callbackQuery) (channel.InboundEvent, bool, error) {
	if strings.TrimSpace(q.ID) == "" || len(q.ID) > MaxIDLength || !utf8.ValidString(q.ID) {
		return channel.InboundEvent{}, false, channel.Malformed("callback_query.id", "required, at most %d bytes of UTF-8", MaxIDLength)
	}
	if q.From.ID == 0 {
		return channel.InboundEvent{}, false, channel.Malformed("callback_query.from.id", "required")
	}
	if q.From.IsBot || q.Data == "" || len(q.Data) > MaxCallbackData || !utf8.ValidString(q.Data) {
		return channel.InboundEvent{}, false, nil // a game's button, or not a tap Parley made
	}
	ev := channel.InboundEvent{
		Kind:              channel.EventMessage,
		PlatformMessageID: callbackPrefix + q.ID,
		AuthorID:          strconv.FormatInt(q.From.ID, 10),
		AuthorName:        q.From.name(),
		ChoiceID:          q.Data,
		Text:              q.Data,
		// A callback query has no date: it is the time Parley got it.
		SentAt: a.now().UTC(),
	}
	ev.ThreadID, ev.ThreadName = ev.AuthorID, ev.AuthorName
	if m := q.Message; m != nil && m.Chat.ID != 0 {
		ev.ThreadID = strconv.FormatInt(m.Chat.ID, 10)
		if n := m.Chat.name(); n != "" {
			ev.ThreadName = n
		}
		if m.MessageID > 0 {
			ev.ReplyToPlatformID = messageID(m.Chat.ID, m.MessageID)
		}
		if m.ReplyMarkup != nil {
		rows:
			for _, row := range m.ReplyMarkup.InlineKeyboard {
				for _, b := range row {
					if b.CallbackData == q.Data && strings.TrimSpace(b.Text) != "" {
						ev.Text = strings.ToValidUTF8(clip(b.Text, 200), "\uFFFD")
						break rows
					}
				}
			}
		}
	}
	return ev, true, nil
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
