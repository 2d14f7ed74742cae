package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
	"github.com/parleyhq/parley/examples/byoc-wechat/fakewechat"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// These tests run the middleware between the fake WeChat and a real Parley
// (internal/app, in process, on a fresh database — SQLite, or PostgreSQL when
// PARLEY_TEST_POSTGRES_URL is set), the way internal/app's own test runs
// examples/byoc-echo. The fake WeChat and the middleware's WeChat side share
// a fake clock; Parley and its callback signatures use the real one.

const (
	adminEmail    = "admin@example.com"
	adminPassword = "correct-horse-battery"
	appID         = "wx1234567890abcdef"
	appSecret     = "fake-app-secret-0123456789"
	wxToken       = "wechat-server-token"
)

// A 1×1 PNG.
const pngImage = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"

// png is a 1×1 PNG.
func png() []byte { return []byte(pngImage) }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lockedBuffer collects logs written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// parley is a running Parley driven over its HTTP API.
type parley struct {
	t     *testing.T
	url   string
	admin string
}

func startParley(t *testing.T) *parley {
	t.Helper()
	dbURL, dir := storetest.URL(t)
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL, AdminEmail: adminEmail, AdminPassword: adminPassword,
		BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond, Lease: 30 * time.Second,
		MaxAttempts: 6, CallbackTimeout: 15 * time.Second, BcryptCost: 4, AllowPrivateFetch: true,
		Getenv: func(string) string { return "" }}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatalf("start parley on %s: %v", storetest.Describe(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("parley: %v", err)
		}
	})
	p := &parley{t: t, url: a.URL()}
	var tok struct{ Token string }
	p.do("POST", "/api/v1/auth/token", "", map[string]string{"email": adminEmail, "password": adminPassword}, 201, &tok)
	p.admin = tok.Token
	return p
}

func (p *parley) do(method, path, token string, body any, want int, out any) {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, p.url+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		p.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

type pointOfContact struct{ ID, Token, Secret string }

// createBYOC creates the point of contact the way an admin does.
func (p *parley) createBYOC(callbackURL string) pointOfContact {
	p.t.Helper()
	var out struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
		Token, Secret  string
	}
	p.do("POST", "/api/v1/points-of-contact", p.admin, map[string]any{"type": "byoc", "name": "WeChat (fake)",
		"settings": map[string]any{"callback_url": callbackURL}}, 201, &out)
	return pointOfContact{ID: out.PointOfContact.ID, Token: out.Token, Secret: out.Secret}
}

type message struct {
	ID, Direction, Text, Status string
	StatusReason                string  `json:"status_reason"`
	PlatformMessageID           *string `json:"platform_message_id"`
	Author                      struct{ Type string }
	Attachments                 []struct {
		ID, Name string
		MimeType string `json:"mime_type"`
		Size     int64
	}
}

func (p *parley) messages(caseID string) []message {
	p.t.Helper()
	var page struct{ Items []message }
	p.do("GET", "/api/v1/cases/"+caseID+"/messages?limit=100", p.admin, nil, 200, &page)
	return page.Items
}

// findInbound returns the case and the inbound messages with this text.
func (p *parley) findInbound(text string) (string, []message) {
	p.t.Helper()
	var cases struct{ Items []struct{ ID string } }
	p.do("GET", "/api/v1/cases?limit=100", p.admin, nil, 200, &cases)
	for _, c := range cases.Items {
		var found []message
		for _, m := range p.messages(c.ID) {
			if m.Direction == "inbound" && m.Text == text {
				found = append(found, m)
			}
		}
		if len(found) > 0 {
			return c.ID, found
		}
	}
	return "", nil
}

// waitInbound waits for a customer message to be in a case.
func (p *parley) waitInbound(text string) (string, message) {
	p.t.Helper()
	var caseID string
	var found []message
	eventually(p.t, "the customer's message "+strconv.Quote(text)+" in Parley", func() bool {
		caseID, found = p.findInbound(text)
		return caseID != ""
	})
	if len(found) != 1 {
		p.t.Fatalf("%d messages %q in Parley, want 1", len(found), text)
	}
	return caseID, found[0]
}

