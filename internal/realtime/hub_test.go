package realtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func recv(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case e, ok := <-s.C():
		if !ok {
			t.Fatalf("subscription ended: %v", s.Err())
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an event")
	}
	return Event{}
}

func expectNone(t *testing.T, s *Subscription) {
	t.Helper()
	select {
	case e, ok := <-s.C():
		if ok {
			t.Fatalf("unexpected event %+v", e)
		}
		t.Fatalf("subscription ended: %v", s.Err())
	default:
	}
}

func inWorkspace(ws string) func(Event) bool {
	return func(e Event) bool { return e.WorkspaceID == ws }
}

func TestHubFanOut(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	subs := make([]*Subscription, 5)
	for i := range subs {
		subs[i] = h.Subscribe(nil, 8)
	}
	h.Publish(
		Event{Type: TypeCaseCreated, WorkspaceID: "w1", CaseID: "c1"},
		Event{Type: TypeMessageCreated, WorkspaceID: "w1", CaseID: "c1"},
	)
	for i, s := range subs {
		e1, e2 := recv(t, s), recv(t, s)
		if e1.Type != TypeCaseCreated || e2.Type != TypeMessageCreated {
			t.Errorf("sub %d: got %q then %q, want order preserved", i, e1.Type, e2.Type)
		}
		if e1.ID == "" || e1.At.IsZero() {
			t.Errorf("sub %d: ID and At should be filled in: %+v", i, e1)
		}
		if e1.ID == e2.ID {
			t.Errorf("sub %d: two events share the ID %s", i, e1.ID)
		}
	}
	if subs[0].Err() != nil {
		t.Errorf("Err on a live subscription = %v, want nil", subs[0].Err())
	}
}

func TestHubPublishKeepsCallerSlice(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	events := []Event{{Type: TypeCaseCreated, WorkspaceID: "w1"}}
	h.Publish(events...)
	if events[0].ID != "" || !events[0].At.IsZero() {
		t.Fatalf("Publish modified the caller's events: %+v", events[0])
	}
}

func TestHubFilter(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	w1 := h.Subscribe(inWorkspace("w1"), 8)
	w2 := h.Subscribe(inWorkspace("w2"), 8)
	onlyCase := h.Subscribe(func(e Event) bool { return e.WorkspaceID == "w1" && e.CaseID == "c2" }, 8)
	panicky := h.Subscribe(func(e Event) bool {
		if e.CaseID == "c1" {
			panic("boom")
		}
		return true
	}, 8)

	h.Publish(
		Event{ID: "1", Type: TypeCaseUpdated, WorkspaceID: "w1", CaseID: "c1"},
		Event{ID: "2", Type: TypeCaseUpdated, WorkspaceID: "w2", CaseID: "c9"},
		Event{ID: "3", Type: TypeCaseUpdated, WorkspaceID: "w1", CaseID: "c2"},
	)
	if got := recv(t, w1).ID; got != "1" {
		t.Errorf("w1 first = %s, want 1", got)
	}
	if got := recv(t, w1).ID; got != "3" {
		t.Errorf("w1 second = %s, want 3", got)
	}
	expectNone(t, w1)
	if got := recv(t, w2).ID; got != "2" {
		t.Errorf("w2 = %s, want 2", got)
	}
	expectNone(t, w2)
	if got := recv(t, onlyCase).ID; got != "3" {
		t.Errorf("onlyCase = %s, want 3", got)
	}
	expectNone(t, onlyCase)
	// The panicking filter rejects event 1 but still sees the others.
	if got := recv(t, panicky).ID; got != "2" {
		t.Errorf("panicky first = %s, want 2", got)
	}
	if got := recv(t, panicky).ID; got != "3" {
		t.Errorf("panicky second = %s, want 3", got)
	}
}

func TestHubSlowSubscriberDropped(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	slow := h.Subscribe(nil, 2) // never read
	fast := h.Subscribe(nil, 1)
	var got atomic.Int64
	go func() {
		for range fast.C() {
			got.Add(1)
		}
	}()

	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			h.Publish(Event{ID: fmt.Sprint(i), Type: TypeMessageCreated, WorkspaceID: "w1"})
			// Give the fast reader a chance; it has a buffer of one.
			for got.Load() < int64(i+1) && fast.Err() == nil {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}

	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber not ended")
	}
	if !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Fatalf("slow.Err() = %v, want ErrSlowSubscriber", slow.Err())
	}
	// The buffered events are still readable, then the channel is closed.
	count := 0
	for range slow.C() {
		count++
	}
	if count != 2 {
		t.Errorf("read %d buffered events from the dropped subscriber, want 2", count)
	}
	if fast.Err() != nil {
		t.Fatalf("fast subscriber ended: %v", fast.Err())
	}
	if got.Load() != n {
		t.Errorf("fast subscriber got %d events, want %d", got.Load(), n)
	}
	if h.Subscribers() != 1 {
		t.Errorf("Subscribers() = %d, want 1 (slow one removed)", h.Subscribers())
	}
}

func TestHubPublishNeverBlocks(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	for range 100 {
		h.Subscribe(nil, 1) // nobody reads any of them
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			h.Publish(Event{Type: TypeMessageStatus, WorkspaceID: "w1"})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked")
	}
	if n := h.Subscribers(); n != 0 {
		t.Fatalf("Subscribers() = %d, want 0", n)
	}
}

