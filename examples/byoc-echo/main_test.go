package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSecret = "whsec_test_secret"

// The vector docs/byoc.md gives integrators to check their own verifier.
func TestSignKnownVector(t *testing.T) {
	got := Sign([]byte(testSecret), time.Unix(1700000000, 0), []byte(`{"message_id":"m1"}`))
	want := "t=1700000000,v1=975b8e54e597022fdcf513312d7f880bf8dbc9cb1520fbec97d1d07f1d49fa54"
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"message_id":"m1","thread":{"id":"t1"},"recipient":{"id":"c1"},"text":"hi"}`)
	secret := []byte(testSecret)
	valid := Sign(secret, now, body)
	validSig := strings.SplitN(valid, ",v1=", 2)[1]

	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		want   error
	}{
		{"valid", secret, valid, body, nil},
		{"valid with spaces", secret, "t=1800000000, v1=" + validSig, body, nil},
		{"valid among several v1", secret, "t=1800000000,v1=" + strings.Repeat("00", 32) + ",v1=" + validSig, body, nil},
		{"unknown scheme ignored", secret, valid + ",v2=whatever", body, nil},
		{"4 minutes old", secret, Sign(secret, now.Add(-4*time.Minute), body), body, nil},
		{"wrong secret", []byte("whsec_other"), valid, body, ErrSignatureMismatch},
		{"secret without prefix", []byte("test_secret"), valid, body, ErrSignatureMismatch},
		{"tampered body", secret, valid, bytes.Replace(body, []byte(`"hi"`), []byte(`"ho"`), 1), ErrSignatureMismatch},
		{"timestamp swapped", secret, "t=1800000001,v1=" + validSig, body, ErrSignatureMismatch},
		{"too old", secret, Sign(secret, now.Add(-5*time.Minute-time.Second), body), body, ErrSignatureExpired},
		{"too far in the future", secret, Sign(secret, now.Add(6*time.Minute), body), body, ErrSignatureExpired},
		{"missing", secret, "", body, ErrSignatureMissing},
		{"garbage", secret, "garbage", body, ErrSignatureMalformed},
		{"no v1", secret, "t=1800000000", body, ErrSignatureMalformed},
		{"no t", secret, "v1=" + validSig, body, ErrSignatureMalformed},
		{"t not a number", secret, "t=abc,v1=" + validSig, body, ErrSignatureMalformed},
		{"negative t", secret, "t=-5,v1=" + validSig, body, ErrSignatureMalformed},
		{"two t", secret, "t=1800000000,t=1800000000,v1=" + validSig, body, ErrSignatureMalformed},
		{"v1 not hex", secret, "t=1800000000,v1=zz", body, ErrSignatureMalformed},
		{"v1 truncated", secret, "t=1800000000,v1=" + validSig[:40], body, ErrSignatureMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.secret, tc.header, tc.body, now, DefaultTolerance)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifySignature = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSeenSetBounded(t *testing.T) {
	s := NewSeenSet(2)
	if !s.Add("a") || !s.Add("b") || s.Add("a") {
		t.Fatal("first adds should be new, the repeat not")
	}
	s.Add("c") // evicts a
	if !s.Add("a") {
		t.Fatal("a should have been evicted")
	}
	s.Remove("a")
	if !s.Add("a") {
		t.Fatal("a should have been removed")
	}
}

func newTestHandler(work chan Callback, now time.Time) *CallbackHandler {
	return &CallbackHandler{
		Secret:  []byte(testSecret),
		Now:     func() time.Time { return now },
		MaxBody: 4096,
		Seen:    NewSeenSet(100),
		Work:    work,
		Log:     slog.New(slog.DiscardHandler),
	}
}

func signedRequest(t *testing.T, secret string, at time.Time, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/parley", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(SignatureHeader, Sign([]byte(secret), at, []byte(body)))
	return r
}

func TestCallbackHandler(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good := `{"message_id":"m1","point_of_contact_id":"p1","thread":{"id":"t1"},"recipient":{"id":"c1","name":"Ana"},"text":"hi","content":null,"rendered":null,"attachments":[]}`

	t.Run("valid then duplicate", func(t *testing.T) {
		work := make(chan Callback, 4)
		h := newTestHandler(work, now)
		for i := range 2 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, signedRequest(t, testSecret, now, good))
			if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"id":"echo-m1"}` {
				t.Fatalf("try %d: %d %s", i, rec.Code, rec.Body)
			}
		}
		if len(work) != 1 {
			t.Fatalf("queued %d callbacks, want 1", len(work))
		}
		cb := <-work
		if cb.Thread.ID != "t1" || cb.Recipient.Name != "Ana" || cb.Text != "hi" {
			t.Fatalf("queued %+v", cb)
		}
	})

	cases := []struct {
		name string
		req  func() *http.Request
		code int
	}{
		{"wrong secret", func() *http.Request { return signedRequest(t, "whsec_wrong", now, good) }, 401},
		{"no signature", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/parley", strings.NewReader(good))
		}, 401},
		{"stale", func() *http.Request { return signedRequest(t, testSecret, now.Add(-time.Hour), good) }, 401},
		{"malformed JSON", func() *http.Request { return signedRequest(t, testSecret, now, `{"message_id":`) }, 400},
		{"no thread", func() *http.Request {
			return signedRequest(t, testSecret, now, `{"message_id":"m1","recipient":{"id":"c1"}}`)
		}, 400},
		{"too large", func() *http.Request {
			return signedRequest(t, testSecret, now, `{"text":"`+strings.Repeat("x", 5000)+`"}`)
		}, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := make(chan Callback, 4)
			rec := httptest.NewRecorder()
			newTestHandler(work, now).ServeHTTP(rec, tc.req())
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if len(work) != 0 {
				t.Fatal("a refused callback was queued")
			}
		})
	}

	t.Run("queue full then retried", func(t *testing.T) {
		work := make(chan Callback) // unbuffered, nobody reading: always full
		h := newTestHandler(work, now)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signedRequest(t, testSecret, now, good))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		if !h.Seen.Add("m1") {
			t.Fatal("a message that was not queued must not count as seen")
		}
	})
}

