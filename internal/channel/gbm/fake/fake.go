// Package fake is a local Google Business Messages API (CHANNELS.md §12;
// Google shut the service down in July 2024, so this fake is also what a
// compatible provider is tested against): a real HTTP server on a loopback
// port that serves POST /v1/conversations/{conversationId}/messages as the
// documented v1 API did — Bearer token, messageId unique per conversation
// (409 ALREADY_EXISTS), a HUMAN or BOT representative, exactly one of
// text, image or richCard, and the limits on text, suggestions and cards —
// answering the created message, or Google's error shape
// {"error":{"code","message","status"}}. It records every request, can be
// told to fail, serves customers' images, and builds and delivers webhooks
// signed with X-Goog-Signature as the platform did (webhooks.go).
//
// Point a point of contact at it with settings.api_base_url = URL().
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultBrandID = "b0a1c2d3-parley-demo"
	DefaultAgentID = "a9b8c7d6-parley-demo"
)

// Limits the fake enforces.
const (
	MaxTextLength       = 3072
	MaxSuggestions      = 13
	MaxSuggestionText   = 25
	MaxPostbackData     = 2048
	MaxCardTitle        = 200
	MaxCardDescription  = 2000
	MaxCardSuggestions  = 4
	MinCarouselCards    = 2
	MaxCarouselCards    = 10
	MaxFallbackLength   = 3072
	MaxDisplayNameChars = 100
)

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// BrandID and AgentID name the agent in the webhooks it builds.
	BrandID string
	AgentID string
	// AccessToken, when set, is the only Bearer token accepted; empty: any
	// non-empty token.
	AccessToken string
	// ClientToken signs the webhooks CustomerSays and CustomerTaps send.
	ClientToken string
	// Now is the fake's clock (message create times); default time.Now.
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string
	Authorization string
	// ConversationID is the {conversationId} of the path.
	ConversationID string
	// Body is the raw request body.
	Body []byte
	// Status and Response are the fake's answer.
	Status   int
	Response []byte
	// MessageID is the messageId of an accepted message.
	MessageID string
}

// Failure is a scripted failure, answered before normal service resumes.
type Failure struct {
	// After lets that many requests through first.
	After int
	// Status is the HTTP status (default 400); Drop closes the connection.
	Status int
	Drop   bool
	// The Google error: {"error":{"code","message","status"}}.
	Message    string
	GRPCStatus string // e.g. RESOURCE_EXHAUSTED
	RetryAfter string
}

// RateLimited is the quota error: 429 RESOURCE_EXHAUSTED.
func RateLimited(retryAfter string) Failure {
	return Failure{Status: http.StatusTooManyRequests, GRPCStatus: "RESOURCE_EXHAUSTED", RetryAfter: retryAfter,
		Message: "Quota exceeded for quota metric 'Message requests' and limit 'Message requests per minute' of service 'businessmessages.googleapis.com'."}
}

// ServerError is a transient failure: 503 UNAVAILABLE.
func ServerError() Failure {
	return Failure{Status: http.StatusServiceUnavailable, GRPCStatus: "UNAVAILABLE", Message: "The service is currently unavailable."}
}

// Server is the fake Business Messages API.
type Server struct {
	opts Options
	url  string
	srv  *http.Server

	mu       sync.Mutex
	requests []Request
	failures []Failure
	sent     map[string]map[string]bool // conversation → messageIds
	expired  map[string]bool
	media    map[string]file
	seq      int
}

type file struct {
	mimeType string
	data     []byte
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.BrandID == "" {
		opts.BrandID = DefaultBrandID
	}
	if opts.AgentID == "" {
		opts.AgentID = DefaultAgentID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, url: "http://" + ln.Addr().String(), sent: map[string]map[string]bool{}, expired: map[string]bool{}, media: map[string]file{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/conversations/{conversation}/messages", s.serveMessages)
	mux.HandleFunc("GET /media/{name}", s.serveMedia)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body}
		s.answer(w, &req, http.StatusNotFound, googleError(http.StatusNotFound, "NOT_FOUND", "The fake serves POST /v1/conversations/{conversationId}/messages only."))
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the API base URL to configure as settings.api_base_url.
func (s *Server) URL() string { return s.url }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Agent is the agent's name in webhooks: brands/{brandId}/agents/{agentId}.
func (s *Server) Agent() string { return "brands/" + s.opts.BrandID + "/agents/" + s.opts.AgentID }

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the accepted messages, in order.
func (s *Server) Messages() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.MessageID != "" {
			out = append(out, r)
		}
	}
	return out
}

