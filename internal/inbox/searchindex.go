package inbox

import (
	"context"
	"database/sql"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// searchBatch is how many queued rows one indexing transaction takes.
const searchBatch = 5000

// RunSearchIndexer keeps SQLite's full-text index up to date: triggers
// queue each new message and subject (message_search_queue), and this loop
// moves the queue into the index in batches, off the ingest path.
// PostgreSQL indexes on write (GIN) and needs nothing.
func (s *Service) RunSearchIndexer(ctx context.Context, every time.Duration) error {
	if s.db.Dialect() != store.SQLite {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.catchUpSearch(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("search indexer", "err", err)
			}
		}
	}
}

// catchUpSearch indexes everything queued so far. A text search calls it
// first, so it sees every message committed before it began.
func (s *Service) catchUpSearch(ctx context.Context) error {
	if s.db.Dialect() != store.SQLite {
		return nil
	}
	for {
		n, err := s.indexQueued(ctx)
		if err != nil || n < searchBatch {
			return err
		}
	}
}

// indexQueued moves up to searchBatch queued rows into the index in one
// transaction and reports how many it took. The queue is read first
// without the writer: an empty queue costs no write transaction.
func (s *Service) indexQueued(ctx context.Context) (int, error) {
	var first sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(seq) FROM message_search_queue`).Scan(&first); err != nil || !first.Valid {
		return 0, err
	}
	var n int
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM (SELECT seq FROM message_search_queue ORDER BY seq LIMIT ?)`, searchBatch).Scan(&last); err != nil || !last.Valid {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM message_search_queue WHERE seq <= ?`, last.Int64).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_search (case_id, message_id, body)
			SELECT m.case_id, m.id, m.text FROM message_search_queue q JOIN messages m ON m.id = q.message_id WHERE q.seq <= ? AND q.message_id <> ''`, last.Int64); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_search (case_id, message_id, body)
			SELECT c.id, '', c.subject FROM message_search_queue q JOIN cases c ON c.id = q.case_id WHERE q.seq <= ? AND q.message_id = '' AND c.subject <> ''`, last.Int64); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM message_search_queue WHERE seq <= ?`, last.Int64)
		return err
	})
	return n, err
}
