package gbm

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/gbm/fake"
)

// TestSignatureVector: base64(HMAC-SHA512(client token, body)), checked
// against a value computed independently (Python's hmac module) for the
// body of CHANNELS.md's other vectors.
func TestSignatureVector(t *testing.T) {
	const want = "0xnu5btkRmVJ7aItsqdRvEjbm6LcnTPsort0Xko9xivsxSdgC8boxxsE5msysmlJ5fozELs2XN3ZeETociNS1w=="
	body := []byte(`{"object":"page","entry":[]}`)
	if got := Sign("clienttoken", body); got != want {
		t.Fatalf("got %s", got)
	}
	if got := fake.Sign("clienttoken", body); got != want {
		t.Fatalf("fake: got %s", got)
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	body := fake.Payload(e.fk.Agent(), ana, fake.Text(ana, "m1", "hi", at), at)
	req := func(sig string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/p", nil)
		if sig != "" {
			r.Header.Set("X-Goog-Signature", sig)
		}
		return r
	}
	if err := e.a.Authenticate(req(fake.Sign(testClientToken, body)), body, e.poc); err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string]string{
		"missing":      "",
		"other token":  fake.Sign("other", body),
		"other body":   fake.Sign(testClientToken, append(body, ' ')),
		"sha256 sized": "0e9e0080a310f376450c46d999aa4d49ed772bfe43c13205f38a3a6e6611ed2b",
		"prefixed":     "sha512=" + fake.Sign(testClientToken, body),
	} {
		if err := e.a.Authenticate(req(sig), body, e.poc); !errors.Is(err, channel.ErrUnauthenticated) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestVerification: the webhook verification POST is answered with the
// secret as plain text, byte for byte; a wrong client token is refused;
// anything else is left, body intact, to Authenticate and Parse.
func TestVerification(t *testing.T) {
	e := newEnv(t)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/webhooks/p", bytes.NewReader(fake.Verification("1234567890", testClientToken)))
	if !e.a.Handshake(w, r, e.poc) {
		t.Fatal("verification not handled")
	}
	if w.Code != 200 || w.Body.String() != "1234567890" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %q %q", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
	w = httptest.NewRecorder()
	if !e.a.Handshake(w, httptest.NewRequest(http.MethodPost, "/webhooks/p", bytes.NewReader(fake.Verification("s", "not-ours"))), e.poc) || w.Code != 403 {
		t.Fatalf("wrong client token: %d", w.Code)
	}
	body := fake.Payload(e.fk.Agent(), ana, fake.Text(ana, "m1", "hi", at), at)
	big := fake.Payload(e.fk.Agent(), ana, fake.Text(ana, "m2", strings.Repeat("long ", 2000), at), at)
	for _, b := range [][]byte{body, big, []byte(`{"secret":"s","clientToken":"` + testClientToken + `","conversationId":"c"}`)} {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/p", bytes.NewReader(b))
		if e.a.Handshake(httptest.NewRecorder(), r, e.poc) {
			t.Fatalf("handled a delivery: %.80s", b)
		}
		rest, _ := io.ReadAll(r.Body)
		if !bytes.Equal(rest, b) {
			t.Fatalf("body not restored: %d of %d bytes", len(rest), len(b))
		}
	}
	if e.a.Handshake(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/webhooks/p", nil), e.poc) {
		t.Fatal("GET handled")
	}
	// The platform's own check, over HTTP.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.a.Handshake(w, r, e.poc) {
			http.Error(w, "not a verification", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	if ok, err := fake.Verify(srv.URL, "s3cr3t-98765", testClientToken); err != nil || !ok {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := fake.Verify(srv.URL, "s3cr3t", "wrong"); ok {
		t.Fatal("verified with a wrong client token")
	}
}
