package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parleyhq/parley/internal/channel"

	"github.com/parleyhq/parley/internal/channel/chat"
)

// chatHistory serves a chat visitor's conversation from the inbox, with
// attachment links the visitor's browser can open (signed, expiring).
type chatHistory struct{ a *App }

func (h chatHistory) ThreadHistory(ctx context.Context, pocID, threadExternalID string, limit int) ([]chat.HistoryMessage, error) {
	msgs, err := h.a.Inbox.ThreadMessages(ctx, pocID, threadExternalID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]chat.HistoryMessage, 0, len(msgs))
	for _, m := range msgs {
		hm := chat.HistoryMessage{ID: m.ID, Direction: m.Direction, AuthorType: m.Author.Type, Text: m.Text, Rendered: m.Rendered,
			Status: m.Status, CreatedAt: m.CreatedAt}
		if m.PlatformMessageID != nil {
			hm.PlatformMessageID = *m.PlatformMessageID
		}
		if len(m.Choice) > 0 {
			var c struct {
				OptionIDs []string `json:"option_ids"`
			}
			if json.Unmarshal(m.Choice, &c) == nil {
				hm.ChoiceID = strings.Join(c.OptionIDs, ",")
			}
		}
		for _, at := range m.Attachments {
			hm.Attachments = append(hm.Attachments, chat.HistoryAttachment{Name: at.Name, MimeType: at.MimeType, URL: h.a.Web.SignedURL(at.ID)})
		}
		out = append(out, hm)
	}
	return out, nil
}

// chatEmail continues a chat by email through the workspace's first email
// point of contact.
type chatEmail struct{ a *App }

func (c chatEmail) ContinueByEmail(ctx context.Context, chatPoc *channel.PointOfContact, visitorEmail string, msg *channel.OutboundMessage) error {
	ps, err := c.a.Points.List(ctx, chatPoc.WorkspaceID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Type == "email" {
			return c.a.Inbox.ContinueByEmail(ctx, &p, chatPoc.ID, msg.ThreadExternalID, visitorEmail, msg)
		}
	}
	return fmt.Errorf("chat %s: the visitor left an email but the workspace has no email point of contact", chatPoc.ID)
}

func (a *App) rememberVisitor(ctx context.Context, poc *channel.PointOfContact, v chat.Visitor) {
	if err := a.Inbox.RememberVisitor(ctx, poc, v.ID, v.Name, v.Email, v.Phone); err != nil {
		a.log.Warn("chat: remember visitor", "point_of_contact", poc.ID, "err", err)
	}
}
