package fake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretTokenHeader carries setWebhook's secret_token on every update.
const SecretTokenHeader = "X-Telegram-Bot-Api-Secret-Token"

// User is a Telegram user: a customer writing to the bot.
type User struct {
	ID           int64
	FirstName    string
	LastName     string
	Username     string
	LanguageCode string
}

// object is the User object of an update's "from".
func (u User) object() map[string]any {
	o := map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName}
	if u.LastName != "" {
		o["last_name"] = u.LastName
	}
	if u.Username != "" {
		o["username"] = u.Username
	}
	if u.LanguageCode != "" {
		o["language_code"] = u.LanguageCode
	}
	return o
}

// chat is the user's private chat with the bot.
func (u User) chat() map[string]any {
	o := map[string]any{"id": u.ID, "first_name": u.FirstName, "type": "private"}
	if u.LastName != "" {
		o["last_name"] = u.LastName
	}
	if u.Username != "" {
		o["username"] = u.Username
	}
	return o
}

// Update is one Update without its update_id: Payload, Deliver and
// SendWebhook number it.
type Update map[string]any

func message(u User, messageID int64, at time.Time) map[string]any {
	return map[string]any{"message_id": messageID, "from": u.object(), "chat": u.chat(), "date": at.Unix()}
}

// Text is a customer's text message (CHANNELS.md §6's sample).
func Text(u User, messageID int64, text string, at time.Time) Update {
	m := message(u, messageID, at)
	m["text"] = text
	return Update{"message": m}
}

// Photo is a photo message: the sizes Telegram made (smallest first, see
// Server.AddPhoto) and an optional caption.
func Photo(u User, messageID int64, sizes []File, caption string, at time.Time) Update {
	m := message(u, messageID, at)
	var ps []any
	for _, f := range sizes {
		ps = append(ps, map[string]any{"file_id": f.FileID, "file_unique_id": f.FileUniqueID, "width": f.Width, "height": f.Height, "file_size": f.FileSize})
	}
	m["photo"] = ps
	if caption != "" {
		m["caption"] = caption
	}
	return Update{"message": m}
}

// Document is a file message (see Server.AddFile), with an optional caption.
func Document(u User, messageID int64, f File, caption string, at time.Time) Update {
	m := message(u, messageID, at)
	d := map[string]any{"file_id": f.FileID, "file_unique_id": f.FileUniqueID, "file_size": f.FileSize}
	if f.FileName != "" {
		d["file_name"] = f.FileName
	}
	if f.MimeType != "" {
		d["mime_type"] = f.MimeType
	}
	m["document"] = d
	if caption != "" {
		m["caption"] = caption
	}
	return Update{"message": m}
}

// Edited is an edited_message: the message's new text, its original date
// and the edit's.
func Edited(u User, messageID int64, text string, sent, edited time.Time) Update {
	m := message(u, messageID, sent)
	m["edit_date"] = edited.Unix()
	m["text"] = text
	return Update{"edited_message": m}
}

// Quoting makes a message update quote (reply to) another message of the
// chat, as reply_to_message.
func Quoting(up Update, messageID int64) Update {
	for _, k := range []string{"message", "edited_message"} {
		if m, ok := up[k].(map[string]any); ok {
			m["reply_to_message"] = map[string]any{"message_id": messageID, "chat": m["chat"], "date": m["date"]}
		}
	}
	return up
}

// Callback is a tap on an inline keyboard button: a callback_query with
// the button's data and the message it belongs to (the bot's Message, with
// its reply_markup, as Message.Result holds it). A nil message leaves it
// out (a button of an inline-mode message).
func Callback(u User, id, data string, msg json.RawMessage) Update {
	q := map[string]any{"id": id, "from": u.object(), "chat_instance": "-" + strconv.FormatInt(u.ID*7919%1000000007, 10), "data": data}
	if len(msg) > 0 {
		q["message"] = msg
	}
	return Update{"callback_query": q}
}

