package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// MaxUploadBytes bounds one outbound file (Slack takes up to 1 GB; Parley's
// own attachments are far smaller).
const MaxUploadBytes = 100 << 20

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Type   string          `json:"type"`
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// Target is where a thread lives on Slack: a conversation and, for a
// thread in a channel, the ts of its first message.
type Target struct {
	Channel  string
	ThreadTS string
}

// ParseThreadID reads a thread id as Parse makes them: "D…" for a DM,
// "C…:1355517523.000005" for a thread in a channel.
func ParseThreadID(id string) (Target, bool) {
	ch, root, threaded := strings.Cut(id, ":")
	if !channelIDPattern.MatchString(ch) || (threaded && !tsPattern.MatchString(root)) {
		return Target{}, false
	}
	return Target{Channel: ch, ThreadTS: root}, true
}

// Send posts one outbound message in its thread: chat.postMessage with the
// rendered Block Kit payload (or the text), then the attachments, uploaded
// in three steps each (files.getUploadURLExternal, POST the bytes, and one
// files.completeUploadExternal sharing them all in the conversation and
// thread). The platform id is channel:ts of the posted message, or
// channel:file:<id> for a message of files only (Slack shares uploaded
// files asynchronously and names no message ts).
//
// A message whose files fail after its text went out is retried whole by
// the outbox, text included: Slack has no idempotency key to prevent it.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template != nil {
		return channel.SendResult{}, &channel.SendError{Code: "unsupported", Reason: "message templates are a WhatsApp feature; Slack has none"}
	}
	target, ok := ParseThreadID(msg.ThreadExternalID)
	if !ok {
		return channel.SendResult{}, &channel.SendError{Code: "no_thread",
			Reason: fmt.Sprintf("the thread id %q is not a Slack conversation (a DM channel, or channel:thread_ts)", clip(msg.ThreadExternalID, 80))}
	}
	body, err := postBody(msg)
	if err != nil {
		return channel.SendResult{}, err
	}
	for _, att := range msg.Attachments {
		if !isHTTPURL(att.URL) {
			return channel.SendResult{}, &channel.SendError{Code: "bad_attachment", Reason: "attachment " + att.Name + " has no URL to read it from"}
		}
	}
	if body == nil && len(msg.Attachments) == 0 {
		return channel.SendResult{}, &channel.SendError{Code: "empty", Reason: "nothing to send: no text, content or attachment"}
	}
	var id string
	if body != nil {
		body["channel"] = jsonString(target.Channel)
		delete(body, "thread_ts")
		if target.ThreadTS != "" {
			body["thread_ts"] = jsonString(target.ThreadTS)
		}
		res, err := a.callJSON(ctx, poc, "chat.postMessage", body)
		if err != nil {
			return channel.SendResult{}, err
		}
		if !tsPattern.MatchString(res.TS) {
			return channel.SendResult{}, &channel.SendError{Code: "bad_response", Reason: "Slack accepted the message but named no ts"}
		}
		id = firstNonEmpty(res.Channel, target.Channel) + ":" + res.TS
	}
	if len(msg.Attachments) > 0 {
		files, err := a.upload(ctx, poc, target, msg.Attachments)
		if err != nil {
			return channel.SendResult{}, err
		}
		if id == "" {
			id = target.Channel + ":file:" + files[0]
		}
	}
	return channel.SendResult{PlatformMessageID: id}, nil
}

// postBody is the chat.postMessage body without channel and thread: the
// rendered native payload as it is (RenderNative's blocks, or an author's
// Slack override), else the text escaped for Slack. Nil when there is no
// text (a message of files only).
func postBody(msg *channel.OutboundMessage) (map[string]json.RawMessage, error) {
	var rd rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &rd); err != nil {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered message is not valid JSON: " + err.Error()}
		}
	}
	if len(rd.Native) > 0 && string(rd.Native) != "null" {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(rd.Native, &body); err != nil || body == nil {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered Slack payload is not a JSON object"}
		}
		if len(body["text"]) == 0 && len(body["blocks"]) == 0 {
			return nil, &channel.SendError{Code: "bad_content", Reason: "the rendered Slack payload has neither text nor blocks"}
		}
		return body, nil
	}
	text := msg.Text
	if rd.Text != "" && (rd.Type != "attachment" || len(msg.Attachments) == 0) {
		text = rd.Text
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	return map[string]json.RawMessage{"text": jsonString(escape(text))}, nil
}

func jsonString(s string) json.RawMessage {
	b, _ := marshal(s)
	return b
}

// upload sends the files and shares them in the thread; it returns their
// Slack file ids.
func (a *Adapter) upload(ctx context.Context, poc *channel.PointOfContact, target Target, atts []channel.OutboundAttachment) ([]string, error) {
	type completed struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	var files []completed
	var ids []string
	for _, att := range atts {
		data, err := a.readAttachment(ctx, att)
		if err != nil {
			return nil, err
		}
		name := attachmentName(att)
		res, err := a.callForm(ctx, poc, "files.getUploadURLExternal", url.Values{"filename": {name}, "length": {strconv.Itoa(len(data))}})
		if err != nil {
			return nil, err
		}
		if !isHTTPURL(res.UploadURL) || !fileIDPattern.MatchString(res.FileID) {
			return nil, &channel.SendError{Code: "bad_response", Reason: "files.getUploadURLExternal named no upload URL or file id"}
		}
		if err := a.putFile(ctx, res.UploadURL, att.MimeType, data); err != nil {
			return nil, err
		}
		files = append(files, completed{ID: res.FileID, Title: name})
		ids = append(ids, res.FileID)
	}
	req := map[string]any{"files": files, "channel_id": target.Channel}
	if target.ThreadTS != "" {
		req["thread_ts"] = target.ThreadTS
	}
	if _, err := a.callJSON(ctx, poc, "files.completeUploadExternal", req); err != nil {
		return nil, err
	}
	return ids, nil
}

