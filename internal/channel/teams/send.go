package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Type   string          `json:"type"`
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// Codes of sends refused before reaching Microsoft.
const (
	CodeNoServiceURL         = "no_service_url"
	CodeServiceURLNotAllowed = "service_url_not_allowed"
)

// Send posts one activity to the conversation:
// POST {serviceUrl}/v3/conversations/{conversationId}/activities. The
// rendered native activity (an Adaptive Card, suggested actions) or the
// text as plain text, with the files as attachments: images inline by
// contentUrl, other files as a card with a download link (the Bot
// Connector takes no file by URL; Teams' own file flow needs the user's
// consent per file). The returned id is the activity id Teams answers.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template != nil {
		return channel.SendResult{}, &channel.SendError{Code: "unsupported", Reason: "message templates are a WhatsApp feature; Teams has none"}
	}
	conv := msg.ThreadExternalID
	if conv == "" {
		return channel.SendResult{}, &channel.SendError{Code: "no_conversation", Reason: "the thread has no Teams conversation id"}
	}
	serviceURL, err := a.serviceURLFor(poc, msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	body, err := activityBody(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	id, err := a.post(ctx, poc, serviceURL, conv, body)
	if err != nil {
		return channel.SendResult{}, err
	}
	return channel.SendResult{PlatformMessageID: id}, nil
}

// serviceURLFor finds where the conversation is answered: the serviceUrl
// of the thread's latest inbound message, then of older ones, then what
// this process saw last; it must be on the allow-list.
func (a *Adapter) serviceURLFor(poc *channel.PointOfContact, msg *channel.OutboundMessage) (string, error) {
	conv := msg.ThreadExternalID
	ids := []string{msg.LastInboundPlatformID}
	for i := len(msg.ThreadPlatformIDs) - 1; i >= 0; i-- {
		ids = append(ids, msg.ThreadPlatformIDs[i])
	}
	found := ""
	for _, id := range ids {
		if _, c, su, ok := splitPlatformID(id); ok && c == conv && validServiceURL(su) {
			found = su
			break
		}
	}
	if found == "" {
		found = a.service.get(poc.ID, conv)
	}
	if found == "" {
		return "", &channel.SendError{Code: CodeNoServiceURL,
			Reason: "no message of this Teams conversation says where to answer it (Teams gives the serviceUrl with each inbound message); a bot cannot start Teams conversations from Parley"}
	}
	if !allowedURL(poc, found) {
		return "", &channel.SendError{Code: CodeServiceURLNotAllowed,
			Reason: fmt.Sprintf("the conversation's serviceUrl %s is not on settings.%s (%s): the bot's token is never sent elsewhere", found, SettingServiceURLAllowlist, allowlistText(poc))}
	}
	return found, nil
}

// activityBody builds the activity to post.
func activityBody(msg *channel.OutboundMessage) (map[string]any, error) {
	var rd rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &rd); err != nil {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered message is not valid JSON: " + err.Error()}
		}
	}
	body := map[string]any{}
	native := len(rd.Native) > 0 && string(rd.Native) != "null" && (strings.HasPrefix(rd.Type, Type+".") || rd.Type == "override")
	if native {
		if err := json.Unmarshal(rd.Native, &body); err != nil || body == nil {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered Teams activity is not a JSON object"}
		}
		if _, ok := body["type"]; !ok {
			body["type"] = "message"
		}
	} else {
		text := msg.Text
		if rd.Text != "" && (rd.Type != "attachment" || len(msg.Attachments) == 0) {
			text = rd.Text
		}
		body["type"] = "message"
		if text = strings.TrimSpace(text); text != "" {
			body["text"] = text
			body["textFormat"] = "plain"
		}
	}
	var atts []any
	if v, ok := body["attachments"]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered activity's attachments are not a list"}
		}
		atts = list
	}
	for _, att := range msg.Attachments {
		if att.URL == "" {
			return nil, &channel.SendError{Code: "bad_attachment", Reason: "attachment " + att.Name + " has no URL Teams can fetch"}
		}
		atts = append(atts, fileAttachment(att.URL, att.Name, att.MimeType))
	}
	if len(atts) > 0 {
		body["attachments"] = atts
	}
	text, _ := body["text"].(string)
	_, suggested := body["suggestedActions"]
	if text == "" && len(atts) == 0 && !suggested {
		return nil, &channel.SendError{Code: "empty", Reason: "nothing to send: no text, content or attachment"}
	}
	if msg.ReplyToPlatformID != "" {
		id := msg.ReplyToPlatformID
		if act, _, _, ok := splitPlatformID(id); ok {
			id = act
		}
		body["replyToId"] = id
	}
	return body, nil
}

