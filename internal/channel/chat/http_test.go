package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/internal/channel"
)

func TestOriginsAndCORS(t *testing.T) {
	e := newEnv(t, nil)
	base := "/chat/" + e.poc.ID
	var cfg map[string]any
	h := e.do(t, "GET", base+"/config", "https://shop.example", nil, 200, &cfg)
	if h.Get("Access-Control-Allow-Origin") != "https://shop.example" || cfg["title"] != "Chat with us" {
		t.Errorf("config: %v %v", h, cfg)
	}
	e.do(t, "GET", base+"/config", "https://evil.example", nil, 403, nil)
	e.do(t, "GET", base+"/config", "", nil, 200, nil) // same-origin GET carries no Origin
	e.do(t, "POST", base+"/session", "", map[string]any{}, 403, nil)
	e.do(t, "POST", base+"/session", "https://evil.example", map[string]any{}, 403, nil)
	h = e.do(t, "OPTIONS", base+"/session", "https://shop.example", nil, 204, nil)
	if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %v", h)
	}
	e.do(t, "GET", "/chat/nope/config", "https://shop.example", nil, 404, nil)

	// WebSocket from another site: refused before the upgrade.
	s := e.session(t, nil)
	ctx := context.Background()
	_, resp, err := websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+base+"/ws?token="+s.Token,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("evil origin ws: %v %v", err, resp)
	}
	_, resp, err = websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+base+"/ws?token=forged",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {e.origin}}})
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("forged token ws: %v %v", err, resp)
	}
	e.do(t, "GET", base+"/history?token="+s.Token+"x", e.origin, nil, 401, nil)
}

func TestAllowAnyOriginAndWidget(t *testing.T) {
	e := newEnv(t, map[string]any{SettingAllowedOrigins: nil, SettingAllowAnyOrigin: true})
	e.do(t, "GET", "/chat/"+e.poc.ID+"/config", "https://anything.example", nil, 200, nil)
	resp, err := http.Get(e.srv.URL + "/widget.js?v=" + e.a.Version())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(string(body), ".parley-root{") || strings.Contains(string(body), "__PARLEY_") {
		t.Errorf("widget: %v", resp.Header)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/widget.js", nil)
	req.Header.Set("If-None-Match", `"`+e.a.Version()+`"`)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 304 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=300") {
		t.Errorf("revalidation: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Get(e.srv.URL + "/demo/site?poc=" + e.poc.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `data-point-of-contact="`+e.poc.ID+`"`) {
		t.Errorf("demo page: %s", body)
	}
}

func TestSessions(t *testing.T) {
	e := newEnv(t, map[string]any{SettingPrechatForm: map[string]any{"enabled": true, "fields": []any{
		map[string]any{"name": "name", "label": "Name", "type": "text", "required": true},
		map[string]any{"name": "email", "label": "Email", "type": "email"},
		map[string]any{"name": "order", "label": "Order number", "type": "text"},
	}}})
	s1 := e.session(t, nil)
	if !strings.HasPrefix(s1.VisitorID, "v_") || !s1.PrechatNeeded {
		t.Fatalf("anonymous: %+v", s1)
	}
	// The stored token keeps the visitor (reload, another tab).
	if s2 := e.session(t, map[string]any{"token": s1.Token}); s2.VisitorID != s1.VisitorID {
		t.Errorf("renewal changed the visitor: %+v", s2)
	}
	// A forged token is a new visitor.
	if s3 := e.session(t, map[string]any{"token": s1.Token[:len(s1.Token)-3] + "AAA"}); s3.VisitorID == s1.VisitorID {
		t.Error("forged token kept the visitor")
	}
	// Pre-chat answers: checked, then in the session.
	e.do(t, "POST", "/chat/"+e.poc.ID+"/session", e.origin, map[string]any{"token": s1.Token, "prechat": map[string]string{"email": "ana@example.com"}}, 400, nil)
	e.do(t, "POST", "/chat/"+e.poc.ID+"/session", e.origin, map[string]any{"token": s1.Token, "prechat": map[string]string{"name": "Ana", "email": "nope"}}, 400, nil)
	e.do(t, "POST", "/chat/"+e.poc.ID+"/session", e.origin, map[string]any{"token": s1.Token, "prechat": map[string]string{"name": "Ana", "shoe": "42"}}, 400, nil)
	var got []Visitor
	e.a.onVisitor = func(ctx context.Context, poc *channel.PointOfContact, v Visitor) { got = append(got, v) }
	s4 := e.session(t, map[string]any{"token": s1.Token, "prechat": map[string]string{"name": "Ana", "email": "ana@example.com", "order": "A-1"}})
	if s4.VisitorID != s1.VisitorID || s4.Name != "Ana" || s4.Email != "ana@example.com" || s4.PrechatNeeded {
		t.Errorf("prechat: %+v", s4)
	}
	if len(got) != 1 || got[0].Fields["order"] != "A-1" || got[0].Verified {
		t.Errorf("OnVisitor: %+v", got)
	}
	// A verified identity: a stable visitor id, name and email from it.
	idTok := jwt(t, e.secret, map[string]any{"alg": "HS256"}, map[string]any{"sub": "cust-7", "name": "Bea", "email": "bea@example.com", "exp": time.Now().Add(time.Hour).Unix()})
	s5 := e.session(t, map[string]any{"token": s4.Token, "identity_token": idTok})
	if s5.VisitorID != "id:cust-7" || !s5.Verified || s5.Email != "bea@example.com" || s5.PrechatNeeded {
		t.Errorf("verified: %+v", s5)
	}
	// The page stops vouching (signed out): the verified thread is not kept.
	if s6 := e.session(t, map[string]any{"token": s5.Token}); s6.VisitorID == "id:cust-7" || s6.Verified {
		t.Errorf("verified session outlived its identity: %+v", s6)
	}
	// A forged identity is refused.
	bad := jwt(t, "not-the-secret-not-the-secret-xx", map[string]any{"alg": "HS256"}, map[string]any{"sub": "cust-7", "exp": time.Now().Add(time.Hour).Unix()})
	e.do(t, "POST", "/chat/"+e.poc.ID+"/session", e.origin, map[string]any{"identity_token": bad}, 401, nil)
}

func upload(t *testing.T, e *env, token, name string, data []byte, want int) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("client_id", "upload-0001")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/chat/"+e.poc.ID+"/upload?token="+token, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.origin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		t.Fatalf("upload %s: %d, want %d: %v", name, resp.StatusCode, want, out)
	}
	return out
}

