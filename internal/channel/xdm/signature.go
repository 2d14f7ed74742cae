package xdm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// maxCRCToken bounds the crc_token echoed back (X's are a few dozen bytes).
const maxCRCToken = 1024

// Sign is the x-twitter-webhooks-signature value of a body, and the CRC
// response_token of a crc_token: "sha256=" + base64(HMAC-SHA256(consumer
// secret, message)).
func Sign(consumerSecret string, message []byte) string {
	m := hmac.New(sha256.New, []byte(consumerSecret))
	m.Write(message)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Handshake answers X's Challenge-Response Check: GET ?crc_token=… → 200
// {"response_token":"sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}.
// X sends it when the webhook is registered and then about hourly; a wrong
// answer disables the webhook. Other requests are not handshakes.
func (a *Adapter) Handshake(w http.ResponseWriter, r *http.Request, poc *channel.PointOfContact) bool {
	if r.Method != http.MethodGet || !r.URL.Query().Has("crc_token") {
		return false
	}
	token := r.URL.Query().Get("crc_token")
	secret := poc.Credential(CredentialConsumerSecret)
	switch {
	case token == "" || len(token) > maxCRCToken:
		http.Error(w, "crc_token must be 1 to 1024 bytes", http.StatusBadRequest)
		return true
	case secret == "":
		http.Error(w, "this point of contact has no consumer secret", http.StatusForbidden)
		return true
	}
	out, _ := json.Marshal(map[string]string{"response_token": Sign(secret, []byte(token))})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
	return true
}

// Authenticate checks x-twitter-webhooks-signature on the raw body, in
// constant time.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	secret := poc.Credential(CredentialConsumerSecret)
	got := strings.TrimSpace(r.Header.Get(SignatureHeader))
	if secret == "" || !strings.HasPrefix(got, "sha256=") {
		return channel.ErrUnauthenticated
	}
	if !hmac.Equal([]byte(got), []byte(Sign(secret, body))) {
		return channel.ErrUnauthenticated
	}
	return nil
}
