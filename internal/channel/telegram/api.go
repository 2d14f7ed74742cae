package telegram

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
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// apiResponse is every Bot API answer: {"ok":true,"result":…} or
// {"ok":false,"error_code":429,"description":"…","parameters":{"retry_after":5}}.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// maxAnswer bounds what is read of a Bot API answer.
const maxAnswer = 1 << 20

// methodURL is {base}/bot<token>/<method>. It holds the token: it must
// never appear in an error (see transportError).
func methodURL(poc *channel.PointOfContact, method string) string {
	return baseURL(poc) + "/bot" + poc.Credential(CredentialBotToken) + "/" + method
}

// call posts params as JSON to a Bot API method and returns its result.
func (a *Adapter) call(ctx context.Context, poc *channel.PointOfContact, method string, params any) (json.RawMessage, *channel.SendError) {
	if poc.Credential(CredentialBotToken) == "" {
		return nil, &channel.SendError{Code: "configuration", Reason: "the point of contact has no bot_token"}
	}
	body, err := json.Marshal(params)
	if err != nil {
		return nil, &channel.SendError{Reason: "encoding the " + method + " request: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, methodURL(poc, method), bytes.NewReader(body))
	if err != nil {
		return nil, &channel.SendError{Code: "configuration", Reason: "invalid Bot API URL (settings." + SettingAPIBaseURL + ")"}
	}
	req.Header.Set("Content-Type", "application/json")
	return a.do(req)
}

// do sends a prepared Bot API request and classifies the answer.
func (a *Adapter) do(req *http.Request) (json.RawMessage, *channel.SendError) {
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, &channel.SendError{Retryable: true, Reason: "Telegram unreachable: " + transportError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && resp.StatusCode/100 != 2 {
		return nil, &channel.SendError{Retryable: true, Reason: "reading Telegram's answer: " + transportError(err)}
	}
	var r apiResponse
	if resp.StatusCode/100 == 2 && json.Unmarshal(body, &r) == nil && r.OK {
		return r.Result, nil
	}
	return nil, a.apiError(resp, body)
}

// apiError classifies a failed Bot API call: 429 (or any retry_after) is
// retryable after the platform's delay; 5xx is retryable; 403 is permanent,
// and unreachable when the person blocked the bot or deleted their account;
// every other 4xx (400 Bad Request, 401 bad token, 404…) is permanent with
// Telegram's description.
func (a *Adapter) apiError(resp *http.Response, body []byte) *channel.SendError {
	var r apiResponse
	parsed := json.Unmarshal(body, &r) == nil && (r.ErrorCode != 0 || r.Description != "")
	code := resp.StatusCode
	if parsed && r.ErrorCode != 0 {
		code = r.ErrorCode
	}
	se := &channel.SendError{Code: strconv.Itoa(code), Reason: http.StatusText(code)}
	switch {
	case parsed && r.Description != "":
		se.Reason = clip(strings.ToValidUTF8(r.Description, ""), 500)
	case len(bytes.TrimSpace(body)) > 0:
		se.Reason = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, snippet(body))
	}
	if se.Reason == "" {
		se.Reason = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	retryAfter := 0
	if parsed && r.Parameters != nil {
		retryAfter = r.Parameters.RetryAfter
	}
	switch {
	case code == http.StatusTooManyRequests || retryAfter > 0:
		se.Retryable = true
		if retryAfter > 0 {
			se.RetryAfter = min(time.Duration(retryAfter)*time.Second, 24*time.Hour)
		} else {
			se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
		}
	case code >= 500 || resp.StatusCode >= 500:
		se.Retryable = true
	case code == http.StatusForbidden:
		se.Unreachable = unreachable(se.Reason)
	case code == http.StatusUnauthorized:
		se.Reason += " (Telegram refused the bot token: check credentials." + CredentialBotToken + ")"
	case code == http.StatusNotFound:
		se.Reason += " (no such Bot API method, or a malformed bot token: check credentials." + CredentialBotToken + " and settings." + SettingAPIBaseURL + ")"
	}
	if parsed && r.Parameters != nil && r.Parameters.MigrateToChatID != 0 {
		se.Reason += fmt.Sprintf(" (the group became the supergroup %d)", r.Parameters.MigrateToChatID)
	}
	return se
}

// unreachable tells the 403s after which nothing can reach the chat again
// until the person comes back: blocked, account deleted, bot removed from
// the group. "bot can't initiate conversation" is not one: the person may
// still start the bot.
func unreachable(description string) bool {
	d := strings.ToLower(description)
	for _, s := range []string{"blocked by the user", "user is deactivated", "bot was kicked", "not a member of the"} {
		if strings.Contains(d, s) {
			return true
		}
	}
	return false
}

// transportError describes a network failure without the request URL, which
// carries the bot token.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	if len(s) > 200 {
		s = clip(s, 200) + "…"
	}
	return s
}

// fileID is what Parley accepts as a Telegram file_id (it goes into a
// request body; Telegram's are URL-safe base64, about 80 characters).
var fileID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,512}$`)

// FetchMedia downloads an inbound file named by its file_id: getFile gives
// its file_path (valid for at least an hour), then GET
// {base}/file/bot<token>/<file_path>. Telegram serves files of at most
// 20 MB to bots; Parse marks larger ones in the text instead of asking for
// them. The MIME type comes from the path's extension or the answer's
// Content-Type; "" lets the core sniff it. The caller closes the body.
func (a *Adapter) FetchMedia(ctx context.Context, poc *channel.PointOfContact, ref string) (io.ReadCloser, string, error) {
	if !fileID.MatchString(ref) {
		return nil, "", fmt.Errorf("telegram: invalid file_id %q", clip(ref, 80))
	}
	out, serr := a.call(ctx, poc, "getFile", map[string]string{"file_id": ref})
	if serr != nil {
		return nil, "", fmt.Errorf("telegram: getFile %s: %s", clip(ref, 80), serr.Error())
	}
	var f struct {
		FilePath string `json:"file_path"`
		FileSize int64  `json:"file_size"`
	}
	if err := json.Unmarshal(out, &f); err != nil || f.FilePath == "" {
		return nil, "", fmt.Errorf("telegram: getFile %s: no file_path in the answer (a file over 20 MB?)", clip(ref, 80))
	}
	var segs []string
	for _, s := range strings.Split(strings.TrimLeft(f.FilePath, "/"), "/") {
		if s == "" || s == "." || s == ".." {
			return nil, "", fmt.Errorf("telegram: getFile %s: unusable file_path %q", clip(ref, 80), clip(f.FilePath, 120))
		}
		segs = append(segs, url.PathEscape(s))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL(poc)+"/file/bot"+poc.Credential(CredentialBotToken)+"/"+strings.Join(segs, "/"), nil)
	if err != nil {
		return nil, "", fmt.Errorf("telegram: file %s: invalid download URL", clip(ref, 80))
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("telegram: file %s download: %s", clip(ref, 80), transportError(err))
	}
	if resp.StatusCode/100 != 2 {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, "", fmt.Errorf("telegram: file %s download: HTTP %d: %s", clip(ref, 80), resp.StatusCode, snippet(excerpt))
	}
	mt := mime.TypeByExtension(strings.ToLower(path.Ext(f.FilePath)))
	if mt == "" {
		mt = resp.Header.Get("Content-Type")
	}
	mt = baseMIME(mt)
	if mt == "application/octet-stream" {
		mt = "" // Telegram's file server says so of everything: let the core sniff
	}
	return resp.Body, mt, nil
}

// Typing shows "typing…" in the chat (sendChatAction, which lasts 5 seconds
// or until the next message). Telegram has no "stop typing": off is a no-op.
func (a *Adapter) Typing(ctx context.Context, poc *channel.PointOfContact, threadExternalID, recipientID string, on bool) error {
	if !on {
		return nil
	}
	chat := threadExternalID
	if chat == "" {
		chat = recipientID
	}
	if !chatIDPattern.MatchString(chat) {
		return &channel.SendError{Code: "no_recipient", Reason: "no Telegram chat id for the typing indicator"}
	}
	if _, err := a.call(ctx, poc, "sendChatAction", map[string]any{"chat_id": json.Number(chat), "action": "typing"}); err != nil {
		return err
	}
	return nil
}

// MarkRead is a no-op: bots cannot mark messages read on Telegram.
func (a *Adapter) MarkRead(ctx context.Context, poc *channel.PointOfContact, platformMessageID string) error {
	return nil
}

// baseMIME drops parameters ("audio/ogg; codecs=opus" → "audio/ogg").
func baseMIME(s string) string {
	if mt, _, err := mime.ParseMediaType(s); err == nil {
		return mt
	}
	return strings.ToLower(strings.TrimSpace(s))
}
