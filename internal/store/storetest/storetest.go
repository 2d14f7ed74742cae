// Package storetest gives each test a fresh, migrated database: SQLite in a
// temporary directory, or — when PARLEY_TEST_POSTGRES_URL is set — a fresh
// schema on that PostgreSQL, dropped when the test ends. The same test body
// thus runs on either database; .ci/run runs the suite once for each.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/parleyhq/parley/internal/store"
)

// PostgresURL returns the test PostgreSQL URL, or "" when unset.
func PostgresURL() string { return os.Getenv("PARLEY_TEST_POSTGRES_URL") }

// Dialect tells which database this test run uses.
func Dialect() store.Dialect {
	if PostgresURL() != "" {
		return store.Postgres
	}
	return store.SQLite
}

// RequirePostgres skips a test that only makes sense on PostgreSQL.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	u := PostgresURL()
	if u == "" {
		t.Skip("PARLEY_TEST_POSTGRES_URL not set: skipping PostgreSQL-only test (.ci/run sets it)")
	}
	return u
}

// URL makes a fresh empty database and returns its URL for store.Open or a
// child process (PARLEY_DATABASE_URL). For SQLite it is "" and dataDir is a
// new temporary directory; for PostgreSQL a URL pinned to a new schema.
func URL(t testing.TB) (dbURL, dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	base := PostgresURL()
	if base == "" {
		return "", dataDir
	}
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("PARLEY_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), dataDir
}

// Open returns a fresh migrated database, closed when the test ends.
func Open(t testing.TB) *store.DB {
	t.Helper()
	dbURL, dir := URL(t)
	db, err := store.Open(context.Background(), store.Options{URL: dbURL, DataDir: dir})
	if err != nil {
		t.Fatalf("open %s database: %v", Dialect(), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Describe names the database in use, for test logs.
func Describe() string {
	if PostgresURL() != "" {
		return fmt.Sprintf("PostgreSQL (%s)", redact(PostgresURL()))
	}
	return "SQLite"
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Redacted()
}
