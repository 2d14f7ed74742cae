package viber

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Type   string          `json:"type"`
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// apiResponse is Viber's answer to every call: HTTP 200 with a status,
// 0 for success (CHANNELS.md §8).
type apiResponse struct {
	Status        *int        `json:"status"`
	StatusMessage string      `json:"status_message"`
	MessageToken  json.Number `json:"message_token"`
	EventTypes    []string    `json:"event_types"`
}

// request is one send_message body, field by field (values kept verbatim).
type request map[string]json.RawMessage

// part is one send_message call of an outbound message.
type part struct {
	body request
	// fallback replaces body when the customer's Viber is too old for it
	// (status 13, apiVersionNotSupported): the rendered plain text.
	fallback request
}

// marshal encodes JSON as sent to Viber: without Go's escaping of <, >
// and & (button texts carry Viber's HTML-like markup).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// unescapeHTML re-encodes JSON without Go's \u003c, \u003e and \u0026
// escapes, keeping key order and numbers as they are: the core stores the
// rendered payload with them, and Viber gets the markup as written.
func unescapeHTML(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct {
		object bool
		n      int
	}
	var (
		b     bytes.Buffer
		stack []frame
	)
	separate := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		switch {
		case top.object && top.n%2 == 1:
			b.WriteByte(':')
		case top.n > 0:
			b.WriteByte(',')
		}
		top.n++
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				separate()
				stack = append(stack, frame{object: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			b.WriteByte(byte(v))
		default:
			separate()
			enc, err := marshal(v)
			if err != nil {
				return nil, err
			}
			b.Write(enc)
		}
	}
	return b.Bytes(), nil
}

func jsonValue(v any) json.RawMessage {
	b, _ := marshal(v)
	return b
}

// Send delivers one outbound message through POST /pa/send_message: the
// rendered native payload (or the text, split at 7000 characters), then
// the attachment as a picture (JPEG, PNG or GIF up to 1 MB) or a file
// message. A single picture takes a short text as its caption. The
// returned id is the first message's message_token, in decimal.
//
// Viber answers HTTP 200 with a status: 0 is success; 12 (rate control)
// is retryable; 5 and 6 (not registered, not subscribed) are permanent and
// mark the customer unreachable; every other status is permanent, with
// Viber's name for it and what to do. A message the recipient's Viber
// version is too old for (13) is sent again as its plain text.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template != nil {
		return channel.SendResult{}, &channel.SendError{Code: "unsupported", Reason: "message templates are a WhatsApp feature; Viber has none"}
	}
	to := msg.RecipientID
	if to == "" {
		to = msg.ThreadExternalID
	}
	if to == "" {
		return channel.SendResult{}, &channel.SendError{Code: "no_recipient", Reason: "the thread has no Viber user id to send to"}
	}
	if poc.Credential(CredentialAuthToken) == "" {
		return channel.SendResult{}, &channel.SendError{Code: "configuration", Reason: "credentials." + CredentialAuthToken + " is not set on this point of contact"}
	}
	parts, err := buildParts(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	sender := map[string]string{"name": senderName(poc)}
	if avatar := poc.SettingString(SettingSenderAvatar); avatar != "" {
		sender["avatar"] = avatar
	}
	var first string
	for i, p := range parts {
		// A multi-part message that fails half-way is retried whole by the
		// outbox: Viber has no idempotency key to prevent the parts already
		// sent from going again.
		token, err := a.sendPart(ctx, poc, to, sender, p.body)
		var se *channel.SendError
		if err != nil && p.fallback != nil && errors.As(err, &se) && se.Code == "13" {
			token, err = a.sendPart(ctx, poc, to, sender, p.fallback)
		}
		if err != nil {
			if len(parts) > 1 && errors.As(err, &se) {
				se.Reason = fmt.Sprintf("%s (message %d of %d)", se.Reason, i+1, len(parts))
			}
			return channel.SendResult{}, err
		}
		if first == "" {
			first = token
		}
	}
	return channel.SendResult{PlatformMessageID: first}, nil
}

