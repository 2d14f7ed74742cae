package apple

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/channel"
)

var errBadSecret = errors.New("apple: the MSP secret is not base64 of at least 16 bytes")

// Authenticate checks the Bearer token Apple's gateway signs every delivery
// with: HS256 only, keyed with the base64-decoded MSP secret, audience the
// MSP id, issued-at not in the future and expiry not past (both with
// TokenLeeway on the adapter's clock), and a token without expiry no older
// than MaxTokenAge. The body plays no part: the token covers the request.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return fmt.Errorf("%w: no Bearer token", channel.ErrUnauthenticated)
	}
	if err := a.verifyToken(token, poc); err != nil {
		return fmt.Errorf("%w: %v", channel.ErrUnauthenticated, err)
	}
	return nil
}

func (a *Adapter) verifyToken(token string, poc *channel.PointOfContact) error {
	key, err := secretKey(poc.Credential(CredentialMSPSecret))
	if err != nil {
		return err
	}
	mspID := poc.Credential(CredentialMSPID)
	if mspID == "" {
		return errors.New("no MSP id configured")
	}
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithAudience(mspID),
		jwt.WithIssuedAt(), jwt.WithLeeway(TokenLeeway), jwt.WithTimeFunc(a.now))
	if _, err := parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		return err
	}
	switch {
	case claims.IssuedAt == nil && claims.ExpiresAt == nil:
		// Without either, a captured token would be valid for ever.
		return errors.New("token has neither iat nor exp")
	case claims.ExpiresAt == nil && a.now().Sub(claims.IssuedAt.Time) > MaxTokenAge+TokenLeeway:
		return fmt.Errorf("token issued at %s is too old", claims.IssuedAt.Time.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// token signs the JWT Parley presents to the gateway: HS256 with the
// decoded MSP secret, issuer and audience the MSP id, issued now (Apple's
// own samples send iss and iat; CHANNELS.md adds aud).
func (a *Adapter) token(poc *channel.PointOfContact) (string, error) {
	key, err := secretKey(poc.Credential(CredentialMSPSecret))
	if err != nil {
		return "", err
	}
	mspID := poc.Credential(CredentialMSPID)
	// MapClaims keeps aud a plain string, as Apple documents for a
	// single recipient (RegisteredClaims would write a one-element array).
	claims := jwt.MapClaims{"iss": mspID, "aud": mspID, "iat": a.now().Unix()}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
}
