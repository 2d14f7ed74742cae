package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultPGChannel is the PostgreSQL notification channel PGBridge uses
// unless WithPGChannel says otherwise.
const DefaultPGChannel = "parley_events"

// MaxPGPayload is the largest NOTIFY payload, in bytes, that PGBridge sends.
// PostgreSQL refuses payloads of 8000 bytes or more (with the default block
// size); the margin leaves room for encoding differences.
const MaxPGPayload = 7900

const (
	defaultPGMinBackoff = 250 * time.Millisecond
	defaultPGMaxBackoff = 30 * time.Second
	// pgIdleCheck: after this long without a notification the listener pings
	// the server, so a half-open connection is noticed and replaced.
	pgIdleCheck   = 30 * time.Second
	pgPingTimeout = 5 * time.Second
	pgCloseWait   = 5 * time.Second
)

// PGBridgeOption configures a PGBridge.
type PGBridgeOption func(*PGBridge)

// WithPGChannel sets the notification channel (default DefaultPGChannel).
// Every node of one deployment must use the same channel; tests use a random
// one so that parallel runs on one database do not hear each other.
func WithPGChannel(name string) PGBridgeOption {
	return func(b *PGBridge) {
		if name != "" {
			b.channel = name
		}
	}
}

// WithPGReconnectBackoff sets the first and the largest wait between
// attempts to re-establish the listening connection (defaults 250ms, 30s).
// The wait doubles after each failed attempt, with jitter.
func WithPGReconnectBackoff(first, largest time.Duration) PGBridgeOption {
	return func(b *PGBridge) {
		if first > 0 {
			b.minBackoff = first
		}
		if largest >= b.minBackoff {
			b.maxBackoff = largest
		}
	}
}

// PGBridge carries events between nodes through PostgreSQL LISTEN/NOTIFY.
//
// Sending: attach the bridge to the local hub with hub.SetBroadcaster(bridge);
// Broadcast then sends each event as a NOTIFY on the channel, with the JSON
// payload {"node": "<nodeID>", "event": <Event>}. NOTIFY payloads are limited
// to MaxPGPayload bytes: a larger event is sent without its Data and with
// DataTruncated set to true, so the receivers (and their clients) know to
// fetch the resource through the API instead.
//
// Receiving: Run listens on the channel with a dedicated connection and
// publishes every event from another node to the local hub only
// (Hub.PublishLocal, so events never echo back to PostgreSQL). Events carrying
// this bridge's own node ID are skipped: the local hub already delivered
// them. If the listening connection drops, Run reconnects with backoff;
// notifications sent in the meantime are lost, so on reconnecting Run ends
// every local subscription with ErrEventsMissed, which makes clients re-sync.
//
// Delivery is at most once and best effort, like the rest of the package.
type PGBridge struct {
	connString string
	hub        *Hub
	nodeID     string
	logger     *slog.Logger
	channel    string
	minBackoff time.Duration
	maxBackoff time.Duration
	idleCheck  time.Duration

	ready     chan struct{}
	readyOnce sync.Once

	mu     sync.Mutex // guards the sending connection
	conn   *pgx.Conn
	closed bool
}

// NewPGBridge returns a bridge for hub that connects with connString (a
// PostgreSQL URL or keyword/value string). nodeID must be unique per node
// (a random one is used if empty). logger may be nil.
func NewPGBridge(connString string, hub *Hub, nodeID string, logger *slog.Logger, opts ...PGBridgeOption) *PGBridge {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if nodeID == "" {
		nodeID = newID()
	}
	b := &PGBridge{
		connString: connString,
		hub:        hub,
		nodeID:     nodeID,
		logger:     logger,
		channel:    DefaultPGChannel,
		minBackoff: defaultPGMinBackoff,
		maxBackoff: defaultPGMaxBackoff,
		idleCheck:  pgIdleCheck,
		ready:      make(chan struct{}),
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

// NodeID returns the node ID stamped on the events this bridge sends.
func (b *PGBridge) NodeID() string { return b.nodeID }

// Ready is closed once Run is first listening on the channel.
func (b *PGBridge) Ready() <-chan struct{} { return b.ready }

// pgEnvelope is the NOTIFY payload.
type pgEnvelope struct {
	Node  string `json:"node"`
	Event Event  `json:"event"`
}

// Run listens for other nodes' events until ctx ends, reconnecting with
// backoff whenever the connection fails. It returns nil once ctx ends, or an
// error at once if the connection string cannot be parsed.
func (b *PGBridge) Run(ctx context.Context) error {
	cfg, err := b.config()
	if err != nil {
		return err
	}
	backoff := b.minBackoff
	listenedBefore := false
	for {
		listened, err := b.listen(ctx, cfg, listenedBefore)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			listenedBefore = true
			backoff = b.minBackoff
		}
		// Full jitter on the upper half: wait in [backoff/2, backoff).
		wait := backoff/2 + rand.N(backoff/2+1)
		b.logger.Warn("realtime: PostgreSQL listener disconnected, reconnecting",
			"channel", b.channel, "error", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, b.maxBackoff)
	}
}

func (b *PGBridge) config() (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(b.connString)
	if err != nil {
		return nil, fmt.Errorf("realtime: PostgreSQL bridge: %w", err)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "parley-realtime"
	}
	return cfg, nil
}

// listen runs one listening connection until it fails or ctx ends. It
// reports whether LISTEN succeeded.
func (b *PGBridge) listen(ctx context.Context, cfg *pgx.ConnConfig, reconnect bool) (bool, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), pgCloseWait)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		return false, err
	}
	b.readyOnce.Do(func() { close(b.ready) })
	if reconnect {
		n := b.hub.endAll(ErrEventsMissed)
		b.logger.Info("realtime: PostgreSQL listener reconnected; ended local subscriptions so clients re-sync",
			"channel", b.channel, "subscriptions", n)
	} else {
		b.logger.Debug("realtime: PostgreSQL listener started", "channel", b.channel, "node", b.nodeID)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, b.idleCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return true, nil
			}
			if !pgconn.Timeout(err) {
				return true, err
			}
			pctx, cancel := context.WithTimeout(ctx, pgPingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
			continue
		}
		b.receive(n.Payload)
	}
}

