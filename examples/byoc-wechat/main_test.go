package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
	"github.com/parleyhq/parley/examples/byoc-wechat/fakewechat"
)

func TestRunConfigErrors(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), nil, func(string) string { return "" }, io.Discard, &stderr); code != 2 {
		t.Fatalf("exit code %d", code)
	}
	for _, name := range []string{"WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "PARLEY_URL", "PARLEY_POC_ID", "PARLEY_BYOC_TOKEN", "PARLEY_BYOC_SECRET"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr does not name %s:\n%s", name, stderr.String())
		}
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"-h"}, func(string) string { return "" }, io.Discard, &stderr); code != 0 {
		t.Fatalf("-h: exit code %d", code)
	}
	if !strings.Contains(stderr.String(), "WECHAT_ENCODING_AES_KEY") {
		t.Fatalf("usage:\n%s", stderr.String())
	}
}

// addrWriter collects logs and reports the address the middleware listens on.
type addrWriter struct {
	lockedBuffer
	once sync.Once
	addr chan string
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (a *addrWriter) Write(p []byte) (int, error) {
	n, err := a.lockedBuffer.Write(p)
	if m := listeningRE.FindStringSubmatch(a.String()); m != nil {
		a.once.Do(func() { a.addr <- m[1] })
	}
	return n, err
}

// TestRun runs the command as main does (configured by the environment)
// against the fake WeChat and a stand-in for Parley's inbound API, and
// stops it like SIGINT does.
func TestRun(t *testing.T) {
	c := &fakeClock{t: time.Now()}
	fw, err := fakewechat.Start(fakewechat.Config{AppID: appID, AppSecret: appSecret, Token: wxToken, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	got := make(chan bridge.InboundMessage, 1)
	parleyStub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m bridge.InboundMessage
		if r.URL.Path != "/api/v1/byoc/poc-1/messages" || r.Header.Get("Authorization") != "Bearer byoc_run_token" ||
			json.NewDecoder(r.Body).Decode(&m) != nil {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		got <- m
		_, _ = io.WriteString(w, `{"message_id":"m","case_id":"c","duplicate":false}`)
	}))
	defer parleyStub.Close()

	env := map[string]string{
		"WECHAT_MIDDLEWARE_ADDR": "127.0.0.1:0", "WECHAT_TOKEN": wxToken, "WECHAT_APP_ID": appID, "WECHAT_APP_SECRET": appSecret,
		"WECHAT_API_URL": fw.URL, "PARLEY_URL": parleyStub.URL, "PARLEY_POC_ID": "poc-1",
		"PARLEY_BYOC_TOKEN": "byoc_run_token", "PARLEY_BYOC_SECRET": "whsec_run_secret",
	}
	logs := &addrWriter{addr: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, nil, func(k string) string { return env[k] }, logs, logs) }()
	defer func() {
		cancel()
		<-exited
	}()
	var addr string
	select {
	case addr = <-logs.addr:
	case code := <-exited:
		t.Fatalf("exited with %d:\n%s", code, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("did not start:\n%s", logs.String())
	}
	endpoint := "http://" + addr + bridge.WeChatPath
	if ok, res, err := fw.Verify(context.Background(), endpoint); !ok {
		t.Fatalf("handshake: %+v %v", res, err)
	}
	if _, err := fw.PushWithRetries(context.Background(), endpoint, fw.NewText("oAna", "hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Text != "hi" || m.Author.ID != "oAna" {
			t.Fatalf("inbound %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing reached parley:\n%s", logs.String())
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Fatalf("exit code %d:\n%s", code, logs.String())
	}
	exited <- 0 // for the deferred wait
	out := logs.String()
	if !strings.Contains(out, "msg=stopped") {
		t.Fatalf("no clean stop:\n%s", out)
	}
	for _, s := range []string{appSecret, "byoc_run_token", "whsec_run_secret"} {
		if strings.Contains(out, s) {
			t.Fatalf("a secret was logged:\n%s", out)
		}
	}
}
