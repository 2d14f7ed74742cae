// Package store opens Parley's database — embedded SQLite by default,
// PostgreSQL for several nodes — applies the embedded migrations, and gives
// the domain packages one way to run SQL on either: queries are written with
// `?` placeholders and rebound here, writes run in transactions that retry
// when SQLite reports the database busy.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNotFound is returned by domain packages when a row does not exist in the
// caller's workspace. It is the only "absent" error the HTTP layer maps to 404.
var ErrNotFound = errors.New("not found")

// DB is the database handle shared by every domain package.
//
// On SQLite there are two pools: a write pool with exactly one connection
// (SQLite has one writer; queuing in Go is cheaper than busy-waiting in the
// engine) and a read pool with many, which WAL lets run beside the writer.
// On PostgreSQL both are the same pool.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	ckpt    *sql.DB // SQLite only: background WAL checkpoints
	url     string

	rebound sync.Map // query string → rebound query string (PostgreSQL only)

	// SQLite prepared-statement caches. modernc's driver parses every
	// statement it is given; under ingest load that parsing was the largest
	// cost, so statements are prepared once and reused. (pgx caches
	// prepared statements per connection by itself.)
	writeStmts stmtCache
	readStmts  stmtCache
}

// stmtCache maps query text to a statement prepared on a pool.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

const maxCachedStmts = 2000

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[q]
}

// prepare adds a statement for q unless cached, full, or not cacheable.
func (c *stmtCache) prepare(ctx context.Context, pool *sql.DB, q string) *sql.Stmt {
	if strings.Contains(strings.TrimRight(strings.TrimSpace(q), ";"), ";") {
		return nil // several statements: Prepare would keep only the first
	}
	c.mu.Lock()
	if st, ok := c.stmts[q]; ok || len(c.stmts) >= maxCachedStmts {
		c.mu.Unlock()
		return st
	}
	c.mu.Unlock()
	st, err := pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	if prev, ok := c.stmts[q]; ok {
		st.Close()
		return prev
	}
	c.stmts[q] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

// Options configure Open.
type Options struct {
	// URL is a postgres:// or postgresql:// URL; empty means SQLite in DataDir.
	URL string
	// DataDir holds parley.db when URL is empty.
	DataDir string
	// ReadConns bounds the read pool (default 8).
	ReadConns int
	// WriteConns bounds the PostgreSQL pool (default 16); SQLite always has one writer.
	WriteConns int
}

// Open connects, checks the connection and applies pending migrations.
func Open(ctx context.Context, opts Options) (*DB, error) {
	db, err := connect(opts)
	if err != nil {
		return nil, err
	}
	if err := db.write.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func connect(opts Options) (*DB, error) {
	if opts.ReadConns <= 0 {
		opts.ReadConns = 8
	}
	if opts.WriteConns <= 0 {
		opts.WriteConns = 16
	}
	if strings.HasPrefix(opts.URL, "postgres://") || strings.HasPrefix(opts.URL, "postgresql://") {
		pool, err := sql.Open("pgx", opts.URL)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		pool.SetMaxOpenConns(opts.WriteConns + opts.ReadConns)
		pool.SetMaxIdleConns(opts.WriteConns + opts.ReadConns)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{dialect: Postgres, write: pool, read: pool, url: opts.URL}, nil
	}
	if opts.URL != "" && !strings.HasPrefix(opts.URL, "sqlite:") {
		return nil, fmt.Errorf("store: unsupported database URL scheme (want postgres:// or sqlite:)")
	}
	path := strings.TrimPrefix(opts.URL, "sqlite:")
	if path == "" {
		if opts.DataDir == "" {
			return nil, errors.New("store: no data directory for SQLite")
		}
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("store: data directory: %w", err)
		}
		path = filepath.Join(opts.DataDir, "parley.db")
	}
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)&_pragma=page_size(2048)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	// The writer never checkpoints: copying WAL pages back into the
	// database (and its fsync) would sit on the one write path. A separate
	// connection does it in the background (RunCheckpointer).
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(ON)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	read.SetConnMaxIdleTime(0)
	ckpt, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	return &DB{dialect: SQLite, write: write, read: read, ckpt: ckpt, url: "sqlite:" + path}, nil
}

