package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header on every callback Parley sends:
//
//	X-Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>
//
// The HMAC key is the point of contact's secret exactly as Parley returned it
// (the whole "whsec_…" string, as bytes).
const SignatureHeader = "X-Parley-Signature"

// DefaultTolerance is how far a signature's timestamp may be from the local
// clock, in either direction, before the callback is refused.
const DefaultTolerance = 5 * time.Minute

// Errors returned by VerifySignature.
var (
	ErrSignatureMissing   = errors.New("signature header missing")
	ErrSignatureMalformed = errors.New("signature header malformed")
	ErrSignatureMismatch  = errors.New("signature does not match")
	ErrSignatureExpired   = errors.New("signature timestamp outside tolerance")
)

// Sign returns the X-Parley-Signature value Parley would send for body at
// time t. The echo middleware does not need it; tests and tools do.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(computeMAC(secret, ts, body))
}

func computeMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks an X-Parley-Signature header against the raw request
// body. It accepts the header only if one of its v1 values is the HMAC of
// "<t>." + body under secret (compared in constant time) and t is within
// tolerance of now. Unknown keys (a future v2, say) are ignored, and several
// v1 values are allowed, so a verifier keeps working while Parley signs with
// more than one secret.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
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

	expected := computeMAC(secret, ts, body)
	match := 0
	for _, sig := range sigs {
		match |= subtleEqual(expected, sig)
	}
	if match == 0 {
		return ErrSignatureMismatch
	}

	sec, _ := strconv.ParseInt(ts, 10, 64) // isDigits and the length bound make this safe
	age := now.Sub(time.Unix(sec, 0))
	if age > tolerance || age < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}

// subtleEqual is hmac.Equal as an int, so the loop above does not stop early.
func subtleEqual(a, b []byte) int {
	if hmac.Equal(a, b) {
		return 1
	}
	return 0
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
