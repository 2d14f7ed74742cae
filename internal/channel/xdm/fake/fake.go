// Package fake is a local X API for the X DM adapter (CHANNELS.md §5): a
// real HTTP server on a loopback port that serves
//
//   - POST /2/dm_conversations/with/{participant_id}/messages, answering
//     201 {"data":{"dm_conversation_id","dm_event_id"}};
//   - POST /2/media/upload (the one-shot JSON upload: media base64,
//     media_category, media_type), answering {"data":{"id","media_key",…}};
//   - GET /1.1/ton/data/dm/{name}: DM media, which like X's it serves only
//     with the access token;
//
// with X API v2's problem shapes for errors (401 without the right Bearer
// token, 400 invalid requests, 403 for a user who cannot be messaged, 429
// with x-rate-limit-reset). It records every request, can be told to fail,
// and builds and delivers Account Activity webhooks signed as X signs them
// (webhooks.go).
//
// Point an X DM point of contact at it with settings.api_base_url = URL().
package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultUserID     = "2244994945"
	DefaultScreenName = "parleydemo"
	DefaultName       = "Parley Demo"
)

// Limits the fake enforces, as X does.
const (
	MaxTextLength = 10000
	MaxImageBytes = 5 << 20
)

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// UserID, ScreenName and Name are the business account that sends DMs
	// and receives webhooks (for_user_id).
	UserID     string
	ScreenName string
	Name       string
	// AccessToken, when set, is the only Bearer token accepted; empty: any
	// non-empty token.
	AccessToken string
	// ConsumerSecret signs the webhooks Deliver sends.
	ConsumerSecret string
	// Now is the fake's clock (rate-limit resets, webhook times); default time.Now.
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string
	Authorization string
	// Body is the raw request body.
	Body []byte
	// Endpoint is what the fake took it for: dm, upload, media or unknown.
	Endpoint string
	// ParticipantID is the {participant_id} of a DM send.
	ParticipantID string
	// Status and Response are the fake's answer.
	Status   int
	Response []byte
	// EventID is the dm_event_id of an accepted DM; MediaID the id of an
	// accepted upload.
	EventID string
	MediaID string
}

// Failure is a scripted failure, answered before normal service resumes.
type Failure struct {
	// Endpoint limits it to one endpoint (dm, upload, media); empty: the
	// next request of any endpoint.
	Endpoint string
	// After lets that many matching requests through first (1: the
	// second DM of a long message fails).
	After int
	// Status is the HTTP status (default 400); Drop closes the connection
	// without answering.
	Status int
	Drop   bool
	// The problem: {"title","detail","type","status"}.
	Title  string
	Detail string
	Type   string
	// RateLimitReset, when set, is sent as x-rate-limit-reset (epoch seconds).
	RateLimitReset time.Time
}

// RateLimited is X's 429 with the window's reset time.
func RateLimited(reset time.Time) Failure {
	return Failure{Endpoint: "dm", Status: http.StatusTooManyRequests, Title: "Too Many Requests", Detail: "Too Many Requests", Type: "about:blank", RateLimitReset: reset}
}

// CannotMessage is X's refusal to deliver to a user who blocked the
// business or closed their DMs.
func CannotMessage() Failure {
	return Failure{Endpoint: "dm", Status: http.StatusForbidden, Title: "Forbidden", Detail: "You cannot send messages to this user", Type: "about:blank"}
}

// ServerError is a transient failure.
func ServerError() Failure {
	return Failure{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", Detail: "Service Unavailable", Type: "about:blank"}
}

type upload struct {
	mimeType string
	data     []byte
}

// Server is the fake X API.
type Server struct {
	opts Options
	url  string
	srv  *http.Server

	mu       sync.Mutex
	requests []Request
	failures []Failure
	uploads  map[string]upload
	media    map[string]upload
	blocked  map[string]bool
	seq      int64
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.UserID == "" {
		opts.UserID = DefaultUserID
	}
	if opts.ScreenName == "" {
		opts.ScreenName = DefaultScreenName
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, url: "http://" + ln.Addr().String(), uploads: map[string]upload{}, media: map[string]upload{}, blocked: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2/dm_conversations/with/{participant}/messages", func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, "dm", s.sendDM)
	})
	mux.HandleFunc("POST /2/media/upload", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "upload", s.upload) })
	mux.HandleFunc("GET /1.1/ton/data/dm/{name}", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "media", s.serveMedia) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "unknown", nil) })
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

// Business is the business account, for building webhooks.
func (s *Server) Business() Account {
	return Account{ID: s.opts.UserID, ScreenName: s.opts.ScreenName, Name: s.opts.Name}
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the accepted DM sends, in order.
func (s *Server) Messages() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Endpoint == "dm" && r.EventID != "" {
			out = append(out, r)
		}
	}
	return out
}

