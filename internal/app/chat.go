package app

import (
	"context"
	"encoding/json"
	"strings"

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
