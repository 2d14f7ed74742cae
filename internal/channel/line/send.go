package line

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parleyhq/parley/internal/channel"
)

// SendError codes of sends refused before LINE is called.
const (
	CodeProactive    = "proactive_not_allowed"
	CodeAttachments  = "attachments_not_supported"
	CodeNoRecipient  = "no_recipient"
	CodeBadContent   = "bad_content"
	CodeEmpty        = "empty"
	CodeTooLong      = "too_long"
	CodeUnsupported  = "unsupported"
	CodeConfig       = "configuration"
	CodeBadResponse  = "bad_response"
	CodeMonthlyLimit = "monthly_limit"
)

// RetryKeyHeader makes a push idempotent: LINE answers 409 to a second
// push with the same key within 24 hours instead of sending it again.
const RetryKeyHeader = "X-Line-Retry-Key"

// retryKeySpace derives a UUID from an outbound message id that is not one
// itself (Parley's ids are UUIDv7 strings and are used as they are).
var retryKeySpace = uuid.MustParse("5c3e6f0a-3b1e-4d8e-9a57-0b8f2a7d4c11")

// RetryKey is the X-Line-Retry-Key of an outbound message: its id when that
// is a UUID (Parley's are UUIDv7), else a UUID derived from it, so every
// attempt of one message carries the same key.
func RetryKey(messageID string) string {
	if u, err := uuid.Parse(messageID); err == nil {
		return u.String()
	}
	return uuid.NewSHA1(retryKeySpace, []byte(messageID)).String()
}

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Type   string          `json:"type"`
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// sendResponse is reply's and push's answer (and a 409's body).
type sendResponse struct {
	Message      string `json:"message"`
	SentMessages []struct {
		ID string `json:"id"`
	} `json:"sentMessages"`
	Details []struct {
		Message  string `json:"message"`
		Property string `json:"property"`
	} `json:"details"`
}

// Send delivers one outbound message as up to five LINE message objects
// (the rendered native payload, else the text split at 5,000 characters).
// The customer's reply token goes first while it is fresh (replies are
// free); otherwise, or when LINE says the token is no longer valid, the
// message is pushed with the message's retry key. It refuses, before
// calling LINE, what Parley never sends on LINE: files, templates, and a
// message to a thread where the customer never wrote.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template != nil {
		return channel.SendResult{}, &channel.SendError{Code: CodeUnsupported, Reason: "message templates are a WhatsApp feature; LINE has none"}
	}
	if len(msg.Attachments) > 0 {
		return channel.SendResult{}, &channel.SendError{Code: CodeAttachments,
			Reason: fmt.Sprintf("Parley sends no files on LINE (%d attached): send the text alone, or a link to the file", len(msg.Attachments))}
	}
	to := msg.ThreadExternalID
	if to == "" {
		to = msg.RecipientID
	}
	if to == "" {
		return channel.SendResult{}, &channel.SendError{Code: CodeNoRecipient, Reason: "the thread has no LINE user, group or room id"}
	}
	if msg.LastInboundAt.IsZero() {
		return channel.SendResult{}, &channel.SendError{Code: CodeProactive,
			Reason: "this customer has never written on LINE: Parley sends no business-initiated messages on LINE, only answers"}
	}
	messages, err := buildMessages(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	token := poc.Credential(CredentialChannelAccessToken)
	if token == "" {
		return channel.SendResult{}, &channel.SendError{Code: CodeConfig, Reason: "credentials." + CredentialChannelAccessToken + " is not set on this point of contact"}
	}
	key := replyKey(poc, to)
	if rt, ok := a.replies.take(key, a.now(), ReplyTokenTTL); ok {
		res, err := a.post(ctx, poc, token, "/v2/bot/message/reply", "", map[string]any{"replyToken": rt.token, "messages": messages})
		var se *channel.SendError
		switch {
		case err == nil:
			return res, nil
		case errors.As(err, &se) && se.Code == codeInvalidReplyToken:
			// Expired or already used: the answer goes as a push, once.
		case errors.As(err, &se) && se.Retryable && se.Code == strconv.Itoa(http.StatusTooManyRequests):
			// Refused before use: the token may still serve the retry.
			a.replies.restore(key, rt, ReplyTokenTTL)
			return channel.SendResult{}, err
		default:
			// Also a reply lost on the network: the token is spent or may
			// be, so the retry pushes, and LINE cannot tell it from a new
			// message (no retry key on reply) — a rare duplicate.
			return channel.SendResult{}, err
		}
	}
	return a.post(ctx, poc, token, "/v2/bot/message/push", RetryKey(msg.ID), map[string]any{"to": to, "messages": messages})
}

// codeInvalidReplyToken marks LINE's 400 "Invalid reply token" inside the
// adapter; Send turns it into a push.
const codeInvalidReplyToken = "invalid_reply_token"