func (a *Adapter) sendPart(ctx context.Context, poc *channel.PointOfContact, to string, sender map[string]string, body request) (string, error) {
	out := make(request, len(body)+3)
	for k, v := range body {
		out[k] = v
	}
	out["receiver"] = jsonValue(to)
	out["sender"] = jsonValue(sender)
	if _, ok := out["min_api_version"]; !ok {
		out["min_api_version"] = jsonValue(1)
	}
	raw, err := marshal(out)
	if err != nil {
		return "", &channel.SendError{Code: "bad_content", Reason: "the message cannot be encoded: " + err.Error()}
	}
	if len(raw) > MaxMessageBytes {
		return "", &channel.SendError{Code: "too_large", Reason: fmt.Sprintf("the message is %d bytes; Viber accepts at most 30 KB per message", len(raw))}
	}
	resp, err := a.call(ctx, poc, "/pa/send_message", raw)
	if err != nil {
		return "", err
	}
	if *resp.Status != 0 {
		return "", statusError(*resp.Status, resp.StatusMessage)
	}
	token := resp.MessageToken.String()
	if !tokenPattern.MatchString(token) {
		// The message may well have gone out: retrying could send it
		// twice, so this is permanent.
		return "", &channel.SendError{Code: "bad_response", Reason: "Viber accepted the message but its answer has no message_token"}
	}
	return token, nil
}

// call POSTs a JSON body to a Viber API path with the bot's token and
// reads the status document. Network failures, 429 and 5xx are retryable;
// another HTTP error, or a 200 without a status, is permanent.
func (a *Adapter) call(ctx context.Context, poc *channel.PointOfContact, apiPath string, body []byte) (apiResponse, error) {
	var out apiResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL(poc)+apiPath, bytes.NewReader(body))
	if err != nil {
		return out, &channel.SendError{Code: "configuration", Reason: "invalid API URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(AuthTokenHeader, poc.Credential(CredentialAuthToken))
	resp, err := a.client.Do(req)
	if err != nil {
		return out, &channel.SendError{Retryable: true, Reason: "Viber unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		se := &channel.SendError{
			Retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
			Code:      strconv.Itoa(resp.StatusCode),
			Reason:    "HTTP " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode),
		}
		if se.Retryable {
			se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
		}
		if s := snippet(raw); s != "" {
			se.Reason += ": " + s
		}
		return out, se
	}
	if err != nil {
		return out, &channel.SendError{Retryable: true, Reason: "reading Viber's answer: " + err.Error()}
	}
	if json.Unmarshal(raw, &out) != nil || out.Status == nil {
		return out, &channel.SendError{Code: "bad_response", Reason: "Viber answered without a status: " + snippet(raw)}
	}
	return out, nil
}

// statusInfo describes one of Viber's status codes.
type statusInfo struct {
	name, meaning string
	retryable     bool
	unreachable   bool
}

