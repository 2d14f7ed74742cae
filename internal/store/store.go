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
	url     string

	rebound sync.Map // query string → rebound query string (PostgreSQL only)
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
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
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
	return &DB{dialect: SQLite, write: write, read: read, url: "sqlite:" + path}, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.write.Close()
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
	return db.read.QueryContext(ctx, db.rebind(query), args...)
}

// QueryRowContext reads one row on the read pool.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.rebind(query), args...)
}

// Tx is a write transaction.
type Tx struct {
	db *DB
	tx *sql.Tx
	// afterCommit runs once the transaction has committed: realtime events
	// and in-process wake-ups must never announce what a rollback undid.
	afterCommit []func()
}

func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.db.rebind(query), args...)
}

func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.db.rebind(query), args...)
}

func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(query), args...)
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
				if err == nil {
					for _, hook := range tx.afterCommit {
						hook()
					}
					return nil
				}
			} else {
				_ = tx.tx.Rollback()
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
