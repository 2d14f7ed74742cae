package fake

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Message is one delivery's body as the gateway posts it.
type Message map[string]any

// ID is the message's id.
func (m Message) ID() string { s, _ := m["id"].(string); return s }

// Attachment is the attachment dictionary of a customer's file: encrypted
// in the gateway's media store, with its single-use key ("00" + hex).
type Attachment struct {
	Name      string `json:"name"`
	MimeType  string `json:"mimeType"`
	Size      string `json:"size"`
	Key       string `json:"key"`
	URL       string `json:"url"`
	Owner     string `json:"owner"`
	Signature string `json:"signature"` // hex, as attachments carry it
}

// AddAttachment encrypts a customer's file into the media store and
// returns its dictionary, to put on a Text message.
func (s *Server) AddAttachment(name, mimeType string, data []byte) (Attachment, error) {
	enc, key, err := encrypt(data)
	if err != nil {
		return Attachment{}, err
	}
	f := s.store(enc)
	return Attachment{Name: name, MimeType: mimeType, Size: strconv.Itoa(len(enc)), Key: "00" + strings.ToUpper(hex.EncodeToString(key)),
		URL: f.url, Owner: f.owner, Signature: strings.ToUpper(hex.EncodeToString(f.signature))}, nil
}

// DataRef is an interactiveDataRef: a large interactive reply stored like
// an attachment.
type DataRef struct {
	BID             string `json:"bid"`
	Key             string `json:"key"`
	Owner           string `json:"owner"`
	URL             string `json:"url"`
	Size            string `json:"size"`
	SignatureBase64 string `json:"signature-base64"`
	Title           string `json:"title,omitempty"`
}

// AddDataRef stores an interactive reply's data as the gateway does for a
// large one, for InteractiveByRef.
func (s *Server) AddDataRef(interactiveData any) (DataRef, error) {
	plain, err := json.Marshal(interactiveData)
	if err != nil {
		return DataRef{}, err
	}
	enc, key, err := encrypt(plain)
	if err != nil {
		return DataRef{}, err
	}
	f := s.store(enc)
	return DataRef{BID: AppleBID, Key: "00" + hex.EncodeToString(key), Owner: f.owner, URL: f.url, Size: strconv.Itoa(len(enc)),
		SignatureBase64: base64.StdEncoding.EncodeToString(f.signature)}, nil
}

// NewMessageID makes a message id in the gateway's style (a UUID).
func NewMessageID() string { return strings.ToUpper(uuid.NewString()) }

func base(id, kind, from, to string) Message {
	return Message{"v": 1, "id": id, "type": kind, "sourceId": from, "destinationId": to}
}

// Text is a customer's text message, with attachments (one U+FFFC per file
// in the body, as the device writes it).
func Text(id, from, to, body string, attachments ...Attachment) Message {
	m := base(id, "text", from, to)
	m["locale"] = "en_US"
	m["body"] = body + strings.Repeat("\uFFFC", len(attachments))
	if len(attachments) > 0 {
		m["attachments"] = attachments
	}
	return m
}

// Interactive is a customer's answer to an interactive message;
// interactiveData is built by ListPickerReply, TimePickerReply,
// QuickReplyReply or FormReply (or is an app extension's own).
func Interactive(id, from, to string, interactiveData any) Message {
	m := base(id, "interactive", from, to)
	m["locale"] = "en_US"
	m["interactiveData"] = interactiveData
	return m
}

// InteractiveByRef is a large interactive answer delivered by reference.
func InteractiveByRef(id, from, to string, ref DataRef) Message {
	m := base(id, "interactive", from, to)
	m["interactiveDataRef"] = ref
	return m
}

// Close is the customer closing (deleting) the conversation.
func Close(id, from, to string) Message { return base(id, "close", from, to) }

// TypingStart is the customer typing.
func TypingStart(id, from, to string) Message { return base(id, "typing_start", from, to) }

// TypingEnd is the customer clearing what they were typing.
func TypingEnd(id, from, to string) Message { return base(id, "typing_end", from, to) }

// Item is a picked list item or quick reply.
type Item struct {
	Identifier string `json:"identifier"`
	Title      string `json:"title"`
}

