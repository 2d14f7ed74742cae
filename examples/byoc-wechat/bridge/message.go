package bridge

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Message is a message or event WeChat pushes to the server URL, as XML.
// Only the fields this middleware reads are listed; see WeChat's "receiving
// ordinary messages" and "receiving event pushes" pages.
type Message struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`   // the Official Account's original id (gh_…)
	FromUserName string   `xml:"FromUserName"` // the follower's OpenID
	CreateTime   int64    `xml:"CreateTime"`   // unix seconds
	MsgType      string   `xml:"MsgType"`      // text, image, voice, video, shortvideo, location, link, event
	MsgID        string   `xml:"MsgId"`        // 64-bit id; kept as text

	Content string `xml:"Content"` // text

	PicURL  string `xml:"PicUrl"`  // image
	MediaID string `xml:"MediaId"` // image, voice, video, shortvideo

	Recognition string `xml:"Recognition"` // voice, when speech recognition is on

	LocationX string `xml:"Location_X"` // location
	LocationY string `xml:"Location_Y"`
	Label     string `xml:"Label"`

	Title       string `xml:"Title"` // link
	Description string `xml:"Description"`
	URL         string `xml:"Url"`

	Event    string `xml:"Event"` // event: subscribe, unsubscribe, SCAN, CLICK, VIEW, LOCATION, …
	EventKey string `xml:"EventKey"`

	Encrypt string `xml:"Encrypt"` // safe mode: the encrypted message
}

// ParseMessage decodes a pushed message.
func ParseMessage(body []byte) (Message, error) {
	var m Message
	if err := xml.Unmarshal(body, &m); err != nil {
		return Message{}, fmt.Errorf("malformed XML: %w", err)
	}
	m.MsgType = strings.TrimSpace(m.MsgType)
	m.Event = strings.TrimSpace(m.Event)
	return m, nil
}

// IsEvent tells an event (subscribe, menu click, …) from a user message.
func (m Message) IsEvent() bool { return m.MsgType == "event" }

// DedupeKey identifies a push across WeChat's retries: the MsgId for
// messages, FromUserName + CreateTime (+ the event) for events, as WeChat
// recommends.
func (m Message) DedupeKey() string {
	if !m.IsEvent() && m.MsgID != "" {
		return "msg:" + m.MsgID
	}
	return "evt:" + m.FromUserName + ":" + strconv.FormatInt(m.CreateTime, 10) + ":" + m.Event + ":" + m.EventKey
}

// SentAt is CreateTime as a time (the zero time when absent).
func (m Message) SentAt() time.Time {
	if m.CreateTime <= 0 {
		return time.Time{}
	}
	return time.Unix(m.CreateTime, 0).UTC()
}

// InboundID is the id the message is posted to Parley with: Parley dedupes
// on it, so a WeChat retry that gets past the middleware's own memory (after
// a restart, or on another instance) still stores nothing new.
func (m Message) InboundID() string {
	if m.MsgID != "" {
		return "wx-" + m.MsgID
	}
	return "wx-" + m.MsgType + "-" + m.FromUserName + "-" + strconv.FormatInt(m.CreateTime, 10)
}

// ToInbound turns a user message into Parley's inbound message. Images go
// as an attachment URL (PicUrl) that Parley fetches; the other kinds of
// message become text.
func ToInbound(m Message) InboundMessage {
	in := InboundMessage{
		ID:     m.InboundID(),
		Thread: Ref{ID: m.FromUserName},
		Author: Ref{ID: m.FromUserName},
	}
	if t := m.SentAt(); !t.IsZero() {
		in.SentAt = t.Format(time.RFC3339)
	}
	switch m.MsgType {
	case "text":
		in.Text = m.Content
	case "image":
		if m.PicURL != "" {
			// No mime_type: Parley then uses the Content-Type WeChat's
			// image server answers with (JPEG, PNG, GIF…).
			in.Attachments = []InboundAttachment{{URL: m.PicURL, Name: "wechat-image-" + m.MsgID}}
		} else {
			in.Text = "[image without a URL]"
		}
	case "voice":
		in.Text = "[voice message — audio is not forwarded by the WeChat middleware]"
		if r := strings.TrimSpace(m.Recognition); r != "" {
			in.Text = "[voice message, transcribed by WeChat] " + r
		}
	case "video", "shortvideo":
		in.Text = "[video message — video is not forwarded by the WeChat middleware]"
	case "location":
		label := strings.TrimSpace(m.Label)
		if label == "" {
			label = "(no label)"
		}
		in.Text = fmt.Sprintf("Location: %s (%s, %s)", label, m.LocationX, m.LocationY)
	case "link":
		in.Text = strings.TrimSpace(m.Title + " — " + m.URL)
		if d := strings.TrimSpace(m.Description); d != "" {
			in.Text += "\n" + d
		}
	default:
		in.Text = fmt.Sprintf("[unsupported WeChat message type %q]", m.MsgType)
	}
	if in.Text == "" && len(in.Attachments) == 0 {
		in.Text = "[empty message]"
	}
	return in
}
