// Package account owns workspaces, users, API tokens and sessions: who may
// call Parley, in which workspace, and with which channel permissions.
package account

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
)

// Role is what a user is in their workspace.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleSupervisor || r == RoleAgent }

// Channel actions an agent can be allowed on a point of contact (MISSION §1).
const (
	ActionReply   = "reply"
	ActionPublish = "publish"
	ActionHide    = "hide"
	ActionDelete  = "delete"
	ActionLike    = "like"
	ActionNote    = "note"
)

// AllActions lists every channel action.
var AllActions = []string{ActionReply, ActionPublish, ActionHide, ActionDelete, ActionLike, ActionNote}

// Permissions maps a point of contact id (or "*" for every one) to the
// channel actions an agent may take there. Admins and supervisors may do
// everything; an agent may see a point of contact's cases only if it is
// listed (or "*" is).
type Permissions map[string][]string

// DefaultAgentPermissions is what a new agent gets unless told otherwise.
func DefaultAgentPermissions() Permissions {
	return Permissions{"*": {ActionReply, ActionNote}}
}

var (
	ErrBadCredentials = errors.New("account: wrong email or password")
	ErrUnauthorized   = errors.New("account: invalid or expired token")
	ErrEmailTaken     = errors.New("account: email already in use")
)

// ValidationError names the field that is wrong.
type ValidationError struct{ Field, Reason string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Workspace is a tenant: every row belongs to exactly one.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person who signs in: admin, supervisor or agent.
type User struct {
	ID                 string      `json:"id"`
	WorkspaceID        string      `json:"workspace_id"`
	Email              string      `json:"email"`
	Name               string      `json:"name"`
	Role               Role        `json:"role"`
	ChannelPermissions Permissions `json:"channel_permissions"`
	Disabled           bool        `json:"disabled"`
	CreatedAt          time.Time   `json:"created_at"`
	UpdatedAt          time.Time   `json:"updated_at"`
}

// SeesAll tells whether the user sees every point of contact of the workspace.
func (u *User) SeesAll() bool {
	if u.Role != RoleAgent {
		return true
	}
	_, all := u.ChannelPermissions["*"]
	return all
}

// VisiblePointsOfContact lists the points of contact an agent was given
// explicitly (meaningful only when SeesAll is false).
func (u *User) VisiblePointsOfContact() []string {
	out := make([]string, 0, len(u.ChannelPermissions))
	for id := range u.ChannelPermissions {
		if id != "*" {
			out = append(out, id)
		}
	}
	return out
}

// CanSee tells whether the user may see cases of a point of contact.
func (u *User) CanSee(pocID string) bool {
	if u.SeesAll() {
		return true
	}
	_, ok := u.ChannelPermissions[pocID]
	return ok
}

// Can tells whether the user may take a channel action on a point of contact.
func (u *User) Can(action, pocID string) bool {
	if u.Role != RoleAgent {
		return true
	}
	for _, key := range []string{pocID, "*"} {
		for _, a := range u.ChannelPermissions[key] {
			if a == action {
				return true
			}
		}
	}
	return false
}

// IsAdmin and IsSupervisor gate configuration and supervision.
func (u *User) IsAdmin() bool      { return u.Role == RoleAdmin }
func (u *User) IsSupervisor() bool { return u.Role == RoleAdmin || u.Role == RoleSupervisor }

// Service is the account domain.
type Service struct {
	db  *store.DB
	now func() time.Time
	// BcryptCost is lowered by tests; production uses bcrypt.DefaultCost.
	BcryptCost int
}

// New makes the service.
func New(db *store.DB, now func() time.Time) *Service {
	return &Service{db: db, now: now, BcryptCost: bcrypt.DefaultCost}
}

// CreateWorkspace adds a tenant.
func (s *Service) CreateWorkspace(ctx context.Context, q store.Querier, name string) (Workspace, error) {
	w := Workspace{ID: store.NewID(), Name: name, CreatedAt: s.now().UTC()}
	_, err := q.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, w.ID, w.Name, store.Micros(w.CreatedAt))
	return w, err
}

