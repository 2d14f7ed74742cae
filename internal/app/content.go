package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/content/linkpreview"
	"github.com/parleyhq/parley/internal/inbox"
)

// contentPolicy adapts the rich-content engine to the inbox (validate and
// render outbound content; agents limited to their channel's agent table)
// and to the API (capabilities and render previews).
type contentPolicy struct {
	registry *channel.Registry
}

func newContentPolicy(registry *channel.Registry) *contentPolicy {
	return &contentPolicy{registry: registry}
}

// nativeRenderer is implemented by adapters whose platform has native
// elements the reference product's tables do not list (Telegram inline
// keyboards, LINE quick replies, Viber keyboards, Slack Block Kit, Teams
// adaptive cards and suggested actions). The tables keep deciding what an
// agent may send; given what the engine rendered (plain text and, for a
// question, its prompt), the adapter may upgrade it to the platform's
// native payload. It keeps base.Text and base.Prompt (a tap answers with
// an option id of that prompt) and sets Type "<channel>.<form>" and
// Native. ok false leaves base as it is.
type nativeRenderer interface {
	RenderNative(c content.Content, base content.Rendered) (r content.Rendered, ok bool)
}

// render renders canonical content for a channel type, then lets the
// channel's adapter upgrade the result to its native elements.
func (p *contentPolicy) render(channelType string, c content.Content, opts content.RenderOptions) (content.Rendered, error) {
	r, err := content.Render(channelType, c, opts)
	if err != nil || p == nil || p.registry == nil {
		return r, err
	}
	if a, ok := p.registry.Get(channelType); ok {
		if nr, ok := a.(nativeRenderer); ok && r.Native == nil && r.Type != "override" {
			if up, ok := nr.RenderNative(c, r); ok {
				up.Channel = channelType
				return up, nil
			}
		}
	}
	return r, nil
}

func decodeContent(raw []byte) (content.Content, error) {
	var c content.Content
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, &inbox.ValidationError{Field: "content", Reason: "malformed content: " + err.Error()}
	}
	return c, nil
}

func contentError(err error) error {
	var ve *content.ValidationError
	if errors.As(err, &ve) {
		return &inbox.ValidationError{Field: "content." + ve.Field, Reason: ve.Reason}
	}
	return err
}

// Validate checks canonical content (inbound from BYOC, or before sending).
func (p *contentPolicy) Validate(raw json.RawMessage) error {
	c, err := decodeContent(raw)
	if err != nil {
		return err
	}
	return contentError(c.Validate())
}

// Prepare validates, checks the agent table (for agents) and renders for
// the channel; a rendering that expects an answer returns its prompt.
func (p *contentPolicy) Prepare(channelType string, role account.Role, raw json.RawMessage, text, messageID string) (inbox.Prepared, error) {
	c, err := decodeContent(raw)
	if err != nil {
		return inbox.Prepared{}, err
	}
	if err := c.Validate(); err != nil {
		return inbox.Prepared{}, contentError(err)
	}
	if role == account.RoleAgent && !content.AgentMaySend(channelType, c.Type) {
		return inbox.Prepared{}, &inbox.ValidationError{Field: "content.type",
			Reason: fmt.Sprintf("agents cannot send %s on %s (see GET /api/v1/channel-types/%s/capabilities)", c.Type, channelType, channelType)}
	}
	r, err := p.render(channelType, c, content.RenderOptions{MessageID: messageID, Now: time.Now()})
	if err != nil {
		return inbox.Prepared{}, contentError(err)
	}
	out := inbox.Prepared{Text: r.Text}
	if out.Rendered, err = json.Marshal(r); err != nil {
		return inbox.Prepared{}, err
	}
	if r.Prompt != nil {
		if out.Prompt, err = json.Marshal(r.Prompt); err != nil {
			return inbox.Prepared{}, err
		}
	}
	return out, nil
}

// Resolve maps an inbound reply onto the thread's pending prompt.
func (p *contentPolicy) Resolve(rawPrompt json.RawMessage, text, nativeID string, now time.Time) (inbox.ReplyOutcome, error) {
	var prompt content.Prompt
	if err := json.Unmarshal(rawPrompt, &prompt); err != nil {
		// A prompt this version cannot read is dropped rather than
		// blocking every later message of the thread.
		return inbox.ReplyOutcome{ClearPrompt: true}, nil
	}
	o := content.Resolve(&prompt, content.Reply{Text: text, NativeID: nativeID}, now)
	var out inbox.ReplyOutcome
	var err error
	if o.Choice != nil {
		if out.Choice, err = json.Marshal(o.Choice); err != nil {
			return out, err
		}
	}
	out.ClearPrompt = o.PromptClosed
	if !o.PromptClosed && o.UpdatedPrompt != nil {
		if out.Prompt, err = json.Marshal(o.UpdatedPrompt); err != nil {
			return out, err
		}
	} else if !o.PromptClosed {
		out.Prompt = rawPrompt
	}
	if o.AskAgain != nil {
		if out.AskAgain, err = json.Marshal(o.AskAgain); err != nil {
			return out, err
		}
	}
	return out, nil
}

type contentAPI struct {
	p        *contentPolicy
	previews *linkpreview.Fetcher
}

func contentService(p *contentPolicy, allowPrivate bool) contentAPI {
	o := linkpreview.Options{}
	if allowPrivate {
		// Local testing and the sandbox only: the SSRF guard is off.
		o.Guard = func(string, netip.AddrPort) error { return nil }
	}
	return contentAPI{p: p, previews: linkpreview.New(o)}
}

// LinkPreview fetches a page's title and image (SSRF-guarded).
func (c contentAPI) LinkPreview(ctx context.Context, url string) (any, error) {
	pv, err := c.previews.Fetch(ctx, url)
	if err != nil {
		return nil, &inbox.ValidationError{Field: "url", Reason: "no preview: " + err.Error()}
	}
	return pv, nil
}

// Enrich fills a rich link's missing title and image from the page itself,
// best effort: a page that cannot be fetched leaves the link as it was (it
// still renders, as its URL).
func (c contentAPI) Enrich(ctx context.Context, raw json.RawMessage) json.RawMessage {
	ct, err := decodeContent(raw)
	if err != nil || ct.Type != content.TypeRichLink || ct.Link == nil || (ct.Link.Title != "" && ct.Link.ImageURL != "") {
		return raw
	}
	pv, err := c.previews.Fetch(ctx, ct.Link.URL)
	if err != nil {
		return raw
	}
	if ct.Link.Title == "" {
		ct.Link.Title = pv.Title
	}
	if ct.Link.ImageURL == "" && strings.HasPrefix(pv.ImageURL, "https://") {
		ct.Link.ImageURL = pv.ImageURL
	}
	out, err := json.Marshal(ct)
	if err != nil {
		return raw
	}
	return out
}

// Capabilities returns the two table rows of a channel type.
func (c contentAPI) Capabilities(channelType string) (any, bool) {
	send, agent, ok := content.Capabilities(channelType)
	if !ok {
		return nil, false
	}
	return map[string]any{"channel_type": channelType, "send": send, "agent": agent}, true
}

// Preview renders content for a channel type.
func (c contentAPI) Preview(channelType string, raw []byte) (any, error) {
	ct, err := decodeContent(raw)
	if err != nil {
		return nil, err
	}
	r, err := c.p.render(channelType, ct, content.RenderOptions{})
	if err != nil {
		return nil, contentError(err)
	}
	return r, nil
}
