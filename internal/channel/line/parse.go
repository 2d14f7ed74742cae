package line

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Limits on what a webhook may carry (LINE's own are far below them).
const (
	maxIDLength   = 128
	maxTextLength = 64 << 10
)

// The webhook's wire shapes (CHANNELS.md §7; line/line-openapi webhook.yml).
type wireEnvelope struct {
	Destination string            `json:"destination"`
	Events      []json.RawMessage `json:"events"`
}

type wireEvent struct {
	Type            string      `json:"type"`
	Mode            string      `json:"mode"`
	Timestamp       json.Number `json:"timestamp"`
	Source          *wireSource `json:"source"`
	WebhookEventID  string      `json:"webhookEventId"`
	DeliveryContext *struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	ReplyToken string        `json:"replyToken"`
	Message    *wireMessage  `json:"message"`
	Postback   *wirePostback `json:"postback"`
	Follow     *struct {
		IsUnblocked bool `json:"isUnblocked"`
	} `json:"follow"`
}

type wireSource struct {
	Type    string `json:"type"` // user, group, room
	UserID  string `json:"userId"`
	GroupID string `json:"groupId"`
	RoomID  string `json:"roomId"`
}

type wireMessage struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	Text            string `json:"text"`
	MarkAsReadToken string `json:"markAsReadToken"`
	QuotedMessageID string `json:"quotedMessageId"`
	ContentProvider *struct {
		Type               string `json:"type"` // line, external
		OriginalContentURL string `json:"originalContentUrl"`
	} `json:"contentProvider"`
	FileName  string      `json:"fileName"`
	Title     string      `json:"title"`
	Address   string      `json:"address"`
	Latitude  json.Number `json:"latitude"`
	Longitude json.Number `json:"longitude"`
}

type wirePostback struct {
	Data   string            `json:"data"`
	Params map[string]string `json:"params"`
}

// choiceData is what Parley's postback buttons carry: the option (or slot)
// id, then "|" and the label the customer saw. LINE's postback webhook
// echoes data only, not displayText, and InboundEvent.Text must be what the
// customer's chat shows.
var choiceData = regexp.MustCompile(`^([A-Za-z0-9_.:-]{1,64})\|(.*)$`)

// verifyUserID is the dummy user of the webhook check older LINE consoles
// sent (today's "Verify" sends no events at all).
const verifyUserID = "Udeadbeefdeadbeefdeadbeefdeadbeef"

// Parse turns a webhook into canonical events: messages and postbacks of
// every event of the batch, follow and unfollow as the customer's opt-in
// and opt-out (noted on an open case as automated messages), and nothing
// for the rest (unsend, join, leave, beacon…). Each message's reply token
// is kept for the answer (see Send).
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, channel.Malformed("", "the body must be a JSON object")
	}
	var env wireEnvelope
	if err := decode(body, &env, ""); err != nil {
		return nil, err
	}
	if env.Events == nil {
		return nil, channel.Malformed("events", "required")
	}
	received := a.now()
	var out []channel.InboundEvent
	for i, raw := range env.Events {
		field := fmt.Sprintf("events[%d]", i)
		var ev wireEvent
		if err := decode(raw, &ev, field); err != nil {
			return nil, err
		}
		got, err := a.parseEvent(&ev, field, poc, received)
		if err != nil {
			return nil, err
		}
		if got != nil {
			out = append(out, *got)
		}
	}
	return out, nil
}

func decode(raw []byte, v any, field string) error {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return channel.Malformed(field, "must be an object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			f := te.Field
			if field != "" {
				f = field + "." + f
			}
			return channel.Malformed(f, "must be %s", te.Type.String())
		}
		return channel.Malformed(field, "malformed JSON: %v", err)
	}
	return nil
}

func checkID(field, v string, required bool) error {
	if v == "" {
		if required {
			return channel.Malformed(field, "required")
		}
		return nil
	}
	if len(v) > maxIDLength || !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n") {
		return channel.Malformed(field, "at most %d characters on one line", maxIDLength)
	}
	return nil
}

func checkText(field, v string) error {
	if len(v) > maxTextLength || !utf8.ValidString(v) {
		return channel.Malformed(field, "valid UTF-8, at most %d bytes", maxTextLength)
	}
	return nil
}