// GetWorkspace reads a workspace.
func (s *Service) GetWorkspace(ctx context.Context, id string) (Workspace, error) {
	var w Workspace
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, created_at FROM workspaces WHERE id = ?`, id).Scan(&w.ID, &w.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return w, store.ErrNotFound
	}
	w.CreatedAt = store.Time(created)
	return w, err
}

// FirstWorkspace returns the oldest workspace (the default tenant).
func (s *Service) FirstWorkspace(ctx context.Context) (Workspace, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM workspaces ORDER BY created_at, id LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Workspace{}, store.ErrNotFound
	}
	if err != nil {
		return Workspace{}, err
	}
	return s.GetWorkspace(ctx, id)
}

// Bootstrap creates the default workspace and its first admin when the
// database has no user at all. With an empty password it makes a random one
// and returns it so the caller can print it once.
func (s *Service) Bootstrap(ctx context.Context, email, password string) (created bool, pw string, err error) {
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		ws, err := s.firstWorkspaceTx(ctx, tx)
		if err != nil {
			return err
		}
		if email == "" {
			email = "admin@localhost"
		}
		pw = password
		if pw == "" {
			pw = secret.RandomToken("")[:20]
		}
		if _, err := s.CreateUser(ctx, tx, ws.ID, NewUser{Email: email, Name: "Administrator", Role: RoleAdmin, Password: pw}); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, pw, err
}

func (s *Service) firstWorkspaceTx(ctx context.Context, tx *store.Tx) (Workspace, error) {
	var w Workspace
	var created int64
	err := tx.QueryRowContext(ctx, `SELECT id, name, created_at FROM workspaces ORDER BY created_at, id LIMIT 1`).Scan(&w.ID, &w.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return s.CreateWorkspace(ctx, tx, "Default")
	}
	w.CreatedAt = store.Time(created)
	return w, err
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email              string      `json:"email"`
	Name               string      `json:"name"`
	Role               Role        `json:"role"`
	Password           string      `json:"password"`
	ChannelPermissions Permissions `json:"channel_permissions"`
}

func normaliseEmail(e string) (string, error) {
	e = strings.TrimSpace(e)
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e {
		return "", &ValidationError{"email", "not a valid email address"}
	}
	return strings.ToLower(e), nil
}

func validatePermissions(p Permissions) error {
	for poc, actions := range p {
		if poc == "" {
			return &ValidationError{"channel_permissions", "empty point of contact id"}
		}
		for _, a := range actions {
			ok := false
			for _, known := range AllActions {
				ok = ok || a == known
			}
			if !ok {
				return &ValidationError{"channel_permissions", fmt.Sprintf("unknown action %q (known: %s)", a, strings.Join(AllActions, ", "))}
			}
		}
	}
	return nil
}

// CreateUser adds a user to a workspace.
func (s *Service) CreateUser(ctx context.Context, q store.Querier, workspaceID string, in NewUser) (User, error) {
	email, err := normaliseEmail(in.Email)
	if err != nil {
		return User{}, err
	}
	if in.Role == "" {
		in.Role = RoleAgent
	}
	if !in.Role.Valid() {
		return User{}, &ValidationError{"role", "must be admin, supervisor or agent"}
	}
	if len(in.Password) < 8 || len(in.Password) > 72 {
		return User{}, &ValidationError{"password", "must be 8 to 72 characters"}
	}
	if in.ChannelPermissions == nil {
		in.ChannelPermissions = DefaultAgentPermissions()
	}
	if err := validatePermissions(in.ChannelPermissions); err != nil {
		return User{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = email
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.BcryptCost)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	u := User{ID: store.NewID(), WorkspaceID: workspaceID, Email: email, Name: name, Role: in.Role,
		ChannelPermissions: in.ChannelPermissions, CreatedAt: now, UpdatedAt: now}
	perms, _ := json.Marshal(u.ChannelPermissions)
	_, err = q.ExecContext(ctx, `INSERT INTO users (id, workspace_id, email, name, role, password_hash, channel_permissions, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, workspaceID, email, name, string(u.Role), string(hash), string(perms), store.Micros(now), store.Micros(now))
	if store.IsUniqueViolation(err) {
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, err
	}
	return u, audit.Record(ctx, q, audit.Entry{WorkspaceID: workspaceID, ActorType: "system", Action: "user.created", EntityType: "user", EntityID: u.ID,
		Details: map[string]any{"email": email, "role": u.Role}, At: now})
}