// buildMessages makes the LINE message objects of an outbound message.
func buildMessages(msg *channel.OutboundMessage) ([]json.RawMessage, error) {
	var rd rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &rd); err != nil {
			return nil, &channel.SendError{Code: CodeBadContent, Reason: "the rendered message is not valid JSON: " + err.Error()}
		}
	}
	if len(rd.Native) > 0 && string(rd.Native) != "null" {
		return nativeMessages(rd.Native)
	}
	text := strings.TrimSpace(msg.Text)
	if strings.TrimSpace(rd.Text) != "" {
		text = strings.TrimSpace(rd.Text)
	}
	if text == "" {
		return nil, &channel.SendError{Code: CodeEmpty, Reason: "nothing to send: no text"}
	}
	chunks := splitText(text, MaxTextLength)
	if len(chunks) > MaxMessages {
		return nil, &channel.SendError{Code: CodeTooLong, Reason: fmt.Sprintf("the text is %d characters; one LINE answer carries at most %d messages of %d characters: shorten it or send it in several messages",
			utf8.RuneCountInString(text), MaxMessages, MaxTextLength)}
	}
	out := make([]json.RawMessage, 0, len(chunks))
	for _, c := range chunks {
		b, _ := json.Marshal(map[string]string{"type": "text", "text": c})
		out = append(out, b)
	}
	return out, nil
}

// nativeMessages reads a rendered native payload: {"messages":[…]} (what
// RenderNative makes), or, from an author's override, one message object
// or an array of them.
func nativeMessages(native json.RawMessage) ([]json.RawMessage, error) {
	bad := func(reason string) error {
		return &channel.SendError{Code: CodeBadContent, Reason: "the rendered LINE payload " + reason}
	}
	var list []json.RawMessage
	t := bytes.TrimLeft(native, " \t\r\n")
	switch {
	case len(t) > 0 && t[0] == '[':
		if err := json.Unmarshal(native, &list); err != nil {
			return nil, bad("is not a JSON array of messages")
		}
	case len(t) > 0 && t[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(native, &obj); err != nil {
			return nil, bad("is not a JSON object")
		}
		if raw, ok := obj["messages"]; ok {
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, bad("has \"messages\" that is not an array")
			}
		} else {
			list = []json.RawMessage{native}
		}
	default:
		return nil, bad("is not a JSON object")
	}
	if len(list) == 0 || len(list) > MaxMessages {
		return nil, bad(fmt.Sprintf("must have 1 to %d messages, not %d", MaxMessages, len(list)))
	}
	for i, m := range list {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(m, &head); err != nil || head.Type == "" {
			return nil, bad(fmt.Sprintf("message %d is not an object with a \"type\"", i+1))
		}
	}
	return list, nil
}

// post calls reply or push and classifies the answer.
func (a *Adapter) post(ctx context.Context, poc *channel.PointOfContact, token, path, retryKey string, body any) (channel.SendResult, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Code: CodeBadContent, Reason: "encoding the request: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiBase(poc)+path, bytes.NewReader(payload))
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Code: CodeConfig, Reason: "invalid API URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if retryKey != "" {
		req.Header.Set(RetryKeyHeader, retryKey)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Retryable: true, Reason: "LINE unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 != 2 {
		return channel.SendResult{}, &channel.SendError{Retryable: true, Reason: "reading LINE's answer: " + err.Error()}
	}
	var out sendResponse
	_ = json.Unmarshal(raw, &out)
	// 409 to a push with a retry key: an earlier attempt of this very
	// message was accepted, so it has been sent.
	accepted := resp.StatusCode == http.StatusConflict && retryKey != ""
	if resp.StatusCode/100 == 2 || accepted {
		id := ""
		if len(out.SentMessages) > 0 {
			id = out.SentMessages[0].ID
		}
		if id == "" {
			// The message went out; LINE's request id still names it.
			id = firstNonEmpty(resp.Header.Get("X-Line-Accepted-Request-Id"), resp.Header.Get("X-Line-Request-Id"))
		}
		return channel.SendResult{PlatformMessageID: id}, nil
	}
	return channel.SendResult{}, a.classify(resp, out, raw)
}