// statusInfoOf is Viber's table of status codes (REST bot API, "Error
// codes"), with what each means for Parley.
func statusInfoOf(code int) statusInfo {
	switch code {
	case 1:
		return statusInfo{name: "invalidUrl", meaning: "the webhook URL is not valid: Viber must reach it over HTTPS with a valid certificate and get a 200"}
	case 2:
		return statusInfo{name: "invalidAuthToken", meaning: "the authentication token is not valid: check credentials.auth_token"}
	case 3:
		return statusInfo{name: "badData", meaning: "Viber refused the request's data"}
	case 4:
		return statusInfo{name: "missingData", meaning: "a mandatory field is missing"}
	case 5:
		return statusInfo{name: "receiverNotRegistered", meaning: "the customer is not registered on Viber", unreachable: true}
	case 6:
		return statusInfo{name: "receiverNotSubscribed", meaning: "the customer is not subscribed to this bot (never wrote to it, or unsubscribed); Viber accepts messages again once they write", unreachable: true}
	case 7:
		return statusInfo{name: "publicAccountBlocked", meaning: "the bot is blocked"}
	case 8:
		return statusInfo{name: "publicAccountNotFound", meaning: "the token's account is not a bot"}
	case 9:
		return statusInfo{name: "publicAccountSuspended", meaning: "the bot is suspended"}
	case 10:
		return statusInfo{name: "webhookNotSet", meaning: "no webhook is set for the bot: register this point of contact's webhook"}
	case 11:
		return statusInfo{name: "receiverNoSuitableDevice", meaning: "the customer's device or Viber version does not support bots"}
	case 12:
		return statusInfo{name: "tooManyRequests", meaning: "rate control: Viber allows 100 messages an hour to a customer who has not replied", retryable: true}
	case 13:
		return statusInfo{name: "apiVersionNotSupported", meaning: "the customer's Viber is too old for this message (min_api_version)"}
	case 14:
		return statusInfo{name: "incompatibleWithVersion", meaning: "min_api_version does not allow the message's fields"}
	case 15:
		return statusInfo{name: "publicAccountNotAuthorized", meaning: "the bot is not authorized"}
	case 16:
		return statusInfo{name: "inchatReplyMessageNotAllowed", meaning: "inline messages are not allowed"}
	case 17:
		return statusInfo{name: "publicAccountIsNotInline", meaning: "the bot is not inline"}
	case 18:
		return statusInfo{name: "noPublicChat", meaning: "the bot has no public chat"}
	case 19:
		return statusInfo{name: "cannotSendBroadcast", meaning: "cannot send a broadcast message"}
	case 20:
		return statusInfo{name: "broadcastNotAllowed", meaning: "the bot may not broadcast"}
	case 21:
		return statusInfo{meaning: "Viber does not deliver this message in the customer's country"}
	case 22:
		return statusInfo{meaning: "the bot does not support payment messages"}
	case 23:
		return statusInfo{meaning: "the bot has used its monthly free messages outside a session"}
	case 24:
		return statusInfo{meaning: "the billable bot has no balance left"}
	}
	return statusInfo{meaning: "Viber refused the request"}
}

// statusError classifies a non-zero status.
func statusError(status int, message string) *channel.SendError {
	info := statusInfoOf(status)
	reason := info.meaning
	if info.name != "" {
		reason = info.name + ": " + reason
	}
	if m := strings.TrimSpace(message); m != "" && m != info.name {
		reason += " (Viber: " + snippet([]byte(m)) + ")"
	}
	return &channel.SendError{Code: strconv.Itoa(status), Reason: reason, Retryable: info.retryable, Unreachable: info.unreachable}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// buildParts makes the send_message bodies of a message, without receiver
// and sender.
func buildParts(msg *channel.OutboundMessage) ([]part, error) {
	var rd rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &rd); err != nil {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered message is not valid JSON: " + err.Error()}
		}
	}
	var parts []part
	native := len(rd.Native) > 0 && string(rd.Native) != "null" && (strings.HasPrefix(rd.Type, Type+".") || rd.Type == "override")
	if native {
		bodies, err := nativeBodies(rd.Native)
		if err != nil {
			return nil, err
		}
		sent := "" // the text of the parts before, which a fallback need not repeat
		for _, b := range bodies {
			p := part{body: b}
			fallback := strings.TrimSpace(rd.Text)
			if rest, ok := strings.CutPrefix(fallback, sent); ok && sent != "" {
				fallback = strings.TrimSpace(rest)
			}
			if minVersion(b) > 1 && fallback != "" {
				p.fallback = textRequest(truncateRunes(fallback, MaxTextLength))
			}
			var text string
			if json.Unmarshal(b["text"], &text) == nil && string(b["type"]) == `"text"` {
				sent = strings.TrimSpace(joinLines(sent, text))
			}
			parts = append(parts, p)
		}
	} else {
		text := msg.Text
		if rd.Text != "" && (rd.Type != "attachment" || len(msg.Attachments) == 0) {
			text = rd.Text
		}
		for _, chunk := range splitText(strings.TrimSpace(text), MaxTextLength) {
			parts = append(parts, part{body: textRequest(chunk)})
		}
	}
	for _, att := range msg.Attachments {
		b, err := attachmentRequest(att)
		if err != nil {
			return nil, err
		}
		// One picture and one short text: the text becomes its caption.
		if !native && len(msg.Attachments) == 1 && len(parts) == 1 && string(b["type"]) == `"picture"` {
			var text string
			_ = json.Unmarshal(parts[0].body["text"], &text)
			if utf8.RuneCountInString(text) <= MaxCaptionLength {
				b["text"] = jsonValue(text)
				parts = parts[:0]
			}
		}
		parts = append(parts, part{body: b})
	}
	if len(parts) == 0 {
		return nil, &channel.SendError{Code: "empty", Reason: "nothing to send: no text, content or attachment"}
	}
	// Viber returns the tracking_data of the last message delivered with
	// the customer's next message, and shows the last keyboard it got: a
	// keyboard and its tracking data go on the last message.
	last := parts[len(parts)-1].body
	if v := minVersionOfKeyboard(parts); v > minVersion(last) {
		last["min_api_version"] = jsonValue(v)
	}
	for i := range parts[:len(parts)-1] {
		b := parts[i].body
		for _, k := range []string{"keyboard", "tracking_data"} {
			if v, ok := b[k]; ok {
				if _, taken := last[k]; !taken {
					last[k] = v
				}
				delete(b, k)
			}
		}
	}
	return parts, nil
}

