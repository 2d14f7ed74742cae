// Package byoc is the "bring your own channel" adapter: an integrator's
// middleware posts inbound messages and receipts to Parley's API with a
// bearer token, and receives Parley's outbound messages on its callback URL,
// signed with HMAC-SHA256. docs/byoc.md is the integrator's contract.
package byoc

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/secret"
)

// Type is the channel type identifier.
const Type = "byoc"

// Limits of the inbound API.
const (
	MaxIDLength    = 256
	MaxTextLength  = 64 << 10
	MaxAttachments = 10
)

// Adapter implements channel.Adapter, Receiver, Responder and Sender.
type Adapter struct {
	client *http.Client
	now    func() time.Time
}

// New makes the adapter. client carries the callback timeout.
func New(client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{client: client, now: now}
}

func (a *Adapter) Type() string { return Type }

// Configure checks the callback URL and, on creation or rotation, makes the
// middleware's bearer token and the callback signing secret.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	raw, _ := cfg.Settings["callback_url"].(string)
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &channel.ValidationError{Field: "settings.callback_url", Reason: "an absolute http(s) URL where Parley posts outbound messages"}
	}
	for k := range cfg.Settings {
		if k != "callback_url" && k != "api_base_url" && k != "supports_attachments" && k != "supports_rich_content" {
			return &channel.ValidationError{Field: "settings." + k, Reason: "unknown setting (known: callback_url, supports_attachments, supports_rich_content)"}
		}
	}
	if cfg.Creating {
		token := secret.RandomToken("byoc_")
		sec := secret.RandomToken("whsec_")
		cfg.InboundToken = token
		cfg.Credentials["secret"] = sec
		cfg.Generated["token"] = token
		cfg.Generated["secret"] = sec
	} else if cfg.Credentials["secret"] == "" {
		return &channel.ValidationError{Field: "credentials.secret", Reason: "the signing secret cannot be removed; rotate credentials instead"}
	}
	return nil
}

// Authenticate checks the middleware's bearer token.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !poc.InboundTokenMatches(strings.TrimSpace(token)) {
		return channel.ErrUnauthenticated
	}
	return nil
}

type inboundMessage struct {
	ID     *string `json:"id"`
	Thread *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"thread"`
	Author *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"author"`
	Text        string          `json:"text"`
	Content     json.RawMessage `json:"content"`
	ChoiceID    string          `json:"choice_id"`
	Visibility  string          `json:"visibility"`
	Attachments []struct {
		URL      string `json:"url"`
		Data     string `json:"data"`
		MimeType string `json:"mime_type"`
		Name     string `json:"name"`
	} `json:"attachments"`
	SentAt string `json:"sent_at"`
}

type inboundStatus struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
}

