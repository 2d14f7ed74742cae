package viber

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Limits on what a callback may carry (Viber's own are far below them).
const (
	maxIDLength   = 256
	maxTextLength = 64 << 10
)

// The callbacks' wire shapes (CHANNELS.md §8; Viber's REST bot API
// "Callbacks"). message_token is a 64-bit integer in JSON: it is read as a
// json.Number, never through a float64, so no digit is lost.
type wireEvent struct {
	Event        string       `json:"event"`
	Timestamp    json.Number  `json:"timestamp"`
	MessageToken json.Number  `json:"message_token"`
	Sender       *wireUser    `json:"sender"` // message
	User         *wireUser    `json:"user"`   // subscribed, conversation_started
	UserID       string       `json:"user_id"`
	Desc         string       `json:"desc"` // failed
	Message      *wireMessage `json:"message"`
}

type wireUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wireMessage struct {
	Type         string      `json:"type"`
	Text         string      `json:"text"`
	Media        string      `json:"media"`
	FileName     string      `json:"file_name"`
	StickerID    json.Number `json:"sticker_id"`
	TrackingData string      `json:"tracking_data"`
	Contact      *struct {
		Name        string `json:"name"`
		PhoneNumber string `json:"phone_number"`
	} `json:"contact"`
	Location *struct {
		Lat json.Number `json:"lat"`
		Lon json.Number `json:"lon"`
	} `json:"location"`
}

// tokenPattern is a message_token: a non-negative 64-bit integer.
var tokenPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

// Parse turns one callback into canonical events. Viber sends one event per
// request: a customer's message, a receipt (delivered, seen, failed) of one
// of our messages, or something the core does not store (the set_webhook
// check "webhook", subscribed, unsubscribed, conversation_started, and any
// event type Viber adds later), which gives no event and a 200.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	if t := strings.TrimLeft(string(body), " \t\r\n"); t == "" || t[0] != '{' {
		return nil, channel.Malformed("", "the body must be a JSON object")
	}
	var ev wireEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, channel.Malformed(te.Field, "must be %s", te.Type.String())
		}
		return nil, channel.Malformed("", "malformed JSON: %v", err)
	}
	switch ev.Event {
	case "":
		return nil, channel.Malformed("event", "required")
	case "message":
		e, err := parseMessage(&ev)
		if err != nil || e == nil {
			return nil, err
		}
		return []channel.InboundEvent{*e}, nil
	case "delivered", "seen", "failed":
		token, err := checkToken(ev.MessageToken)
		if err != nil {
			return nil, err
		}
		if err := checkID("user_id", ev.UserID, false); err != nil {
			return nil, err
		}
		if err := checkText("desc", ev.Desc); err != nil {
			return nil, err
		}
		out := channel.InboundEvent{Kind: channel.EventStatus, StatusMessageID: token, ThreadID: ev.UserID, Status: statusOf(ev.Event)}
		if ev.Event == "failed" {
			out.Reason = truncateRunes(strings.TrimSpace(ev.Desc), 1000)
			if out.Reason == "" {
				out.Reason = "Viber could not deliver the message"
			}
		}
		return []channel.InboundEvent{out}, nil
	}
	// "webhook" (the check set_webhook makes), subscribed, unsubscribed,
	// conversation_started, client_status…: acknowledged, nothing stored.
	// An unsubscribed user simply stops receiving: Viber refuses later
	// sends with status 6, which marks the address unreachable.
	return nil, nil
}

func statusOf(event string) string {
	switch event {
	case "seen":
		return "read"
	case "failed":
		return "failed"
	}
	return "delivered"
}

func checkToken(n json.Number) (string, error) {
	s := n.String()
	if s == "" {
		return "", channel.Malformed("message_token", "required")
	}
	if !tokenPattern.MatchString(s) {
		return "", channel.Malformed("message_token", "must be a non-negative integer")
	}
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return "", channel.Malformed("message_token", "must be a 64-bit integer")
	}
	return s, nil
}

func checkID(field, v string, required bool) error {
	if v == "" {
		if required {
			return channel.Malformed(field, "required")
		}
		return nil
	}
	if len(v) > maxIDLength || !utf8.ValidString(v) {
		return channel.Malformed(field, "at most %d characters of UTF-8", maxIDLength)
	}
	return nil
}

func checkText(field, v string) error {
	if len(v) > maxTextLength || !utf8.ValidString(v) {
		return channel.Malformed(field, "valid UTF-8, at most %d bytes", maxTextLength)
	}
	return nil
}

