package fake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// Customer is who writes: a conversation (Business Messages' only id for
// a customer) and the name the customer shows.
type Customer struct {
	ConversationID string
	DisplayName    string
}

// Event is one webhook delivery's content (a message, a suggestion tap, a
// receipt, a user status); Payload wraps it in the delivery envelope.
type Event struct {
	key   string
	value map[string]any
	// requestID, when set, is the delivery's requestId.
	requestID string
}

func ts(at time.Time) string {
	if at.IsZero() {
		at = time.Now()
	}
	return at.UTC().Format(time.RFC3339Nano)
}

// Text is a customer's text message.
func Text(c Customer, messageID, text string, at time.Time) Event {
	return Event{key: "message", value: map[string]any{"messageId": messageID, "name": "conversations/" + c.ConversationID + "/messages/" + messageID,
		"text": text, "createTime": ts(at)}}
}

// Image is a customer's image, hosted at fileURL.
func Image(c Customer, messageID, fileURL string, at time.Time) Event {
	return Event{key: "message", value: map[string]any{"messageId": messageID, "name": "conversations/" + c.ConversationID + "/messages/" + messageID,
		"image": map[string]any{"contentInfo": map[string]any{"fileUrl": fileURL, "forceRefresh": false}}, "createTime": ts(at)}}
}

// Tap is a tap on a suggested reply of the agent's message inReplyTo: its
// postbackData (the option id) and the text the customer saw.
func Tap(c Customer, requestID, inReplyTo, postbackData, text string, at time.Time) Event {
	return Event{key: "suggestionResponse", requestID: requestID, value: map[string]any{
		"message": "conversations/" + c.ConversationID + "/messages/" + inReplyTo, "postbackData": postbackData,
		"createTime": ts(at), "text": text, "type": "REPLY"}}
}

// Action is a tap on a suggested action (open a URL, dial), which is not
// an answer.
func Action(c Customer, requestID, inReplyTo, postbackData, text string, at time.Time) Event {
	ev := Tap(c, requestID, inReplyTo, postbackData, text, at)
	ev.value["type"] = "ACTION"
	return ev
}

// Receipts are receipts of the agent's messages: DELIVERED or READ.
func Receipts(c Customer, receiptType string, at time.Time, messageIDs ...string) Event {
	rs := make([]any, 0, len(messageIDs))
	for _, id := range messageIDs {
		rs = append(rs, map[string]any{"message": "conversations/" + c.ConversationID + "/messages/" + id, "receiptType": receiptType})
	}
	return Event{key: "receipts", value: map[string]any{"receipts": rs, "createTime": ts(at)}}
}

// Typing is the customer typing.
func Typing() Event {
	return Event{key: "userStatus", value: map[string]any{"isTyping": true, "createTime": ts(time.Time{})}}
}

// Payload is the delivery of an event in a conversation with agent
// (brands/{brandId}/agents/{agentId}), as the platform posted it.
func Payload(agent string, c Customer, ev Event, sendTime time.Time) []byte {
	body := map[string]any{"agent": agent, "conversationId": c.ConversationID, "customAgentId": "", ev.key: ev.value, "sendTime": ts(sendTime)}
	if ev.requestID != "" {
		body["requestId"] = ev.requestID
	}
	if ev.key == "message" || ev.key == "suggestionResponse" || ev.key == "userStatus" {
		ctx := map[string]any{"entryPoint": "PLACESHEET", "placeId": "ChIJN1t_tDeuEmsRUsoyG83frY4", "resolvedLocale": "en"}
		if c.DisplayName != "" {
			ctx["userInfo"] = map[string]any{"displayName": c.DisplayName, "userDeviceLocale": "en-US"}
		}
		body["context"] = ctx
	}
	out, _ := json.Marshal(body)
	return out
}

// Verification is the request the platform sent to confirm a webhook.
func Verification(secret, clientToken string) []byte {
	out, _ := json.Marshal(map[string]string{"secret": secret, "clientToken": clientToken})
	return out
}

// Sign is X-Goog-Signature: base64(HMAC-SHA512(client token, body)).
func Sign(clientToken string, body []byte) string {
	m := hmac.New(sha512.New, []byte(clientToken))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SendWebhook posts a delivery signed as the platform signed it (an empty
// client token sends it unsigned).
func SendWebhook(url, clientToken string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Google-Business-Messages")
	if clientToken != "" {
		req.Header.Set("X-Goog-Signature", Sign(clientToken, payload))
	}
	return (&http.Client{Timeout: 30 * time.Second}).Do(req)
}

// Verify performs the webhook verification against a URL: it posts
// {"secret","clientToken"} and reports whether the answer is 200 with the
// secret as its body, the platform's condition to accept the webhook.
func Verify(webhookURL, secret, clientToken string) (bool, error) {
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(webhookURL, "application/json", bytes.NewReader(Verification(secret, clientToken)))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == secret, nil
}

// CustomerSays delivers "customer <conversationID> (<name>) says <text>"
// to a webhook URL, signed with clientToken (empty: Options.ClientToken).
func (s *Server) CustomerSays(webhookURL, clientToken, conversationID, name, text string, at time.Time) (*http.Response, error) {
	return s.deliver(webhookURL, clientToken, Customer{conversationID, name}, Text(Customer{conversationID, name}, s.NewID(), text, s.at(at)), at)
}

// CustomerTaps delivers a tap on the suggested reply choiceID (the option
// or slot id) whose chip read label, in reply to the agent's message
// inReplyTo (may be empty).
func (s *Server) CustomerTaps(webhookURL, clientToken, conversationID, name, choiceID, label, inReplyTo string, at time.Time) (*http.Response, error) {
	if label == "" {
		label = choiceID
	}
	c := Customer{conversationID, name}
	return s.deliver(webhookURL, clientToken, c, Tap(c, s.NewID(), inReplyTo, choiceID, label, s.at(at)), at)
}

func (s *Server) at(at time.Time) time.Time {
	if at.IsZero() {
		return s.opts.Now()
	}
	return at
}

func (s *Server) deliver(webhookURL, clientToken string, c Customer, ev Event, at time.Time) (*http.Response, error) {
	if clientToken == "" {
		clientToken = s.opts.ClientToken
	}
	return SendWebhook(webhookURL, clientToken, Payload(s.Agent(), c, ev, s.at(at)))
}
