package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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

func TestCommand(t *testing.T) {
	var mu sync.Mutex
	var pushes []string
	mw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !bridge.CheckSignature(q.Get("signature"), "tok", q.Get("timestamp"), q.Get("nonce")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		pushes = append(pushes, string(b))
		mu.Unlock()
		_, _ = io.WriteString(w, "success")
	}))
	defer mw.Close()
	img := filepath.Join(t.TempDir(), "p.gif")
	if err := os.WriteFile(img, []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdin := strings.NewReader("oAna Hello there\noAna !image " + img + "\noAna !unsubscribe\n!advance 49h\noBen hi\nbad\n")
	stdout := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-token", "tok", "-app-id", "wx1", "-app-secret", "sec", "-push-to", mw.URL}, stdin, stdout, io.Discard)
	}()
	waitFor(t, "the commands", func() bool { return strings.Contains(stdout.String(), "usage:") })
	mu.Lock()
	n := len(pushes)
	first := ""
	if n > 0 {
		first = pushes[0]
	}
	mu.Unlock()
	if n != 4 || !strings.Contains(first, "<Content><![CDATA[Hello there]]></Content>") {
		t.Fatalf("pushes %d, first %q\n%s", n, first, stdout)
	}
	if !strings.Contains(stdout.String(), "clock moved 49h0m0s forward") {
		t.Fatalf("output:\n%s", stdout)
	}

	// Messages sent through its API are printed.
	m := regexp.MustCompile(`fake WeChat API at (\S+),`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no URL in:\n%s", stdout)
	}
	wc := bridge.NewWeChatClient(m[1], "wx1", "sec", nil, nil, nil)
	if err := wc.SendText(context.Background(), "oBen", "Hello from the agent"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sent message printed", func() bool { return strings.Contains(stdout.String(), "→ oBen: Hello from the agent") })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}
