package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/meta"
	"github.com/parleyhq/parley/internal/content"
)

// Object is the webhook envelope's "object" for WhatsApp.
const Object = "whatsapp_business_account"

// MaxIDLength bounds the platform ids Parley accepts (wamids are ~60 bytes).
const MaxIDLength = 256

type webhookEntry struct {
	ID      string            `json:"id"`
	Changes []json.RawMessage `json:"changes"`
}

type webhookChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type webhookValue struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []webhookContact  `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
}

type webhookContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
	// UserID is Meta's business-scoped user id (2026), e.g.
	// "US.13491208655302741918", present when the phone number may not be.
	UserID string `json:"user_id"`
}

type webhookMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type webhookError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type sharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
		Type  string `json:"type"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
	} `json:"emails"`
	Org struct {
		Company string `json:"company"`
	} `json:"org"`
	URLs []struct {
		URL string `json:"url"`
	} `json:"urls"`
}

type webhookMessage struct {
	From       string          `json:"from"`
	FromUserID string          `json:"from_user_id"`
	ID         string          `json:"id"`
	Timestamp  json.RawMessage `json:"timestamp"`
	Type       string          `json:"type"`
	Context    *struct {
		From string `json:"from"`
		ID   string `json:"id"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *webhookMedia `json:"image"`
	Document *webhookMedia `json:"document"`
	Video    *webhookMedia `json:"video"`
	Audio    *webhookMedia `json:"audio"`
	Sticker  *webhookMedia `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Contacts    []sharedContact `json:"contacts"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	System *struct {
		Body string `json:"body"`
	} `json:"system"`
}

type webhookStatus struct {
	ID          string          `json:"id"`
	Status      string          `json:"status"`
	Timestamp   json.RawMessage `json:"timestamp"`
	RecipientID string          `json:"recipient_id"`
	Errors      []webhookError  `json:"errors"`
}

// Parse reads a webhook delivery: every entry, every change of field
// "messages" addressed to this point of contact's phone number (changes for
// other numbers of the same app are ignored), every message and receipt.
// Receipts "sent" are skipped (the send itself told us); an emptied
// reaction (the customer took it back) is skipped; message types Parley
// does not handle become a text event naming the type, never dropped.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	env, err := meta.ParseEnvelope(body, Object)
	if err != nil {
		return nil, err
	}
	phoneID := poc.SettingString(SettingPhoneNumberID)
	var out []channel.InboundEvent
	for i, rawEntry := range env.Entry {
		field := fmt.Sprintf("entry[%d]", i)
		var entry webhookEntry
		if err := decode(rawEntry, &entry, field); err != nil {
			return nil, err
		}
		for j, rawChange := range entry.Changes {
			field := fmt.Sprintf("%s.changes[%d]", field, j)
			var ch webhookChange
			if err := decode(rawChange, &ch, field); err != nil {
				return nil, err
			}
			if ch.Field != "messages" {
				continue // template status updates, account updates…
			}
			field += ".value"
			var v webhookValue
			if err := decode(ch.Value, &v, field); err != nil {
				return nil, err
			}
			if v.Metadata.PhoneNumberID == "" || v.Metadata.PhoneNumberID != phoneID {
				continue // another number of the same business account
			}
			for k, rawMsg := range v.Messages {
				ev, ok, err := parseMessage(&v, rawMsg, k, fmt.Sprintf("%s.messages[%d]", field, k))
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, ev)
				}
			}
			for k, rawStatus := range v.Statuses {
				ev, ok, err := parseStatus(rawStatus, fmt.Sprintf("%s.statuses[%d]", field, k))
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, ev)
				}
			}
		}
	}
	return out, nil
}

// decode reads one JSON object; type errors name the field.
func decode(raw json.RawMessage, v any, field string) error {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return channel.Malformed(field, "must be an object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return channel.Malformed(field+"."+te.Field, "must be %s", te.Type.String())
		}
		return channel.Malformed(field, "malformed: %v", err)
	}
	return nil
}

// unixTime reads a timestamp given as a string or a number of seconds.
func unixTime(raw json.RawMessage) time.Time {
	s := strings.TrimSpace(string(raw))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return meta.UnixTime(json.Number(s))
}

func checkID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return channel.Malformed(field, "required")
	}
	if len(id) > MaxIDLength || !utf8.ValidString(id) {
		return channel.Malformed(field, "at most %d bytes of UTF-8", MaxIDLength)
	}
	return nil
}

// author finds who wrote message k: its "from" (the wa_id), else — for
// Meta's business-scoped ids, when no phone number is exposed — the
// contact's wa_id or user_id. Never keyed on the phone number alone when it
// is absent.
func (v *webhookValue) author(m *webhookMessage, k int) (id, name string) {
	var c *webhookContact
	for i := range v.Contacts {
		x := &v.Contacts[i]
		if (m.From != "" && x.WaID == m.From) || (m.From == "" && m.FromUserID != "" && x.UserID == m.FromUserID) {
			c = x
			break
		}
	}
	if c == nil {
		switch {
		case len(v.Contacts) == 1:
			c = &v.Contacts[0]
		case k < len(v.Contacts):
			c = &v.Contacts[k]
		}
	}
	id = m.From
	if id == "" {
		id = m.FromUserID
	}
	if c != nil {
		if id == "" {
			id = c.WaID
		}
		if id == "" {
			id = c.UserID
		}
		name = c.Profile.Name
	}
	return id, clip(name, 200)
}

func parseMessage(v *webhookValue, raw json.RawMessage, k int, field string) (channel.InboundEvent, bool, error) {
	var m webhookMessage
	if err := decode(raw, &m, field); err != nil {
		return channel.InboundEvent{}, false, err
	}
	if err := checkID(field+".id", m.ID); err != nil {
		return channel.InboundEvent{}, false, err
	}
	authorID, name := v.author(&m, k)
	if err := checkID(field+".from", authorID); err != nil {
		return channel.InboundEvent{}, false, err
	}
	ev := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: m.ID, ThreadID: authorID, AuthorID: authorID,
		AuthorName: name, ThreadName: name, SentAt: unixTime(m.Timestamp)}
	if m.Context != nil && m.Context.ID != "" && len(m.Context.ID) <= MaxIDLength {
		ev.ReplyToPlatformID = m.Context.ID
	}
	unsupported := func() {
		t := m.Type
		if t == "" {
			t = "unknown"
		}
		ev.Text = "[unsupported message type " + clip(t, 64) + "]"
	}
	media := func(md *webhookMedia) {
		if md == nil || md.ID == "" || len(md.ID) > MaxIDLength {
			ev.Text = "[" + m.Type + " without a media id]"
			return
		}
		ev.Text = md.Caption
		ev.Attachments = []channel.InboundAttachment{{MediaRef: md.ID, MimeType: baseMIME(md.MimeType), Name: clip(md.Filename, 255)}}
	}
	switch m.Type {
	case "text":
		if m.Text == nil {
			return ev, false, channel.Malformed(field+".text", "required for type text")
		}
		ev.Text = m.Text.Body
	case "image":
		media(m.Image)
	case "document":
		media(m.Document)
	case "video":
		media(m.Video)
	case "audio":
		media(m.Audio)
	case "sticker":
		media(m.Sticker)
	case "location":
		if m.Location == nil {
			return ev, false, channel.Malformed(field+".location", "required for type location")
		}
		ev.Text, ev.Content = locationText(m.Location.Name, m.Location.Address, m.Location.Latitude, m.Location.Longitude)
	case "contacts":
		ev.Text = contactsText(m.Contacts)
	case "interactive":
		switch {
		case m.Interactive != nil && m.Interactive.Type == "button_reply" && m.Interactive.ButtonReply != nil:
			ev.ChoiceID, ev.Text = m.Interactive.ButtonReply.ID, m.Interactive.ButtonReply.Title
		case m.Interactive != nil && m.Interactive.Type == "list_reply" && m.Interactive.ListReply != nil:
			ev.ChoiceID, ev.Text = m.Interactive.ListReply.ID, m.Interactive.ListReply.Title
		default:
			t := "interactive"
			if m.Interactive != nil && m.Interactive.Type != "" {
				t += "." + m.Interactive.Type
			}
			ev.Text = "[unsupported message type " + clip(t, 64) + "]"
		}
	case "button":
		if m.Button == nil {
			return ev, false, channel.Malformed(field+".button", "required for type button")
		}
		ev.ChoiceID, ev.Text = m.Button.Payload, m.Button.Text
	case "reaction":
		if m.Reaction == nil || m.Reaction.Emoji == "" || m.Reaction.MessageID == "" || len(m.Reaction.MessageID) > MaxIDLength {
			return ev, false, nil // an emptied reaction: the customer took it back
		}
		ev.Reaction = clip(m.Reaction.Emoji, 64)
		ev.ReplyToPlatformID = m.Reaction.MessageID
	case "system":
		if m.System != nil && m.System.Body != "" {
			ev.Text = m.System.Body
		} else {
			unsupported()
		}
	default:
		unsupported()
	}
	if len(ev.ChoiceID) > 1024 {
		ev.ChoiceID = ""
	}
	if !utf8.ValidString(ev.Text) {
		ev.Text = strings.ToValidUTF8(ev.Text, "\uFFFD")
	}
	if ev.Text == "" && len(ev.Attachments) == 0 && ev.Reaction == "" && ev.ChoiceID == "" {
		unsupported() // e.g. a text with an empty body: still a message
	}
	return ev, true, nil
}

// locationText writes a shared location as plain text, and as canonical
// location content when its values are valid.
func locationText(name, address string, lat, long float64) (string, json.RawMessage) {
	coords := "(" + strconv.FormatFloat(lat, 'f', -1, 64) + ", " + strconv.FormatFloat(long, 'f', -1, 64) + ")"
	var parts []string
	for _, p := range []string{name, address} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	text := "📍 " + coords
	if len(parts) > 0 {
		text = "📍 " + strings.Join(parts, ", ") + " " + coords
	}
	c := content.Content{Type: content.TypeLocation, Location: &content.Location{Latitude: lat, Longitude: long, Title: name, Address: address}}
	if c.Validate() != nil {
		return text, nil
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return text, nil
	}
	return text, raw
}

// contactsText writes shared contact cards as readable lines.
func contactsText(cards []sharedContact) string {
	var lines []string
	for _, c := range cards {
		name := strings.TrimSpace(c.Name.FormattedName)
		if name == "" {
			name = strings.TrimSpace(c.Name.FirstName + " " + c.Name.LastName)
		}
		if name == "" {
			name = "contact"
		}
		var details []string
		for _, p := range c.Phones {
			if p.Phone == "" {
				continue
			}
			if p.Type != "" {
				details = append(details, p.Phone+" ("+strings.ToLower(p.Type)+")")
			} else {
				details = append(details, p.Phone)
			}
		}
		for _, e := range c.Emails {
			if e.Email != "" {
				details = append(details, e.Email)
			}
		}
		if c.Org.Company != "" {
			details = append(details, c.Org.Company)
		}
		for _, u := range c.URLs {
			if u.URL != "" {
				details = append(details, u.URL)
			}
		}
		line := "👤 " + name
		if len(details) > 0 {
			line += ": " + strings.Join(details, ", ")
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "[shared contact]"
	}
	return strings.Join(lines, "\n")
}

func parseStatus(raw json.RawMessage, field string) (channel.InboundEvent, bool, error) {
	var s webhookStatus
	if err := decode(raw, &s, field); err != nil {
		return channel.InboundEvent{}, false, err
	}
	switch s.Status {
	case "delivered", "read", "failed":
	default:
		return channel.InboundEvent{}, false, nil // "sent" (the send told us), "deleted", "warning"…
	}
	if err := checkID(field+".id", s.ID); err != nil {
		return channel.InboundEvent{}, false, err
	}
	ev := channel.InboundEvent{Kind: channel.EventStatus, StatusMessageID: s.ID, Status: s.Status, SentAt: unixTime(s.Timestamp)}
	if s.Status == "failed" {
		ev.Reason = failureReason(s.Errors)
	}
	return ev, true, nil
}

// failureReason writes a receipt's first error as "code: title (details)",
// with the message too when it says more than the title.
func failureReason(errs []webhookError) string {
	if len(errs) == 0 {
		return "failed (the platform gave no reason)"
	}
	e := errs[0]
	text := strings.TrimSpace(e.Title)
	if msg := strings.TrimSpace(e.Message); msg != "" && msg != text {
		if text == "" {
			text = msg
		} else {
			text += ": " + msg
		}
	}
	if text == "" {
		text = "failed"
	}
	reason := text
	if e.Code != 0 {
		reason = strconv.Itoa(e.Code) + ": " + text
	}
	if d := strings.TrimSpace(e.ErrorData.Details); d != "" && d != text {
		reason += " (" + d + ")"
	}
	return clip(reason, 1000)
}

// baseMIME drops parameters ("audio/ogg; codecs=opus" → "audio/ogg").
func baseMIME(s string) string {
	if mt, _, err := mime.ParseMediaType(s); err == nil {
		return mt
	}
	return strings.ToLower(strings.TrimSpace(s))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
