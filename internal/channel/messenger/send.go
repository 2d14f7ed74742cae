package messenger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/meta"
)

// Messaging types and the tag (CHANNELS.md §2 Policy).
const (
	MessagingTypeResponse = "RESPONSE"
	MessagingTypeTag      = "MESSAGE_TAG"
	TagHumanAgent         = "HUMAN_AGENT"
)

// CodeOutsideWindow is the SendError code of a send the reply window no
// longer allows; nothing reached the platform.
const CodeOutsideWindow = "outside_window"

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Type   string          `json:"type"`
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// sendResponse is the Send API's answer.
type sendResponse struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// messagesURL is POST {base}/{page or account id}/messages.
func (a *Adapter) messagesURL(poc *channel.PointOfContact) (string, error) {
	id := a.accountID(poc)
	if id == "" {
		return "", &channel.SendError{Code: "configuration", Reason: "settings." + a.flavor.AccountSetting + " is not set on this point of contact"}
	}
	return meta.BaseURL(poc) + "/" + url.PathEscape(id) + "/messages", nil
}

// messagingType decides, at send time, how this message may go out: the
// standard window (24 h from the customer's last message), then the
// HUMAN_AGENT tag for a human agent up to 7 days, then nothing. Bots and
// automations get the 24 h only.
func (a *Adapter) messagingType(msg *channel.OutboundMessage) (mtype, tag string, err error) {
	name := a.flavor.Name
	if msg.LastInboundAt.IsZero() {
		return "", "", &channel.SendError{Code: CodeOutsideWindow,
			Reason: "this customer has never written on " + name + ": " + name + " allows no business-initiated messages"}
	}
	age := a.now().Sub(msg.LastInboundAt)
	switch {
	case age <= StandardWindow:
		return MessagingTypeResponse, "", nil
	case age <= HumanAgentWindow && msg.AuthorType == "agent":
		return MessagingTypeTag, TagHumanAgent, nil
	case age <= HumanAgentWindow:
		return "", "", &channel.SendError{Code: CodeOutsideWindow,
			Reason: fmt.Sprintf("more than 24 hours since the customer's last message (%s): after 24 hours and up to 7 days only a human agent may reply on %s (HUMAN_AGENT tag), not a bot or automation",
				msg.LastInboundAt.UTC().Format(time.RFC3339), name)}
	default:
		return "", "", &channel.SendError{Code: CodeOutsideWindow,
			Reason: fmt.Sprintf("more than 7 days since the customer's last message (%s): %s allows no reply until the customer writes again",
				msg.LastInboundAt.UTC().Format(time.RFC3339), name)}
	}
}

// Send delivers one outbound message: the rendered native payload (or the
// text, split at the platform's limit), then one message per attachment.
// The window is checked first and a refused send never reaches the
// platform. The returned id is the first part's message_id.
//
// CHANNELS.md shows the page token as ?access_token=; Graph accepts it as
// well in an "Authorization: Bearer" header, which keeps it out of URLs
// and logs, so meta.Client sends it that way.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template != nil {
		return channel.SendResult{}, &channel.SendError{Code: "unsupported", Reason: "message templates are a WhatsApp feature; " + a.flavor.Name + " has none"}
	}
	if msg.RecipientID == "" {
		return channel.SendResult{}, &channel.SendError{Code: "no_recipient", Reason: "the thread has no " + a.flavor.Name + " recipient id"}
	}
	mtype, tag, err := a.messagingType(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	endpoint, err := a.messagesURL(poc)
	if err != nil {
		return channel.SendResult{}, err
	}
	parts, err := a.parts(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	token := poc.Credential(CredentialPageAccessToken)
	recipient, _ := json.Marshal(map[string]string{"id": msg.RecipientID})
	var first string
	for i, part := range parts {
		part["recipient"] = recipient
		part["messaging_type"] = jsonString(mtype)
		delete(part, "tag")
		if tag != "" {
			part["tag"] = jsonString(tag)
		}
		// A multi-part message that fails half-way is retried whole by the
		// outbox: the parts already sent go again (the platform has no
		// idempotency key to prevent it).
		out, err := a.client.Do(ctx, http.MethodPost, endpoint, token, part)
		if err != nil {
			return channel.SendResult{}, err
		}
		var resp sendResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.MessageID == "" {
			return channel.SendResult{}, &channel.SendError{Code: "bad_response",
				Reason: fmt.Sprintf("%s answered 2xx without a message_id (part %d of %d)", a.flavor.Name, i+1, len(parts))}
		}
		if first == "" {
			first = resp.MessageID
		}
	}
	return channel.SendResult{PlatformMessageID: first}, nil
}

// parts builds the Send API bodies without recipient and messaging type.
func (a *Adapter) parts(msg *channel.OutboundMessage) ([]map[string]json.RawMessage, error) {
	var rd rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &rd); err != nil {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered message is not valid JSON: " + err.Error()}
		}
	}
	var parts []map[string]json.RawMessage
	// Instagram's seed rendering is plain text (MISSION.md §3), so the
	// engine makes no native payload for it; only an author's explicit
	// per-channel override is sent verbatim there.
	native := len(rd.Native) > 0 && string(rd.Native) != "null" && (a.flavor.NativeRendering || rd.Type == "override")
	if native {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(rd.Native, &body); err != nil || body == nil {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered " + a.flavor.Name + " payload is not a JSON object"}
		}
		if len(body["message"]) == 0 {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered " + a.flavor.Name + " payload has no \"message\""}
		}
		// Messenger has no captions: a file's text goes first, on its own.
		if strings.HasPrefix(rd.Type, a.flavor.Type+".attachment.") {
			var c struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(msg.Content, &c)
			for _, chunk := range splitText(strings.TrimSpace(c.Text), a.flavor.MaxText) {
				m, _ := json.Marshal(map[string]string{"text": chunk})
				parts = append(parts, map[string]json.RawMessage{"message": m})
			}
		}
		parts = append(parts, body)
	} else {
		text := msg.Text
		if rd.Text != "" && (rd.Type != "attachment" || len(msg.Attachments) == 0) {
			text = rd.Text
		}
		for _, chunk := range splitText(strings.TrimSpace(text), a.flavor.MaxText) {
			m, _ := json.Marshal(map[string]string{"text": chunk})
			parts = append(parts, map[string]json.RawMessage{"message": m})
		}
	}
	for _, att := range msg.Attachments {
		if att.URL == "" {
			return nil, &channel.SendError{Code: "bad_attachment", Reason: "attachment " + att.Name + " has no URL the platform can fetch"}
		}
		m, _ := json.Marshal(map[string]any{"attachment": map[string]any{"type": attachmentType(att.MimeType),
			"payload": map[string]any{"url": att.URL, "is_reusable": true}}})
		parts = append(parts, map[string]json.RawMessage{"message": m})
	}
	if len(parts) == 0 {
		return nil, &channel.SendError{Code: "empty", Reason: "nothing to send: no text, content or attachment"}
	}
	if msg.ReplyToPlatformID != "" {
		// Quoted reply: "reply_to":{"mid"} inside the message. Instagram
		// documents it; for Messenger it is *(unverified)* (CHANNELS.md
		// shows it only inbound).
		var m map[string]json.RawMessage
		if err := json.Unmarshal(parts[0]["message"], &m); err == nil && m != nil {
			m["reply_to"], _ = json.Marshal(map[string]string{"mid": msg.ReplyToPlatformID})
			parts[0]["message"], _ = json.Marshal(m)
		}
	}
	return parts, nil
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// attachmentType maps a MIME type to the Send API's attachment types.
func attachmentType(mimeType string) string {
	switch mt := strings.ToLower(mimeType); {
	case strings.HasPrefix(mt, "image/"):
		return "image"
	case strings.HasPrefix(mt, "video/"):
		return "video"
	case strings.HasPrefix(mt, "audio/"):
		return "audio"
	}
	return "file"
}

