package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc/fake"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// process is a real parley binary run by a test.
type process struct {
	t    *testing.T
	bin  string
	env  []string
	cmd  *exec.Cmd
	url  string
	logs *lockedBuffer
}

// lockedBuffer collects a child process's output safely while it runs.
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

var buildOnce struct {
	sync.Once
	bin string
	err error
}

func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", buildOnce.bin, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.bin
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newProcess(t *testing.T, extraEnv ...string) *process {
	dbURL, dir := storetest.URL(t)
	addr := freePort(t)
	env := append(os.Environ(), "PARLEY_ADDR="+addr, "PARLEY_DATA_DIR="+dir, "PARLEY_DATABASE_URL="+dbURL,
		"PARLEY_ADMIN_EMAIL=admin@example.com", "PARLEY_ADMIN_PASSWORD=crash-test-password", "PARLEY_LOG_LEVEL=warn",
		"PARLEY_SEND_BACKOFF=50ms", "PARLEY_SEND_MAX_BACKOFF=500ms", "PARLEY_SEND_POLL=100ms", "PARLEY_SEND_LEASE=3s")
	return &process{t: t, bin: buildBinary(t), env: append(env, extraEnv...), url: "http://" + addr}
}

func (p *process) start() {
	p.t.Helper()
	p.logs = &lockedBuffer{}
	p.cmd = exec.Command(p.bin, "serve")
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("parley did not start:\n%s", p.logs)
}

func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func (p *process) call(method, path, token string, body any, out any) int {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode
}

func (p *process) setup(callback string) (admin, pocID, pocToken, secret string) {
	var tok struct{ Token string }
	if s := p.call("POST", "/api/v1/auth/token", "", map[string]string{"email": "admin@example.com", "password": "crash-test-password"}, &tok); s != 201 {
		p.t.Fatalf("login: %d", s)
	}
	var poc struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
		Token, Secret  string
	}
	if s := p.call("POST", "/api/v1/points-of-contact", tok.Token, map[string]any{"type": "byoc", "name": "crash",
		"settings": map[string]string{"callback_url": callback}}, &poc); s != 201 {
		p.t.Fatalf("create point of contact: %d", s)
	}
	return tok.Token, poc.PointOfContact.ID, poc.Token, poc.Secret
}

// TestKillDuringIngestLosesNothingAcknowledged: SIGKILL the server while 16
// clients post 5,000 inbound messages; after a restart every message that
// got a 2xx is stored exactly once.
func TestKillDuringIngestLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	p := newProcess(t)
	p.start()
	_, pocID, pocToken, _ := p.setup("http://127.0.0.1:9/unused")

	const total, clients = 5000, 16
	var next, acked atomic.Int64
	ackedIDs := make([][]string, clients)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > total {
					return
				}
				id := fmt.Sprintf("crash-%d", n)
				body := fmt.Sprintf(`{"id":%q,"thread":{"id":"t-%d"},"author":{"id":"a-%d"},"text":"message %d"}`, id, n%97, n%97, n)
				req, _ := http.NewRequest("POST", p.url+"/api/v1/byoc/"+pocID+"/messages", bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+pocToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // the server is dead: not acknowledged
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					ackedIDs[c] = append(ackedIDs[c], id)
					acked.Add(1)
				}
			}
		}(c)
	}
	// Kill it mid-stream.
	for acked.Load() < 1500 {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	wg.Wait()
	t.Logf("acknowledged before SIGKILL: %d of %d attempted", acked.Load(), total)

	p.start()
	db, err := store.Open(context.Background(), store.Options{URL: envValue(p.env, "PARLEY_DATABASE_URL"), DataDir: envValue(p.env, "PARLEY_DATA_DIR")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]int{}
	rows, err := db.QueryContext(context.Background(), `SELECT platform_message_id FROM messages WHERE direction = 'inbound'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		stored[id]++
	}
	rows.Close()
	missing := 0
	for _, ids := range ackedIDs {
		for _, id := range ids {
			if stored[id] != 1 {
				missing++
				if missing < 5 {
					t.Errorf("acknowledged message %s stored %d times", id, stored[id])
				}
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged messages not stored exactly once", missing)
	}
	// Every stored message is in a case (one transaction), and the server
	// still works after the restart.
	var orphans int
	db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM messages m LEFT JOIN cases c ON c.id = m.case_id WHERE c.id IS NULL`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d messages without a case", orphans)
	}
	var res struct{ Duplicate bool }
	if s := p.call("POST", "/api/v1/byoc/"+pocID+"/messages", pocToken, map[string]any{"id": ackedIDs[0][0], "thread": map[string]string{"id": "x"},
		"author": map[string]string{"id": "x"}, "text": "again"}, &res); s != 200 || !res.Duplicate {
		t.Fatalf("after restart a retried id: %d duplicate=%v", s, res.Duplicate)
	}
}

// TestKillDuringDeliveryLosesNothing: SIGKILL the server while outbound
// messages are being delivered; after a restart every accepted message
// reaches the callback (a retry of one may arrive twice, same message_id).
func TestKillDuringDeliveryLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	mw, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	mw.SetDelay(20 * time.Millisecond)
	p := newProcess(t)
	p.start()
	admin, pocID, pocToken, secret := p.setup(mw.URL)
	mw.SetSecret(secret)

	var caseIDs []string
	for i := 0; i < 20; i++ {
		var res struct {
			CaseID string `json:"case_id"`
		}
		if s := p.call("POST", "/api/v1/byoc/"+pocID+"/messages", pocToken, map[string]any{"id": fmt.Sprintf("in-%d", i),
			"thread": map[string]string{"id": fmt.Sprintf("t%d", i)}, "author": map[string]string{"id": fmt.Sprintf("u%d", i)}, "text": "hi"}, &res); s != 200 {
			t.Fatalf("inbound: %d", s)
		}
		caseIDs = append(caseIDs, res.CaseID)
	}
	accepted := map[string]bool{}
	for i := 0; i < 200; i++ {
		var m struct{ ID string }
		if s := p.call("POST", "/api/v1/cases/"+caseIDs[i%20]+"/messages", admin, map[string]string{"text": fmt.Sprintf("reply %d", i)}, &m); s != 202 {
			t.Fatalf("reply: %d", s)
		}
		accepted[m.ID] = true
	}
	for len(mw.Received()) < 30 {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	t.Logf("delivered before SIGKILL: %d of %d", len(mw.Received()), len(accepted))
	p.start()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := map[string]bool{}
		for _, cb := range mw.Received() {
			got[cb.MessageID] = true
		}
		missing := 0
		for id := range accepted {
			if !got[id] {
				missing++
			}
		}
		if missing == 0 {
			t.Logf("all %d delivered; callbacks received %d (retries after the kill: %d)", len(accepted), len(mw.Received()), len(mw.Received())-len(accepted))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d accepted messages never reached the callback", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Per thread, delivery order is the order of acceptance.
	last := map[string]int{}
	for _, cb := range mw.Received() {
		var n int
		fmt.Sscanf(cb.Text, "reply %d", &n)
		if prev, ok := last[cb.Thread.ID]; ok && n < prev {
			t.Errorf("thread %s: reply %d delivered after reply %d", cb.Thread.ID, n, prev)
		}
		last[cb.Thread.ID] = n
	}
}

func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			v = kv[len(name)+1:]
		}
	}
	return v
}
