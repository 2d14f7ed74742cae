package messenger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/meta"
)

// Limits on what a webhook may carry (Meta's own are far below them).
const (
	maxIDLength   = 256
	maxTextLength = 64 << 10
)

// The webhook's wire shapes (CHANNELS.md §2 and §4).
type wireEntry struct {
	ID        string            `json:"id"`
	Time      json.Number       `json:"time"`
	Messaging []json.RawMessage `json:"messaging"`
}

type wireID struct {
	ID string `json:"id"`
}

type wireItem struct {
	Sender    *wireID       `json:"sender"`
	Recipient *wireID       `json:"recipient"`
	Timestamp json.Number   `json:"timestamp"`
	Message   *wireMessage  `json:"message"`
	Postback  *wirePostback `json:"postback"`
	Reaction  *wireReaction `json:"reaction"`
	Delivery  *wireDelivery `json:"delivery"`
	Read      *wireRead     `json:"read"`
	Seen      *wireRead     `json:"messaging_seen"` // Instagram's name for the read subscription
}

type wireMessage struct {
	MID        string `json:"mid"`
	Text       string `json:"text"`
	IsEcho     bool   `json:"is_echo"`
	IsDeleted  bool   `json:"is_deleted"`     // Instagram: the customer unsent it
	IsUnsupp   bool   `json:"is_unsupported"` // Instagram: a type the API does not expose
	QuickReply *struct {
		Payload string `json:"payload"`
	} `json:"quick_reply"`
	ReplyTo *struct {
		MID   string `json:"mid"`
		Story *struct {
			URL string `json:"url"`
			ID  string `json:"id"`
		} `json:"story"`
	} `json:"reply_to"`
	Attachments []wireAttachment `json:"attachments"`
}

