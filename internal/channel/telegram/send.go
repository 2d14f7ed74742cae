package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// SendError codes the adapter sets itself (nothing reached Telegram).
const (
	// CodeNoProactive: the customer never wrote to the bot.
	CodeNoProactive = "proactive_not_allowed"
	// CodeNoRecipient: the thread has no Telegram chat id.
	CodeNoRecipient = "no_recipient"
	// CodeInvalid: the message cannot be sent as it is (nothing to send, a
	// file too large, an unusable rendered payload…).
	CodeInvalid = "invalid_message"
)

// chatIDPattern is a Telegram chat id: an integer, negative for groups.
var chatIDPattern = regexp.MustCompile(`^-?[0-9]{1,20}$`)

// sendMethod is a Bot API method a rendered payload may name: the send*
// methods that take a chat_id and return one Message.
var sendMethod = regexp.MustCompile(`^send[A-Z][A-Za-z]{1,30}$`)

// oneMessage tells a send* method that returns a single Message (not
// sendMediaGroup's list, nor sendChatAction's true).
func oneMessage(method string) bool {
	return sendMethod.MatchString(method) && method != "sendMediaGroup" && method != "sendChatAction"
}

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Type   string          `json:"type"`
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// apiCall is one Bot API request of a send.
type apiCall struct {
	method string
	params map[string]any
	// upload, when set, is sent as the file of a multipart request (field
	// uploadField) instead of JSON.
	upload      *channel.OutboundAttachment
	uploadField string
}

// sentMessage is the part of a Message result the adapter reads.
type sentMessage struct {
	MessageID int64 `json:"message_id"`
	Chat      struct {
		ID int64 `json:"id"`
	} `json:"chat"`
}

// Send delivers one outbound message to the thread's chat, as one Bot API
// call or a few, in this order:
//   - the rendered native payload (RenderNative's inline keyboards, or a
//     content override): a Bot API call {"method":"send…", params…} without
//     chat_id; else the text (Rendered.text, else Text) with sendMessage,
//     split into pieces of at most 4096 UTF-16 code units (at a line break
//     or a space when there is one near the end). A text of at most 1024
//     units sent with a file becomes the file's caption instead;
//   - then each attachment: JPEG and PNG images of at most 5 MB by URL
//     with sendPhoto (Telegram fetches them); every other file with
//     sendDocument, uploaded as multipart with its own name (Telegram
//     fetches documents by URL only for PDF, ZIP and GIF, and names them
//     after the URL), streamed from its signed URL. The core sends at most
//     one attachment per message (MaxAttachments).
//
// reply_parameters (with allow_sending_without_reply) quote
// ReplyToPlatformID on the first call when it is a message of this chat.
//
// The result is the id of the LAST message sent, "<chat id>:<message id>":
// Telegram has no delivery receipts, so the id only serves quotes and taps,
// which refer to the last piece (the one carrying the keyboard or the
// file). A failure of the first call is classified as it is (429 and 5xx
// retryable); a failure of a later call is permanent, saying what went
// out, since retrying would send the first pieces twice (the Bot API has no
// idempotency key).
//
// A customer who never wrote (LastInboundAt zero) is refused before
// anything is sent: Telegram bots may not start conversations.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template != nil {
		return channel.SendResult{}, &channel.SendError{Code: "unsupported", Reason: "message templates are a WhatsApp feature; Telegram has none"}
	}
	chat := msg.ThreadExternalID
	if chat == "" {
		chat = msg.RecipientID
	}
	if !chatIDPattern.MatchString(chat) {
		return channel.SendResult{}, &channel.SendError{Code: CodeNoRecipient, Reason: fmt.Sprintf("the thread has no Telegram chat id (got %q)", clip(chat, 40))}
	}
	if msg.LastInboundAt.IsZero() {
		return channel.SendResult{}, &channel.SendError{Code: CodeNoProactive,
			Reason: "this customer has never written to the bot: Telegram bots may only answer people who started them (no proactive messages)"}
	}
	calls, err := buildCalls(chat, msg)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Code: CodeInvalid, Reason: err.Error()}
	}
	last := ""
	for i, c := range calls {
		out, serr := a.perform(ctx, poc, c)
		if serr != nil {
			if i == 0 {
				return channel.SendResult{}, serr
			}
			return channel.SendResult{}, &channel.SendError{Code: serr.Code, Unreachable: serr.Unreachable,
				Reason: fmt.Sprintf("part %d of %d (%s) failed after the first %d went out (last id %s): %s", i+1, len(calls), c.method, i, last, serr.Reason)}
		}
		var m sentMessage
		if json.Unmarshal(out, &m) == nil && m.MessageID > 0 {
			sentChat := m.Chat.ID
			if sentChat == 0 {
				sentChat, _ = strconv.ParseInt(chat, 10, 64)
			}
			last = messageID(sentChat, m.MessageID)
		}
	}
	return channel.SendResult{PlatformMessageID: last}, nil
}