// splitText cuts text into pieces of at most max characters, preferring
// paragraph, line and word boundaries. Empty text gives no piece.
func splitText(text string, max int) []string {
	if text == "" {
		return nil
	}
	if max <= 0 || utf8.RuneCountInString(text) <= max {
		return []string{text}
	}
	var out []string
	for text != "" {
		if utf8.RuneCountInString(text) <= max {
			out = append(out, text)
			break
		}
		// byte offset of the max-th rune
		cut, n := 0, 0
		for i := range text {
			if n == max {
				cut = i
				break
			}
			n++
		}
		head := text[:cut]
		at := -1
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(head, sep); i > len(head)/2 {
				at = i
				break
			}
		}
		if at > 0 {
			out = append(out, strings.TrimRight(head[:at], " \n"))
			text = strings.TrimLeft(text[at:], " \n")
		} else {
			out = append(out, head)
			text = text[cut:]
		}
	}
	return out
}

// Typing sends typing_on / typing_off. Turning it on first sends
// mark_seen: the Send API marks a conversation seen, not a message, so
// this is where Parley's "mark the customer's last message read" lands
// (MarkRead has only a message id, no recipient). Sender actions are
// documented for Messenger (CHANNELS.md §2); for Instagram, Graph
// documents the same three actions *(unverified in CHANNELS.md)*.
func (a *Adapter) Typing(ctx context.Context, poc *channel.PointOfContact, threadExternalID, recipientID string, on bool) error {
	to := recipientID
	if to == "" {
		to = threadExternalID
	}
	if to == "" {
		return &channel.SendError{Code: "no_recipient", Reason: "no recipient for the typing indicator"}
	}
	actions := []string{"typing_off"}
	if on {
		actions = []string{"mark_seen", "typing_on"}
	}
	for _, act := range actions {
		if err := a.senderAction(ctx, poc, to, act); err != nil {
			return err
		}
	}
	return nil
}

// MarkRead is a no-op: Messenger and Instagram mark a conversation seen
// per recipient (sender_action mark_seen), which Typing(on) sends; a
// message id alone does not name the recipient.
func (a *Adapter) MarkRead(ctx context.Context, poc *channel.PointOfContact, platformMessageID string) error {
	return nil
}

func (a *Adapter) senderAction(ctx context.Context, poc *channel.PointOfContact, to, action string) error {
	endpoint, err := a.messagesURL(poc)
	if err != nil {
		return err
	}
	_, err = a.client.Do(ctx, http.MethodPost, endpoint, poc.Credential(CredentialPageAccessToken), map[string]any{
		"recipient": map[string]string{"id": to}, "sender_action": action})
	return err
}