// classify turns a failed answer into a SendError: 429 and 5xx are
// retryable (LINE rarely sends Retry-After, the outbox backs off), except
// the monthly message quota, which waits for the next month; 400 "Invalid
// reply token" is marked for the push fallback; every other 4xx is
// permanent with LINE's message and details.
func (a *Adapter) classify(resp *http.Response, out sendResponse, raw []byte) *channel.SendError {
	se := &channel.SendError{
		Retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		Code:      strconv.Itoa(resp.StatusCode),
		Reason:    out.Message,
	}
	if se.Reason == "" {
		se.Reason = fmt.Sprintf("HTTP %d", resp.StatusCode)
		if s := snippet(raw); s != "" {
			se.Reason += ": " + s
		}
	}
	for _, d := range out.Details {
		switch {
		case d.Property != "" && d.Message != "":
			se.Reason += "; " + d.Property + ": " + d.Message
		case d.Message != "":
			se.Reason += "; " + d.Message
		}
	}
	if se.Retryable {
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
	}
	lower := strings.ToLower(out.Message)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests && strings.Contains(lower, "monthly limit"):
		se.Retryable, se.RetryAfter = false, 0
		se.Code = CodeMonthlyLimit
		se.Reason = "the LINE account's monthly message quota is used up (LINE: " + out.Message + "); answers within a minute of the customer's message are still free"
	case resp.StatusCode == http.StatusBadRequest && strings.Contains(lower, "reply token"):
		se.Code = codeInvalidReplyToken
	case resp.StatusCode == http.StatusUnauthorized:
		se.Reason = "the channel access token was refused (LINE: " + se.Reason + ")"
	}
	return se
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// splitText cuts text into pieces of at most max characters, preferring
// paragraph, line and word boundaries.
func splitText(text string, max int) []string {
	if text == "" {
		return nil
	}
	var out []string
	for text != "" {
		if utf8.RuneCountInString(text) <= max {
			out = append(out, text)
			break
		}
		cut, n := len(text), 0
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

// FetchMedia downloads a customer's image, video, audio or file:
// GET {api_data_base_url}/v2/bot/message/{id}/content with the channel
// access token. The caller closes the body and bounds its size.
func (a *Adapter) FetchMedia(ctx context.Context, poc *channel.PointOfContact, ref string) (io.ReadCloser, string, error) {
	if !messageID.MatchString(ref) {
		return nil, "", fmt.Errorf("line: invalid message id %q", clip(ref, 80))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, dataBase(poc)+"/v2/bot/message/"+ref+"/content", nil)
	if err != nil {
		return nil, "", fmt.Errorf("line: content %s: %v", ref, err)
	}
	req.Header.Set("Authorization", "Bearer "+poc.Credential(CredentialChannelAccessToken))
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("line: content %s: %v", ref, err)
	}
	if resp.StatusCode != http.StatusOK {
		// 202: a video or audio LINE is still preparing; the webhook is
		// then not acknowledged and LINE's redelivery brings it back.
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, "", fmt.Errorf("line: content %s: HTTP %d: %s", ref, resp.StatusCode, strings.TrimSpace(string(excerpt)))
	}
	return resp.Body, resp.Header.Get("Content-Type"), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// RegisterWebhook sets the channel's webhook URL (PUT
// /v2/bot/channel/webhook/endpoint). LINE takes https URLs only, and
// delivers nothing until "Use webhook" is on in the LINE Developers
// Console, which the API cannot switch.
func (a *Adapter) RegisterWebhook(ctx context.Context, poc *channel.PointOfContact, webhookURL string) error {
	u, err := url.Parse(webhookURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || len(webhookURL) > 500 {
		return fmt.Errorf("LINE only accepts an https webhook URL of at most 500 characters, not %q: give Parley a public https address", clip(webhookURL, 100))
	}
	return a.call(ctx, poc, http.MethodPut, "/v2/bot/channel/webhook/endpoint", map[string]string{"endpoint": webhookURL})
}

// Typing shows LINE's loading animation in a one-to-one chat for 20
// seconds (it ends by itself, or when the answer arrives). LINE has none
// for groups, and nothing to turn it off: off is a no-op.
func (a *Adapter) Typing(ctx context.Context, poc *channel.PointOfContact, threadExternalID, recipientID string, on bool) error {
	chat := threadExternalID
	if chat == "" {
		chat = recipientID
	}
	if !on || !strings.HasPrefix(chat, "U") {
		return nil
	}
	return a.call(ctx, poc, http.MethodPost, "/v2/bot/chat/loading/start", map[string]any{"chatId": chat, "loadingSeconds": 20})
}

// MarkRead marks a customer's message read with the markAsReadToken its
// webhook carried (kept in memory for a day; without it, nothing is done).
func (a *Adapter) MarkRead(ctx context.Context, poc *channel.PointOfContact, platformMessageID string) error {
	e, ok := a.readMarks.get(readKey(poc, platformMessageID), a.now(), readMarkTTL)
	if !ok {
		return nil
	}
	return a.call(ctx, poc, http.MethodPost, "/v2/bot/chat/markAsRead", map[string]string{"markAsReadToken": e.token})
}

// call is an API call whose answer body does not matter.
func (a *Adapter) call(ctx context.Context, poc *channel.PointOfContact, method, path string, body any) error {
	payload, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, apiBase(poc)+path, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("line: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+poc.Credential(CredentialChannelAccessToken))
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("line: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var out sendResponse
	_ = json.Unmarshal(raw, &out)
	return a.classify(resp, out, raw)
}
