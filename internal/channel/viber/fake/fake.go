// Package fake is a local Viber REST bot API (CHANNELS.md §8): a real HTTP
// server on a loopback port answering POST /pa/send_message,
// /pa/set_webhook and /pa/get_account_info like Viber — the
// X-Viber-Auth-Token, HTTP 200 with a status (0 ok, 2 invalidAuthToken,
// 3 badData, 4 missingData, 6 receiverNotSubscribed, 13
// apiVersionNotSupported, 14 incompatibleWithVersion…), the message shapes
// and limits, message tokens above 2^53 — and recording every request. It
// can be told to fail (a Viber status, an HTTP status with Retry-After, a
// dropped connection). set_webhook checks the URL the way Viber does:
// before answering, it posts a signed {"event":"webhook"} callback there
// and fails with status 1 unless the answer is a 200.
//
// It also plays the customer (webhooks.go): it builds the documented
// callbacks (messages, keyboard taps, pictures, receipts, subscriptions),
// echoes the tracking_data of the last message sent to a customer with
// their next message as Viber does, and posts them signed with
// X-Viber-Content-Signature.
//
// Point a Viber point of contact at it with settings.api_base_url = URL()
// and credentials.auth_token = Options().AuthToken. The package imports
// nothing from Parley's adapter: it checks the adapter rather than
// mirroring it.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultAuthToken is the bot token when Options.AuthToken is empty.
const DefaultAuthToken = "4453b6ac1b35f4a4-a0c9b0b7f52a4ef2-e8f1f7b8a8e5c2d1"

// DefaultAPIVersion is the api_version of customers the fake does not know.
const DefaultAPIVersion = 10

// Message tokens. Both exceed 2^53, so a client reading them as float64
// loses digits: FirstMessageToken numbers the fake's accepted sends,
// FirstInboundToken (the CHANNELS.md sample's) the callbacks it builds.
const (
	FirstMessageToken int64 = 5741311803571721087
	FirstInboundToken int64 = 4912661846655238145
)

// Limits the fake enforces, as Viber documents them.
const (
	MaxSenderName   = 28
	MaxText         = 7000
	MaxCaption      = 512
	MaxTrackingData = 4096
	MaxButtonText   = 250
	MaxFileName     = 256
	MaxFileSize     = 50 << 20
	MaxMessageBytes = 30 << 10
)

// Options configure the fake.
type Options struct {
	// AuthToken is the only X-Viber-Auth-Token accepted, and the key that
	// signs the callbacks the fake posts. Default DefaultAuthToken.
	AuthToken string
	// RequireHTTPS refuses http webhook URLs, as Viber does; off by default
	// so tests and the sandbox can use loopback http servers.
	RequireHTTPS bool
	// StrictSubscribers refuses messages (status 6) to users the fake has
	// not seen write or subscribe, as Viber does. Off by default: any
	// receiver is accepted unless Unsubscribe was called for it.
	StrictSubscribers bool
	// Now is the fake's clock for callback timestamps; time.Now by default.
	Now func() time.Time
	// Client posts the callbacks; default one with a 10-second timeout.
	Client *http.Client
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	// Token is the X-Viber-Auth-Token presented.
	Token string
	Body  json.RawMessage
	// HTTPStatus is what the fake answered, Response its body.
	HTTPStatus int
	Response   json.RawMessage
	At         time.Time
}

// JSON decodes the body into a generic value (for assertions).
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Message is an accepted send_message.
type Message struct {
	// Token is the message_token answered, in decimal.
	Token    string
	Receiver string
	Type     string
	// Body is the raw request body.
	Body json.RawMessage
	At   time.Time
}

// Failure is a scripted answer to the next API call.
type Failure struct {
	// Status and StatusMessage are the Viber status answered with HTTP 200
	// (e.g. 12, "Too many requests").
	Status        int
	StatusMessage string
	// HTTPStatus, when set, answers that HTTP status instead (with
	// RetryAfter as Retry-After): a gateway's refusal rather than Viber's.
	HTTPStatus int
	RetryAfter string
	// Drop closes the connection without answering.
	Drop bool
}

// TooManyRequests is Viber's rate control (status 12): 100 messages an
// hour to a user who has not replied.
func TooManyRequests() Failure { return Failure{Status: 12, StatusMessage: "Too many requests"} }

