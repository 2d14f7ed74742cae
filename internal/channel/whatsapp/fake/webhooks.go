package fake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/channel/meta"
)

// Business is the receiving side of a webhook: the business account and
// the number the customer wrote to.
type Business struct {
	WABAID             string
	PhoneNumberID      string
	DisplayPhoneNumber string
}

// Customer is who writes. WaID is the phone-number id (also "from");
// UserID is Meta's business-scoped user id (2026), set alone for a
// customer who exposes no phone number.
type Customer struct {
	WaID   string
	UserID string
	Name   string
}

// Item is one element of a change's messages[] or statuses[].
type Item struct {
	customer *Customer
	message  map[string]any
	status   map[string]any
}

func ts(at time.Time) string {
	if at.IsZero() {
		at = time.Now()
	}
	return strconv.FormatInt(at.Unix(), 10)
}

// Message builds a message of any type: object is what goes under the
// type's key (nil for none).
func Message(c Customer, wamid, kind string, object any, at time.Time) Item {
	m := map[string]any{"id": wamid, "timestamp": ts(at), "type": kind}
	if c.WaID != "" {
		m["from"] = c.WaID
	}
	if object != nil {
		m[kind] = object
	}
	return Item{customer: &c, message: m}
}

// Text is a text message.
func Text(c Customer, wamid, body string, at time.Time) Item {
	return Message(c, wamid, "text", map[string]any{"body": body}, at)
}

// Media is an image, video, audio or sticker message (mime type, sha256 and
// media id; a caption when not empty).
func Media(c Customer, wamid, kind, mediaID, mimeType, caption string, at time.Time) Item {
	o := map[string]any{"id": mediaID, "mime_type": mimeType, "sha256": "Ck3rB+Hg8QkS3Gl2rW7yEqYZcRWVM1XQfD8hRk1hzZ0="}
	if caption != "" {
		o["caption"] = caption
	}
	if kind == "audio" {
		o["voice"] = false
	}
	if kind == "sticker" {
		o["animated"] = false
	}
	return Message(c, wamid, kind, o, at)
}

// Image is an image message.
func Image(c Customer, wamid, mediaID, mimeType, caption string, at time.Time) Item {
	return Media(c, wamid, "image", mediaID, mimeType, caption, at)
}

// Document is a document message with its file name.
func Document(c Customer, wamid, mediaID, mimeType, filename, caption string, at time.Time) Item {
	it := Media(c, wamid, "document", mediaID, mimeType, caption, at)
	it.message["document"].(map[string]any)["filename"] = filename
	return it
}

// Location is a shared location (name and address may be empty).
func Location(c Customer, wamid string, lat, long float64, name, address string, at time.Time) Item {
	o := map[string]any{"latitude": lat, "longitude": long}
	if name != "" {
		o["name"] = name
	}
	if address != "" {
		o["address"] = address
	}
	return Message(c, wamid, "location", o, at)
}

// SharedContact is a contact card with one phone number.
func SharedContact(c Customer, wamid, formattedName, phone string, at time.Time) Item {
	card := map[string]any{
		"name":   map[string]any{"formatted_name": formattedName, "first_name": formattedName},
		"phones": []any{map[string]any{"phone": phone, "type": "CELL"}},
	}
	return Message(c, wamid, "contacts", []any{card}, at)
}

// ButtonReply is a tap on a reply button of the message replyTo.
func ButtonReply(c Customer, wamid, replyTo, id, title string, at time.Time) Item {
	return Message(c, wamid, "interactive", map[string]any{"type": "button_reply",
		"button_reply": map[string]any{"id": id, "title": title}}, at).Quoting(replyTo)
}

// ListReply is a row picked in the list message replyTo.
func ListReply(c Customer, wamid, replyTo, id, title, description string, at time.Time) Item {
	row := map[string]any{"id": id, "title": title}
	if description != "" {
		row["description"] = description
	}
	return Message(c, wamid, "interactive", map[string]any{"type": "list_reply", "list_reply": row}, at).Quoting(replyTo)
}

// TemplateButton is a tap on a quick-reply button of the template message replyTo.
func TemplateButton(c Customer, wamid, replyTo, payload, text string, at time.Time) Item {
	return Message(c, wamid, "button", map[string]any{"payload": payload, "text": text}, at).Quoting(replyTo)
}

// Reaction is an emoji reaction to messageID; an empty emoji takes it back.
func Reaction(c Customer, wamid, messageID, emoji string, at time.Time) Item {
	return Message(c, wamid, "reaction", map[string]any{"message_id": messageID, "emoji": emoji}, at)
}