// fileAttachment is a file in an activity: an image inline by its URL
// (Teams shows it in the conversation), anything else as a card with the
// file's name and a download button.
func fileAttachment(u, name, mimeType string) map[string]any {
	mt := strings.ToLower(mimeType)
	if strings.HasPrefix(mt, "image/") {
		a := map[string]any{"contentType": mt, "contentUrl": u}
		if name != "" {
			a["name"] = name
		}
		return a
	}
	if name == "" {
		name = "File"
	}
	body := []any{textBlock(name, "bolder", "")}
	if mimeType != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": mimeType, "isSubtle": true, "size": "small", "wrap": true})
	}
	return cardAttachment(adaptiveCard(body, []any{openURL("Download", u)}, name+": "+u))
}

// marshal encodes JSON as sent: "&" and "<" stay as they are (URLs with
// queries, "<" in text), which the HTML-safe default would escape.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// sendResponse is the Bot Connector's answer (ResourceResponse).
type sendResponse struct {
	ID string `json:"id"`
}

// post sends an activity with the bot's token and classifies failures.
func (a *Adapter) post(ctx context.Context, poc *channel.PointOfContact, serviceURL, conv string, body any) (string, error) {
	endpoint := strings.TrimRight(serviceURL, "/") + "/v3/conversations/" + url.PathEscape(conv) + "/activities"
	tok, err := a.botToken(ctx, poc)
	if err != nil {
		return "", err
	}
	b, err := marshal(body)
	if err != nil {
		return "", &channel.SendError{Code: "bad_content", Reason: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return "", &channel.SendError{Code: "bad_service_url", Reason: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return "", &channel.SendError{Retryable: true, Reason: "the Bot Connector is unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// An answer without an id is still a delivered message: failing it
		// would make the outbox send it again.
		var r sendResponse
		_ = json.Unmarshal(out, &r)
		return r.ID, nil
	}
	return "", a.sendError(poc, tok, resp, out)
}

// sendError classifies a Bot Connector failure (Teams' "Handle bot
// errors"): 429 and 412 (a conflict) and 5xx are retried, with the
// Retry-After hint; 404 (the conversation is gone) and 403 for a user who
// blocked or removed the bot make the recipient unreachable; 401 drops the
// cached token; other answers are permanent.
func (a *Adapter) sendError(poc *channel.PointOfContact, tok string, resp *http.Response, body []byte) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	code, reason := e.Error.Code, e.Error.Message
	if reason == "" {
		reason = e.Message
	}
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	if code == "" {
		code = strconv.Itoa(resp.StatusCode)
	}
	se := &channel.SendError{Code: code, Reason: reason}
	switch st := resp.StatusCode; {
	case st == http.StatusTooManyRequests:
		se.Retryable = true
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
	case st >= 500 || st == http.StatusPreconditionFailed:
		se.Retryable = true
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
	case st == http.StatusNotFound:
		se.Unreachable = true
	case st == http.StatusForbidden && (code == "ConversationBlockedByUser" || code == "BotNotInConversationRoster"):
		se.Unreachable = true
	case st == http.StatusUnauthorized:
		a.dropToken(poc, tok)
	}
	return se
}

// Typing shows the typing indicator (a "typing" activity; it stops by
// itself or with the next message, so "off" sends nothing). It needs the
// conversation's serviceUrl from this process's memory: Parse and MarkRead
// (which the core calls with the customer's last message, whose platform
// id holds it) keep it. Without one it does nothing: typing is a courtesy.
func (a *Adapter) Typing(ctx context.Context, poc *channel.PointOfContact, threadExternalID, recipientID string, on bool) error {
	if !on || threadExternalID == "" {
		return nil
	}
	su := a.service.get(poc.ID, threadExternalID)
	if su == "" || !allowedURL(poc, su) {
		return nil
	}
	_, err := a.post(ctx, poc, su, threadExternalID, map[string]any{"type": "typing"})
	return err
}

// MarkRead: bots cannot mark messages read in Teams. The platform id of
// an inbound message holds its conversation's serviceUrl, which is kept
// for Typing (the core marks read just before typing).
func (a *Adapter) MarkRead(ctx context.Context, poc *channel.PointOfContact, platformMessageID string) error {
	if _, conv, su, ok := splitPlatformID(platformMessageID); ok && validServiceURL(su) {
		a.service.put(poc.ID, conv, su)
	}
	return nil
}
