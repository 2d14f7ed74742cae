package chat

import (
	"context"

	"github.com/parleyhq/parley/internal/channel"
)

// Send pushes an outbound message to every open widget of the visitor
// (thread external id = visitor id). A visitor who is not connected gets it
// from the history when they come back; if they stay away longer than
// offline_email_after and gave an email, it goes to ContinueByEmail. The
// platform message id is the message's own id.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	if msg.ThreadExternalID == "" {
		return channel.SendResult{}, &channel.SendError{Code: "no_visitor", Reason: "chat messages answer a visitor's thread"}
	}
	s, err := parseSettings(poc.Settings, false)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Code: "settings", Reason: err.Error()}
	}
	a.hub.deliver(ctx, poc, msg, encodeMessage(a.outboundFrame(msg)), s.OfflineEmailAfter)
	return channel.SendResult{PlatformMessageID: msg.ID}, nil
}

// Typing shows or hides the agent's typing indicator in the visitor's
// open widgets.
func (a *Adapter) Typing(ctx context.Context, poc *channel.PointOfContact, threadExternalID, recipientID string, on bool) error {
	a.hub.broadcast(poc.ID, threadExternalID, encodeFrame(outFrame{Type: "typing", On: boolp(on)}), nil)
	return nil
}

// MarkRead tells the visitor's widgets that an agent read their message
// (the ticks). platformMessageID is the id the adapter gave the visitor's
// message (visitor id and client id).
func (a *Adapter) MarkRead(ctx context.Context, poc *channel.PointOfContact, platformMessageID string) error {
	vid, cid, ok := splitPlatformID(platformMessageID)
	if !ok {
		return nil
	}
	a.hub.broadcast(poc.ID, vid, encodeFrame(outFrame{Type: "status", ClientID: cid, Status: "read"}), nil)
	return nil
}