func (b *PGBridge) receive(payload string) {
	var env pgEnvelope
	if err := json.Unmarshal([]byte(payload), &env); err != nil {
		b.logger.Warn("realtime: ignoring malformed notification", "channel", b.channel, "error", err)
		return
	}
	if env.Node == b.nodeID {
		return
	}
	if env.Event.Type == "" || env.Event.WorkspaceID == "" {
		b.logger.Warn("realtime: ignoring notification without type or workspace", "channel", b.channel, "node", env.Node)
		return
	}
	b.hub.PublishLocal(env.Event)
}

// Broadcast sends events to the other nodes, one NOTIFY each, in order, in
// one round trip, over a sending connection it opens on first use (and
// reopens after a failure). An event that cannot be encoded, or is too large
// even without its Data, is left out and reported in the returned error;
// the others are still sent.
func (b *PGBridge) Broadcast(ctx context.Context, events ...Event) error {
	events = normalize(events)
	payloads := make([]string, 0, len(events))
	var errs []error
	for _, e := range events {
		p, err := b.payload(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		payloads = append(payloads, p)
	}
	if len(payloads) > 0 {
		if err := b.send(ctx, payloads); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// payload encodes e as a NOTIFY payload, dropping its Data if it is too big.
func (b *PGBridge) payload(e Event) (string, error) {
	data, err := json.Marshal(pgEnvelope{Node: b.nodeID, Event: e})
	if err != nil {
		return "", fmt.Errorf("realtime: encoding event %s: %w", e.ID, err)
	}
	if len(data) <= MaxPGPayload {
		return string(data), nil
	}
	e.Data = nil
	e.DataTruncated = true
	data, err = json.Marshal(pgEnvelope{Node: b.nodeID, Event: e})
	if err != nil {
		return "", fmt.Errorf("realtime: encoding event %s: %w", e.ID, err)
	}
	if len(data) > MaxPGPayload {
		return "", fmt.Errorf("realtime: event %s is %d bytes even without data, over the %d-byte NOTIFY limit",
			e.ID, len(data), MaxPGPayload)
	}
	return string(data), nil
}

func (b *PGBridge) send(ctx context.Context, payloads []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("realtime: PostgreSQL bridge closed")
	}
	for attempt := 0; ; attempt++ {
		fresh := false
		if b.conn == nil {
			cfg, err := b.config()
			if err != nil {
				return err
			}
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				return fmt.Errorf("realtime: connecting to PostgreSQL: %w", err)
			}
			b.conn, fresh = conn, true
		}
		err := b.notify(ctx, payloads)
		if err == nil {
			return nil
		}
		// A connection found dead on reuse (the server restarted, a proxy
		// timed it out) is replaced and the send tried once more.
		dead := b.conn.IsClosed()
		b.closeConnLocked()
		if fresh || !dead || attempt > 0 || ctx.Err() != nil {
			return fmt.Errorf("realtime: sending notifications: %w", err)
		}
	}
}

func (b *PGBridge) notify(ctx context.Context, payloads []string) error {
	if len(payloads) == 1 {
		_, err := b.conn.Exec(ctx, "SELECT pg_notify($1, $2)", b.channel, payloads[0])
		return err
	}
	batch := &pgx.Batch{}
	for _, p := range payloads {
		batch.Queue("SELECT pg_notify($1, $2)", b.channel, p)
	}
	return b.conn.SendBatch(ctx, batch).Close()
}

func (b *PGBridge) closeConnLocked() {
	if b.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgCloseWait)
	defer cancel()
	_ = b.conn.Close(ctx)
	b.conn = nil
}

// Close closes the sending connection; later Broadcast calls fail. It does
// not stop Run: cancel Run's context for that.
func (b *PGBridge) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.closeConnLocked()
	return nil
}