func attachmentName(att channel.OutboundAttachment) string {
	name := strings.TrimSpace(att.Name)
	if name == "" {
		name = "file"
		if exts, _ := mime.ExtensionsByType(att.MimeType); len(exts) > 0 {
			name += exts[0]
		}
	}
	return clip(name, 255)
}

// readAttachment reads a stored file from its signed URL. A file that is
// gone (404, 410) is a permanent failure; anything else may pass on retry
// (the outbox signs a fresh URL for every attempt).
func (a *Adapter) readAttachment(ctx context.Context, att channel.OutboundAttachment) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
	if err != nil {
		return nil, &channel.SendError{Code: "bad_attachment", Reason: "attachment " + att.Name + ": " + err.Error()}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Code: "attachment_unreachable", Reason: "reading attachment " + att.Name + ": " + err.Error()}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, &channel.SendError{Code: "bad_attachment", Reason: fmt.Sprintf("attachment %s is gone (HTTP %d)", att.Name, resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return nil, &channel.SendError{Retryable: true, Code: "attachment_unreachable", Reason: fmt.Sprintf("reading attachment %s: HTTP %d", att.Name, resp.StatusCode)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxUploadBytes+1))
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Code: "attachment_unreachable", Reason: "reading attachment " + att.Name + ": " + err.Error()}
	}
	if len(data) > MaxUploadBytes {
		return nil, &channel.SendError{Code: "bad_attachment", Reason: fmt.Sprintf("attachment %s is over %d MB", att.Name, MaxUploadBytes>>20)}
	}
	if len(data) == 0 {
		return nil, &channel.SendError{Code: "bad_attachment", Reason: "attachment " + att.Name + " is empty"}
	}
	return data, nil
}

// putFile POSTs the raw bytes to the upload URL Slack handed out. The URL
// itself authorises the upload: the bot token is not sent with it.
func (a *Adapter) putFile(ctx context.Context, uploadURL, mimeType string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, bytes.NewReader(data))
	if err != nil {
		return &channel.SendError{Code: "bad_response", Reason: "Slack's upload URL is invalid: " + err.Error()}
	}
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	req.Header.Set("Content-Type", mimeType)
	resp, err := a.client.Do(req)
	if err != nil {
		return &channel.SendError{Retryable: true, Code: "network", Reason: "uploading to Slack: " + err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return &channel.SendError{Retryable: true, RetryAfter: channel.RetryAfter(resp.Header.Get("Retry-After"), a.now()), Code: "ratelimited", Reason: "Slack is rate limiting file uploads; it will be retried"}
	case resp.StatusCode >= 500:
		return &channel.SendError{Retryable: true, Code: "http_" + strconv.Itoa(resp.StatusCode), Reason: fmt.Sprintf("Slack's file upload answered HTTP %d", resp.StatusCode)}
	}
	return &channel.SendError{Code: "upload_failed", Reason: fmt.Sprintf("Slack refused the file upload (HTTP %d): %s", resp.StatusCode, snippet(raw))}
}

// FetchMedia downloads an inbound file Parse could only name by id (a
// Slack Connect file shared as "check_file_info", or one whose download
// URL is not on Slack's hosts): files.info gives its url_private_download,
// fetched with the bot token. Slack answers a download without a valid
// token (or without files:read) with its sign-in page, so an HTML answer
// for a file that is not HTML is an error, not a file.
func (a *Adapter) FetchMedia(ctx context.Context, poc *channel.PointOfContact, ref string) (io.ReadCloser, string, error) {
	if !fileIDPattern.MatchString(ref) {
		return nil, "", fmt.Errorf("slack: invalid file id %q", clip(ref, 80))
	}
	res, err := a.call(ctx, poc, http.MethodGet, "files.info?file="+url.QueryEscape(ref), "", nil)
	if err != nil {
		return nil, "", fmt.Errorf("slack: files.info %s: %v", ref, err)
	}
	if res.File == nil || res.File.IsExternal || !trustedFileHost(res.File.URLPrivateDownload, poc) {
		return nil, "", fmt.Errorf("slack: file %s has no download URL on Slack", ref)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, res.File.URLPrivateDownload, nil)
	if err != nil {
		return nil, "", fmt.Errorf("slack: file %s: %v", ref, err)
	}
	req.Header.Set("Authorization", "Bearer "+poc.Credential(CredentialBotToken))
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("slack: file %s download: %s", ref, redact(err.Error(), poc.Credential(CredentialBotToken)))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, "", fmt.Errorf("slack: file %s download: HTTP %d", ref, resp.StatusCode)
	}
	got, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	want, _, _ := mime.ParseMediaType(res.File.Mimetype)
	if got == "text/html" && want != "text/html" {
		resp.Body.Close()
		return nil, "", fmt.Errorf("slack: file %s download answered a sign-in page: the bot token needs the files:read scope", ref)
	}
	return resp.Body, firstNonEmpty(want, got), nil
}