// IsStatusRequest tells a receipt from a message by the endpoint.
func IsStatusRequest(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/statuses") }

// Parse reads one message or one receipt.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if IsStatusRequest(r) {
		var st inboundStatus
		if err := decodeObject(dec, body, &st); err != nil {
			return nil, err
		}
		if st.MessageID == "" || len(st.MessageID) > MaxIDLength {
			return nil, channel.Malformed("message_id", "required, at most %d characters", MaxIDLength)
		}
		switch st.Status {
		case "delivered", "read", "failed":
		default:
			return nil, channel.Malformed("status", "one of delivered, read, failed")
		}
		if len(st.Reason) > 1000 {
			return nil, channel.Malformed("reason", "at most 1000 characters")
		}
		return []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: st.MessageID, Status: st.Status, Reason: st.Reason}}, nil
	}
	var m inboundMessage
	if err := decodeObject(dec, body, &m); err != nil {
		return nil, err
	}
	ev := channel.InboundEvent{Kind: channel.EventMessage, Text: m.Text, Content: m.Content, ChoiceID: m.ChoiceID}
	switch m.Visibility {
	case "", "private":
	case "public":
		ev.Public = true
	default:
		return nil, channel.Malformed("visibility", "public or private")
	}
	if len(m.ChoiceID) > 1024 {
		return nil, channel.Malformed("choice_id", "at most 1024 characters")
	}
	if err := checkID("id", m.ID); err != nil {
		return nil, err
	}
	ev.PlatformMessageID = *m.ID
	if m.Thread == nil {
		return nil, channel.Malformed("thread.id", "required")
	}
	if err := checkID("thread.id", &m.Thread.ID); err != nil {
		return nil, err
	}
	if m.Author == nil {
		return nil, channel.Malformed("author.id", "required")
	}
	if err := checkID("author.id", &m.Author.ID); err != nil {
		return nil, err
	}
	ev.ThreadID, ev.ThreadName = m.Thread.ID, clip(m.Thread.Name, 200)
	ev.AuthorID, ev.AuthorName = m.Author.ID, clip(m.Author.Name, 200)
	if len(m.Text) > MaxTextLength || !utf8.ValidString(m.Text) {
		return nil, channel.Malformed("text", "valid UTF-8, at most %d bytes", MaxTextLength)
	}
	if len(m.Attachments) > MaxAttachments {
		return nil, channel.Malformed("attachments", "at most %d", MaxAttachments)
	}
	for i, at := range m.Attachments {
		field := fmt.Sprintf("attachments[%d]", i)
		ia := channel.InboundAttachment{MimeType: strings.ToLower(strings.TrimSpace(at.MimeType)), Name: clip(at.Name, 255)}
		switch {
		case at.URL != "" && at.Data != "":
			return nil, channel.Malformed(field, "either url or data, not both")
		case at.URL != "":
			u, err := url.Parse(at.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, channel.Malformed(field+".url", "an absolute http(s) URL")
			}
			ia.URL = at.URL
		case at.Data != "":
			b, err := base64.StdEncoding.DecodeString(at.Data)
			if err != nil {
				return nil, channel.Malformed(field+".data", "not valid base64")
			}
			ia.Data = b
		default:
			return nil, channel.Malformed(field, "url or data required")
		}
		ev.Attachments = append(ev.Attachments, ia)
	}
	if strings.TrimSpace(m.Text) == "" && (len(m.Content) == 0 || string(m.Content) == "null") && len(ev.Attachments) == 0 && m.ChoiceID == "" {
		return nil, channel.Malformed("text", "a message needs text, content or attachments")
	}
	if m.SentAt != "" {
		t, err := time.Parse(time.RFC3339Nano, m.SentAt)
		if err != nil {
			return nil, channel.Malformed("sent_at", "RFC 3339 time")
		}
		ev.SentAt = t
	}
	return []channel.InboundEvent{ev}, nil
}

// decodeObject decodes exactly one JSON object into v, in one pass.
func decodeObject(dec *json.Decoder, body []byte, v any) error {
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return channel.Malformed("", "body must be a JSON object")
	}
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return channel.Malformed(te.Field, "must be %s", te.Type.String())
		}
		return channel.Malformed("", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return channel.Malformed("", "unexpected data after the JSON object")
	}
	return nil
}