// perform makes one call, JSON or multipart.
func (a *Adapter) perform(ctx context.Context, poc *channel.PointOfContact, c apiCall) (json.RawMessage, *channel.SendError) {
	if c.upload != nil {
		return a.upload(ctx, poc, c)
	}
	return a.call(ctx, poc, c.method, c.params)
}

// buildCalls makes the Bot API calls for msg, in sending order.
func buildCalls(chat string, msg *channel.OutboundMessage) ([]apiCall, error) {
	var r rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &r); err != nil {
			return nil, fmt.Errorf("the rendered content is not valid: %v", err)
		}
	}
	var calls []apiCall
	caption := ""
	if len(r.Native) > 0 && string(r.Native) != "null" {
		c, err := nativeCall(r.Native)
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
	} else {
		text := r.Text
		if strings.TrimSpace(text) == "" {
			text = msg.Text
		}
		switch {
		case strings.TrimSpace(text) == "":
		case len(msg.Attachments) > 0 && utf16Len(text) <= MaxCaptionLength:
			caption = text
		default:
			for _, piece := range splitText(text, MaxTextLength) {
				calls = append(calls, apiCall{method: "sendMessage", params: map[string]any{"text": piece}})
			}
		}
	}
	for i := range msg.Attachments {
		c, err := attachmentCall(&msg.Attachments[i])
		if err != nil {
			return nil, err
		}
		if caption != "" {
			c.params["caption"] = caption
			caption = ""
		}
		calls = append(calls, c)
	}
	if len(calls) == 0 {
		return nil, errors.New("nothing to send: no text, content or attachment")
	}
	for _, c := range calls {
		c.params["chat_id"] = json.Number(chat)
	}
	if rp := replyParameters(chat, msg.ReplyToPlatformID); rp != nil {
		calls[0].params["reply_parameters"] = rp
	}
	return calls, nil
}

// nativeCall reads a rendered native payload: a Bot API call written as in
// a webhook reply, {"method":"sendMessage", params…}, without chat_id. A
// payload without "method" is a sendMessage (an author's override may be
// just the sendMessage parameters).
func nativeCall(raw json.RawMessage) (apiCall, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return apiCall{}, errors.New("the rendered native payload is not a JSON object of Bot API parameters")
	}
	method := "sendMessage"
	if m, ok := fields["method"]; ok {
		if err := json.Unmarshal(m, &method); err != nil || !oneMessage(method) {
			return apiCall{}, fmt.Errorf("the rendered native payload names %s: only Bot API send methods returning one message are allowed (sendMessage, sendPhoto, sendDocument…)", clip(string(m), 40))
		}
	}
	params := map[string]any{}
	for k, v := range fields {
		if k != "method" && k != "chat_id" {
			params[k] = v
		}
	}
	return apiCall{method: method, params: params}, nil
}

// photoByURL tells the image types Telegram's sendPhoto takes by URL.
func photoByURL(mimeType string) bool { return mimeType == "image/jpeg" || mimeType == "image/png" }

// attachmentCall sends one file: a small JPEG or PNG by URL with sendPhoto,
// anything else uploaded with sendDocument under its own name.
func attachmentCall(att *channel.OutboundAttachment) (apiCall, error) {
	u, err := url.Parse(att.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return apiCall{}, fmt.Errorf("attachment %q has no absolute URL to send it from", clip(att.Name, 80))
	}
	if att.Size > MaxUpload {
		return apiCall{}, fmt.Errorf("attachment %q is %d MB: a Telegram bot may send files of at most 50 MB", clip(att.Name, 80), (att.Size+(1<<20)-1)>>20)
	}
	if photoByURL(baseMIME(att.MimeType)) && att.Size <= MaxPhotoByURL {
		return apiCall{method: "sendPhoto", params: map[string]any{"photo": att.URL}}, nil
	}
	return apiCall{method: "sendDocument", params: map[string]any{}, upload: att, uploadField: "document"}, nil
}

// replyParameters quotes a message of this chat; Parley's ids are
// "<chat id>:<message id>" (an edit's id has a suffix). A message that is
// gone no longer fails the send (allow_sending_without_reply).
func replyParameters(chat, replyTo string) map[string]any {
	c, id, ok := splitMessageID(replyTo)
	if !ok || c != chat {
		return nil
	}
	return map[string]any{"message_id": id, "allow_sending_without_reply": true}
}

// splitMessageID reads "<chat id>:<message id>[:…]" back.
func splitMessageID(s string) (chat string, id int64, ok bool) {
	c, rest, found := strings.Cut(s, ":")
	if !found || !chatIDPattern.MatchString(c) {
		return "", 0, false
	}
	m, _, _ := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(m, 10, 64)
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return c, n, true
}

// utf16Len is a text's length as Telegram measures it: UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

