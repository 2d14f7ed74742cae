package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// activity is the part of a Bot Framework Activity the adapter reads.
type activity struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	Timestamp    string          `json:"timestamp"`
	ServiceURL   string          `json:"serviceUrl"`
	ChannelID    string          `json:"channelId"`
	From         account         `json:"from"`
	Conversation conversation    `json:"conversation"`
	Recipient    account         `json:"recipient"`
	Text         string          `json:"text"`
	Attachments  []attachment    `json:"attachments"`
	Entities     []entity        `json:"entities"`
	Value        json.RawMessage `json:"value"`
	Name         string          `json:"name"`
	ReplyToID    string          `json:"replyToId"`
	Reactions    []struct {
		Type string `json:"type"`
	} `json:"reactionsAdded"`
}

type account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type conversation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type attachment struct {
	ContentType string          `json:"contentType"`
	ContentURL  string          `json:"contentUrl"`
	Name        string          `json:"name"`
	Content     json.RawMessage `json:"content"`
}

type entity struct {
	Type      string   `json:"type"`
	Text      string   `json:"text"`
	Mentioned *account `json:"mentioned"`
}

// What a card tap carries back in the activity's value (see render.go):
// the option or slot id, and the label the customer saw.
const (
	valueChoice = "parley_choice"
	valueLabel  = "parley_label"
	valueLabels = "parley_labels"
)

// Content types of Teams attachments.
const (
	contentTypeAdaptiveCard = "application/vnd.microsoft.card.adaptive"
	contentTypeFileDownload = "application/vnd.microsoft.teams.file.download.info"
	readReceiptEvent        = "application/vnd.microsoft.readReceipt"
)

const maxPlatformID = 2048

// platformID is an inbound message's platform id: the dedupe key
// (conversation and activity id) and the serviceUrl that answers the
// conversation, so that a send can find it after a restart (package doc).
func platformID(activityID, conversationID, serviceURL string) string {
	return activityID + "|" + conversationID + "|" + serviceURL
}

// splitPlatformID reverses platformID. An activity id and a serviceUrl
// never hold "|" (Parse refuses them); a conversation id may.
func splitPlatformID(id string) (activityID, conversationID, serviceURL string, ok bool) {
	i, j := strings.Index(id, "|"), strings.LastIndex(id, "|")
	if i <= 0 || j <= i+1 || j == len(id)-1 {
		return "", "", "", false
	}
	return id[:i], id[i+1 : j], id[j+1:], true
}

var choiceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}(,[A-Za-z0-9_.:-]{1,64})*$`)

// Parse turns one activity into canonical events: messages (text, files,
// card submits), reactions and read receipts. Conversation updates,
// typing, invokes and other activities are skipped, as are the bot's own.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	var act activity
	if err := json.Unmarshal(body, &act); err != nil {
		return nil, channel.Malformed("", "not a Bot Framework activity: %v", err)
	}
	if act.Type == "" {
		return nil, channel.Malformed("type", "required")
	}
	if act.Conversation.ID != "" && validServiceURL(act.ServiceURL) {
		// What this process last saw, for typing indicators.
		a.service.put(poc.ID, act.Conversation.ID, act.ServiceURL)
	}
	switch act.Type {
	case "message", "messageReaction":
	case "event":
		if act.Name != readReceiptEvent {
			return nil, nil
		}
	default:
		return nil, nil
	}
	if err := checkIDs(&act); err != nil {
		return nil, err
	}
	if act.From.Role == "bot" || act.From.ID == act.Recipient.ID {
		return nil, nil // the bot's own activity
	}
	var sent time.Time
	if act.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, act.Timestamp)
		if err != nil {
			return nil, channel.Malformed("timestamp", "not an RFC 3339 time: %q", act.Timestamp)
		}
		sent = t.UTC()
	}
	id := platformID(act.ID, act.Conversation.ID, act.ServiceURL)
	switch act.Type {
	case "event":
		var v struct {
			LastRead string `json:"lastReadMessageId"`
		}
		if json.Unmarshal(act.Value, &v) != nil || v.LastRead == "" {
			return nil, nil
		}
		return []channel.InboundEvent{{Kind: channel.EventStatus, ThreadID: act.Conversation.ID, StatusMessageID: v.LastRead, Status: "read"}}, nil
	case "messageReaction":
		if act.ReplyToID == "" {
			return nil, nil
		}
		// One activity may add several reactions: each is a message of its
		// own, its id the activity's and the reaction's.
		var out []channel.InboundEvent
		for _, re := range act.Reactions {
			emoji := reactionEmoji(re.Type)
			if emoji == "" {
				continue
			}
			out = append(out, channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: platformID(act.ID+"~"+re.Type, act.Conversation.ID, act.ServiceURL),
				ThreadID: act.Conversation.ID, ThreadName: act.Conversation.Name, AuthorID: act.From.ID, AuthorName: act.From.Name,
				SentAt: sent, Reaction: emoji, ReplyToPlatformID: act.ReplyToID})
		}
		return out, nil
	}
	ev := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: act.Conversation.ID, ThreadName: act.Conversation.Name,
		AuthorID: act.From.ID, AuthorName: act.From.Name, SentAt: sent, Text: stripMentions(act.Text, act.Entities, act.Recipient.ID)}
	if len(act.Value) > 0 && string(act.Value) != "null" {
		choice, label, raw := submitted(act.Value)
		ev.ChoiceID = choice
		switch {
		case label != "":
			ev.Text = label
		case ev.Text == "" && choice != "":
			ev.Text = choice
		case ev.Text == "":
			// A submit of an author's own Adaptive Card: its values are
			// what the customer said.
			ev.Text = raw
		}
	}
	ev.Attachments = a.attachments(act.Attachments, poc)
	if ev.Text == "" && ev.ChoiceID == "" && len(ev.Attachments) == 0 {
		return nil, nil // e.g. only a card or formatting the core cannot show
	}
	return []channel.InboundEvent{ev}, nil
}

// checkIDs requires what a message, reaction or receipt needs.
func checkIDs(act *activity) error {
	switch {
	case act.ID == "" || strings.Contains(act.ID, "|"):
		return channel.Malformed("id", "required, without |")
	case act.Conversation.ID == "":
		return channel.Malformed("conversation.id", "required")
	case !validServiceURL(act.ServiceURL):
		return channel.Malformed("serviceUrl", "an absolute http(s) URL without |")
	case act.From.ID == "":
		return channel.Malformed("from.id", "required")
	case len(platformID(act.ID, act.Conversation.ID, act.ServiceURL)) > maxPlatformID:
		return channel.Malformed("conversation.id", "ids too long")
	}
	return nil
}

func validServiceURL(s string) bool {
	return s != "" && !strings.Contains(s, "|") && httpURL(s)
}

// stripMentions removes the @mention of the bot that group chats and
// channels put in the text ("<at>Parley</at> my order…").
func stripMentions(text string, entities []entity, botID string) string {
	for _, e := range entities {
		if e.Type == "mention" && e.Mentioned != nil && e.Mentioned.ID == botID && e.Text != "" {
			text = strings.ReplaceAll(text, e.Text, "")
		}
	}
	return strings.TrimSpace(text)
}

// submitted reads an Action.Submit value: the choice id(s) and label(s)
// Parley's cards carry, or, for any other card, the values as compact JSON.
// A messageBack action delivers the value as a JSON string; both work.
func submitted(raw json.RawMessage) (choice, label, text string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var v map[string]any
	if json.Unmarshal(raw, &v) != nil {
		return "", "", truncate(strings.TrimSpace(string(raw)), 4096)
	}
	if c, ok := v[valueChoice].(string); ok && choiceIDPattern.MatchString(c) {
		choice = c
		label, _ = v[valueLabel].(string)
		if labels, ok := v[valueLabels].(map[string]any); ok && label == "" {
			var parts []string
			for _, id := range strings.Split(c, ",") {
				if l, ok := labels[id].(string); ok && l != "" {
					parts = append(parts, l)
				}
			}
			label = strings.Join(parts, ", ")
		}
		return choice, truncate(label, 4096), ""
	}
	delete(v, valueLabels)
	if len(v) == 0 {
		return "", "", ""
	}
	b, _ := json.Marshal(v)
	return "", "", truncate(string(b), 4096)
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// attachments maps files: a file shared in a personal chat arrives as
// file.download.info with a pre-authenticated downloadUrl; a pasted image
// as an image/* contentUrl on the Bot Connector, which needs the bot's
// token (fetched by FetchMedia, only from allow-listed hosts). Cards and
// the text/html copy of the message are not files.
func (a *Adapter) attachments(in []attachment, poc *channel.PointOfContact) []channel.InboundAttachment {
	var out []channel.InboundAttachment
	for _, at := range in {
		ct := strings.ToLower(strings.TrimSpace(at.ContentType))
		switch {
		case ct == contentTypeFileDownload:
			var c struct {
				DownloadURL string `json:"downloadUrl"`
			}
			if json.Unmarshal(at.Content, &c) == nil && httpURL(c.DownloadURL) {
				out = append(out, channel.InboundAttachment{URL: c.DownloadURL, Name: at.Name})
			}
		case strings.HasPrefix(ct, "image/") || strings.HasPrefix(ct, "video/") || strings.HasPrefix(ct, "audio/"):
			if !httpURL(at.ContentURL) {
				continue
			}
			mt := ct
			if strings.Contains(mt, "*") {
				mt = "" // "image/*": the download's Content-Type says which
			}
			if allowedURL(poc, at.ContentURL) {
				out = append(out, channel.InboundAttachment{MediaRef: at.ContentURL, MimeType: mt, Name: at.Name})
			} else {
				out = append(out, channel.InboundAttachment{URL: at.ContentURL, MimeType: mt, Name: at.Name})
			}
		}
	}
	return out
}

// reactionEmoji maps Teams' reaction types to the emoji they show.
func reactionEmoji(t string) string {
	switch t {
	case "like":
		return "👍"
	case "heart":
		return "❤️"
	case "laugh":
		return "😆"
	case "surprised":
		return "😮"
	case "sad":
		return "😢"
	case "angry":
		return "😠"
	}
	return ""
}

// FetchMedia downloads an attachment the Bot Connector hosts (ref is its
// contentUrl) with the bot's token. Only allow-listed hosts get the token.
func (a *Adapter) FetchMedia(ctx context.Context, poc *channel.PointOfContact, ref string) (io.ReadCloser, string, error) {
	if !allowedURL(poc, ref) {
		return nil, "", fmt.Errorf("teams: %s is not on the serviceUrl allow-list; the bot's token is not sent there", ref)
	}
	tok, err := a.botToken(ctx, poc)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			a.dropToken(poc, tok)
		}
		return nil, "", fmt.Errorf("teams: downloading the attachment answered HTTP %s", strconv.Itoa(resp.StatusCode))
	}
	return resp.Body, resp.Header.Get("Content-Type"), nil
}