func TestEchoText(t *testing.T) {
	cb := Callback{Text: "hello"}
	if got := EchoText(cb); got != "echo: hello" {
		t.Fatalf("EchoText = %q", got)
	}
	cb.Attachments = []CallbackAttachment{{Name: "a.png", MimeType: "image/png", Size: 3}}
	if got := EchoText(cb); got != "echo: hello [attachments: a.png (image/png, 3 bytes)]" {
		t.Fatalf("EchoText = %q", got)
	}
	cb.Text = ""
	if got := EchoText(cb); got != "echo: [attachments: a.png (image/png, 3 bytes)]" {
		t.Fatalf("EchoText = %q", got)
	}
}

func TestParleyClientRetries(t *testing.T) {
	var mu sync.Mutex
	answers := []int{}
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		code := 200
		if calls < len(answers) {
			code = answers[calls]
		}
		calls++
		if code == 429 {
			w.Header().Set("Retry-After", "0")
		}
		if code != 200 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, `{"title":"nope","status":`+strconv.Itoa(code)+`,"detail":"because","errors":[{"field":"thread.id","reason":"required"}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"message_id":"pm1","case_id":"c1","duplicate":false}`)
	}))
	defer srv.Close()
	c := &ParleyClient{BaseURL: srv.URL, PointOfContactID: "p1", Token: "byoc_x", HTTP: srv.Client(),
		Log: slog.New(slog.DiscardHandler), MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

	for _, tc := range []struct {
		name    string
		answers []int
		calls   int
		wantErr bool
	}{
		{"ok", nil, 1, false},
		{"5xx and 429 retried", []int{503, 429, 500}, 4, false},
		{"408 and 425 retried", []int{408, 425}, 3, false},
		{"gives up", []int{503, 503, 503, 503, 503}, 4, true},
		{"400 not retried", []int{400}, 1, true},
		{"401 not retried", []int{401}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			answers, calls = tc.answers, 0
			mu.Unlock()
			res, err := c.PostMessage(context.Background(), InboundMessage{ID: "x"})
			mu.Lock()
			defer mu.Unlock()
			if calls != tc.calls {
				t.Fatalf("%d calls, want %d", calls, tc.calls)
			}
			if tc.wantErr {
				var apiErr *APIError
				if !errors.As(err, &apiErr) || !strings.Contains(err.Error(), "thread.id: required") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || res.MessageID != "pm1" || res.CaseID != "c1" {
				t.Fatalf("res %+v, err %v", res, err)
			}
		})
	}

	t.Run("connection refused retried", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		c2 := *c
		c2.BaseURL = dead.URL
		start := time.Now()
		err := c2.PostStatus(context.Background(), Status{MessageID: "m", Status: "delivered"})
		if err == nil || !strings.Contains(err.Error(), "after 4 attempts") {
			t.Fatalf("err = %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("backoff too long")
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"0":                             0,
		"-1":                            0,
		"soon":                          0,
		"Tue, 01 Jan 2030 00:00:10 GMT": 10 * time.Second,
		"Mon, 31 Dec 2029 23:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRunConfigErrors(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), func(string) string { return "" }, io.Discard, &stderr)
	if code != 2 {
		t.Fatalf("exit code %d", code)
	}
	for _, name := range []string{"PARLEY_URL", "PARLEY_POC_ID", "PARLEY_BYOC_TOKEN", "PARLEY_BYOC_SECRET"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr does not name %s: %s", name, stderr.String())
		}
	}
}

// fakeParley plays Parley's BYOC API: it checks the token and records the
// inbound messages and receipts it stores. The first inbound request is
// answered 503, to prove byoc-echo retries.
type fakeParley struct {
	t     *testing.T
	poc   string
	token string

	mu        sync.Mutex
	inbound   []InboundMessage
	statuses  []Status
	attempts  map[string]int
	badAuth   int
	failFirst bool
	changed   chan struct{}
}

func (f *fakeParley) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer func() {
		select {
		case f.changed <- struct{}{}:
		default:
		}
	}()
	problem := func(code int, title string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"title": title, "status": code})
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.badAuth++
		problem(401, "Unauthorized")
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		problem(415, "Unsupported media type")
		return
	}
	switch r.URL.Path {
	case "/api/v1/byoc/" + f.poc + "/messages":
		var m InboundMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			problem(400, err.Error())
			return
		}
		f.attempts[m.ID]++
		if f.failFirst {
			f.failFirst = false
			problem(503, "Unavailable")
			return
		}
		dup := false
		for _, old := range f.inbound {
			dup = dup || old.ID == m.ID
		}
		if !dup {
			f.inbound = append(f.inbound, m)
		}
		_ = json.NewEncoder(w).Encode(InboundResult{MessageID: "pm-" + m.ID, CaseID: "case-1", ThreadID: "th-1", ContactID: "ct-1", Duplicate: dup})
	case "/api/v1/byoc/" + f.poc + "/statuses":
		var s Status
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			problem(400, err.Error())
			return
		}
		f.statuses = append(f.statuses, s)
		_ = json.NewEncoder(w).Encode(map[string]string{"message_id": s.MessageID, "status": s.Status})
	default:
		problem(404, "Not found: "+r.URL.Path)
	}
}