func replyData(requestID string, data map[string]any) map[string]any {
	data["version"] = "1.0"
	data["requestIdentifier"] = requestID
	return map[string]any{"bid": AppleBID, "data": data, "replyMessage": map[string]any{"title": "Your answer", "style": "icon"}}
}

// ListPickerReply is the answer to a list picker: the items picked.
func ListPickerReply(requestID string, picked ...Item) map[string]any {
	items := make([]map[string]any, 0, len(picked))
	for i, it := range picked {
		items = append(items, map[string]any{"identifier": it.Identifier, "title": it.Title, "order": i, "style": "default"})
	}
	return replyData(requestID, map[string]any{"listPicker": map[string]any{"sections": []any{
		map[string]any{"order": 0, "multipleSelection": len(picked) > 1, "items": items}}}})
}

// Slot is a chosen time slot.
type Slot struct {
	Identifier string `json:"identifier"`
	StartTime  string `json:"startTime"` // 2026-05-26T08:27+0000
	Duration   int    `json:"duration"`  // seconds
}

// TimePickerReply is the answer to a time picker: the slot chosen, in the
// event eventID, with its zone (minutes east of UTC).
func TimePickerReply(requestID, eventID string, slot Slot, timezoneOffset int) map[string]any {
	return replyData(requestID, map[string]any{"event": map[string]any{"identifier": eventID,
		"timeslots": []any{slot}, "timezoneOffset": timezoneOffset}})
}

// QuickReplyReply is the answer to a quick reply: the index of the item
// tapped and, when not empty, its identifier.
func QuickReplyReply(requestID string, index int, identifier string) map[string]any {
	qr := map[string]any{"selectedIndex": index}
	if identifier != "" {
		qr["selectedIdentifier"] = identifier
	}
	return replyData(requestID, map[string]any{"quick-reply": qr})
}

// FormPage is one answered page of a form.
type FormPage struct {
	PageIdentifier string     `json:"pageIdentifier"`
	Title          string     `json:"title"`
	Items          []FormItem `json:"items"`
}

// FormItem is one answer of a page: a typed value, or a chosen item.
type FormItem struct {
	Identifier string `json:"identifier,omitempty"`
	Title      string `json:"title,omitempty"`
	Value      string `json:"value"`
}

// FormReply is a submitted form.
func FormReply(requestID string, pages ...FormPage) map[string]any {
	return replyData(requestID, map[string]any{"dynamic": map[string]any{"template": "messageForms", "selections": pages}})
}

// Delivery is one POST of the gateway to a business.
type Delivery struct {
	Message Message
	// Capabilities is the capability-list header ("" leaves it out).
	Capabilities string
	// Plain sends the body uncompressed (the gateway gzips it).
	Plain bool
	// DeviceAgent is the device-agent header (default "iPhone OS").
	DeviceAgent string
	// Token replaces the signed Authorization token (tests of bad ones).
	Token string
}

// Token signs the JWT the gateway presents: HS256 with the decoded MSP
// secret, audience the MSP id, issued at iat.
func Token(mspID, secret string, iat time.Time) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": mspID, "iat": iat.Unix()}).SignedString(key)
}