func runeUnits(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// splitText cuts text into pieces of at most max UTF-16 code units, at a
// line break or a space when one is in the second half of the piece, never
// inside a character. Blank pieces (Telegram refuses them) are dropped.
func splitText(text string, max int) []string {
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	for utf16Len(text) > max {
		cut, n := len(text), 0
		for i, r := range text {
			if n+runeUnits(r) > max {
				cut = i
				break
			}
			n += runeUnits(r)
		}
		piece := text[:cut]
		if i := strings.LastIndexByte(piece, '\n'); i > cut/2 {
			piece = text[:i+1]
		} else if i := strings.LastIndexByte(piece, ' '); i > cut/2 {
			piece = text[:i+1]
		}
		add(strings.TrimRight(piece, " \n"))
		text = text[len(piece):]
	}
	add(text)
	return out
}

// upload sends a file as a multipart request: the parameters as form
// fields, then the file, streamed from its signed URL (never held in memory
// whole), with a Content-Length when the file's size is known.
func (a *Adapter) upload(ctx context.Context, poc *channel.PointOfContact, c apiCall) (json.RawMessage, *channel.SendError) {
	if poc.Credential(CredentialBotToken) == "" {
		return nil, &channel.SendError{Code: "configuration", Reason: "the point of contact has no bot_token"}
	}
	att := c.upload
	body, size, serr := a.download(ctx, att)
	if serr != nil {
		return nil, serr
	}
	defer body.Close()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := writeFields(mw, c); err != nil {
		return nil, &channel.SendError{Code: CodeInvalid, Reason: "encoding the " + c.method + " request: " + err.Error()}
	}
	// What multipart.Writer.Close would write after the file.
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	length := int64(head.Len()) + size + int64(len(tail))
	file := &cappedReader{r: body, left: MaxUpload}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, methodURL(poc, c.method), io.MultiReader(&head, file, strings.NewReader(tail)))
	if err != nil {
		return nil, &channel.SendError{Code: "configuration", Reason: "invalid Bot API URL (settings." + SettingAPIBaseURL + ")"}
	}
	if size >= 0 {
		req.ContentLength = length
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	out, serr := a.do(req)
	switch {
	case errors.Is(file.err, errTooLarge):
		return nil, &channel.SendError{Code: CodeInvalid, Reason: tooLarge(att.Name)}
	case file.err != nil && serr != nil:
		return nil, &channel.SendError{Retryable: true, Reason: fmt.Sprintf("reading attachment %q to upload it: %s", clip(att.Name, 80), transportError(file.err))}
	}
	return out, serr
}

var errTooLarge = errors.New("larger than a Telegram bot may send")

func tooLarge(name string) string {
	return fmt.Sprintf("attachment %q is larger than 50 MB, the most a Telegram bot may send", clip(name, 80))
}

// cappedReader reads a file to upload, failing past the Bot API's limit,
// and keeps the error that stopped it (the HTTP client only reports its
// own).
type cappedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	switch {
	case c.left < 0:
		c.err = errTooLarge
		return 0, c.err
	case err != nil && !errors.Is(err, io.EOF):
		c.err = err
	}
	return n, err
}

// writeFields writes every parameter as a form field (objects as JSON
// text, as the Bot API reads them), then the file part's header.
func writeFields(mw *multipart.Writer, c apiCall) error {
	keys := make([]string, 0, len(c.params))
	for k := range c.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var v string
		switch x := c.params[k].(type) {
		case string:
			v = x
		case json.Number:
			v = x.String()
		default:
			b, err := json.Marshal(x)
			if err != nil {
				return err
			}
			v = string(b)
		}
		if err := mw.WriteField(k, v); err != nil {
			return err
		}
	}
	h := textproto.MIMEHeader{}
	name := c.upload.Name
	if strings.TrimSpace(name) == "" {
		name = "file"
	}
	h.Set("Content-Disposition", multipart.FileContentDisposition(c.uploadField, name))
	mt := baseMIME(c.upload.MimeType)
	if mt == "" {
		mt = "application/octet-stream"
	}
	h.Set("Content-Type", mt)
	_, err := mw.CreatePart(h)
	return err
}

// download opens an outbound attachment's signed URL. A missing file is
// permanent; anything else (an expired link is signed again on the retry,
// a network failure) is retryable.
func (a *Adapter) download(ctx context.Context, att *channel.OutboundAttachment) (io.ReadCloser, int64, *channel.SendError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
	if err != nil {
		return nil, 0, &channel.SendError{Code: CodeInvalid, Reason: fmt.Sprintf("attachment %q has an invalid URL", clip(att.Name, 80))}
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, 0, &channel.SendError{Retryable: true, Reason: fmt.Sprintf("fetching attachment %q to upload it: %s", clip(att.Name, 80), transportError(err))}
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		se := &channel.SendError{Retryable: true, Code: strconv.Itoa(resp.StatusCode),
			Reason: fmt.Sprintf("fetching attachment %q to upload it: HTTP %d", clip(att.Name, 80), resp.StatusCode)}
		if resp.StatusCode == http.StatusNotFound {
			se.Retryable, se.Reason = false, se.Reason+" (the file is gone)"
		}
		return nil, 0, se
	}
	if resp.ContentLength > MaxUpload {
		resp.Body.Close()
		return nil, 0, &channel.SendError{Code: CodeInvalid, Reason: tooLarge(att.Name)}
	}
	return resp.Body, resp.ContentLength, nil
}