// NotSubscribed is status 6: the user is not subscribed to the bot.
func NotSubscribed() Failure { return Failure{Status: 6, StatusMessage: "receiverNotSubscribed"} }

// NotRegistered is status 5: the user is not on Viber.
func NotRegistered() Failure { return Failure{Status: 5, StatusMessage: "receiverNotRegistered"} }

// InvalidAuthToken is status 2.
func InvalidAuthToken() Failure { return Failure{Status: 2, StatusMessage: "invalidAuthToken"} }

// APIVersionNotSupported is status 13: the user's Viber is older than the
// message's min_api_version.
func APIVersionNotSupported() Failure {
	return Failure{Status: 13, StatusMessage: "apiVersionNotSupported"}
}

// ServerError is an HTTP 500 from Viber's front end.
func ServerError() Failure { return Failure{HTTPStatus: http.StatusInternalServerError} }

// Throttled is an HTTP 429 with a Retry-After from Viber's front end.
func Throttled(retryAfter string) Failure {
	return Failure{HTTPStatus: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// Customer is a Viber user as callbacks describe them.
type Customer struct {
	ID       string
	Name     string
	Avatar   string
	Country  string
	Language string
	// APIVersion is the highest API version of the user's devices;
	// DefaultAPIVersion when 0.
	APIVersion int
}

type userState struct {
	subscribed   bool
	unsubscribed bool
	apiVersion   int
	// tracking is the tracking_data of the last message sent to the
	// user: Viber returns it with the user's next message.
	tracking string
}

type mediaFile struct {
	mimeType string
	data     []byte
}

// Server is the fake.
type Server struct {
	opts     Options
	url      string
	srv      *http.Server
	mu       sync.Mutex
	requests []Request
	messages []Message
	failures []Failure
	sent     int64 // send_message tokens given
	inbound  int64 // callback tokens given
	webhook  string
	events   []string
	users    map[string]*userState
	media    map[string]mediaFile
}

// Start listens on a loopback port.
func Start(opts Options) (*Server, error) {
	if opts.AuthToken == "" {
		opts.AuthToken = DefaultAuthToken
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, url: "http://" + ln.Addr().String(), users: map[string]*userState{}, media: map[string]mediaFile{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pa/send_message", s.serveSend)
	mux.HandleFunc("POST /pa/set_webhook", s.serveSetWebhook)
	mux.HandleFunc("POST /pa/get_account_info", s.serveAccountInfo)
	mux.HandleFunc("GET /media/{name}", s.serveMedia)
	mux.HandleFunc("/", s.serveUnknown)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the API base URL to configure as settings.api_base_url.
func (s *Server) URL() string { return s.url }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// FailNext queues scripted failures, answered (in order) to the next API
// calls before normal service resumes.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Requests returns every request received, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the accepted sends, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Received lists the raw send_message bodies accepted for one user, in
// order: what the customer's phone shows.
func (s *Server) Received(to string) []json.RawMessage {
	var out []json.RawMessage
	for _, m := range s.Messages() {
		if m.Receiver == to {
			out = append(out, m.Body)
		}
	}
	return out
}

// WebhookURL is the URL set_webhook last set ("" when none).
func (s *Server) WebhookURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// EventTypes are the event types set_webhook last set.
func (s *Server) EventTypes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// Reset forgets requests, messages, queued failures and users, and
// restarts the token sequences; the webhook stays set.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.messages, s.failures = nil, nil, nil
	s.sent, s.inbound = 0, 0
	s.users = map[string]*userState{}
	s.mu.Unlock()
}

// Subscribe makes a user subscribed to the bot (as their first message or
// a subscribe tap does), with their devices' API version.
func (s *Server) Subscribe(c Customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(c.ID)
	u.subscribed, u.unsubscribed = true, false
	if c.APIVersion > 0 {
		u.apiVersion = c.APIVersion
	}
}

// Unsubscribe makes a user leave the bot: sends to them fail with status 6
// until they write again.
func (s *Server) Unsubscribe(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(userID)
	u.subscribed, u.unsubscribed = false, true
}

func (s *Server) userLocked(id string) *userState {
	u := s.users[id]
	if u == nil {
		u = &userState{apiVersion: DefaultAPIVersion}
		s.users[id] = u
	}
	return u
}

// AddMedia serves a file at MediaURL(name) (a stand-in for Viber's media
// storage, for the URLs of inbound pictures and files).
func (s *Server) AddMedia(name, mimeType string, data []byte) {
	s.mu.Lock()
	s.media[name] = mediaFile{mimeType, append([]byte(nil), data...)}
	s.mu.Unlock()
}

// MediaURL is where the fake serves a media file; names never added serve
// a 1×1 PNG image.
func (s *Server) MediaURL(name string) string { return s.url + "/media/" + url.PathEscape(name) }

// pngPixel is the image served for media the fake was not given.
const pngPixel = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.media[r.PathValue("name")]
	s.mu.Unlock()
	if !ok {
		f = mediaFile{"image/png", []byte(pngPixel)}
	}
	w.Header().Set("Content-Type", f.mimeType)
	_, _ = w.Write(f.data)
}

func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.record(r, body, http.StatusNotFound, nil)
	http.NotFound(w, r)
}

func (s *Server) record(r *http.Request, body []byte, status int, response []byte) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Token: r.Header.Get("X-Viber-Auth-Token"),
		Body: append(json.RawMessage(nil), body...), HTTPStatus: status, Response: append(json.RawMessage(nil), response...), At: s.opts.Now()})
	s.mu.Unlock()
}