// parseMessage reads a customer's message. A nil event means nothing a
// person could read (an empty message).
func parseMessage(ev *wireEvent) (*channel.InboundEvent, error) {
	token, err := checkToken(ev.MessageToken)
	if err != nil {
		return nil, err
	}
	if ev.Sender == nil {
		return nil, channel.Malformed("sender", "required")
	}
	if err := checkID("sender.id", ev.Sender.ID, true); err != nil {
		return nil, err
	}
	if err := checkText("sender.name", ev.Sender.Name); err != nil {
		return nil, err
	}
	m := ev.Message
	if m == nil {
		return nil, channel.Malformed("message", "required")
	}
	for _, f := range []struct{ name, value string }{{"message.type", m.Type}, {"message.text", m.Text}, {"message.media", m.Media},
		{"message.file_name", m.FileName}, {"message.tracking_data", m.TrackingData}} {
		if err := checkText(f.name, f.value); err != nil {
			return nil, err
		}
	}
	out := &channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: token, ThreadID: ev.Sender.ID,
		AuthorID: ev.Sender.ID, AuthorName: strings.TrimSpace(ev.Sender.Name), SentAt: unixMillis(ev.Timestamp)}
	text := m.Text
	switch m.Type {
	case "text":
		// A keyboard tap is a text message whose text is the button's
		// ActionBody; the tracking_data of the keyboard's message maps it
		// back to the option id.
		if id, ok := decodeChoices(m.TrackingData)[m.Text]; ok {
			out.ChoiceID = id
		}
	case "picture", "video", "file":
		if httpURL(m.Media, false) {
			out.Attachments = append(out.Attachments, channel.InboundAttachment{URL: m.Media, Name: attachmentName(m.Type, m.FileName, m.Media)})
		} else if m.Media != "" {
			text = joinLines(text, "Sent a "+m.Type+": "+m.Media)
		}
	case "sticker":
		if httpURL(m.Media, false) {
			name := "sticker.png"
			if id := m.StickerID.String(); tokenPattern.MatchString(id) {
				name = "sticker-" + id + ".png"
			}
			out.Attachments = append(out.Attachments, channel.InboundAttachment{URL: m.Media, Name: name})
		} else {
			text = joinLines(text, "(sticker)")
		}
	case "contact":
		if c := m.Contact; c != nil {
			if err := checkText("message.contact", c.Name+c.PhoneNumber); err != nil {
				return nil, err
			}
			line := strings.TrimSpace(strings.TrimSpace(c.Name) + " " + strings.TrimSpace(c.PhoneNumber))
			if line != "" {
				text = joinLines(text, "Shared a contact: "+line)
			}
		}
	case "url":
		if m.Media != "" && !strings.Contains(text, m.Media) {
			text = joinLines(text, m.Media)
		}
	case "location":
		if l := m.Location; l != nil {
			lat, errLat := strconv.ParseFloat(l.Lat.String(), 64)
			lon, errLon := strconv.ParseFloat(l.Lon.String(), 64)
			if errLat != nil || errLon != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
				return nil, channel.Malformed("message.location", "lat and lon must be coordinates")
			}
			text = joinLines(text, "Shared a location: https://www.google.com/maps/search/?api=1&query="+
				strconv.FormatFloat(lat, 'f', -1, 64)+","+strconv.FormatFloat(lon, 'f', -1, 64))
		}
	default:
		// A type this adapter does not know: keep what can be read.
		if httpURL(m.Media, false) {
			out.Attachments = append(out.Attachments, channel.InboundAttachment{URL: m.Media, Name: attachmentName(m.Type, m.FileName, m.Media)})
		}
		if text == "" && len(out.Attachments) == 0 {
			text = "(a Viber message of a type Parley cannot show)"
		}
	}
	out.Text = text
	if strings.TrimSpace(out.Text) == "" && len(out.Attachments) == 0 {
		return nil, nil
	}
	return out, nil
}

func joinLines(a, b string) string {
	if strings.TrimSpace(a) == "" {
		return b
	}
	return a + "\n" + b
}

// unixMillis reads Viber's epoch milliseconds; zero when absent or odd.
func unixMillis(n json.Number) time.Time {
	ms, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || ms <= 0 || ms > 1<<50 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// attachmentName is the file name Viber gave, else the URL's last segment
// when it has an extension, else the message type.
func attachmentName(kind, fileName, raw string) string {
	if n := strings.TrimSpace(fileName); n != "" && len(n) <= 255 && !strings.ContainsAny(n, "/\\\x00") {
		return n
	}
	if u, err := url.Parse(raw); err == nil {
		if base := path.Base(u.Path); strings.Contains(base, ".") && len(base) <= 200 && utf8.ValidString(base) {
			return base
		}
	}
	if kind == "" {
		return "file"
	}
	return kind
}
