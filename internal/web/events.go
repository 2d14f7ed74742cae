package web

import (
	"net/http"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/realtime"
)

// events streams live inbox events (Server-Sent Events). Each user sees
// only their workspace, and agents only the points of contact their
// channel permissions cover. Events are published after commit.
func (s *Server) events(w http.ResponseWriter, r *http.Request, u *account.User) {
	user := *u
	filter := func(ev realtime.Event) bool {
		if ev.WorkspaceID != user.WorkspaceID {
			return false
		}
		return ev.PointOfContactID == "" || user.CanSee(ev.PointOfContactID)
	}
	sub := s.Hub.Subscribe(filter, 256)
	_ = realtime.ServeSSE(w, r, sub, realtime.SSEOptions{Heartbeat: s.opts.SSEHeartbeat})
}
