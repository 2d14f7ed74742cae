package fake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SignatureHeader carries the callback signature.
const SignatureHeader = "X-Viber-Content-Signature"

// Event is one callback in its documented shape (REST bot API,
// "Callbacks"); message tokens are JSON numbers.
type Event map[string]any

// JSON encodes the callback.
func (e Event) JSON() []byte {
	b, _ := json.Marshal(map[string]any(e))
	return b
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// number writes a decimal token as a JSON number (never through float64).
func number(token string) json.Number { return json.Number(token) }

func userObject(c Customer) map[string]any {
	v := c.APIVersion
	if v == 0 {
		v = DefaultAPIVersion
	}
	u := map[string]any{"id": c.ID, "name": c.Name, "api_version": v}
	if c.Avatar != "" {
		u["avatar"] = c.Avatar
	}
	if c.Country != "" {
		u["country"] = c.Country
	}
	if c.Language != "" {
		u["language"] = c.Language
	}
	return u
}

func messageEvent(c Customer, token string, message map[string]any, at time.Time) Event {
	return Event{"event": "message", "timestamp": ms(at), "chat_hostname": "SN-CALLBACK-16_", "message_token": number(token),
		"sender": userObject(c), "message": message, "silent": false}
}

// TextMessage is a customer's text message; tracking is the tracking_data
// Viber echoes from the last message the bot sent ("" for none).
func TextMessage(c Customer, token, text, tracking string, at time.Time) Event {
	m := map[string]any{"type": "text", "text": text}
	if tracking != "" {
		m["tracking_data"] = tracking
	}
	return messageEvent(c, token, m, at)
}

// PictureMessage is a photo with an optional caption.
func PictureMessage(c Customer, token, mediaURL, caption string, at time.Time) Event {
	m := map[string]any{"type": "picture", "media": mediaURL, "thumbnail": mediaURL, "file_name": "photo.jpg", "size": 68734}
	if caption != "" {
		m["text"] = caption
	}
	return messageEvent(c, token, m, at)
}

// FileMessage is a document.
func FileMessage(c Customer, token, mediaURL, fileName string, size int64, at time.Time) Event {
	return messageEvent(c, token, map[string]any{"type": "file", "media": mediaURL, "file_name": fileName, "size": size}, at)
}

// StickerMessage is a sticker (its image at mediaURL).
func StickerMessage(c Customer, token string, stickerID int64, mediaURL string, at time.Time) Event {
	return messageEvent(c, token, map[string]any{"type": "sticker", "sticker_id": stickerID, "media": mediaURL}, at)
}

// LocationMessage is a shared location.
func LocationMessage(c Customer, token string, lat, lon float64, at time.Time) Event {
	return messageEvent(c, token, map[string]any{"type": "location", "location": map[string]any{"lat": lat, "lon": lon}}, at)
}

// ContactMessage is a shared contact card.
func ContactMessage(c Customer, token, name, phone string, at time.Time) Event {
	return messageEvent(c, token, map[string]any{"type": "contact", "contact": map[string]any{"name": name, "phone_number": phone}}, at)
}

func receipt(event, userID, token string, at time.Time) Event {
	return Event{"event": event, "timestamp": ms(at), "chat_hostname": "SN-CALLBACK-16_", "message_token": number(token), "user_id": userID}
}

// Delivered is the receipt of a message that reached the user's device.
func Delivered(userID, token string, at time.Time) Event {
	return receipt("delivered", userID, token, at)
}

// Seen is the receipt of a message the user read.
func Seen(userID, token string, at time.Time) Event { return receipt("seen", userID, token, at) }

// Failed is the receipt of a message Viber could not deliver.
func Failed(userID, token, desc string, at time.Time) Event {
	e := receipt("failed", userID, token, at)
	e["desc"] = desc
	return e
}

// Subscribed is a user subscribing to the bot.
func Subscribed(c Customer, token string, at time.Time) Event {
	return Event{"event": "subscribed", "timestamp": ms(at), "chat_hostname": "SN-CALLBACK-16_", "message_token": number(token), "user": userObject(c)}
}

// Unsubscribed is a user leaving the bot.
func Unsubscribed(userID, token string, at time.Time) Event {
	return Event{"event": "unsubscribed", "timestamp": ms(at), "chat_hostname": "SN-CALLBACK-16_", "message_token": number(token), "user_id": userID}
}

// ConversationStarted is a user opening the conversation with the bot.
func ConversationStarted(c Customer, token string, subscribed bool, at time.Time) Event {
	return Event{"event": "conversation_started", "timestamp": ms(at), "chat_hostname": "SN-CALLBACK-16_", "message_token": number(token),
		"type": "open", "context": "", "user": userObject(c), "subscribed": subscribed}
}

// WebhookCheck is the callback set_webhook posts to check the URL.
func WebhookCheck(token string, at time.Time) Event {
	return Event{"event": "webhook", "timestamp": ms(at), "chat_hostname": "SN-CALLBACK-16_", "message_token": number(token)}
}

// Sign is the X-Viber-Content-Signature of a body: lowercase hex
// HMAC-SHA256 of the raw bytes keyed with the bot's auth token.
func Sign(authToken string, body []byte) string {
	m := hmac.New(sha256.New, []byte(authToken))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// SendWebhook posts a callback to url signed like Viber, with a 10-second
// client. The caller closes the response body.
func SendWebhook(url, authToken string, payload []byte) (*http.Response, error) {
	return SendWebhookWith(&http.Client{Timeout: 10 * time.Second}, url, authToken, payload)
}

// SendWebhookWith is SendWebhook with a given client.
func SendWebhookWith(client *http.Client, url, authToken string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(authToken, payload))
	return client.Do(req)
}

// SendWebhook posts a callback signed with the fake's auth token.
func (s *Server) SendWebhook(url string, payload []byte) (*http.Response, error) {
	return SendWebhookWith(s.opts.Client, url, s.opts.AuthToken, payload)
}

// NextInboundToken is a fresh message_token for a callback.
func (s *Server) NextInboundToken() string { return s.nextInboundToken() }

// customerWrites subscribes the customer (writing to a bot subscribes) and
// returns the tracking_data Viber would echo with their message.
func (s *Server) customerWrites(c Customer) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(c.ID)
	u.subscribed, u.unsubscribed = true, false
	if c.APIVersion > 0 {
		u.apiVersion = c.APIVersion
	}
	return u.tracking
}