// answer records the request and writes a status document with HTTP 200.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, body []byte, payload map[string]any) {
	out, _ := json.Marshal(payload)
	s.record(r, body, http.StatusOK, out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func statusDoc(status int, message string) map[string]any {
	return map[string]any{"status": status, "status_message": message}
}

// begin reads the body, applies a scripted failure and checks the token;
// it reports whether the handler should go on.
func (s *Server) begin(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		fail = &f
	}
	s.mu.Unlock()
	if fail != nil {
		switch {
		case fail.Drop:
			s.record(r, body, 0, nil)
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return nil, false
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		case fail.HTTPStatus != 0:
			if fail.RetryAfter != "" {
				w.Header().Set("Retry-After", fail.RetryAfter)
			}
			text := http.StatusText(fail.HTTPStatus)
			s.record(r, body, fail.HTTPStatus, []byte(text))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(fail.HTTPStatus)
			_, _ = io.WriteString(w, text)
		default:
			s.answer(w, r, body, statusDoc(fail.Status, fail.StatusMessage))
		}
		return nil, false
	}
	if tok := r.Header.Get("X-Viber-Auth-Token"); tok == "" || tok != s.opts.AuthToken {
		s.answer(w, r, body, statusDoc(2, "invalidAuthToken"))
		return nil, false
	}
	return body, true
}

func (s *Server) serveAccountInfo(w http.ResponseWriter, r *http.Request) {
	body, ok := s.begin(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	hook, events := s.webhook, append([]string{}, s.events...)
	s.mu.Unlock()
	s.answer(w, r, body, map[string]any{"status": 0, "status_message": "ok", "id": "pa:5747458461684567898", "name": "Fake bot",
		"uri": "fakebot", "category": "Companies", "subcategory": "Customer service", "webhook": hook, "event_types": events,
		"subscribers_count": 0, "members": []any{}})
}

// webhookEvents are the event types set_webhook accepts.
func webhookEvents() []string {
	return []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}
}

