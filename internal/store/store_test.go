package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestRebind(t *testing.T) {
	got := store.Rebind(`SELECT '?' , "a?" FROM t WHERE a = ? AND b = ?`)
	want := `SELECT '?' , "a?" FROM t WHERE a = $1 AND b = $2`
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestMigrationsApplyAndAreIdempotent(t *testing.T) {
	t.Logf("database: %s", storetest.Describe())
	dbURL, dir := storetest.URL(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		db, err := store.Open(ctx, store.Options{URL: dbURL, DataDir: dir})
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		steps, _ := store.Migrations(db.Dialect())
		if n != len(steps) {
			t.Fatalf("applied %d migrations, want %d", n, len(steps))
		}
		db.Close()
	}
}

func TestTxRollsBackAndSkipsAfterCommit(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	ran := false
	boom := errors.New("boom")
	err := db.InTx(ctx, func(tx *store.Tx) error {
		tx.AfterCommit(func() { ran = true })
		if _, err := tx.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, store.NewID(), "w", 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || ran {
		t.Fatalf("err=%v ran=%v", err, ran)
	}
	var n int
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM workspaces`).Scan(&n)
	if n != 0 {
		t.Fatalf("rolled-back row visible: %d", n)
	}
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		tx.AfterCommit(func() { ran = true })
		_, err := tx.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, store.NewID(), "w", 1)
		return err
	}); err != nil || !ran {
		t.Fatalf("commit: err=%v ran=%v", err, ran)
	}
}

func TestUniqueViolationIsRecognised(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	id := store.NewID()
	insert := func() error {
		return db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, id, "w", 1)
			return err
		})
	}
	if err := insert(); err != nil {
		t.Fatal(err)
	}
	if err := insert(); !store.IsUniqueViolation(err) {
		t.Fatalf("want unique violation, got %v", err)
	}
}

func TestPostgresAvailableWhenConfigured(t *testing.T) {
	storetest.RequirePostgres(t)
	db := storetest.Open(t)
	if db.Dialect() != store.Postgres {
		t.Fatal("expected PostgreSQL")
	}
}
