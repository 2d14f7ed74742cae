package bridge

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature is WeChat's server signature: the parts (token, timestamp,
// nonce — and, in safe mode, the Encrypt field) sorted, concatenated,
// hashed with SHA-1 and written in lower-case hex.
func Signature(parts ...string) string {
	sorted := append([]string(nil), parts...)
	sort.Strings(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, "")))
	return hex.EncodeToString(sum[:])
}

// CheckSignature reports whether signature is WeChat's signature of the
// other parts, compared in constant time.
func CheckSignature(signature string, parts ...string) bool {
	want := Signature(parts...)
	got := strings.ToLower(strings.TrimSpace(signature))
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ParleySignatureHeader is the header on every callback Parley sends:
//
//	X-Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>
//
// The HMAC key is the point of contact's secret exactly as Parley returned
// it (the whole "whsec_…" string, as bytes).
const ParleySignatureHeader = "X-Parley-Signature"

// DefaultTolerance is how far a callback signature's timestamp may be from
// the local clock, in either direction.
const DefaultTolerance = 5 * time.Minute

// Errors returned by VerifyParleySignature.
var (
	ErrSignatureMissing   = errors.New("signature header missing")
	ErrSignatureMalformed = errors.New("signature header malformed")
	ErrSignatureMismatch  = errors.New("signature does not match")
	ErrSignatureExpired   = errors.New("signature timestamp outside tolerance")
)

// SignParley returns the X-Parley-Signature value Parley would send for
// body at time t (for tests and tools).
func SignParley(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(parleyMAC(secret, ts, body))
}

func parleyMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifyParleySignature checks an X-Parley-Signature header against the raw
// request body: one of its v1 values must be the HMAC of "<t>." + body
// (compared in constant time) and t must be within tolerance of now.
// Unknown keys are ignored and several v1 values are allowed, so the check
// keeps working while Parley signs with more than one secret.
func VerifyParleySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrSignatureMissing
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			if ts != "" || !isDigits(v) || len(v) > 18 {
				return ErrSignatureMalformed
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrSignatureMalformed
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	expected := parleyMAC(secret, ts, body)
	match := false
	for _, sig := range sigs {
		match = hmac.Equal(expected, sig) || match // no early exit
	}
	if !match {
		return ErrSignatureMismatch
	}
	sec, _ := strconv.ParseInt(ts, 10, 64) // digits only, at most 18 of them
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
