package fake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries LINE's webhook signature.
const SignatureHeader = "X-Line-Signature"

// Event is one webhook event object, in the documented shape
// (CHANNELS.md §7; line/line-openapi webhook.yml).
type Event map[string]any

// crockford is the ULID alphabet of webhookEventId.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewWebhookEventID makes a ULID, the format of webhookEventId: 48 bits of
// milliseconds and 80 random bits in Crockford base32.
func NewWebhookEventID(at time.Time) string {
	var b [16]byte
	ms := uint64(at.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	// 128 bits as 26 base32 digits (the first carries 3 bits).
	out := make([]byte, 26)
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[i+8])
	}
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | (hi&31)<<59
		hi >>= 5
	}
	return string(out)
}

// NewMessageID makes a LINE message id: 18 decimal digits.
func NewMessageID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	n := binary.BigEndian.Uint64(b[:]) % 900_000_000_000_000_000
	return strconv.FormatUint(100_000_000_000_000_000+n, 10)
}

// NewReplyToken makes a reply token (32 hexadecimal digits).
func NewReplyToken() string { return randomHex(16) }

// NewUserID makes a LINE user id: "U" and 32 hexadecimal digits.
func NewUserID() string { return "U" + randomHex(16) }

// UserIDFor turns any name of a sandbox customer ("alice", "+15550001")
// into a LINE user id, the same every time; a LINE user id stays as it is.
// LINE refuses a push to anything else.
func UserIDFor(name string) string {
	if chatID.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "U" + hex.EncodeToString(sum[:16])
}

func base(kind string, src map[string]any, at time.Time) Event {
	return Event{"type": kind, "mode": "active", "timestamp": at.UnixMilli(), "source": src,
		"webhookEventId": NewWebhookEventID(at), "deliveryContext": map[string]any{"isRedelivery": false}}
}

// User is a one-to-one chat's source; Group a group chat's, with the
// member who wrote.
func User(userID string) map[string]any { return map[string]any{"type": "user", "userId": userID} }

// Group is the source of a group chat event.
func Group(groupID, userID string) map[string]any {
	s := map[string]any{"type": "group", "groupId": groupID}
	if userID != "" {
		s["userId"] = userID
	}
	return s
}

func message(src map[string]any, msg map[string]any, at time.Time) Event {
	ev := base("message", src, at)
	ev["replyToken"] = NewReplyToken()
	msg["quoteToken"] = randomHex(24)
	msg["markAsReadToken"] = randomHex(24)
	ev["message"] = msg
	return ev
}

// Text is a customer's text message.
func Text(userID, text string, at time.Time) Event {
	return TextFrom(User(userID), text, at)
}

// TextFrom is a text message from any source (User, Group).
func TextFrom(src map[string]any, text string, at time.Time) Event {
	return message(src, map[string]any{"id": NewMessageID(), "type": "text", "text": text}, at)
}

// Image is a customer's photo, hosted by LINE: its content is served at
// GET /v2/bot/message/{messageID}/content (AddContent).
func Image(userID, messageID string, at time.Time) Event {
	return message(User(userID), map[string]any{"id": messageID, "type": "image", "contentProvider": map[string]any{"type": "line"}}, at)
}

// File is a customer's file, hosted by LINE.
func File(userID, messageID, fileName string, size int, at time.Time) Event {
	return message(User(userID), map[string]any{"id": messageID, "type": "file", "fileName": fileName, "fileSize": size}, at)
}

// Sticker is a customer's sticker.
func Sticker(userID string, at time.Time) Event {
	return message(User(userID), map[string]any{"id": NewMessageID(), "type": "sticker", "packageId": "446", "stickerId": "1988",
		"stickerResourceType": "STATIC", "keywords": []string{"happy"}}, at)
}

// Location is a location the customer shared.
func Location(userID, title, address string, lat, lon float64, at time.Time) Event {
	return message(User(userID), map[string]any{"id": NewMessageID(), "type": "location", "title": title, "address": address,
		"latitude": lat, "longitude": lon}, at)
}

// Postback is a tap on a postback button: its data, and for a date or time
// picker the picked value in params ({"date"|"time"|"datetime": …}).
func Postback(userID, data string, params map[string]string, at time.Time) Event {
	ev := base("postback", User(userID), at)
	ev["replyToken"] = NewReplyToken()
	p := map[string]any{"data": data}
	if len(params) > 0 {
		p["params"] = params
	}
	ev["postback"] = p
	return ev
}

// Tap is a tap on one of Parley's answer buttons: a postback whose data is
// the option id, "|" and the label (what Parley's buttons carry).
func Tap(userID, choiceID, label string, at time.Time) Event {
	return Postback(userID, choiceID+"|"+label, nil, at)
}

// Follow is the customer adding the account as a friend (or unblocking it).
func Follow(userID string, unblocked bool, at time.Time) Event {
	ev := base("follow", User(userID), at)
	ev["replyToken"] = NewReplyToken()
	ev["follow"] = map[string]any{"isUnblocked": unblocked}
	return ev
}

// Unfollow is the customer blocking the account.
func Unfollow(userID string, at time.Time) Event { return base("unfollow", User(userID), at) }