// reply sends an agent reply and returns the message's id.
func (p *parley) reply(caseID string, body map[string]any) string {
	p.t.Helper()
	var m message
	p.do("POST", "/api/v1/cases/"+caseID+"/messages", p.admin, body, 202, &m)
	return m.ID
}

// settled waits until the outbound message is no longer pending.
func (p *parley) settled(caseID, id string) message {
	p.t.Helper()
	var got message
	eventually(p.t, "message "+id+" delivered or failed", func() bool {
		for _, m := range p.messages(caseID) {
			if m.ID == id && m.Status != "pending" {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func (p *parley) wantSent(caseID, id string) {
	p.t.Helper()
	m := p.settled(caseID, id)
	if m.Status != "sent" || m.PlatformMessageID == nil || *m.PlatformMessageID != bridge.OutboundID(id) {
		p.t.Fatalf("message %s: status %q (%s), platform id %v; want sent as %s", id, m.Status, m.StatusReason, m.PlatformMessageID, bridge.OutboundID(id))
	}
}

func (p *parley) wantFailed(caseID, id string, reasons ...string) string {
	p.t.Helper()
	m := p.settled(caseID, id)
	if m.Status != "failed" {
		p.t.Fatalf("message %s: status %q, want failed", id, m.Status)
	}
	for _, r := range reasons {
		if !strings.Contains(m.StatusReason, r) {
			p.t.Fatalf("message %s failed with %q, which does not say %q", id, m.StatusReason, r)
		}
	}
	p.t.Logf("failed as expected; the agent reads: %s", m.StatusReason)
	return m.StatusReason
}

// eventually polls cond until it holds, for at most 20 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// world is Parley, the fake WeChat and the middleware between them.
type world struct {
	t      *testing.T
	clock  *fakeClock
	parley *parley
	poc    pointOfContact
	wechat *fakewechat.Server
	mw     *bridge.Bridge
	cfg    bridge.Config
	mwURL  string
	logs   *lockedBuffer
}

func newWorld(t *testing.T, enforcePolicy bool) *world {
	t.Helper()
	w := &world{t: t, clock: &fakeClock{t: time.Now().UTC().Truncate(time.Second)}, logs: &lockedBuffer{}}
	var err error
	w.wechat, err = fakewechat.Start(fakewechat.Config{AppID: appID, AppSecret: appSecret, Token: wxToken, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.wechat.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.mwURL = "http://" + ln.Addr().String()
	w.parley = startParley(t)
	w.poc = w.parley.createBYOC(w.mwURL + bridge.CallbackPath)
	w.cfg = bridge.Config{Addr: ln.Addr().String(), WeChatToken: wxToken, AppID: appID, AppSecret: appSecret, WeChatAPIURL: w.wechat.URL,
		ParleyURL: w.parley.url, PointOfContactID: w.poc.ID, ParleyToken: w.poc.Token, ParleySecret: w.poc.Secret,
		ReplyWindow: 48 * time.Hour, ReplyLimit: 5, EnforcePolicy: enforcePolicy, SendTimeout: 10 * time.Second}
	w.mw = w.serve(ln)
	return w
}

// serve runs a middleware instance on ln until the test ends.
func (w *world) serve(ln net.Listener) *bridge.Bridge {
	w.t.Helper()
	b, err := bridge.New(w.cfg, bridge.Options{Log: slog.New(slog.NewTextHandler(w.logs, nil)), Now: w.clock.Now, RetryAfter: -1})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	w.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("middleware: %v", err)
		}
		if w.t.Failed() {
			w.t.Logf("middleware logs:\n%s", w.logs)
		}
	})
	return b
}

func (w *world) push(m fakewechat.Message) {
	w.t.Helper()
	w.pushTo(w.mwURL, m)
}

func (w *world) pushTo(base string, m fakewechat.Message) {
	w.t.Helper()
	res, err := w.wechat.PushWithRetries(context.Background(), base+bridge.WeChatPath, m)
	if err != nil || len(res) != 1 {
		w.t.Fatalf("push: %v %+v (WeChat would have retried)", err, res)
	}
}

// texts lists what the fake WeChat accepted for a follower.
func (w *world) texts(openID string) []string {
	var out []string
	for _, s := range w.wechat.SentTo(openID) {
		if s.MsgType == "image" {
			out = append(out, "[image]")
			continue
		}
		out = append(out, s.Content)
	}
	return out
}

func (w *world) noSecretsLogged() {
	w.t.Helper()
	logs := w.logs.String()
	for _, s := range []string{appSecret, w.poc.Token, w.poc.Secret, "FAKE_ACCESS_TOKEN", "access_token="} {
		if strings.Contains(logs, s) {
			w.t.Errorf("the middleware logged a secret (%.12s…)", s)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Parley")
	}
	w := newWorld(t, true)
	p := w.parley
	ctx := context.Background()

	// WeChat's console checks the server URL.
	if ok, res, err := w.wechat.Verify(ctx, w.mwURL+bridge.WeChatPath); err != nil || !ok {
		t.Fatalf("server URL check: %v %+v", err, res)
	}
	// A push signed with another token is refused and reaches nobody.
	res, err := w.wechat.PushWithToken(ctx, w.mwURL+bridge.WeChatPath, w.wechat.NewText("oMallory", "forged"), "not-the-token")
	if err != nil || res.Status != http.StatusForbidden {
		t.Fatalf("forged push: %+v %v", res, err)
	}

	// Ana writes; WeChat delivers her message three more times (its
	// retries): one message in Parley.
	hello := w.wechat.NewText("oAna", "Hello, my parcel has not arrived.")
	w.push(hello)
	for range 3 {
		w.push(hello)
	}
	caseID, in := p.waitInbound(hello.Content)
	if in.PlatformMessageID == nil || *in.PlatformMessageID != "wx-"+strconv.FormatInt(hello.MsgID, 10) {
		t.Fatalf("inbound platform id %v", in.PlatformMessageID)
	}
	// A second middleware instance (or this one after a restart) has no
	// memory of it: Parley's own dedupe on the id keeps it single.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.serve(ln2)
	w.pushTo("http://"+ln2.Addr().String(), hello)
	tick := w.wechat.NewText("oAna", "(marker)") // posted after the repeat, in order
	w.pushTo("http://"+ln2.Addr().String(), tick)
	p.waitInbound(tick.Content)
	if _, found := p.findInbound(hello.Content); len(found) != 1 {
		t.Fatalf("%d copies of the retried message in Parley", len(found))
	}

	// The agent answers in Parley: the middleware sends it with the
	// customer-service API, and Parley shows it sent.
	replyID := p.reply(caseID, map[string]any{"text": "Sorry to hear that, Ana. Let me check."})
	p.wantSent(caseID, replyID)
	if got := w.texts("oAna"); strings.Join(got, "|") != "Sorry to hear that, Ana. Let me check." {
		t.Fatalf("WeChat got %q", got)
	}

	// Ana sends a photo: Parley fetches it from its PicUrl.
	photo := w.wechat.NewImage("oAna", png(), "image/png")
	w.push(photo)
	eventually(t, "the photo in Parley", func() bool {
		for _, m := range p.messages(caseID) {
			if m.Direction == "inbound" && len(m.Attachments) == 1 {
				a := m.Attachments[0]
				if a.MimeType != "image/png" || a.Size != int64(len(png())) {
					t.Fatalf("attachment %+v", a)
				}
				req, _ := http.NewRequest("GET", p.url+"/api/v1/attachments/"+a.ID, nil)
				req.Header.Set("Authorization", "Bearer "+p.admin)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if !bytes.Equal(body, png()) {
					t.Fatalf("the stored photo differs (%d bytes)", len(body))
				}
				return true
			}
		}
		return false
	})

	// The agent answers with a picture: uploaded as temporary media, then
	// sent by media_id, after the text.
	withImage := p.reply(caseID, map[string]any{"text": "Is this your parcel?",
		"attachments": []map[string]string{{"data": base64.StdEncoding.EncodeToString(png()), "mime_type": "image/png", "name": "parcel.png"}}})
	p.wantSent(caseID, withImage)
	sent := w.wechat.SentTo("oAna")
	if len(sent) != 3 || sent[1].Content != "Is this your parcel?" || sent[2].MsgType != "image" || !bytes.Equal(sent[2].Image, png()) {
		t.Fatalf("WeChat got %+v", sent)
	}

	// Five messages per customer message: Ben writes once, the sixth reply
	// fails in Parley with the reason, and WeChat never sees it.
	ben := w.wechat.NewText("oBen", "Can you call me back?")
	w.push(ben)
	benCase, _ := p.waitInbound(ben.Content)
	var ids []string
	for i := 1; i <= 6; i++ {
		ids = append(ids, p.reply(benCase, map[string]any{"text": "Update " + strconv.Itoa(i)}))
	}
	for _, id := range ids[:5] {
		p.wantSent(benCase, id)
	}
	p.wantFailed(benCase, ids[5], "reply limit", "5 customer-service messages", "must write again")
	if got := w.texts("oBen"); len(got) != 5 || got[4] != "Update 5" {
		t.Fatalf("WeChat got %q", got)
	}
	// Ben writes again: the agent can answer again.
	w.push(w.wechat.NewText("oBen", "Thanks!"))
	p.waitInbound("Thanks!")
	p.wantSent(benCase, p.reply(benCase, map[string]any{"text": "You're welcome."}))

	// 48 hours: Cho writes, nobody answers for two days; the reply fails
	// with the reason before reaching WeChat.
	cho := w.wechat.NewText("oCho", "Is the shop open on Sunday?")
	w.push(cho)
	choCase, _ := p.waitInbound(cho.Content)
	w.clock.Advance(49 * time.Hour)
	late := p.reply(choCase, map[string]any{"text": "Yes, from 10 to 4."})
	p.wantFailed(choCase, late, "48-hour reply window is closed", "must write first")
	if got := w.texts("oCho"); len(got) != 0 {
		t.Fatalf("WeChat got %q", got)
	}
	// Cho writes again: the reply goes, with a new access token (two days
	// passed: the old one expired).
	fetches := w.wechat.TokenFetches()
	w.push(w.wechat.NewText("oCho", "Hello?"))
	p.waitInbound("Hello?")
	p.wantSent(choCase, p.reply(choCase, map[string]any{"text": "Sorry! Yes, from 10 to 4."}))
	if w.wechat.TokenFetches() != fetches+1 {
		t.Fatalf("token fetches %d → %d, want one more", fetches, w.wechat.TokenFetches())
	}

	// An unfollow closes the thread for good until the customer is back.
	w.push(w.wechat.NewEvent("oCho", "unsubscribe", ""))
	p.wantFailed(choCase, p.reply(choCase, map[string]any{"text": "Anything else?"}), "unfollowed")

	w.noSecretsLogged()
}

// TestEndToEndWeChatRefusals turns the middleware's own policy off, so the
// fake WeChat refuses (45015, 45047) and the middleware maps its answers.
func TestEndToEndWeChatRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Parley")
	}
	w := newWorld(t, false)
	p := w.parley

	dan := w.wechat.NewText("oDan", "Hi")
	w.push(dan)
	danCase, _ := p.waitInbound(dan.Content)
	w.clock.Advance(49 * time.Hour)
	p.wantFailed(danCase, p.reply(danCase, map[string]any{"text": "Hello Dan"}), "WeChat 45015", "48-hour")

	w.push(w.wechat.NewText("oDan", "Hi again"))
	p.waitInbound("Hi again")
	var ids []string
	for i := 1; i <= 6; i++ {
		ids = append(ids, p.reply(danCase, map[string]any{"text": "Reply " + strconv.Itoa(i)}))
	}
	for _, id := range ids[:5] {
		p.wantSent(danCase, id)
	}
	p.wantFailed(danCase, ids[5], "WeChat 45047", "out of response count limit")

	// WeChat busy (-1): the middleware answers 503, Parley retries, and the
	// message reaches WeChat once.
	eva := w.wechat.NewText("oEva", "Hello")
	w.push(eva)
	evaCase, _ := p.waitInbound(eva.Content)
	w.wechat.FailNext(-1, "system error")
	p.wantSent(evaCase, p.reply(evaCase, map[string]any{"text": "Hi Eva"}))
	if got := w.texts("oEva"); len(got) != 1 || got[0] != "Hi Eva" {
		t.Fatalf("WeChat got %q", got)
	}
	w.noSecretsLogged()
}
