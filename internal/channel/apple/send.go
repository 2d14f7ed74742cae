package apple

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/parleyhq/parley/internal/channel"
)

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Type   string          `json:"type"`
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// part is one MSP message of an outbound message.
type part struct {
	body        map[string]any
	attachments bool // carries the uploaded attachments
}

// Send delivers one outbound message as one or two MSP messages, in order:
//   - the content engine's native payload (Rendered.native, with v, id,
//     sourceId and destinationId added), unless the customer's device
//     announced a capability list without the capability that interactive
//     message needs (LIST, TIME, QUICK, FORM): then its plain text
//     (Rendered.text) goes instead; an override (Content.Overrides, e.g. a
//     custom app extension with its own bid) is sent as it is;
//   - else a text message (Rendered.text, else Text);
//   - the attachments, encrypted and uploaded first, ride on the text
//     message (one U+FFFC per file in the body), or on a message of their
//     own after a native one.
//
// The platform id is the id of the first message: the outbound message's
// id when it is a UUID (Parley's are), else a UUID derived from it, so a
// retry sends the same id. A failure after the first message went out is
// permanent (retrying would send it twice) and says what went out.
//
// A business cannot start a conversation: without a customer message on
// the thread (LastInboundAt zero) the send is refused before the gateway
// is called.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template != nil {
		return channel.SendResult{}, &channel.SendError{Reason: "Apple Messages for Business has no message templates"}
	}
	if msg.LastInboundAt.IsZero() {
		return channel.SendResult{}, &channel.SendError{Reason: "Apple Messages for Business does not let a business start a conversation: the customer must write first"}
	}
	to := strings.TrimSpace(msg.RecipientID)
	if to == "" {
		to = strings.TrimSpace(msg.ThreadExternalID)
	}
	if to == "" {
		return channel.SendResult{}, &channel.SendError{Reason: "no recipient (the customer's opaque id)"}
	}
	if len(msg.Attachments) > MaxAttachments {
		return channel.SendResult{}, &channel.SendError{Reason: fmt.Sprintf("%d attachments; a message carries at most %d", len(msg.Attachments), MaxAttachments)}
	}
	caps, known := a.capabilities.get(cacheKey(poc.ID, to))
	parts, err := a.parts(poc, msg, caps, known)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Reason: err.Error()}
	}
	var files []uploaded
	for _, att := range msg.Attachments {
		up, err := a.upload(ctx, poc, att)
		if err != nil {
			return channel.SendResult{}, err
		}
		files = append(files, up)
	}
	first := messageUUID(msg.ID)
	auto := msg.AuthorType == "bot" || msg.AuthorType == "system"
	for i, p := range parts {
		id := first
		if i > 0 {
			id = uuid.NewSHA1(uuid.MustParse(first), []byte("part-"+strconv.Itoa(i+1))).String()
		}
		if p.attachments {
			p.body["attachments"] = files
		}
		if err := a.post(ctx, poc, to, id, p.body, auto); err != nil {
			if i == 0 {
				return channel.SendResult{}, err
			}
			se := &channel.SendError{Reason: err.Error()}
			var pe *channel.SendError
			if errors.As(err, &pe) {
				se.Code, se.Reason, se.Unreachable = pe.Code, pe.Reason, pe.Unreachable
			}
			se.Reason = fmt.Sprintf("part %d of %d failed (the first %d went out, first id %s): %s", i+1, len(parts), i, first, se.Reason)
			return channel.SendResult{}, se
		}
	}
	return channel.SendResult{PlatformMessageID: first}, nil
}

// parts builds the MSP bodies of msg (without id, sourceId, destinationId
// and the uploaded attachments).
func (a *Adapter) parts(poc *channel.PointOfContact, msg *channel.OutboundMessage, caps []string, capsKnown bool) ([]part, error) {
	var r rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &r); err != nil {
			return nil, fmt.Errorf("rendered content is not valid: %v", err)
		}
	}
	var parts []part
	if len(r.Native) > 0 && string(r.Native) != "null" {
		body, err := nativeBody(r)
		if err != nil {
			return nil, err
		}
		need := ""
		if r.Type != "override" {
			need = requiredCapability(body)
		}
		if need == "" || !capsKnown || contains(caps, need) {
			a.rememberQuickReplies(poc, body)
			parts = append(parts, part{body: body})
		}
	}
	fileMarks := strings.Repeat(objectReplacement, len(msg.Attachments))
	if len(parts) == 0 {
		text := r.Text
		if strings.TrimSpace(text) == "" {
			text = msg.Text
		}
		if strings.TrimSpace(text) == "" && len(msg.Attachments) == 0 {
			return nil, errors.New("nothing to send: no text, content or attachment")
		}
		if strings.TrimSpace(text) != "" && fileMarks != "" {
			text += "\n"
		}
		return []part{{body: map[string]any{"type": TypeText, "body": text + fileMarks}, attachments: len(msg.Attachments) > 0}}, nil
	}
	if fileMarks != "" {
		parts = append(parts, part{body: map[string]any{"type": TypeText, "body": fileMarks}, attachments: true})
	}
	return parts, nil
}

