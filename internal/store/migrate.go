package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one schema step, applied once, in its own transaction.
type Migration struct {
	Version string // file name without extension, e.g. 0001_core
	SQL     string
}

// Migrations lists the steps for a dialect in order. A file named
// NNNN_name.<dialect>.sql replaces NNNN_name.sql for that dialect.
func Migrations(d Dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	byVersion := map[string]string{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		version, dialect, specific := strings.Cut(name, ".")
		if specific && Dialect(dialect) != d {
			continue
		}
		if _, seen := byVersion[version]; seen && !specific {
			continue
		}
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		byVersion[version] = string(body)
	}
	out := make([]Migration, 0, len(byVersion))
	for v, s := range byVersion {
		out = append(out, Migration{Version: v, SQL: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func (db *DB) migrate(ctx context.Context) error {
	steps, err := Migrations(db.dialect)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	for _, step := range steps {
		err := db.InTx(ctx, func(tx *Tx) error {
			if db.dialect == Postgres {
				// Several nodes may start at once: one migrates, the others
				// wait here and then find the step applied.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(727001)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, step.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, step.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, step.Version, Micros(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", step.Version, err)
		}
	}
	return nil
}
