package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/meta"
)

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Native json.RawMessage `json:"native"`
	Text   string          `json:"text"`
}

// sendResponse is the /messages answer.
type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

func (a *Adapter) messagesURL(poc *channel.PointOfContact) string {
	return meta.BaseURL(poc) + "/" + url.PathEscape(poc.SettingString(SettingPhoneNumberID)) + "/messages"
}

// Send delivers one outbound message as one or more Cloud API messages, in
// this order:
//   - a template (msg.Template) alone: its attachments, if any, are not sent;
//   - else the rich-content engine's native payload (Rendered.native), or the
//     text (Rendered.text, else msg.Text) as text messages of at most 4096
//     characters each;
//   - then one message per attachment (image, video, audio or document by
//     MIME type, sent by link). A plain text of at most 1024 characters with
//     exactly one image, video or document becomes that file's caption
//     instead of a message of its own.
//
// The quoted message (ReplyToPlatformID) is the context of the first
// message. The result is the platform id of the FIRST message sent: that is
// the id receipts are matched on. If a later part fails, nothing is retried
// (that would send the first parts twice): the send fails permanently, and
// the reason says which parts went out.
//
// Outside the 24-hour window (LastInboundAt set and more than 24 hours old)
// anything but a template is refused with code 131047 before the platform
// is called.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.Template == nil && !msg.LastInboundAt.IsZero() && a.now().After(msg.LastInboundAt.Add(CustomerServiceWindow)) {
		return channel.SendResult{}, &channel.SendError{Code: "131047", Reason: "outside the 24-hour customer-service window: only approved templates may be sent"}
	}
	if strings.TrimSpace(msg.RecipientID) == "" {
		return channel.SendResult{}, &channel.SendError{Reason: "no recipient"}
	}
	bodies, err := buildMessages(msg)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Reason: err.Error()}
	}
	endpoint := a.messagesURL(poc)
	token := poc.Credential(CredentialAccessToken)
	var first string
	for i, b := range bodies {
		out, err := a.client.Do(ctx, http.MethodPost, endpoint, token, b)
		if err != nil {
			if i == 0 {
				return channel.SendResult{}, err
			}
			se := &channel.SendError{Reason: err.Error()}
			var pe *channel.SendError
			if errors.As(err, &pe) {
				se.Code, se.Reason = pe.Code, pe.Reason
			}
			se.Reason = fmt.Sprintf("part %d of %d failed (the first %d went out, first id %s): %s", i+1, len(bodies), i, first, se.Reason)
			return channel.SendResult{}, se
		}
		var resp sendResponse
		_ = json.Unmarshal(out, &resp)
		if i == 0 && len(resp.Messages) > 0 {
			first = clip(resp.Messages[0].ID, MaxIDLength)
		}
	}
	return channel.SendResult{PlatformMessageID: first}, nil
}

// buildMessages makes the /messages bodies for msg, in sending order.
func buildMessages(msg *channel.OutboundMessage) ([]map[string]any, error) {
	base := func() map[string]any {
		return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": msg.RecipientID}
	}
	var bodies []map[string]any
	caption := ""
	var r rendered
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		if err := json.Unmarshal(msg.Rendered, &r); err != nil {
			return nil, fmt.Errorf("rendered content is not valid: %v", err)
		}
	}
	native := len(r.Native) > 0 && string(r.Native) != "null"
	switch {
	case msg.Template != nil:
		t, err := templatePayload(msg.Template)
		if err != nil {
			return nil, err
		}
		b := base()
		b["type"] = "template"
		b["template"] = t
		return withContext([]map[string]any{b}, msg.ReplyToPlatformID), nil
	case native:
		var nat map[string]json.RawMessage
		if err := json.Unmarshal(r.Native, &nat); err != nil {
			return nil, fmt.Errorf("the rendered native payload is not a JSON object: %v", err)
		}
		var kind string
		if err := json.Unmarshal(nat["type"], &kind); err != nil || kind == "" || len(nat[kind]) == 0 {
			return nil, errors.New(`the rendered native payload has no "type" and matching object`)
		}
		b := base()
		for k, v := range nat {
			switch k {
			case "to", "context", "messaging_product", "recipient_type":
			default:
				b[k] = v
			}
		}
		bodies = append(bodies, b)
	default:
		text := r.Text
		if strings.TrimSpace(text) == "" {
			text = msg.Text
		}
		if strings.TrimSpace(text) == "" {
			break
		}
		if len(msg.Attachments) == 1 && captionable(mediaType(msg.Attachments[0].MimeType)) && utf8.RuneCountInString(text) <= MaxCaptionLength {
			caption = text
			break
		}
		for _, chunk := range split(text, MaxTextLength) {
			b := base()
			b["type"] = "text"
			b["text"] = map[string]any{"preview_url": false, "body": chunk}
			bodies = append(bodies, b)
		}
	}
	for _, att := range msg.Attachments {
		u, err := url.Parse(att.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("attachment %q has no absolute URL the platform can fetch", att.Name)
		}
		kind := mediaType(att.MimeType)
		m := map[string]any{"link": att.URL}
		if caption != "" {
			m["caption"] = caption
			caption = ""
		}
		if kind == "document" && att.Name != "" {
			m["filename"] = att.Name
		}
		b := base()
		b["type"] = kind
		b[kind] = m
		bodies = append(bodies, b)
	}
	if len(bodies) == 0 {
		return nil, errors.New("nothing to send: no text, content, template or attachment")
	}
	return withContext(bodies, msg.ReplyToPlatformID), nil
}

