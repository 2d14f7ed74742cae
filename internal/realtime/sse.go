package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Defaults for SSEOptions.
const (
	DefaultSSEHeartbeat    = 15 * time.Second
	DefaultSSEWriteTimeout = 10 * time.Second
)

// SSEOptions tunes ServeSSE. The zero value uses the defaults.
type SSEOptions struct {
	// Heartbeat is the interval between comment lines that keep proxies and
	// clients from timing out an idle stream (DefaultSSEHeartbeat if zero).
	Heartbeat time.Duration
	// WriteTimeout bounds each write to the client (DefaultSSEWriteTimeout if
	// zero); a client that does not read is disconnected.
	WriteTimeout time.Duration
	// Retry, if positive, is sent once as the "retry:" field: how long the
	// browser waits before reconnecting.
	Retry time.Duration
}

// ServeSSE streams sub to the client as Server-Sent Events
// (text/event-stream). Each event is written as
//
//	id: <Event.ID>
//	event: <Event.Type>
//	data: <Event as JSON, one line>
//
// and flushed at once; a ": heartbeat" comment is written every
// opts.Heartbeat. ServeSSE takes ownership of sub and closes it when it
// returns. It returns when:
//
//   - the request's context ends (the client went away, or the server is
//     shutting down): it returns nil;
//   - the subscription ends (slow client, hub closed, events missed): it
//     writes "event: error" with data {"error": "<reason>"} if it still can,
//     and returns sub.Err();
//   - a write fails or times out: it returns that error.
//
// Last-Event-ID: a reconnecting EventSource sends the last id it saw, but
// events are NOT replayed (the hub keeps no history). Clients must re-sync
// after every (re)connection by listing what they show through the API, then
// apply the events that follow.
//
// Call ServeSSE after authenticating the request and building sub's filter
// from what the caller may see; ServeSSE itself checks nothing.
func ServeSSE(w http.ResponseWriter, r *http.Request, sub *Subscription, opts SSEOptions) error {
	defer sub.Close()
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultSSEHeartbeat
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultSSEWriteTimeout
	}
	rc := http.NewResponseController(w)
	sw := &sseWriter{w: w, rc: rc, timeout: opts.WriteTimeout}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	// Open the stream at once so the client knows it is connected.
	var first strings.Builder
	if opts.Retry > 0 {
		fmt.Fprintf(&first, "retry: %d\n", opts.Retry.Milliseconds())
	}
	first.WriteString(": connected\n\n")
	if err := sw.write(first.String()); err != nil {
		return err
	}

	ticker := time.NewTicker(opts.Heartbeat)
	defer ticker.Stop()
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := sw.write(": heartbeat\n\n"); err != nil {
				return err
			}
		case e, ok := <-sub.C():
			if !ok {
				reason := sub.Err()
				if reason == nil {
					reason = ErrClosed
				}
				msg, _ := json.Marshal(map[string]string{"error": reason.Error()})
				_ = sw.write("event: error\ndata: " + string(msg) + "\n\n")
				return reason
			}
			data, err := json.Marshal(e)
			if err != nil {
				// Only invalid Data can fail; skip the event rather than
				// end the stream.
				continue
			}
			var b strings.Builder
			b.Grow(len(data) + len(e.ID) + len(e.Type) + 24)
			b.WriteString("id: ")
			b.WriteString(oneLine(e.ID))
			b.WriteString("\nevent: ")
			b.WriteString(oneLine(e.Type))
			b.WriteString("\ndata: ")
			b.Write(data)
			b.WriteString("\n\n")
			if err := sw.write(b.String()); err != nil {
				return err
			}
		}
	}
}

type sseWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

// write writes s under a fresh write deadline and flushes it.
func (sw *sseWriter) write(s string) error {
	if err := sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout)); err != nil &&
		!errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := io.WriteString(sw.w, s); err != nil {
		return err
	}
	if err := sw.rc.Flush(); err != nil {
		return err
	}
	return nil
}

// oneLine keeps a field value from breaking the event framing.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
