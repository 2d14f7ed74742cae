package xdm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// dmRequest is the body of POST /2/dm_conversations/with/{id}/messages.
type dmRequest struct {
	Text        string         `json:"text,omitempty"`
	Attachments []dmAttachment `json:"attachments,omitempty"`
}

type dmAttachment struct {
	MediaID string `json:"media_id"`
}

// dmResponse is its answer.
type dmResponse struct {
	Data struct {
		DMConversationID string `json:"dm_conversation_id"`
		DMEventID        string `json:"dm_event_id"`
	} `json:"data"`
}

// uploadRequest is the JSON body of the one-shot POST /2/media/upload.
type uploadRequest struct {
	Media         string `json:"media"` // base64
	MediaCategory string `json:"media_category"`
	MediaType     string `json:"media_type"`
}

type uploadResponse struct {
	Data struct {
		ID       string `json:"id"`
		MediaKey string `json:"media_key"`
	} `json:"data"`
}

// maxResponse bounds what is read of an API answer.
const maxResponse = 1 << 20

// Send delivers one outbound message as one DM, or several when the text is
// longer than 10,000 characters. Its one attachment goes with the first DM:
// an image (JPEG, PNG, WebP, BMP, TIFF up to 5 MB) is downloaded from its
// signed URL and uploaded to X first (media_category dm_image); any other
// file (video, GIF, document), which X's one-shot upload does not take, is
// sent as a "name: URL" line of the text. An author's override for x_dm
// (Rendered.native) is sent verbatim as the request body, its attachment in
// a DM of its own after it.
//
// The result is the X id of the first DM (dm_event_id). If a later part
// fails, nothing is retried (that would send the first parts twice): the
// send fails permanently and the reason says which parts went out.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	to := msg.RecipientID
	if to == "" {
		to = msg.ThreadExternalID
	}
	if !userID.MatchString(to) {
		return channel.SendResult{}, &channel.SendError{Reason: "no recipient: an X user id (digits) is required"}
	}
	if to == poc.SettingString(SettingUserID) {
		return channel.SendResult{}, &channel.SendError{Reason: "the recipient is the business account itself"}
	}
	if len(msg.Attachments) > a.MaxAttachments() {
		return channel.SendResult{}, &channel.SendError{Reason: fmt.Sprintf("an X DM carries at most %d attachment, this message has %d", a.MaxAttachments(), len(msg.Attachments))}
	}
	var r rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &r); err != nil {
			return channel.SendResult{}, &channel.SendError{Reason: "rendered content is not valid: " + err.Error()}
		}
	}
	token := poc.Credential(CredentialAccessToken)
	endpoint := baseURL(poc) + "/2/dm_conversations/with/" + url.PathEscape(to) + "/messages"
	var bodies []any
	override := len(r.Native) > 0 && string(r.Native) != "null"
	text := ""
	if override {
		if t := bytes.TrimSpace(r.Native); len(t) == 0 || t[0] != '{' {
			return channel.SendResult{}, &channel.SendError{Reason: "the rendered native payload is not a JSON object"}
		}
		bodies = append(bodies, r.Native)
	} else {
		text = r.Text
		if strings.TrimSpace(text) == "" {
			text = msg.Text
		}
	}
	var media []dmAttachment
	for _, att := range msg.Attachments {
		if !uploadable(att) {
			text = strings.TrimSpace(text + "\n" + linkLine(att))
			continue
		}
		id, err := a.upload(ctx, poc, token, att)
		if err != nil {
			return channel.SendResult{}, err
		}
		media = append(media, dmAttachment{MediaID: id})
	}
	// The text (or, after an override, the attachment) as DMs; the media
	// rides on the first of them.
	parts := []string{}
	if strings.TrimSpace(text) != "" {
		parts = split(text, MaxTextLength)
	}
	if len(parts) == 0 && len(media) > 0 {
		parts = []string{""}
	}
	for i, p := range parts {
		b := dmRequest{Text: p}
		if i == 0 {
			b.Attachments = media
		}
		bodies = append(bodies, b)
	}
	if len(bodies) == 0 {
		return channel.SendResult{}, &channel.SendError{Reason: "nothing to send: no text, content or attachment"}
	}
	var first string
	for i, b := range bodies {
		out, err := a.do(ctx, http.MethodPost, endpoint, token, b)
		if err != nil {
			if i == 0 {
				return channel.SendResult{}, err
			}
			se := &channel.SendError{}
			var pe *channel.SendError
			if errors.As(err, &pe) {
				se.Code, se.Reason, se.Unreachable = pe.Code, pe.Reason, pe.Unreachable
			} else {
				se.Reason = err.Error()
			}
			se.Reason = fmt.Sprintf("part %d of %d failed (the first %d went out, first id %s): %s", i+1, len(bodies), i, first, se.Reason)
			return channel.SendResult{}, se
		}
		if i == 0 {
			var resp dmResponse
			if err := json.Unmarshal(out, &resp); err != nil || resp.Data.DMEventID == "" {
				return channel.SendResult{}, &channel.SendError{Reason: "X accepted the DM but answered no dm_event_id"}
			}
			first = clip(resp.Data.DMEventID, MaxIDLength)
		}
	}
	return channel.SendResult{PlatformMessageID: first}, nil
}