// nativeBody reads the native payload into an MSP body. The content
// engine's payloads are whole bodies; an override may also be just the
// interactiveData of a custom app extension (it has a bid), which is
// wrapped in an interactive message and otherwise left as it is.
func nativeBody(r rendered) (map[string]any, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r.Native, &obj); err != nil || obj == nil {
		return nil, errors.New("the native payload is not a JSON object")
	}
	body := make(map[string]any, len(obj)+4)
	for k, v := range obj {
		body[k] = v
	}
	var kind string
	_ = json.Unmarshal(obj["type"], &kind)
	switch {
	case kind == "" && len(obj["bid"]) > 0:
		body = map[string]any{"type": TypeInteractive, "interactiveData": r.Native}
		kind = TypeInteractive
	case kind == "" && len(obj["interactiveData"]) > 0:
		body["type"], kind = TypeInteractive, TypeInteractive
	case kind == "" && len(obj["richLinkData"]) > 0:
		body["type"], kind = TypeRichLink, TypeRichLink
	}
	switch kind {
	case TypeInteractive:
		var in map[string]json.RawMessage
		if err := json.Unmarshal(asRaw(body["interactiveData"]), &in); err != nil || in == nil {
			return nil, errors.New("an interactive message needs an interactiveData object")
		}
		var bid string
		if err := json.Unmarshal(in["bid"], &bid); err != nil || bid == "" {
			return nil, errors.New("an interactive message needs interactiveData.bid")
		}
	case TypeRichLink:
		var rl map[string]json.RawMessage
		if err := json.Unmarshal(asRaw(body["richLinkData"]), &rl); err != nil || rl == nil {
			return nil, errors.New("a rich link needs a richLinkData object")
		}
	case TypeText:
		var s string
		if err := json.Unmarshal(asRaw(body["body"]), &s); err != nil || strings.TrimSpace(s) == "" {
			return nil, errors.New("a text message needs a body")
		}
	default:
		return nil, fmt.Errorf("the native payload's type %q is not an MSP message type (text, interactive, richLink)", clip(kind, 40))
	}
	if _, ok := body["v"]; !ok {
		body["v"] = 1
	}
	for _, k := range []string{"id", "sourceId", "destinationId"} {
		delete(body, k)
	}
	return body, nil
}

