package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// DefaultWeChatAPI is where WeChat's server API lives.
const DefaultWeChatAPI = "https://api.weixin.qq.com"

// WeChat error codes the middleware acts on.
const (
	ErrcodeSystemBusy          = -1    // "system error": try again later
	ErrcodeInvalidCredential   = 40001 // the access token is invalid or not the latest
	ErrcodeInvalidAccessToken  = 40014 // the access token is malformed
	ErrcodeAccessTokenExpired  = 42001
	ErrcodeResponseOutOfTime   = 45015 // outside the 48-hour window, or the user unfollowed
	ErrcodeResponseCountLimit  = 45047 // too many messages since the user's last message
	ErrcodeInvalidMediaID      = 40007
	ErrcodeInvalidOpenID       = 40003
	ErrcodeAPIUnauthorized     = 48001
	ErrcodeAPIFrequencyLimited = 45009
)

// WeChatError is an answer from WeChat's API with a non-zero errcode.
type WeChatError struct {
	Op      string // what was being done: "access token", "send", "upload"
	Errcode int
	Errmsg  string
}

func (e *WeChatError) Error() string {
	if e.Op == "access token" {
		return fmt.Sprintf("WeChat %d while getting an access token (check the AppID, AppSecret and IP whitelist): %s", e.Errcode, e.Errmsg)
	}
	return fmt.Sprintf("WeChat %d: %s", e.Errcode, e.Errmsg)
}

// Temporary reports whether trying again later may succeed.
func (e *WeChatError) Temporary() bool { return e.Errcode == ErrcodeSystemBusy }

// tokenRejected reports whether errcode says the access token is no good.
func tokenRejected(errcode int) bool {
	return errcode == ErrcodeInvalidCredential || errcode == ErrcodeInvalidAccessToken || errcode == ErrcodeAccessTokenExpired
}

// WeChatClient calls the Official Account API: the access token, the
// customer-service message API and the temporary-media upload. It keeps the
// access token in memory until shortly before it expires, and fetches a new
// one at once when WeChat says the token is invalid or expired.
//
// Each fetch of a new token makes WeChat retire the previous one within
// minutes, so run one middleware instance per Official Account (or give
// every instance a token from one central place).
type WeChatClient struct {
	BaseURL   string // DefaultWeChatAPI, or a fake's URL
	AppID     string
	AppSecret string
	HTTP      *http.Client
	Now       func() time.Time
	Log       *slog.Logger

	lock    chan struct{} // one token fetch at a time; guards the fields below
	token   string
	expires time.Time
}

// NewWeChatClient makes a client. hc may be nil.
func NewWeChatClient(baseURL, appID, appSecret string, hc *http.Client, now func() time.Time, log *slog.Logger) *WeChatClient {
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WeChatClient{BaseURL: strings.TrimRight(baseURL, "/"), AppID: appID, AppSecret: appSecret, HTTP: hc, Now: now, Log: log,
		lock: make(chan struct{}, 1)}
}

