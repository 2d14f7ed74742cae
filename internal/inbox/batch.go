package inbox

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/store"
)

// batcher is group commit for SQLite's single writer: ingests waiting at the
// same moment share one transaction, each inside its own savepoint so one
// failing request rolls back alone, and every caller is answered only after
// that transaction has committed. Under load this turns N commits into one;
// with no concurrency it is a plain transaction per request.
type batcher struct {
	s   *Service
	max int
	in  chan *ingestReq
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
	return &batcher{s: s, max: max, in: make(chan *ingestReq, max)}
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
	fill:
		for len(batch) < b.max {
			select {
			case r := <-b.in:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.commit(batch)
	}
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
	err := b.s.db.InTx(ctx, func(tx *store.Tx) error {
		for i, r := range live {
			sp := fmt.Sprintf("ingest_%d", i)
			if _, err := tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
				return err
			}
			r.results, r.err = b.s.ingestTx(ctx, tx, r.poc, r.items)
			if r.err != nil {
				r.results = nil
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
				return err
			}
		}
		return nil
	})
	for _, r := range live {
		if err != nil {
			r.results, r.err = nil, err
		}
		close(r.done)
	}
}
