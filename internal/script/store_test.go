package script

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/audit"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// testClock is a settable clock: every call moves one second on, so
// versions have distinct, predictable times.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newTestStore(t *testing.T) (*Store, *store.DB, string) {
	t.Helper()
	t.Logf("database: %s", storetest.Describe())
	db := storetest.Open(t)
	ctx := context.Background()
	ws := store.NewID()
	if _, err := db.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, ws, "w", 1); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 3, 23, 9, 0, 0, 123456789, time.UTC)}
	return NewStore(db, &Engine{Timeout: testTimeout}, clock.now), db, ws
}

func TestStoreRoundTrip(t *testing.T) {
	s, db, ws := newTestStore(t)
	ctx := context.Background()

	created, err := s.Create(ctx, ws, "u1", "  Billing router ", billingScript)
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "Billing router" || created.Version != 1 || created.Source != billingScript || created.UpdatedBy != "u1" || created.CreatedAt.Nanosecond()%1000 != 0 {
		t.Fatalf("created = %+v", created)
	}
	got, err := s.Get(ctx, ws, created.ID)
	if err != nil || !reflect.DeepEqual(got, created) {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, created)
	}
	if got, err := s.GetByName(ctx, ws, "Billing router"); err != nil || got.ID != created.ID {
		t.Fatalf("GetByName = %+v, %v", got, err)
	}

	// A new version; the old one is kept.
	v2src := billingScript + "\nadd_tag(\"seen\")\n"
	updated, err := s.Update(ctx, ws, "u2", created.ID, v2src)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version != 2 || updated.Source != v2src || updated.UpdatedBy != "u2" || !updated.UpdatedAt.After(created.UpdatedAt) || !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("updated = %+v", updated)
	}
	if got, _ := s.Get(ctx, ws, created.ID); !reflect.DeepEqual(got, updated) {
		t.Fatalf("Get after update = %+v, want %+v", got, updated)
	}
	// Saving the same source again makes no version.
	if same, err := s.Update(ctx, ws, "u3", created.ID, v2src); err != nil || same.Version != 2 {
		t.Fatalf("idempotent update = %+v, %v", same, err)
	}
	versions, err := s.Versions(ctx, ws, created.ID)
	if err != nil || len(versions) != 2 || versions[0].Version != 2 || versions[1].Version != 1 ||
		versions[1].Source != billingScript || versions[1].CreatedBy != "u1" || versions[0].CreatedBy != "u2" || versions[0].ScriptID != created.ID {
		t.Fatalf("Versions = %+v, %v", versions, err)
	}
	if v1, err := s.Version(ctx, ws, created.ID, 1); err != nil || !reflect.DeepEqual(v1, versions[1]) {
		t.Fatalf("Version(1) = %+v, %v", v1, err)
	}
	if _, err := s.Version(ctx, ws, created.ID, 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Version(3) = %v", err)
	}

	// Refused saves.
	var ve *ValidationError
	if _, err := s.Update(ctx, ws, "u2", created.ID, "set_skill(\n"); !errors.As(err, &ve) || ve.Field != "source" || !strings.HasPrefix(ve.Reason, "line 2:") {
		t.Fatalf("update with a syntax error = %v", err)
	}
	if _, err := s.Create(ctx, ws, "u1", "other", "x = undefined_thing\n"); !errors.As(err, &ve) || ve.Reason != "line 1:5: undefined: undefined_thing" {
		t.Fatalf("create with an undefined name = %v", err)
	}
	if _, err := s.Create(ctx, ws, "u1", "other", "  \n"); !errors.As(err, &ve) || ve.Field != "source" {
		t.Fatalf("create with no source = %v", err)
	}
	if _, err := s.Create(ctx, ws, "u1", " ", "pass"); !errors.As(err, &ve) || ve.Field != "name" {
		t.Fatalf("create with no name = %v", err)
	}
	if _, err := s.Create(ctx, ws, "u1", "Billing router", "pass"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("duplicate name = %v", err)
	}
	if got, _ := s.Versions(ctx, ws, created.ID); len(got) != 2 {
		t.Fatalf("a refused save made a version: %d", len(got))
	}

	second, err := s.Create(ctx, ws, "u1", "Another", "pass")
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, ws)
	if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].ID != created.ID || list[1].Version != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// Other workspaces see nothing.
	other := store.NewID()
	if _, err := db.ExecContext(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, other, "o", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, other, created.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get from another workspace = %v", err)
	}
	if _, err := s.Update(ctx, other, "u", created.ID, "pass"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update from another workspace = %v", err)
	}
	if _, _, err := s.Program(ctx, other, created.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Program from another workspace = %v", err)
	}
	if err := s.Delete(ctx, other, "u", created.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete from another workspace = %v", err)
	}
	if list, _ := s.List(ctx, other); len(list) != 0 {
		t.Fatalf("List of another workspace = %+v", list)
	}

	// A point of contact using the script keeps it from being deleted.
	poc := store.NewID()
	if _, err := db.ExecContext(ctx, `INSERT INTO points_of_contact (id, workspace_id, type, name, default_script, created_at, updated_at) VALUES (?, ?, 'chat', 'Web', ?, 1, 1)`,
		poc, ws, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, ws, "u1", created.ID); !errors.Is(err, ErrInUse) {
		t.Fatalf("Delete while in use = %v", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE points_of_contact SET default_script = '' WHERE id = ?`, poc); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, ws, "u1", created.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, err := s.Get(ctx, ws, created.ID); return err }(),
		func() error { _, err := s.GetByName(ctx, ws, "Billing router"); return err }(),
		func() error { _, err := s.Versions(ctx, ws, created.ID); return err }(),
		func() error { _, err := s.Version(ctx, ws, created.ID, 1); return err }(),
		func() error { _, _, err := s.Program(ctx, ws, created.ID); return err }(),
		func() error { _, err := s.Update(ctx, ws, "u", created.ID, "pass"); return err }(),
		s.Delete(ctx, ws, "u1", created.ID),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v, want not found", err)
		}
	}
	// The name is free again; the old versions are still in the database.
	if _, err := s.Create(ctx, ws, "u1", "Billing router", "pass"); err != nil {
		t.Fatalf("reusing a deleted script's name: %v", err)
	}
	var kept int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM script_versions WHERE script_id = ?`, created.ID).Scan(&kept); err != nil || kept != 2 {
		t.Fatalf("versions kept after delete: %d, %v", kept, err)
	}

	entries, err := audit.List(ctx, db, ws, "script", created.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if want := []string{"script.created", "script.updated", "script.deleted"}; !reflect.DeepEqual(actions, want) {
		t.Fatalf("audit = %v, want %v", actions, want)
	}
}

func TestStoreProgramCache(t *testing.T) {
	s, db, ws := newTestStore(t)
	ctx := context.Background()
	sc, err := s.Create(ctx, ws, "u1", "router", billingScript)
	if err != nil {
		t.Fatal(err)
	}
	p1, v, err := s.Program(ctx, ws, sc.ID)
	if err != nil || v != 1 {
		t.Fatalf("Program = %v, %d, %v", p1, v, err)
	}
	if again, _, _ := s.Program(ctx, ws, sc.ID); again != p1 {
		t.Fatal("the same version was compiled twice")
	}
	if _, err := s.Update(ctx, ws, "u1", sc.ID, "set_skill(\"general\")\n"); err != nil {
		t.Fatal(err)
	}
	p2, v, err := s.Program(ctx, ws, sc.ID)
	if err != nil || v != 2 || p2 == p1 {
		t.Fatalf("after update: Program = %p (v%d), %v; first %p", p2, v, err, p1)
	}
	if n := s.cachedPrograms(); n != 1 {
		t.Fatalf("cache holds %d programs, want only the current version", n)
	}
	res := (&Engine{Timeout: testTimeout}).Run(ctx, p2, messageInput(t, "invoice"))
	if res.Err != nil || len(res.Actions) != 1 || res.Actions[0].Skill != "general" {
		t.Fatalf("running the cached program: %+v", res)
	}

	// Another node (another Store on the same database) compiles from the
	// stored source.
	node2 := NewStore(db, nil, time.Now)
	p, v, err := node2.Program(ctx, ws, sc.ID)
	if err != nil || v != 2 {
		t.Fatalf("node 2: %v, %d", err, v)
	}
	if res := (&Engine{Timeout: testTimeout}).Run(ctx, p, messageInput(t, "x")); res.Err != nil || res.Actions[0].Skill != "general" {
		t.Fatalf("node 2 run: %+v", res)
	}
	// A stored version the engine no longer accepts is reported, not run.
	if _, err := db.ExecContext(ctx, `INSERT INTO script_versions (workspace_id, script_id, version, source, created_by, created_at) VALUES (?, ?, 3, 'nope(', '', 1)`, ws, sc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE scripts SET current_version = 3 WHERE id = ?`, sc.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node2.Program(ctx, ws, sc.ID); err == nil || !strings.Contains(err.Error(), "no longer compiles") {
		t.Fatalf("broken stored version: %v", err)
	}
}

// TestStoreConcurrentUpdates: simultaneous saves each get their own
// version number.
func TestStoreConcurrentUpdates(t *testing.T) {
	s, _, ws := newTestStore(t)
	ctx := context.Background()
	sc, err := s.Create(ctx, ws, "u1", "router", "pass\n")
	if err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, ws, "u", sc.ID, strings.Repeat("pass\n", i+2))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	versions, err := s.Versions(ctx, ws, sc.ID)
	if err != nil || len(versions) != writers+1 {
		t.Fatalf("versions = %d, %v", len(versions), err)
	}
	for i, v := range versions {
		if v.Version != writers+1-i {
			t.Fatalf("versions %+v are not 1..%d", versions, writers+1)
		}
	}
}
