package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sseServer serves hub's events over SSE; each request's ServeSSE result is
// sent on the returned channel.
func sseServer(t *testing.T, h *Hub, buffer int, opts SSEOptions) (*httptest.Server, <-chan error) {
	t.Helper()
	results := make(chan error, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws := r.URL.Query().Get("workspace")
		sub := h.Subscribe(inWorkspace(ws), buffer)
		results <- ServeSSE(w, r, sub, opts)
	}))
	t.Cleanup(srv.Close)
	return srv, results
}

// sseClient reads a stream line by line.
type sseClient struct {
	t     *testing.T
	resp  *http.Response
	lines chan string
}

func connectSSE(t *testing.T, ctx context.Context, url string) *sseClient {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Last-Event-ID", "ignored-no-replay")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	c := &sseClient{t: t, resp: resp, lines: make(chan string, 256)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	return c
}

// next returns the next line; ok is false at the end of the stream.
func (c *sseClient) next() (line string, ok bool) {
	c.t.Helper()
	select {
	case line, ok = <-c.lines:
		return line, ok
	case <-time.After(5 * time.Second):
		c.t.Fatal("timed out reading the stream")
	}
	return "", false
}

func (c *sseClient) expect(want string) {
	c.t.Helper()
	got, ok := c.next()
	if !ok {
		c.t.Fatalf("stream ended, want %q", want)
	}
	if got != want {
		c.t.Fatalf("line = %q, want %q", got, want)
	}
}

// frame reads one event (lines up to a blank line), skipping comments.
func (c *sseClient) frame() map[string]string {
	c.t.Helper()
	f := map[string]string{}
	for {
		line, ok := c.next()
		if !ok {
			c.t.Fatalf("stream ended mid-frame: %v", f)
		}
		if line == "" {
			if len(f) == 0 {
				continue
			}
			return f
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		k, v, _ := strings.Cut(line, ": ")
		f[k] = v
	}
}

func TestServeSSEEvents(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	srv, results := sseServer(t, h, 16, SSEOptions{Heartbeat: time.Hour, Retry: 2 * time.Second})
	c := connectSSE(t, t.Context(), srv.URL+"?workspace=w1")

	if ct := c.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cc := c.resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q", cc)
	}
	c.expect("retry: 2000")
	c.expect(": connected")
	c.expect("")

	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h.Publish(
		Event{ID: "e-other", Type: TypeCaseCreated, WorkspaceID: "w2", At: at},
		Event{ID: "e1", Type: TypeCaseCreated, WorkspaceID: "w1", CaseID: "c1", At: at,
			Data: json.RawMessage(`{"status": "new",
 "subject": "line\nbreak"}`)},
		Event{ID: "e2", Type: TypeMessageStatus, WorkspaceID: "w1", CaseID: "c1", At: at},
	)
	c.expect("id: e1")
	c.expect("event: case.created")
	line, _ := c.next()
	data, ok := strings.CutPrefix(line, "data: ")
	if !ok {
		t.Fatalf("want a data line, got %q", line)
	}
	var got Event
	if err := json.Unmarshal([]byte(data), &got); err != nil {
		t.Fatalf("data is not an Event: %v: %s", err, data)
	}
	if got.ID != "e1" || got.CaseID != "c1" || got.WorkspaceID != "w1" || !got.At.Equal(at) ||
		string(got.Data) != `{"status":"new","subject":"line\nbreak"}` {
		t.Errorf("event = %+v (data %s)", got, got.Data)
	}
	c.expect("")
	f := c.frame()
	if f["id"] != "e2" || f["event"] != TypeMessageStatus {
		t.Errorf("second frame = %v", f)
	}
	select {
	case err := <-results:
		t.Fatalf("ServeSSE returned early: %v", err)
	default:
	}
}

func TestServeSSEHeartbeat(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	srv, _ := sseServer(t, h, 16, SSEOptions{Heartbeat: 20 * time.Millisecond})
	c := connectSSE(t, t.Context(), srv.URL+"?workspace=w1")
	c.expect(": connected")
	c.expect("")
	for range 3 {
		c.expect(": heartbeat")
		c.expect("")
	}
}

func TestServeSSEEndsOnClientDisconnect(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	srv, results := sseServer(t, h, 16, SSEOptions{Heartbeat: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	c := connectSSE(t, ctx, srv.URL+"?workspace=w1")
	c.expect(": connected")
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("Subscribers() = %d, want 1", n)
	}
	cancel()
	select {
	case err := <-results:
		if err != nil {
			t.Fatalf("ServeSSE = %v, want nil on client disconnect", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeSSE did not end when the client went away")
	}
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("Subscribers() = %d after disconnect, want 0 (subscription closed)", n)
	}
}

func TestServeSSEEndsWithSubscription(t *testing.T) {
	h := NewHub(nil)
	srv, results := sseServer(t, h, 16, SSEOptions{Heartbeat: time.Hour})
	c := connectSSE(t, t.Context(), srv.URL+"?workspace=w1")
	c.expect(": connected")
	c.expect("")
	h.endAll(ErrEventsMissed)
	f := c.frame()
	if f["event"] != "error" {
		t.Fatalf("frame = %v, want an error event", f)
	}
	var body struct{ Error string }
	if err := json.Unmarshal([]byte(f["data"]), &body); err != nil || body.Error != ErrEventsMissed.Error() {
		t.Fatalf("error data = %q (%v)", f["data"], err)
	}
	if line, ok := c.next(); ok {
		t.Fatalf("stream continued after the error event: %q", line)
	}
	if err := <-results; !errors.Is(err, ErrEventsMissed) {
		t.Fatalf("ServeSSE = %v, want ErrEventsMissed", err)
	}
	h.Close()
}

func TestServeSSEWriteTimeout(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	srv, results := sseServer(t, h, 4096, SSEOptions{Heartbeat: time.Hour, WriteTimeout: 100 * time.Millisecond})

	// A client that sends the request and then never reads.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /?workspace=w1 HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "subscription", func() bool { return h.Subscribers() == 1 })

	big := json.RawMessage(`"` + strings.Repeat("x", 64<<10) + `"`)
	deadline := time.After(10 * time.Second)
	for {
		h.Publish(Event{Type: TypeMessageCreated, WorkspaceID: "w1", Data: big})
		select {
		case err := <-results:
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("ServeSSE = %v, want a write timeout", err)
			}
			return
		case <-deadline:
			t.Fatal("ServeSSE kept writing to a client that does not read")
		case <-time.After(time.Millisecond):
		}
	}
}
