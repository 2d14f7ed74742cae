// Command fakewechat runs the fake WeChat Official Account platform of
// examples/byoc-wechat/fakewechat, to try the byoc-wechat middleware by hand
// without a WeChat account. It serves WeChat's API for the middleware and
// pushes followers' messages, typed on stdin, to the middleware's server URL:
//
//	oAna Hello, my parcel has not arrived.   a text message from follower oAna
//	oAna !image photo.png                    a picture (a PNG, JPEG or GIF file)
//	oAna !subscribe                          oAna follows the account
//	oAna !unsubscribe                        oAna unfollows it
//	!advance 49h                             move the fake clock (WeChat's 48-hour window)
//
// Every customer-service message the middleware sends is printed. The fake
// applies WeChat's rule: 5 messages within 48 hours of the follower's last
// message (errcodes 45047 and 45015).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/fakewechat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// clock is the real time plus an offset moved by "!advance".
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// out serializes writes from the server and the command loop.
type out struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *out) printf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, format, args...)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakewechat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9092", "where the fake WeChat API listens (the middleware's WECHAT_API_URL)")
	appID := fs.String("app-id", "wxfake00000000000", "the fake Official Account's AppID")
	appSecret := fs.String("app-secret", "fake-app-secret", "its AppSecret")
	token := fs.String("token", "fake-server-token", "the server token that signs pushes (the middleware's WECHAT_TOKEN)")
	aesKey := fs.String("aes-key", "", "an EncodingAESKey (43 characters) to push in safe (encrypted) mode")
	pushTo := fs.String("push-to", "http://127.0.0.1:9091/wechat", "the middleware's server URL")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	o := &out{w: stdout}
	clk := &clock{}
	fw, err := fakewechat.Start(fakewechat.Config{AppID: *appID, AppSecret: *appSecret, Token: *token, EncodingAESKey: *aesKey,
		Addr: *addr, Now: clk.Now, PushNow: time.Now, OnSend: func(s fakewechat.Sent) {
			if s.MsgType == "image" {
				o.printf("→ %s: [image, %s, %d bytes]\n", s.ToUser, s.ImageType, len(s.Image))
				return
			}
			o.printf("→ %s: %s\n", s.ToUser, s.Content)
		}})
	if err != nil {
		fmt.Fprintf(stderr, "fakewechat: %v\n", err)
		return 1
	}
	defer fw.Close()
	o.printf("fake WeChat API at %s, pushing to %s\n", fw.URL, *pushTo)
	o.printf("middleware settings: WECHAT_API_URL=%s WECHAT_APP_ID=%s WECHAT_APP_SECRET=%s WECHAT_TOKEN=%s\n", fw.URL, *appID, *appSecret, *token)
	o.printf("type lines like: oAna Hello! | oAna !image photo.png | oAna !subscribe | oAna !unsubscribe | !advance 49h\n")

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return 0
		case line, ok := <-lines:
			if !ok {
				lines = nil // stdin closed: keep serving until stopped
				continue
			}
			if msg := handle(ctx, fw, clk, *pushTo, line); msg != "" {
				o.printf("%s\n", msg)
			}
		}
	}
}

// handle runs one command line and says what happened.
func handle(ctx context.Context, fw *fakewechat.Server, clk *clock, pushTo, line string) string {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return ""
	}
	if d, ok := strings.CutPrefix(line, "!advance "); ok {
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return "bad duration: " + err.Error()
		}
		clk.Advance(dur)
		return fmt.Sprintf("clock moved %s forward: now %s", dur, clk.Now().UTC().Format(time.RFC3339))
	}
	openID, rest, ok := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	if !ok || rest == "" {
		return "usage: <openid> <text> | <openid> !image <file> | <openid> !subscribe | <openid> !unsubscribe | !advance <duration>"
	}
	var m fakewechat.Message
	switch {
	case rest == "!subscribe", rest == "!unsubscribe":
		m = fw.NewEvent(openID, strings.TrimPrefix(rest, "!"), "")
	case strings.HasPrefix(rest, "!image "):
		data, err := os.ReadFile(strings.TrimSpace(strings.TrimPrefix(rest, "!image ")))
		if err != nil {
			return err.Error()
		}
		m = fw.NewImage(openID, data, http.DetectContentType(data))
	default:
		m = fw.NewText(openID, rest)
	}
	res, err := fw.PushWithRetries(ctx, pushTo, m)
	if err != nil {
		return fmt.Sprintf("push failed (%d tries): %v %+v", len(res), err, res)
	}
	return fmt.Sprintf("pushed %s from %s: %s", m.MsgType+m.Event, openID, res[len(res)-1].Body)
}
