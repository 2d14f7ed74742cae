// Package fake is a local Twilio Programmable Messaging API (CHANNELS.md
// §14): a real HTTP server on a loopback port serving
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json with Twilio's Basic
// auth, validation rules, success and error documents, and media files
// behind Basic auth as Twilio serves an MMS's media. It records every
// request, can be told to fail (HTTP status, Twilio error code,
// Retry-After, a dropped connection), and builds and sends signed webhooks
// (webhooks.go): inbound SMS and MMS, and status callbacks to the
// StatusCallback a message was sent with (Deliver).
//
// Point an SMS point of contact at it with settings.api_base_url = URL,
// settings.account_sid = Options().AccountSID, credentials.auth_token =
// Options().AuthToken and settings.from_number = Options().Number.
//
// The package imports nothing from Parley: it signs webhooks on its own,
// so it checks the adapter rather than mirroring it.
package fake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultAccountSID = "AC1f3e5d7c9b1a3f5e7d9c1b3a5f7e9d1c"
	DefaultAuthToken  = "9d2b5c8f1e4a7d0c3f6b9e2a5d8c1f4b"
	DefaultNumber     = "+15005550006"
	// APIVersion is the path prefix of every resource.
	APIVersion = "2010-04-01"
)

// Limits the fake enforces, as Twilio does.
const (
	MaxBodyLength = 1600
	MaxMedia      = 10
)

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// AccountSID and AuthToken are the only Basic credentials accepted,
	// and the token signs the webhooks the fake sends.
	AccountSID string
	AuthToken  string
	// Number is the account's phone number: the only From accepted, and
	// the To of built inbound webhooks.
	Number string
	// MessagingServiceSID, when set, is the only MessagingServiceSid
	// accepted; when empty any MG… sid is.
	MessagingServiceSID string
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string
	Authorization string
	ContentType   string
	Body          []byte
	// Form is the parsed form of a POST.
	Form url.Values
	// Endpoint is what the fake took it for: messages, media or unknown.
	Endpoint string
	// Status is the HTTP status answered.
	Status int
	// SID is the message sid answered for an accepted message.
	SID string
	At  time.Time
}

// Message is an accepted outbound message.
type Message struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	MediaURLs           []string
	StatusCallback      string
	// Status is "queued", then whatever Deliver last reported.
	Status string
	// Form is the whole form as received.
	Form url.Values
}

// Failure is a scripted failure of the Messages endpoint.
type Failure struct {
	// After lets that many message requests through first.
	After int
	// Status is the HTTP status (default 400). Drop closes the connection
	// without answering instead.
	Status int
	Drop   bool
	// Twilio's error document: {"code","message","more_info","status"}.
	Code       int
	Message    string
	MoreInfo   string // default https://www.twilio.com/docs/errors/{code}
	RetryAfter string // Retry-After header value, e.g. "2"
}

// RateLimited is Twilio's 429 (code 20429) with a Retry-After.
func RateLimited(retryAfter string) Failure {
	return Failure{Status: http.StatusTooManyRequests, Code: 20429, Message: "Too Many Requests", RetryAfter: retryAfter}
}

// Unsubscribed is error 21610: the recipient replied STOP.
func Unsubscribed() Failure {
	return Failure{Status: http.StatusBadRequest, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}
}

// ServerError is a transient failure: HTTP 500, code 20500.
func ServerError() Failure {
	return Failure{Status: http.StatusInternalServerError, Code: 20500, Message: "An internal server error has occurred"}
}

type media struct {
	mime string
	data []byte
}