// Payload is an update's JSON with its update_id.
func Payload(updateID int64, up Update) []byte {
	m := map[string]any{"update_id": updateID}
	for k, v := range up {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// SendWebhook posts a payload as Telegram does: JSON, with the webhook's
// secret token in X-Telegram-Bot-Api-Secret-Token (none when empty). The
// caller closes the response body.
func SendWebhook(url, secretToken string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secretToken != "" {
		req.Header.Set(SecretTokenHeader, secretToken)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	return client.Do(req)
}

// updateType is the kind of an update ("message", "callback_query"…).
func updateType(up Update) string {
	for k := range up {
		if k != "update_id" {
			return k
		}
	}
	return ""
}

// Deliver posts an update to the webhook setWebhook registered, with its
// secret token, if the update's type is one of its allowed_updates; see
// SendWebhook.
func (s *Server) Deliver(up Update) (*http.Response, error) {
	w := s.Webhook()
	if w.URL == "" {
		return nil, errors.New("fake: no webhook is set (setWebhook first)")
	}
	if t := updateType(up); len(w.AllowedUpdates) > 0 && !contains(w.AllowedUpdates, t) {
		return nil, fmt.Errorf("fake: the webhook's allowed_updates %v leave out %q: Telegram would not deliver it", w.AllowedUpdates, t)
	}
	return s.SendWebhook(w.URL, w.SecretToken, up)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SendWebhook numbers an update, posts it to url like the package function,
// and then, as Telegram does, executes a Bot API method given in a 2xx
// JSON reply ({"method":"answerCallbackQuery",…}), recorded with
// WebhookReply set. The chats, messages and callback queries the update
// carries become known to the fake. The returned body can still be read.
func (s *Server) SendWebhook(url, secretToken string, up Update) (*http.Response, error) {
	s.note(up)
	s.mu.Lock()
	s.updateSeq++
	id := s.updateSeq
	s.mu.Unlock()
	resp, err := SendWebhook(url, secretToken, Payload(id, up))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	if resp.StatusCode/100 == 2 {
		s.webhookReply(resp.Header.Get("Content-Type"), body)
	}
	return resp, nil
}

// note registers what an update tells: the customer's chat, the message id
// (later sends may quote it), a callback query id (to be answered).
func (s *Server) note(up Update) {
	b, _ := json.Marshal(up)
	var u struct {
		Message       *noteMessage `json:"message"`
		EditedMessage *noteMessage `json:"edited_message"`
		CallbackQuery *struct {
			ID   string `json:"id"`
			From struct {
				ID        int64  `json:"id"`
				FirstName string `json:"first_name"`
				LastName  string `json:"last_name"`
				Username  string `json:"username"`
			} `json:"from"`
		} `json:"callback_query"`
	}
	if json.Unmarshal(b, &u) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []*noteMessage{u.Message, u.EditedMessage} {
		if m == nil || m.From.ID == 0 {
			continue
		}
		c := s.chat(User{ID: m.From.ID, FirstName: m.From.FirstName, LastName: m.From.LastName, Username: m.From.Username})
		c.messages[m.MessageID] = true
		if m.MessageID >= c.nextID {
			c.nextID = m.MessageID + 1
		}
	}
	if q := u.CallbackQuery; q != nil && q.ID != "" {
		s.chat(User{ID: q.From.ID, FirstName: q.From.FirstName, LastName: q.From.LastName, Username: q.From.Username})
		if _, known := s.callbacks[q.ID]; !known {
			s.callbacks[q.ID] = false
		}
	}
}

type noteMessage struct {
	MessageID int64 `json:"message_id"`
	From      struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Username  string `json:"username"`
	} `json:"from"`
}

// webhookReply executes a method given in a webhook's JSON reply; like
// Telegram, it tells nobody how that went (see Requests).
func (s *Server) webhookReply(contentType string, body []byte) {
	if ct, _, _ := mime.ParseMediaType(contentType); ct != "application/json" {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return
	}
	method, _ := m["method"].(string)
	if method == "" {
		return
	}
	delete(m, "method")
	p := &params{values: m, uploads: map[string]upload{}}
	req := Request{HTTPMethod: http.MethodPost, Method: method, Token: s.opts.Token, ContentType: contentType,
		Body: body, Params: p.json(), WebhookReply: true, At: s.opts.Now()}
	st, payload := s.dispatch(method, p, &req)
	out, _ := json.Marshal(payload)
	req.Status, req.Response = st, out
	s.record(req)
}

// Customer reads the sandbox's customer: from is the Telegram user id (a
// number), name their display name ("Ana Lopez" → first and last name).
func Customer(from, name string) (User, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(from), 10, 64)
	if err != nil || id <= 0 {
		return User{}, fmt.Errorf("fake: a Telegram user id is a positive number, not %q", from)
	}
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	if first == "" {
		first = "Customer " + strconv.FormatInt(id, 10)
	}
	return User{ID: id, FirstName: first, LastName: strings.TrimSpace(last), LanguageCode: "en"}, nil
}

// CustomerSays delivers "customer <from> (<name>) says <text>" to a webhook
// URL with its secret token, as a text message numbered in the chat.
func (s *Server) CustomerSays(webhookURL, secretToken, from, name, text string, at time.Time) (*http.Response, error) {
	u, err := Customer(from, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c := s.chat(u)
	id := c.nextID
	c.nextID++
	s.mu.Unlock()
	return s.SendWebhook(webhookURL, secretToken, Text(u, id, text, at))
}

// CustomerTaps delivers "customer <from> taps <data>": a callback query for
// the button with that callback_data on the latest message the bot sent
// them that has one (the message, keyboard included, rides along as
// Telegram sends it). Without such a message, the tap refers to the chat's
// last message as an inaccessible one (date 0, no keyboard).
func (s *Server) CustomerTaps(webhookURL, secretToken, from, name, data string, at time.Time) (*http.Response, error) {
	u, err := Customer(from, name)
	if err != nil {
		return nil, err
	}
	return s.SendWebhook(webhookURL, secretToken, s.Tap(u, data))
}

// Tap builds the callback query of a customer tapping the button with this
// callback_data (see CustomerTaps), for Deliver or SendWebhook.
func (s *Server) Tap(u User, data string) Update {
	s.mu.Lock()
	c := s.chat(u)
	var msg json.RawMessage
	for i := len(s.sent) - 1; i >= 0 && msg == nil; i-- {
		m := s.sent[i]
		if m.ChatID != u.ID {
			continue
		}
		for _, row := range m.Keyboard {
			for _, b := range row {
				if b.CallbackData == data {
					msg = m.Result
				}
			}
		}
	}
	if msg == nil {
		msg, _ = json.Marshal(map[string]any{"message_id": max(c.nextID-1, 1), "chat": u.chat(), "date": 0})
	}
	s.tapSeq++
	id := fmt.Sprintf("%d%012d", s.botID%1000, int64(s.tapSeq)*7919+u.ID%1000)
	s.mu.Unlock()
	return Callback(u, id, data, msg)
}