const userColumns = `id, workspace_id, email, name, role, channel_permissions, disabled, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var perms string
	var created, updated int64
	var role string
	err := row.Scan(&u.ID, &u.WorkspaceID, &u.Email, &u.Name, &role, &perms, &u.Disabled, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return u, store.ErrNotFound
	}
	if err != nil {
		return u, err
	}
	u.Role = Role(role)
	u.CreatedAt, u.UpdatedAt = store.Time(created), store.Time(updated)
	if err := json.Unmarshal([]byte(perms), &u.ChannelPermissions); err != nil {
		return u, fmt.Errorf("account: user %s permissions: %w", u.ID, err)
	}
	return u, nil
}

// GetUser reads a user of a workspace.
func (s *Service) GetUser(ctx context.Context, workspaceID, id string) (User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE workspace_id = ? AND id = ?`, workspaceID, id))
}

// ListUsers lists a workspace's users, oldest first.
func (s *Service) ListUsers(ctx context.Context, workspaceID string) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE workspace_id = ? ORDER BY created_at, id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserPatch changes some of a user's fields; nil means unchanged.
type UserPatch struct {
	Name               *string      `json:"name"`
	Role               *Role        `json:"role"`
	Password           *string      `json:"password"`
	ChannelPermissions *Permissions `json:"channel_permissions"`
	Disabled           *bool        `json:"disabled"`
}

// UpdateUser applies a patch and records who did it.
func (s *Service) UpdateUser(ctx context.Context, actor *User, id string, p UserPatch) (User, error) {
	var out User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE workspace_id = ? AND id = ?`, actor.WorkspaceID, id))
		if err != nil {
			return err
		}
		hash := ""
		if p.Name != nil {
			if strings.TrimSpace(*p.Name) == "" {
				return &ValidationError{"name", "must not be empty"}
			}
			u.Name = strings.TrimSpace(*p.Name)
		}
		if p.Role != nil {
			if !p.Role.Valid() {
				return &ValidationError{"role", "must be admin, supervisor or agent"}
			}
			u.Role = *p.Role
		}
		if p.ChannelPermissions != nil {
			if err := validatePermissions(*p.ChannelPermissions); err != nil {
				return err
			}
			u.ChannelPermissions = *p.ChannelPermissions
		}
		if p.Disabled != nil {
			u.Disabled = *p.Disabled
		}
		if p.Password != nil {
			if len(*p.Password) < 8 || len(*p.Password) > 72 {
				return &ValidationError{"password", "must be 8 to 72 characters"}
			}
			b, err := bcrypt.GenerateFromPassword([]byte(*p.Password), s.BcryptCost)
			if err != nil {
				return err
			}
			hash = string(b)
		}
		u.UpdatedAt = s.now().UTC()
		perms, _ := json.Marshal(u.ChannelPermissions)
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, role = ?, channel_permissions = ?, disabled = ?, updated_at = ?,
			password_hash = CASE WHEN ? = '' THEN password_hash ELSE ? END WHERE workspace_id = ? AND id = ?`,
			u.Name, string(u.Role), string(perms), u.Disabled, store.Micros(u.UpdatedAt), hash, hash, u.WorkspaceID, u.ID); err != nil {
			return err
		}
		if u.Disabled {
			// A disabled user loses every way in at once.
			if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE workspace_id = ? AND user_id = ? AND revoked_at IS NULL`, store.Micros(u.UpdatedAt), u.WorkspaceID, u.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE workspace_id = ? AND user_id = ?`, u.WorkspaceID, u.ID); err != nil {
				return err
			}
		}
		changed := map[string]any{}
		if p.Name != nil {
			changed["name"] = u.Name
		}
		if p.Role != nil {
			changed["role"] = u.Role
		}
		if p.ChannelPermissions != nil {
			changed["channel_permissions"] = u.ChannelPermissions
		}
		if p.Disabled != nil {
			changed["disabled"] = u.Disabled
		}
		if p.Password != nil {
			changed["password"] = "changed"
		}
		out = u
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: "user", ActorID: actor.ID, Action: "user.updated",
			EntityType: "user", EntityID: u.ID, Details: changed, At: u.UpdatedAt})
	})
	return out, err
}

