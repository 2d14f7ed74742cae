package bridge

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// The vector in CHANNELS.md §"Signature test vectors" and docs/byoc.md.
func TestWeChatSignatureVector(t *testing.T) {
	const want = "f43b4a6571a6552356f482636e5a77e7fa33dcc9"
	if got := Signature("token", "1409304348", "xxxxxx"); got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
	// The parts are sorted, so their order does not matter.
	if got := Signature("xxxxxx", "token", "1409304348"); got != want {
		t.Fatalf("Signature (other order) = %s", got)
	}
	for _, tc := range []struct {
		name, sig string
		parts     []string
		ok        bool
	}{
		{"valid", want, []string{"token", "1409304348", "xxxxxx"}, true},
		{"upper-case hex", strings.ToUpper(want), []string{"token", "1409304348", "xxxxxx"}, true},
		{"wrong token", want, []string{"other", "1409304348", "xxxxxx"}, false},
		{"wrong nonce", want, []string{"token", "1409304348", "xxxxxy"}, false},
		{"truncated", want[:39], []string{"token", "1409304348", "xxxxxx"}, false},
		{"empty", "", []string{"token", "1409304348", "xxxxxx"}, false},
	} {
		if got := CheckSignature(tc.sig, tc.parts...); got != tc.ok {
			t.Errorf("%s: CheckSignature = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// The vector docs/byoc.md gives for Parley's callback signature.
func TestParleySignatureVector(t *testing.T) {
	got := SignParley([]byte("whsec_test_secret"), time.Unix(1700000000, 0), []byte(`{"message_id":"m1"}`))
	want := "t=1700000000,v1=975b8e54e597022fdcf513312d7f880bf8dbc9cb1520fbec97d1d07f1d49fa54"
	if got != want {
		t.Fatalf("SignParley = %q, want %q", got, want)
	}
}

func TestVerifyParleySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	secret := []byte("whsec_test_secret")
	body := []byte(`{"message_id":"m1","recipient":{"id":"o1"},"text":"hi"}`)
	valid := SignParley(secret, now, body)
	validSig := strings.SplitN(valid, ",v1=", 2)[1]
	for _, tc := range []struct {
		name   string
		secret []byte
		header string
		body   []byte
		want   error
	}{
		{"valid", secret, valid, body, nil},
		{"valid among several v1", secret, "t=1800000000,v1=" + strings.Repeat("00", 32) + ",v1=" + validSig, body, nil},
		{"unknown scheme ignored", secret, valid + ",v2=x", body, nil},
		{"wrong secret", []byte("whsec_other"), valid, body, ErrSignatureMismatch},
		{"tampered body", secret, valid, bytes.Replace(body, []byte("hi"), []byte("ho"), 1), ErrSignatureMismatch},
		{"too old", secret, SignParley(secret, now.Add(-6*time.Minute), body), body, ErrSignatureExpired},
		{"from the future", secret, SignParley(secret, now.Add(6*time.Minute), body), body, ErrSignatureExpired},
		{"missing", secret, "", body, ErrSignatureMissing},
		{"garbage", secret, "garbage", body, ErrSignatureMalformed},
		{"no v1", secret, "t=1800000000", body, ErrSignatureMalformed},
		{"two t", secret, "t=1,t=2,v1=" + validSig, body, ErrSignatureMalformed},
		{"v1 not hex", secret, "t=1800000000,v1=zz", body, ErrSignatureMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifyParleySignature(tc.secret, tc.header, tc.body, now, DefaultTolerance); !errors.Is(err, tc.want) {
				t.Fatalf("VerifyParleySignature = %v, want %v", err, tc.want)
			}
		})
	}
}
