package loadtest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func startBaseline(t *testing.T) *Baseline {
	t.Helper()
	b, err := StartBaseline(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func countRows(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", BaselineDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM msgs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRunAgainstBaseline(t *testing.T) {
	b := startBaseline(t)
	rep, err := Run(t.Context(), Options{
		InboundURL: b.URL,
		Token:      b.Token,
		Clients:    4,
		Duration:   time.Second,
		Threads:    10,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if rep.Acked == 0 {
		t.Fatal("nothing acked")
	}
	if rep.Errors != 0 || len(rep.ErrorsByKind) != 0 {
		t.Fatalf("errors: %d %v %v", rep.Errors, rep.ErrorsByKind, rep.ErrorSamples)
	}
	if !(0 < rep.P50 && rep.P50 <= rep.P90 && rep.P90 <= rep.P99 && rep.P99 <= rep.Max) {
		t.Fatalf("percentiles out of order: p50 %s p90 %s p99 %s max %s", rep.P50, rep.P90, rep.P99, rep.Max)
	}
	if rep.Elapsed < time.Second || rep.MsgsPerSec <= 0 || rep.Clients != 4 || rep.Target != b.URL {
		t.Fatalf("report: %+v", rep)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, b.Path); n != rep.Acked {
		t.Fatalf("%d rows stored, %d acked", n, rep.Acked)
	}
}

func TestRunMaxMessagesAndBodies(t *testing.T) {
	b := startBaseline(t)
	const total = 200
	rep, err := Run(t.Context(), Options{
		InboundURL:  b.URL,
		Token:       b.Token,
		Clients:     3,
		MaxMessages: total,
		Threads:     7,
		BodyText:    `say "hi" \ ✓`,
		RunID:       "r1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked != total || rep.Errors != 0 {
		t.Fatalf("acked %d errors %d, want %d and 0", rep.Acked, rep.Errors, total)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", BaselineDSN(b.Path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT body FROM msgs`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	threads := map[string]int{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var m struct {
			ID     string
			Thread struct{ ID, Name string }
			Author struct{ ID, Name string }
			Text   string
			SentAt time.Time `json:"sent_at"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if ids[m.ID] {
			t.Fatalf("duplicate id %q", m.ID)
		}
		ids[m.ID] = true
		if !strings.HasPrefix(m.Thread.ID, "load-r1-") || m.Author.ID != m.Thread.ID ||
			m.Thread.Name == "" || m.Author.Name == "" {
			t.Fatalf("thread/author: %s", raw)
		}
		if m.Text != `say "hi" \ ✓` || time.Since(m.SentAt) > time.Minute {
			t.Fatalf("text/sent_at: %s", raw)
		}
		threads[m.Thread.ID]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != total || len(threads) != 7 {
		t.Fatalf("%d ids over %d threads", len(ids), len(threads))
	}
	for th, n := range threads {
		if n < total/7 || n > total/7+1 {
			t.Fatalf("thread %s got %d messages: not spread evenly", th, n)
		}
	}
}

func TestRunBadToken(t *testing.T) {
	b := startBaseline(t)
	rep, err := Run(t.Context(), Options{
		InboundURL:  b.URL,
		Token:       "wrong",
		Clients:     2,
		MaxMessages: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked != 0 || rep.Errors != 20 || rep.ErrorsByKind["http 401"] != 20 {
		t.Fatalf("acked %d errors %d %v", rep.Acked, rep.Errors, rep.ErrorsByKind)
	}
	if s := rep.ErrorSamples["http 401"]; !strings.Contains(s, "401") {
		t.Fatalf("sample %q", s)
	}
	if !strings.Contains(rep.String(), "http 401") {
		t.Fatalf("report lacks the error kind:\n%s", rep)
	}
}

func TestRunTransportErrorAndStatus(t *testing.T) {
	// A server that answers 503 to every other request.
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		n++
		odd := n%2 == 1
		mu.Unlock()
		if odd {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"message_id":"m","case_id":"c"}`)
	}))
	rep, err := Run(t.Context(), Options{InboundURL: srv.URL, Clients: 2, MaxMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked != 5 || rep.ErrorsByKind["http 503"] != 5 {
		t.Fatalf("acked %d, errors %v", rep.Acked, rep.ErrorsByKind)
	}
	srv.Close()

	rep, err = Run(t.Context(), Options{InboundURL: srv.URL, Clients: 2, MaxMessages: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked != 0 || rep.ErrorsByKind["transport: refused"] != 4 {
		t.Fatalf("acked %d, errors %v %v", rep.Acked, rep.ErrorsByKind, rep.ErrorSamples)
	}
}

func TestRunCancelled(t *testing.T) {
	b := startBaseline(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	rep, err := Run(ctx, Options{InboundURL: b.URL, Token: b.Token, Clients: 2, Duration: time.Minute})
	if err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
	if rep.Errors != 0 || rep.Elapsed > 10*time.Second {
		t.Fatalf("report after cancel: %+v", rep)
	}
}

func TestRunBadOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{InboundURL: "http://127.0.0.1:1/", Duration: time.Second},
		{InboundURL: "http://127.0.0.1:1/", Clients: 1},
		{InboundURL: "http://127.0.0.1:1/", Clients: 1, Duration: -time.Second},
		{InboundURL: "ftp://x/", Clients: 1, Duration: time.Second},
		{InboundURL: "http://127.0.0.1:1/", Clients: 1, Duration: time.Second, Threads: -1},
	} {
		if _, err := Run(t.Context(), o); err == nil {
			t.Errorf("Run(%+v) did not fail", o)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{0.5: 50, 0.9: 90, 0.99: 99, 1: 100} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 0.5) != 0 || percentile(d[:1], 0.99) != 1 {
		t.Error("edge cases")
	}
}

func TestBaselineRejects(t *testing.T) {
	b := startBaseline(t)
	post := func(token string, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, b.URL, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(b.Token+"x", []byte("{}")); got != http.StatusUnauthorized {
		t.Errorf("longer token: %d", got)
	}
	if got := post(b.Token, make([]byte, maxBaselineBody+1)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize: %d", got)
	}
	if got := post(b.Token, []byte("{}")); got != http.StatusOK {
		t.Errorf("good: %d", got)
	}
	resp, err := http.Get(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, b.Path); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
}

func TestBaselineStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	b, err := StartBaseline(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Post(b.URL, "application/json", nil)
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("baseline still serving after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCommandWithBaseline(t *testing.T) {
	var dataDir string
	starter := func(ctx context.Context, dir string) (Target, error) {
		dataDir = dir
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
			t.Errorf("data dir %s not fresh: %v %v", dir, entries, err)
		}
		b, err := StartBaseline(ctx, dir)
		if err != nil {
			return Target{}, err
		}
		return Target{InboundURL: b.URL, Token: b.Token, Close: b.Close}, nil
	}
	var stdout, stderr bytes.Buffer
	code := Command(t.Context(),
		[]string{"--baseline", "--clients", "2", "--duration", "400ms", "--warmup", "100ms", "--threads", "5"},
		&stdout, &stderr, starter)
	out := stdout.String()
	t.Logf("\n%s", out)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
	if c := strings.Count(out, "acked "); c != 2 {
		t.Errorf("%d reports, want 2", c)
	}
	for _, want := range []string{"== parley ==", "== baseline", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^ratio parley/baseline: \d+\.\d\d$`).MatchString(out) {
		t.Errorf("no ratio line")
	}
	if dataDir == "" {
		t.Fatal("starter not called")
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data dir %s left behind: %v", dataDir, err)
	}
}

func TestCommandURL(t *testing.T) {
	b := startBaseline(t)
	var stdout, stderr bytes.Buffer
	code := Command(t.Context(),
		[]string{"--url", b.URL, "--token", b.Token, "--messages", "50", "--duration", "0", "--warmup", "0", "--clients", "4"},
		&stdout, &stderr, nil)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "acked     50 ") {
		t.Errorf("output:\n%s", stdout.String())
	}
	if strings.Contains(stdout.String(), "ratio") {
		t.Error("ratio without --baseline")
	}

	stdout.Reset()
	code = Command(t.Context(),
		[]string{"--url", b.URL, "--token", "bad", "--messages", "5", "--warmup", "0"},
		&stdout, &stderr, nil)
	if code != 1 || !strings.Contains(stdout.String(), "http 401") {
		t.Errorf("bad token: exit %d, output:\n%s", code, stdout.String())
	}
}

func TestCommandBadFlags(t *testing.T) {
	neverStart := func(context.Context, string) (Target, error) {
		t.Error("started a target")
		return Target{}, nil
	}
	for _, args := range [][]string{
		{"--nope"},
		{"--clients", "0"},
		{"--clients", "x"},
		{"--duration", "soon"},
		{"--duration", "0"},
		{"--messages", "-1"},
		{"--threads", "0"},
		{"--warmup", "-1s"},
		{"--url", "http://127.0.0.1:1/"},
		{"--token", "t"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Command(t.Context(), args, &stdout, &stderr, neverStart); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "Usage:") {
			t.Errorf("%q: no usage on stderr", args)
		}
	}
}

func TestCommandHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Command(t.Context(), []string{"--help"}, &stdout, &stderr, nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--url", "--token", "--clients", "--duration", "--messages",
		"--threads", "--warmup", "--text", "--baseline"} {
		if !strings.Contains(stdout.String(), "  "+flag+" ") {
			t.Errorf("help does not explain %s", flag)
		}
	}
}

func TestCommandNoStarter(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Command(t.Context(), []string{"--duration", "1s"}, &stdout, &stderr, nil); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
}
