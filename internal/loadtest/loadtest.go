// Package loadtest measures how fast a server acknowledges BYOC inbound
// messages, and compares it with a bare baseline: a minimal net/http server
// that stores each request body in SQLite in its own transaction.
//
// Run drives the load, StartBaseline starts the baseline and Command is the
// `parley load` command line that ties them together.
package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults used by Run when an Options field is left zero.
const (
	DefaultThreads        = 1000
	DefaultBodyText       = "Hello from parley load: is my order on its way?"
	DefaultRequestTimeout = 30 * time.Second
)

// maxResponseBody bounds how much of a response body is read (and discarded)
// before the connection is given up rather than reused.
const maxResponseBody = 1 << 20

// Options configures one load run.
type Options struct {
	// InboundURL is the BYOC inbound endpoint,
	// e.g. http://127.0.0.1:8080/api/v1/byoc/<pointOfContactID>/messages.
	InboundURL string
	// Token is sent as "Authorization: Bearer <Token>".
	Token string
	// Clients is the number of concurrent clients, each with at most one
	// request in flight.
	Clients int
	// Duration is how long new requests are started; requests in flight
	// when it ends are waited for. Zero means no time limit, which needs
	// MaxMessages.
	Duration time.Duration
	// MaxMessages stops the run after this many requests; 0 = unlimited.
	MaxMessages int
	// Threads is the number of distinct threads (and authors: a thread's id
	// is its author's id) the messages are spread over; 0 means
	// DefaultThreads.
	Threads int
	// BodyText is the text of every message; "" means DefaultBodyText.
	BodyText string
	// RunID names the threads ("load-<RunID>-<k>"). Runs that share a RunID
	// post to the same threads (a warm-up followed by the measured run);
	// message ids stay unique across runs. "" means a random id.
	RunID string
	// RequestTimeout bounds one request, response included; 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// Report is the outcome of one run.
type Report struct {
	Target  string
	Clients int
	Elapsed time.Duration
	// Acked counts 2xx answers; Errors counts everything else.
	Acked, Errors int64
	// ErrorsByKind counts errors by class: "http <status>" or
	// "transport: <what>".
	ErrorsByKind map[string]int64
	// ErrorSamples holds one message per kind of ErrorsByKind.
	ErrorSamples map[string]string
	// MsgsPerSec is Acked / Elapsed.
	MsgsPerSec float64
	// Acknowledgement latency of the acked requests (nearest rank).
	P50, P90, P99, Max time.Duration
}

// String renders the report as one human-readable block.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "target    %s\n", r.Target)
	fmt.Fprintf(&b, "clients   %d\n", r.Clients)
	fmt.Fprintf(&b, "elapsed   %s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "acked     %d (%.1f msgs/s)\n", r.Acked, r.MsgsPerSec)
	fmt.Fprintf(&b, "latency   p50 %s  p90 %s  p99 %s  max %s\n",
		roundLatency(r.P50), roundLatency(r.P90), roundLatency(r.P99), roundLatency(r.Max))
	fmt.Fprintf(&b, "errors    %d\n", r.Errors)
	kinds := make([]string, 0, len(r.ErrorsByKind))
	for k := range r.ErrorsByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-24s %d", k, r.ErrorsByKind[k])
		if s := r.ErrorSamples[k]; s != "" {
			fmt.Fprintf(&b, "  e.g. %s", s)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// Run posts BYOC inbound messages to opts.InboundURL with opts.Clients
// concurrent clients until opts.Duration has passed or opts.MaxMessages
// requests have been made, and reports what was acknowledged and how fast.
// A non-2xx answer or a transport failure is an error of the run's report,
// not of Run; Run returns an error for invalid options or, with the report
// so far, when ctx ends first.
func Run(ctx context.Context, opts Options) (Report, error) {
	if opts.InboundURL == "" {
		return Report{}, errors.New("loadtest: no inbound URL")
	}
	if opts.Clients < 1 {
		return Report{}, fmt.Errorf("loadtest: clients must be at least 1, not %d", opts.Clients)
	}
	if opts.Duration < 0 || opts.MaxMessages < 0 || opts.Threads < 0 || opts.RequestTimeout < 0 {
		return Report{}, errors.New("loadtest: negative duration, messages, threads or timeout")
	}
	if opts.Duration == 0 && opts.MaxMessages == 0 {
		return Report{}, errors.New("loadtest: need a duration or a message limit")
	}
	if opts.Threads == 0 {
		opts.Threads = DefaultThreads
	}
	if opts.BodyText == "" {
		opts.BodyText = DefaultBodyText
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.RunID == "" {
		opts.RunID = randomID()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, opts.InboundURL, nil)
	if err != nil {
		return Report{}, fmt.Errorf("loadtest: inbound URL: %w", err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return Report{}, fmt.Errorf("loadtest: inbound URL %q is not http(s)", opts.InboundURL)
	}

	transport := &http.Transport{
		Proxy: nil, // loopback, and never an environment proxy
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:        opts.Clients,
		MaxIdleConnsPerHost: opts.Clients,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	defer transport.CloseIdleConnections()
	r := &runner{
		client:   &http.Client{Transport: transport, Timeout: opts.RequestTimeout},
		url:      opts.InboundURL,
		authz:    []string{"Bearer " + opts.Token},
		ctype:    []string{"application/json"},
		bodies:   newBodyBuilder(opts),
		max:      int64(opts.MaxMessages),
		perCap:   latencyCapacity(opts),
		parent:   ctx,
		clients:  opts.Clients,
		duration: opts.Duration,
	}
	return r.run()
}

type runner struct {
	client   *http.Client
	url      string
	authz    []string
	ctype    []string
	bodies   *bodyBuilder
	max      int64
	perCap   int
	parent   context.Context
	clients  int
	duration time.Duration

	next atomic.Int64 // number of the last message started
}

// clientResult is what one client gathered; merged once at the end.
type clientResult struct {
	latencies []time.Duration
	errors    map[string]int64
	samples   map[string]string
}

func (r *runner) run() (Report, error) {
	results := make([]clientResult, r.clients)
	start := time.Now()
	var deadline time.Time
	if r.duration > 0 {
		deadline = start.Add(r.duration)
	}
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = r.client1(deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	rep := Report{
		Target:       r.url,
		Clients:      r.clients,
		Elapsed:      elapsed,
		ErrorsByKind: map[string]int64{},
		ErrorSamples: map[string]string{},
	}
	n := 0
	for _, c := range results {
		n += len(c.latencies)
	}
	all := make([]time.Duration, 0, n)
	for _, c := range results {
		all = append(all, c.latencies...)
		for k, v := range c.errors {
			rep.ErrorsByKind[k] += v
			rep.Errors += v
			if _, ok := rep.ErrorSamples[k]; !ok {
				rep.ErrorSamples[k] = c.samples[k]
			}
		}
	}
	slices.Sort(all)
	rep.Acked = int64(len(all))
	if elapsed > 0 {
		rep.MsgsPerSec = float64(rep.Acked) / elapsed.Seconds()
	}
	rep.P50 = percentile(all, 0.50)
	rep.P90 = percentile(all, 0.90)
	rep.P99 = percentile(all, 0.99)
	if len(all) > 0 {
		rep.Max = all[len(all)-1]
	}
	return rep, r.parent.Err()
}

// client1 is one client's loop: one request in flight at a time.
func (r *runner) client1(deadline time.Time) clientResult {
	res := clientResult{
		latencies: make([]time.Duration, 0, r.perCap),
		errors:    map[string]int64{},
		samples:   map[string]string{},
	}
	sample := make([]byte, 256)
	for r.parent.Err() == nil {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
		n := r.next.Add(1)
		if r.max > 0 && n > r.max {
			break
		}
		// A fresh body per request: the transport may still be reading the
		// previous one after its response arrived, so it is not reused.
		body := r.bodies.build(n, time.Now())
		req, err := http.NewRequestWithContext(r.parent, http.MethodPost, r.url, bytes.NewReader(body))
		if err != nil {
			res.fail("transport: request", err.Error())
			continue
		}
		req.Header = http.Header{"Authorization": r.authz, "Content-Type": r.ctype}

		t0 := time.Now()
		resp, err := r.client.Do(req)
		if err != nil {
			if r.parent.Err() != nil {
				break // cancelled, not the server's fault
			}
			res.fail(transportKind(err), err.Error())
			continue
		}
		var m int
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			m, _ = io.ReadFull(resp.Body, sample)
		}
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		lat := time.Since(t0)
		resp.Body.Close()
		switch {
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			kind := "http " + strconv.Itoa(resp.StatusCode)
			res.fail(kind, resp.Status+": "+strings.TrimSpace(string(sample[:m])))
		case err != nil:
			if r.parent.Err() != nil {
				break
			}
			res.fail("transport: reading body", err.Error())
		default:
			res.latencies = append(res.latencies, lat)
		}
	}
	return res
}

func (c *clientResult) fail(kind, msg string) {
	c.errors[kind]++
	if _, ok := c.samples[kind]; !ok {
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		c.samples[kind] = msg
	}
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "transport: refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "transport: reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport: eof"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "transport: timeout"
	default:
		return "transport: other"
	}
}

// percentile returns the nearest-rank p-quantile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func latencyCapacity(opts Options) int {
	const most = 1 << 20
	if opts.MaxMessages > 0 {
		return min(opts.MaxMessages/opts.Clients+1, most)
	}
	// Guess 20k msgs/s shared by all clients; append grows it if wrong.
	want := int(opts.Duration.Seconds()*20000)/opts.Clients + 1
	return max(1024, min(want, most))
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// bodyBuilder assembles message bodies from pre-encoded pieces: the only
// per-message work is appending the number and the timestamp.
type bodyBuilder struct {
	idPrefix []byte   // `{"id":"load-<run>-<nonce>-`
	threads  [][]byte // `","thread":{…},"author":{…},"text":"…","sent_at":"`
	size     int
}

func newBodyBuilder(opts Options) *bodyBuilder {
	runPrefix := "load-" + opts.RunID + "-"
	b := &bodyBuilder{
		idPrefix: append([]byte(`{"id":`), jsonOpenString(runPrefix+randomID()+"-")...),
		threads:  make([][]byte, opts.Threads),
	}
	text := jsonString(opts.BodyText)
	longest := 0
	for k := range b.threads {
		id := jsonString(runPrefix + strconv.Itoa(k))
		name := jsonString("Load client " + strconv.Itoa(k))
		t := make([]byte, 0, 64+2*len(id)+2*len(name)+len(text))
		t = append(t, `","thread":{"id":`...)
		t = append(t, id...)
		t = append(t, `,"name":`...)
		t = append(t, name...)
		t = append(t, `},"author":{"id":`...)
		t = append(t, id...)
		t = append(t, `,"name":`...)
		t = append(t, name...)
		t = append(t, `},"text":`...)
		t = append(t, text...)
		t = append(t, `,"sent_at":"`...)
		b.threads[k] = t
		longest = max(longest, len(t))
	}
	b.size = len(b.idPrefix) + 20 + longest + len(time.RFC3339Nano) + 8
	return b
}

// build returns the body of message n, with thread n mod Threads, so that
// concurrent messages land on different threads.
func (b *bodyBuilder) build(n int64, now time.Time) []byte {
	dst := make([]byte, 0, b.size)
	dst = append(dst, b.idPrefix...)
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, b.threads[n%int64(len(b.threads))]...)
	dst = now.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// jsonOpenString is jsonString without the closing quote.
func jsonOpenString(s string) []byte {
	b := jsonString(s)
	return b[:len(b)-1]
}
