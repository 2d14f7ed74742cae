package realtime

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// DefaultBuffer is the subscription buffer used when Subscribe is given a
// buffer smaller than 1.
const DefaultBuffer = 64

const (
	// broadcastQueueSize bounds the events waiting to be sent to other nodes.
	broadcastQueueSize = 4096
	// broadcastBatchMax bounds the events handed to one Broadcast call.
	broadcastBatchMax = 256
	// broadcastTimeout bounds one Broadcast call.
	broadcastTimeout = 10 * time.Second
)

// Broadcaster sends events to the other nodes (see [PGBridge]). The hub calls
// it from a single goroutine; it must not retain the events slice.
type Broadcaster interface {
	Broadcast(ctx context.Context, events ...Event) error
}

// Hub fans events out to this node's subscribers and, when a [Broadcaster]
// is attached, forwards them to the other nodes. It is safe for concurrent
// use. The zero value is not usable: call [NewHub].
type Hub struct {
	logger *slog.Logger

	mu     sync.RWMutex
	subs   map[*Subscription]struct{}
	closed bool

	bmu   sync.Mutex // serialises SetBroadcaster and Close
	bcast atomic.Pointer[broadcastLoop]
}

// NewHub returns an empty hub. logger may be nil.
func NewHub(logger *slog.Logger) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{logger: logger, subs: make(map[*Subscription]struct{})}
}

// Publish delivers events to every local subscriber whose filter accepts
// them and, if a Broadcaster is attached, queues them for the other nodes.
// Call it only after the transaction that made the change has committed.
//
// Publish never blocks on a subscriber or on the network: a subscriber whose
// buffer is full is dropped (ErrSlowSubscriber), and events that do not fit
// in the broadcast queue are dropped with a log line. Events without an ID
// get a new UUIDv7; events without At get the current time.
func (h *Hub) Publish(events ...Event) {
	events = normalize(events)
	if len(events) == 0 {
		return
	}
	h.deliver(events)
	if l := h.bcast.Load(); l != nil {
		l.enqueue(h.logger, events)
	}
}

// PublishLocal is Publish without the broadcast: it delivers events to this
// node's subscribers only. Bridges use it for events that came from another
// node.
func (h *Hub) PublishLocal(events ...Event) {
	events = normalize(events)
	if len(events) == 0 {
		return
	}
	h.deliver(events)
}

// normalize fills in missing IDs and times, copying events first if it has
// to change any so the caller's slice is left alone.
func normalize(events []Event) []Event {
	copied := false
	for i := range events {
		if events[i].ID != "" && !events[i].At.IsZero() {
			continue
		}
		if !copied {
			events = append([]Event(nil), events...)
			copied = true
		}
		if events[i].ID == "" {
			events[i].ID = newID()
		}
		if events[i].At.IsZero() {
			events[i].At = time.Now().UTC()
		}
	}
	return events
}

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

func (h *Hub) deliver(events []Event) {
	var slow []*Subscription
	h.mu.RLock()
	for s := range h.subs {
		for i := range events {
			if !s.accepts(h.logger, &events[i]) {
				continue
			}
			if !s.send(events[i]) {
				slow = append(slow, s)
				break
			}
		}
	}
	h.mu.RUnlock()
	if len(slow) == 0 {
		return
	}
	h.mu.Lock()
	for _, s := range slow {
		delete(h.subs, s)
	}
	h.mu.Unlock()
	for _, s := range slow {
		h.logger.Warn("realtime: dropped slow subscriber", "buffer", cap(s.ch))
	}
}