func textRequest(text string) request {
	return request{"type": jsonValue("text"), "text": jsonValue(text)}
}

// nativeBodies reads a native payload: one send_message body (an object)
// or several (an array of objects), each with a "type".
func nativeBodies(raw json.RawMessage) ([]request, error) {
	bad := &channel.SendError{Code: "bad_content", Reason: "the rendered Viber payload must be a send_message body (a JSON object with a type) or an array of them"}
	raw, err := unescapeHTML(raw)
	if err != nil {
		return nil, bad
	}
	var list []request
	switch t := strings.TrimLeft(string(raw), " \t\r\n"); {
	case strings.HasPrefix(t, "["):
		if json.Unmarshal(raw, &list) != nil {
			return nil, bad
		}
	case strings.HasPrefix(t, "{"):
		var one request
		if json.Unmarshal(raw, &one) != nil {
			return nil, bad
		}
		list = []request{one}
	default:
		return nil, bad
	}
	if len(list) == 0 {
		return nil, bad
	}
	for _, b := range list {
		var typ string
		if b == nil || json.Unmarshal(b["type"], &typ) != nil || typ == "" {
			return nil, bad
		}
		delete(b, "receiver") // the thread decides who receives it
	}
	return list, nil
}

func minVersion(b request) int {
	var v int
	if json.Unmarshal(b["min_api_version"], &v) != nil || v < 1 {
		return 1
	}
	return v
}

// minVersionOfKeyboard is the min_api_version the body that carried the
// keyboard asked for, so moving the keyboard keeps it.
func minVersionOfKeyboard(parts []part) int {
	v := 1
	for _, p := range parts[:len(parts)-1] {
		if _, ok := p.body["keyboard"]; ok {
			v = max(v, minVersion(p.body))
		}
	}
	return v
}

// forbiddenExtensions are the executable and script types Viber refuses as
// file messages (REST bot API, "File message").
func forbiddenExtension(ext string) bool {
	switch strings.ToLower(strings.TrimPrefix(ext, ".")) {
	case "action", "apk", "app", "bat", "bin", "cmd", "com", "command", "cpl", "csh", "exe", "gadget", "inf1", "ins", "inx",
		"ipa", "isu", "job", "jse", "ksh", "lnk", "msc", "msi", "msp", "mst", "osx", "out", "paf", "pif", "prg", "ps1",
		"reg", "rgs", "run", "sct", "shb", "shs", "u3p", "vb", "vbe", "vbs", "vbscript", "workflow", "ws", "wsf":
		return true
	}
	return false
}

