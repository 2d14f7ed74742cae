package loadtest

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// maxBaselineBody is the largest request body the baseline accepts.
const maxBaselineBody = 1 << 20

// Baseline is the bare server Parley's ingest is measured against: it checks
// the bearer token, reads the body and inserts it into SQLite in a
// transaction of its own, then answers 200. Nothing more.
type Baseline struct {
	// URL is where to post messages (Options.InboundURL).
	URL string
	// Token is the bearer token the baseline expects (Options.Token).
	Token string
	// Path is the SQLite database file; its table msgs(id, body) holds one
	// row per acknowledged request.
	Path string

	srv       *http.Server
	db        *sql.DB
	authz     []byte
	served    chan struct{}
	closeOnce sync.Once
	closeErr  error
	stop      func() bool
}

// BaselineDSN is the SQLite DSN for a database file, with the settings Parley
// uses for its own write connection (WAL, synchronous NORMAL, busy timeout,
// foreign keys, BEGIN IMMEDIATE), so that the comparison is fair.
func BaselineDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)&_txlock=immediate"
}

// StartBaseline creates dir/baseline.db and serves the baseline on a random
// loopback port. It stops on Close or when ctx ends.
func StartBaseline(ctx context.Context, dir string) (*Baseline, error) {
	path := filepath.Join(dir, "baseline.db")
	db, err := sql.Open("sqlite", BaselineDSN(path))
	if err != nil {
		return nil, fmt.Errorf("baseline: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // SQLite has one writer: one write connection
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if _, err := db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS msgs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("baseline: create table: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("baseline: listen: %w", err)
	}
	b := &Baseline{
		URL:    "http://" + ln.Addr().String() + "/messages",
		Token:  randomID() + randomID(),
		Path:   path,
		db:     db,
		served: make(chan struct{}),
	}
	b.authz = []byte("Bearer " + b.Token)
	b.srv = &http.Server{
		Handler:           http.HandlerFunc(b.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		defer close(b.served)
		_ = b.srv.Serve(ln) // ErrServerClosed once Close is called
	}()
	b.stop = context.AfterFunc(ctx, func() { _ = b.Close() })
	return b, nil
}

// Close stops the server, waiting up to 5 s for requests in flight, and
// closes the database. It may be called more than once.
func (b *Baseline) Close() error {
	b.closeOnce.Do(func() {
		if b.stop != nil {
			b.stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := b.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, b.srv.Close())
		}
		<-b.served
		b.closeErr = errors.Join(err, b.db.Close())
	})
	return b.closeErr
}

func (b *Baseline) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), b.authz) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBaselineBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, err := b.insert(r.Context(), body)
	if err != nil {
		http.Error(w, "storing: "+err.Error(), http.StatusInternalServerError)
		return
	}
	n := strconv.FormatInt(id, 10)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"message_id":"`+n+`","case_id":"`+n+`"}`)
}

// insert stores one body in its own transaction: BEGIN IMMEDIATE; INSERT;
// COMMIT.
func (b *Baseline) insert(ctx context.Context, body []byte) (int64, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	res, err := tx.ExecContext(ctx, `INSERT INTO msgs (body) VALUES (?)`, body)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return id, tx.Commit()
}
