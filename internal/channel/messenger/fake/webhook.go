package fake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// Item is one messaging item of a webhook entry, in the documented shape
// (CHANNELS.md §2, §4). The builders leave out the page or account id;
// Payload fills it in from the entry.
type Item map[string]any

// Entry is one entry of a delivery: a page (Messenger) or an Instagram
// account, with its messaging items.
type Entry struct {
	ID    string
	Time  time.Time
	Items []Item
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func from(user string, at time.Time) Item {
	return Item{"sender": map[string]any{"id": user}, "timestamp": ms(at)}
}

// Text is a customer's text message.
func Text(user, mid, text string, at time.Time) Item {
	it := from(user, at)
	it["message"] = map[string]any{"mid": mid, "text": text}
	return it
}

// QuickReply is a tap on a quick reply: its title as text and its payload.
func QuickReply(user, mid, title, payload string, at time.Time) Item {
	it := from(user, at)
	it["message"] = map[string]any{"mid": mid, "text": title, "quick_reply": map[string]any{"payload": payload}}
	return it
}

// Postback is a tap on a postback button (button or generic template).
// mid may be empty, as in older deliveries.
func Postback(user, mid, title, payload string, at time.Time) Item {
	it := from(user, at)
	p := map[string]any{"title": title, "payload": payload}
	if mid != "" {
		p["mid"] = mid
	}
	it["postback"] = p
	return it
}

// Attachment is a message with one attachment of a kind (image, video,
// audio, file; Instagram also share, story_mention, ig_reel) at url.
func Attachment(user, mid, kind, url string, at time.Time) Item {
	it := from(user, at)
	it["message"] = map[string]any{"mid": mid, "attachments": []any{map[string]any{"type": kind, "payload": map[string]any{"url": url}}}}
	return it
}

// StoryMention is an Instagram story mention of the business.
func StoryMention(user, mid, url string, at time.Time) Item {
	return Attachment(user, mid, "story_mention", url, at)
}

// Share is an Instagram post shared in the conversation.
func Share(user, mid, url string, at time.Time) Item {
	return Attachment(user, mid, "share", url, at)
}

// ReplyTo makes a message item quote an earlier message (reply_to.mid).
func ReplyTo(it Item, mid string) Item {
	if m, ok := it["message"].(map[string]any); ok {
		m["reply_to"] = map[string]any{"mid": mid}
	}
	return it
}

// Reaction is an emoji reaction to a message (action react).
func Reaction(user, mid, emoji string, at time.Time) Item {
	it := from(user, at)
	it["reaction"] = map[string]any{"mid": mid, "action": "react", "reaction": "other", "emoji": emoji}
	return it
}

// Unreaction removes a reaction.
func Unreaction(user, mid string, at time.Time) Item {
	it := from(user, at)
	it["reaction"] = map[string]any{"mid": mid, "action": "unreact"}
	return it
}

// Delivery is a delivery receipt: the mids and the watermark (everything
// sent before it was delivered).
func Delivery(user string, mids []string, watermark time.Time) Item {
	it := from(user, watermark)
	if mids == nil {
		mids = []string{}
	}
	it["delivery"] = map[string]any{"mids": mids, "watermark": ms(watermark)}
	return it
}

// Read is Messenger's read receipt with its watermark.
func Read(user string, watermark time.Time) Item {
	it := from(user, watermark)
	it["read"] = map[string]any{"watermark": ms(watermark)}
	return it
}

// Seen is Instagram's read receipt (messaging_seen): the last message seen.
func Seen(user, mid string, at time.Time) Item {
	it := from(user, at)
	it["read"] = map[string]any{"mid": mid}
	return it
}

// Echo is the platform echoing a message the business sent to user.
func Echo(user, mid, text string, at time.Time) Item {
	return Item{"recipient": map[string]any{"id": user}, "timestamp": ms(at),
		"message": map[string]any{"mid": mid, "text": text, "is_echo": true, "app_id": 1517776481860111}}
}

// Payload builds a delivery of several entries for an object ("page" or
// "instagram"). Items get recipient (or, for echoes, sender) = the entry id.
func Payload(object string, entries ...Entry) []byte {
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		at := e.Time
		if at.IsZero() {
			at = time.Now()
		}
		items := make([]any, 0, len(e.Items))
		for _, it := range e.Items {
			c := Item{}
			for k, v := range it {
				c[k] = v
			}
			if _, ok := c["recipient"]; !ok {
				c["recipient"] = map[string]any{"id": e.ID}
			}
			if _, ok := c["sender"]; !ok {
				c["sender"] = map[string]any{"id": e.ID}
			}
			items = append(items, c)
		}
		out = append(out, map[string]any{"id": e.ID, "time": ms(at), "messaging": items})
	}
	b, _ := json.Marshal(map[string]any{"object": object, "entry": out})
	return b
}

// PagePayload is a Messenger delivery with one entry for pageID.
func PagePayload(pageID string, items ...Item) []byte {
	return Payload("page", Entry{ID: pageID, Time: itemsTime(items), Items: items})
}

// InstagramPayload is an Instagram delivery with one entry for the account.
func InstagramPayload(accountID string, items ...Item) []byte {
	return Payload("instagram", Entry{ID: accountID, Time: itemsTime(items), Items: items})
}

func itemsTime(items []Item) time.Time {
	var latest int64
	for _, it := range items {
		if v, ok := it["timestamp"].(int64); ok && v > latest {
			latest = v
		}
	}
	if latest == 0 {
		return time.Now()
	}
	return time.UnixMilli(latest)
}

// Sign is Meta's X-Hub-Signature-256 value for a body.
func Sign(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SendWebhook posts a payload to url signed like Meta: X-Hub-Signature-256
// (and the legacy SHA-1 X-Hub-Signature) over the exact bytes.
func SendWebhook(url, appSecret string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", Sign(appSecret, payload))
	m := hmac.New(sha1.New, []byte(appSecret))
	m.Write(payload)
	req.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
	client := &http.Client{Timeout: 20 * time.Second}
	return client.Do(req)
}

// SendWebhook delivers a payload like the package function and, as the
// platform would, opens the reply window of every customer whose message
// it carries (for the fake's own window checks).
func (s *Server) SendWebhook(url, appSecret string, payload []byte) (*http.Response, error) {
	s.noteInbound(payload)
	return SendWebhook(url, appSecret, payload)
}

func (s *Server) noteInbound(payload []byte) {
	var env struct {
		Entry []struct {
			ID        string `json:"id"`
			Messaging []struct {
				Sender struct {
					ID string `json:"id"`
				} `json:"sender"`
				Timestamp int64 `json:"timestamp"`
				Message   *struct {
					IsEcho bool `json:"is_echo"`
				} `json:"message"`
				Postback json.RawMessage `json:"postback"`
			} `json:"messaging"`
		} `json:"entry"`
	}
	if json.Unmarshal(payload, &env) != nil {
		return
	}
	for _, e := range env.Entry {
		for _, m := range e.Messaging {
			if (m.Message != nil && !m.Message.IsEcho) || len(m.Postback) > 0 {
				at := time.UnixMilli(m.Timestamp)
				s.mu.Lock()
				prev, ok := s.lastInbound[e.ID][m.Sender.ID]
				s.mu.Unlock()
				if !ok || at.After(prev) {
					s.SetLastInbound(e.ID, m.Sender.ID, at)
				}
			}
		}
	}
}
