package teams

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/channel"
)

// Token validation (CHANNELS.md §10; the Bot Framework SDKs' channel
// validation): RS256 only, issuer https://api.botframework.com, audience
// the App ID, exp and nbf with 5 minutes of clock skew, a key of the
// metadata's JWKS whose endorsements include the activity's channelId, and
// a serviceurl claim equal to the activity's serviceUrl.
const (
	clockSkew = 5 * time.Minute
	// keyRefreshInterval: the keys are re-read once a day (Microsoft
	// rotates them with notice, publishing new keys before using them).
	keyRefreshInterval = 24 * time.Hour
	// keyRefetchInterval bounds re-reads for a kid not in the cache (a key
	// rotated in early) or after a failed read: at most one a minute per
	// metadata URL, so tokens with made-up kids cannot make Parley hammer
	// Microsoft.
	keyRefetchInterval = time.Minute
	maxTokenBytes      = 16 << 10
	maxMetadataBytes   = 1 << 20
)

// signingKey is one key of the JWKS with the channels it may sign for.
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

// keySet is the cached JWKS of one metadata URL.
type keySet struct {
	mu      sync.Mutex
	keys    map[string]signingKey
	fetched time.Time // last successful read
	tried   time.Time // last attempt
}

type keyCache struct {
	mu   sync.Mutex
	sets map[string]*keySet
}

func newKeyCache() *keyCache { return &keyCache{sets: map[string]*keySet{}} }

func (c *keyCache) set(metadataURL string) *keySet {
	c.mu.Lock()
	defer c.mu.Unlock()
	ks := c.sets[metadataURL]
	if ks == nil {
		ks = &keySet{}
		c.sets[metadataURL] = ks
	}
	return ks
}

// connectorClaims are the claims of a Bot Connector token. JSON matching is
// case-insensitive, so "serviceUrl" fills ServiceURL too.
type connectorClaims struct {
	jwt.RegisteredClaims
	ServiceURL string `json:"serviceurl"`
}

// Authenticate validates the Bot Connector's bearer token against the
// activity in the body. Any failure is channel.ErrUnauthenticated (401).
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	if err := a.verify(r.Context(), r.Header.Get("Authorization"), body, poc); err != nil {
		return fmt.Errorf("%w: %v", channel.ErrUnauthenticated, err)
	}
	return nil
}

func (a *Adapter) verify(ctx context.Context, authorization string, body []byte, poc *channel.PointOfContact) error {
	scheme, raw, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return errors.New("no bearer token")
	}
	if len(raw) > maxTokenBytes {
		return errors.New("token too large")
	}
	app := appID(poc)
	if app == "" {
		return errors.New("the point of contact has no app_id")
	}
	// The token is bound to the activity it comes with: its channel (the
	// key's endorsements) and its serviceUrl (the claim).
	var act struct {
		ChannelID  string `json:"channelId"`
		ServiceURL string `json:"serviceUrl"`
	}
	if err := json.Unmarshal(body, &act); err != nil {
		return fmt.Errorf("body is not an activity: %v", err)
	}
	if act.ChannelID == "" || act.ServiceURL == "" {
		return errors.New("activity without channelId or serviceUrl")
	}
	var claims connectorClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}), jwt.WithIssuer(Issuer),
		jwt.WithLeeway(clockSkew), jwt.WithTimeFunc(a.now), jwt.WithExpirationRequired())
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token without kid")
		}
		k, err := a.signingKey(ctx, metadataURL(poc), kid)
		if err != nil {
			return nil, err
		}
		if !contains(k.endorsements, act.ChannelID) {
			return nil, fmt.Errorf("key %s is not endorsed for channel %q", kid, act.ChannelID)
		}
		return k.pub, nil
	})
	if err != nil {
		return err
	}
	audOK := false
	for _, aud := range claims.Audience {
		if strings.EqualFold(aud, app) {
			audOK = true
		}
	}
	if !audOK {
		return fmt.Errorf("audience %v is not this bot's app id", []string(claims.Audience))
	}
	if claims.ServiceURL == "" || claims.ServiceURL != act.ServiceURL {
		return fmt.Errorf("serviceurl claim %q does not match the activity's serviceUrl %q", claims.ServiceURL, act.ServiceURL)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// signingKey returns a key of the metadata's JWKS: from the cache, re-read
// once a day, and re-read (at most once a minute) for a kid the cache does
// not have. A failed re-read keeps the keys already known: an outage of
// Microsoft's metadata endpoint must not reject genuine traffic.
func (a *Adapter) signingKey(ctx context.Context, metadata, kid string) (signingKey, error) {
	ks := a.keys.set(metadata)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := a.now()
	_, known := ks.keys[kid]
	stale := ks.keys == nil || now.Sub(ks.fetched) >= keyRefreshInterval
	mayTry := ks.tried.IsZero() || now.Sub(ks.tried) >= keyRefetchInterval || now.Before(ks.tried)
	if (stale || !known) && mayTry {
		ks.tried = now
		keys, err := a.fetchKeys(ctx, metadata)
		switch {
		case err == nil:
			ks.keys, ks.fetched = keys, now
		case ks.keys == nil:
			return signingKey{}, fmt.Errorf("reading the signing keys: %v", err)
		}
	}
	k, ok := ks.keys[kid]
	if !ok {
		return signingKey{}, fmt.Errorf("unknown signing key %q", kid)
	}
	return k, nil
}

// fetchKeys reads the OpenID metadata, then the JWKS it names.
func (a *Adapter) fetchKeys(ctx context.Context, metadata string) (map[string]signingKey, error) {
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := a.getJSON(ctx, metadata, &meta); err != nil {
		return nil, fmt.Errorf("OpenID metadata: %w", err)
	}
	if !httpURL(meta.JWKSURI) {
		return nil, fmt.Errorf("OpenID metadata: no usable jwks_uri (%q)", meta.JWKSURI)
	}
	var set struct {
		Keys []struct {
			Kty          string   `json:"kty"`
			Use          string   `json:"use"`
			Kid          string   `json:"kid"`
			N            string   `json:"n"`
			E            string   `json:"e"`
			Endorsements []string `json:"endorsements"`
		} `json:"keys"`
	}
	if err := a.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	keys := map[string]signingKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := rsaKey(k.N, k.E)
		if err != nil {
			continue
		}
		keys[k.Kid] = signingKey{pub: pub, endorsements: append([]string(nil), k.Endorsements...)}
	}
	if len(keys) == 0 {
		return nil, errors.New("keys: no RSA signing key")
	}
	return keys, nil
}

func rsaKey(n, e string) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(n, "="))
	if err != nil {
		return nil, err
	}
	eb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(e, "="))
	if err != nil {
		return nil, err
	}
	if len(nb) < 256 || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("not a usable RSA key (at least 2048 bits)")
	}
	exp := 0
	for _, b := range eb {
		exp = exp<<8 | int(b)
	}
	if exp < 3 || exp%2 == 0 {
		return nil, errors.New("bad RSA exponent")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: exp}, nil
}

func (a *Adapter) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxMetadataBytes)).Decode(v)
}