// Received lists the request bodies of the DMs the business sent to a
// user id, in order: what the customer's inbox shows.
func (s *Server) Received(to string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range s.Messages() {
		if r.ParticipantID == to {
			out = append(out, json.RawMessage(r.Body))
		}
	}
	return out
}

// Upload returns an uploaded file by media id.
func (s *Server) Upload(mediaID string) (mimeType string, data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[mediaID]
	return u.mimeType, u.data, ok
}

// Reset forgets requests, failures, blocks and uploads, and restarts the
// id sequence (the media added stay).
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.failures, s.seq = nil, nil, 0
	s.blocked, s.uploads = map[string]bool{}, map[string]upload{}
	s.mu.Unlock()
}

// FailNext queues failures, used in order by the requests they match.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Block makes every later DM to userID fail as X does for a user who
// blocked the business (403, "You cannot send messages to this user").
func (s *Server) Block(userID string) {
	s.mu.Lock()
	s.blocked[userID] = true
	s.mu.Unlock()
}

// AddMedia serves a customer's DM file at MediaURL(name).
func (s *Server) AddMedia(name, mimeType string, data []byte) {
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	s.mu.Lock()
	s.media[name] = upload{mimeType, append([]byte(nil), data...)}
	s.mu.Unlock()
}

// MediaURL is where the fake serves a DM file (media_url_https); names
// never added serve a 1×1 PNG.
func (s *Server) MediaURL(name string) string {
	return s.url + "/1.1/ton/data/dm/" + url.PathEscape(name)
}

// NextID is a fresh id in X's style (snowflake-sized decimal).
func (s *Server) NextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return strconv.FormatInt(1_580_000_000_000_000_000+s.seq, 10)
}

// answer is what a handler decided.
type answer struct {
	status  int
	body    any
	raw     []byte // sent as is when ctype is set
	ctype   string
	eventID string
	mediaID string
}

func problem(status int, title, detail, typ string) answer {
	if typ == "" {
		typ = "about:blank"
	}
	return answer{status: status, body: map[string]any{"title": title, "detail": detail, "type": typ, "status": status}}
}