// Login checks an email and password.
func (s *Service) Login(ctx context.Context, email, password string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var hash string
	var id, ws string
	err := s.db.QueryRowContext(ctx, `SELECT id, workspace_id, password_hash FROM users WHERE email = ? AND disabled = ?`, email, false).Scan(&id, &ws, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a real check so response times do not
		// reveal which emails exist.
		_ = bcrypt.CompareHashAndPassword([]byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3rSoEjIZ0V7y1qXbDrlgdEK"), []byte(password))
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return User{}, ErrBadCredentials
	}
	return s.GetUser(ctx, ws, id)
}

// Token describes an API token (never its secret value).
type Token struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// CreateToken makes an API token for a user; the value is returned once.
func (s *Service) CreateToken(ctx context.Context, u *User, name string, ttl time.Duration) (string, Token, error) {
	value := secret.RandomToken("pat_")
	now := s.now().UTC()
	t := Token{ID: store.NewID(), UserID: u.ID, Name: strings.TrimSpace(name), CreatedAt: now}
	if t.Name == "" {
		t.Name = "API token"
	}
	var expires sql.NullInt64
	if ttl > 0 {
		e := now.Add(ttl)
		t.ExpiresAt = &e
		expires = sql.NullInt64{Int64: store.Micros(e), Valid: true}
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, workspace_id, user_id, name, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, u.WorkspaceID, u.ID, t.Name, secret.HashToken(value), store.Micros(now), expires); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: u.WorkspaceID, ActorType: "user", ActorID: u.ID, Action: "token.created", EntityType: "api_token", EntityID: t.ID, At: now})
	})
	return value, t, err
}

// Principal is an authenticated caller.
type Principal struct {
	User    User
	TokenID string
}

// Authenticate resolves a bearer token to its user.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, "pat_") {
		return Principal{}, ErrUnauthorized
	}
	var p Principal
	var userID, ws string
	var expires, revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT id, user_id, workspace_id, expires_at, revoked_at FROM api_tokens WHERE token_hash = ?`, secret.HashToken(token)).
		Scan(&p.TokenID, &userID, &ws, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrUnauthorized
	}
	if err != nil {
		return p, err
	}
	if revoked.Valid || (expires.Valid && store.Micros(s.now()) >= expires.Int64) {
		return p, ErrUnauthorized
	}
	u, err := s.GetUser(ctx, ws, userID)
	if errors.Is(err, store.ErrNotFound) || u.Disabled {
		return p, ErrUnauthorized
	}
	p.User = u
	return p, err
}

// ListTokens lists a user's tokens.
func (s *Service) ListTokens(ctx context.Context, u *User) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at FROM api_tokens
		WHERE workspace_id = ? AND user_id = ? ORDER BY created_at, id`, u.WorkspaceID, u.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var created int64
		var exp, used, rev sql.NullInt64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &created, &exp, &used, &rev); err != nil {
			return nil, err
		}
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = store.Time(created), store.NullTime(exp), store.NullTime(used), store.NullTime(rev)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes one of the user's tokens (admins: any in the workspace).
func (s *Service) RevokeToken(ctx context.Context, actor *User, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := `UPDATE api_tokens SET revoked_at = ? WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL`
		args := []any{store.Micros(s.now()), actor.WorkspaceID, id}
		if !actor.IsAdmin() {
			q += ` AND user_id = ?`
			args = append(args, actor.ID)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: actor.WorkspaceID, ActorType: "user", ActorID: actor.ID, Action: "token.revoked", EntityType: "api_token", EntityID: id, At: s.now()})
	})
}
