// Package meta holds what WhatsApp, Messenger and Instagram share: the
// webhook verification handshake, the X-Hub-Signature-256 check, the
// webhook envelope, and the Graph API's error payloads classified as
// retryable or permanent (CHANNELS.md §0).
package meta

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// DefaultGraphURL is the real Graph API; points of contact override it
// with settings.api_base_url (the fake, the sandbox).
const DefaultGraphURL = "https://graph.facebook.com/v25.0"

// Handshake answers Meta's GET verification request: 200 with the bare
// challenge when hub.mode is subscribe and the verify token matches, 403
// otherwise. It reports whether the request was a handshake.
func Handshake(w http.ResponseWriter, r *http.Request, verifyToken string) bool {
	if r.Method != http.MethodGet {
		return false
	}
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" || verifyToken == "" || !hmac.Equal([]byte(q.Get("hub.verify_token")), []byte(verifyToken)) {
		http.Error(w, "verification failed", http.StatusForbidden)
		return true
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
	return true
}

// Sign computes the X-Hub-Signature-256 header value for a body.
func Sign(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks X-Hub-Signature-256 on the raw body.
func VerifySignature(r *http.Request, body []byte, appSecret string) error {
	got, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
	if !ok || appSecret == "" {
		return channel.ErrUnauthenticated
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return channel.ErrUnauthenticated
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return channel.ErrUnauthenticated
	}
	return nil
}

// Envelope is the outer shape of every Meta webhook delivery.
type Envelope struct {
	Object string            `json:"object"`
	Entry  []json.RawMessage `json:"entry"`
}

// ParseEnvelope decodes the envelope and checks its object type.
func ParseEnvelope(body []byte, wantObject string) (Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return env, channel.Malformed("", "malformed JSON: %v", err)
	}
	if env.Object != wantObject {
		return env, channel.Malformed("object", "want %q, got %q", wantObject, env.Object)
	}
	return env, nil
}

// UnixTime reads Meta's timestamps: seconds as a string or number
// (WhatsApp) or milliseconds (Messenger, Instagram).
func UnixTime(v json.Number) time.Time {
	n, err := v.Int64()
	if err != nil || n <= 0 {
		return time.Time{}
	}
	if n > 1e12 {
		return time.UnixMilli(n).UTC()
	}
	return time.Unix(n, 0).UTC()
}

// GraphError is the Graph API's error payload.
type GraphError struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	Code         int    `json:"code"`
	ErrorSubcode int    `json:"error_subcode"`
	FBTraceID    string `json:"fbtrace_id"`
	ErrorData    struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// retryableCodes are Graph error codes that mean "later": rate and
// throughput limits and transient failures.
var retryableCodes = map[int]bool{
	1: true, 2: true, // unknown / temporary service errors
	4: true, 17: true, 32: true, 613: true, // app, user, page and call-rate limits
	80007:  true, // Instagram/Messenger rate limit
	130429: true, // WhatsApp throughput (cloud API rate limit)
	131056: true, // WhatsApp pair rate limit (same recipient too often)
	131000: true, // WhatsApp "something went wrong"
	133016: true, // WhatsApp account rate limit
}

// Classify turns a Graph API response into a *channel.SendError, or nil
// for 2xx. Rate limits and 5xx are retryable (honouring Retry-After);
// everything else — re-engagement 131047, invalid parameters, expired
// tokens, missing permissions — is permanent and keeps the platform's code
// and text for the agent.
func Classify(resp *http.Response, body []byte, now time.Time) *channel.SendError {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var payload struct {
		Error GraphError `json:"error"`
	}
	_ = json.Unmarshal(body, &payload)
	ge := payload.Error
	se := &channel.SendError{Code: strconv.Itoa(resp.StatusCode), Reason: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	if ge.Code != 0 {
		se.Code = strconv.Itoa(ge.Code)
		if ge.ErrorSubcode != 0 {
			se.Code += "/" + strconv.Itoa(ge.ErrorSubcode)
		}
		se.Reason = ge.Message
		if ge.ErrorData.Details != "" {
			se.Reason += ": " + ge.ErrorData.Details
		}
	} else if t := strings.TrimSpace(string(body)); t != "" {
		if len(t) > 300 {
			t = t[:300]
		}
		se.Reason += ": " + t
	}
	se.Retryable = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || retryableCodes[ge.Code]
	if se.Retryable {
		se.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return se
}

// RetryAfter reads a Retry-After header (see channel.RetryAfter).
func RetryAfter(v string, now time.Time) time.Duration { return channel.RetryAfter(v, now) }

// Client is a thin Graph API client: JSON in, JSON out, errors classified.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time
}

// Do sends a request with a Bearer token and returns the 2xx body, or a
// *channel.SendError. Transport failures are retryable.
func (c *Client) Do(ctx context.Context, method, url, token string, payload any) ([]byte, error) {
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, &channel.SendError{Reason: "encode request: " + err.Error()}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, &channel.SendError{Reason: "bad request URL: " + err.Error()}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "platform unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "reading the platform's answer: " + err.Error()}
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	if se := Classify(resp, out, now); se != nil {
		return nil, se
	}
	return out, nil
}

// BaseURL returns a point of contact's Graph base URL (settings.api_base_url
// or the real one), without a trailing slash.
func BaseURL(poc *channel.PointOfContact) string {
	if u := poc.SettingString("api_base_url"); u != "" {
		return strings.TrimRight(u, "/")
	}
	return DefaultGraphURL
}
