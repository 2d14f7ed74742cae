package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// MaxFrameBytes bounds one frame from a widget.
const MaxFrameBytes = 64 << 10

// Frame is one visitor→server WebSocket frame:
//
//	{"type":"message","client_id":"<uuid>","text":"…","choice_id":"a,b","message_id":"<prompt message id>"}
//	{"type":"form","client_id":"<uuid>","prompt_id":"<form message id>","values":{"name":"…"}}
//	{"type":"typing","on":true}
//	{"type":"read","message_id":"<outbound message id>"}
//
// client_id is the widget's dedupe key: a message sent twice (reconnect,
// retry) is stored once.
type Frame struct {
	Type      string            `json:"type"`
	ClientID  string            `json:"client_id,omitempty"`
	Text      string            `json:"text,omitempty"`
	ChoiceID  string            `json:"choice_id,omitempty"`
	MessageID string            `json:"message_id,omitempty"`
	PromptID  string            `json:"prompt_id,omitempty"`
	Values    map[string]string `json:"values,omitempty"`
	On        bool              `json:"on,omitempty"`
}

var (
	clientIDRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	messageIDRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	choiceIDRE  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}(,[A-Za-z0-9_.:-]{1,64})*$`)
	formKeyRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// ParseFrame reads and checks one widget frame. maxText is the point of
// contact's max_message_length in characters.
func ParseFrame(b []byte, maxText int) (Frame, error) {
	var f Frame
	if len(b) > MaxFrameBytes {
		return f, errors.New("frame too large")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Frame{}, fmt.Errorf("not a frame: %v", err)
	}
	if dec.More() {
		return Frame{}, errors.New("one JSON object per frame")
	}
	switch f.Type {
	case "message":
		if !clientIDRE.MatchString(f.ClientID) {
			return Frame{}, errors.New("client_id: 8 to 64 of [A-Za-z0-9_-]")
		}
		if !utf8.ValidString(f.Text) || utf8.RuneCountInString(f.Text) > maxText {
			return Frame{}, fmt.Errorf("text: valid UTF-8, at most %d characters", maxText)
		}
		if f.ChoiceID != "" && (len(f.ChoiceID) > 1024 || !choiceIDRE.MatchString(f.ChoiceID)) {
			return Frame{}, errors.New("choice_id: option ids joined by commas")
		}
		if f.MessageID != "" && !messageIDRE.MatchString(f.MessageID) {
			return Frame{}, errors.New("message_id: not an id")
		}
		if strings.TrimSpace(f.Text) == "" && f.ChoiceID == "" {
			return Frame{}, errors.New("text or choice_id required")
		}
		if f.PromptID != "" || f.Values != nil || f.On {
			return Frame{}, errors.New("unexpected fields for a message")
		}
	case "form":
		if !clientIDRE.MatchString(f.ClientID) {
			return Frame{}, errors.New("client_id: 8 to 64 of [A-Za-z0-9_-]")
		}
		if f.PromptID != "" && !messageIDRE.MatchString(f.PromptID) {
			return Frame{}, errors.New("prompt_id: not an id")
		}
		if len(f.Values) == 0 || len(f.Values) > 40 {
			return Frame{}, errors.New("values: 1 to 40 fields")
		}
		total := 0
		for k, v := range f.Values {
			if !formKeyRE.MatchString(k) || !utf8.ValidString(v) || utf8.RuneCountInString(v) > 1024 {
				return Frame{}, errors.New("values: field names [A-Za-z0-9_.:-]{1,64}, values at most 1024 characters")
			}
			total += len(k) + len(v) + 3
		}
		if total > maxText*4+1024 {
			return Frame{}, errors.New("values: too long")
		}
		if f.Text != "" || f.ChoiceID != "" || f.MessageID != "" || f.On {
			return Frame{}, errors.New("unexpected fields for a form")
		}
	case "typing":
		if f.ClientID != "" || f.Text != "" || f.ChoiceID != "" || f.MessageID != "" || f.PromptID != "" || f.Values != nil {
			return Frame{}, errors.New("unexpected fields for typing")
		}
	case "read":
		if !messageIDRE.MatchString(f.MessageID) {
			return Frame{}, errors.New("message_id: required")
		}
		if f.ClientID != "" || f.Text != "" || f.ChoiceID != "" || f.PromptID != "" || f.Values != nil || f.On {
			return Frame{}, errors.New("unexpected fields for read")
		}
	default:
		return Frame{}, errors.New("type: message, form, typing or read")
	}
	return f, nil
}

// formText writes submitted form values as "field: value" lines, sorted by
// field name.
func formText(values map[string]string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k + ": " + strings.ReplaceAll(values[k], "\n", " "))
	}
	return b.String()
}

// platformID is the platform message id of a visitor's message: the
// visitor id and the widget's client id, so one visitor cannot collide with
// another's dedupe key and read receipts find their visitor.
func platformID(visitorID, clientID string) string { return visitorID + "|" + clientID }

// splitPlatformID undoes platformID.
func splitPlatformID(id string) (visitorID, clientID string, ok bool) {
	i := strings.LastIndexByte(id, '|')
	if i <= 0 || i == len(id)-1 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}

// Server→visitor frames.
//
//	{"type":"message", …messageFrame…}
//	{"type":"history","messages":[…messageFrame…]}     first frame after connecting
//	{"type":"typing","on":true,"author_name":"Ana"}
//	{"type":"status","message_id":"…","client_id":"…","status":"read"}
//	{"type":"ack","client_id":"…","message_id":"…"}
//	{"type":"error","client_id":"…","error":"…"}
type outFrame struct {
	Type       string         `json:"type"`
	On         *bool          `json:"on,omitempty"`
	AuthorName string         `json:"author_name,omitempty"`
	MessageID  string         `json:"message_id,omitempty"`
	ClientID   string         `json:"client_id,omitempty"`
	Status     string         `json:"status,omitempty"`
	Error      string         `json:"error,omitempty"`
	Messages   []messageFrame `json:"messages,omitempty"`
}

// messageFrame is a message as the widget shows it (history and live).
type messageFrame struct {
	ID          string            `json:"id"`
	ClientID    string            `json:"client_id,omitempty"`
	Direction   string            `json:"direction"` // inbound: from the visitor
	AuthorType  string            `json:"author_type,omitempty"`
	AuthorName  string            `json:"author_name,omitempty"`
	Text        string            `json:"text"`
	Native      json.RawMessage   `json:"native,omitempty"` // content's chatMessage
	HTML        string            `json:"html,omitempty"`   // sanitised (server side, twice)
	Attachments []attachmentFrame `json:"attachments,omitempty"`
	ChoiceID    string            `json:"choice_id,omitempty"`
	Status      string            `json:"status,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
}