// eventTime reads LINE's millisecond timestamps.
func eventTime(v json.Number) time.Time {
	n, err := v.Int64()
	if err != nil || n <= 0 || n > 1<<53 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// source returns the thread (the user, group or room the conversation is
// in) and the author (the user who wrote; the thread itself when LINE
// leaves the user out of a group event).
func source(s *wireSource, field string) (thread, author string, err error) {
	if s == nil {
		return "", "", channel.Malformed(field+".source", "required")
	}
	switch s.Type {
	case "user":
		thread = s.UserID
		if err := checkID(field+".source.userId", s.UserID, true); err != nil {
			return "", "", err
		}
	case "group":
		thread = s.GroupID
		if err := checkID(field+".source.groupId", s.GroupID, true); err != nil {
			return "", "", err
		}
	case "room":
		thread = s.RoomID
		if err := checkID(field+".source.roomId", s.RoomID, true); err != nil {
			return "", "", err
		}
	default:
		return "", "", channel.Malformed(field+".source.type", "one of user, group, room")
	}
	if err := checkID(field+".source.userId", s.UserID, false); err != nil {
		return "", "", err
	}
	author = s.UserID
	if author == "" {
		author = thread
	}
	return thread, author, nil
}

func (a *Adapter) parseEvent(ev *wireEvent, field string, poc *channel.PointOfContact, received time.Time) (*channel.InboundEvent, error) {
	switch ev.Type {
	case "message", "postback", "follow", "unfollow":
	default:
		return nil, nil // unsend, join, leave, memberJoined, beacon, accountLink…
	}
	if ev.Source != nil && ev.Source.UserID == verifyUserID {
		return nil, nil // the webhook check of older LINE consoles
	}
	thread, author, err := source(ev.Source, field)
	if err != nil {
		return nil, err
	}
	if err := checkID(field+".webhookEventId", ev.WebhookEventID, true); err != nil {
		return nil, err
	}
	if err := checkID(field+".replyToken", ev.ReplyToken, false); err != nil {
		return nil, err
	}
	out := &channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: ev.WebhookEventID,
		ThreadID: thread, AuthorID: author, SentAt: eventTime(ev.Timestamp)}

	switch ev.Type {
	case "follow", "unfollow":
		if ev.Source.Type != "user" {
			return nil, nil
		}
		// Following (adding as a friend, or unblocking) and unfollowing
		// (blocking) are the customer's opt-in and opt-out: LINE drops
		// pushes to a user who blocked the account without an error, so the
		// core's refusal of opted-out addresses is the only warning an agent
		// gets. Noted on an open case, never opening one.
		optOut := ev.Type == "unfollow"
		out.OptOut, out.Automated = &optOut, true
		switch {
		case optOut:
			out.Text = "(the customer blocked this LINE account: messages to them are no longer delivered)"
		case ev.Follow != nil && ev.Follow.IsUnblocked:
			out.Text = "(the customer unblocked this LINE account)"
		default:
			out.Text = "(the customer added this LINE account as a friend)"
		}
		return out, nil

	case "postback":
		p := ev.Postback
		if p == nil {
			return nil, channel.Malformed(field+".postback", "required")
		}
		if err := checkText(field+".postback.data", p.Data); err != nil {
			return nil, err
		}
		if _, ok := p.Params["newRichMenuAliasId"]; ok {
			return nil, nil // a rich menu switching tabs: navigation, not a message
		}
		id, label := p.Data, ""
		if m := choiceData.FindStringSubmatch(p.Data); m != nil {
			id, label = m[1], m[2]
		}
		var picked []string
		for _, k := range []string{"datetime", "date", "time"} {
			if v, ok := p.Params[k]; ok {
				if err := checkID(field+".postback.params."+k, v, false); err != nil {
					return nil, err
				}
				picked = append(picked, v)
			}
		}
		text := label
		switch {
		case len(picked) > 0 && label != "":
			text = label + ": " + strings.Join(picked, " ")
		case len(picked) > 0:
			text = strings.Join(picked, " ")
		case text == "":
			text = p.Data
		}
		if strings.TrimSpace(text) == "" && id == "" {
			return nil, nil // a tap on nothing
		}
		out.Text, out.ChoiceID = text, id
		if len(out.ChoiceID) > 1024 {
			out.ChoiceID = "" // not one of Parley's ids: the text stays
		}
		a.keepReplyToken(poc, thread, ev, received)
		return out, nil
	}

	m := ev.Message
	if m == nil {
		return nil, channel.Malformed(field+".message", "required")
	}
	mf := field + ".message"
	if err := checkID(mf+".id", m.ID, true); err != nil {
		return nil, err
	}
	if err := checkText(mf+".text", m.Text); err != nil {
		return nil, err
	}
	if err := checkID(mf+".quotedMessageId", m.QuotedMessageID, false); err != nil {
		return nil, err
	}
	out.ReplyToPlatformID = m.QuotedMessageID
	switch m.Type {
	case "text":
		out.Text = m.Text
	case "image", "video", "audio", "file":
		att, err := attachment(m, mf)
		if err != nil {
			return nil, err
		}
		out.Attachments = []channel.InboundAttachment{att}
	case "location":
		if err := checkText(mf+".title", m.Title+m.Address); err != nil {
			return nil, err
		}
		out.Text = locationText(m)
	case "sticker":
		// A message sticker carries the customer's own words.
		out.Text = "(sticker)"
		if t := strings.TrimSpace(m.Text); t != "" {
			out.Text = t + " (sticker)"
		}
	default:
		if err := checkID(mf+".type", m.Type, true); err != nil {
			return nil, err
		}
		out.Text = "(a LINE " + m.Type + " message Parley cannot show)"
	}
	a.keepReplyToken(poc, thread, ev, received)
	if m.MarkAsReadToken != "" && len(m.MarkAsReadToken) <= 1024 {
		a.readMarks.put(readKey(poc, ev.WebhookEventID), tokenEntry{token: m.MarkAsReadToken, eventID: ev.WebhookEventID, at: received}, readMarkTTL)
	}
	return out, nil
}