func (s *Server) serveSetWebhook(w http.ResponseWriter, r *http.Request) {
	body, ok := s.begin(w, r)
	if !ok {
		return
	}
	var req struct {
		URL        *string  `json:"url"`
		EventTypes []string `json:"event_types"`
		SendName   bool     `json:"send_name"`
		SendPhoto  bool     `json:"send_photo"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.answer(w, r, body, statusDoc(3, "badData: "+err.Error()))
		return
	}
	if req.URL == nil {
		s.answer(w, r, body, statusDoc(4, "missingData: url"))
		return
	}
	if *req.URL == "" { // an empty URL removes the webhook
		s.mu.Lock()
		s.webhook, s.events = "", nil
		s.mu.Unlock()
		s.answer(w, r, body, statusDoc(0, "ok"))
		return
	}
	u, err := url.Parse(*req.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (u.Scheme != "http" || s.opts.RequireHTTPS)) {
		s.answer(w, r, body, statusDoc(1, "invalidUrl"))
		return
	}
	events := req.EventTypes
	for _, e := range events {
		if !contains(webhookEvents(), e) {
			s.answer(w, r, body, statusDoc(3, "badData: unknown event type "+e))
			return
		}
	}
	if len(events) == 0 {
		events = webhookEvents()
	}
	// Viber checks the URL before answering: a signed "webhook" callback
	// that must get a 200.
	check := WebhookCheck(s.nextInboundToken(), s.opts.Now())
	resp, err := SendWebhookWith(s.opts.Client, *req.URL, s.opts.AuthToken, check.JSON())
	if err != nil {
		s.answer(w, r, body, statusDoc(1, "invalidUrl: "+err.Error()))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.answer(w, r, body, statusDoc(1, fmt.Sprintf("invalidUrl: the webhook answered HTTP %d", resp.StatusCode)))
		return
	}
	s.mu.Lock()
	s.webhook, s.events = *req.URL, append([]string(nil), events...)
	s.mu.Unlock()
	s.answer(w, r, body, map[string]any{"status": 0, "status_message": "ok", "event_types": events})
}

func (s *Server) nextInboundToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := FirstInboundToken + s.inbound
	s.inbound++
	return strconv.FormatInt(t, 10)
}

// sendRequest is the shape of a send_message body.
type sendRequest struct {
	Receiver      string          `json:"receiver"`
	MinAPIVersion *json.Number    `json:"min_api_version"`
	Sender        *senderObject   `json:"sender"`
	TrackingData  *string         `json:"tracking_data"`
	Type          string          `json:"type"`
	Text          *string         `json:"text"`
	Media         string          `json:"media"`
	Thumbnail     string          `json:"thumbnail"`
	Size          *json.Number    `json:"size"`
	Duration      *json.Number    `json:"duration"`
	FileName      string          `json:"file_name"`
	StickerID     *json.Number    `json:"sticker_id"`
	Location      *locationObject `json:"location"`
	Contact       *struct {
		Name        string `json:"name"`
		PhoneNumber string `json:"phone_number"`
	} `json:"contact"`
	RichMedia *buttonGroup `json:"rich_media"`
	AltText   string       `json:"alt_text"`
	Keyboard  *buttonGroup `json:"keyboard"`
}

type senderObject struct {
	Name   string `json:"name"`
	Avatar string `json:"avatar"`
}

type locationObject struct {
	Lat *float64 `json:"lat"`
	Lon *float64 `json:"lon"`
}

// buttonGroup is a keyboard or a rich_media object.
type buttonGroup struct {
	Type                string        `json:"Type"`
	ButtonsGroupColumns int           `json:"ButtonsGroupColumns"`
	ButtonsGroupRows    int           `json:"ButtonsGroupRows"`
	Buttons             []buttonShape `json:"Buttons"`
}

type buttonShape struct {
	Columns    int     `json:"Columns"`
	Rows       int     `json:"Rows"`
	ActionType string  `json:"ActionType"`
	ActionBody *string `json:"ActionBody"`
	Text       string  `json:"Text"`
	Image      string  `json:"Image"`
	BgColor    string  `json:"BgColor"`
	BgMedia    string  `json:"BgMedia"`
}

func (s *Server) serveSend(w http.ResponseWriter, r *http.Request) {
	body, ok := s.begin(w, r)
	if !ok {
		return
	}
	var req sendRequest
	if len(body) > MaxMessageBytes {
		s.answer(w, r, body, statusDoc(3, "badData: the message is over 30 KB"))
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.answer(w, r, body, statusDoc(3, "badData: "+err.Error()))
		return
	}
	minVersion, code, msg := checkSend(&req)
	if code != 0 {
		s.answer(w, r, body, statusDoc(code, msg))
		return
	}
	s.mu.Lock()
	u, known := s.users[req.Receiver]
	switch {
	case known && u.unsubscribed, !known && s.opts.StrictSubscribers, known && !u.subscribed && s.opts.StrictSubscribers:
		s.mu.Unlock()
		s.answer(w, r, body, statusDoc(6, "receiverNotSubscribed"))
		return
	}
	version := DefaultAPIVersion
	if known {
		version = u.apiVersion
	}
	if minVersion > version {
		s.mu.Unlock()
		s.answer(w, r, body, statusDoc(13, "apiVersionNotSupported"))
		return
	}
	token := strconv.FormatInt(FirstMessageToken+s.sent, 10)
	s.sent++
	u = s.userLocked(req.Receiver)
	u.tracking = ""
	if req.TrackingData != nil {
		u.tracking = *req.TrackingData
	}
	s.messages = append(s.messages, Message{Token: token, Receiver: req.Receiver, Type: req.Type, Body: append(json.RawMessage(nil), body...), At: s.opts.Now()})
	s.mu.Unlock()
	s.answer(w, r, body, map[string]any{"status": 0, "status_message": "ok", "message_token": json.Number(token),
		"chat_hostname": "SN-CHAT-05_", "billing_status": 1})
}

// checkSend validates a send_message body like Viber; it returns the
// message's min_api_version, or a non-zero status and its message.
func checkSend(req *sendRequest) (int, int, string) {
	minVersion := 1
	if req.MinAPIVersion != nil {
		v, err := strconv.Atoi(req.MinAPIVersion.String())
		if err != nil || v < 1 {
			return 0, 3, "badData: min_api_version must be a positive integer"
		}
		minVersion = v
	}
	switch {
	case req.Receiver == "":
		return 0, 4, "missingData: receiver"
	case req.Sender == nil || req.Sender.Name == "":
		return 0, 4, "missingData: sender.name"
	case utf8.RuneCountInString(req.Sender.Name) > MaxSenderName:
		return 0, 3, "badData: sender.name is longer than 28 characters"
	case req.Sender.Avatar != "" && !isURL(req.Sender.Avatar):
		return 0, 3, "badData: sender.avatar must be a URL"
	case req.TrackingData != nil && utf8.RuneCountInString(*req.TrackingData) > MaxTrackingData:
		return 0, 3, "badData: tracking_data is longer than 4096 characters"
	case req.Type == "":
		return 0, 4, "missingData: type"
	}
	switch req.Type {
	case "text":
		if req.Text == nil || *req.Text == "" {
			return 0, 4, "missingData: text"
		}
		if utf8.RuneCountInString(*req.Text) > MaxText {
			return 0, 3, "badData: text is longer than 7000 characters"
		}
	case "picture":
		if !isURL(req.Media) {
			return 0, 4, "missingData: media"
		}
		if req.Text == nil {
			return 0, 4, "missingData: text (the picture's description; it may be empty)"
		}
		if utf8.RuneCountInString(*req.Text) > MaxCaption {
			return 0, 3, "badData: a picture's text is longer than 512 characters"
		}
	case "video":
		if !isURL(req.Media) || !positive(req.Size) {
			return 0, 4, "missingData: media and size"
		}
	case "file":
		if !isURL(req.Media) || !positive(req.Size) || req.FileName == "" {
			return 0, 4, "missingData: media, size and file_name"
		}
		if n, _ := strconv.ParseInt(req.Size.String(), 10, 64); n > MaxFileSize {
			return 0, 3, "badData: files may be at most 50 MB"
		}
		if utf8.RuneCountInString(req.FileName) > MaxFileName {
			return 0, 3, "badData: file_name is longer than 256 characters"
		}
		if forbidden(path.Ext(req.FileName)) {
			return 0, 3, "badData: this file type is forbidden"
		}
	case "location":
		l := req.Location
		if l == nil || l.Lat == nil || l.Lon == nil {
			return 0, 4, "missingData: location.lat and location.lon"
		}
		if *l.Lat < -90 || *l.Lat > 90 || *l.Lon < -180 || *l.Lon > 180 {
			return 0, 3, "badData: location out of range"
		}
	case "contact":
		if req.Contact == nil || req.Contact.Name == "" || req.Contact.PhoneNumber == "" {
			return 0, 4, "missingData: contact.name and contact.phone_number"
		}
	case "url":
		if !isURL(req.Media) || len(req.Media) > 2000 {
			return 0, 4, "missingData: media (a URL of at most 2000 characters)"
		}
	case "sticker":
		if req.StickerID == nil {
			return 0, 4, "missingData: sticker_id"
		}
	case "rich_media":
		if minVersion < 2 {
			return 0, 14, "incompatibleWithVersion: rich_media needs min_api_version 2"
		}
		if code, msg := checkGroup(req.RichMedia, "rich_media", 7); code != 0 {
			return 0, code, msg
		}
		if utf8.RuneCountInString(req.AltText) > MaxText {
			return 0, 3, "badData: alt_text is longer than 7000 characters"
		}
	default:
		return 0, 3, "badData: unknown message type " + req.Type
	}
	if req.Keyboard != nil {
		if code, msg := checkGroup(req.Keyboard, "keyboard", 2); code != 0 {
			return 0, code, msg
		}
	}
	return minVersion, 0, ""
}

// checkGroup validates a keyboard (rows of buttons up to 2 high) or a
// rich_media (groups of ButtonsGroupColumns × ButtonsGroupRows).
func checkGroup(g *buttonGroup, kind string, maxRows int) (int, string) {
	if g == nil {
		return 4, "missingData: " + kind
	}
	if g.Type != kind {
		return 3, fmt.Sprintf("badData: %s.Type must be %q", kind, kind)
	}
	if len(g.Buttons) == 0 {
		return 4, "missingData: " + kind + ".Buttons"
	}
	cols, rows := 6, maxRows
	if kind == "rich_media" {
		cols, rows = g.ButtonsGroupColumns, g.ButtonsGroupRows
		if cols == 0 {
			cols = 6
		}
		if rows == 0 {
			rows = 7
		}
		if cols < 1 || cols > 6 || rows < 1 || rows > 7 {
			return 3, "badData: ButtonsGroupColumns must be 1–6 and ButtonsGroupRows 1–7"
		}
	}
	for i, b := range g.Buttons {
		c, r := b.Columns, b.Rows
		if c == 0 {
			c = cols
		}
		if r == 0 {
			r = 1
		}
		if c < 1 || c > cols || r < 1 || r > rows {
			return 3, fmt.Sprintf("badData: %s.Buttons[%d] is %d×%d; at most %d columns × %d rows", kind, i, c, r, cols, rows)
		}
		switch b.ActionType {
		case "", "reply", "open-url", "location-picker", "share-phone", "none":
		default:
			return 3, fmt.Sprintf("badData: %s.Buttons[%d].ActionType %q is not one of reply, open-url, location-picker, share-phone, none", kind, i, b.ActionType)
		}
		if b.ActionBody == nil || *b.ActionBody == "" {
			return 4, fmt.Sprintf("missingData: %s.Buttons[%d].ActionBody", kind, i)
		}
		if b.ActionType == "open-url" && !isURL(*b.ActionBody) {
			return 3, fmt.Sprintf("badData: %s.Buttons[%d].ActionBody must be a URL for open-url", kind, i)
		}
		if utf8.RuneCountInString(b.Text) > MaxButtonText {
			return 3, fmt.Sprintf("badData: %s.Buttons[%d].Text is longer than 250 characters", kind, i)
		}
		if b.Text == "" && b.Image == "" && b.BgColor == "" && b.BgMedia == "" {
			return 4, fmt.Sprintf("missingData: %s.Buttons[%d] needs Text, Image, BgMedia or BgColor", kind, i)
		}
	}
	return 0, ""
}

func positive(n *json.Number) bool {
	if n == nil {
		return false
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	return err == nil && v > 0
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "tel" || u.Scheme == "viber") && (u.Host != "" || u.Opaque != "")
}

// forbidden lists the executable and script types Viber refuses as files.
func forbidden(ext string) bool {
	switch strings.ToLower(strings.TrimPrefix(ext, ".")) {
	case "action", "apk", "app", "bat", "bin", "cmd", "com", "command", "cpl", "csh", "exe", "gadget", "inf1", "ins", "inx",
		"ipa", "isu", "job", "jse", "ksh", "lnk", "msc", "msi", "msp", "mst", "osx", "out", "paf", "pif", "prg", "ps1",
		"reg", "rgs", "run", "sct", "shb", "shs", "u3p", "vb", "vbe", "vbs", "vbscript", "workflow", "ws", "wsf":
		return true
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
