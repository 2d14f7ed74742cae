package app

import (
	"context"

	"github.com/parleyhq/parley/internal/channel"
)

// moderators finds a point of contact's adapter for moderation
// (inbox.ModeratorLookup).
type moderators struct {
	points   *channel.Points
	registry *channel.Registry
}

func (m moderators) Moderator(ctx context.Context, workspaceID, pocID string) (channel.Moderator, *channel.PointOfContact, error) {
	poc, err := m.points.Get(ctx, workspaceID, pocID)
	if err != nil {
		return nil, nil, err
	}
	ad, ok := m.registry.Get(poc.Type)
	if !ok {
		return nil, &poc, nil
	}
	mod, _ := ad.(channel.Moderator)
	return mod, &poc, nil
}
