// Package fake is a local LINE Messaging API (CHANNELS.md §7): a real HTTP
// server on a loopback port that serves, with LINE's Bearer channel access
// token, validation rules and error documents,
//
//   - POST /v2/bot/message/reply: only reply tokens of webhooks this fake
//     delivered (SendWebhook, Says, Taps, RegisterTokens), each once and
//     within a minute of its webhook, else 400 "Invalid reply token";
//   - POST /v2/bot/message/push: X-Line-Retry-Key checked and remembered
//     (a second push with an accepted key answers 409 with the first one's
//     sentMessages, as LINE does); pushes to a user who blocked the account
//     are accepted and dropped;
//   - GET /v2/bot/message/{id}/content: the customers' media (AddContent);
//   - PUT and GET /v2/bot/channel/webhook/endpoint;
//   - POST /v2/bot/chat/loading/start and /v2/bot/chat/markAsRead.
//
// It records every request (Requests) and accepted send (Messages,
// Received), can be told to fail (FailNext: 429, the monthly limit, 5xx, a
// dropped connection, any 4xx), and builds and signs webhooks exactly as
// LINE does (webhooks.go).
//
// Point a LINE point of contact at it with settings.api_base_url =
// settings.api_data_base_url = URL(), credentials.channel_access_token =
// Options().ChannelAccessToken and credentials.channel_secret =
// Options().ChannelSecret.
//
// The package imports nothing from Parley: it signs and validates on its
// own, so it checks the adapter rather than mirroring it.
package fake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultChannelAccessToken = "fake-line-channel-access-token"
	DefaultChannelSecret      = "8c5fd3a2b1e04f7d9a6c3e2b1d0f4a57"
	DefaultBotUserID          = "U4af4980629e0cd2ab8f7c4b6f2bd0e91"
)

// ReplyTokenLifetime is how long a reply token is accepted after its
// webhook (LINE documents about a minute).
const ReplyTokenLifetime = time.Minute

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// ChannelAccessToken is the only Bearer token accepted.
	ChannelAccessToken string
	// ChannelSecret signs the webhooks of Says and Taps.
	ChannelSecret string
	// BotUserID is the "destination" of the webhooks the fake builds.
	BotUserID string
	// Now is the fake's clock: reply-token lifetime, event timestamps.
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string
	Authorization string
	RetryKey      string
	ContentType   string
	Body          []byte
	// Endpoint is what the fake took it for: reply, push, content,
	// webhook_endpoint, loading, mark_as_read or unknown.
	Endpoint string
	Status   int
	Response []byte
	At       time.Time
}

// JSON decodes the request body (for assertions).
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Message is one accepted reply or push.
type Message struct {
	Endpoint   string // reply or push
	To         string // the push's "to", or the chat the reply token answers
	ReplyToken string
	RetryKey   string
	Messages   []json.RawMessage
	// Body is the raw request body.
	Body json.RawMessage
	// IDs are the sentMessages ids answered, one per message object.
	IDs []string
	// Delivered is false for a push to a user who blocked the account.
	Delivered bool
}

// Failure is a scripted answer of the reply and push endpoints.
type Failure struct {
	// After lets that many send requests through first.
	After int
	// Status is the HTTP status (default 400). Drop closes the connection
	// without answering instead.
	Status int
	Drop   bool
	// LINE's error document: {"message","details":[{"message","property"}]}.
	Message    string
	Details    []Detail
	RetryAfter string
}

// Detail is one entry of an error document's details.
type Detail struct {
	Message  string `json:"message,omitempty"`
	Property string `json:"property,omitempty"`
}

// RateLimited is LINE's 429 for the per-channel rate limit (LINE sends no
// Retry-After; give one to test that it is honoured).
func RateLimited(retryAfter string) Failure {
	return Failure{Status: http.StatusTooManyRequests, Message: "The API rate limit has been exceeded. Try again later.", RetryAfter: retryAfter}
}

// MonthlyLimit is LINE's 429 when the monthly message quota is used up.
func MonthlyLimit() Failure {
	return Failure{Status: http.StatusTooManyRequests, Message: "You have reached your monthly limit."}
}

// InvalidReplyToken is LINE's 400 for an expired or used reply token.
func InvalidReplyToken() Failure {
	return Failure{Status: http.StatusBadRequest, Message: "Invalid reply token"}
}

