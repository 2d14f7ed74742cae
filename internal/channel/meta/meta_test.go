package meta

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandshake(t *testing.T) {
	for _, c := range []struct {
		query  string
		status int
		body   string
	}{
		{"hub.mode=subscribe&hub.verify_token=tok&hub.challenge=1158201444", 200, "1158201444"},
		{"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", 403, ""},
		{"hub.mode=unsubscribe&hub.verify_token=tok&hub.challenge=1", 403, ""},
	} {
		w := httptest.NewRecorder()
		if !Handshake(w, httptest.NewRequest("GET", "/webhooks/x?"+c.query, nil), "tok") {
			t.Fatal("GET not handled")
		}
		if w.Code != c.status || (c.body != "" && w.Body.String() != c.body) {
			t.Errorf("%s: %d %q", c.query, w.Code, w.Body.String())
		}
	}
	if Handshake(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil), "tok") {
		t.Error("POST treated as a handshake")
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"object":"page"}`)
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Hub-Signature-256", Sign("secret", body))
	if err := VerifySignature(r, body, "secret"); err != nil {
		t.Fatal(err)
	}
	if VerifySignature(r, body, "other") == nil || VerifySignature(r, []byte(`{}`), "secret") == nil {
		t.Fatal("bad signature accepted")
	}
	r.Header.Del("X-Hub-Signature-256")
	if VerifySignature(r, body, "secret") == nil {
		t.Fatal("missing signature accepted")
	}
}

func TestClassify(t *testing.T) {
	resp := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	now := time.Now()
	if se := Classify(resp(400, ""), []byte(`{"error":{"message":"Re-engagement message","code":131047,"error_data":{"details":"More than 24 hours have passed"}}}`), now); se == nil || se.Retryable || se.Code != "131047" || !strings.Contains(se.Reason, "24 hours") {
		t.Fatalf("131047: %+v", se)
	}
	if se := Classify(resp(400, ""), []byte(`{"error":{"message":"Rate limit hit","code":130429}}`), now); se == nil || !se.Retryable {
		t.Fatalf("130429: %+v", se)
	}
	if se := Classify(resp(429, "7"), []byte(`{}`), now); se == nil || !se.Retryable || se.RetryAfter != 7*time.Second {
		t.Fatalf("429: %+v", se)
	}
	if se := Classify(resp(200, ""), nil, now); se != nil {
		t.Fatal("200 classified as an error")
	}
}