// uploadTypes are the image types X's one-shot upload takes.
var uploadTypes = map[string]bool{"image/jpeg": true, "image/pjpeg": true, "image/png": true, "image/webp": true, "image/bmp": true, "image/tiff": true}

func uploadable(att channel.OutboundAttachment) bool {
	return uploadTypes[baseMIME(att.MimeType)] && att.Size <= MaxImageBytes
}

func linkLine(att channel.OutboundAttachment) string {
	if name := strings.TrimSpace(att.Name); name != "" {
		return name + ": " + att.URL
	}
	return att.URL
}

// upload downloads an image from its signed URL and uploads it to X,
// returning the media id to attach.
func (a *Adapter) upload(ctx context.Context, poc *channel.PointOfContact, token string, att channel.OutboundAttachment) (string, error) {
	u, err := url.Parse(att.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", &channel.SendError{Reason: fmt.Sprintf("attachment %q has no absolute http(s) URL", att.Name)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
	if err != nil {
		return "", &channel.SendError{Reason: "attachment " + att.Name + ": " + err.Error()}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return "", &channel.SendError{Retryable: true, Reason: "fetching attachment " + att.Name + ": " + err.Error()}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxImageBytes+1))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &channel.SendError{Retryable: resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests,
			Code: strconv.Itoa(resp.StatusCode), Reason: "fetching attachment " + att.Name + ": HTTP " + resp.Status}
	}
	if err != nil {
		return "", &channel.SendError{Retryable: true, Reason: "fetching attachment " + att.Name + ": " + err.Error()}
	}
	if len(data) > MaxImageBytes {
		return "", &channel.SendError{Reason: fmt.Sprintf("attachment %s is larger than X's %d MB for a DM image", att.Name, MaxImageBytes>>20)}
	}
	out, err := a.do(ctx, http.MethodPost, baseURL(poc)+"/2/media/upload", token, uploadRequest{
		Media: base64.StdEncoding.EncodeToString(data), MediaCategory: "dm_image", MediaType: baseMIME(att.MimeType)})
	if err != nil {
		var se *channel.SendError
		if errors.As(err, &se) {
			se.Reason = "uploading " + att.Name + ": " + se.Reason
		}
		return "", err
	}
	var up uploadResponse
	if err := json.Unmarshal(out, &up); err != nil || up.Data.ID == "" || len(up.Data.ID) > MaxIDLength {
		return "", &channel.SendError{Reason: "X accepted the upload of " + att.Name + " but answered no media id"}
	}
	return up.Data.ID, nil
}