// ServerError is a transient failure.
func ServerError() Failure {
	return Failure{Status: http.StatusInternalServerError, Message: "Internal Server Error"}
}

// Server is the fake LINE platform.
type Server struct {
	opts   Options
	url    string
	srv    *http.Server
	client *http.Client

	mu         sync.Mutex
	requests   []Request
	messages   []*Message
	failures   []Failure
	seq        int64
	replyToks  map[string]*replyToken
	readToks   map[string]bool
	retryKeys  map[string]acceptedPush
	blocked    map[string]bool
	content    map[string]mediaFile
	webhookURL string
	loading    []string
	marked     []string
}

type replyToken struct {
	chat   string
	issued time.Time
	used   bool
}

type acceptedPush struct {
	requestID string
	sent      []sentMessage
}

type sentMessage struct {
	ID         string `json:"id"`
	QuoteToken string `json:"quoteToken,omitempty"`
}

type mediaFile struct {
	mimeType string
	data     []byte
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.ChannelAccessToken == "" {
		opts.ChannelAccessToken = DefaultChannelAccessToken
	}
	if opts.ChannelSecret == "" {
		opts.ChannelSecret = DefaultChannelSecret
	}
	if opts.BotUserID == "" {
		opts.BotUserID = DefaultBotUserID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, url: "http://" + ln.Addr().String(), client: &http.Client{Timeout: 30 * time.Second},
		replyToks: map[string]*replyToken{}, readToks: map[string]bool{}, retryKeys: map[string]acceptedPush{},
		blocked: map[string]bool{}, content: map[string]mediaFile{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base URL of both API hosts (api.line.me and
// api-data.line.me), e.g. http://127.0.0.1:1234.
func (s *Server) URL() string { return s.url }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

func (s *Server) now() time.Time { return s.opts.Now() }

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the accepted replies and pushes, in order (copies).
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		out = append(out, *m)
	}
	return out
}

// Received lists the raw request bodies of the replies and pushes that
// reached a user, group or room: what that customer's LINE app shows. to
// goes through UserIDFor, as in Says and Taps.
func (s *Server) Received(to string) []json.RawMessage {
	to = UserIDFor(to)
	var out []json.RawMessage
	for _, m := range s.Messages() {
		if m.To == to && m.Delivered {
			out = append(out, m.Body)
		}
	}
	return out
}

// Reset forgets recorded requests and messages, pending failures, issued
// tokens and accepted retry keys.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.messages, s.failures = nil, nil, nil
	s.replyToks, s.readToks, s.retryKeys = map[string]*replyToken{}, map[string]bool{}, map[string]acceptedPush{}
	s.loading, s.marked = nil, nil
	s.mu.Unlock()
}

// FailNext queues failures, used in order by the next reply or push
// requests.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Block makes a user block the account: pushes to them are accepted and
// dropped, as LINE does (SendWebhook of an unfollow event blocks too).
func (s *Server) Block(userID string) {
	s.mu.Lock()
	s.blocked[userID] = true
	s.mu.Unlock()
}

// Unblock lifts Block (a follow event does too).
func (s *Server) Unblock(userID string) {
	s.mu.Lock()
	delete(s.blocked, userID)
	s.mu.Unlock()
}

// AddContent serves data as the content of a customer's message id.
func (s *Server) AddContent(messageID, mimeType string, data []byte) {
	s.mu.Lock()
	s.content[messageID] = mediaFile{mimeType, append([]byte(nil), data...)}
	s.mu.Unlock()
}

// WebhookEndpoint is the URL last set with PUT /v2/bot/channel/webhook/endpoint.
func (s *Server) WebhookEndpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhookURL
}

// Loading lists the chat ids a loading animation was shown to.
func (s *Server) Loading() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.loading...)
}

// MarkedRead lists the markAsReadTokens used.
func (s *Server) MarkedRead() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.marked...)
}