func TestUploads(t *testing.T) {
	e := newEnv(t, nil)
	s := e.session(t, nil)
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
	out := upload(t, e, s.Token, "photo.png", png, 200)
	evs := e.inbox.Events()
	if len(evs) != 1 || len(evs[0].Attachments) != 1 || evs[0].Attachments[0].MimeType != "image/png" || evs[0].ThreadID != s.VisitorID ||
		out["message_id"] != "in-1" || evs[0].PlatformMessageID != s.VisitorID+"|upload-0001" {
		t.Fatalf("upload event: %+v %v", evs, out)
	}
	upload(t, e, s.Token, "setup.exe", []byte("MZ\x90\x00rest"), 415)
	upload(t, e, s.Token, "invoice.pdf", []byte("MZ\x90\x00rest"), 415) // an executable named .pdf
	upload(t, e, s.Token, "photo.png", []byte("<svg onload=alert(1)>"), 415)
	upload(t, e, s.Token, "page.html", []byte("<html><script>"), 415)
	upload(t, e, s.Token, "big.txt", bytes.Repeat([]byte("a"), MaxUploadBytes+1), 413)
	upload(t, e, s.Token+"x", "a.txt", []byte("hello"), 401)
	if n := len(e.inbox.Events()); n != 1 {
		t.Errorf("refused uploads reached the inbox: %d", n)
	}
}

func TestRateLimitFailsClosed(t *testing.T) {
	l := newLimiter(1, 2)
	if !l.allow("a") || !l.allow("a") || l.allow("a") {
		t.Error("burst")
	}
	if !l.allow("b") {
		t.Error("other key")
	}
	l.max = 100
	for i := range l.max {
		l.m[strconv.Itoa(i)] = &bucket{l: nil, last: time.Now()}
	}
	if l.allow("new") {
		t.Error("a full table must refuse new keys")
	}
}