// Says is the callback of a customer's text as Viber posts it: a fresh
// message_token, the tracking_data of the last message sent to them, and
// the customer subscribed from then on.
func (s *Server) Says(c Customer, text string, at time.Time) []byte {
	tracking := s.customerWrites(c)
	return TextMessage(c, s.nextInboundToken(), text, tracking, at).JSON()
}

// SendsPicture is the callback of a customer's photo (served by the fake
// at mediaURL, e.g. MediaURL("photo.jpg")).
func (s *Server) SendsPicture(c Customer, mediaURL, caption string, at time.Time) []byte {
	s.customerWrites(c)
	return PictureMessage(c, s.nextInboundToken(), mediaURL, caption, at).JSON()
}

// Taps is the callback of a customer tapping a reply button of the last
// keyboard or rich_media sent to them: a text message whose text is the
// button's ActionBody. The button is the one whose option is choiceID in
// Parley's tracking_data ("parley:choices:" and a JSON object from
// ActionBody to option id, the adapter's convention), else one whose
// ActionBody or label is choiceID.
func (s *Server) Taps(c Customer, choiceID string, at time.Time) ([]byte, error) {
	body, ok := s.buttonFor(c.ID, choiceID)
	if !ok {
		return nil, fmt.Errorf("no reply button for %q in the last keyboard or rich_media sent to %s", choiceID, c.ID)
	}
	tracking := s.customerWrites(c)
	return TextMessage(c, s.nextInboundToken(), body, tracking, at).JSON(), nil
}

// parleyChoices is the prefix of the tracking_data Parley's adapter writes.
const parleyChoices = "parley:choices:"

