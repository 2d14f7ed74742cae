package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
	"github.com/parleyhq/parley/examples/byoc-wechat/fakewechat"
)

const (
	pocID       = "0199b6a0-0000-7000-8000-000000000001"
	byocToken   = "byoc_test_token"
	byocSecret  = "whsec_test_secret"
	callbackURL = bridge.CallbackPath
)

// fakeParley plays Parley's BYOC API: it checks the token and records
// inbound messages (deduplicated by id, as Parley does) and receipts.
type fakeParley struct {
	mu            sync.Mutex
	inbound       []bridge.InboundMessage
	posts         map[string]int
	statuses      []bridge.Status
	statusRefused bool
	badAuth       int
}

func (f *fakeParley) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+byocToken {
		f.badAuth++
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/api/v1/byoc/" + pocID + "/messages":
		var m bridge.InboundMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.posts[m.ID]++
		dup := f.posts[m.ID] > 1
		if !dup {
			f.inbound = append(f.inbound, m)
		}
		_ = json.NewEncoder(w).Encode(bridge.InboundResult{MessageID: "pm-" + m.ID, CaseID: "case-1", Duplicate: dup})
	case "/api/v1/byoc/" + pocID + "/statuses":
		if f.statusRefused {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"title":"Not Found","status":404}`)
			return
		}
		var s bridge.Status
		_ = json.NewDecoder(r.Body).Decode(&s)
		f.statuses = append(f.statuses, s)
		_ = json.NewEncoder(w).Encode(map[string]string{"message_id": s.MessageID, "status": s.Status})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeParley) snapshot() ([]bridge.InboundMessage, []bridge.Status, map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	posts := map[string]int{}
	for k, v := range f.posts {
		posts[k] = v
	}
	return append([]bridge.InboundMessage(nil), f.inbound...), append([]bridge.Status(nil), f.statuses...), posts
}

// waitFor polls cond until it holds, for at most 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type env struct {
	t      *testing.T
	clock  *clock
	fw     *fakewechat.Server
	parley *fakeParley
	b      *bridge.Bridge
	url    string // the middleware
}

func newEnv(t *testing.T, queue int, forward bool) *env {
	t.Helper()
	return newEnvAES(t, queue, forward, "")
}

// newEnvAES sets up safe (encrypted) mode when aesKey is not empty.
func newEnvAES(t *testing.T, queue int, forward bool, aesKey string) *env {
	t.Helper()
	c := newClock()
	fw, err := fakewechat.Start(fakewechat.Config{AppID: appID, AppSecret: appSecret, Token: wxToken, EncodingAESKey: aesKey, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	fp := &fakeParley{posts: map[string]int{}}
	ps := httptest.NewServer(fp)
	t.Cleanup(ps.Close)
	cfg := bridge.Config{WeChatToken: wxToken, AppID: appID, AppSecret: appSecret, WeChatAPIURL: fw.URL,
		ParleyURL: ps.URL, PointOfContactID: pocID, ParleyToken: byocToken, ParleySecret: byocSecret, SendTimeout: 5 * time.Second,
		EncodingAESKey: aesKey, EnforcePolicy: true}
	b, err := bridge.New(cfg, bridge.Options{Log: slog.New(slog.DiscardHandler), Now: c.Now, RetryAfter: -1, QueueSize: queue})
	if err != nil {
		t.Fatal(err)
	}
	b.Parley.MaxAttempts, b.Parley.BaseDelay = 2, time.Millisecond
	srv := httptest.NewServer(b.Handler())
	t.Cleanup(srv.Close)
	if forward {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.RunForwarder(ctx, nil) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	return &env{t: t, clock: c, fw: fw, parley: fp, b: b, url: srv.URL}
}

func (e *env) push(m fakewechat.Message) fakewechat.PushResult {
	e.t.Helper()
	res, err := e.fw.Push(context.Background(), e.url+bridge.WeChatPath, m)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) callback(secret string, cb map[string]any) (int, map[string]any, http.Header) {
	e.t.Helper()
	body, _ := json.Marshal(cb)
	req, _ := http.NewRequest(http.MethodPost, e.url+callbackURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(bridge.ParleySignatureHeader, bridge.SignParley([]byte(secret), time.Now(), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func textCallback(id, openID, text string) map[string]any {
	return map[string]any{"message_id": id, "point_of_contact_id": pocID, "thread": map[string]string{"id": openID},
		"recipient": map[string]string{"id": openID}, "text": text, "content": nil, "rendered": nil, "attachments": []any{}}
}

func TestWeChatHandshakeAndSignatures(t *testing.T) {
	e := newEnv(t, 8, true)
	ctx := context.Background()
	endpoint := e.url + bridge.WeChatPath
	if ok, res, err := e.fw.Verify(ctx, endpoint); err != nil || !ok {
		t.Fatalf("handshake: ok=%v %+v %v", ok, res, err)
	}
	if ok, res, _ := e.fw.VerifyWithToken(ctx, endpoint, "wrong-token"); ok || res.Status != http.StatusForbidden {
		t.Fatalf("handshake with a wrong token: ok=%v %+v", ok, res)
	}
	res, err := e.fw.PushWithToken(ctx, endpoint, e.fw.NewText("oA", "forged"), "wrong-token")
	if err != nil || res.Status != http.StatusForbidden {
		t.Fatalf("forged push: %+v %v", res, err)
	}
	for _, path := range []string{"", "?signature=x&timestamp=1&nonce=2&echostr=e"} {
		resp, err := http.Get(endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("GET %q: %d", path, resp.StatusCode)
		}
	}
	// A correct signature on a timestamp 10 minutes old: a replay.
	stale, err := fakewechat.Start(fakewechat.Config{AppID: appID, AppSecret: appSecret, Token: wxToken, Now: e.clock.Now,
		PushNow: func() time.Time { return e.clock.Now().Add(-10 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	if res, err := stale.Push(ctx, endpoint, stale.NewText("oA", "replayed")); err != nil || res.Status != http.StatusForbidden {
		t.Fatalf("stale push: %+v %v", res, err)
	}
	// A real message afterwards goes through; the others never did.
	if res := e.push(e.fw.NewText("oA", "real")); res.Status != 200 || res.Body != "success" {
		t.Fatalf("push: %+v", res)
	}
	waitFor(t, "the message in parley", func() bool { in, _, _ := e.parley.snapshot(); return len(in) == 1 })
	in, _, _ := e.parley.snapshot()
	if in[0].Text != "real" {
		t.Fatalf("inbound %+v", in)
	}
}

func TestInboundMessages(t *testing.T) {
	e := newEnv(t, 8, true)
	text := e.fw.NewText("oA", "Where is my parcel?")
	for range 3 { // WeChat's retries of one message
		if res := e.push(text); res.Status != 200 || res.Body != "success" {
			t.Fatalf("push: %+v", res)
		}
	}
	e.push(e.fw.NewEvent("oB", "subscribe", ""))
	e.push(e.fw.NewEvent("oB", "CLICK", "MENU_HELP"))
	img := e.fw.NewImage("oA", png(), "image/png")
	e.push(img)
	waitFor(t, "two messages in parley", func() bool { in, _, _ := e.parley.snapshot(); return len(in) == 2 })
	in, _, posts := e.parley.snapshot()
	id := "wx-" + strconv.FormatInt(text.MsgID, 10)
	if in[0].ID != id || in[0].Text != "Where is my parcel?" || in[0].Thread.ID != "oA" || in[0].Author.ID != "oA" ||
		in[0].SentAt != e.clock.Now().Format(time.RFC3339) {
		t.Fatalf("text inbound %+v", in[0])
	}
	if posts[id] != 1 {
		t.Fatalf("the retried message was posted %d times, want 1", posts[id])
	}
	if len(in[1].Attachments) != 1 || in[1].Attachments[0].URL != img.PicURL || in[1].Text != "" {
		t.Fatalf("image inbound %+v", in[1])
	}
	for _, m := range in {
		if m.Author.ID == "oB" {
			t.Fatalf("an event was posted as a message: %+v", m)
		}
	}
}

func TestInboundQueueFull(t *testing.T) {
	e := newEnv(t, 1, false) // nobody forwards: the queue fills
	if res := e.push(e.fw.NewText("oA", "one")); res.Body != "success" {
		t.Fatalf("first: %+v", res)
	}
	m := e.fw.NewText("oA", "two")
	if res := e.push(m); res.Status != http.StatusServiceUnavailable {
		t.Fatalf("second: %+v", res)
	}
	// Refused, so not remembered: WeChat's retry is not mistaken for a
	// duplicate (here it meets the full queue again).
	if res := e.push(m); res.Status != http.StatusServiceUnavailable {
		t.Fatalf("retry: %+v", res)
	}
}

func TestCallbacks(t *testing.T) {
	e := newEnv(t, 8, true)
	e.push(e.fw.NewText("oA", "hello")) // opens the window, for the fake WeChat and for the policy

	if code, _, _ := e.callback("whsec_wrong", textCallback("m0", "oA", "forged")); code != http.StatusUnauthorized {
		t.Fatalf("forged callback: %d", code)
	}
	if code, out, _ := e.callback(byocSecret, textCallback("m1", "oA", "Hi Ana")); code != 200 || out["id"] != "wx-out-m1" {
		t.Fatalf("callback: %d %v", code, out)
	}
	// Parley redelivers: same answer, not sent twice.
	if code, out, _ := e.callback(byocSecret, textCallback("m1", "oA", "Hi Ana")); code != 200 || out["id"] != "wx-out-m1" {
		t.Fatalf("repeat: %d %v", code, out)
	}
	if sent := e.fw.SentTo("oA"); len(sent) != 1 || sent[0].Content != "Hi Ana" || sent[0].MsgType != "text" {
		t.Fatalf("sent %+v", sent)
	}

	// WeChat busy (-1): 503 for Parley to retry; the retry sends it once.
	e.fw.FailNext(-1, "system error")
	if code, _, _ := e.callback(byocSecret, textCallback("m2", "oA", "second")); code != http.StatusServiceUnavailable {
		t.Fatalf("busy: %d", code)
	}
	if code, _, _ := e.callback(byocSecret, textCallback("m2", "oA", "second")); code != 200 {
		t.Fatalf("retry: %d", code)
	}

	// Text and an image; the image server fails once: the retry sends the
	// image only.
	var files sync.Mutex
	fileFails := 1
	fs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		files.Lock()
		defer files.Unlock()
		if fileFails > 0 {
			fileFails--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png())
	}))
	defer fs.Close()
	withImage := textCallback("m3", "oA", "Here is the label")
	withImage["attachments"] = []map[string]any{{"id": "a1", "name": "label.png", "mime_type": "image/png", "size": len(png()), "url": fs.URL + "/files/a1"}}
	if code, _, _ := e.callback(byocSecret, withImage); code != http.StatusServiceUnavailable {
		t.Fatalf("image fetch failing: %d", code)
	}
	if code, _, _ := e.callback(byocSecret, withImage); code != 200 {
		t.Fatalf("image retry: %d", code)
	}
	var got []string
	for _, s := range e.fw.SentTo("oA") {
		got = append(got, s.MsgType+":"+s.Content)
	}
	if strings.Join(got, ",") != "text:Hi Ana,text:second,text:Here is the label,image:" {
		t.Fatalf("sent %v", got)
	}
	if img := e.fw.SentTo("oA")[3]; !bytes.Equal(img.Image, png()) {
		t.Fatal("the image bytes differ")
	}
	_, statuses, _ := e.parley.snapshot()
	if len(statuses) != 0 {
		t.Fatalf("receipts %+v", statuses)
	}

	// That was 4 of WeChat's 5: a message of two parts is refused whole.
	withImage["message_id"] = "m4"
	if code, out, _ := e.callback(byocSecret, withImage); code != 200 || out["id"] != "wx-out-m4" {
		t.Fatalf("over the limit: %d %v", code, out)
	}
	_, statuses, _ = e.parley.snapshot()
	if len(statuses) != 1 || statuses[0].MessageID != "m4" || statuses[0].Status != "failed" ||
		!strings.Contains(statuses[0].Reason, "reply limit") || !strings.Contains(statuses[0].Reason, "needs 2") {
		t.Fatalf("receipts %+v", statuses)
	}
	if n := len(e.fw.SentTo("oA")); n != 4 {
		t.Fatalf("%d sent, want 4", n)
	}

	// A file WeChat cannot carry.
	pdf := textCallback("m5", "oA", "Your invoice")
	pdf["attachments"] = []map[string]any{{"id": "a2", "name": "invoice.pdf", "mime_type": "application/pdf", "size": 9, "url": fs.URL + "/files/a2"}}
	e.callback(byocSecret, pdf)
	_, statuses, _ = e.parley.snapshot()
	if len(statuses) != 2 || statuses[1].MessageID != "m5" || !strings.Contains(statuses[1].Reason, `"invoice.pdf" (application/pdf)`) {
		t.Fatalf("receipts %+v", statuses)
	}

	// When the receipt cannot be posted, the callback answer carries the
	// reason (422, so Parley marks the message failed with it).
	e.parley.mu.Lock()
	e.parley.statusRefused = true
	e.parley.mu.Unlock()
	code, out, _ := e.callback(byocSecret, textCallback("m6", "oNobody", "hello?"))
	if code != http.StatusUnprocessableEntity || !strings.Contains(out["detail"].(string), "40003") {
		t.Fatalf("unknown follower, receipt refused: %d %v", code, out)
	}
	// A repeat gets the same answer, and WeChat is not called again.
	calls := e.fw.Calls("send")
	if code, _, _ := e.callback(byocSecret, textCallback("m6", "oNobody", "hello?")); code != http.StatusUnprocessableEntity {
		t.Fatalf("repeat of a failed message: %d", code)
	}
	if e.fw.Calls("send") != calls {
		t.Fatal("a failed message was sent to WeChat again")
	}
}

func TestCallbackWindowAndUnfollow(t *testing.T) {
	e := newEnv(t, 8, true)
	e.push(e.fw.NewText("oA", "hello"))
	e.clock.Advance(49 * time.Hour)
	e.callback(byocSecret, textCallback("m1", "oA", "Sorry for the delay"))
	e.push(e.fw.NewText("oB", "hello"))
	e.push(e.fw.NewEvent("oB", "unsubscribe", ""))
	e.callback(byocSecret, textCallback("m2", "oB", "Still there?"))
	_, statuses, _ := e.parley.snapshot()
	if len(statuses) != 2 || !strings.Contains(statuses[0].Reason, "48-hour reply window is closed") ||
		!strings.Contains(statuses[1].Reason, "unfollowed") {
		t.Fatalf("receipts %+v", statuses)
	}
	if n := e.fw.Calls("send"); n != 0 {
		t.Fatalf("WeChat was called %d times", n)
	}
}

func TestEncryptedMode(t *testing.T) {
	const key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
	e := newEnvAES(t, 8, true, key)
	if res := e.push(e.fw.NewText("oA", "secret hello")); res.Status != 200 || res.Body != "success" {
		t.Fatalf("encrypted push: %+v", res)
	}
	waitFor(t, "the decrypted message in parley", func() bool { in, _, _ := e.parley.snapshot(); return len(in) == 1 })
	if in, _, _ := e.parley.snapshot(); in[0].Text != "secret hello" || in[0].Author.ID != "oA" {
		t.Fatalf("inbound %+v", in[0])
	}

	// Without the key, an encrypted push is refused (and logged), not
	// mistaken for an empty message.
	plain := newEnv(t, 8, true)
	fw, err := fakewechat.Start(fakewechat.Config{AppID: appID, AppSecret: appSecret, Token: wxToken, EncodingAESKey: key, Now: plain.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	res, err := fw.Push(context.Background(), plain.url+bridge.WeChatPath, fw.NewText("oA", "x"))
	if err != nil || res.Status != http.StatusBadRequest {
		t.Fatalf("encrypted push without a key: %+v %v", res, err)
	}

	// Compatible mode: plaintext and Encrypt side by side; without the key
	// the plaintext is used.
	m := plain.fw.NewText("oC", "compatible")
	body := strings.Replace(string(plain.fw.XML(m)), "</xml>", "<Encrypt><![CDATA[c29tZXRoaW5n]]></Encrypt></xml>", 1)
	ts := strconv.FormatInt(plain.clock.Now().Unix(), 10)
	q := url.Values{"signature": {bridge.Signature(wxToken, ts, "42")}, "timestamp": {ts}, "nonce": {"42"}, "encrypt_type": {"aes"},
		"msg_signature": {bridge.Signature(wxToken, ts, "42", "c29tZXRoaW5n")}}
	resp, err := http.Post(plain.url+bridge.WeChatPath+"?"+q.Encode(), "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("compatible mode: %d", resp.StatusCode)
	}
	waitFor(t, "the compatible-mode message", func() bool {
		in, _, _ := plain.parley.snapshot()
		return len(in) == 1 && in[0].Text == "compatible"
	})
}
