package fake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func start(t *testing.T) *Server {
	t.Helper()
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// post sends a message to the fake as the business would.
func post(t *testing.T, s *Server, token string, body map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/message", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Id", body["id"].(string))
	req.Header.Set("Source-Id", s.Options().BusinessID)
	req.Header.Set("Destination-Id", body["destinationId"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func businessToken(t *testing.T, s *Server, issuer string) string {
	t.Helper()
	key, _ := decodeSecret(s.Options().Secret)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": issuer, "iat": time.Now().Unix()}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMessageChecks(t *testing.T) {
	s := start(t)
	good := businessToken(t, s, s.Options().MSPID)
	msg := func(extra map[string]any) map[string]any {
		m := map[string]any{"v": 1, "id": "0b1c2d3e-4f50-4617-8899-aabbccddeeff", "sourceId": s.Options().BusinessID, "destinationId": "urn:mbid:x"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	if status, body := post(t, s, good, msg(map[string]any{"type": "text", "body": "hi"})); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if status, _ := post(t, s, businessToken(t, s, "another-msp"), msg(map[string]any{"type": "text", "body": "hi"})); status != 401 {
		t.Fatalf("wrong issuer: %d", status)
	}
	six := []any{}
	for i := 0; i < 6; i++ {
		six = append(six, map[string]any{"identifier": string(rune('a' + i)), "title": "x"})
	}
	for name, extra := range map[string]map[string]any{
		"no body":          {"type": "text"},
		"unknown type":     {"type": "carousel"},
		"six quick items":  {"type": "interactive", "interactiveData": map[string]any{"bid": AppleBID, "data": map[string]any{"version": "1.0", "requestIdentifier": "r", "quick-reply": map[string]any{"items": six}}}},
		"no request id":    {"type": "interactive", "interactiveData": map[string]any{"bid": AppleBID, "data": map[string]any{"version": "1.0", "listPicker": map[string]any{}}}},
		"bad bid":          {"type": "interactive", "interactiveData": map[string]any{"bid": "com.example"}},
		"attachment marks": {"type": "text", "body": "no marks", "attachments": []any{map[string]any{"name": "a"}}},
	} {
		if status, _ := post(t, s, good, msg(extra)); status != 400 {
			t.Fatalf("%s: %d", name, status)
		}
	}
	s.Block("urn:mbid:x")
	if status, _ := post(t, s, good, msg(map[string]any{"type": "text", "body": "hi"})); status != 410 {
		t.Fatalf("blocked: %d", status)
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("%d accepted", n)
	}
}

func TestSayTapAndReceived(t *testing.T) {
	s := start(t)
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("Capability-List") != DefaultCapabilities {
			http.Error(w, "bad delivery", 400)
			return
		}
		zr, err := gzipReader(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(zr, &m)
		got = append(got, m)
	}))
	defer hook.Close()
	if status, _, err := s.Say(hook.URL, "urn:mbid:ana", "hello"); err != nil || status != 200 {
		t.Fatalf("%d %v", status, err)
	}
	// What the business sent the customer: a quick reply.
	key, _ := decodeSecret(s.Options().Secret)
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": s.Options().MSPID, "iat": time.Now().Unix()}).SignedString(key)
	status, body := post(t, s, tok, map[string]any{"v": 1, "id": "0b1c2d3e-4f50-4617-8899-aabbccddeeff", "type": "interactive", "sourceId": s.Options().BusinessID,
		"destinationId": "urn:mbid:ana", "interactiveData": map[string]any{"bid": AppleBID, "data": map[string]any{"version": "1.0", "requestIdentifier": "req-1",
			"quick-reply": map[string]any{"summaryText": "OK?", "items": []any{map[string]any{"identifier": "yes", "title": "Yes"}, map[string]any{"identifier": "no", "title": "No"}}}}}})
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if n := len(s.Received("urn:mbid:ana")); n != 1 {
		t.Fatalf("received %d", n)
	}
	if status, _, err := s.Tap(hook.URL, "urn:mbid:ana", "no"); err != nil || status != 200 {
		t.Fatalf("%d %v", status, err)
	}
	if _, _, err := s.Tap(hook.URL, "urn:mbid:ana", "maybe"); err == nil {
		t.Fatal("tapped an option nobody offered")
	}
	if len(got) != 2 || got[0]["body"] != "hello" {
		t.Fatalf("got %v", got)
	}
	qr := got[1]["interactiveData"].(map[string]any)["data"].(map[string]any)["quick-reply"].(map[string]any)
	if qr["selectedIdentifier"] != "no" || qr["selectedIndex"] != 1.0 {
		t.Fatalf("got %v", qr)
	}
}

func gzipReader(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