func checkID(field string, v *string) error {
	if v == nil || strings.TrimSpace(*v) == "" {
		return channel.Malformed(field, "required")
	}
	if len(*v) > MaxIDLength || !utf8.ValidString(*v) {
		return channel.Malformed(field, "at most %d characters of UTF-8", MaxIDLength)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Respond answers the middleware with the ids Parley assigned.
func (a *Adapter) Respond(w http.ResponseWriter, r *http.Request, results []channel.IngestResult) {
	w.Header().Set("Content-Type", "application/json")
	if len(results) != 1 {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{}`))
		return
	}
	res := results[0]
	if IsStatusRequest(r) {
		if res.Err != nil {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": "Not Found", "status": 404,
				"detail": "no outbound message with this id on this point of contact"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"message_id": res.MessageID, "status": res.Status})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"message_id": res.MessageID, "case_id": res.CaseID, "thread_id": res.ThreadID,
		"contact_id": res.ContactID, "duplicate": res.Duplicate})
}

// Sign computes the X-Parley-Signature header for a body.
func Sign(secretValue string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secretValue))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against a body (what middlewares do;
// used by the fake and the tests).
func Verify(secretValue, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("signature timestamp outside the tolerance")
	}
	m := hmac.New(sha256.New, []byte(secretValue))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("signature mismatch")
}

// Send posts the message to the middleware's callback, signed freshly for
// this attempt (a retry hours later still verifies).
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	body := callbackBody{Type: "message", MessageID: msg.ID, PointOfContactID: poc.ID, Recipient: callbackRecipient{ID: msg.RecipientID, Name: msg.RecipientName},
		Text: msg.Text, Content: msg.Content, Rendered: msg.Rendered, Attachments: msg.Attachments}
	body.Thread.ID = msg.ThreadExternalID
	if body.Attachments == nil {
		body.Attachments = []channel.OutboundAttachment{}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Reason: err.Error()}
	}
	respBody, err := a.post(ctx, poc, raw, msg.Attempt)
	if err != nil {
		return channel.SendResult{}, err
	}
	var out struct {
		ID any `json:"id"`
	}
	_ = json.Unmarshal(respBody, &out)
	id := ""
	switch v := out.ID.(type) {
	case string:
		id = v
	case float64:
		id = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return channel.SendResult{PlatformMessageID: clip(id, MaxIDLength)}, nil
}

// Moderates: the middleware is asked for every action; one its platform
// lacks answers 4xx with a reason, which agents see.
func (a *Adapter) Moderates(poc *channel.PointOfContact, action channel.ModerationAction) bool {
	return true
}

// Moderate posts a moderation callback ({"type":"moderation"}) signed like
// a message callback; a 2xx answer means done on the platform.
func (a *Adapter) Moderate(ctx context.Context, poc *channel.PointOfContact, req channel.ModerationRequest) error {
	body := moderationBody{Type: "moderation", Action: string(req.Action), PointOfContactID: poc.ID}
	body.Message.ID, body.Message.PlatformID = req.MessageID, req.PlatformMessageID
	body.Thread.ID, body.Author.ID = req.ThreadExternalID, req.AuthorID
	raw, err := json.Marshal(body)
	if err != nil {
		return &channel.SendError{Reason: err.Error()}
	}
	_, err = a.post(ctx, poc, raw, 1)
	return err
}

// post sends one signed callback and classifies the answer: the body of a
// 2xx, or a *channel.SendError.
func (a *Adapter) post(ctx context.Context, poc *channel.PointOfContact, raw []byte, attempt int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, poc.SettingString("callback_url"), bytes.NewReader(raw))
	if err != nil {
		return nil, &channel.SendError{Reason: "invalid callback URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley/1")
	req.Header.Set("X-Parley-Signature", Sign(poc.Credential("secret"), a.now(), raw))
	req.Header.Set("X-Parley-Delivery-Attempt", strconv.Itoa(attempt))
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "callback unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return respBody, nil
	}
	se := &channel.SendError{Code: strconv.Itoa(resp.StatusCode), Reason: fmt.Sprintf("callback answered HTTP %d", resp.StatusCode)}
	if excerpt := strings.TrimSpace(clip(string(respBody), 300)); excerpt != "" {
		se.Reason += ": " + excerpt
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == 425, resp.StatusCode >= 500:
		se.Retryable = true
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
	}
	return nil, se
}

// callbackBody is the message callback the middleware receives.
type callbackBody struct {
	Type             string                       `json:"type"` // "message"
	MessageID        string                       `json:"message_id"`
	PointOfContactID string                       `json:"point_of_contact_id"`
	Thread           struct{ ID string }          `json:"thread"`
	Recipient        callbackRecipient            `json:"recipient"`
	Text             string                       `json:"text"`
	Content          json.RawMessage              `json:"content"`
	Rendered         json.RawMessage              `json:"rendered"`
	Attachments      []channel.OutboundAttachment `json:"attachments"`
}

type callbackRecipient struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// moderationBody asks the middleware to hide, unhide, delete, like or
// unlike a customer's public message.
type moderationBody struct {
	Type             string `json:"type"` // "moderation"
	Action           string `json:"action"`
	PointOfContactID string `json:"point_of_contact_id"`
	Message          struct {
		ID         string `json:"id"`
		PlatformID string `json:"platform_id"`
	} `json:"message"`
	Thread struct {
		ID string `json:"id"`
	} `json:"thread"`
	Author struct {
		ID string `json:"id"`
	} `json:"author"`
}