func withContext(bodies []map[string]any, replyTo string) []map[string]any {
	if replyTo != "" && len(bodies) > 0 {
		bodies[0]["context"] = map[string]any{"message_id": replyTo}
	}
	return bodies
}

// mediaType picks the Cloud API message type for a file: the types WhatsApp
// plays inline, else a document.
func mediaType(mimeType string) string {
	switch baseMIME(mimeType) {
	case "image/jpeg", "image/png":
		return "image"
	case "video/mp4", "video/3gpp":
		return "video"
	case "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg":
		return "audio"
	}
	return "document"
}

func captionable(kind string) bool { return kind == "image" || kind == "video" || kind == "document" }

// split cuts text into pieces of at most n runes, at a line break or a
// space when one is near the end of the piece.
func split(text string, n int) []string {
	var out []string
	for utf8.RuneCountInString(text) > n {
		cut := len(text)
		count := 0
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

// templateComponent is the part of a template's stored components the
// sender reads.
type templateComponent struct {
	Type    string `json:"type"`
	Format  string `json:"format"`
	Text    string `json:"text"`
	Buttons []struct {
		Type string `json:"type"`
		Text string `json:"text"`
		URL  string `json:"url"`
	} `json:"buttons"`
}

var currencyValue = regexp.MustCompile(`^([A-Z]{3}) ?([0-9]+(?:\.[0-9]{1,3})?)$`)

// templatePayload builds the "template" object: name, language and the
// components with their parameters, grouped by component in the order of
// Template.Parameters (header, body, then each button by its position).
func templatePayload(t *channel.TemplateMessage) (map[string]any, error) {
	name, lang := t.Name, t.Language
	if name == "" {
		name = t.Template.Name
	}
	if lang == "" {
		lang = t.Template.Language
	}
	if name == "" || lang == "" {
		return nil, errors.New("a template needs a name and a language")
	}
	params := t.Template.Parameters
	if len(t.Parameters) != len(params) {
		return nil, fmt.Errorf("template %s takes %d parameters, got %d", name, len(params), len(t.Parameters))
	}
	var comps []templateComponent
	_ = json.Unmarshal(t.Template.Components, &comps)
	names := map[string][]string{} // component → variable names, for named parameters
	var buttons []string           // button types by position
	for _, c := range comps {
		ct := strings.ToLower(c.Type)
		switch ct {
		case "header", "body":
			names[ct] = variables(c.Text)
		case "buttons":
			for _, b := range c.Buttons {
				buttons = append(buttons, strings.ToLower(b.Type))
			}
		}
	}
	var header, body []any
	byButton := map[int][]any{}
	for i, p := range params {
		v := t.Parameters[i]
		switch p.Component {
		case "header", "body":
			param := parameter(p.Type, v)
			if ns := names[p.Component]; p.Index >= 1 && p.Index <= len(ns) && !isNumber(ns[p.Index-1]) {
				param["parameter_name"] = ns[p.Index-1]
			}
			if p.Component == "header" {
				header = append(header, param)
			} else {
				body = append(body, param)
			}
		case "button":
			if p.Index < 1 {
				return nil, fmt.Errorf("template %s: button parameter %d has no button position", name, i+1)
			}
			param := map[string]any{"type": "text", "text": v}
			if p.Index <= len(buttons) && buttons[p.Index-1] == "copy_code" {
				param = map[string]any{"type": "coupon_code", "coupon_code": v}
			}
			byButton[p.Index] = append(byButton[p.Index], param)
		default:
			return nil, fmt.Errorf("template %s: unknown component %q of parameter %d", name, p.Component, i+1)
		}
	}
	var components []any
	if len(header) > 0 {
		components = append(components, map[string]any{"type": "header", "parameters": header})
	}
	if len(body) > 0 {
		components = append(components, map[string]any{"type": "body", "parameters": body})
	}
	positions := make([]int, 0, len(byButton))
	for pos := range byButton {
		positions = append(positions, pos)
	}
	sort.Ints(positions)
	for _, pos := range positions {
		sub := "url"
		if pos <= len(buttons) && buttons[pos-1] != "" {
			sub = buttons[pos-1]
		}
		components = append(components, map[string]any{"type": "button", "sub_type": sub, "index": strconv.Itoa(pos - 1), "parameters": byButton[pos]})
	}
	out := map[string]any{"name": name, "language": map[string]any{"code": lang}}
	if len(components) > 0 {
		out["components"] = components
	}
	return out, nil
}

// parameter is one header or body parameter of a template message.
func parameter(kind, v string) map[string]any {
	switch kind {
	case "image", "document", "video":
		return map[string]any{"type": kind, kind: map[string]any{"link": v}}
	case "date_time":
		return map[string]any{"type": "date_time", "date_time": map[string]any{"fallback_value": v}}
	case "currency":
		if m := currencyValue.FindStringSubmatch(strings.TrimSpace(v)); m != nil {
			if f, err := strconv.ParseFloat(m[2], 64); err == nil {
				return map[string]any{"type": "currency", "currency": map[string]any{"fallback_value": v, "code": m[1], "amount_1000": int64(f*1000 + 0.5)}}
			}
		}
	}
	return map[string]any{"type": "text", "text": v}
}

// MarkRead marks a customer's message read (blue ticks).
func (a *Adapter) MarkRead(ctx context.Context, poc *channel.PointOfContact, platformMessageID string) error {
	if platformMessageID == "" {
		return nil
	}
	_, err := a.client.Do(ctx, http.MethodPost, a.messagesURL(poc), poc.Credential(CredentialAccessToken), map[string]any{
		"messaging_product": "whatsapp", "status": "read", "message_id": platformMessageID})
	return err
}

// Typing is a no-op: CHANNELS.md documents no typing indicator for
// WhatsApp (the Cloud API's one rides on a read mark of a given inbound
// message, which this call does not name).
func (a *Adapter) Typing(ctx context.Context, poc *channel.PointOfContact, threadExternalID, recipientID string, on bool) error {
	return nil
}

// FetchMedia downloads an inbound file in two steps: GET /{media-id} (with
// the access token) gives its URL and MIME type, then GET that URL with the
// same token. The caller closes the body and bounds its size.
func (a *Adapter) FetchMedia(ctx context.Context, poc *channel.PointOfContact, ref string) (io.ReadCloser, string, error) {
	if !graphID.MatchString(ref) {
		return nil, "", fmt.Errorf("whatsapp: invalid media id %q", clip(ref, 80))
	}
	token := poc.Credential(CredentialAccessToken)
	out, err := a.client.Do(ctx, http.MethodGet, meta.BaseURL(poc)+"/"+ref, token, nil)
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: media %s: %v", ref, err)
	}
	var info struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, "", fmt.Errorf("whatsapp: media %s: unreadable answer: %v", ref, err)
	}
	u, err := url.Parse(info.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", fmt.Errorf("whatsapp: media %s: no download URL in the answer", ref)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, info.URL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: media %s: %v", ref, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: media %s download: %v", ref, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, "", fmt.Errorf("whatsapp: media %s download: HTTP %d: %s", ref, resp.StatusCode, strings.TrimSpace(string(excerpt)))
	}
	mt := info.MimeType
	if mt == "" {
		mt = resp.Header.Get("Content-Type")
	}
	return resp.Body, baseMIME(mt), nil
}