// Server is the fake Twilio API.
type Server struct {
	// URL is the API base URL to configure (http://127.0.0.1:port).
	URL string

	opts   Options
	srv    *http.Server
	client *http.Client

	mu           sync.Mutex
	requests     []Request
	messages     []*Message
	failures     []Failure
	media        map[string]media
	unsubscribed map[string]bool
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.AccountSID == "" {
		opts.AccountSID = DefaultAccountSID
	}
	if opts.AuthToken == "" {
		opts.AuthToken = DefaultAuthToken
	}
	if opts.Number == "" {
		opts.Number = DefaultNumber
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, media: map[string]media{}, unsubscribed: map[string]bool{},
		client: &http.Client{Timeout: 30 * time.Second}}
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// MessagesURL is the Messages resource of the fake's account.
func (s *Server) MessagesURL() string {
	return s.URL + "/" + APIVersion + "/Accounts/" + s.opts.AccountSID + "/Messages.json"
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the accepted messages, in order (copies).
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		out = append(out, *m)
	}
	return out
}

// Reset forgets recorded requests, messages and pending failures.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.messages, s.failures = nil, nil, nil
	s.mu.Unlock()
}

// FailNext queues failures, used in order by the next message requests.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Unsubscribe makes sends to a number fail with 21610, as after the
// customer replied STOP to Twilio's own opt-out handling; Resubscribe
// lifts it.
func (s *Server) Unsubscribe(number string) {
	s.mu.Lock()
	s.unsubscribed[number] = true
	s.mu.Unlock()
}

// Resubscribe lifts Unsubscribe.
func (s *Server) Resubscribe(number string) {
	s.mu.Lock()
	delete(s.unsubscribed, number)
	s.mu.Unlock()
}

// AddMedia stores a file as the media of an inbound MMS and returns its
// URL (…/Accounts/{sid}/Messages/{MM…}/Media/{ME…}), which answers only
// with the account's Basic credentials.
func (s *Server) AddMedia(mimeType string, data []byte) string {
	msid, meid := NewSID("MM"), NewSID("ME")
	s.mu.Lock()
	s.media[meid] = media{mime: mimeType, data: append([]byte(nil), data...)}
	s.mu.Unlock()
	return s.URL + "/" + APIVersion + "/Accounts/" + s.opts.AccountSID + "/Messages/" + msid + "/Media/" + meid
}

// NewSID makes a fresh sid with Twilio's shape: a two-letter prefix (SM,
// MM, ME, AC, MG) and 32 hexadecimal digits.
func NewSID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// twilioError writes Twilio's error document.
func twilioError(w http.ResponseWriter, status, code int, message, moreInfo string) {
	if moreInfo == "" && code != 0 {
		moreInfo = "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": message, "more_info": moreInfo, "status": status})
}

// statusRecorder keeps the status answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