// NewWebhookRequest builds the gateway's POST of a delivery to target,
// signed with the MSP id and secret at time at, and returns the raw body
// sent (gzip unless Plain).
func NewWebhookRequest(target, mspID, secret string, d Delivery, at time.Time) (*http.Request, []byte, error) {
	plain, err := json.Marshal(d.Message)
	if err != nil {
		return nil, nil, err
	}
	body := plain
	if !d.Plain {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(plain); err != nil {
			return nil, nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, nil, err
		}
		body = b.Bytes()
	}
	token := d.Token
	if token == "" {
		if token, err = Token(mspID, secret, at); err != nil {
			return nil, nil, err
		}
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	str := func(k string) string { s, _ := d.Message[k].(string); return s }
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if !d.Plain {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("Id", str("id"))
	req.Header.Set("Source-Id", str("sourceId"))
	req.Header.Set("Destination-Id", str("destinationId"))
	if d.Capabilities != "" {
		req.Header.Set("Capability-List", d.Capabilities)
	}
	agent := d.DeviceAgent
	if agent == "" {
		agent = "iPhone OS"
	}
	req.Header.Set("Device-Agent", agent)
	return req, body, nil
}

// SendWebhook posts a delivery to a business's webhook URL.
func SendWebhook(target, mspID, secret string, d Delivery, at time.Time) (*http.Response, error) {
	req, _, err := NewWebhookRequest(target, mspID, secret, d, at)
	if err != nil {
		return nil, err
	}
	return (&http.Client{Timeout: 30 * time.Second}).Do(req)
}

// Deliver posts a customer's message to webhookURL signed with the fake's
// MSP credentials, with its capability list, compressed unless
// Options.PlainWebhooks.
func (s *Server) Deliver(webhookURL string, m Message) (status int, body string, err error) {
	resp, err := SendWebhook(webhookURL, s.opts.MSPID, s.opts.Secret,
		Delivery{Message: m, Capabilities: s.opts.Capabilities, Plain: s.opts.PlainWebhooks}, s.opts.Now())
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// Say delivers "customer <from> says <text>".
func (s *Server) Say(webhookURL, from, text string) (int, string, error) {
	return s.Deliver(webhookURL, Text(NewMessageID(), from, s.opts.BusinessID, text))
}

// Tap delivers "customer <from> taps <choiceID>": the answer to the latest
// interactive message sent to the customer that offers that option (a
// quick reply, list item — several joined by commas — or time slot).
func (s *Server) Tap(webhookURL, from, choiceID string) (int, string, error) {
	m, err := s.TapReply(from, choiceID)
	if err != nil {
		return 0, "", err
	}
	return s.Deliver(webhookURL, m)
}

// CloseChat delivers the customer closing the conversation.
func (s *Server) CloseChat(webhookURL, from string) (int, string, error) {
	return s.Deliver(webhookURL, Close(NewMessageID(), from, s.opts.BusinessID))
}

// TapReply builds (without sending) the message a tap on choiceID answers
// with, as the customer's device would.
func (s *Server) TapReply(from, choiceID string) (Message, error) {
	received := s.Received(from)
	want := strings.Split(choiceID, ",")
	for i := len(received) - 1; i >= 0; i-- {
		var m struct {
			InteractiveData struct {
				BID  string `json:"bid"`
				Data struct {
					RequestIdentifier string `json:"requestIdentifier"`
					QuickReply        *struct {
						Items []Item `json:"items"`
					} `json:"quick-reply"`
					ListPicker *struct {
						Sections []struct {
							Items []Item `json:"items"`
						} `json:"sections"`
					} `json:"listPicker"`
					Event *struct {
						Identifier     string `json:"identifier"`
						Timeslots      []Slot `json:"timeslots"`
						TimezoneOffset int    `json:"timezoneOffset"`
					} `json:"event"`
				} `json:"data"`
			} `json:"interactiveData"`
		}
		if json.Unmarshal(received[i], &m) != nil || m.InteractiveData.BID != AppleBID {
			continue
		}
		d := m.InteractiveData.Data
		id := NewMessageID()
		switch {
		case d.QuickReply != nil && len(want) == 1:
			for idx, it := range d.QuickReply.Items {
				if it.Identifier == choiceID {
					return Interactive(id, from, s.opts.BusinessID, QuickReplyReply(d.RequestIdentifier, idx, it.Identifier)), nil
				}
			}
		case d.ListPicker != nil:
			var picked []Item
			for _, w := range want {
				for _, sec := range d.ListPicker.Sections {
					for _, it := range sec.Items {
						if it.Identifier == w {
							picked = append(picked, it)
						}
					}
				}
			}
			if len(picked) == len(want) {
				return Interactive(id, from, s.opts.BusinessID, ListPickerReply(d.RequestIdentifier, picked...)), nil
			}
		case d.Event != nil && len(want) == 1:
			for _, slot := range d.Event.Timeslots {
				if slot.Identifier == choiceID {
					return Interactive(id, from, s.opts.BusinessID, TimePickerReply(d.RequestIdentifier, d.Event.Identifier, slot, d.Event.TimezoneOffset)), nil
				}
			}
		}
	}
	return nil, fmt.Errorf("fake: no interactive message sent to %s offers %q", from, choiceID)
}