func asRaw(v any) json.RawMessage {
	switch x := v.(type) {
	case json.RawMessage:
		return x
	case nil:
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// builtIn is the part of an interactive body that tells which of Apple's
// own interactive messages it is.
type builtIn struct {
	InteractiveData struct {
		BID  string `json:"bid"`
		Data struct {
			RequestIdentifier string          `json:"requestIdentifier"`
			ListPicker        json.RawMessage `json:"listPicker"`
			Event             json.RawMessage `json:"event"`
			QuickReply        *struct {
				Items []struct {
					Identifier string `json:"identifier"`
					Title      string `json:"title"`
				} `json:"items"`
			} `json:"quick-reply"`
			Dynamic json.RawMessage `json:"dynamic"`
		} `json:"data"`
	} `json:"interactiveData"`
}

func readBuiltIn(body map[string]any) (builtIn, bool) {
	var b builtIn
	raw, err := json.Marshal(body)
	if err != nil || json.Unmarshal(raw, &b) != nil || b.InteractiveData.BID != AppleBID {
		return b, false
	}
	return b, true
}

// requiredCapability is the device capability an interactive body needs.
func requiredCapability(body map[string]any) string {
	b, ok := readBuiltIn(body)
	if !ok {
		return ""
	}
	d := b.InteractiveData.Data
	switch {
	case d.QuickReply != nil:
		return CapabilityQuickReply
	case len(d.ListPicker) > 0:
		return CapabilityListPicker
	case len(d.Event) > 0:
		return CapabilityTimePicker
	case len(d.Dynamic) > 0:
		return CapabilityForm
	}
	return ""
}

// rememberQuickReplies keeps the items of a quick reply by its
// requestIdentifier, for a reply that names only the index chosen.
func (a *Adapter) rememberQuickReplies(poc *channel.PointOfContact, body map[string]any) {
	b, ok := readBuiltIn(body)
	if !ok || b.InteractiveData.Data.QuickReply == nil || b.InteractiveData.Data.RequestIdentifier == "" {
		return
	}
	items := make([]quickItem, 0, len(b.InteractiveData.Data.QuickReply.Items))
	for _, it := range b.InteractiveData.Data.QuickReply.Items {
		items = append(items, quickItem{Identifier: it.Identifier, Title: it.Title})
	}
	a.quickReplies.put(cacheKey(poc.ID, b.InteractiveData.Data.RequestIdentifier), items)
}

// messageUUID is the MSP id of an outbound message: its own id when that is
// a UUID, else a UUID derived from it (stable across retries).
func messageUUID(id string) string {
	if u, err := uuid.Parse(id); err == nil && len(id) == 36 {
		return u.String()
	}
	ns := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/parleyhq/parley/apple_messages/message"))
	return uuid.NewSHA1(ns, []byte(id)).String()
}

// post sends one MSP message to the customer.
func (a *Adapter) post(ctx context.Context, poc *channel.PointOfContact, to, id string, body map[string]any, auto bool) error {
	business := poc.SettingString(SettingBusinessID)
	body["id"], body["sourceId"], body["destinationId"] = id, business, to
	if _, ok := body["v"]; !ok {
		body["v"] = 1
	}
	b, err := json.Marshal(body)
	if err != nil {
		return &channel.SendError{Reason: "encode: " + err.Error()}
	}
	token, err := a.token(poc)
	if err != nil {
		return &channel.SendError{Reason: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL(poc)+"/v1/message", bytes.NewReader(b))
	if err != nil {
		return &channel.SendError{Reason: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Id", id)
	req.Header.Set("Source-Id", business)
	req.Header.Set("Destination-Id", to)
	req.Header.Set("Auto-Reply", strconv.FormatBool(auto))
	_, err = a.call(req)
	return err
}

// call sends a gateway request and returns the answer's body, or a
// *channel.SendError: 429 and 5xx (and network failures) are retryable,
// with the gateway's Retry-After; 410 means the customer can no longer be
// reached (closed the chat or blocked the business); other 4xx are
// permanent with the gateway's reason.
func (a *Adapter) call(req *http.Request) ([]byte, error) {
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: err.Error()}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if rerr != nil {
			return nil, &channel.SendError{Retryable: true, Reason: "reading the answer: " + rerr.Error()}
		}
		return body, nil
	}
	se := &channel.SendError{Code: strconv.Itoa(resp.StatusCode), Reason: errorReason(resp.StatusCode, body)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		se.Retryable = true
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
	case resp.StatusCode == http.StatusGone:
		se.Unreachable = true
		se.Reason = "the customer can no longer be reached (closed the conversation or blocked the business): " + se.Reason
	}
	return nil, se
}

// errorReason is the gateway's explanation of a failure: a message field of
// a JSON answer, else the answer's text, else the status text.
func errorReason(status int, body []byte) string {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) == nil {
		for _, k := range []string{"message", "reason", "error_description", "description", "error"} {
			var s string
			if json.Unmarshal(doc[k], &s) == nil && strings.TrimSpace(s) != "" {
				return clip(oneLine(s), 300)
			}
			var nested struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(doc[k], &nested) == nil && strings.TrimSpace(nested.Message) != "" {
				return clip(oneLine(nested.Message), 300)
			}
		}
	}
	if s := clip(oneLine(string(body)), 300); s != "" {
		return s
	}
	return http.StatusText(status)
}

// Typing shows or clears the business's typing indicator
// (typing_start / typing_end messages).
func (a *Adapter) Typing(ctx context.Context, poc *channel.PointOfContact, threadExternalID, recipientID string, on bool) error {
	to := strings.TrimSpace(recipientID)
	if to == "" {
		to = strings.TrimSpace(threadExternalID)
	}
	if to == "" {
		return &channel.SendError{Reason: "no recipient"}
	}
	id, err := uuid.NewRandomFromReader(a.random)
	if err != nil {
		return err
	}
	kind := TypeTypingEnd
	if on {
		kind = TypeTypingStart
	}
	return a.post(ctx, poc, to, id.String(), map[string]any{"type": kind}, false)
}

// MarkRead does nothing: the MSP API has no read receipts for a business to
// send.
func (a *Adapter) MarkRead(ctx context.Context, poc *channel.PointOfContact, platformMessageID string) error {
	return nil
}