func (s *Server) buttonFor(userID, choiceID string) (string, bool) {
	msgs := s.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Receiver != userID {
			continue
		}
		var req sendRequest
		if json.Unmarshal(msgs[i].Body, &req) != nil {
			continue
		}
		var buttons []buttonShape
		for _, g := range []*buttonGroup{req.Keyboard, req.RichMedia} {
			if g != nil {
				buttons = append(buttons, g.Buttons...)
			}
		}
		if len(buttons) == 0 {
			continue
		}
		var choices map[string]string
		if req.TrackingData != nil {
			if rest, ok := strings.CutPrefix(*req.TrackingData, parleyChoices); ok {
				_ = json.Unmarshal([]byte(rest), &choices)
			}
		}
		for _, b := range buttons {
			if b.ActionBody == nil || (b.ActionType != "" && b.ActionType != "reply") {
				continue
			}
			if id, ok := choices[*b.ActionBody]; ok && id == choiceID {
				return *b.ActionBody, true
			}
		}
		for _, b := range buttons {
			if b.ActionBody != nil && (b.ActionType == "" || b.ActionType == "reply") && (*b.ActionBody == choiceID || b.Text == choiceID) {
				return *b.ActionBody, true
			}
		}
		return "", false
	}
	return "", false
}

// Deliver plays the customer for the sandbox: "customer <c> says <text>",
// or, with a choiceID, "taps the button of that option" (falling back to
// typing text when no button matches), posted signed to webhookURL.
func (s *Server) Deliver(webhookURL string, c Customer, text, choiceID string, at time.Time) (*http.Response, error) {
	payload, err := s.customerPayload(c, text, choiceID, at)
	if err != nil {
		return nil, err
	}
	return s.SendWebhook(webhookURL, payload)
}

// customerPayload is a tap on choiceID's button when there is one, else
// the text (or the choice typed).
func (s *Server) customerPayload(c Customer, text, choiceID string, at time.Time) ([]byte, error) {
	if c.ID == "" {
		return nil, errors.New("a customer id is required")
	}
	if choiceID != "" {
		if p, err := s.Taps(c, choiceID, at); err == nil {
			return p, nil
		}
	}
	if text == "" {
		text = choiceID
	}
	return s.Says(c, text, at), nil
}

// DeliverSigned is Deliver in the sandbox's shape: the customer by id and
// name, the callback signed with authToken (the point of contact's
// credentials.auth_token, normally Options().AuthToken), and Parley's
// answer read back.
func (s *Server) DeliverSigned(webhookURL, authToken, from, name, text, choiceID string, at time.Time) (status int, body string, err error) {
	payload, err := s.customerPayload(Customer{ID: from, Name: name}, text, choiceID, at)
	if err != nil {
		return 0, "", err
	}
	resp, err := SendWebhookWith(s.opts.Client, webhookURL, authToken, payload)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// Receipt builds the delivered, seen or failed callback of an accepted
// message, for its receiver.
func (s *Server) Receipt(event, token, desc string, at time.Time) ([]byte, error) {
	for _, m := range s.Messages() {
		if m.Token != token {
			continue
		}
		switch event {
		case "delivered":
			return Delivered(m.Receiver, token, at).JSON(), nil
		case "seen":
			return Seen(m.Receiver, token, at).JSON(), nil
		case "failed":
			return Failed(m.Receiver, token, desc, at).JSON(), nil
		}
		return nil, fmt.Errorf("unknown receipt %q (delivered, seen or failed)", event)
	}
	return nil, errors.New("no message with token " + token)
}

// DeliverReceipt posts a receipt of an accepted message to the webhook
// set_webhook registered.
func (s *Server) DeliverReceipt(event, token, desc string, at time.Time) (*http.Response, error) {
	hook := s.WebhookURL()
	if hook == "" {
		return nil, errors.New("no webhook is set")
	}
	payload, err := s.Receipt(event, token, desc, at)
	if err != nil {
		return nil, err
	}
	return s.SendWebhook(hook, payload)
}
