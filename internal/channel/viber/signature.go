package viber

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// SignatureHeader carries Viber's callback signature.
const SignatureHeader = "X-Viber-Content-Signature"

// AuthTokenHeader carries the bot's token on API calls.
const AuthTokenHeader = "X-Viber-Auth-Token"

// Sign is the X-Viber-Content-Signature of a body: lowercase hex
// HMAC-SHA256 of the raw bytes, keyed with the bot's auth token.
func Sign(authToken string, body []byte) string {
	m := hmac.New(sha256.New, []byte(authToken))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Authenticate checks X-Viber-Content-Signature over the raw body in
// constant time. Every callback is signed, the set_webhook check included.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	token := poc.Credential(CredentialAuthToken)
	got := strings.ToLower(strings.TrimSpace(r.Header.Get(SignatureHeader)))
	if token == "" || got == "" {
		return channel.ErrUnauthenticated
	}
	if !hmac.Equal([]byte(got), []byte(Sign(token, body))) {
		return channel.ErrUnauthenticated
	}
	return nil
}
