package account

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
)

// SessionTTL is how long a browser session lasts.
const SessionTTL = 7 * 24 * time.Hour

// CreateSession starts a browser session for a user; the value goes in a
// cookie and only its hash is stored.
func (s *Service) CreateSession(ctx context.Context, u *User) (string, time.Time, error) {
	value := secret.RandomToken("ses_")
	now := s.now().UTC()
	expires := now.Add(SessionTTL)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		// Expired sessions of this user are cleaned up as new ones start.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE workspace_id = ? AND user_id = ? AND expires_at < ?`, u.WorkspaceID, u.ID, store.Micros(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, workspace_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			secret.HashToken(value), u.WorkspaceID, u.ID, store.Micros(now), store.Micros(expires))
		return err
	})
	return value, expires, err
}

// SessionUser resolves a session cookie to its user.
func (s *Service) SessionUser(ctx context.Context, value string) (Principal, error) {
	if !strings.HasPrefix(value, "ses_") {
		return Principal{}, ErrUnauthorized
	}
	var ws, userID string
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT workspace_id, user_id, expires_at FROM sessions WHERE id_hash = ?`, secret.HashToken(value)).Scan(&ws, &userID, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && store.Micros(s.now()) >= expires) {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, err
	}
	u, err := s.GetUser(ctx, ws, userID)
	if errors.Is(err, store.ErrNotFound) || u.Disabled {
		return Principal{}, ErrUnauthorized
	}
	return Principal{User: u}, err
}

// EndSession logs a session out.
func (s *Service) EndSession(ctx context.Context, value string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, secret.HashToken(value))
	return err
}

// EndOtherSessions signs a user out everywhere but the session keep (after
// a password change: a stolen session must not outlive the old password).
func (s *Service) EndOtherSessions(ctx context.Context, u *User, keep string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE workspace_id = ? AND user_id = ? AND id_hash <> ?`, u.WorkspaceID, u.ID, secret.HashToken(keep))
	return err
}
