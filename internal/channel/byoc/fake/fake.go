// Package fake is a local stand-in for a BYOC middleware: a real HTTP
// server that verifies Parley's callback signatures like a correct
// middleware must, records what it received, and can be told to fail
// (refuse, 5xx, 429 with Retry-After) to exercise Parley's retries.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel/byoc"
)

// Callback is one received callback.
type Callback struct {
	MessageID   string                    `json:"message_id"`
	Thread      struct{ ID string }       `json:"thread"`
	Recipient   struct{ ID, Name string } `json:"recipient"`
	Text        string                    `json:"text"`
	Content     json.RawMessage           `json:"content"`
	Attachments []struct {
		ID, Name, URL string
		MimeType      string `json:"mime_type"`
		Size          int64
	} `json:"attachments"`
	Attempt  string `json:"-"`
	Verified bool   `json:"-"`
}

// Moderation is one received moderation callback.
type Moderation struct {
	Action           string `json:"action"`
	PointOfContactID string `json:"point_of_contact_id"`
	Message          struct {
		ID         string `json:"id"`
		PlatformID string `json:"platform_id"`
	} `json:"message"`
	Thread struct{ ID string } `json:"thread"`
	Author struct{ ID string } `json:"author"`
}

// Failure is a scripted answer.
type Failure struct {
	Status     int    // HTTP status to answer; 0 = close the connection
	RetryAfter string // Retry-After header value
	Body       string
}

// Middleware is the fake.
type Middleware struct {
	URL    string
	Secret string // set after the point of contact is created

	srv      *http.Server
	ln       net.Listener
	mu       sync.Mutex
	received []Callback
	// moderations are the verified moderation callbacks, in order.
	moderations []Moderation
	failures    []Failure
	down        bool
	delay       time.Duration
	seq         int
}

// SetDelay makes every accepted callback take d before answering (to
// catch Parley mid-delivery).
func (m *Middleware) SetDelay(d time.Duration) {
	m.mu.Lock()
	m.delay = d
	m.mu.Unlock()
}

// Start listens on a loopback port.
func Start() (*Middleware, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &Middleware{ln: ln, URL: "http://" + ln.Addr().String() + "/parley"}
	m.srv = &http.Server{Handler: http.HandlerFunc(m.serve), ReadHeaderTimeout: 5 * time.Second}
	go m.srv.Serve(ln)
	return m, nil
}

// Close stops the server.
func (m *Middleware) Close() error { return m.srv.Close() }

// SetSecret sets the signing secret to verify with.
func (m *Middleware) SetSecret(s string) {
	m.mu.Lock()
	m.Secret = s
	m.mu.Unlock()
}

// FailNext queues scripted failures, answered before normal service resumes.
func (m *Middleware) FailNext(f ...Failure) {
	m.mu.Lock()
	m.failures = append(m.failures, f...)
	m.mu.Unlock()
}

// SetDown makes every request fail with a dropped connection.
func (m *Middleware) SetDown(down bool) {
	m.mu.Lock()
	m.down = down
	m.mu.Unlock()
}

// Received returns the callbacks answered with 2xx, in arrival order.
func (m *Middleware) Received() []Callback {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Callback(nil), m.received...)
}

// Moderations returns the moderation callbacks answered with 2xx.
func (m *Middleware) Moderations() []Moderation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Moderation(nil), m.moderations...)
}

// PlatformID is the id the fake answers for the n-th accepted callback.
func PlatformID(n int) string { return fmt.Sprintf("mw-%d", n) }

func (m *Middleware) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	m.mu.Lock()
	delay := m.delay
	m.mu.Unlock()
	time.Sleep(delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	drop := func() {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if m.down {
		drop()
		return
	}
	if len(m.failures) > 0 {
		f := m.failures[0]
		m.failures = m.failures[1:]
		if f.Status == 0 {
			drop()
			return
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	if err := byoc.Verify(m.Secret, r.Header.Get("X-Parley-Signature"), body, time.Now(), 5*time.Minute); err != nil {
		http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	var kind struct{ Type string }
	_ = json.Unmarshal(body, &kind)
	if kind.Type == "moderation" {
		var mod Moderation
		if err := json.Unmarshal(body, &mod); err != nil || mod.Action == "" || mod.Message.ID == "" {
			http.Error(w, "bad moderation body", http.StatusBadRequest)
			return
		}
		m.moderations = append(m.moderations, mod)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	cb.Attempt = r.Header.Get("X-Parley-Delivery-Attempt")
	cb.Verified = true
	m.seq++
	m.received = append(m.received, cb)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": PlatformID(m.seq)})
}
