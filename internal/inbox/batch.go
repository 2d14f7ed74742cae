package inbox

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/store"
)

// batcher is group commit for SQLite's single writer: ingests waiting at the
// same moment share one transaction, each inside its own savepoint so one
// failing request rolls back alone, and every caller is answered only after
// that transaction has committed. Under load this turns N commits into one;
// with no concurrency it is a plain transaction per request.
type batcher struct {
	s     *Service
	max   int
	in    chan *ingestReq
	sizes prometheus.Histogram
}

type ingestReq struct {
	ctx     context.Context
	poc     *channel.PointOfContact
	items   []InboundItem
	results []channel.IngestResult
	err     error
	done    chan struct{}
}

func newBatcher(s *Service, max int) *batcher {
	return &batcher{s: s, max: max, in: make(chan *ingestReq, max),
		sizes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parley_ingest_batch_size", Help: "Ingest requests committed together (SQLite group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}})}
}

func (b *batcher) submit(ctx context.Context, poc *channel.PointOfContact, items []InboundItem) ([]channel.IngestResult, error) {
	r := &ingestReq{ctx: ctx, poc: poc, items: items, done: make(chan struct{})}
	select {
	case b.in <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued the request is committed or failed by the loop; waiting
	// for it even if the caller gives up keeps "acknowledged ⇒ stored" true.
	<-r.done
	return r.results, r.err
}

func (b *batcher) run(ctx context.Context) error {
	batch := make([]*ingestReq, 0, b.max)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			b.drainOnShutdown()
			return nil
		case r := <-b.in:
			batch = append(batch, r)
		}
		b.fill(&batch)
		b.commit(batch)
	}
}

// fill takes what is already waiting, without waiting for more: under
// load the queue refills while a batch commits (measured: lingering for
// stragglers only lowered throughput).
func (b *batcher) fill(batch *[]*ingestReq) {
	for len(*batch) < b.max {
		select {
		case r := <-b.in:
			*batch = append(*batch, r)
			continue
		default:
		}
		break
	}
	b.sizes.Observe(float64(len(*batch)))
}

// drainOnShutdown answers everything already queued so no caller hangs.
func (b *batcher) drainOnShutdown() {
	for {
		select {
		case r := <-b.in:
			b.commit([]*ingestReq{r})
		default:
			return
		}
	}
}

func (b *batcher) commit(batch []*ingestReq) {
	ctx := context.Background() // a caller's cancellation must not roll back the others
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.err = r.ctx.Err()
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// One transaction for the whole batch. If any request fails, the batch
	// rolls back and each request is replayed in a transaction of its own,
	// so one bad request fails alone (cheaper than a savepoint per request
	// on the hot path, and failures are rare).
	err := b.s.db.InTx(ctx, func(tx *store.Tx) error {
		tc := b.s.threads.begin() // fresh per attempt: a retried transaction learns anew
		tx.AfterCommit(tc.commit)
		for _, r := range live {
			r.results, r.err = b.s.ingestTx(ctx, tx, tc, r.poc, r.items)
			if r.err != nil {
				return r.err
			}
		}
		return nil
	})
	if err != nil && len(live) > 1 {
		for _, r := range live {
			r.err = b.s.db.InTx(ctx, func(tx *store.Tx) error {
				var e error
				r.results, e = b.s.ingestTx(ctx, tx, nil, r.poc, r.items)
				return e
			})
		}
	} else if err != nil {
		live[0].err = err
	}
	for _, r := range live {
		if r.err != nil {
			r.results = nil
		}
		close(r.done)
	}
}
