package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
	"github.com/parleyhq/parley/examples/byoc-wechat/fakewechat"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	appID     = "wx1234567890abcdef"
	appSecret = "fake-app-secret-0123456789"
	wxToken   = "wechat-server-token"
)

func startFake(t *testing.T, c *clock) *fakewechat.Server {
	t.Helper()
	fw, err := fakewechat.Start(fakewechat.Config{AppID: appID, AppSecret: appSecret, Token: wxToken, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	return fw
}

// follow makes openID a follower who has just written, as far as the fake
// WeChat knows.
func follow(t *testing.T, fw *fakewechat.Server, openID string) {
	t.Helper()
	fw.Record(fw.NewText(openID, "hi"))
}

const pngImage = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"

// png is a 1×1 PNG.
func png() []byte { return []byte(pngImage) }

func TestWeChatClientToken(t *testing.T) {
	c := newClock()
	fw := startFake(t, c)
	follow(t, fw, "oA")
	wc := bridge.NewWeChatClient(fw.URL, appID, appSecret, nil, c.Now, nil)
	ctx := context.Background()

	// Cached: two sends, one token.
	for _, text := range []string{"one", "two"} {
		if err := wc.SendText(ctx, "oA", text); err != nil {
			t.Fatal(err)
		}
	}
	if n := fw.TokenFetches(); n != 1 {
		t.Fatalf("%d token fetches, want 1", n)
	}
	// WeChat says the token expired (42001): a new one, and the send goes.
	fw.ExpireTokens()
	if err := wc.SendText(ctx, "oA", "three"); err != nil {
		t.Fatal(err)
	}
	if n := fw.TokenFetches(); n != 2 {
		t.Fatalf("%d token fetches after 42001, want 2", n)
	}
	// Refreshed before it expires by the local clock (7200 s, 5 min early).
	c.Advance(7200*time.Second - 5*time.Minute)
	follow(t, fw, "oA")
	if err := wc.SendText(ctx, "oA", "four"); err != nil {
		t.Fatal(err)
	}
	if n := fw.TokenFetches(); n != 3 {
		t.Fatalf("%d token fetches after the cache expired, want 3", n)
	}
	var texts []string
	for _, s := range fw.SentTo("oA") {
		texts = append(texts, s.Content)
	}
	if strings.Join(texts, ",") != "one,two,three,four" {
		t.Fatalf("sent %v", texts)
	}

	// Wrong credentials: a WeChat error, not temporary, naming the cause.
	bad := bridge.NewWeChatClient(fw.URL, appID, "wrong", nil, c.Now, nil)
	err := bad.SendText(ctx, "oA", "x")
	var we *bridge.WeChatError
	if !errors.As(err, &we) || we.Errcode != 40125 || we.Temporary() || !strings.Contains(err.Error(), "access token") {
		t.Fatalf("err = %v", err)
	}
}

func TestWeChatClientImage(t *testing.T) {
	c := newClock()
	fw := startFake(t, c)
	follow(t, fw, "oA")
	wc := bridge.NewWeChatClient(fw.URL, appID, appSecret, nil, c.Now, nil)
	ctx := context.Background()
	id, err := wc.UploadImage(ctx, "label.png", "image/png", png())
	if err != nil {
		t.Fatal(err)
	}
	if err := wc.SendImage(ctx, "oA", id); err != nil {
		t.Fatal(err)
	}
	sent := fw.SentTo("oA")
	if len(sent) != 1 || sent[0].MsgType != "image" || !bytes.Equal(sent[0].Image, png()) || sent[0].ImageType != "image/png" {
		t.Fatalf("sent %+v", sent)
	}
	// Not an image: WeChat refuses the upload.
	if _, err := wc.UploadImage(ctx, "x.png", "image/png", []byte("%PDF-1.4")); err == nil {
		t.Fatal("a PDF was accepted as an image")
	}
}

func TestWeChatClientErrorsHideTheToken(t *testing.T) {
	c := newClock()
	fw := startFake(t, c)
	// Fetch a token through a proxy that then disappears: the send's
	// transport error must not carry the URL with the token.
	var mu sync.Mutex
	down := false
	proxy := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return nil, errors.New("connection refused")
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	wc := bridge.NewWeChatClient(fw.URL, appID, appSecret, proxy, c.Now, nil)
	tok, err := wc.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	down = true
	mu.Unlock()
	err = wc.SendText(context.Background(), "oA", "x")
	if err == nil || strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "access_token") {
		t.Fatalf("err = %v", err)
	}
	var we *bridge.WeChatError
	if errors.As(err, &we) {
		t.Fatalf("a transport error looks like a WeChat answer: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
