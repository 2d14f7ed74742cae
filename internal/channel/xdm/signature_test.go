package xdm

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/xdm/fake"
)

// TestCRCVector reproduces CHANNELS.md's X CRC test vector.
func TestCRCVector(t *testing.T) {
	const want = "sha256=vBSRzUXeCkTvnJA+2lC+sxfPGfmHWz/CY/vfLDMSob4="
	if got := Sign("consumersecret", []byte("crctoken123")); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if got := fake.Sign("consumersecret", []byte("crctoken123")); got != want {
		t.Fatalf("fake: got %s", got)
	}
}

func TestHandshake(t *testing.T) {
	e := newEnv(t)
	// Byte for byte what X expects.
	w := httptest.NewRecorder()
	if !e.a.Handshake(w, httptest.NewRequest(http.MethodGet, "/webhooks/p?crc_token=crctoken123", nil), e.poc) {
		t.Fatal("CRC not handled")
	}
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" ||
		w.Body.String() != `{"response_token":"sha256=vBSRzUXeCkTvnJA+2lC+sxfPGfmHWz/CY/vfLDMSob4="}` {
		t.Fatalf("%d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	// What is not a CRC goes on to Authenticate (or the core's 405).
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/webhooks/p", nil),
		httptest.NewRequest(http.MethodPost, "/webhooks/p?crc_token=x", strings.NewReader("{}")),
	} {
		if e.a.Handshake(httptest.NewRecorder(), r, e.poc) {
			t.Fatalf("%s %s handled", r.Method, r.URL)
		}
	}
	w = httptest.NewRecorder()
	if !e.a.Handshake(w, httptest.NewRequest(http.MethodGet, "/webhooks/p?crc_token=", nil), e.poc) || w.Code != 400 {
		t.Fatalf("empty token: %d", w.Code)
	}
	// X's own check, over HTTP, passes.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.a.Handshake(w, r, e.poc) {
			http.Error(w, "no", http.StatusMethodNotAllowed)
		}
	}))
	defer srv.Close()
	ok, err := fake.CRC(srv.URL, testSecret, "a-fresh-token_123")
	if err != nil || !ok {
		t.Fatalf("CRC over HTTP: %v %v", ok, err)
	}
	if ok, _ := fake.CRC(srv.URL, "another-secret", "tok"); ok {
		t.Fatal("a CRC with another secret must not match")
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	body := fake.Payload(business, fake.Text(ana, business, "1", "hi", at))
	req := func(sig string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/p", nil)
		if sig != "" {
			r.Header.Set("x-twitter-webhooks-signature", sig)
		}
		return r
	}
	if err := e.a.Authenticate(req(fake.Sign(testSecret, body)), body, e.poc); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	for name, sig := range map[string]string{
		"missing":       "",
		"other secret":  fake.Sign("nope", body),
		"other body":    fake.Sign(testSecret, append([]byte(" "), body...)),
		"no prefix":     strings.TrimPrefix(fake.Sign(testSecret, body), "sha256="),
		"hex not b64":   "sha256=0e9e0080a310f376450c46d999aa4d49ed772bfe43c13205f38a3a6e6611ed2b",
		"garbage":       "sha256=!!!",
		"prefix only":   "sha256=",
		"wrong scheme":  "sha1=" + strings.TrimPrefix(fake.Sign(testSecret, body), "sha256="),
		"trailing junk": fake.Sign(testSecret, body) + "x",
	} {
		if err := e.a.Authenticate(req(sig), body, e.poc); !errors.Is(err, channel.ErrUnauthenticated) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
