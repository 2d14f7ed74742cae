package script

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
)

// Script is a stored script at its current version.
type Script struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Version   int       `json:"version"` // current version, from 1
	Source    string    `json:"source"`  // source of the current version
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"` // who saved the current version
}

// ScriptVersion is one saved version of a script.
type ScriptVersion struct {
	ScriptID  string    `json:"script_id"`
	Version   int       `json:"version"`
	Source    string    `json:"source"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Store errors besides *ValidationError and store.ErrNotFound.
var (
	// ErrNameTaken: another (not deleted) script of the workspace has the name → 400.
	ErrNameTaken = &ValidationError{"name", "a script with this name already exists"}
	// ErrInUse: a point of contact still has the script as its default → 409.
	ErrInUse = errors.New("script: still the default script of a point of contact")
)

const maxNameLen = 100

// maxCachedPrograms bounds the compiled-program cache (a compiled script
// is a few kilobytes).
const maxCachedPrograms = 1024

// Store keeps scripts and their versions in the database, and compiled
// programs in memory keyed by (script id, version): versions never change,
// so the cache needs no invalidation and the hot path compiles nothing.
type Store struct {
	db     *store.DB
	engine *Engine
	now    func() time.Time

	mu       sync.Mutex
	programs map[programKey]*Program
}

type programKey struct {
	scriptID string
	version  int
}

// NewStore makes the store; engine compiles what is saved (nil: an Engine
// with default limits).
func NewStore(db *store.DB, engine *Engine, now func() time.Time) *Store {
	if engine == nil {
		engine = &Engine{}
	}
	return &Store{db: db, engine: engine, now: now, programs: map[programKey]*Program{}}
}

func checkName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > maxNameLen || hasControl(name) {
		return &ValidationError{"name", fmt.Sprintf("1 to %d characters", maxNameLen)}
	}
	return nil
}

func (s *Store) compile(name, source string) (*Program, error) {
	if strings.TrimSpace(source) == "" {
		return nil, &ValidationError{"source", "required"}
	}
	return s.engine.Compile(name, source)
}

// stamp is the store's clock at the database's precision (microseconds),
// so what Create returns equals what Get reads back.
func (s *Store) stamp() time.Time { return store.Time(store.Micros(s.now())) }

// Create saves a new script as version 1. A source that does not compile
// is refused with a *ValidationError on "source".
func (s *Store) Create(ctx context.Context, workspaceID, actorID, name, source string) (Script, error) {
	name = strings.TrimSpace(name)
	if err := checkName(name); err != nil {
		return Script{}, err
	}
	prog, err := s.compile(name, source)
	if err != nil {
		return Script{}, err
	}
	now := s.stamp()
	sc := Script{ID: store.NewID(), Name: name, Version: 1, Source: source, CreatedAt: now, UpdatedAt: now, UpdatedBy: actorID}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO scripts (id, workspace_id, name, current_version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)`,
			sc.ID, workspaceID, sc.Name, store.Micros(now), store.Micros(now)); err != nil {
			if store.IsUniqueViolation(err) {
				return ErrNameTaken
			}
			return err
		}
		if err := insertVersion(ctx, tx, workspaceID, sc.ID, 1, source, actorID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "script.created",
			EntityType: "script", EntityID: sc.ID, Details: map[string]any{"name": sc.Name, "version": 1}, At: now})
	})
	if err != nil {
		return Script{}, err
	}
	s.remember(programKey{sc.ID, 1}, prog)
	return sc, nil
}

func insertVersion(ctx context.Context, tx *store.Tx, workspaceID, scriptID string, version int, source, actorID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO script_versions (workspace_id, script_id, version, source, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		workspaceID, scriptID, version, source, actorID, store.Micros(at))
	return err
}

// Update saves source as the script's next version; earlier versions are
// kept. Saving the current source again creates no version.
func (s *Store) Update(ctx context.Context, workspaceID, actorID, id, source string) (Script, error) {
	cur, err := s.Get(ctx, workspaceID, id)
	if err != nil {
		return Script{}, err
	}
	if source == cur.Source {
		return cur, nil
	}
	prog, err := s.compile(cur.Name, source)
	if err != nil {
		return Script{}, err
	}
	now := s.stamp()
	var version int
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		// The row lock taken by the UPDATE orders concurrent saves: each
		// gets its own version number.
		err := tx.QueryRowContext(ctx, `UPDATE scripts SET current_version = current_version + 1, updated_at = ?
			WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL RETURNING current_version`, store.Micros(now), workspaceID, id).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := insertVersion(ctx, tx, workspaceID, id, version, source, actorID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "script.updated",
			EntityType: "script", EntityID: id, Details: map[string]any{"version": version}, At: now})
	})
	if err != nil {
		return Script{}, err
	}
	s.remember(programKey{id, version}, prog)
	cur.Version, cur.Source, cur.UpdatedAt, cur.UpdatedBy = version, source, now, actorID
	return cur, nil
}

const scriptColumns = `s.id, s.name, s.current_version, v.source, v.created_by, s.created_at, s.updated_at
	FROM scripts s JOIN script_versions v ON v.script_id = s.id AND v.version = s.current_version`

