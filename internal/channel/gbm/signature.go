package gbm

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// Sign is the X-Goog-Signature of a body: base64(HMAC-SHA512(client token, body)).
func Sign(clientToken string, body []byte) string {
	m := hmac.New(sha512.New, []byte(clientToken))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Authenticate checks X-Goog-Signature on the raw body, in constant time.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	token := poc.Credential(CredentialClientToken)
	got := strings.TrimSpace(r.Header.Get(SignatureHeader))
	if token == "" || got == "" || !hmac.Equal([]byte(got), []byte(Sign(token, body))) {
		return channel.ErrUnauthenticated
	}
	return nil
}

// verification is the request Business Messages sends when a webhook is
// configured.
type verification struct {
	Secret      string `json:"secret"`
	ClientToken string `json:"clientToken"`
}

// readCloser puts a peeked body back in front of the rest of the request.
type readCloser struct {
	io.Reader
	io.Closer
}

// Handshake answers the webhook verification: a POST of
// {"secret":"…","clientToken":"…"}. When the client token is this point of
// contact's, it answers 200 with the secret as plain text, which is how
// Business Messages confirms the webhook; another token gets 403. Any
// other request is left, body intact, to Authenticate and Parse.
func (a *Adapter) Handshake(w http.ResponseWriter, r *http.Request, poc *channel.PointOfContact) bool {
	if r.Method != http.MethodPost || r.Body == nil {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxVerificationBytes+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if err != nil || len(head) > maxVerificationBytes {
		return false
	}
	var v verification
	var fields map[string]json.RawMessage
	if json.Unmarshal(head, &fields) != nil || json.Unmarshal(head, &v) != nil || v.Secret == "" || v.ClientToken == "" {
		return false
	}
	for _, k := range []string{"conversationId", "message", "suggestionResponse", "receipts", "userStatus"} {
		if _, ok := fields[k]; ok {
			return false // a delivery that happens to carry such fields
		}
	}
	token := poc.Credential(CredentialClientToken)
	if token == "" || !hmac.Equal([]byte(v.ClientToken), []byte(token)) {
		http.Error(w, "client token does not match this point of contact", http.StatusForbidden)
		return true
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, v.Secret)
	return true
}
