// Package outbox delivers accepted outbound messages through their channel
// adapter. Each message to send has a row in `deliveries`, written in the
// same transaction as the message, so nothing accepted is lost. Workers
// claim due rows with a lease (a crashed node's rows are claimed again when
// the lease runs out), deliver one thread's messages strictly in order,
// retry with exponential backoff and jitter — or after the platform's own
// Retry-After — and end in a visible `failed` state with the platform's
// reason.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/store"
)

// Enqueue records delivery work for a message inside the caller's
// transaction (the one that stores the message).
func Enqueue(ctx context.Context, tx *store.Tx, workspaceID, messageID, threadID, pocID string, now time.Time) error {
	us := store.Micros(now)
	_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, workspace_id, message_id, thread_id, point_of_contact_id, state, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`, store.NewID(), workspaceID, messageID, threadID, pocID, us, us, us)
	return err
}

// Messages is what the outbox needs from the inbox (declared here, by its
// consumer). The Mark* methods run in the outbox's transaction, so the
// delivery row and the message change together.
type Messages interface {
	LoadOutbound(ctx context.Context, messageID string, attempt int) (pocID string, msg *channel.OutboundMessage, err error)
	MarkSent(ctx context.Context, tx *store.Tx, messageID, platformMessageID string) error
	MarkRetrying(ctx context.Context, tx *store.Tx, messageID, reason string) error
	MarkFailed(ctx context.Context, tx *store.Tx, messageID, reason string) error
}

// limiter is the pace of one point of contact's sends.
func (w *Worker) limiter(pocID string, r channel.Rate) *rate.Limiter {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.limiters == nil {
		w.limiters = map[string]*rate.Limiter{}
	}
	l := w.limiters[pocID]
	if l == nil {
		burst := max(r.Burst, 1)
		limit := rate.Limit(r.PerSecond)
		if r.PerSecond <= 0 {
			limit = rate.Inf
		}
		l = rate.NewLimiter(limit, burst)
		w.limiters[pocID] = l
	}
	return l
}

// UnreachableMarker records that a platform called a recipient unreachable
// (SendError.Unreachable), so later sends are refused before queueing.
type UnreachableMarker interface {
	MarkUnreachable(ctx context.Context, tx *store.Tx, messageID, reason string) error
}

// Points loads the point of contact a message goes out on.
type Points interface {
	Lookup(ctx context.Context, id string) (channel.PointOfContact, error)
}

// Options configure the worker.
type Options struct {
	DB       *store.DB
	Messages Messages
	Points   Points
	Registry *channel.Registry
	Logger   *slog.Logger
	Now      func() time.Time
	NodeID   string
	// Workers deliver concurrently (different threads); default 8.
	Workers int
	// MaxAttempts before a message is failed; default 8.
	MaxAttempts int
	// BaseBackoff is the first retry delay, doubled each attempt with
	// jitter, capped by MaxBackoff; defaults 2 s and 10 min.
	BaseBackoff, MaxBackoff time.Duration
	// Lease is how long a claimed delivery is reserved; default 2 min. A
	// send must finish within it (SendTimeout is kept below it).
	Lease time.Duration
	// SendTimeout bounds one platform call; default 30 s.
	SendTimeout time.Duration
	// Poll is how often to look for due work without a wake-up; default 1 s.
	Poll time.Duration
	// Registerer receives the outbox metrics (optional).
	Registerer prometheus.Registerer
}

// Worker runs the outbox.
type Worker struct {
	o    Options
	wake chan struct{}

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // point of contact → its platform's pace

	sent, failed, retried prometheus.Counter
	latency               prometheus.Histogram
}

// New makes a worker.
func New(o Options) *Worker {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 2 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.SendTimeout <= 0 || o.SendTimeout > o.Lease/2 {
		o.SendTimeout = min(30*time.Second, o.Lease/2)
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.NodeID == "" {
		o.NodeID = store.NewID()
	}
	w := &Worker{o: o, wake: make(chan struct{}, 1),
		sent:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_outbound_sent_total", Help: "Outbound messages accepted by their platform."}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_outbound_failed_total", Help: "Outbound messages that ended failed."}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_outbound_retries_total", Help: "Outbound send attempts that will be retried."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parley_outbound_send_seconds", Help: "Duration of one platform send call.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(w.sent, w.failed, w.retried, w.latency)
	}
	return w
}

// Wake makes the worker look for work now (called after a commit that
// enqueued some).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

type claimed struct {
	id, messageID, pocID string
	attempts             int
}

// Run claims and delivers until ctx ends, then waits for sends in flight.
func (w *Worker) Run(ctx context.Context) error {
	if w.o.DB.Dialect() == store.SQLite {
		// SQLite means one node: leases left by a previous run of this
		// process (killed mid-send) can be released at once.
		if _, err := w.o.DB.ExecContext(ctx, `UPDATE deliveries SET locked_until = 0, locked_by = '' WHERE state = 'pending' AND locked_until > 0`); err != nil {
			return fmt.Errorf("outbox: release leases: %w", err)
		}
	}
	jobs := make(chan claimed)
	var wg sync.WaitGroup
	for i := 0; i < w.o.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				w.deliver(ctx, j)
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-w.wake:
		}
		batch, err := w.claim(ctx, w.o.Workers*4)
		if err != nil && ctx.Err() == nil {
			w.o.Logger.Error("outbox: claim", "err", err)
		}
		for _, j := range batch {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return nil
			}
		}
		if len(batch) > 0 {
			w.Wake() // there may be more: the next message of each thread
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(w.o.Poll)
	}
}

// claim leases up to n due deliveries, at most one per thread: the oldest
// pending delivery of a thread blocks the others until it is done or failed,
// which is what keeps a thread's messages in order.
func (w *Worker) claim(ctx context.Context, n int) ([]claimed, error) {
	now := store.Micros(w.o.Now())
	var out []claimed
	err := w.o.DB.InTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		q := `SELECT d.id, d.message_id, d.point_of_contact_id, d.attempts FROM deliveries d
			WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.locked_until < ?
			AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.thread_id = d.thread_id AND e.state = 'pending'
				AND (e.created_at < d.created_at OR (e.created_at = d.created_at AND e.id < d.id)))
			ORDER BY d.next_attempt_at, d.created_at LIMIT ?`
		if tx.Dialect() == store.Postgres {
			q += ` FOR UPDATE OF d SKIP LOCKED`
		}
		rows, err := tx.QueryContext(ctx, q, now, now, n)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.id, &c.messageID, &c.pocID, &c.attempts); err != nil {
				rows.Close()
				return err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := store.Micros(w.o.Now().Add(w.o.Lease))
		kept := out[:0]
		for _, c := range out {
			res, err := tx.ExecContext(ctx, `UPDATE deliveries SET locked_until = ?, locked_by = ?, attempts = attempts + 1 WHERE id = ? AND locked_until < ?`,
				until, w.o.NodeID, c.id, now)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 1 {
				c.attempts++
				kept = append(kept, c)
			}
		}
		out = kept
		return nil
	})
	return out, err
}

func (w *Worker) deliver(ctx context.Context, c claimed) {
	sendErr := w.send(ctx, c)
	if sendErr == nil || ctx.Err() != nil {
		return // sent (and recorded), or shutting down: the lease runs out and the send is retried
	}
	// The outcome is recorded even if ctx ends now: a fresh context.
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.recordFailure(rctx, c, sendErr); err != nil {
		w.o.Logger.Error("outbox: record outcome", "delivery", c.id, "err", err)
	}
}

func (w *Worker) send(ctx context.Context, c claimed) error {
	pocID, msg, err := w.o.Messages.LoadOutbound(ctx, c.messageID, c.attempts)
	if err != nil {
		return &channel.SendError{Reason: "cannot load message: " + err.Error(), Retryable: !errors.Is(err, store.ErrNotFound)}
	}
	poc, err := w.o.Points.Lookup(ctx, pocID)
	if errors.Is(err, store.ErrNotFound) {
		return &channel.SendError{Reason: "the point of contact was deleted"}
	}
	if err != nil {
		return &channel.SendError{Retryable: true, Reason: err.Error()}
	}
	adapter, ok := w.o.Registry.Get(poc.Type)
	sender, canSend := adapter.(channel.Sender)
	if !ok || !canSend {
		return &channel.SendError{Reason: fmt.Sprintf("channel type %q cannot send messages", poc.Type)}
	}
	if rl, ok := adapter.(channel.RateLimiter); ok {
		// Pace sends per point of contact at the platform's rate (on this
		// node), so the platform's 429 stays the exception.
		if err := w.limiter(poc.ID, rl.RateLimit()).Wait(ctx); err != nil {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(ctx, w.o.SendTimeout)
	start := time.Now()
	res, err := sender.Send(sctx, &poc, msg)
	cancel()
	w.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	err = w.o.DB.InTx(rctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(rctx, `UPDATE deliveries SET state = 'done', locked_until = 0, last_error = '', updated_at = ? WHERE id = ?`,
			store.Micros(w.o.Now()), c.id); err != nil {
			return err
		}
		return w.o.Messages.MarkSent(rctx, tx, c.messageID, res.PlatformMessageID)
	})
	if err != nil {
		// The platform has the message but we could not record it: the
		// lease runs out and it is sent again; platforms and middlewares
		// dedupe on our message id.
		w.o.Logger.Error("outbox: record sent", "delivery", c.id, "err", err)
		return nil
	}
	w.sent.Inc()
	w.Wake()
	return nil
}

func (w *Worker) recordFailure(ctx context.Context, c claimed, sendErr error) error {
	var se *channel.SendError
	if !errors.As(sendErr, &se) {
		// Unclassified errors (timeouts, connection failures) are transient.
		se = &channel.SendError{Retryable: true, Reason: sendErr.Error()}
	}
	reason := se.Error()
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	now := w.o.Now()
	final := !se.Retryable || c.attempts >= w.o.MaxAttempts
	return w.o.DB.InTx(ctx, func(tx *store.Tx) error {
		if final {
			if se.Retryable {
				reason = fmt.Sprintf("gave up after %d attempts: %s", c.attempts, reason)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', locked_until = 0, last_error = ?, updated_at = ? WHERE id = ?`,
				reason, store.Micros(now), c.id); err != nil {
				return err
			}
			tx.AfterCommit(func() { w.failed.Inc(); w.Wake() })
			if um, ok := w.o.Messages.(UnreachableMarker); ok && se.Unreachable {
				if err := um.MarkUnreachable(ctx, tx, c.messageID, reason); err != nil {
					return err
				}
			}
			return w.o.Messages.MarkFailed(ctx, tx, c.messageID, reason)
		}
		delay := w.backoff(c.attempts)
		if se.RetryAfter > delay {
			delay = se.RetryAfter
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET locked_until = 0, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`,
			store.Micros(now.Add(delay)), reason, store.Micros(now), c.id); err != nil {
			return err
		}
		tx.AfterCommit(w.retried.Inc)
		return w.o.Messages.MarkRetrying(ctx, tx, c.messageID, fmt.Sprintf("attempt %d failed, retrying in %s: %s", c.attempts, delay.Round(time.Millisecond), reason))
	})
}

// backoff is exponential with "equal jitter": half fixed, half random, so
// retries spread out but never come sooner than half the nominal delay.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.o.BaseBackoff
	for i := 1; i < attempt && d < w.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.o.MaxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// QueueDepth counts pending deliveries (for metrics).
func QueueDepth(ctx context.Context, db *store.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE state = 'pending'`).Scan(&n)
	return n, err
}

// SetMessages wires the inbox after construction (the inbox wakes the
// outbox, the outbox updates the inbox's messages).
func (w *Worker) SetMessages(m Messages) { w.o.Messages = m }