type attachmentFrame struct {
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	URL      string `json:"url,omitempty"`
}

// rendered is the part of content.Rendered the widget may see (never the
// prompt: it holds integrators' postbacks).
type rendered struct {
	Channel string          `json:"channel"`
	Native  json.RawMessage `json:"native"`
	Text    string          `json:"text"`
	HTML    string          `json:"html"`
}

// fillRendered copies the native payload and sanitised HTML of a chat
// rendering into f.
func (a *Adapter) fillRendered(f *messageFrame, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var r rendered
	if json.Unmarshal(raw, &r) != nil || r.Channel != Type {
		return
	}
	if f.Text == "" {
		f.Text = r.Text
	}
	if len(r.Native) > 0 && string(r.Native) != "null" {
		f.Native = r.Native
	}
	if r.HTML != "" {
		f.HTML = a.policy.Sanitize(r.HTML)
	}
}

func (a *Adapter) historyFrame(m HistoryMessage) messageFrame {
	f := messageFrame{ID: m.ID, Direction: m.Direction, AuthorType: m.AuthorType, Text: m.Text, ChoiceID: m.ChoiceID, Status: m.Status, CreatedAt: m.CreatedAt.UTC()}
	if m.Direction != "inbound" {
		f.AuthorName = m.AuthorName
		a.fillRendered(&f, m.Rendered)
	} else if _, cid, ok := splitPlatformID(m.PlatformMessageID); ok {
		f.ClientID = cid
	}
	for _, at := range m.Attachments {
		f.Attachments = append(f.Attachments, attachmentFrame{Name: at.Name, MimeType: at.MimeType, URL: safeURL(at.URL)})
	}
	return f
}

func (a *Adapter) outboundFrame(msg *channel.OutboundMessage) messageFrame {
	f := messageFrame{ID: msg.ID, Direction: "outbound", AuthorType: msg.AuthorType, AuthorName: msg.AuthorName, Text: msg.Text, Status: "sent", CreatedAt: a.now().UTC()}
	a.fillRendered(&f, msg.Rendered)
	for _, at := range msg.Attachments {
		f.Attachments = append(f.Attachments, attachmentFrame{Name: at.Name, MimeType: at.MimeType, URL: safeURL(at.URL)})
	}
	return f
}

// safeURL keeps http(s) and relative URLs only.
func safeURL(u string) string {
	l := strings.ToLower(strings.TrimSpace(u))
	if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || (strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//")) {
		return u
	}
	return ""
}

func encodeFrame(f outFrame) []byte {
	b, _ := json.Marshal(f)
	return b
}

// encodeMessage is {"type":"message", …messageFrame…}.
func encodeMessage(m messageFrame) []byte {
	b, _ := json.Marshal(struct {
		Type string `json:"type"`
		messageFrame
	}{"message", m})
	return b
}

func boolp(b bool) *bool { return &b }

// inboundEvent turns a parsed message or form frame into an event.
func inboundEvent(f Frame, v session, now time.Time) channel.InboundEvent {
	ev := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: platformID(v.VisitorID, f.ClientID),
		ThreadID: v.VisitorID, ThreadName: v.Name, AuthorID: v.VisitorID, AuthorName: v.Name, SentAt: now}
	switch f.Type {
	case "message":
		ev.Text, ev.ChoiceID, ev.ReplyToPlatformID = f.Text, f.ChoiceID, f.MessageID
	case "form":
		ev.Text, ev.ReplyToPlatformID = formText(f.Values), f.PromptID
	}
	return ev
}