// lineError writes LINE's error document.
func lineError(w http.ResponseWriter, status int, message string, details ...Detail) {
	body := map[string]any{"message": message}
	if len(details) > 0 {
		body["details"] = details
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recorder keeps the status and body answered.
type recorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if len(r.body) < 64<<10 {
		r.body = append(r.body, b...)
	}
	return r.ResponseWriter.Write(b)
}

var contentPath = regexp.MustCompile(`^/v2/bot/message/([^/]+)/content$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
		RetryKey: r.Header.Get("X-Line-Retry-Key"), ContentType: r.Header.Get("Content-Type"), Body: body, Endpoint: "unknown", At: s.now()}
	rec := &recorder{ResponseWriter: w}
	rec.Header().Set("X-Line-Request-Id", newRequestID())
	defer func() {
		req.Status, req.Response = rec.status, rec.body
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
	}()
	route := func(method, endpoint string) bool {
		req.Endpoint = endpoint
		if r.Method != method {
			lineError(rec, http.StatusMethodNotAllowed, "Method Not Allowed")
			return false
		}
		if !s.authorised(r) {
			lineError(rec, http.StatusUnauthorized, "Authentication failed. Confirm that the access token in the authorization header is valid.")
			return false
		}
		return true
	}
	switch p := r.URL.Path; {
	case p == "/v2/bot/message/reply":
		if route(http.MethodPost, "reply") {
			s.send(rec, r, body, "reply")
		}
	case p == "/v2/bot/message/push":
		if route(http.MethodPost, "push") {
			s.send(rec, r, body, "push")
		}
	case contentPath.MatchString(p):
		if route(http.MethodGet, "content") {
			s.serveContent(rec, contentPath.FindStringSubmatch(p)[1])
		}
	case p == "/v2/bot/channel/webhook/endpoint":
		req.Endpoint = "webhook_endpoint"
		if r.Method == http.MethodGet && s.authorised(r) {
			writeJSON(rec, http.StatusOK, map[string]any{"endpoint": s.WebhookEndpoint(), "active": s.WebhookEndpoint() != ""})
		} else if route(http.MethodPut, "webhook_endpoint") {
			s.setWebhook(rec, body)
		}
	case p == "/v2/bot/chat/loading/start":
		if route(http.MethodPost, "loading") {
			s.startLoading(rec, body)
		}
	case p == "/v2/bot/chat/markAsRead":
		if route(http.MethodPost, "mark_as_read") {
			s.markAsRead(rec, body)
		}
	default:
		lineError(rec, http.StatusNotFound, "Not found")
	}
}

func (s *Server) authorised(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && tok == s.opts.ChannelAccessToken
}

// nextFailure takes the failure due for this send request, if any.
func (s *Server) nextFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return Failure{}, false
	}
	if s.failures[0].After > 0 {
		s.failures[0].After--
		return Failure{}, false
	}
	f := s.failures[0]
	s.failures = s.failures[1:]
	return f, true
}

var (
	chatID   = regexp.MustCompile(`^[UCR][0-9a-f]{32}$`)
	uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// sendRequest is the body of reply and push.
type sendRequest struct {
	ReplyToken           *string           `json:"replyToken"`
	To                   *string           `json:"to"`
	Messages             []json.RawMessage `json:"messages"`
	NotificationDisabled *bool             `json:"notificationDisabled"`
}

func (s *Server) send(w *recorder, r *http.Request, body []byte, endpoint string) {
	if f, ok := s.nextFailure(); ok {
		if f.Drop {
			if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
		}
		if f.Status == 0 {
			f.Status = http.StatusBadRequest
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		lineError(w, f.Status, f.Message, f.Details...)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		lineError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	var req sendRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		lineError(w, http.StatusBadRequest, "The request body has 1 error(s)", Detail{Message: "malformed JSON: " + err.Error()})
		return
	}
	var details []Detail
	var to string
	retryKey := r.Header.Get("X-Line-Retry-Key")
	if endpoint == "reply" {
		if req.ReplyToken == nil || *req.ReplyToken == "" {
			details = append(details, Detail{Message: "must be specified", Property: "replyToken"})
		}
		if req.To != nil {
			details = append(details, Detail{Message: "unknown property", Property: "to"})
		}
	} else {
		if req.To == nil || !chatID.MatchString(*req.To) {
			lineError(w, http.StatusBadRequest, "The property, 'to', in the request body is invalid (line: -, column: -)")
			return
		}
		if req.ReplyToken != nil {
			details = append(details, Detail{Message: "unknown property", Property: "replyToken"})
		}
		to = *req.To
		if retryKey != "" && !uuidForm.MatchString(retryKey) {
			lineError(w, http.StatusBadRequest, "The value of the X-Line-Retry-Key header is invalid")
			return
		}
	}
	switch n := len(req.Messages); {
	case n == 0:
		details = append(details, Detail{Message: "Size must be between 1 and 5", Property: "messages"})
	case n > 5:
		details = append(details, Detail{Message: "Size must be between 1 and 5", Property: "messages"})
	}
	for i, m := range req.Messages {
		details = append(details, validateMessage(fmt.Sprintf("messages[%d]", i), m)...)
	}
	if len(details) > 0 {
		lineError(w, http.StatusBadRequest, fmt.Sprintf("The request body has %d error(s)", len(details)), details...)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if endpoint == "reply" {
		t, ok := s.replyToks[*req.ReplyToken]
		if !ok || t.used || s.now().Sub(t.issued) > ReplyTokenLifetime {
			lineError(w, http.StatusBadRequest, "Invalid reply token")
			return
		}
		t.used = true
		to = t.chat
	} else if retryKey != "" {
		if prev, ok := s.retryKeys[strings.ToLower(retryKey)]; ok {
			w.Header().Set("X-Line-Accepted-Request-Id", prev.requestID)
			writeJSON(w, http.StatusConflict, map[string]any{"message": "The retry key is already accepted", "sentMessages": prev.sent})
			return
		}
	}
	sent := make([]sentMessage, 0, len(req.Messages))
	ids := make([]string, 0, len(req.Messages))
	for range req.Messages {
		s.seq++
		id := strconv.FormatInt(500000000000000000+s.seq, 10)
		sent = append(sent, sentMessage{ID: id, QuoteToken: randomHex(16)})
		ids = append(ids, id)
	}
	m := &Message{Endpoint: endpoint, To: to, RetryKey: retryKey, Messages: req.Messages, Body: append(json.RawMessage(nil), body...),
		IDs: ids, Delivered: !s.blocked[to]}
	if req.ReplyToken != nil {
		m.ReplyToken = *req.ReplyToken
	}
	s.messages = append(s.messages, m)
	if endpoint == "push" && retryKey != "" {
		s.retryKeys[strings.ToLower(retryKey)] = acceptedPush{requestID: w.Header().Get("X-Line-Request-Id"), sent: sent}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sentMessages": sent})
}

func (s *Server) serveContent(w http.ResponseWriter, id string) {
	s.mu.Lock()
	f, ok := s.content[id]
	s.mu.Unlock()
	if !ok {
		lineError(w, http.StatusNotFound, "Not found")
		return
	}
	w.Header().Set("Content-Type", f.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

func (s *Server) setWebhook(w http.ResponseWriter, body []byte) {
	var in struct {
		Endpoint string `json:"endpoint"`
	}
	if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(in.Endpoint, "https://") || len(in.Endpoint) > 500 {
		lineError(w, http.StatusBadRequest, "Invalid webhook endpoint URL")
		return
	}
	s.mu.Lock()
	s.webhookURL = in.Endpoint
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) startLoading(w http.ResponseWriter, body []byte) {
	var in struct {
		ChatID         string `json:"chatId"`
		LoadingSeconds *int   `json:"loadingSeconds"`
	}
	if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(in.ChatID, "U") || !chatID.MatchString(in.ChatID) {
		lineError(w, http.StatusBadRequest, "The property, 'chatId', in the request body is invalid")
		return
	}
	if in.LoadingSeconds != nil && (*in.LoadingSeconds < 5 || *in.LoadingSeconds > 60 || *in.LoadingSeconds%5 != 0) {
		lineError(w, http.StatusBadRequest, "The property, 'loadingSeconds', in the request body is invalid")
		return
	}
	s.mu.Lock()
	s.loading = append(s.loading, in.ChatID)
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

func (s *Server) markAsRead(w http.ResponseWriter, body []byte) {
	var in struct {
		MarkAsReadToken string `json:"markAsReadToken"`
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	ok := s.readToks[in.MarkAsReadToken]
	if ok {
		s.marked = append(s.marked, in.MarkAsReadToken)
	}
	s.mu.Unlock()
	if !ok {
		lineError(w, http.StatusBadRequest, "An invalid markAsReadToken is specified.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