func TestSubscriptionClose(t *testing.T) {
	h := NewHub(nil)
	s := h.Subscribe(nil, 4)
	s.Close()
	s.Close() // idempotent
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("Err() = %v, want ErrClosed", s.Err())
	}
	if _, ok := <-s.C(); ok {
		t.Fatal("channel open after Close")
	}
	<-s.Done()
	h.Publish(Event{Type: TypeCaseCreated, WorkspaceID: "w"}) // must not panic
	if h.Subscribers() != 0 {
		t.Fatalf("Subscribers() = %d after Close", h.Subscribers())
	}

	live := h.Subscribe(nil, 4)
	h.Close()
	if !errors.Is(live.Err(), ErrHubClosed) {
		t.Fatalf("Err() after hub Close = %v, want ErrHubClosed", live.Err())
	}
	late := h.Subscribe(nil, 4)
	<-late.Done()
	if !errors.Is(late.Err(), ErrHubClosed) {
		t.Fatalf("Err() of a subscription to a closed hub = %v", late.Err())
	}
	h.Close()
}

func TestHubConcurrent(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 500 {
				h.Publish(Event{Type: TypeCaseUpdated, WorkspaceID: fmt.Sprint(p), CaseID: fmt.Sprint(i)})
			}
		})
	}
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				s := h.Subscribe(inWorkspace(fmt.Sprint(i%4)), 4)
				if i%2 == 0 {
					for range 2 {
						select {
						case <-s.C():
						default:
						}
					}
				}
				s.Close()
			}
		})
	}
	wg.Wait()
}

// recordingBroadcaster records what it was sent; it can be made to fail or
// to block.
type recordingBroadcaster struct {
	mu     sync.Mutex
	events []Event
	calls  int
	err    error
	block  chan struct{}
}

func (r *recordingBroadcaster) Broadcast(ctx context.Context, events ...Event) error {
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.events = append(r.events, events...)
	return r.err
}

func (r *recordingBroadcaster) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHubBroadcaster(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	rb := &recordingBroadcaster{}
	h.SetBroadcaster(rb)
	local := h.Subscribe(nil, 16)

	h.Publish(Event{ID: "a", Type: TypeCaseCreated, WorkspaceID: "w"}, Event{ID: "b", Type: TypeCaseUpdated, WorkspaceID: "w"})
	h.PublishLocal(Event{ID: "remote", Type: TypeCaseUpdated, WorkspaceID: "w"})
	waitFor(t, "broadcast", func() bool { return rb.count() == 2 })
	rb.mu.Lock()
	if rb.events[0].ID != "a" || rb.events[1].ID != "b" {
		t.Errorf("broadcast %+v, want a then b", rb.events)
	}
	rb.mu.Unlock()
	for _, want := range []string{"a", "b", "remote"} {
		if got := recv(t, local).ID; got != want {
			t.Errorf("local got %s, want %s", got, want)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if rb.count() != 2 {
		t.Errorf("PublishLocal was broadcast: %d events", rb.count())
	}
}

func TestHubBroadcasterFailureDoesNotAffectLocal(t *testing.T) {
	h := NewHub(nil)
	defer h.Close()
	failing := &recordingBroadcaster{err: errors.New("database down")}
	h.SetBroadcaster(failing)
	s := h.Subscribe(nil, 4)
	h.Publish(Event{ID: "1", Type: TypeCaseCreated, WorkspaceID: "w"})
	if got := recv(t, s).ID; got != "1" {
		t.Fatalf("got %s", got)
	}
	waitFor(t, "broadcast attempt", func() bool { return failing.count() == 1 })

	// A broadcaster that blocks forever: Publish still returns at once and
	// events beyond the queue are dropped.
	blocked := &recordingBroadcaster{block: make(chan struct{})}
	h.SetBroadcaster(blocked)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range broadcastQueueSize + broadcastBatchMax + 100 {
			h.Publish(Event{Type: TypeMessageStatus, WorkspaceID: "w"})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on the broadcaster")
	}
	close(blocked.block)
	h.SetBroadcaster(nil)

	// A broadcaster that panics.
	h.SetBroadcaster(panicBroadcaster{})
	s2 := h.Subscribe(nil, 4)
	h.Publish(Event{ID: "2", Type: TypeCaseCreated, WorkspaceID: "w"})
	h.Publish(Event{ID: "3", Type: TypeCaseCreated, WorkspaceID: "w"})
	if a, b := recv(t, s2).ID, recv(t, s2).ID; a != "2" || b != "3" {
		t.Fatalf("after a panicking broadcaster got %s, %s", a, b)
	}
}

type panicBroadcaster struct{}

func (panicBroadcaster) Broadcast(context.Context, ...Event) error { panic("broadcast boom") }

func BenchmarkPublish1000Subscribers(b *testing.B) {
	b.Run("filtered", func(b *testing.B) {
		// 1,000 agents across 100 workspaces: each event matches 10.
		h := NewHub(nil)
		defer h.Close()
		var wg sync.WaitGroup
		for i := range 1000 {
			s := h.Subscribe(inWorkspace(fmt.Sprint(i%100)), 1024)
			wg.Go(func() {
				for range s.C() {
				}
			})
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			h.Publish(Event{ID: "x", At: time.Now(), Type: TypeMessageCreated, WorkspaceID: fmt.Sprint(i % 100)})
		}
		b.StopTimer()
		h.Close()
		wg.Wait()
	})
	b.Run("all", func(b *testing.B) {
		// Every one of 1,000 subscribers receives every event.
		h := NewHub(nil)
		defer h.Close()
		var wg sync.WaitGroup
		for range 1000 {
			s := h.Subscribe(nil, 512)
			wg.Go(func() {
				for range s.C() {
				}
			})
		}
		ev := Event{ID: "x", At: time.Now(), Type: TypeMessageCreated, WorkspaceID: "w"}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			h.Publish(ev)
		}
		b.StopTimer()
		dropped := 1000 - h.Subscribers()
		h.Close()
		wg.Wait()
		b.ReportMetric(float64(dropped), "dropped")
	})
}