var (
	messagesPath = regexp.MustCompile(`^/` + regexp.QuoteMeta(APIVersion) + `/Accounts/([^/]+)/Messages\.json$`)
	mediaPath    = regexp.MustCompile(`^/` + regexp.QuoteMeta(APIVersion) + `/Accounts/([^/]+)/Messages/(MM[0-9a-f]{32})/Media/(ME[0-9a-f]{32})$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	mgSID        = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
		Body: body, Endpoint: "unknown", At: time.Now()}
	if r.Method == http.MethodPost {
		req.Form, _ = url.ParseQuery(string(body))
	}
	rec := &statusRecorder{ResponseWriter: w}
	switch {
	case messagesPath.MatchString(r.URL.Path):
		req.Endpoint = "messages"
		req.SID = s.messagesEndpoint(rec, r, &req)
	case mediaPath.MatchString(r.URL.Path):
		req.Endpoint = "media"
		s.mediaEndpoint(rec, r)
	default:
		twilioError(rec, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
	}
	req.Status = rec.status
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

// authorised checks the account's Basic credentials.
func (s *Server) authorised(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	return ok && user == s.opts.AccountSID && pass == s.opts.AuthToken
}

// nextFailure takes the failure due for this message request, if any.
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

func (s *Server) messagesEndpoint(w *statusRecorder, r *http.Request, req *Request) string {
	account := messagesPath.FindStringSubmatch(r.URL.Path)[1]
	if r.Method != http.MethodPost {
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed", "")
		return ""
	}
	if !s.authorised(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate", "")
		return ""
	}
	if account != s.opts.AccountSID {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
		return ""
	}
	if f, ok := s.nextFailure(); ok {
		if f.Drop {
			if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return ""
				}
			}
		}
		if f.Status == 0 {
			f.Status = http.StatusBadRequest
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		twilioError(w, f.Status, f.Code, f.Message, f.MoreInfo)
		return ""
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		twilioError(w, http.StatusBadRequest, 20001, "Content-Type must be application/x-www-form-urlencoded", "")
		return ""
	}
	f := req.Form
	if f == nil {
		twilioError(w, http.StatusBadRequest, 20001, "The request body is not a valid form", "")
		return ""
	}
	to, from, svc, body := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body")
	media := f["MediaUrl"]
	switch {
	case to == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.", "")
	case !e164.MatchString(to):
		twilioError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+to, "")
	case from == "" && svc == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.", "")
	case from != "" && from != s.opts.Number:
		twilioError(w, http.StatusBadRequest, 21606, "The From phone number "+from+" is not a valid, SMS-capable inbound phone number or short code for your account.", "")
	case svc != "" && (!mgSID.MatchString(svc) || (s.opts.MessagingServiceSID != "" && svc != s.opts.MessagingServiceSID)):
		twilioError(w, http.StatusBadRequest, 21701, "The Messaging Service Sid "+svc+" is invalid.", "")
	case body == "" && len(media) == 0:
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.", "")
	case utf8.RuneCountInString(body) > MaxBodyLength:
		twilioError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.", "")
	case len(media) > MaxMedia:
		// The fake's approximation: Twilio refuses more than 10 media.
		twilioError(w, http.StatusBadRequest, 21620, fmt.Sprintf("Invalid media URL(s): at most %d per message.", MaxMedia), "")
	case !allAbsolute(media):
		twilioError(w, http.StatusBadRequest, 21620, "Invalid media URL(s).", "")
	case f.Get("StatusCallback") != "" && !allAbsolute([]string{f.Get("StatusCallback")}):
		twilioError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback url", "")
	case s.isUnsubscribed(to):
		twilioError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient", "")
	default:
		return s.accept(w, r, f)
	}
	return ""
}

func (s *Server) isUnsubscribed(to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsubscribed[to]
}

func allAbsolute(urls []string) bool {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return false
		}
	}
	return true
}

// accept records the message and answers 201 with Twilio's Message resource.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, f url.Values) string {
	m := &Message{SID: NewSID("SM"), To: f.Get("To"), From: f.Get("From"), MessagingServiceSID: f.Get("MessagingServiceSid"),
		Body: f.Get("Body"), MediaURLs: f["MediaUrl"], StatusCallback: f.Get("StatusCallback"), Status: "queued", Form: f}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC1123Z)
	var from, svc any
	if m.From != "" {
		from = m.From
	}
	if m.MessagingServiceSID != "" {
		svc = m.MessagingServiceSID
	}
	uri := "/" + APIVersion + "/Accounts/" + s.opts.AccountSID + "/Messages/" + m.SID
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": s.opts.AccountSID, "api_version": APIVersion, "body": m.Body,
		"date_created": now, "date_sent": nil, "date_updated": now, "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": from, "messaging_service_sid": svc,
		"num_media": strconv.Itoa(len(m.MediaURLs)), "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": m.SID, "status": "queued", "to": m.To, "uri": uri + ".json",
		"subresource_uris": map[string]any{"media": uri + "/Media.json"},
	})
	return m.SID
}

func (s *Server) mediaEndpoint(w http.ResponseWriter, r *http.Request) {
	parts := mediaPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		twilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed", "")
		return
	}
	if !s.authorised(r) || parts[1] != s.opts.AccountSID {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate", "")
		return
	}
	s.mu.Lock()
	m, ok := s.media[parts[3]]
	s.mu.Unlock()
	if !ok {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
		return
	}
	w.Header().Set("Content-Type", m.mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = w.Write(m.data)
}