func scanScript(row interface{ Scan(...any) error }) (Script, error) {
	var sc Script
	var created, updated int64
	err := row.Scan(&sc.ID, &sc.Name, &sc.Version, &sc.Source, &sc.UpdatedBy, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Script{}, store.ErrNotFound
	}
	if err != nil {
		return Script{}, err
	}
	sc.CreatedAt, sc.UpdatedAt = store.Time(created), store.Time(updated)
	return sc, nil
}

// Get reads a script at its current version.
func (s *Store) Get(ctx context.Context, workspaceID, id string) (Script, error) {
	return scanScript(s.db.QueryRowContext(ctx, `SELECT `+scriptColumns+`
		WHERE s.workspace_id = ? AND s.id = ? AND s.deleted_at IS NULL`, workspaceID, id))
}

// GetByName reads a script by its name.
func (s *Store) GetByName(ctx context.Context, workspaceID, name string) (Script, error) {
	return scanScript(s.db.QueryRowContext(ctx, `SELECT `+scriptColumns+`
		WHERE s.workspace_id = ? AND s.name = ? AND s.deleted_at IS NULL`, workspaceID, strings.TrimSpace(name)))
}

// List lists a workspace's scripts by name, at their current versions.
func (s *Store) List(ctx context.Context, workspaceID string) ([]Script, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+scriptColumns+`
		WHERE s.workspace_id = ? AND s.deleted_at IS NULL ORDER BY s.name, s.id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Script{}
	for rows.Next() {
		sc, err := scanScript(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

const versionColumns = `v.script_id, v.version, v.source, v.created_by, v.created_at
	FROM script_versions v JOIN scripts s ON s.id = v.script_id`

func scanVersion(row interface{ Scan(...any) error }) (ScriptVersion, error) {
	var v ScriptVersion
	var at int64
	err := row.Scan(&v.ScriptID, &v.Version, &v.Source, &v.CreatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return ScriptVersion{}, store.ErrNotFound
	}
	v.CreatedAt = store.Time(at)
	return v, err
}

// Versions lists a script's versions, newest first.
func (s *Store) Versions(ctx context.Context, workspaceID, id string) ([]ScriptVersion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+versionColumns+`
		WHERE s.workspace_id = ? AND s.id = ? AND s.deleted_at IS NULL ORDER BY v.version DESC`, workspaceID, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ScriptVersion
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 { // every script has a version 1
		return nil, store.ErrNotFound
	}
	return out, nil
}

// Version reads version n of a script.
func (s *Store) Version(ctx context.Context, workspaceID, id string, n int) (ScriptVersion, error) {
	return scanVersion(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+`
		WHERE s.workspace_id = ? AND s.id = ? AND s.deleted_at IS NULL AND v.version = ?`, workspaceID, id, n))
}

// Delete removes a script (softly: its versions stay in the database and
// its name becomes free). It refuses with ErrInUse while a point of
// contact has it as default_script.
func (s *Store) Delete(ctx context.Context, workspaceID, actorID, id string) error {
	now := s.stamp()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM points_of_contact WHERE workspace_id = ? AND default_script = ? AND deleted_at IS NULL`,
			workspaceID, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrInUse
		}
		res, err := tx.ExecContext(ctx, `UPDATE scripts SET deleted_at = ?, updated_at = ? WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`,
			store.Micros(now), store.Micros(now), workspaceID, id)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return store.ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: workspaceID, ActorType: "user", ActorID: actorID, Action: "script.deleted",
			EntityType: "script", EntityID: id, At: now})
	})
	if err == nil {
		s.forget(id)
	}
	return err
}

// Program returns the compiled current version of a script, compiling it
// only the first time that version is asked for: the hot path of every
// inbound message is one indexed read. The version is returned for logs.
func (s *Store) Program(ctx context.Context, workspaceID, id string) (*Program, int, error) {
	var name string
	var version int
	err := s.db.QueryRowContext(ctx, `SELECT name, current_version FROM scripts WHERE workspace_id = ? AND id = ? AND deleted_at IS NULL`,
		workspaceID, id).Scan(&name, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, store.ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	key := programKey{id, version}
	s.mu.Lock()
	p := s.programs[key]
	s.mu.Unlock()
	if p != nil {
		return p, version, nil
	}
	v, err := s.Version(ctx, workspaceID, id, version)
	if err != nil {
		return nil, 0, err
	}
	// Every stored version compiled when it was saved; a newer engine
	// may still refuse it, which the caller must see as a broken script.
	p, err = s.engine.Compile(name, v.Source)
	if err != nil {
		return nil, 0, fmt.Errorf("script %s version %d no longer compiles: %w", id, version, err)
	}
	s.remember(key, p)
	return p, version, nil
}

// remember caches a compiled version, dropping the script's older
// versions (runs in flight keep their *Program) and, when full, some
// other entry.
func (s *Store) remember(key programKey, p *Program) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.programs {
		if k.scriptID == key.scriptID && k.version < key.version {
			delete(s.programs, k)
		}
	}
	if len(s.programs) >= maxCachedPrograms {
		for k := range s.programs {
			delete(s.programs, k)
			break
		}
	}
	s.programs[key] = p
}

// forget drops the cached versions of a script.
func (s *Store) forget(scriptID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.programs {
		if k.scriptID == scriptID {
			delete(s.programs, k)
		}
	}
}

// cachedPrograms is how many compiled versions are held (for tests).
func (s *Store) cachedPrograms() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.programs)
}