// attachmentRequest sends a stored file by its signed URL: a picture when
// Viber can show it inline, else a file message with its name and size.
func attachmentRequest(att channel.OutboundAttachment) (request, error) {
	if !httpURL(att.URL, false) {
		return nil, &channel.SendError{Code: "bad_attachment", Reason: "attachment " + att.Name + " has no URL Viber can fetch"}
	}
	if pictureType(att.MimeType, att.Name) && att.Size <= MaxPictureSize {
		return request{"type": jsonValue("picture"), "text": jsonValue(""), "media": jsonValue(att.URL)}, nil
	}
	name := strings.TrimSpace(att.Name)
	if name == "" {
		name = "file"
	}
	ext := path.Ext(name)
	if forbiddenExtension(ext) {
		return nil, &channel.SendError{Code: "bad_attachment", Reason: "Viber does not deliver " + ext + " files (executables and scripts): " + name}
	}
	if utf8.RuneCountInString(name) > MaxFileName {
		name = truncateRunes(strings.TrimSuffix(name, ext), MaxFileName-utf8.RuneCountInString(ext)) + ext
	}
	if att.Size <= 0 {
		return nil, &channel.SendError{Code: "bad_attachment", Reason: "attachment " + name + " has no size; Viber needs it for a file message"}
	}
	if att.Size > MaxFileSize {
		return nil, &channel.SendError{Code: "bad_attachment", Reason: fmt.Sprintf("attachment %s is %d bytes; Viber files may be at most 50 MB", name, att.Size)}
	}
	return request{"type": jsonValue("file"), "media": jsonValue(att.URL), "size": jsonValue(att.Size), "file_name": jsonValue(name)}, nil
}

// splitText cuts text into pieces of at most max characters, preferring
// paragraph, line and word boundaries. Empty text gives no piece.
func splitText(text string, max int) []string {
	var out []string
	for text != "" {
		if utf8.RuneCountInString(text) <= max {
			out = append(out, text)
			break
		}
		head := truncateRunes(text, max)
		cut := len(head)
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(head, sep); i > len(head)/2 {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(text[:cut], " \n"))
		text = strings.TrimLeft(text[cut:], " \n")
	}
	return out
}

// webhookRequest is the set_webhook body.
type webhookRequest struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	SendName   bool     `json:"send_name"`
	SendPhoto  bool     `json:"send_photo"`
}

// RegisterWebhook points the bot's callbacks at this point of contact's
// webhook URL (POST /pa/set_webhook with every event type Parley reads,
// and the sender's name and photo in message callbacks). Viber checks the
// URL at once with a signed {"event":"webhook"} callback, which Parse
// answers with a 200; a URL Viber cannot reach gives status 1.
func (a *Adapter) RegisterWebhook(ctx context.Context, poc *channel.PointOfContact, webhookURL string) error {
	if poc.Credential(CredentialAuthToken) == "" {
		return &channel.SendError{Code: "configuration", Reason: "credentials." + CredentialAuthToken + " is not set on this point of contact"}
	}
	if !httpURL(webhookURL, true) {
		return &channel.SendError{Code: "configuration", Reason: "the webhook URL must be an absolute https URL Viber can reach: " + webhookURL}
	}
	body, _ := marshal(webhookRequest{URL: webhookURL, EventTypes: EventTypes(), SendName: true, SendPhoto: true})
	resp, err := a.call(ctx, poc, "/pa/set_webhook", body)
	if err != nil {
		var se *channel.SendError
		if errors.As(err, &se) {
			se.Reason = "set_webhook: " + se.Reason
		}
		return err
	}
	if *resp.Status != 0 {
		se := statusError(*resp.Status, resp.StatusMessage)
		se.Reason = "set_webhook: " + se.Reason
		se.Unreachable = false
		return se
	}
	return nil
}
