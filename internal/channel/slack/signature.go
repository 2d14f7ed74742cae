package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Headers of Slack's request signing.
const (
	SignatureHeader = "X-Slack-Signature"
	TimestampHeader = "X-Slack-Request-Timestamp"
	// RetryNumHeader is set on Slack's retries of an Events API delivery
	// (1 to 3); the retried event is the same, with the same channel and
	// ts, so the core's dedupe absorbs it.
	RetryNumHeader = "X-Slack-Retry-Num"
)

// Signature is Slack's v0 request signature: "v0=" + lowercase hex of
// HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body).
func Signature(signingSecret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(signingSecret))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Authenticate checks X-Slack-Signature over the raw body, and that
// X-Slack-Request-Timestamp is within MaxSignatureAge of the adapter's
// clock (a replayed request is refused). The comparison is constant-time.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	secret := poc.Credential(CredentialSigningSecret)
	ts := strings.TrimSpace(r.Header.Get(TimestampHeader))
	got := strings.TrimSpace(r.Header.Get(SignatureHeader))
	if secret == "" || ts == "" || len(ts) > 20 || !strings.HasPrefix(got, "v0=") || len(got) > 128 {
		return channel.ErrUnauthenticated
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return channel.ErrUnauthenticated
	}
	age := a.now().Sub(time.Unix(secs, 0))
	if age > MaxSignatureAge || age < -MaxSignatureAge {
		return channel.ErrUnauthenticated
	}
	want := Signature(secret, ts, body)
	if !hmac.Equal([]byte(strings.ToLower(got)), []byte(want)) {
		return channel.ErrUnauthenticated
	}
	return nil
}