// Received lists the request bodies of the messages the agent sent in a
// conversation, in order: what the customer's phone shows.
func (s *Server) Received(conversationID string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range s.Messages() {
		if r.ConversationID == conversationID {
			out = append(out, json.RawMessage(r.Body))
		}
	}
	return out
}

// Reset forgets requests, failures, sent message ids and expiries.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.failures = nil, nil
	s.sent, s.expired = map[string]map[string]bool{}, map[string]bool{}
	s.mu.Unlock()
}

// FailNext queues failures, used in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Expire ends a conversation: later messages to it get 404 NOT_FOUND.
func (s *Server) Expire(conversationID string) {
	s.mu.Lock()
	s.expired[conversationID] = true
	s.mu.Unlock()
}

// AddMedia serves a customer's image at MediaURL(name).
func (s *Server) AddMedia(name, mimeType string, data []byte) {
	s.mu.Lock()
	s.media[name] = file{mimeType, append([]byte(nil), data...)}
	s.mu.Unlock()
}

// MediaURL is where the fake serves a customer's image (the fileUrl of an
// image message); names never added serve a 1×1 PNG.
func (s *Server) MediaURL(name string) string { return s.url + "/media/" + url.PathEscape(name) }

// NewID is a fresh id in the platform's style (UUID-shaped).
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
}

func googleError(code int, status, message string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}}
}

func invalidArgument(format string, args ...any) (int, any) {
	return http.StatusBadRequest, googleError(http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf(format, args...))
}

func (s *Server) answer(w http.ResponseWriter, req *Request, status int, payload any) {
	out, _ := json.Marshal(payload)
	req.Status, req.Response = status, out
	s.mu.Lock()
	s.requests = append(s.requests, *req)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), ConversationID: r.PathValue("conversation"), Body: body}
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		if s.failures[0].After > 0 {
			s.failures[0].After--
		} else {
			f := s.failures[0]
			s.failures = s.failures[1:]
			fail = &f
		}
	}
	s.mu.Unlock()
	if fail != nil {
		if fail.Drop {
			s.mu.Lock()
			s.requests = append(s.requests, req)
			s.mu.Unlock()
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		status := fail.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		gs := fail.GRPCStatus
		if gs == "" {
			gs = "INVALID_ARGUMENT"
		}
		s.answer(w, &req, status, googleError(status, gs, fail.Message))
		return
	}
	status, payload := s.create(&req)
	s.answer(w, &req, status, payload)
}

// outMessage is the part of a message the fake checks.
type outMessage struct {
	MessageID      string `json:"messageId"`
	Representative *struct {
		RepresentativeType string `json:"representativeType"`
		DisplayName        string `json:"displayName"`
		AvatarImage        string `json:"avatarImage"`
	} `json:"representative"`
	Text        *string           `json:"text"`
	Image       *json.RawMessage  `json:"image"`
	RichCard    *json.RawMessage  `json:"richCard"`
	Suggestions []json.RawMessage `json:"suggestions"`
	Fallback    string            `json:"fallback"`
}

