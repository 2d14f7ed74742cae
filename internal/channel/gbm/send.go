package gbm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// partSuffix names the later messages of a send split in several
// ("<id>.part2"); their receipts count for the first.
const partSuffix = ".part"

// maxResponse bounds what is read of an API answer.
const maxResponse = 1 << 20

// Send delivers one outbound message. The first Business Messages message
// carries Parley's message id as its messageId (receipts name it, and a
// retried send is recognised by the platform: 409 ALREADY_EXISTS counts as
// sent); it is the returned platform id. The representative is HUMAN for an
// agent's message, BOT otherwise. The body is, in order:
//   - the rendered native payload (suggestions, rich card, carousel, image)
//     with messageId and representative added, or the text as text
//     messages of at most 3072 characters;
//   - the one attachment: an image (JPEG, PNG, GIF, WebP) with a short text
//     becomes a rich card (the text as description, the image as media);
//     else an image message of its own; any other file is a "name: URL"
//     line of the text, since Business Messages carries no files.
//
// After 30 days since the customer's last message nothing is sent. A 404
// (the conversation no longer exists) marks the recipient unreachable.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	conv := msg.ThreadExternalID
	if conv == "" {
		conv = msg.RecipientID
	}
	if !conversationID.MatchString(conv) {
		return channel.SendResult{}, &channel.SendError{Reason: "no conversation: a Business Messages conversation id is required"}
	}
	if !msg.LastInboundAt.IsZero() && a.now().After(msg.LastInboundAt.Add(ReplyWindow)) {
		return channel.SendResult{}, &channel.SendError{Code: "window_closed", Reason: "more than 30 days since the customer's last message: Business Messages no longer takes replies in this conversation"}
	}
	if msg.ID == "" || len(msg.ID) > MaxIDLength-len(partSuffix)-2 {
		return channel.SendResult{}, &channel.SendError{Reason: "the message has no id usable as a messageId"}
	}
	bodies, err := buildMessages(msg)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Reason: err.Error()}
	}
	endpoint := baseURL(poc) + "/v1/conversations/" + url.PathEscape(conv) + "/messages"
	token := poc.Credential(CredentialAccessToken)
	for i, b := range bodies {
		_, err := a.do(ctx, endpoint, token, b)
		var se *channel.SendError
		if errors.As(err, &se) && se.Code == "409" {
			err = nil // already created by an earlier attempt of this send
		}
		if err == nil {
			continue
		}
		if i == 0 {
			return channel.SendResult{}, err
		}
		out := &channel.SendError{Reason: err.Error()}
		if se != nil {
			out.Code, out.Reason, out.Unreachable = se.Code, se.Reason, se.Unreachable
		}
		out.Reason = fmt.Sprintf("part %d of %d failed (the first %d went out): %s", i+1, len(bodies), i, out.Reason)
		return channel.SendResult{}, out
	}
	return channel.SendResult{PlatformMessageID: msg.ID}, nil
}

// buildMessages makes the message bodies of a send, in order.
func buildMessages(msg *channel.OutboundMessage) ([]map[string]any, error) {
	if len(msg.Attachments) > 1 {
		return nil, fmt.Errorf("a Business Messages message carries at most 1 attachment, this one has %d", len(msg.Attachments))
	}
	var r rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &r); err != nil {
			return nil, fmt.Errorf("rendered content is not valid: %v", err)
		}
	}
	var bodies []map[string]any
	text := r.Text
	if strings.TrimSpace(text) == "" {
		text = msg.Text
	}
	native := len(r.Native) > 0 && string(r.Native) != "null"
	if native {
		var nat map[string]any
		if err := json.Unmarshal(r.Native, &nat); err != nil || nat == nil {
			return nil, errors.New("the rendered native payload is not a JSON object")
		}
		bodies = append(bodies, nat)
	}
	var image *channel.OutboundAttachment
	for i, att := range msg.Attachments {
		u, err := url.Parse(att.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("attachment %q has no absolute URL the platform can fetch", att.Name)
		}
		if imageTypes[baseMIME(att.MimeType)] {
			image = &msg.Attachments[i]
			continue
		}
		if native {
			bodies = append(bodies, map[string]any{"text": linkLine(att)})
		} else {
			text = strings.TrimSpace(text + "\n" + linkLine(att))
		}
	}
	if !native {
		switch {
		case image != nil && strings.TrimSpace(text) != "" && utf8.RuneCountInString(text) <= MaxCardDescription:
			// One message: the image with the text under it.
			bodies = append(bodies, map[string]any{
				"richCard": map[string]any{"standaloneCard": map[string]any{"cardContent": map[string]any{
					"description": text, "media": map[string]any{"height": "MEDIUM", "contentInfo": map[string]any{"fileUrl": image.URL, "forceRefresh": false}}}}},
				"fallback": clip(text+"\n"+linkLine(*image), MaxTextLength)})
			image = nil
		case strings.TrimSpace(text) != "":
			for _, part := range split(text, MaxTextLength) {
				bodies = append(bodies, map[string]any{"text": part})
			}
		}
	}
	if image != nil {
		fallback := linkLine(*image)
		bodies = append(bodies, map[string]any{"image": map[string]any{"contentInfo": map[string]any{"fileUrl": image.URL, "forceRefresh": false}},
			"fallback": clip(fallback, MaxTextLength)})
	}
	if len(bodies) == 0 {
		return nil, errors.New("nothing to send: no text, content or attachment")
	}
	rep := map[string]any{"representativeType": "BOT"}
	if msg.AuthorType == "agent" {
		rep["representativeType"] = "HUMAN"
		if name := strings.TrimSpace(msg.AuthorName); name != "" {
			rep["displayName"] = clip(name, 100)
		}
	}
	for i, b := range bodies {
		b["messageId"] = msg.ID
		if i > 0 {
			b["messageId"] = msg.ID + partSuffix + strconv.Itoa(i+1)
		}
		b["representative"] = rep
	}
	return bodies, nil
}

// imageTypes are the images Business Messages shows.
var imageTypes = map[string]bool{"image/jpeg": true, "image/jpg": true, "image/png": true, "image/gif": true, "image/webp": true}

func linkLine(att channel.OutboundAttachment) string {
	if name := strings.TrimSpace(att.Name); name != "" {
		return name + ": " + att.URL
	}
	return att.URL
}

// do posts one message and classifies failures.
func (a *Adapter) do(ctx context.Context, endpoint, token string, payload any) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, &channel.SendError{Reason: "encoding the message: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &channel.SendError{Reason: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "Business Messages API: " + err.Error()}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "Business Messages API: reading the answer: " + err.Error()}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, a.classify(resp, out)
	}
	return out, nil
}

// googleError is the Google APIs error shape.
type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// classify: 429 and 5xx are retryable (with Retry-After when given), 404
// means the conversation is gone (permanent, recipient unreachable), every
// other 4xx is permanent with Google's status and message.
func (a *Adapter) classify(resp *http.Response, body []byte) *channel.SendError {
	var e googleError
	_ = json.Unmarshal(body, &e)
	reason := strings.TrimSpace(e.Error.Message)
	if e.Error.Status != "" {
		reason = strings.TrimSuffix(e.Error.Status+": "+reason, ": ")
	}
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	se := &channel.SendError{Code: strconv.Itoa(resp.StatusCode), Reason: clip(reason, 1000)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		se.Retryable = true
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
	case resp.StatusCode == http.StatusNotFound:
		se.Unreachable = true
	}
	return se
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