// do sends one JSON request with the Bearer token and classifies failures.
func (a *Adapter) do(ctx context.Context, method, endpoint, token string, payload any) ([]byte, error) {
	var body []byte
	switch p := payload.(type) {
	case json.RawMessage:
		body = p
	default:
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, &channel.SendError{Reason: "encoding the request: " + err.Error()}
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &channel.SendError{Reason: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "X API: " + err.Error()}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "X API: reading the answer: " + err.Error()}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, classify(resp, out, a.now())
	}
	return out, nil
}

// apiError is X API v2's problem shape.
type apiError struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Errors []struct {
		Message string `json:"message"`
		Title   string `json:"title"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

// classify turns an X API error answer into a SendError: 429 is retryable
// after x-rate-limit-reset (epoch seconds; else Retry-After), 5xx are
// retryable, a 403 saying the user cannot be messaged is permanent and
// marks the recipient unreachable, and every other 4xx is permanent with
// X's title and detail.
func classify(resp *http.Response, body []byte, now time.Time) *channel.SendError {
	var e apiError
	_ = json.Unmarshal(body, &e)
	parts := []string{}
	for _, s := range []string{e.Title, e.Detail} {
		if s = strings.TrimSpace(s); s != "" && !containsFold(parts, s) {
			parts = append(parts, s)
		}
	}
	for _, x := range e.Errors {
		for _, s := range []string{x.Message, x.Detail} {
			if s = strings.TrimSpace(s); s != "" && !containsFold(parts, s) {
				parts = append(parts, s)
			}
		}
	}
	reason := strings.Join(parts, ": ")
	if reason == "" {
		reason = strings.TrimSpace(string(body))
		if len(reason) > 300 || !utf8.ValidString(reason) {
			reason = ""
		}
		if reason == "" {
			reason = http.StatusText(resp.StatusCode)
		}
	}
	se := &channel.SendError{Code: strconv.Itoa(resp.StatusCode), Reason: clip(reason, 1000)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		se.Retryable = true
		se.RetryAfter = rateLimitReset(resp.Header, now)
	case resp.StatusCode >= 500:
		se.Retryable = true
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), now)
	case resp.StatusCode == http.StatusForbidden && cannotMessage(reason):
		se.Unreachable = true
	}
	return se
}

// rateLimitReset reads x-rate-limit-reset (the epoch second the window
// resets), else Retry-After, capped at a day.
func rateLimitReset(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("X-Rate-Limit-Reset")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
			d := time.Unix(secs, 0).Sub(now)
			if d < 0 {
				return 0
			}
			return min(d, 24*time.Hour)
		}
	}
	return channel.RetryAfter(h.Get("Retry-After"), now)
}

// cannotMessage recognises X's refusal to deliver to this recipient at all
// (the user blocked the business or no longer takes its DMs), as opposed
// to a 403 about the app's own permissions.
func cannotMessage(reason string) bool {
	r := strings.ToLower(reason)
	for _, s := range []string{"cannot send messages to this user", "not permitted to send messages to this user"} {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// baseMIME is a media type without parameters, lower-cased.
func baseMIME(mt string) string {
	if t, _, err := mime.ParseMediaType(mt); err == nil {
		return t
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// split cuts text into pieces of at most n runes, at a line break or a
// space when one is near the end of the piece.
func split(text string, n int) []string {
	var out []string
	for utf8.RuneCountInString(text) > n {
		cut, count := len(text), 0
		for i := range text {
			if count == n {
				cut = i
				break
			}
			count++
		}
		piece := text[:cut]
		if i := strings.LastIndexAny(piece, "\n "); i > cut/2 {
			piece = text[:i+1]
		}
		out = append(out, strings.TrimRight(piece, " \n"))
		text = text[len(piece):]
	}
	if strings.TrimSpace(text) != "" || len(out) == 0 {
		out = append(out, text)
	}
	return out
}
