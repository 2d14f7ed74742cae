package slack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Limits on what a delivery may carry (Slack's own are below them: 40,000
// characters of text, 10 files).
const (
	maxTextBytes = 256 << 10
	maxFiles     = 20
	maxValueLen  = 2000
)

var (
	// channelIDPattern and userIDInPayload are Slack's ids: C…, D…, G…,
	// U…, W…; kept loose on the letters, strict on the charset, since they
	// become thread and message ids.
	channelIDPattern = regexp.MustCompile(`^[A-Z0-9]{2,40}$`)
	userIDInPayload  = regexp.MustCompile(`^[A-Z0-9]{2,40}$`)
	tsPattern        = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,9}$`)
	fileIDPattern    = regexp.MustCompile(`^F[A-Z0-9]{2,40}$`)
)

// The Events API envelope (CHANNELS.md §9).
type envelope struct {
	Type           string          `json:"type"`
	Challenge      string          `json:"challenge"`
	TeamID         string          `json:"team_id"`
	EventID        string          `json:"event_id"`
	Event          json.RawMessage `json:"event"`
	Authorizations []struct {
		UserID string `json:"user_id"`
		IsBot  bool   `json:"is_bot"`
	} `json:"authorizations"`
}

// wireMessage is a message or app_mention event.
type wireMessage struct {
	Type        string     `json:"type"`
	Subtype     string     `json:"subtype"`
	Channel     string     `json:"channel"`
	ChannelType string     `json:"channel_type"`
	User        string     `json:"user"`
	BotID       string     `json:"bot_id"`
	Text        string     `json:"text"`
	TS          string     `json:"ts"`
	ThreadTS    string     `json:"thread_ts"`
	Hidden      bool       `json:"hidden"`
	Files       []wireFile `json:"files"`
	UserProfile *struct {
		DisplayName string `json:"display_name"`
		RealName    string `json:"real_name"`
		Name        string `json:"name"`
	} `json:"user_profile"`
}

// wireFile is one entry of a message's files[].
type wireFile struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Title              string `json:"title"`
	Mimetype           string `json:"mimetype"`
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
	IsExternal         bool   `json:"is_external"`
	Mode               string `json:"mode"`
}

// The interactivity payload (block_actions).
type wireInteraction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	Channel *struct {
		ID string `json:"id"`
	} `json:"channel"`
	Container struct {
		Type      string `json:"type"`
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
		ThreadTS  string `json:"thread_ts"`
	} `json:"container"`
	Message *struct {
		TS       string `json:"ts"`
		ThreadTS string `json:"thread_ts"`
	} `json:"message"`
	Actions []wireAction `json:"actions"`
	State   *wireState   `json:"state"`
}

// wireState is the current value of a message's inputs, sent with a tap.
type wireState struct {
	Values map[string]map[string]wireAction `json:"values"`
}

type wireText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type wireOption struct {
	Text  wireText `json:"text"`
	Value string   `json:"value"`
}

type wireAction struct {
	Type            string       `json:"type"`
	ActionID        string       `json:"action_id"`
	BlockID         string       `json:"block_id"`
	Value           string       `json:"value"`
	ActionTS        string       `json:"action_ts"`
	Text            *wireText    `json:"text"`
	SelectedOption  *wireOption  `json:"selected_option"`
	SelectedOptions []wireOption `json:"selected_options"`
	SelectedDate    string       `json:"selected_date"`
	SelectedTime    string       `json:"selected_time"`
}

// Parse turns a delivery into canonical events: an Events API callback
// (JSON) or an interactivity payload (form-encoded payload=…), told apart
// by their shape since both arrive at the same URL. Events the core does
// not handle (edits, joins, other bots, our own messages, reactions…) are
// skipped, not errors.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if isForm(r, trimmed) {
		return a.parseInteraction(trimmed, poc)
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, channel.Malformed("", "expected an Events API JSON object or an interactivity form (payload=…)")
	}
	var env envelope
	if err := decode(trimmed, &env, ""); err != nil {
		return nil, err
	}
	if env.Type != "event_callback" || len(env.Event) == 0 || string(env.Event) == "null" {
		return nil, nil // url_verification (answered by Handshake), app_rate_limited…
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := decode(env.Event, &head, "event"); err != nil {
		return nil, err
	}
	if head.Type != "message" && head.Type != "app_mention" {
		return nil, nil
	}
	var m wireMessage
	if err := decode(env.Event, &m, "event"); err != nil {
		return nil, err
	}
	own := map[string]bool{}
	if id := poc.SettingString(SettingBotUserID); id != "" {
		own[id] = true
	}
	for _, au := range env.Authorizations {
		if au.IsBot && au.UserID != "" {
			own[au.UserID] = true
		}
	}
	ev, ok, err := a.parseMessage(&m, own, poc)
	if err != nil || !ok {
		return nil, err
	}
	return []channel.InboundEvent{ev}, nil
}

// isForm tells an interactivity delivery from an Events API one.
func isForm(r *http.Request, body []byte) bool {
	if r != nil {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil {
			switch mt {
			case "application/x-www-form-urlencoded":
				return true
			case "application/json":
				return false
			}
		}
	}
	return bytes.HasPrefix(body, []byte("payload="))
}

func decode(raw []byte, v any, field string) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			f := te.Field
			switch {
			case f == "":
				f = field
			case field != "":
				f = field + "." + f
			}
			return channel.Malformed(f, "must be %s", te.Type.String())
		}
		return channel.Malformed(field, "malformed JSON: %v", err)
	}
	return nil
}

// messageSubtypes are the message subtypes a customer's own message has;
// every other (bot_message, message_changed, message_deleted, channel_join,
// channel_topic…) is not something a customer said now.
var messageSubtypes = map[string]bool{"": true, "file_share": true, "thread_broadcast": true, "me_message": true}

func (a *Adapter) parseMessage(m *wireMessage, own map[string]bool, poc *channel.PointOfContact) (channel.InboundEvent, bool, error) {
	if !messageSubtypes[m.Subtype] || m.Hidden || m.BotID != "" || m.User == "" || own[m.User] {
		return channel.InboundEvent{}, false, nil
	}
	if err := checkMatch("event.user", m.User, userIDInPayload); err != nil {
		return channel.InboundEvent{}, false, err
	}
	if err := checkMatch("event.channel", m.Channel, channelIDPattern); err != nil {
		return channel.InboundEvent{}, false, err
	}
	if err := checkMatch("event.ts", m.TS, tsPattern); err != nil {
		return channel.InboundEvent{}, false, err
	}
	if m.ThreadTS != "" {
		if err := checkMatch("event.thread_ts", m.ThreadTS, tsPattern); err != nil {
			return channel.InboundEvent{}, false, err
		}
	}
	if len(m.Text) > maxTextBytes {
		return channel.InboundEvent{}, false, channel.Malformed("event.text", "at most %d bytes", maxTextBytes)
	}
	ev := channel.InboundEvent{
		Kind:              channel.EventMessage,
		PlatformMessageID: m.Channel + ":" + m.TS,
		ThreadID:          threadID(m.Channel, m.ChannelType, m.TS, m.ThreadTS),
		AuthorID:          m.User,
		SentAt:            parseTS(m.TS),
		Text:              plainText(stripMention(m.Text, own)),
	}
	if p := m.UserProfile; p != nil {
		ev.AuthorName = clip(strings.TrimSpace(firstNonEmpty(p.DisplayName, p.RealName, p.Name)), 200)
	}
	var lines []string
	for i, f := range m.Files {
		if i == maxFiles {
			break
		}
		att, line, ok := a.fileAttachment(f, poc)
		if line != "" {
			lines = append(lines, line)
		}
		if ok {
			ev.Attachments = append(ev.Attachments, att)
		}
	}
	if len(lines) > 0 {
		if ev.Text != "" {
			lines = append([]string{ev.Text}, lines...)
		}
		ev.Text = strings.Join(lines, "\n")
	}
	if strings.TrimSpace(ev.Text) == "" && len(ev.Attachments) == 0 {
		return channel.InboundEvent{}, false, nil // e.g. a bare mention of the app
	}
	return ev, true, nil
}

// fileAttachment turns one shared file into an attachment the core
// fetches: url_private_download with the bot token when the URL is
// Slack's own, else the file id for FetchMedia (files.info), which covers
// Slack Connect files shared as file_access "check_file_info". Files
// hosted elsewhere (Google Drive…) become a line of text: the bot token is
// never sent outside Slack.
func (a *Adapter) fileAttachment(f wireFile, poc *channel.PointOfContact) (channel.InboundAttachment, string, bool) {
	switch f.Mode {
	case "tombstone", "hidden_by_limit":
		return channel.InboundAttachment{}, "", false // deleted, or beyond a free workspace's history
	}
	name := clip(firstNonEmpty(f.Name, f.Title, f.ID, "file"), 200)
	mt := ""
	if parsed, _, err := mime.ParseMediaType(f.Mimetype); err == nil && strings.Contains(parsed, "/") {
		mt = parsed
	}
	if f.IsExternal {
		link := firstNonEmpty(f.URLPrivate, f.URLPrivateDownload)
		if !isHTTPURL(link) {
			return channel.InboundAttachment{}, "Shared a file: " + name, false
		}
		return channel.InboundAttachment{}, "Shared a file: " + name + " (" + clip(link, 2000) + ")", false
	}
	if u := f.URLPrivateDownload; u != "" && len(u) <= 4096 && trustedFileHost(u, poc) {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+poc.Credential(CredentialBotToken))
		return channel.InboundAttachment{URL: u, Header: h, MimeType: mt, Name: name}, "", true
	}
	if fileIDPattern.MatchString(f.ID) {
		return channel.InboundAttachment{MediaRef: f.ID, MimeType: mt, Name: name}, "", true
	}
	return channel.InboundAttachment{}, "", false
}

// trustedFileHost tells whether the bot token may go with a request to
// raw: Slack's own hosts, or the configured API base's host (the fake).
func trustedFileHost(raw string, poc *channel.PointOfContact) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range []string{"slack.com", "slack-edge.com", "slack-gov.com"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return u.Scheme == "https"
		}
	}
	if base, err := url.Parse(baseURL(poc)); err == nil && base.Host != "" {
		return strings.EqualFold(base.Host, u.Host) && base.Scheme == u.Scheme
	}
	return false
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// threadID is a DM's channel (one thread per DM), or channel:root ts for
// a message in a channel, so that replies go in that Slack thread.
func threadID(channelID, channelType, ts, threadTS string) string {
	if isDM(channelID, channelType) {
		return channelID
	}
	root := ts
	if threadTS != "" {
		root = threadTS
	}
	return channelID + ":" + root
}

// isDM: the event says so (channel_type im); without a channel type
// (interactivity, app_mention), a DM's id starts with D.
func isDM(channelID, channelType string) bool {
	if channelType != "" {
		return channelType == "im"
	}
	return strings.HasPrefix(channelID, "D")
}

// parseTS reads a Slack ts ("1355517523.000005": seconds and
// microseconds) as a time; zero when it is not one.
func parseTS(ts string) time.Time {
	secStr, frac, ok := strings.Cut(ts, ".")
	if !ok || !tsPattern.MatchString(ts) {
		return time.Time{}
	}
	secs, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}
	}
	for len(frac) < 9 {
		frac += "0"
	}
	nanos, _ := strconv.ParseInt(frac[:9], 10, 64)
	return time.Unix(secs, nanos).UTC()
}

func checkMatch(field, v string, p *regexp.Regexp) error {
	if v == "" {
		return channel.Malformed(field, "required")
	}
	if !p.MatchString(v) {
		return channel.Malformed(field, "not a Slack id or timestamp")
	}
	return nil
}

// stripMention removes a leading mention of the app itself ("<@U0BOT>
// hello" → "hello"): it addresses the app, it is not part of the question.
func stripMention(text string, own map[string]bool) string {
	t := strings.TrimLeft(text, " ")
	if !strings.HasPrefix(t, "<@") {
		return text
	}
	end := strings.IndexByte(t, '>')
	if end < 0 {
		return text
	}
	id, _, _ := strings.Cut(t[2:end], "|")
	if !own[id] {
		return text
	}
	return strings.TrimLeft(t[end+1:], " \n")
}

// plainText turns Slack's message markup into what a person reads: the
// control sequences (<@U1|name>, <#C1|general>, <!here>, <url|label>)
// become @name, #general, @here, "label (url)", and the three escaped
// characters (&amp; &lt; &gt;) are unescaped.
func plainText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(controlText(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(b.String())
}

func controlText(c string) string {
	target, label, hasLabel := strings.Cut(c, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		if hasLabel && label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return target
	case strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return "#" + label
		}
		return target
	case strings.HasPrefix(target, "!"):
		if hasLabel && label != "" {
			return label
		}
		name, _, _ := strings.Cut(target[1:], "^")
		return "@" + name
	}
	if !hasLabel || label == "" || label == target {
		return strings.TrimPrefix(target, "mailto:")
	}
	if strings.TrimPrefix(target, "mailto:") == label {
		return label
	}
	return label + " (" + target + ")"
}

// parseInteraction maps a block_actions tap to a message event: ChoiceID
// is the option (or slot) id the button or menu carried, Text the label the
// customer saw.
func (a *Adapter) parseInteraction(body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, channel.Malformed("payload", "not a valid form: %v", err)
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, channel.Malformed("payload", "required")
	}
	if !strings.HasPrefix(strings.TrimLeft(payload, " \t\r\n"), "{") {
		return nil, channel.Malformed("payload", "must be a JSON object")
	}
	var in wireInteraction
	if err := decode([]byte(payload), &in, "payload"); err != nil {
		return nil, err
	}
	if in.Type != "block_actions" {
		return nil, nil // view submissions, shortcuts, option loads: not a conversation
	}
	if err := checkMatch("payload.user.id", in.User.ID, userIDInPayload); err != nil {
		return nil, err
	}
	ch := in.Container.ChannelID
	if ch == "" && in.Channel != nil {
		ch = in.Channel.ID
	}
	if ch == "" {
		return nil, nil // an App Home or modal view, not a conversation
	}
	if err := checkMatch("payload.container.channel_id", ch, channelIDPattern); err != nil {
		return nil, err
	}
	msgTS, threadTS := in.Container.MessageTS, in.Container.ThreadTS
	if in.Message != nil {
		msgTS = firstNonEmpty(msgTS, in.Message.TS)
		threadTS = firstNonEmpty(in.Message.ThreadTS, threadTS)
	}
	if err := checkMatch("payload.container.message_ts", msgTS, tsPattern); err != nil {
		return nil, err
	}
	if threadTS != "" {
		if err := checkMatch("payload.message.thread_ts", threadTS, tsPattern); err != nil {
			return nil, err
		}
	}
	for i, act := range in.Actions {
		choice, text, ok := actionChoice(act, in.State)
		if !ok {
			continue
		}
		if len(choice) > maxValueLen || len(text) > maxTextBytes {
			return nil, channel.Malformed(fmt.Sprintf("payload.actions[%d]", i), "value too long")
		}
		ev := channel.InboundEvent{
			Kind:              channel.EventMessage,
			PlatformMessageID: actionMessageID(ch, msgTS, in.User.ID, act),
			ThreadID:          threadID(ch, "", msgTS, threadTS),
			AuthorID:          in.User.ID,
			AuthorName:        clip(firstNonEmpty(in.User.Name, in.User.Username), 200),
			Text:              text,
			ChoiceID:          choice,
			SentAt:            parseTS(act.ActionTS),
		}
		return []channel.InboundEvent{ev}, nil
	}
	return nil, nil
}

// actionChoice reads one action: the option id and the label shown. ok is
// false for actions that answer nothing (a link button, a change in a
// multi-select before its Send button, a cleared menu).
func actionChoice(act wireAction, state *wireState) (choice, text string, ok bool) {
	label := func(t *wireText) string {
		if t == nil {
			return ""
		}
		return t.Text
	}
	switch act.Type {
	case "button":
		switch {
		case strings.HasPrefix(act.ActionID, actionLinkPrefix):
			return "", "", false // opens a URL in the customer's browser
		case act.ActionID == actionSubmit:
			return submittedChoices(state)
		}
		choice = act.Value
		if choice == "" {
			choice = strings.TrimPrefix(act.ActionID, actionChoicePrefix)
		}
		return choice, firstNonEmpty(label(act.Text), choice), choice != ""
	case "static_select", "external_select", "overflow", "radio_buttons":
		if act.SelectedOption == nil || act.SelectedOption.Value == "" {
			return "", "", false
		}
		o := act.SelectedOption
		return o.Value, firstNonEmpty(o.Text.Text, o.Value), true
	case "multi_static_select", "multi_external_select", "checkboxes":
		if act.ActionID == actionMultiChoice {
			return "", "", false // the Send button answers, with everything picked
		}
		return joinOptions(act.SelectedOptions)
	case "datepicker":
		return "", act.SelectedDate, act.SelectedDate != ""
	case "timepicker":
		return "", act.SelectedTime, act.SelectedTime != ""
	}
	return "", "", false
}

// submittedChoices reads the multi-select of a list picker when its Send
// button is tapped: the state of the message's inputs comes with the tap.
func submittedChoices(state *wireState) (string, string, bool) {
	if state == nil {
		return "", "", false
	}
	blocks := make([]string, 0, len(state.Values))
	for id := range state.Values {
		blocks = append(blocks, id)
	}
	sort.Strings(blocks) // one multi-select per message; sorted all the same, for determinism
	for _, id := range blocks {
		if act, ok := state.Values[id][actionMultiChoice]; ok {
			return joinOptions(act.SelectedOptions)
		}
	}
	return "", "", false
}

func joinOptions(opts []wireOption) (string, string, bool) {
	var ids, labels []string
	for _, o := range opts {
		if o.Value == "" {
			continue
		}
		ids = append(ids, o.Value)
		labels = append(labels, firstNonEmpty(o.Text.Text, o.Value))
	}
	if len(ids) == 0 {
		return "", "", false
	}
	return strings.Join(ids, ","), strings.Join(labels, ", "), true
}

// actionMessageID identifies one tap: the message tapped and the tap's
// own action_ts, which Slack sets once per interaction.
func actionMessageID(ch, msgTS, user string, act wireAction) string {
	if tsPattern.MatchString(act.ActionTS) {
		return "act:" + ch + ":" + msgTS + ":" + act.ActionTS
	}
	h := sha256.Sum256([]byte(user + "\x00" + act.ActionID + "\x00" + act.Value + "\x00" + act.BlockID))
	return "act:" + ch + ":" + msgTS + ":" + hex.EncodeToString(h[:8])
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// urlVerification reads Slack's url_verification request.
func urlVerification(body []byte) (string, bool) {
	var env envelope
	if json.Unmarshal(body, &env) != nil || env.Type != "url_verification" || env.Challenge == "" || len(env.Challenge) > 1024 {
		return "", false
	}
	return env.Challenge, true
}