// waitFor polls cond (under f.mu) until it holds or the deadline passes.
func (f *fakeParley) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		f.mu.Lock()
		ok := cond()
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-f.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			f.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// logWriter collects the binary's output and reports the address it listens on.
type logWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line []byte
	addr chan string
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.line = append(l.line, p...)
	for {
		i := bytes.IndexByte(l.line, '\n')
		if i < 0 {
			break
		}
		if m := listeningRE.FindSubmatch(l.line[:i]); m != nil {
			select {
			case l.addr <- string(m[1]):
			default:
			}
		}
		l.line = l.line[i+1:]
	}
	return len(p), nil
}

func (l *logWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestEchoBinary builds byoc-echo, runs it against a fake Parley and plays
// Parley's side of a few callbacks.
func TestEchoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build byoc-echo: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "byoc-echo")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	const poc, token = "0199b6a0-0000-7000-8000-000000000001", "byoc_test_token"
	fake := &fakeParley{t: t, poc: poc, token: token, attempts: map[string]int{}, failFirst: true, changed: make(chan struct{}, 1)}
	parley := httptest.NewServer(fake)
	t.Cleanup(parley.Close)

	logs := &logWriter{addr: make(chan string, 1)}
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"PARLEY_URL=" + parley.URL,
		"PARLEY_POC_ID=" + poc,
		"PARLEY_BYOC_TOKEN=" + token,
		"PARLEY_BYOC_SECRET=" + testSecret,
		"ECHO_ADDR=127.0.0.1:0", // a free port; the binary logs the one it got
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("byoc-echo output:\n%s", logs)
		}
	})

	var addr string
	select {
	case addr = <-logs.addr:
	case err := <-exited:
		t.Fatalf("byoc-echo exited early: %v\n%s", err, logs)
	case <-time.After(15 * time.Second):
		t.Fatalf("byoc-echo did not start\n%s", logs)
	}
	callbackURL := "http://" + addr + "/parley"

	send := func(secret, messageID, text string) (int, map[string]string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"message_id":          messageID,
			"point_of_contact_id": poc,
			"thread":              map[string]string{"id": "thread-42"},
			"recipient":           map[string]string{"id": "customer-7", "name": "Ana Lima"},
			"text":                text,
			"content":             nil,
			"rendered":            nil,
			"attachments":         []any{},
		})
		req, _ := http.NewRequest(http.MethodPost, callbackURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Parley/1")
		req.Header.Set("X-Parley-Delivery-Attempt", "1")
		req.Header.Set(SignatureHeader, Sign([]byte(secret), time.Now(), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	// A correctly signed callback: 200 with the middleware's id.
	if code, out := send(testSecret, "msg-1", "Hello, how can I help?"); code != 200 || out["id"] != "echo-msg-1" {
		t.Fatalf("good callback: %d %v", code, out)
	}
	// A badly signed one: 401, and nothing reaches Parley for it.
	if code, _ := send("whsec_wrong", "msg-bad", "forged"); code != 401 {
		t.Fatalf("badly signed callback: %d, want 401", code)
	}

	fake.waitFor("echo and receipt of msg-1", func() bool { return len(fake.inbound) >= 1 && len(fake.statuses) >= 1 })
	fake.mu.Lock()
	in, st := fake.inbound[0], fake.statuses[0]
	retried := fake.attempts["echo-in-msg-1"]
	fake.mu.Unlock()
	if in.ID != "echo-in-msg-1" || in.Thread.ID != "thread-42" || in.Author.ID != "customer-7" ||
		in.Author.Name != "Ana Lima" || in.Text != "echo: Hello, how can I help?" {
		t.Fatalf("echo inbound = %+v", in)
	}
	if ts, err := time.Parse(time.RFC3339, in.SentAt); err != nil || time.Since(ts) > time.Minute {
		t.Fatalf("sent_at %q: %v", in.SentAt, err)
	}
	if retried != 2 {
		t.Fatalf("echo-in-msg-1 tried %d times, want 2 (a 503, then success)", retried)
	}
	if st != (Status{MessageID: "msg-1", Status: "delivered"}) {
		t.Fatalf("receipt = %+v", st)
	}

	// Parley redelivers msg-1 (at-least-once): same answer, no second echo.
	if code, out := send(testSecret, "msg-1", "Hello, how can I help?"); code != 200 || out["id"] != "echo-msg-1" {
		t.Fatalf("repeated callback: %d %v", code, out)
	}
	// msg-2 is echoed after anything queued before it, so once its echo is
	// in, a second echo of msg-1 would be too.
	if code, out := send(testSecret, "msg-2", "Anything else?"); code != 200 || out["id"] != "echo-msg-2" {
		t.Fatalf("second callback: %d %v", code, out)
	}
	fake.waitFor("echo and receipt of msg-2", func() bool { return len(fake.inbound) >= 2 && len(fake.statuses) >= 2 })

	fake.mu.Lock()
	var ids, receipts []string
	for _, m := range fake.inbound {
		ids = append(ids, m.ID)
	}
	for _, s := range fake.statuses {
		receipts = append(receipts, s.MessageID+":"+s.Status)
	}
	attempts1, badAuth := fake.attempts["echo-in-msg-1"], fake.badAuth
	_, forged := fake.attempts["echo-in-msg-bad"]
	fake.mu.Unlock()
	if strings.Join(ids, ",") != "echo-in-msg-1,echo-in-msg-2" {
		t.Fatalf("inbound messages %v", ids)
	}
	if strings.Join(receipts, ",") != "msg-1:delivered,msg-2:delivered" {
		t.Fatalf("receipts %v", receipts)
	}
	if attempts1 != 2 || forged || badAuth != 0 {
		t.Fatalf("msg-1 echo attempts %d, forged echo sent %v, bad tokens %d", attempts1, forged, badAuth)
	}

	// A clean shutdown on SIGINT (not available on Windows; Cleanup kills it).
	if runtime.GOOS != "windows" {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("exit after SIGINT: %v", err)
			}
			exited <- nil // for Cleanup
		case <-time.After(15 * time.Second):
			t.Fatal("byoc-echo did not stop on SIGINT")
		}
		if !strings.Contains(logs.String(), "msg=stopped") {
			t.Fatalf("no clean stop in the logs:\n%s", logs)
		}
	}
	scanLogs(t, logs.String())
}

// scanLogs checks that no log line carries a secret.
func scanLogs(t *testing.T, logs string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		if strings.Contains(sc.Text(), testSecret) || strings.Contains(sc.Text(), "byoc_test_token") {
			t.Fatalf("a secret was logged: %s", sc.Text())
		}
	}
}
