// Package realtime delivers live inbox events to agents' browsers and API
// clients.
//
// Each node runs one [Hub]. Code that changes the inbox publishes [Event]s to
// the hub only after its transaction has committed; the hub fans them out to
// local [Subscription]s, each with its own filter (the caller decides who may
// see what: workspace, team, permissions) and a bounded buffer. A subscriber
// that cannot keep up is dropped, never waited for. [ServeSSE] streams a
// subscription to an HTTP client as Server-Sent Events.
//
// Across nodes, a [PGBridge] carries events through PostgreSQL LISTEN/NOTIFY:
// attach it with [Hub.SetBroadcaster] so that published events are sent to
// the other nodes, and run [PGBridge.Run] so that theirs reach this hub.
//
// Delivery is best effort and there is no replay: a client that reconnects,
// was dropped, or was told its stream ended re-syncs by listing what it shows
// (cases, messages) through the API and then follows the stream again.
package realtime

import (
	"encoding/json"
	"errors"
	"time"
)

// Event types published by the inbox. Type is free-form; these are the ones
// Parley itself publishes.
const (
	TypeCaseCreated    = "case.created"
	TypeCaseUpdated    = "case.updated"
	TypeMessageCreated = "message.created"
	TypeMessageStatus  = "message.status"
	// TypeMessageModerated: a public message was hidden, shown, deleted,
	// liked or unliked on its platform.
	TypeMessageModerated = "message.moderated"
)

// Event is one live change. WorkspaceID is always set; PointOfContactID and
// CaseID help subscribers' filters decide who may see the event without
// decoding Data.
type Event struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	WorkspaceID      string `json:"workspace_id"`
	PointOfContactID string `json:"point_of_contact_id,omitempty"`
	CaseID           string `json:"case_id,omitempty"`
	// Data is the event's payload (for example the case or message as the
	// API shows it); it must be valid JSON.
	Data json.RawMessage `json:"data,omitempty"`
	// DataTruncated is true when Data was too large to travel between nodes
	// (see [PGBridge]) and was removed on the way: the receiver should fetch
	// the resource (for example the case or message) through the API.
	DataTruncated bool      `json:"data_truncated,omitempty"`
	At            time.Time `json:"at"`
}

// Reasons a subscription ends, as reported by [Subscription.Err].
var (
	// ErrSlowSubscriber: the subscription's buffer was full when an event
	// arrived, so it was dropped rather than slow down every other subscriber.
	ErrSlowSubscriber = errors.New("realtime: subscriber too slow, events were dropped")
	// ErrClosed: the subscriber closed the subscription.
	ErrClosed = errors.New("realtime: subscription closed")
	// ErrHubClosed: the hub was closed (the node is shutting down).
	ErrHubClosed = errors.New("realtime: hub closed")
	// ErrEventsMissed: this node may have missed events from other nodes
	// (its connection to them was lost and re-established), so every
	// subscriber must re-sync.
	ErrEventsMissed = errors.New("realtime: events from other nodes may have been missed")
)
