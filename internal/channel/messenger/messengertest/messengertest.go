// Package messengertest makes real points of contact for the Messenger and
// Instagram adapters' tests: created through channel.Points on a fresh test
// database, so settings and credentials go through the adapter's Configure
// and the encrypted store exactly as in production.
package messengertest

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// Points is a point-of-contact store on a fresh database.
type Points struct {
	t           testing.TB
	points      *channel.Points
	workspaceID string
}

// New opens a fresh database with one workspace and a registry of adapter.
func New(t testing.TB, adapter channel.Adapter) *Points {
	t.Helper()
	db := storetest.Open(t)
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	ws := store.NewID()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, ws, "test", store.Micros(time.Now())); err != nil {
		t.Fatal(err)
	}
	return &Points{t: t, points: channel.NewPoints(db, box, channel.NewRegistry(adapter), time.Now), workspaceID: ws}
}

// Create configures a point of contact and reads it back as the core
// would (Lookup), with the values Configure generated.
func (p *Points) Create(channelType string, settings map[string]any, creds map[string]string) (*channel.PointOfContact, map[string]string, error) {
	p.t.Helper()
	poc, generated, err := p.points.Create(context.Background(), p.workspaceID, "", channel.NewPointOfContact{Type: channelType, Name: "test",
		Settings: settings, Credentials: creds})
	if err != nil {
		return nil, nil, err
	}
	got, err := p.points.Lookup(context.Background(), poc.ID)
	if err != nil {
		p.t.Fatal(err)
	}
	return &got, generated, nil
}

// MustCreate is Create failing the test on error.
func (p *Points) MustCreate(channelType string, settings map[string]any, creds map[string]string) *channel.PointOfContact {
	p.t.Helper()
	poc, _, err := p.Create(channelType, settings, creds)
	if err != nil {
		p.t.Fatalf("create point of contact: %v", err)
	}
	return poc
}

// Update patches a point of contact.
func (p *Points) Update(id string, patch channel.Patch) error {
	_, err := p.points.Update(context.Background(), p.workspaceID, "", id, patch)
	return err
}
