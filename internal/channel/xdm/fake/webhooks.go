package fake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Account is an X user: a customer, or the business account.
type Account struct {
	ID         string
	ScreenName string
	Name       string
}

// Item is one event of an Account Activity delivery: a DM event, a read
// mark, a typing indicator, or a post.
type Item struct {
	list   string // the delivery's array it belongs to
	event  map[string]any
	people []Account
}

func ms(at time.Time) string {
	if at.IsZero() {
		at = time.Now()
	}
	return strconv.FormatInt(at.UnixMilli(), 10)
}

func messageCreate(from, to Account, eventID, text string, attachment map[string]any, at time.Time) Item {
	data := map[string]any{"text": text, "entities": map[string]any{"hashtags": []any{}, "symbols": []any{}, "user_mentions": []any{}, "urls": []any{}}}
	if attachment != nil {
		data["attachment"] = attachment
	}
	return Item{list: "direct_message_events", people: []Account{from, to}, event: map[string]any{
		"type": "message_create", "id": eventID, "created_timestamp": ms(at),
		"message_create": map[string]any{"target": map[string]any{"recipient_id": to.ID}, "sender_id": from.ID, "source_app_id": "268278", "message_data": data},
	}}
}

// Text is a customer's DM to the business.
func Text(customer, business Account, eventID, text string, at time.Time) Item {
	return messageCreate(customer, business, eventID, text, nil, at)
}

// Photo is a customer's DM with a photo at mediaURL: like X, the text ends
// with the media's t.co link.
func Photo(customer, business Account, eventID, text, mediaURL string, at time.Time) Item {
	short := "https://t.co/" + eventID[max(0, len(eventID)-10):]
	full := short
	if text != "" {
		full = text + " " + short
	}
	return messageCreate(customer, business, eventID, full, map[string]any{"type": "media", "media": map[string]any{
		"id": 1, "id_str": eventID + "1", "indices": []int{len([]rune(full)) - len(short), len([]rune(full))},
		"media_url": mediaURL, "media_url_https": mediaURL, "url": short, "display_url": "pic.x.com/" + eventID,
		"expanded_url": "https://x.com/messages/media/" + eventID, "type": "photo",
		"sizes": map[string]any{"large": map[string]any{"w": 1, "h": 1, "resize": "fit"}},
	}}, at)
}

// Video is a customer's DM with a video: the thumbnail and one MP4 encoding.
func Video(customer, business Account, eventID, text, thumbURL, mp4URL string, at time.Time) Item {
	short := "https://t.co/v" + eventID[max(0, len(eventID)-9):]
	return messageCreate(customer, business, eventID, text+" "+short, map[string]any{"type": "media", "media": map[string]any{
		"id_str": eventID + "2", "media_url_https": thumbURL, "url": short, "type": "video",
		"video_info": map[string]any{"aspect_ratio": []int{16, 9}, "duration_millis": 3000, "variants": []any{
			map[string]any{"bitrate": 256000, "content_type": "video/mp4", "url": mp4URL},
			map[string]any{"content_type": "application/x-mpegURL", "url": mp4URL + ".m3u8"},
		}},
	}}, at)
}

// Echo is a DM the business sent, as X delivers it back to the webhook.
func Echo(business, customer Account, eventID, text string, at time.Time) Item {
	return messageCreate(business, customer, eventID, text, nil, at)
}

// MarkRead is reader marking the conversation read up to lastReadEventID.
func MarkRead(reader, other Account, lastReadEventID string, at time.Time) Item {
	return Item{list: "direct_message_mark_read_events", people: []Account{reader, other}, event: map[string]any{
		"created_timestamp": ms(at), "sender_id": reader.ID, "target": map[string]any{"recipient_id": other.ID}, "last_read_event_id": lastReadEventID}}
}

// Typing is writer typing in the conversation.
func Typing(writer, other Account, at time.Time) Item {
	return Item{list: "direct_message_indicate_typing_events", people: []Account{writer, other}, event: map[string]any{
		"created_timestamp": ms(at), "sender_id": writer.ID, "target": map[string]any{"recipient_id": other.ID}}}
}

// Mention is a post mentioning the business (tweet_create_events), which
// the DM adapter ignores.
func Mention(author Account, tweetID, text string, at time.Time) Item {
	return Item{list: "tweet_create_events", event: map[string]any{
		"id_str": tweetID, "text": text, "created_at": at.UTC().Format(time.RubyDate),
		"user": map[string]any{"id_str": author.ID, "screen_name": author.ScreenName, "name": author.Name}}}
}

// Payload builds a delivery for the business account (for_user_id) with
// the items grouped in their arrays and every DM participant in "users".
func Payload(business Account, items ...Item) []byte {
	body := map[string]any{"for_user_id": business.ID}
	users := map[string]any{}
	for _, it := range items {
		list, _ := body[it.list].([]any)
		body[it.list] = append(list, it.event)
		for _, p := range it.people {
			users[p.ID] = map[string]any{"id": p.ID, "created_timestamp": "1422556069340", "name": p.Name, "screen_name": p.ScreenName,
				"protected": false, "verified": false, "followers_count": 1, "friends_count": 1, "statuses_count": 1,
				"profile_image_url_https": "https://pbs.twimg.com/profile_images/0/default_normal.png"}
		}
	}
	if len(users) > 0 {
		body["users"] = users
	}
	out, _ := json.Marshal(body)
	return out
}

// Sign is X's x-twitter-webhooks-signature for a body, and the CRC
// response_token for a crc_token: sha256=<base64 HMAC-SHA256(secret, message)>.
func Sign(consumerSecret string, message []byte) string {
	m := hmac.New(sha256.New, []byte(consumerSecret))
	m.Write(message)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SendWebhook posts a delivery signed as X does (an empty secret sends it
// unsigned).
func SendWebhook(url, consumerSecret string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "X-Webhooks/1.0")
	if consumerSecret != "" {
		req.Header.Set("X-Twitter-Webhooks-Signature", Sign(consumerSecret, payload))
	}
	return (&http.Client{Timeout: 30 * time.Second}).Do(req)
}

// CRC performs X's Challenge-Response Check against a webhook URL: it
// GETs ?crc_token=<token> and reports whether the answer is
// {"response_token": Sign(secret, token)}, as X requires to keep the
// webhook enabled.
func CRC(webhookURL, consumerSecret, token string) (bool, error) {
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(webhookURL + "?crc_token=" + token)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		ResponseToken string `json:"response_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return false, nil
	}
	return hmac.Equal([]byte(out.ResponseToken), []byte(Sign(consumerSecret, []byte(token)))), nil
}

// CustomerSays delivers "customer <from> (<name>) says <text>" to a
// webhook URL, signed with consumerSecret (empty: Options.ConsumerSecret).
// X DMs have no buttons: a customer answers a prompt by typing an option's
// number or label, which this sends like any text.
func (s *Server) CustomerSays(webhookURL, consumerSecret, from, name, text string, at time.Time) (*http.Response, error) {
	if consumerSecret == "" {
		consumerSecret = s.opts.ConsumerSecret
	}
	if at.IsZero() {
		at = s.opts.Now()
	}
	customer := Account{ID: from, ScreenName: "user" + from, Name: name}
	return SendWebhook(webhookURL, consumerSecret, Payload(s.Business(), Text(customer, s.Business(), s.NextID(), text, at)))
}