// Unsupported is what the platform sends for a message type the Cloud API
// does not support.
func Unsupported(c Customer, wamid string, at time.Time) Item {
	it := Message(c, wamid, "unsupported", nil, at)
	it.message["errors"] = []any{map[string]any{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
		"error_data": map[string]any{"details": "Message type is currently not supported."}}}
	return it
}

// Quoting makes the message a quoted reply to wamid (its "context").
func (it Item) Quoting(wamid string) Item {
	if it.message == nil || wamid == "" {
		return it
	}
	m := make(map[string]any, len(it.message)+1)
	for k, v := range it.message {
		m[k] = v
	}
	m["context"] = map[string]any{"from": DefaultDisplayPhoneNumber, "id": wamid}
	it.message = m
	return it
}

// Status is a receipt of an outbound message: sent, delivered or read.
func Status(wamid, status, recipient string, at time.Time) Item {
	st := map[string]any{"id": wamid, "status": status, "timestamp": ts(at), "recipient_id": recipient}
	if status != "read" {
		st["conversation"] = map[string]any{"id": "CONVERSATION_ID", "origin": map[string]any{"type": "service"}}
		st["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "service"}
	}
	return Item{status: st}
}

// Delivered is a delivery receipt.
func Delivered(wamid, recipient string, at time.Time) Item {
	return Status(wamid, "delivered", recipient, at)
}

// Read is a read receipt.
func Read(wamid, recipient string, at time.Time) Item { return Status(wamid, "read", recipient, at) }

// Failed is a failure receipt with the platform's error.
func Failed(wamid, recipient string, code int, title, details string, at time.Time) Item {
	st := map[string]any{"id": wamid, "status": "failed", "timestamp": ts(at), "recipient_id": recipient,
		"errors": []any{map[string]any{"code": code, "title": title, "message": title, "error_data": map[string]any{"details": details},
			"href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}}
	return Item{status: st}
}

// Change is one element of an entry's changes[].
type Change map[string]any

// Entry is one element of the envelope's entry[].
type Entry map[string]any

// Change builds a change of field "messages" to this number: its contacts
// (one per customer, in order of appearance), messages and statuses.
func (b Business) Change(items ...Item) Change {
	value := map[string]any{"messaging_product": "whatsapp",
		"metadata": map[string]any{"display_phone_number": b.DisplayPhoneNumber, "phone_number_id": b.PhoneNumberID}}
	var contacts, messages, statuses []any
	seen := map[Customer]bool{}
	for _, it := range items {
		if it.message != nil {
			messages = append(messages, it.message)
			if c := *it.customer; !seen[c] {
				seen[c] = true
				contact := map[string]any{"profile": map[string]any{"name": c.Name}}
				if c.WaID != "" {
					contact["wa_id"] = c.WaID
				}
				if c.UserID != "" {
					contact["user_id"] = c.UserID
				}
				contacts = append(contacts, contact)
			}
		}
		if it.status != nil {
			statuses = append(statuses, it.status)
		}
	}
	if len(contacts) > 0 {
		value["contacts"] = contacts
	}
	if len(messages) > 0 {
		value["messages"] = messages
	}
	if len(statuses) > 0 {
		value["statuses"] = statuses
	}
	return Change{"field": "messages", "value": value}
}

// Entry builds an entry of this business account.
func (b Business) Entry(changes ...Change) Entry {
	cs := make([]any, len(changes))
	for i, c := range changes {
		cs[i] = c
	}
	return Entry{"id": b.WABAID, "changes": cs}
}

// Webhook is a whole delivery with one entry and one change.
func (b Business) Webhook(items ...Item) []byte { return Payload(b.Entry(b.Change(items...))) }

// Payload is a whole delivery of several entries.
func Payload(entries ...Entry) []byte {
	es := make([]any, len(entries))
	for i, e := range entries {
		es[i] = e
	}
	out, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": es})
	return out
}

// SendWebhook posts a delivery to Parley's webhook URL signed with
// X-Hub-Signature-256 as Meta does (an empty appSecret sends it unsigned).
func SendWebhook(url, appSecret string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	if appSecret != "" {
		req.Header.Set("X-Hub-Signature-256", meta.Sign(appSecret, payload))
	}
	return (&http.Client{Timeout: 30 * time.Second}).Do(req)
}

// SendWebhook is the package's SendWebhook (for callers holding a Server).
func (s *Server) SendWebhook(url, appSecret string, payload []byte) (*http.Response, error) {
	return SendWebhook(url, appSecret, payload)
}
