package gbm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// webhook is one Business Messages delivery: one event per request.
type webhook struct {
	Agent              string              `json:"agent"`
	ConversationID     string              `json:"conversationId"`
	CustomAgentID      string              `json:"customAgentId"`
	RequestID          string              `json:"requestId"`
	Message            *userMessage        `json:"message"`
	SuggestionResponse *suggestionResponse `json:"suggestionResponse"`
	Receipts           *struct {
		Receipts []struct {
			Message     string `json:"message"`
			ReceiptType string `json:"receiptType"`
		} `json:"receipts"`
		CreateTime string `json:"createTime"`
	} `json:"receipts"`
	Context *struct {
		UserInfo *struct {
			DisplayName string `json:"displayName"`
		} `json:"userInfo"`
	} `json:"context"`
	SendTime string `json:"sendTime"`
	// userStatus (typing, live agent requested) and surveyResponse are
	// not decoded: Parley has nothing to do with them.
}

type userMessage struct {
	MessageID  string `json:"messageId"`
	Name       string `json:"name"`
	Text       string `json:"text"`
	CreateTime string `json:"createTime"`
	Image      *struct {
		ContentInfo struct {
			FileURL      string `json:"fileUrl"`
			AltText      string `json:"altText"`
			ThumbnailURL string `json:"thumbnailUrl"`
		} `json:"contentInfo"`
	} `json:"image"`
}

type suggestionResponse struct {
	// Message is the agent message that carried the suggestion:
	// conversations/{conversationId}/messages/{messageId}.
	Message      string `json:"message"`
	PostbackData string `json:"postbackData"`
	CreateTime   string `json:"createTime"`
	Text         string `json:"text"`
	// Type is REPLY for a suggested reply, ACTION for an action (open a
	// URL, dial…), which is not an answer.
	Type string `json:"type"`
}

// Parse reads one delivery for this point of contact's agent (deliveries
// for other agents of the same partner webhook yield nothing):
//   - a message (text, or an image as an attachment URL) becomes a message
//     event, deduplicated by its messageId;
//   - a tapped suggested reply becomes a message whose ChoiceID is the
//     postbackData (the option or slot id) and whose text is the label
//     the customer saw;
//   - receipts become DELIVERED/READ status events on our message ids
//     (Parley's message id is the messageId it sent).
//
// The thread and the author are the conversation: Business Messages gives
// no other id for the customer.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, channel.Malformed("body", "must be a JSON object")
	}
	var wh webhook
	if err := json.Unmarshal(body, &wh); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, channel.Malformed(te.Field, "must be %s", te.Type.String())
		}
		return nil, channel.Malformed("body", "malformed: %v", err)
	}
	if wh.Message == nil && wh.SuggestionResponse == nil && wh.Receipts == nil {
		return nil, nil // userStatus, surveyResponse, …
	}
	if wh.Agent != "" && agentOf(wh.Agent) != agentOf(poc.SettingString(SettingAgentID)) {
		return nil, nil // another agent of the same partner webhook
	}
	conv := wh.ConversationID
	if !conversationID.MatchString(conv) {
		return nil, channel.Malformed("conversationId", "required: letters, digits, '.', '_' or '-', at most %d", MaxIDLength)
	}
	author := ""
	if wh.Context != nil && wh.Context.UserInfo != nil {
		author = clip(strings.TrimSpace(wh.Context.UserInfo.DisplayName), 200)
	}
	sent := timestamp(wh.SendTime)
	msg := func(id, createTime string) channel.InboundEvent {
		at := timestamp(createTime)
		if at.IsZero() {
			at = sent
		}
		return channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: conv, ThreadName: author,
			AuthorID: conv, AuthorName: author, SentAt: at}
	}
	var out []channel.InboundEvent
	if m := wh.Message; m != nil {
		if err := checkID("message.messageId", m.MessageID); err != nil {
			return nil, err
		}
		ev := msg(m.MessageID, m.CreateTime)
		ev.Text = m.Text
		if m.Image == nil && strings.TrimSpace(m.Text) == "" {
			// Kept, never dropped: the agent sees the customer wrote.
			ev.Text = "[unsupported message]"
		}
		if m.Image != nil {
			ci := m.Image.ContentInfo
			if !httpURL(ci.FileURL) {
				return nil, channel.Malformed("message.image.contentInfo.fileUrl", "an http(s) URL is required")
			}
			ev.Attachments = []channel.InboundAttachment{{URL: ci.FileURL, Name: fileName(ci.FileURL)}}
		}
		out = append(out, ev)
	}
	if s := wh.SuggestionResponse; s != nil && !strings.EqualFold(s.Type, "ACTION") && (s.PostbackData != "" || s.Text != "") {
		id := wh.RequestID
		if id == "" {
			// No request id: the tap is identified by what it is, so a
			// redelivery is still recognised.
			sum := sha256.Sum256([]byte(conv + "\x00" + s.Message + "\x00" + s.CreateTime + "\x00" + s.PostbackData))
			id = "sr-" + hex.EncodeToString(sum[:12])
		}
		if err := checkID("requestId", id); err != nil {
			return nil, err
		}
		ev := msg(id, s.CreateTime)
		ev.ChoiceID = s.PostbackData
		ev.Text = s.Text
		if ev.Text == "" {
			ev.Text = s.PostbackData
		}
		ev.ReplyToPlatformID = messageIDOf(s.Message)
		out = append(out, ev)
	}
	if rc := wh.Receipts; rc != nil {
		for _, x := range rc.Receipts {
			status := ""
			switch strings.ToUpper(x.ReceiptType) {
			case "DELIVERED":
				status = "delivered"
			case "READ":
				status = "read"
			default:
				continue
			}
			id := withoutPart(messageIDOf(x.Message))
			if id == "" || len(id) > MaxIDLength {
				continue
			}
			out = append(out, channel.InboundEvent{Kind: channel.EventStatus, StatusMessageID: id, Status: status, ThreadID: conv})
		}
	}
	return out, nil
}

// messageIDOf is the {messageId} of conversations/{c}/messages/{messageId}
// (a bare id is taken as is).
func messageIDOf(name string) string {
	if i := strings.LastIndex(name, "/messages/"); i >= 0 {
		return name[i+len("/messages/"):]
	}
	if strings.Contains(name, "/") {
		return ""
	}
	return name
}

// withoutPart maps the id of a later part of a split send ("<id>.part2")
// to the message's own id.
func withoutPart(id string) string {
	i := strings.LastIndex(id, partSuffix)
	if i <= 0 {
		return id
	}
	n := id[i+len(partSuffix):]
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return id
	}
	return id[:i]
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

// timestamp reads an RFC 3339 time ("2014-10-02T15:01:23.045123456Z").
func timestamp(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(s) <= 2048
}

func fileName(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	name := path.Base(p.Path)
	if name == "." || name == "/" {
		return ""
	}
	return clip(name, 200)
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
