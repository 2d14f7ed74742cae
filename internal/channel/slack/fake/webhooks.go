package fake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers Slack signs and retries with.
const (
	SignatureHeader   = "X-Slack-Signature"
	TimestampHeader   = "X-Slack-Request-Timestamp"
	RetryNumHeader    = "X-Slack-Retry-Num"
	RetryReasonHeader = "X-Slack-Retry-Reason"
)

// Sign is Slack's v0 signature: "v0=" + hex HMAC-SHA256(signing secret,
// "v0:" + timestamp + ":" + body).
func Sign(signingSecret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(signingSecret))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// TS is a Slack message timestamp for a time: seconds and microseconds.
func TS(at time.Time) string {
	return fmt.Sprintf("%d.%06d", at.Unix(), at.Nanosecond()/1000)
}

// Event is the inner event of an Events API callback.
type Event map[string]any

func message(channel, channelType, user, text string, at time.Time) Event {
	return Event{"type": "message", "channel": channel, "channel_type": channelType, "user": user, "text": text,
		"ts": TS(at), "event_ts": TS(at), "client_msg_id": clientMsgID(channel + TS(at))}
}

// clientMsgID is a UUID-shaped id derived from the message, as clients set.
func clientMsgID(seed string) string {
	h := sha1.Sum([]byte(seed))
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// DirectMessage is a message a user sends in their DM with the app
// (channel_type im).
func DirectMessage(channel, user, text string, at time.Time) Event {
	return message(channel, "im", user, text, at)
}

// ChannelMessage is a message in a public channel the app is in.
func ChannelMessage(channel, user, text string, at time.Time) Event {
	return message(channel, "channel", user, text, at)
}

// AppMention is the app_mention event of a message that mentions the app
// (text should include "<@BOTUSERID>"); it has no channel_type.
func AppMention(channel, user, text string, at time.Time) Event {
	return Event{"type": "app_mention", "channel": channel, "user": user, "text": text, "ts": TS(at), "event_ts": TS(at),
		"client_msg_id": clientMsgID(channel + TS(at))}
}

// BotMessage is a message posted by a bot (subtype bot_message).
func BotMessage(channel, botID, text string, at time.Time) Event {
	return Event{"type": "message", "subtype": "bot_message", "channel": channel, "bot_id": botID, "text": text, "ts": TS(at), "event_ts": TS(at)}
}

// OwnMessage is the echo of a message the app itself posted: the bot user
// with its bot_id.
func OwnMessage(channel, channelType, botUserID, botID, text string, at time.Time) Event {
	e := message(channel, channelType, botUserID, text, at)
	e["bot_id"] = botID
	delete(e, "client_msg_id")
	return e
}

// MessageChanged is an edit of an earlier message (subtype
// message_changed, hidden).
func MessageChanged(channel, channelType, user, ts, newText string, at time.Time) Event {
	return Event{"type": "message", "subtype": "message_changed", "hidden": true, "channel": channel, "channel_type": channelType,
		"ts": TS(at), "event_ts": TS(at),
		"message":          map[string]any{"type": "message", "user": user, "text": newText, "ts": ts, "edited": map[string]any{"user": user, "ts": TS(at)}},
		"previous_message": map[string]any{"type": "message", "user": user, "ts": ts}}
}

// InThread makes a message a reply in the thread whose first message is
// threadTS.
func (e Event) InThread(threadTS string) Event {
	e["thread_ts"] = threadTS
	if u, ok := e["user"].(string); ok {
		e["parent_user_id"] = u
	}
	return e
}

// WithProfile adds the user_profile Slack includes in messages of people.
func (e Event) WithProfile(displayName, realName string) Event {
	e["user_profile"] = map[string]any{"display_name": displayName, "real_name": realName, "name": strings.ToLower(strings.ReplaceAll(realName, " ", "."))}
	return e
}

// WithFiles attaches shared files (subtype file_share), described as Slack
// describes them, with their private URLs on this server.
func (s *Server) WithFiles(e Event, files ...File) Event {
	list := make([]any, 0, len(files))
	for _, f := range files {
		list = append(list, s.fileObject(f))
	}
	e["files"] = list
	e["upload"] = false
	if e["type"] == "message" {
		e["subtype"] = "file_share"
	}
	return e
}

// EventCallback wraps an event in the Events API envelope, with an
// authorization of the app's bot user.
func EventCallback(teamID, appID, botUserID, eventID string, at time.Time, e Event) []byte {
	body := map[string]any{
		"token": "ZZZZZZWSxiZZZ2yIvs3peJ", "team_id": teamID, "api_app_id": appID, "event": e, "type": "event_callback",
		"event_id": eventID, "event_time": at.Unix(), "event_context": "4-" + eventID,
		"authorizations":        []any{map[string]any{"enterprise_id": nil, "team_id": teamID, "user_id": botUserID, "is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false,
	}
	b, _ := json.Marshal(body)
	return b
}

// Callback wraps an event for this fake's workspace and app, with a fresh
// event id.
func (s *Server) Callback(e Event) []byte {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("Ev%010d", s.seq)
	s.mu.Unlock()
	at := time.Now()
	if ts, ok := e["event_ts"].(string); ok {
		if secs, err := strconv.ParseInt(strings.Split(ts, ".")[0], 10, 64); err == nil {
			at = time.Unix(secs, 0)
		}
	}
	return EventCallback(s.opts.TeamID, s.opts.AppID, s.opts.BotUserID, id, at, e)
}

// URLVerification is the request Slack sends when an admin enters the
// Events API request URL.
func URLVerification(challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
	return b
}

// Action is one entry of a block_actions payload's actions[].
type Action map[string]any

// ButtonAction is a tap on a button.
func ButtonAction(actionID, value, label string, at time.Time) Action {
	a := Action{"type": "button", "action_id": actionID, "block_id": blockID(actionID), "text": map[string]any{"type": "plain_text", "text": label, "emoji": true},
		"action_ts": TS(at)}
	if value != "" {
		a["value"] = value
	}
	return a
}

// SelectAction is a pick in a static select menu.
func SelectAction(actionID, value, label string, at time.Time) Action {
	return Action{"type": "static_select", "action_id": actionID, "block_id": blockID(actionID),
		"selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": label, "emoji": true}, "value": value},
		"placeholder":     map[string]any{"type": "plain_text", "text": "Choose an option", "emoji": true}, "action_ts": TS(at)}
}

// DatePickerAction is a date chosen in a datepicker (YYYY-MM-DD).
func DatePickerAction(actionID, date string, at time.Time) Action {
	return Action{"type": "datepicker", "action_id": actionID, "block_id": blockID(actionID), "selected_date": date, "action_ts": TS(at)}
}

// TimePickerAction is a time chosen in a timepicker (HH:mm).
func TimePickerAction(actionID, hhmm string, at time.Time) Action {
	return Action{"type": "timepicker", "action_id": actionID, "block_id": blockID(actionID), "selected_time": hhmm, "action_ts": TS(at)}
}

// Option is a picked option of a multi-select, for MultiSelectState.
type Option struct{ Value, Label string }

// MultiSelectState is the state.values of a message whose multi-select
// (action_id) holds the given options, sent with a tap on its Send button.
func MultiSelectState(actionID string, picked ...Option) map[string]any {
	sel := make([]any, 0, len(picked))
	for _, o := range picked {
		sel = append(sel, map[string]any{"text": map[string]any{"type": "plain_text", "text": o.Label, "emoji": true}, "value": o.Value})
	}
	return map[string]any{"values": map[string]any{blockID(actionID): map[string]any{actionID: map[string]any{"type": "multi_static_select", "selected_options": sel}}}}
}

func blockID(seed string) string {
	h := sha1.Sum([]byte(seed))
	return hex.EncodeToString(h[:3])
}

// Tap describes where a block_actions interaction happened.
type Tap struct {
	User, UserName string
	TeamID         string
	Channel        string
	// MessageTS is the ts of the message whose element was tapped;
	// ThreadTS the ts of its thread's first message, when in a thread.
	MessageTS, ThreadTS string
	// State is the message's state.values (MultiSelectState), optional.
	State map[string]any
}

// BlockActions is the interactivity request body Slack posts for a tap:
// form-encoded payload=<block_actions JSON>.
func BlockActions(t Tap, actions ...Action) []byte {
	user := map[string]any{"id": t.User, "username": t.UserName, "name": t.UserName, "team_id": t.TeamID}
	container := map[string]any{"type": "message", "message_ts": t.MessageTS, "channel_id": t.Channel, "is_ephemeral": false}
	msg := map[string]any{"type": "message", "ts": t.MessageTS, "text": "", "user": DefaultBotUserID, "bot_id": DefaultBotID}
	if t.ThreadTS != "" {
		container["thread_ts"] = t.ThreadTS
		msg["thread_ts"] = t.ThreadTS
	}
	acts := make([]any, 0, len(actions))
	for _, a := range actions {
		acts = append(acts, a)
	}
	state := t.State
	if state == nil {
		state = map[string]any{"values": map[string]any{}}
	}
	payload := map[string]any{
		"type": "block_actions", "user": user, "api_app_id": DefaultAppID, "token": "ZZZZZZWSxiZZZ2yIvs3peJ",
		"container": container, "trigger_id": "1000000000.2000000000.abcdef0123456789abcdef0123456789",
		"team": map[string]any{"id": t.TeamID, "domain": "fake"}, "enterprise": nil, "is_enterprise_install": false,
		"channel": map[string]any{"id": t.Channel, "name": "directmessage"}, "message": msg, "state": state,
		"response_url": "https://hooks.slack.com/actions/" + t.TeamID + "/1/fake", "actions": acts,
	}
	b, _ := json.Marshal(payload)
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}

// SendWebhook posts a body to url signed as Slack signs it, timestamped
// now: Content-Type application/json for an Events API callback,
// application/x-www-form-urlencoded for an interactivity payload. The
// caller closes the response body.
func SendWebhook(url, signingSecret string, body []byte) (*http.Response, error) {
	return send(url, signingSecret, body, time.Now(), 0, "")
}

// SendWebhookAt is SendWebhook with the X-Slack-Request-Timestamp of a
// given time (a test's fake clock, or a stale request).
func SendWebhookAt(url, signingSecret string, body []byte, at time.Time) (*http.Response, error) {
	return send(url, signingSecret, body, at, 0, "")
}

// SendRetry is SendWebhook as Slack's retry number n of a delivery that
// failed (X-Slack-Retry-Num, X-Slack-Retry-Reason, e.g. http_timeout).
func SendRetry(url, signingSecret string, body []byte, at time.Time, n int, reason string) (*http.Response, error) {
	return send(url, signingSecret, body, at, n, reason)
}

func send(target, signingSecret string, body []byte, at time.Time, retry int, reason string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(signingSecret, ts, body))
	if retry > 0 {
		req.Header.Set(RetryNumHeader, strconv.Itoa(retry))
		req.Header.Set(RetryReasonHeader, reason)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	return client.Do(req)
}

// SendWebhook posts a body signed with signingSecret, timestamped by the
// fake's clock.
func (s *Server) SendWebhook(url, signingSecret string, body []byte) (*http.Response, error) {
	return SendWebhookAt(url, signingSecret, body, s.opts.Now())
}

// UserID is the Slack user id of a sandbox customer: an id (U…, W…) is
// kept, any other name (a phone number, "alice") maps to a stable U… id.
func UserID(from string) string {
	if userID.MatchString(from) {
		return from
	}
	h := sha1.Sum([]byte(from))
	return "U" + strings.ToUpper(hex.EncodeToString(h[:5]))
}

// DMChannel is the app's DM channel with a user: D… derived from the user
// id.
func DMChannel(user string) string {
	return "D" + UserID(user)[1:]
}

// eventTime hands out a time for a customer's event: at, moved past the
// previous one so that two events never share a ts.
func (s *Server) eventTime(at time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	at = at.Truncate(time.Microsecond)
	if !at.After(s.lastTS) {
		at = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = at
	return at
}

// Deliver plays a customer in the sandbox: "customer <from> (<name>) says
// <text>" in their DM with the app, or, with choiceID, taps the button or
// menu option carrying that id in the latest message the app sent them
// that offers it (a bare button tap when none does). It posts the signed
// webhook to webhookURL and returns Parley's answer; the caller closes the
// body.
func (s *Server) Deliver(webhookURL, signingSecret, from, name, text, choiceID string, at time.Time) (*http.Response, error) {
	user := UserID(from)
	ch := DMChannel(user)
	at = s.eventTime(at)
	if choiceID == "" {
		e := DirectMessage(ch, user, text, at)
		if name != "" {
			e = e.WithProfile(name, name)
		}
		return s.SendWebhook(webhookURL, signingSecret, s.Callback(e))
	}
	tap := Tap{User: user, UserName: firstNonEmpty(name, user), TeamID: s.opts.TeamID, Channel: ch}
	action := ButtonAction("choice:"+choiceID, choiceID, firstNonEmpty(text, choiceID), at)
	if m, a, ok := s.findChoice(ch, choiceID, at); ok {
		tap.MessageTS, tap.ThreadTS = m.TS, m.ThreadTS
		action = a
		if a["type"] == "button" && a["action_id"] == "submit" {
			tap.State = MultiSelectState("choices", Option{Value: choiceID, Label: firstNonEmpty(text, choiceID)})
		}
	} else {
		tap.MessageTS = TS(at.Add(-time.Second))
	}
	return s.SendWebhook(webhookURL, signingSecret, BlockActions(tap, action))
}

// findChoice finds the latest message to a channel offering choiceID: a
// button with that value, a select option (picked in its menu), or a
// multi-select option (picked, then the Send button tapped).
func (s *Server) findChoice(ch, choiceID string, at time.Time) (Message, Action, bool) {
	msgs := s.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Channel != ch || len(m.Blocks) == 0 {
			continue
		}
		var blocks []map[string]any
		if json.Unmarshal(m.Blocks, &blocks) != nil {
			continue
		}
		var elements []map[string]any
		for _, b := range blocks {
			if acc, ok := b["accessory"].(map[string]any); ok {
				elements = append(elements, acc)
			}
			if els, ok := b["elements"].([]any); ok {
				for _, e := range els {
					if em, ok := e.(map[string]any); ok {
						elements = append(elements, em)
					}
				}
			}
		}
		for _, e := range elements {
			actionID, _ := e["action_id"].(string)
			switch e["type"] {
			case "button":
				if e["value"] == choiceID {
					return m, ButtonAction(actionID, choiceID, textOf(e["text"]), at), true
				}
			case "static_select", "multi_static_select":
				if label, ok := findOption(e, choiceID); ok {
					if e["type"] == "multi_static_select" {
						return m, ButtonAction("submit", "submit", "Send", at), true
					}
					return m, SelectAction(actionID, choiceID, label, at), true
				}
			}
		}
	}
	return Message{}, nil, false
}

func textOf(x any) string {
	m, _ := x.(map[string]any)
	s, _ := m["text"].(string)
	return s
}

func findOption(menu map[string]any, value string) (string, bool) {
	var opts []any
	if o, ok := menu["options"].([]any); ok {
		opts = o
	}
	if groups, ok := menu["option_groups"].([]any); ok {
		for _, g := range groups {
			if gm, ok := g.(map[string]any); ok {
				if o, ok := gm["options"].([]any); ok {
					opts = append(opts, o...)
				}
			}
		}
	}
	for _, o := range opts {
		om, _ := o.(map[string]any)
		if om["value"] == value {
			return textOf(om["text"]), true
		}
	}
	return "", false
}

// Received lists what was sent to a customer, as the raw request bodies
// (as JSON) of chat.postMessage and files.completeUploadExternal calls that
// succeeded. to is a customer (a user id or a sandbox name: their DM with
// the app), a conversation id (C…, D…, G…), or a thread (C…:thread_ts).
func (s *Server) Received(to string) []json.RawMessage {
	ch, thread, threaded := strings.Cut(to, ":")
	if !channelID.MatchString(ch) {
		ch, thread, threaded = DMChannel(to), "", false
	}
	var out []json.RawMessage
	for _, r := range s.Requests() {
		if r.Status != http.StatusOK || (r.APIMethod != "chat.postMessage" && r.APIMethod != "files.completeUploadExternal") {
			continue
		}
		var resp struct {
			OK bool `json:"ok"`
		}
		if json.Unmarshal(r.Response, &resp) != nil || !resp.OK {
			continue
		}
		body := r.JSON()
		var dest struct {
			Channel   string `json:"channel"`
			ChannelID string `json:"channel_id"`
			ThreadTS  string `json:"thread_ts"`
		}
		if json.Unmarshal(body, &dest) != nil {
			continue
		}
		got := firstNonEmpty(dest.Channel, dest.ChannelID)
		if userID.MatchString(got) {
			got = DMChannel(got)
		}
		if got == ch && (!threaded || dest.ThreadTS == thread) {
			out = append(out, body)
		}
	}
	return out
}