// Unsend is the customer unsending a message.
func Unsend(userID, messageID string, at time.Time) Event {
	ev := base("unsend", User(userID), at)
	ev["unsend"] = map[string]any{"messageId": messageID}
	return ev
}

// Redelivered marks an event as LINE's redelivery of an undelivered
// webhook: the same webhookEventId, isRedelivery true.
func Redelivered(ev Event) Event {
	c := Event{}
	for k, v := range ev {
		c[k] = v
	}
	c["deliveryContext"] = map[string]any{"isRedelivery": true}
	return c
}

// Payload is a webhook body: {"destination": bot user id, "events": […]}.
// No events is the body of the console's "Verify" button.
func Payload(destination string, events ...Event) []byte {
	if events == nil {
		events = []Event{}
	}
	b, _ := json.Marshal(map[string]any{"destination": destination, "events": events})
	return b
}

// Sign is x-line-signature: base64(HMAC-SHA256(channel secret, body)).
func Sign(channelSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(channelSecret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SendWebhook posts a body to url signed like LINE (x-line-signature,
// LINE's User-Agent). The caller closes the response body.
func SendWebhook(url, channelSecret string, body []byte) (*http.Response, error) {
	return sendWebhook(&http.Client{Timeout: 30 * time.Second}, url, channelSecret, body)
}

func sendWebhook(client *http.Client, url, channelSecret string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "LineBotWebhook/2.0")
	req.Header.Set(SignatureHeader, Sign(channelSecret, body))
	return client.Do(req)
}

// Payload is a webhook body for this fake's bot.
func (s *Server) Payload(events ...Event) []byte { return Payload(s.opts.BotUserID, events...) }

// RegisterTokens makes the fake honour the reply and markAsRead tokens of
// a webhook body as if it had sent it now (SendWebhook does it too), and
// applies its follow and unfollow events to Block.
func (s *Server) RegisterTokens(body []byte) {
	var env struct {
		Events []struct {
			Type       string `json:"type"`
			ReplyToken string `json:"replyToken"`
			Source     struct {
				Type    string `json:"type"`
				UserID  string `json:"userId"`
				GroupID string `json:"groupId"`
				RoomID  string `json:"roomId"`
			} `json:"source"`
			Message *struct {
				MarkAsReadToken string `json:"markAsReadToken"`
			} `json:"message"`
		} `json:"events"`
	}
	if json.Unmarshal(body, &env) != nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range env.Events {
		chat := ev.Source.UserID
		switch ev.Source.Type {
		case "group":
			chat = ev.Source.GroupID
		case "room":
			chat = ev.Source.RoomID
		}
		if ev.ReplyToken != "" {
			s.replyToks[ev.ReplyToken] = &replyToken{chat: chat, issued: now}
		}
		if ev.Message != nil && ev.Message.MarkAsReadToken != "" {
			s.readToks[ev.Message.MarkAsReadToken] = true
		}
		switch ev.Type {
		case "unfollow":
			s.blocked[ev.Source.UserID] = true
		case "follow":
			delete(s.blocked, ev.Source.UserID)
		}
	}
}

// SendWebhook registers the body's tokens (RegisterTokens) and posts it
// to url signed with channelSecret, as LINE does.
func (s *Server) SendWebhook(url, channelSecret string, body []byte) (*http.Response, error) {
	s.RegisterTokens(body)
	return sendWebhook(s.client, url, channelSecret, body)
}

// Image builds a photo from a customer and serves its bytes as the
// message's content.
func (s *Server) Image(userID, mimeType string, data []byte) Event {
	id := NewMessageID()
	s.AddContent(id, mimeType, data)
	return Image(userID, id, s.now())
}

// Says delivers "customer userID says text" to a webhook URL: a signed
// text message event (the sandbox's customer; userID goes through
// UserIDFor). LINE webhooks carry no display name.
func (s *Server) Says(url, channelSecret, userID, text string) (*http.Response, error) {
	return s.SendWebhook(url, channelSecret, s.Payload(Text(UserIDFor(userID), text, s.now())))
}

// Taps delivers "customer userID taps choiceID" (labelled label, the text
// their chat shows) as the postback of one of Parley's buttons.
func (s *Server) Taps(url, channelSecret, userID, choiceID, label string) (*http.Response, error) {
	if strings.TrimSpace(label) == "" {
		label = choiceID
	}
	return s.SendWebhook(url, channelSecret, s.Payload(Tap(UserIDFor(userID), choiceID, label, s.now())))
}

// DeliverSigned is the sandbox's "customer from (name) says text", or
// "taps choiceID" when choiceID is set (text then being the label they
// saw), delivered to webhookURL signed with channelSecret; it returns
// Parley's answer. LINE webhooks carry no display name, so name is unused;
// from goes through UserIDFor. The signature matches the sandbox's
// deliver.
func (s *Server) DeliverSigned(webhookURL, channelSecret, from, name, text, choiceID string, at time.Time) (status int, body string, err error) {
	if at.IsZero() {
		at = s.now()
	}
	ev := Text(UserIDFor(from), text, at)
	if choiceID != "" {
		label := text
		if strings.TrimSpace(label) == "" {
			label = choiceID
		}
		ev = Tap(UserIDFor(from), choiceID, label, at)
	}
	resp, err := s.SendWebhook(webhookURL, channelSecret, s.Payload(ev))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
