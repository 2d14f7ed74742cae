package chat

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Token errors. All of them mean 401 to the widget.
var (
	ErrBadToken     = errors.New("chat: malformed or forged token")
	ErrExpiredToken = errors.New("chat: token expired")
)

// Session tokens. A session token names one visitor of one point of
// contact. It is "cs1." + base64url(JSON claims) + "." +
// base64url(HMAC-SHA256(key, "cs1." + base64url(JSON claims))), the key
// being HMAC-SHA256(identity_secret, "parley chat session v1"): rotating
// the identity secret ends every session.
const (
	sessionPrefix = "cs1."
	// SessionTTL is how long a session token is accepted as is.
	SessionTTL = 30 * 24 * time.Hour
	// SessionRenewGrace is how long after expiry a token may still be
	// exchanged for a fresh one with the same visitor id (POST /session).
	SessionRenewGrace = 365 * 24 * time.Hour
	maxTokenLength    = 4096
)

// session is what a session token carries.
type session struct {
	PoC       string `json:"p"`
	VisitorID string `json:"v"`
	Name      string `json:"n,omitempty"`
	Email     string `json:"e,omitempty"`
	Verified  bool   `json:"ver,omitempty"` // from an identity token
	Prechat   bool   `json:"pc,omitempty"`  // the pre-chat form was answered
	IssuedAt  int64  `json:"iat"`
	Expires   int64  `json:"exp"`
}

func sessionKey(identitySecret string) []byte {
	m := hmac.New(sha256.New, []byte(identitySecret))
	m.Write([]byte("parley chat session v1"))
	return m.Sum(nil)
}

func signSession(identitySecret string, s session) string {
	b, _ := json.Marshal(s)
	body := sessionPrefix + base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, sessionKey(identitySecret))
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verifySession checks a session token's signature and point of contact.
// It returns the claims with ErrExpiredToken when the token is genuine but
// expired (the caller decides on renewal).
func verifySession(identitySecret, pocID, token string, now time.Time) (session, error) {
	var s session
	if identitySecret == "" || len(token) > maxTokenLength || !strings.HasPrefix(token, sessionPrefix) {
		return s, ErrBadToken
	}
	i := strings.LastIndexByte(token, '.')
	if i <= len(sessionPrefix) {
		return s, ErrBadToken
	}
	body, sig := token[:i], token[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return s, ErrBadToken
	}
	m := hmac.New(sha256.New, sessionKey(identitySecret))
	m.Write([]byte(body))
	if !hmac.Equal(got, m.Sum(nil)) {
		return s, ErrBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(body[len(sessionPrefix):])
	if err != nil || json.Unmarshal(raw, &s) != nil {
		return session{}, ErrBadToken
	}
	if s.PoC != pocID || s.VisitorID == "" {
		return session{}, ErrBadToken
	}
	if now.Unix() >= s.Expires {
		return s, ErrExpiredToken
	}
	return s, nil
}

// Identity is a visitor identity a business vouched for.
type Identity struct {
	Subject string // the business's stable user id; the visitor id is "id:"+Subject
	Name    string
	Email   string
	Expires time.Time
}

type identityClaims struct {
	Sub   string      `json:"sub"`
	Name  string      `json:"name"`
	Email string      `json:"email"`
	Exp   json.Number `json:"exp"`
	Nbf   json.Number `json:"nbf"`
}

// VerifyIdentityToken checks a visitor identity token signed by the
// business with the point of contact's identity_secret. Two formats:
//
//   - a JWT (compact JWS) with header {"alg":"HS256"} — no other alg is
//     accepted — and claims sub (required), exp (required, seconds),
//     nbf (optional), name, email (optional);
//   - the simple form: base64(claims JSON) + "." + hex(HMAC-SHA256(secret,
//     base64(claims JSON))), the HMAC taken over the base64 text exactly as
//     sent (standard or URL alphabet, padded or not); same claims.
//
// sub is at most 128 characters without control characters; tokens
// expire (exp is required) and are compared in constant time.
func VerifyIdentityToken(secret, token string, now time.Time) (Identity, error) {
	if secret == "" || token == "" || len(token) > maxTokenLength {
		return Identity{}, ErrBadToken
	}
	parts := strings.Split(token, ".")
	var payload []byte
	switch len(parts) {
	case 3: // JWT
		hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			return Identity{}, ErrBadToken
		}
		var h struct {
			Alg  string `json:"alg"`
			Crit any    `json:"crit"`
		}
		if json.Unmarshal(hdr, &h) != nil || h.Alg != "HS256" || h.Crit != nil {
			return Identity{}, ErrBadToken
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			return Identity{}, ErrBadToken
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(parts[0] + "." + parts[1]))
		if !hmac.Equal(sig, m.Sum(nil)) {
			return Identity{}, ErrBadToken
		}
		if payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
			return Identity{}, ErrBadToken
		}
	case 2: // base64(payload).hex(hmac)
		sig, err := hex.DecodeString(parts[1])
		if err != nil {
			return Identity{}, ErrBadToken
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(parts[0]))
		if !hmac.Equal(sig, m.Sum(nil)) {
			return Identity{}, ErrBadToken
		}
		if payload, err = decodeAnyBase64(parts[0]); err != nil {
			return Identity{}, ErrBadToken
		}
	default:
		return Identity{}, ErrBadToken
	}
	var c identityClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return Identity{}, ErrBadToken
	}
	if c.Sub == "" || utf8.RuneCountInString(c.Sub) > 128 || hasControl(c.Sub) {
		return Identity{}, ErrBadToken
	}
	exp, err := c.Exp.Float64()
	if err != nil {
		return Identity{}, ErrBadToken
	}
	if float64(now.Unix()) >= exp {
		return Identity{}, ErrExpiredToken
	}
	if c.Nbf != "" {
		nbf, err := c.Nbf.Float64()
		if err != nil || float64(now.Unix())+60 < nbf {
			return Identity{}, ErrBadToken
		}
	}
	id := Identity{Subject: c.Sub, Name: clip(c.Name, 200), Expires: time.Unix(int64(exp), 0)}
	if e, ok := normalEmail(c.Email); ok {
		id.Email = e
	}
	return id, nil
}

func decodeAnyBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, ErrBadToken
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