// Subscribe registers a subscriber. filter decides, for each published event,
// whether this subscriber may and wants to see it: it is where the caller
// enforces workspace scoping and permissions. It is called at publish time,
// possibly from several goroutines at once, so it must be fast, must not
// block and must be safe for concurrent use; nil accepts every event. A
// filter that panics is treated as rejecting the event.
//
// buffer bounds the events waiting to be read (DefaultBuffer if < 1); when it
// is full the subscription ends with ErrSlowSubscriber.
//
// The caller must Close the subscription when done with it (ServeSSE does).
func (h *Hub) Subscribe(filter func(Event) bool, buffer int) *Subscription {
	if buffer < 1 {
		buffer = DefaultBuffer
	}
	s := &Subscription{
		hub:    h,
		filter: filter,
		ch:     make(chan Event, buffer),
		done:   make(chan struct{}),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		s.end(ErrHubClosed)
		return s
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Subscribers returns the number of live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Active reports whether a published event would reach anyone: a local
// subscriber or other nodes. Publishers use it to skip building events
// (marshalling their data) when nobody listens.
func (h *Hub) Active() bool {
	return h.bcast.Load() != nil || h.Subscribers() > 0
}

// endAll ends every current subscription with err; the hub stays open.
func (h *Hub) endAll(err error) int {
	h.mu.Lock()
	subs := h.subs
	h.subs = make(map[*Subscription]struct{})
	h.mu.Unlock()
	for s := range subs {
		s.end(err)
	}
	return len(subs)
}

func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// SetBroadcaster attaches b so that every event given to Publish is also
// sent to the other nodes; nil detaches the current one. Events are queued
// (bounded) and sent by one goroutine, in order, in batches: a slow or
// failing broadcaster never delays local delivery. Failures are logged.
func (h *Hub) SetBroadcaster(b Broadcaster) {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	var l *broadcastLoop
	if b != nil && !closed {
		l = newBroadcastLoop(b)
	}
	if old := h.bcast.Swap(l); old != nil {
		old.stop()
	}
	if l != nil {
		go l.run(h.logger)
	}
}

// Close ends every subscription with ErrHubClosed and stops forwarding to
// the Broadcaster (events still queued for it are dropped). Later Publish
// calls deliver nothing; later subscriptions end at once. Close is
// idempotent.
func (h *Hub) Close() {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.endAll(ErrHubClosed)
	if old := h.bcast.Swap(nil); old != nil {
		old.stop()
	}
}

// Subscription is one subscriber's view of a hub.
type Subscription struct {
	hub    *Hub
	filter func(Event) bool
	ch     chan Event
	done   chan struct{}

	mu    sync.Mutex
	ended bool
	err   error
}

// C returns the channel of events. It is closed when the subscription ends;
// events already buffered can still be read first.
func (s *Subscription) C() <-chan Event { return s.ch }

// Done is closed as soon as the subscription ends.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended (ErrSlowSubscriber, ErrClosed,
// ErrHubClosed, ErrEventsMissed), or nil while it is live.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription (Err becomes ErrClosed unless it had already
// ended). It is idempotent and safe to call concurrently with Publish.
func (s *Subscription) Close() {
	s.hub.remove(s)
	s.end(ErrClosed)
}

func (s *Subscription) accepts(logger *slog.Logger, e *Event) (ok bool) {
	if s.filter == nil {
		return true
	}
	defer func() {
		if r := recover(); r != nil {
			logger.Error("realtime: subscription filter panicked", "panic", fmt.Sprint(r), "event_type", e.Type)
			ok = false
		}
	}()
	return s.filter(*e)
}

// send offers e without blocking. It reports false, having ended the
// subscription with ErrSlowSubscriber, if the buffer was full.
func (s *Subscription) send(e Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return true
	}
	select {
	case s.ch <- e:
		return true
	default:
		s.endLocked(ErrSlowSubscriber)
		return false
	}
}

func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(err)
}

func (s *Subscription) endLocked(err error) {
	if s.ended {
		return
	}
	s.ended = true
	s.err = err
	close(s.ch)
	close(s.done)
}

// broadcastLoop forwards queued events to one Broadcaster.
type broadcastLoop struct {
	b       Broadcaster
	queue   chan Event
	dropped atomic.Int64
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

func newBroadcastLoop(b Broadcaster) *broadcastLoop {
	ctx, cancel := context.WithCancel(context.Background())
	return &broadcastLoop{
		b:      b,
		queue:  make(chan Event, broadcastQueueSize),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
}

func (l *broadcastLoop) enqueue(logger *slog.Logger, events []Event) {
	for _, e := range events {
		select {
		case l.queue <- e:
		default:
			if l.dropped.Add(1) == 1 {
				logger.Warn("realtime: broadcast queue full, dropping events for other nodes",
					"queue", cap(l.queue))
			}
		}
	}
}

func (l *broadcastLoop) stop() {
	l.cancel()
	<-l.done
}

func (l *broadcastLoop) run(logger *slog.Logger) {
	defer close(l.done)
	for {
		var first Event
		select {
		case <-l.ctx.Done():
			return
		case first = <-l.queue:
		}
		batch := make([]Event, 1, min(broadcastBatchMax, 1+len(l.queue)))
		batch[0] = first
	fill:
		for len(batch) < broadcastBatchMax {
			select {
			case e := <-l.queue:
				batch = append(batch, e)
			default:
				break fill
			}
		}
		if err := l.send(batch); err != nil {
			logger.Error("realtime: broadcasting events to other nodes failed",
				"events", len(batch), "error", err)
		}
		if n := l.dropped.Swap(0); n > 0 {
			logger.Warn("realtime: events dropped because the broadcast queue was full", "dropped", n)
		}
	}
}

func (l *broadcastLoop) send(batch []Event) (err error) {
	ctx, cancel := context.WithTimeout(l.ctx, broadcastTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("broadcaster panicked: %v", r)
		}
	}()
	return l.b.Broadcast(ctx, batch...)
}