// create validates a message like the platform and answers the created
// message or the error.
func (s *Server) create(req *Request) (int, any) {
	tok, ok := strings.CutPrefix(req.Authorization, "Bearer ")
	if !ok || tok == "" || (s.opts.AccessToken != "" && tok != s.opts.AccessToken) {
		return http.StatusUnauthorized, googleError(http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	}
	conv := req.ConversationID
	var m outMessage
	if err := json.Unmarshal(req.Body, &m); err != nil {
		return invalidArgument("Invalid JSON payload received. %v", err)
	}
	switch {
	case m.MessageID == "":
		return invalidArgument("Message must have a messageId.")
	case m.Representative == nil:
		return invalidArgument("Message must have a representative.")
	case m.Representative.RepresentativeType != "HUMAN" && m.Representative.RepresentativeType != "BOT":
		return invalidArgument("Invalid value at 'message.representative.representative_type' (%q): must be HUMAN or BOT.", m.Representative.RepresentativeType)
	case utf8.RuneCountInString(m.Representative.DisplayName) > MaxDisplayNameChars:
		return invalidArgument("Representative display name is limited to %d characters.", MaxDisplayNameChars)
	}
	contents := 0
	for _, present := range []bool{m.Text != nil, m.Image != nil, m.RichCard != nil} {
		if present {
			contents++
		}
	}
	if contents != 1 {
		return invalidArgument("Message must contain exactly one of text, image or richCard.")
	}
	if m.Text != nil && (*m.Text == "" || utf8.RuneCountInString(*m.Text) > MaxTextLength) {
		return invalidArgument("Message text must be 1 to %d characters.", MaxTextLength)
	}
	if utf8.RuneCountInString(m.Fallback) > MaxFallbackLength {
		return invalidArgument("Fallback text is limited to %d characters.", MaxFallbackLength)
	}
	if len(m.Suggestions) > MaxSuggestions {
		return invalidArgument("Message can have at most %d suggestions.", MaxSuggestions)
	}
	if msg := checkSuggestions(m.Suggestions, "message.suggestions"); msg != "" {
		return invalidArgument("%s", msg)
	}
	if m.Image != nil {
		if msg := checkContentInfo(*m.Image, "message.image"); msg != "" {
			return invalidArgument("%s", msg)
		}
	}
	if m.RichCard != nil {
		if msg := checkRichCard(*m.RichCard); msg != "" {
			return invalidArgument("%s", msg)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expired[conv] {
		return http.StatusNotFound, googleError(http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("Conversation with id %s not found.", conv))
	}
	if s.sent[conv][m.MessageID] {
		return http.StatusConflict, googleError(http.StatusConflict, "ALREADY_EXISTS", fmt.Sprintf("Message with id %s already exists in conversation %s.", m.MessageID, conv))
	}
	if s.sent[conv] == nil {
		s.sent[conv] = map[string]bool{}
	}
	s.sent[conv][m.MessageID] = true
	req.MessageID = m.MessageID
	var created map[string]any
	_ = json.Unmarshal(req.Body, &created)
	created["name"] = "conversations/" + conv + "/messages/" + m.MessageID
	created["createTime"] = s.opts.Now().UTC().Format(time.RFC3339Nano)
	return http.StatusOK, created
}

func checkSuggestions(raw []json.RawMessage, field string) string {
	for i, r := range raw {
		var sg struct {
			Reply *struct {
				Text         string `json:"text"`
				PostbackData string `json:"postbackData"`
			} `json:"reply"`
			Action *struct {
				Text          string          `json:"text"`
				PostbackData  string          `json:"postbackData"`
				OpenURLAction json.RawMessage `json:"openUrlAction"`
				DialAction    json.RawMessage `json:"dialAction"`
			} `json:"action"`
			LiveAgentRequest      json.RawMessage `json:"liveAgentRequest"`
			AuthenticationRequest json.RawMessage `json:"authenticationRequest"`
		}
		if err := json.Unmarshal(r, &sg); err != nil {
			return fmt.Sprintf("%s[%d]: %v", field, i, err)
		}
		var text, postback string
		switch {
		case sg.Reply != nil && sg.Action == nil:
			text, postback = sg.Reply.Text, sg.Reply.PostbackData
		case sg.Action != nil && sg.Reply == nil:
			text, postback = sg.Action.Text, sg.Action.PostbackData
			if (len(sg.Action.OpenURLAction) == 0) == (len(sg.Action.DialAction) == 0) {
				return fmt.Sprintf("%s[%d].action must have exactly one of openUrlAction or dialAction.", field, i)
			}
		case sg.LiveAgentRequest != nil || sg.AuthenticationRequest != nil:
			continue
		default:
			return fmt.Sprintf("%s[%d] must have exactly one of reply or action.", field, i)
		}
		if text == "" || utf8.RuneCountInString(text) > MaxSuggestionText {
			return fmt.Sprintf("%s[%d].text must be 1 to %d characters.", field, i, MaxSuggestionText)
		}
		if postback == "" || len(postback) > MaxPostbackData {
			return fmt.Sprintf("%s[%d].postbackData must be 1 to %d bytes.", field, i, MaxPostbackData)
		}
	}
	return ""
}

func checkContentInfo(raw json.RawMessage, field string) string {
	var m struct {
		ContentInfo *struct {
			FileURL string `json:"fileUrl"`
		} `json:"contentInfo"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.ContentInfo == nil {
		return field + ".contentInfo is required."
	}
	u, err := url.Parse(m.ContentInfo.FileURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return field + ".contentInfo.fileUrl must be a publicly reachable URL."
	}
	return ""
}

type cardContent struct {
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Media       *json.RawMessage  `json:"media"`
	Suggestions []json.RawMessage `json:"suggestions"`
}

func checkCard(c cardContent, field string) string {
	switch {
	case c.Title == "" && c.Description == "" && c.Media == nil:
		return field + " must have a title, a description or media."
	case utf8.RuneCountInString(c.Title) > MaxCardTitle:
		return fmt.Sprintf("%s.title is limited to %d characters.", field, MaxCardTitle)
	case utf8.RuneCountInString(c.Description) > MaxCardDescription:
		return fmt.Sprintf("%s.description is limited to %d characters.", field, MaxCardDescription)
	case len(c.Suggestions) > MaxCardSuggestions:
		return fmt.Sprintf("%s.suggestions: at most %d.", field, MaxCardSuggestions)
	}
	if c.Media != nil {
		if msg := checkContentInfo(*c.Media, field+".media"); msg != "" {
			return msg
		}
	}
	return checkSuggestions(c.Suggestions, field+".suggestions")
}

func checkRichCard(raw json.RawMessage) string {
	var rc struct {
		StandaloneCard *struct {
			CardContent *cardContent `json:"cardContent"`
		} `json:"standaloneCard"`
		CarouselCard *struct {
			CardWidth    string        `json:"cardWidth"`
			CardContents []cardContent `json:"cardContents"`
		} `json:"carouselCard"`
	}
	if err := json.Unmarshal(raw, &rc); err != nil {
		return "message.richCard: " + err.Error()
	}
	switch {
	case rc.StandaloneCard != nil && rc.CarouselCard == nil:
		if rc.StandaloneCard.CardContent == nil {
			return "message.richCard.standaloneCard.cardContent is required."
		}
		return checkCard(*rc.StandaloneCard.CardContent, "message.richCard.standaloneCard.cardContent")
	case rc.CarouselCard != nil && rc.StandaloneCard == nil:
		cs := rc.CarouselCard.CardContents
		if len(cs) < MinCarouselCards || len(cs) > MaxCarouselCards {
			return fmt.Sprintf("message.richCard.carouselCard.cardContents must have %d to %d cards.", MinCarouselCards, MaxCarouselCards)
		}
		if w := rc.CarouselCard.CardWidth; w != "SMALL" && w != "MEDIUM" {
			return "message.richCard.carouselCard.cardWidth must be SMALL or MEDIUM."
		}
		for i, c := range cs {
			if msg := checkCard(c, fmt.Sprintf("message.richCard.carouselCard.cardContents[%d]", i)); msg != "" {
				return msg
			}
		}
		return ""
	}
	return "message.richCard must have exactly one of standaloneCard or carouselCard."
}

// pngPixel is the 1×1 image served for media never added.
const pngPixel = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.media[r.PathValue("name")]
	s.mu.Unlock()
	if !ok {
		f = file{"image/png", []byte(pngPixel)}
	}
	w.Header().Set("Content-Type", f.mimeType)
	_, _ = w.Write(f.data)
}