func invalidRequest(param, value, message string) answer {
	return answer{status: http.StatusBadRequest, body: map[string]any{
		"errors": []any{map[string]any{"parameters": map[string]any{param: []string{value}}, "message": message}},
		"title":  "Invalid Request",
		"detail": "One or more parameters to your request was invalid.",
		"type":   "https://api.twitter.com/2/problems/invalid-request",
		"status": http.StatusBadRequest,
	}}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, endpoint string, handle func(*http.Request, []byte, *Request) answer) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body, Endpoint: endpoint}
	if endpoint == "dm" {
		req.ParticipantID = r.PathValue("participant")
	}
	s.mu.Lock()
	var fail *Failure
	for i, f := range s.failures {
		if f.Endpoint == "" || f.Endpoint == endpoint {
			if f.After > 0 {
				s.failures[i].After--
				break
			}
			fail = &f
			s.failures = append(s.failures[:i:i], s.failures[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	var a answer
	switch {
	case fail != nil && fail.Drop:
		s.record(req)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case fail != nil:
		status := fail.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		if !fail.RateLimitReset.IsZero() {
			w.Header().Set("X-Rate-Limit-Limit", "200")
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(fail.RateLimitReset.Unix(), 10))
		}
		a = problem(status, fail.Title, fail.Detail, fail.Type)
	case !s.authorized(r):
		a = problem(http.StatusUnauthorized, "Unauthorized", "Unauthorized", "about:blank")
	case handle == nil:
		a = problem(http.StatusNotFound, "Not Found Error", fmt.Sprintf("The fake X API does not serve %s %s.", r.Method, r.URL.Path), "https://api.twitter.com/2/problems/resource-not-found")
	default:
		a = handle(r, body, &req)
	}
	req.Status, req.EventID, req.MediaID = a.status, a.eventID, a.mediaID
	if a.ctype != "" {
		req.Response = a.raw
		w.Header().Set("Content-Type", a.ctype)
		w.WriteHeader(a.status)
		_, _ = w.Write(a.raw)
	} else {
		out, _ := json.Marshal(a.body)
		req.Response = out
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(a.status)
		_, _ = w.Write(out)
	}
	s.record(req)
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && tok != "" && (s.opts.AccessToken == "" || tok == s.opts.AccessToken)
}

var numericID = regexp.MustCompile(`^[0-9]{1,19}$`)

func (s *Server) sendDM(r *http.Request, body []byte, req *Request) answer {
	to := req.ParticipantID
	if !numericID.MatchString(to) {
		return invalidRequest("participant_id", to, fmt.Sprintf("The `participant_id` query parameter value [%s] is not valid", to))
	}
	if to == s.opts.UserID {
		return problem(http.StatusForbidden, "Forbidden", "You cannot send messages to yourself.", "about:blank")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return invalidRequest("body", "", "The request body is not a JSON object: "+err.Error())
	}
	for k := range m {
		if k != "text" && k != "attachments" {
			return invalidRequest(k, "", fmt.Sprintf("The `%s` field is not a valid field of a direct message.", k))
		}
	}
	var text string
	if raw, ok := m["text"]; ok {
		if err := json.Unmarshal(raw, &text); err != nil {
			return invalidRequest("text", string(raw), "`text` must be a string")
		}
		if utf8.RuneCountInString(text) > MaxTextLength {
			return invalidRequest("text", "", fmt.Sprintf("`text` must be at most %d characters", MaxTextLength))
		}
	}
	var atts []struct {
		MediaID string `json:"media_id"`
	}
	if raw, ok := m["attachments"]; ok {
		if err := json.Unmarshal(raw, &atts); err != nil {
			return invalidRequest("attachments", string(raw), "`attachments` must be an array of {media_id}")
		}
		if len(atts) > 1 {
			return invalidRequest("attachments", "", "A direct message can have at most 1 attachment.")
		}
		for _, a := range atts {
			s.mu.Lock()
			_, ok := s.uploads[a.MediaID]
			s.mu.Unlock()
			if !ok {
				return invalidRequest("attachments.media_id", a.MediaID, fmt.Sprintf("The media id [%s] is not valid or has expired.", a.MediaID))
			}
		}
	}
	if strings.TrimSpace(text) == "" && len(atts) == 0 {
		return invalidRequest("text", "", "One of `text` or `attachments` is required.")
	}
	s.mu.Lock()
	blocked := s.blocked[to]
	s.mu.Unlock()
	if blocked {
		f := CannotMessage()
		return problem(f.Status, f.Title, f.Detail, f.Type)
	}
	id := s.NextID()
	lo, hi := s.opts.UserID, to
	if len(hi) < len(lo) || (len(hi) == len(lo) && hi < lo) {
		lo, hi = hi, lo
	}
	return answer{status: http.StatusCreated, eventID: id, body: map[string]any{"data": map[string]any{"dm_conversation_id": lo + "-" + hi, "dm_event_id": id}}}
}

// oneShotTypes are the media types the one-shot upload takes.
var oneShotTypes = map[string]bool{"image/jpeg": true, "image/pjpeg": true, "image/png": true, "image/webp": true, "image/bmp": true, "image/tiff": true,
	"text/srt": true, "text/vtt": true}

func (s *Server) upload(r *http.Request, body []byte, req *Request) answer {
	var u struct {
		Media         string `json:"media"`
		MediaCategory string `json:"media_category"`
		MediaType     string `json:"media_type"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return invalidRequest("body", "", "The request body is not a JSON object: "+err.Error())
	}
	switch u.MediaCategory {
	case "tweet_image", "dm_image", "subtitles":
	case "":
		return invalidRequest("media_category", "", "`media_category` is required.")
	default:
		return invalidRequest("media_category", u.MediaCategory, "`media_category` must be one of tweet_image, dm_image, subtitles for a one-shot upload.")
	}
	if u.MediaType != "" && !oneShotTypes[u.MediaType] {
		return invalidRequest("media_type", u.MediaType, "`media_type` is not supported by the one-shot upload; use the chunked upload.")
	}
	data, err := base64.StdEncoding.DecodeString(u.Media)
	if err != nil || len(data) == 0 {
		return invalidRequest("media", "", "`media` must be the file's content, base64-encoded.")
	}
	if len(data) > MaxImageBytes {
		return invalidRequest("media", "", fmt.Sprintf("Images are limited to %d bytes.", MaxImageBytes))
	}
	mt := u.MediaType
	if mt == "" {
		mt = http.DetectContentType(data)
	}
	id := s.NextID()
	s.mu.Lock()
	s.uploads[id] = upload{mt, data}
	s.mu.Unlock()
	return answer{status: http.StatusOK, mediaID: id, body: map[string]any{"data": map[string]any{
		"id": id, "media_key": "3_" + id, "size": len(data), "expires_after_secs": 86400}}}
}

// pngPixel is the 1×1 image served for media never added.
const pngPixel = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

func (s *Server) serveMedia(r *http.Request, _ []byte, _ *Request) answer {
	s.mu.Lock()
	m, ok := s.media[r.PathValue("name")]
	s.mu.Unlock()
	if !ok {
		m = upload{"image/png", []byte(pngPixel)}
	}
	return answer{status: http.StatusOK, raw: bytes.Clone(m.data), ctype: m.mimeType}
}