// attachment is a customer's file: LINE-hosted content is fetched by
// message id (FetchMedia); an external provider's by its URL.
func attachment(m *wireMessage, field string) (channel.InboundAttachment, error) {
	if err := checkText(field+".fileName", m.FileName); err != nil {
		return channel.InboundAttachment{}, err
	}
	name := m.FileName
	if len(name) > 255 {
		name = strings.ToValidUTF8(name[:255], "")
	}
	if cp := m.ContentProvider; cp != nil && cp.Type == "external" {
		u, err := url.Parse(cp.OriginalContentURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(cp.OriginalContentURL) > 2048 {
			return channel.InboundAttachment{}, channel.Malformed(field+".contentProvider.originalContentUrl", "an absolute http(s) URL")
		}
		return channel.InboundAttachment{URL: cp.OriginalContentURL, Name: name}, nil
	}
	if !messageID.MatchString(m.ID) {
		return channel.InboundAttachment{}, channel.Malformed(field+".id", "a LINE message id (digits)")
	}
	return channel.InboundAttachment{MediaRef: m.ID, Name: name}, nil
}

// messageID is the shape of LINE's message ids, which name content.
var messageID = regexp.MustCompile(`^[0-9]{1,32}$`)

func locationText(m *wireMessage) string {
	var lines []string
	if t := strings.TrimSpace(m.Title); t != "" {
		lines = append(lines, t)
	}
	if t := strings.TrimSpace(m.Address); t != "" {
		lines = append(lines, t)
	}
	lat, errLat := strconv.ParseFloat(m.Latitude.String(), 64)
	lon, errLon := strconv.ParseFloat(m.Longitude.String(), 64)
	if errLat == nil && errLon == nil {
		lines = append(lines, "https://www.google.com/maps/search/?api=1&query="+
			strconv.FormatFloat(lat, 'f', -1, 64)+","+strconv.FormatFloat(lon, 'f', -1, 64))
	}
	if len(lines) == 0 {
		return "(a location)"
	}
	return strings.Join(lines, "\n")
}

// keepReplyToken remembers the event's reply token for the thread's next
// answer. A redelivered event's token is not kept: it may be minutes old.
// Events in standby mode carry none (another channel answers).
func (a *Adapter) keepReplyToken(poc *channel.PointOfContact, thread string, ev *wireEvent, received time.Time) {
	if ev.ReplyToken == "" || ev.Mode == "standby" || (ev.DeliveryContext != nil && ev.DeliveryContext.IsRedelivery) {
		return
	}
	if strings.Trim(ev.ReplyToken, "0") == "" || strings.Trim(ev.ReplyToken, "f") == "" {
		return // the dummy tokens of older consoles' webhook check
	}
	a.replies.put(replyKey(poc, thread), tokenEntry{token: ev.ReplyToken, eventID: ev.WebhookEventID, at: received}, ReplyTokenTTL)
}

func replyKey(poc *channel.PointOfContact, thread string) string { return poc.ID + "\x00" + thread }
func readKey(poc *channel.PointOfContact, eventID string) string { return poc.ID + "\x00" + eventID }
