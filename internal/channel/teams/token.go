package teams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// tokenMargin: a cached token is replaced this long before it expires, so
// a request never leaves with a token that dies on the way.
const tokenMargin = 5 * time.Minute

// tokenCache holds the bot's access tokens (client credentials grant), one
// per token endpoint, app and secret.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]*tokenEntry
}

type tokenEntry struct {
	mu      sync.Mutex // one fetch at a time per key
	token   string
	expires time.Time
}

func newTokenCache() *tokenCache { return &tokenCache{entries: map[string]*tokenEntry{}} }

func tokenKey(poc *channel.PointOfContact) string {
	sum := sha256.Sum256([]byte(poc.Credential(CredentialAppPassword)))
	return tokenURL(poc) + "\x00" + appID(poc) + "\x00" + hex.EncodeToString(sum[:8])
}

func (c *tokenCache) entry(key string) *tokenEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		if len(c.entries) >= maxCachedConversations {
			c.entries = map[string]*tokenEntry{}
		}
		e = &tokenEntry{}
		c.entries[key] = e
	}
	return e
}

// botToken returns a token for the Bot Connector, from the cache while it
// has more than tokenMargin to live. Failures are *channel.SendError.
func (a *Adapter) botToken(ctx context.Context, poc *channel.PointOfContact) (string, error) {
	e := a.tokens.entry(tokenKey(poc))
	e.mu.Lock()
	defer e.mu.Unlock()
	now := a.now()
	if e.token != "" && now.Before(e.expires.Add(-tokenMargin)) {
		return e.token, nil
	}
	tok, ttl, err := a.fetchToken(ctx, poc)
	if err != nil {
		return "", err
	}
	e.token, e.expires = tok, now.Add(ttl)
	return tok, nil
}

// dropToken forgets a token the Bot Connector refused, so the next send
// asks for a new one.
func (a *Adapter) dropToken(poc *channel.PointOfContact, token string) {
	e := a.tokens.entry(tokenKey(poc))
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token == token {
		e.token, e.expires = "", time.Time{}
	}
}

// expiresIn accepts expires_in as a number (v2 endpoint) or a string (v1).
type expiresIn int64

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*e = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*e = expiresIn(n)
	return nil
}

// fetchToken runs the client credentials grant.
func (a *Adapter) fetchToken(ctx context.Context, poc *channel.PointOfContact) (string, time.Duration, error) {
	app, secret := appID(poc), poc.Credential(CredentialAppPassword)
	if app == "" || secret == "" {
		return "", 0, &channel.SendError{Code: "configuration", Reason: "the point of contact has no app_id or app_password"}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app}, "client_secret": {secret}, "scope": {Scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL(poc), strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, &channel.SendError{Code: "configuration", Reason: "settings." + SettingTokenURL + ": " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return "", 0, &channel.SendError{Retryable: true, Reason: "the token endpoint is unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		AccessToken string    `json:"access_token"`
		TokenType   string    `json:"token_type"`
		ExpiresIn   expiresIn `json:"expires_in"`
		Error       string    `json:"error"`
		Description string    `json:"error_description"`
	}
	decodeErr := json.Unmarshal(body, &out)
	if resp.StatusCode == http.StatusOK && decodeErr == nil && out.AccessToken != "" {
		ttl := time.Duration(out.ExpiresIn) * time.Second
		if ttl <= 0 {
			ttl = time.Hour // the grant's documented lifetime when none is given
		}
		return out.AccessToken, ttl, nil
	}
	reason := out.Description
	if reason == "" {
		reason = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	code := "token"
	if out.Error != "" {
		code = "token:" + out.Error
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return "", 0, &channel.SendError{Retryable: true, Code: "token", Reason: "the token endpoint answered without an access_token"}
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", 0, &channel.SendError{Retryable: true, Code: code, Reason: reason, RetryAfter: channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())}
	case resp.StatusCode >= 500:
		return "", 0, &channel.SendError{Retryable: true, Code: code, Reason: reason}
	}
	// invalid_client, unauthorized_client, invalid_scope…: the
	// credentials are wrong, and retrying will not fix them.
	return "", 0, &channel.SendError{Code: code, Reason: "the bot's credentials were refused (check app_id and app_password): " + reason}
}
