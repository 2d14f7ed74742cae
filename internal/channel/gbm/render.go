package gbm

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/content"
)

// RenderNative upgrades what the content engine leaves as plain text on
// Business Messages (its seed row has no quick replies) to the platform's
// own elements; list pickers, time pickers, rich links, cards and
// carousels are already native from the engine.
//   - quick replies become suggested replies (at most 13 chips of 25
//     characters), each carrying the option id as postbackData, so a tap
//     comes back as the option id;
//   - an image file by URL without a caption becomes an image message.
//
// The plain text stays as the message's fallback, and base.Prompt is kept
// so a typed answer resolves too.
func (a *Adapter) RenderNative(c content.Content, base content.Rendered) (content.Rendered, bool) {
	var payload map[string]any
	var form string
	switch c.Type {
	case content.TypeQuickReplies:
		p := base.Prompt
		text := c.Text
		if text == "" {
			text = c.Title
		}
		if p == nil || len(p.Options) == 0 || len(p.Options) > MaxSuggestions || c.MultiSelect ||
			strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > MaxTextLength {
			return base, false
		}
		sugg := make([]map[string]any, 0, len(p.Options))
		for _, o := range p.Options {
			sugg = append(sugg, map[string]any{"reply": map[string]any{"text": truncate(o.Label, MaxSuggestionText), "postbackData": o.ID}})
		}
		payload, form = map[string]any{"text": text, "suggestions": sugg, "fallback": clip(base.Text, MaxTextLength)}, "suggestions"
	case content.TypeFile:
		m := c.Media
		if m == nil || m.URL == "" || c.Text != "" || !imageTypes[baseMIME(m.MimeType)] {
			return base, false
		}
		info := map[string]any{"fileUrl": m.URL, "forceRefresh": false}
		if m.Alt != "" {
			info["altText"] = m.Alt
		}
		payload, form = map[string]any{"image": map[string]any{"contentInfo": info}, "fallback": clip(base.Text, MaxTextLength)}, "image"
	default:
		return base, false
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return base, false
	}
	out := base
	out.Type = Type + "." + form
	out.Native = raw
	return out, true
}

// truncate cuts s to at most max characters, ending with "…" when cut
// (the content engine's own rule for labels).
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:max-1]), " \t\n") + "…"
}
