package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// apiResponse is the part of Slack's Web API answers the adapter reads:
// every method answers {"ok":true,…} or, with HTTP 200 all the same,
// {"ok":false,"error":"<code>"}.
type apiResponse struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	Needed    string `json:"needed"`
	Channel   string `json:"channel"`
	TS        string `json:"ts"`
	UploadURL string `json:"upload_url"`
	FileID    string `json:"file_id"`
	File      *struct {
		ID                 string `json:"id"`
		Name               string `json:"name"`
		Mimetype           string `json:"mimetype"`
		URLPrivateDownload string `json:"url_private_download"`
		IsExternal         bool   `json:"is_external"`
	} `json:"file"`
	Files []struct {
		ID string `json:"id"`
	} `json:"files"`
}

// callJSON calls a Web API method with a JSON body.
func (a *Adapter) callJSON(ctx context.Context, poc *channel.PointOfContact, method string, payload any) (apiResponse, error) {
	b, err := marshal(payload)
	if err != nil {
		return apiResponse{}, &channel.SendError{Code: "bad_content", Reason: "cannot encode the " + method + " request: " + err.Error()}
	}
	return a.call(ctx, poc, http.MethodPost, method, "application/json; charset=utf-8", b)
}

// marshal encodes JSON as Slack's own SDKs send it: &, < and > as they
// are (json.Marshal would write them \u0026…, equally valid, less
// readable in logs and golden files).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// callForm calls a Web API method with a form body.
func (a *Adapter) callForm(ctx context.Context, poc *channel.PointOfContact, method string, form url.Values) (apiResponse, error) {
	return a.call(ctx, poc, http.MethodPost, method, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// call makes one Web API request with the bot token and classifies its
// failure: network errors, HTTP 429 (with Retry-After) and 5xx are
// retryable; an {"ok":false} answer is classified by its error code
// (classifyError).
func (a *Adapter) call(ctx context.Context, poc *channel.PointOfContact, httpMethod, method, contentType string, body []byte) (apiResponse, error) {
	token := poc.Credential(CredentialBotToken)
	if token == "" {
		return apiResponse{}, &channel.SendError{Code: "configuration", Reason: "credentials.bot_token is not set on this point of contact"}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, httpMethod, baseURL(poc)+"/"+method, rd)
	if err != nil {
		return apiResponse{}, &channel.SendError{Code: "configuration", Reason: "invalid API URL: " + err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return apiResponse{}, &channel.SendError{Retryable: true, Code: "network", Reason: "Slack unreachable (" + method + "): " + redact(err.Error(), token)}
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out apiResponse
	decoded := json.Unmarshal(raw, &out) == nil
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return out, &channel.SendError{Retryable: true, RetryAfter: channel.RetryAfter(resp.Header.Get("Retry-After"), a.now()),
			Code: firstNonEmpty(out.Error, "ratelimited"), Reason: "Slack is rate limiting " + method + "; it will be retried"}
	case resp.StatusCode >= 500:
		return out, &channel.SendError{Retryable: true, Code: "http_" + strconv.Itoa(resp.StatusCode),
			Reason: fmt.Sprintf("Slack answered HTTP %d to %s", resp.StatusCode, method)}
	case resp.StatusCode != http.StatusOK:
		return out, &channel.SendError{Code: firstNonEmpty(out.Error, "http_"+strconv.Itoa(resp.StatusCode)),
			Reason: fmt.Sprintf("Slack answered HTTP %d to %s: %s", resp.StatusCode, method, snippet(raw))}
	case readErr != nil:
		return out, &channel.SendError{Retryable: true, Code: "network", Reason: "reading Slack's answer to " + method + ": " + readErr.Error()}
	case !decoded:
		// The request may well have been carried out: retrying could post
		// the message twice, so this is permanent.
		return out, &channel.SendError{Code: "bad_response", Reason: "Slack's answer to " + method + " is not JSON: " + snippet(raw)}
	case !out.OK:
		se := classifyError(method, out)
		if se.Retryable {
			se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
		}
		return out, se
	}
	return out, nil
}

// classifyError turns an {"ok":false,"error"} answer into a SendError with
// a reason an agent can act on. The conversation being gone (deleted,
// archived, the app removed from it) marks the recipient unreachable.
func classifyError(method string, r apiResponse) *channel.SendError {
	code := firstNonEmpty(r.Error, "unknown_error")
	se := &channel.SendError{Code: code}
	switch code {
	case "ratelimited", "rate_limited":
		se.Retryable, se.Reason = true, "Slack is rate limiting "+method+"; it will be retried"
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org":
		se.Retryable, se.Reason = true, "Slack could not process "+method+" for now; it will be retried"
	case "channel_not_found":
		se.Unreachable, se.Reason = true, "the Slack conversation no longer exists, or the app can no longer see it"
	case "not_in_channel":
		se.Unreachable, se.Reason = true, "the app is no longer a member of this Slack channel: invite it back to answer there"
	case "is_archived":
		se.Unreachable, se.Reason = true, "the Slack channel has been archived"
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_permission", "not_allowed_token_type":
		se.Reason = "Slack refused the bot token (" + code + "): check credentials.bot_token on this point of contact"
	case "missing_scope":
		se.Reason = "the Slack app lacks a permission scope"
		if r.Needed != "" {
			se.Reason += " (needed: " + r.Needed + ")"
		}
		se.Reason += "; add it under OAuth & Permissions and reinstall the app"
	case "restricted_action", "restricted_action_read_only_channel", "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel":
		se.Reason = "the workspace does not let the app post here (" + code + ")"
	case "msg_too_long":
		se.Reason = "the message is too long for Slack"
	case "no_text", "invalid_blocks", "invalid_blocks_format", "invalid_arguments", "invalid_attachments", "too_many_attachments":
		se.Reason = "Slack refused the message's content (" + code + ")"
	default:
		se.Reason = "Slack refused " + method + " (" + code + ")"
	}
	return se
}

// redact removes the token from a transport error (which may quote a URL).
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
