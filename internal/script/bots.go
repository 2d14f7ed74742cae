package script

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// BotCaller answers hand_to_bot: it asks the named bot about the event and
// returns the actions the bot wants. It is called on the run's goroutine
// with the run's deadline in ctx.
type BotCaller interface {
	CallBot(ctx context.Context, bot string, req BotRequest) ([]Action, error)
}

// BotRequest is what a bot is told: the same data the script reads.
type BotRequest struct {
	Bot     string   `json:"bot"`
	Event   string   `json:"event"`
	Message *Message `json:"message"`
	Contact Contact  `json:"contact"`
	Case    Case     `json:"case"`
	Channel Channel  `json:"channel"`
}

// BotResponse is what a bot answers.
type BotResponse struct {
	Actions []Action `json:"actions"`
}

// Headers of a bot call. The signature has the format of every other
// callback Parley signs (docs/byoc.md), so one verifier serves both:
//
//	X-Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
//
// Signing the timestamp with the body is what lets a bot refuse replays.
const (
	SignatureHeader = "X-Parley-Signature"
	TimestampHeader = "X-Parley-Timestamp"
	maxBotAnswer    = 1 << 20
)

// HTTPBots calls bots over HTTPS: a JSON BotRequest is POSTed to the bot's
// URL, signed with its secret, and the answer is a JSON BotResponse (an
// empty body means no actions). A non-2xx status, a timeout or a malformed
// answer is an error.
type HTTPBots struct {
	// Client sends the requests; nil means http.DefaultClient. The run's
	// deadline bounds every call whatever the client's own timeout.
	Client *http.Client
	// Lookup finds a bot's endpoint and signing secret by name.
	Lookup func(ctx context.Context, bot string) (url, secret string, err error)
	// Now stamps the signature; nil means time.Now.
	Now func() time.Time
}

// CallBot implements BotCaller.
func (h *HTTPBots) CallBot(ctx context.Context, bot string, req BotRequest) ([]Action, error) {
	if h.Lookup == nil {
		return nil, errors.New("no bot directory")
	}
	url, secret, err := h.Lookup(ctx, bot)
	if err != nil {
		return nil, fmt.Errorf("bot %q: %w", bot, err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bot %q: %w", bot, err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "application/json")
	httpReq.Header.Set("User-Agent", "Parley-Bots/1")
	httpReq.Header.Set(TimestampHeader, ts)
	httpReq.Header.Set(SignatureHeader, SignBotRequest([]byte(secret), ts, body))
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(httpReq)
	if err != nil {
		return nil, fmt.Errorf("bot %q: %w", bot, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBotAnswer))
		return nil, fmt.Errorf("bot %q answered %s", bot, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBotAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("bot %q: reading the answer: %w", bot, err)
	}
	if len(raw) > maxBotAnswer {
		return nil, fmt.Errorf("bot %q: answer larger than %d bytes", bot, maxBotAnswer)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil // 204 or an empty 200: nothing to add yet
	}
	var out BotResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("bot %q: answer is not {\"actions\": [...]}: %v", bot, err)
	}
	return out.Actions, nil
}

// SignBotRequest returns the X-Parley-Signature value for body sent at
// unix time ts.
func SignBotRequest(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