func (c *WeChatClient) acquire(ctx context.Context) error {
	select {
	case c.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *WeChatClient) release() { <-c.lock }

// AccessToken returns a valid access token, fetching one if the cached one
// is missing or about to expire.
func (c *WeChatClient) AccessToken(ctx context.Context) (string, error) {
	if err := c.acquire(ctx); err != nil {
		return "", err
	}
	defer c.release()
	if c.token != "" && c.Now().Before(c.expires) {
		return c.token, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {c.AppID}, "secret": {c.AppSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/cgi-bin/token?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Errcode     int    `json:"errcode"`
		Errmsg      string `json:"errmsg"`
	}
	if err := c.roundTrip(req, &out); err != nil {
		return "", fmt.Errorf("access token: %w", err)
	}
	if out.Errcode != 0 || out.AccessToken == "" {
		if out.Errcode == 0 {
			out.Errcode, out.Errmsg = ErrcodeSystemBusy, "no access_token in the answer"
		}
		return "", &WeChatError{Op: "access token", Errcode: out.Errcode, Errmsg: out.Errmsg}
	}
	lifetime := time.Duration(out.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = 7200 * time.Second
	}
	// Refresh a little early, so a token never expires in flight.
	if lifetime > 10*time.Minute {
		lifetime -= 5 * time.Minute
	} else {
		lifetime /= 2
	}
	c.token, c.expires = out.AccessToken, c.Now().Add(lifetime)
	c.Log.Info("wechat access token fetched", "valid_for", lifetime)
	return c.token, nil
}

// forget drops the cached token if it is still the one WeChat refused.
func (c *WeChatClient) forget(ctx context.Context, token string) {
	if c.acquire(ctx) != nil {
		return
	}
	if c.token == token {
		c.token, c.expires = "", time.Time{}
	}
	c.release()
}

// call makes an API call with a token, fetching a new token and trying once
// more if WeChat says the token is invalid or expired. build makes a fresh
// request for a token (bodies cannot be replayed).
func (c *WeChatClient) call(ctx context.Context, op string, build func(token string) (*http.Request, error), out any) error {
	for attempt := 1; ; attempt++ {
		token, err := c.AccessToken(ctx)
		if err != nil {
			return err
		}
		req, err := build(token)
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := c.roundTrip(req, &raw); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		var env struct {
			Errcode int    `json:"errcode"`
			Errmsg  string `json:"errmsg"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			return fmt.Errorf("%s: decoding WeChat's answer: %w", op, err)
		}
		if tokenRejected(env.Errcode) && attempt == 1 {
			c.Log.Warn("wechat refused the access token, fetching a new one", "errcode", env.Errcode)
			c.forget(ctx, token)
			continue
		}
		if env.Errcode != 0 {
			return &WeChatError{Op: op, Errcode: env.Errcode, Errmsg: env.Errmsg}
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("%s: decoding WeChat's answer: %w", op, err)
			}
		}
		return nil
	}
}

// roundTrip sends req and decodes a JSON answer into out. Errors never
// carry the request URL, which holds the access token or the app secret.
func (c *WeChatClient) roundTrip(req *http.Request, out any) error {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s %s%s: %w", ue.Op, req.URL.Host, req.URL.Path, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading WeChat's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &httpStatusError{code: resp.StatusCode}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("WeChat's answer is not JSON: %w", err)
	}
	return nil
}

type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return fmt.Sprintf("WeChat answered HTTP %d", e.code) }

func (c *WeChatClient) apiURL(path, token string, extra url.Values) string {
	q := url.Values{"access_token": {token}}
	for k, v := range extra {
		q[k] = v
	}
	return c.BaseURL + path + "?" + q.Encode()
}

// SendText sends a customer-service text message.
func (c *WeChatClient) SendText(ctx context.Context, openID, text string) error {
	return c.sendCustom(ctx, map[string]any{"touser": openID, "msgtype": "text", "text": map[string]string{"content": text}})
}

// SendImage sends a customer-service image message, by temporary media id.
func (c *WeChatClient) SendImage(ctx context.Context, openID, mediaID string) error {
	return c.sendCustom(ctx, map[string]any{"touser": openID, "msgtype": "image", "image": map[string]string{"media_id": mediaID}})
}

func (c *WeChatClient) sendCustom(ctx context.Context, msg map[string]any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return c.call(ctx, "send", func(token string) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL("/cgi-bin/message/custom/send", token, nil), bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
		return req, err
	}, nil)
}

// UploadImage uploads an image as temporary media (kept 3 days by WeChat)
// and returns its media_id.
func (c *WeChatClient) UploadImage(ctx context.Context, name, contentType string, data []byte) (string, error) {
	var out struct {
		MediaID string `json:"media_id"`
	}
	err := c.call(ctx, "upload", func(token string) (*http.Request, error) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename=%q`, name))
		h.Set("Content-Type", contentType)
		part, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := part.Write(data); err != nil {
			return nil, err
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL("/cgi-bin/media/upload", token, url.Values{"type": {"image"}}), &buf)
		if err == nil {
			req.Header.Set("Content-Type", mw.FormDataContentType())
		}
		return req, err
	}, &out)
	if err != nil {
		return "", err
	}
	if out.MediaID == "" {
		return "", &WeChatError{Op: "upload", Errcode: ErrcodeSystemBusy, Errmsg: "no media_id in the answer"}
	}
	return out.MediaID, nil
}
