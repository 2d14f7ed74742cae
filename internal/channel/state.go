package channel

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// DBState is the StateStore on Parley's database.
type DBState struct {
	DB  *store.DB
	Now func() time.Time
}

// Load reads a value ("" when unset).
func (s DBState) Load(ctx context.Context, pocID, key string) (string, error) {
	var v string
	err := s.DB.QueryRowContext(ctx, `SELECT value FROM channel_state WHERE point_of_contact_id = ? AND key = ?`, pocID, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// Save writes a value durably.
func (s DBState) Save(ctx context.Context, pocID, key, value string) error {
	return s.DB.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO channel_state (point_of_contact_id, key, value, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (point_of_contact_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			pocID, key, value, store.Micros(s.Now()))
		return err
	})
}
