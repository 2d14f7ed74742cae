package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ParleyClient calls the two BYOC endpoints the middleware uses:
//
//	POST /api/v1/byoc/{pointOfContactID}/messages  (inbound messages)
//	POST /api/v1/byoc/{pointOfContactID}/statuses  (delivery receipts)
//
// Both are idempotent (messages by their id, statuses never go backwards), so
// every call is retried on connection errors, 408, 425, 429 and 5xx.
type ParleyClient struct {
	BaseURL          string // e.g. http://127.0.0.1:8080
	PointOfContactID string
	Token            string // the point of contact's "byoc_…" token
	HTTP             *http.Client
	Log              *slog.Logger

	MaxAttempts int           // total tries per call; 0 means 6
	BaseDelay   time.Duration // first backoff; 0 means 250ms
	MaxDelay    time.Duration // backoff cap; 0 means 30s
}

// Ref names a thread or an author: {"id", "name"}.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// InboundAttachment is one file of an inbound message: a URL Parley fetches,
// or the bytes inline (base64 in JSON).
type InboundAttachment struct {
	URL      string `json:"url,omitempty"`
	Data     []byte `json:"data,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	Name     string `json:"name,omitempty"`
}

// InboundMessage is the body of POST /api/v1/byoc/{id}/messages.
type InboundMessage struct {
	ID          string              `json:"id"`
	Thread      Ref                 `json:"thread"`
	Author      Ref                 `json:"author"`
	Text        string              `json:"text,omitempty"`
	Attachments []InboundAttachment `json:"attachments,omitempty"`
	SentAt      string              `json:"sent_at,omitempty"`
}

// InboundResult is Parley's answer to an inbound message.
type InboundResult struct {
	MessageID string `json:"message_id"`
	CaseID    string `json:"case_id"`
	ThreadID  string `json:"thread_id"`
	ContactID string `json:"contact_id"`
	Duplicate bool   `json:"duplicate"`
}

// Status is the body of POST /api/v1/byoc/{id}/statuses.
type Status struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"` // delivered, read or failed
	Reason    string `json:"reason,omitempty"`
}

// Problem is an RFC 9457 problem document, as Parley sends on errors.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

// ParleyError is a non-2xx answer from Parley that was not (or no longer)
// retried.
type ParleyError struct {
	StatusCode int
	Problem    Problem
}

func (e *ParleyError) Error() string {
	msg := fmt.Sprintf("parley answered %d", e.StatusCode)
	if e.Problem.Title != "" {
		msg += ": " + e.Problem.Title
	}
	if e.Problem.Detail != "" {
		msg += ": " + e.Problem.Detail
	}
	for _, fe := range e.Problem.Errors {
		msg += fmt.Sprintf(" [%s: %s]", fe.Field, fe.Reason)
	}
	return msg
}

// FieldError reports whether Parley refused a field whose name starts with
// prefix (e.g. "attachments").
func (e *ParleyError) FieldError(prefix string) bool {
	for _, fe := range e.Problem.Errors {
		if strings.HasPrefix(fe.Field, prefix) {
			return true
		}
	}
	return false
}

// PostMessage posts an inbound message (from the customer to Parley).
func (c *ParleyClient) PostMessage(ctx context.Context, m InboundMessage) (InboundResult, error) {
	var res InboundResult
	err := c.post(ctx, "messages", m, &res)
	return res, err
}

// PostStatus reports what happened to a message Parley sent to the callback.
func (c *ParleyClient) PostStatus(ctx context.Context, s Status) error {
	return c.post(ctx, "statuses", s, nil)
}

const maxParleyResponse = 1 << 20

func (c *ParleyClient) post(ctx context.Context, endpoint string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	u := strings.TrimRight(c.BaseURL, "/") + "/api/v1/byoc/" + url.PathEscape(c.PointOfContactID) + "/" + endpoint
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 6
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	for attempt := 1; ; attempt++ {
		retryAfter, err := c.try(ctx, hc, u, body, out)
		if err == nil {
			return nil
		}
		if retryAfter < 0 || attempt >= attempts || ctx.Err() != nil {
			var pe *ParleyError
			if errors.As(err, &pe) || ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("POST %s: %w (after %d attempts)", u, err, attempt)
		}
		delay := c.backoff(attempt)
		if retryAfter > 0 {
			delay = min(retryAfter, 5*time.Minute)
		}
		c.logger().Warn("parley call failed, retrying", "endpoint", endpoint, "attempt", attempt, "delay", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// try makes one request. retryAfter is -1 when the error must not be
// retried, 0 to retry after the normal backoff, or the delay Parley asked for.
func (c *ParleyClient) try(ctx context.Context, hc *http.Client, u string, body []byte, out any) (retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("User-Agent", "byoc-wechat/1")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err // connection refused, reset, timeout: retry
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxParleyResponse))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return -1, fmt.Errorf("decoding parley's answer: %w", err)
			}
		}
		return 0, nil
	}
	pe := &ParleyError{StatusCode: resp.StatusCode}
	_ = json.Unmarshal(data, &pe.Problem) // best effort: problem+json
	switch {
	case resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), pe
	default:
		return -1, pe // 400, 401, 404, 413, 415: retrying will not help
	}
}

// backoff is exponential with "equal jitter": between half and all of
// BaseDelay·2^(attempt-1), capped at MaxDelay.
func (c *ParleyClient) backoff(attempt int) time.Duration {
	base, maxD := c.BaseDelay, c.MaxDelay
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	if maxD <= 0 {
		maxD = 30 * time.Second
	}
	d := base << min(attempt-1, 20)
	if d <= 0 || d > maxD {
		d = maxD
	}
	half := d / 2
	return half + rand.N(half+1)
}

func (c *ParleyClient) logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent or unusable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