type wireAttachment struct {
	Type    string `json:"type"`
	Payload *struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"payload"`
}

type wirePostback struct {
	MID     string `json:"mid"`
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

type wireReaction struct {
	MID      string `json:"mid"`
	Action   string `json:"action"`
	Reaction string `json:"reaction"`
	Emoji    string `json:"emoji"`
}

type wireDelivery struct {
	MIDs      []string    `json:"mids"`
	Watermark json.Number `json:"watermark"`
}

type wireRead struct {
	Watermark json.Number `json:"watermark"`
	MID       string      `json:"mid"` // Instagram marks the last message seen
}

// Parse reads every entry for this point of contact's page or account and
// every messaging item in it. Echoes of our own sends, unreactions,
// standby and unknown items are skipped; the rest become canonical events.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	env, err := meta.ParseEnvelope(body, a.flavor.Object)
	if err != nil {
		return nil, err
	}
	account := a.accountID(poc)
	var out []channel.InboundEvent
	for i, raw := range env.Entry {
		field := fmt.Sprintf("entry[%d]", i)
		var e wireEntry
		if err := decode(raw, &e, field); err != nil {
			return nil, err
		}
		if e.ID != account || account == "" {
			continue // another page or account of the same app
		}
		for j, rawItem := range e.Messaging {
			f := fmt.Sprintf("%s.messaging[%d]", field, j)
			var it wireItem
			if err := decode(rawItem, &it, f); err != nil {
				return nil, err
			}
			evs, err := a.parseItem(&it, account, f)
			if err != nil {
				return nil, err
			}
			out = append(out, evs...)
		}
	}
	return out, nil
}

func decode(raw json.RawMessage, v any, field string) error {
	if t := strings.TrimLeft(string(raw), " \t\r\n"); t == "" || t[0] != '{' {
		return channel.Malformed(field, "must be an object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return channel.Malformed(field+"."+te.Field, "must be %s", te.Type.String())
		}
		return channel.Malformed(field, "malformed: %v", err)
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

func (a *Adapter) parseItem(it *wireItem, account, field string) ([]channel.InboundEvent, error) {
	sender := ""
	if it.Sender != nil {
		sender = it.Sender.ID
	}
	at := meta.UnixTime(it.Timestamp)
	switch {
	case it.Message != nil:
		m := it.Message
		if m.IsEcho || sender == account || m.IsDeleted {
			return nil, nil // our own send coming back, or an unsent message
		}
		if err := checkID(field+".sender.id", sender, true); err != nil {
			return nil, err
		}
		if err := checkID(field+".message.mid", m.MID, true); err != nil {
			return nil, err
		}
		if err := checkText(field+".message.text", m.Text); err != nil {
			return nil, err
		}
		ev := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: m.MID, ThreadID: sender, AuthorID: sender,
			SentAt: at, Text: m.Text}
		if m.QuickReply != nil && m.QuickReply.Payload != "" {
			if err := checkText(field+".message.quick_reply.payload", m.QuickReply.Payload); err != nil {
				return nil, err
			}
			ev.ChoiceID = m.QuickReply.Payload
		}
		var lines []string
		if m.ReplyTo != nil {
			if err := checkID(field+".message.reply_to.mid", m.ReplyTo.MID, false); err != nil {
				return nil, err
			}
			ev.ReplyToPlatformID = m.ReplyTo.MID
			if s := m.ReplyTo.Story; s != nil && s.URL != "" {
				lines = append(lines, "(replied to your story: "+s.URL+")")
			}
		}
		for k, att := range m.Attachments {
			af := fmt.Sprintf("%s.message.attachments[%d]", field, k)
			u, title := "", ""
			if att.Payload != nil {
				u, title = att.Payload.URL, att.Payload.Title
			}
			if err := checkText(af, u+title); err != nil {
				return nil, err
			}
			switch att.Type {
			case "image", "video", "audio", "file", "animated_image":
				if !isHTTPURL(u) {
					continue // an attachment without a fetchable link: nothing to store
				}
				// MimeType is left empty: the CDN's Content-Type and the
				// core's sniffing decide; "image/*" is no media type.
				ev.Attachments = append(ev.Attachments, channel.InboundAttachment{URL: u, Name: attachmentName(att.Type, u)})
			case "story_mention":
				lines = append(lines, linkLine("Mentioned you in their story", "", u))
			case "share":
				lines = append(lines, linkLine("Shared a post", title, u))
			case "reel", "ig_reel":
				lines = append(lines, linkLine("Shared a reel", title, u))
			case "post", "ig_post":
				lines = append(lines, linkLine("Shared a post", title, u))
			case "location":
				lines = append(lines, linkLine("Shared a location", title, u))
			case "fallback", "template":
				lines = append(lines, linkLine("Shared a link", title, u))
			default:
				if u != "" || title != "" {
					lines = append(lines, linkLine("Sent "+att.Type, title, u))
				}
			}
		}
		if len(lines) > 0 {
			if ev.Text != "" {
				lines = append([]string{ev.Text}, lines...)
			}
			ev.Text = strings.Join(lines, "\n")
		}
		if ev.Text == "" && len(ev.Attachments) == 0 && ev.ChoiceID == "" {
			if !m.IsUnsupp {
				return nil, nil // nothing a person could read
			}
			ev.Text = "(a message type " + a.flavor.Name + " does not share with Parley)"
		}
		return []channel.InboundEvent{ev}, nil

	case it.Postback != nil:
		p := it.Postback
		if sender == account || (p.Payload == "" && p.Title == "") {
			return nil, nil // ours, or a tap on nothing
		}
		if err := checkID(field+".sender.id", sender, true); err != nil {
			return nil, err
		}
		if err := checkID(field+".postback.mid", p.MID, false); err != nil {
			return nil, err
		}
		if err := checkText(field+".postback", p.Title+p.Payload); err != nil {
			return nil, err
		}
		id := p.MID
		if id == "" {
			// Old postbacks carry no mid: an id made of what a retry
			// repeats exactly, so the core's dedupe still holds.
			h := sha256.Sum256([]byte(p.Payload))
			id = "postback:" + sender + ":" + it.Timestamp.String() + ":" + hex.EncodeToString(h[:8])
		}
		text := p.Title
		if text == "" {
			text = p.Payload
		}
		return []channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: sender, AuthorID: sender,
			SentAt: at, Text: text, ChoiceID: p.Payload}}, nil

	case it.Reaction != nil:
		re := it.Reaction
		if re.Action != "react" || sender == account {
			return nil, nil // unreact: the reaction message stays in the transcript
		}
		if err := checkID(field+".sender.id", sender, true); err != nil {
			return nil, err
		}
		if err := checkID(field+".reaction.mid", re.MID, true); err != nil {
			return nil, err
		}
		emoji := re.Emoji
		if emoji == "" {
			emoji = reactionEmoji(re.Reaction)
		}
		if err := checkText(field+".reaction.emoji", emoji); err != nil {
			return nil, err
		}
		if emoji == "" {
			return nil, nil
		}
		return []channel.InboundEvent{{Kind: channel.EventMessage, ThreadID: sender, AuthorID: sender, SentAt: at,
			PlatformMessageID: clipID("reaction:" + re.MID + ":" + sender + ":" + it.Timestamp.String()),
			Reaction:          emoji, ReplyToPlatformID: re.MID}}, nil

	case it.Delivery != nil:
		if err := checkID(field+".sender.id", sender, true); err != nil {
			return nil, err
		}
		var out []channel.InboundEvent
		for k, mid := range it.Delivery.MIDs {
			if err := checkID(fmt.Sprintf("%s.delivery.mids[%d]", field, k), mid, true); err != nil {
				return nil, err
			}
			out = append(out, channel.InboundEvent{Kind: channel.EventStatus, StatusMessageID: mid, ThreadID: sender, Status: "delivered"})
		}
		if w := meta.UnixTime(it.Delivery.Watermark); !w.IsZero() {
			out = append(out, channel.InboundEvent{Kind: channel.EventStatus, ThreadID: sender, Watermark: w, Status: "delivered"})
		}
		return out, nil

	case it.Read != nil || it.Seen != nil:
		rd := it.Read
		if rd == nil {
			rd = it.Seen
		}
		if err := checkID(field+".sender.id", sender, true); err != nil {
			return nil, err
		}
		if err := checkID(field+".read.mid", rd.MID, false); err != nil {
			return nil, err
		}
		var out []channel.InboundEvent
		if rd.MID != "" {
			out = append(out, channel.InboundEvent{Kind: channel.EventStatus, StatusMessageID: rd.MID, ThreadID: sender, Status: "read"})
		}
		if w := meta.UnixTime(rd.Watermark); !w.IsZero() {
			out = append(out, channel.InboundEvent{Kind: channel.EventStatus, ThreadID: sender, Watermark: w, Status: "read"})
		}
		return out, nil
	}
	return nil, nil // optins, referrals, handovers, standby…: not ours to store
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// attachmentName names a file after its URL when that has an extension.
func attachmentName(kind, raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if base := path.Base(u.Path); strings.Contains(base, ".") && len(base) <= 200 && utf8.ValidString(base) {
			return base
		}
	}
	return kind
}

func linkLine(what, title, link string) string {
	s := what
	if title != "" {
		s += " (" + title + ")"
	}
	if link != "" {
		s += ": " + link
	}
	return s
}

// reactionEmoji maps Meta's reaction names when no emoji came with them.
func reactionEmoji(name string) string {
	switch name {
	case "smile":
		return "😆"
	case "angry":
		return "😡"
	case "sad":
		return "😢"
	case "wow":
		return "😮"
	case "love":
		return "❤️"
	case "like":
		return "👍"
	}
	return ""
}

func clipID(s string) string {
	if len(s) <= 2*maxIDLength {
		return s
	}
	h := sha256.Sum256([]byte(s))
	return s[:maxIDLength] + ":" + hex.EncodeToString(h[:8])
}