// RunCheckpointer copies the SQLite WAL back into the database file every
// interval (a PASSIVE checkpoint: it never blocks the writer or readers),
// and once more on the way out. On PostgreSQL it returns at once.
func (db *DB) RunCheckpointer(ctx context.Context, interval time.Duration) error {
	if db.ckpt == nil {
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_, err := db.ckpt.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
			return err
		case <-t.C:
			if _, err := db.ckpt.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && ctx.Err() == nil {
				return fmt.Errorf("store: checkpoint: %w", err)
			}
		}
	}
}

// Close closes both pools.
func (db *DB) Close() error {
	db.writeStmts.close()
	db.readStmts.close()
	err := db.write.Close()
	if db.ckpt != nil {
		err = errors.Join(err, db.ckpt.Close())
	}
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Dialect tells which engine this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// URL is the connection URL (postgres://… or sqlite:path). It may hold a
// password: never log it.
func (db *DB) URL() string { return db.url }

// Ping checks that the database answers (used by /readyz).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Querier runs SQL written with `?` placeholders; *DB (reads) and *Tx implement it.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ExecContext runs a statement outside a transaction, on the write pool.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, db.rebind(query), args...)
}

// QueryContext reads on the read pool.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if db.dialect == SQLite {
		if st := db.readStmts.prepare(ctx, db.read, query); st != nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return db.read.QueryContext(ctx, db.rebind(query), args...)
}

// QueryRowContext reads one row on the read pool.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if db.dialect == SQLite {
		if st := db.readStmts.prepare(ctx, db.read, query); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return db.read.QueryRowContext(ctx, db.rebind(query), args...)
}

// Tx is a write transaction.
type Tx struct {
	db *DB
	tx *sql.Tx
	// afterCommit runs once the transaction has committed: realtime events
	// and in-process wake-ups must never announce what a rollback undid.
	afterCommit []func()
	// unprepared collects SQLite statements run without a cached prepared
	// statement; they are prepared after the transaction ends, when the one
	// write connection is free (preparing on the pool now would wait for
	// the connection this transaction holds).
	unprepared map[string]struct{}
}

// stmt returns the transaction's view of a cached prepared statement.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.db.dialect != SQLite {
		return nil
	}
	if st := tx.db.writeStmts.get(query); st != nil {
		return tx.tx.StmtContext(ctx, st)
	}
	if tx.unprepared == nil {
		tx.unprepared = map[string]struct{}{}
	}
	tx.unprepared[query] = struct{}{}
	return nil
}

func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, tx.db.rebind(query), args...)
}

func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, tx.db.rebind(query), args...)
}

func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(query), args...)
}

func (db *DB) prepareLater(ctx context.Context, tx *Tx) {
	for q := range tx.unprepared {
		db.writeStmts.prepare(ctx, db.write, q)
	}
}

// Dialect tells which engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// AfterCommit registers fn to run after a successful commit.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

// InTx runs fn in a write transaction and commits it. A transaction that
// fails because SQLite is busy/locked, or because PostgreSQL reports a
// serialization failure or deadlock, is retried from the start (fn must be
// safe to run again). After-commit hooks run only after the final commit.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	const maxAttempts = 5
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var tx *Tx
		tx, err = db.begin(ctx)
		if err == nil {
			err = fn(tx)
			if err == nil {
				err = tx.tx.Commit()
			} else {
				_ = tx.tx.Rollback()
			}
			db.prepareLater(ctx, tx)
			if err == nil {
				for _, hook := range tx.afterCommit {
					hook()
				}
				return nil
			}
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func (db *DB) begin(ctx context.Context) (*Tx, error) {
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{db: db, tx: t}, nil
}

func retryable(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint failure.
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// rebind turns `?` placeholders into PostgreSQL's `$n`, leaving quoted text
// alone. Results are cached: the same few hundred query strings recur.
func (db *DB) rebind(query string) string {
	if db.dialect != Postgres {
		return query
	}
	if q, ok := db.rebound.Load(query); ok {
		return q.(string)
	}
	q := Rebind(query)
	db.rebound.Store(query, q)
	return q
}

// Rebind rewrites `?` placeholders as `$1, $2, …` outside quoted strings.
func Rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// NewID makes a UUIDv7: time-ordered, safe to create on any node.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Micros converts a time to the stored representation (unix microseconds).
func Micros(t time.Time) int64 { return t.UnixMicro() }

// Time converts a stored representation back.
func Time(us int64) time.Time { return time.UnixMicro(us).UTC() }

// NullTime converts a nullable stored time.
func NullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := Time(v.Int64)
	return &t
}
