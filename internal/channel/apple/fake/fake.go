// Package fake is a local Apple Messages for Business MSP gateway
// (CHANNELS.md §11): a real HTTP server on a loopback port serving
// POST /v1/message (text, interactive, richLink, typing), the attachment
// endpoints (GET /v1/preUpload, the upload URL it hands out,
// GET /v1/preDownload and the download URL it hands out) and
// POST /v1/decodePayload, checking the JWT and the request shapes as the
// gateway does. It records every request, can be told to fail (HTTP
// status, Retry-After, a customer who closed the chat), stores encrypted
// attachments both ways, and builds and delivers the gateway's signed
// (and gzip-compressed) deliveries to a business's webhook (webhooks.go):
// the customer's side of tests and of the demo sandbox.
//
// Point an apple_messages point of contact at it with
// settings.api_base_url = URL(), business_id = Options().BusinessID and the
// credentials msp_id and msp_secret of Options().
package fake

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of Options.
const (
	DefaultMSPID        = "0f5b2a5e-8c1d-4e7a-9b3f-2d6c1e9a7b40"
	DefaultBusinessID   = "3b9c7e2a-51d4-4f0e-8a6b-c2d9e7f1a034"
	DefaultCapabilities = "LIST,TIME,FORM,QUICK,AUTH"
)

// AppleBID is the balloon id of Apple's built-in interactive messages.
const AppleBID = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension"

// maxFile is the largest attachment the fake stores.
const maxFile = 100 << 20

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// MSPID is the messaging service provider id: the issuer the gateway
	// expects on Parley's tokens and the audience of its own.
	MSPID string
	// Secret is the MSP secret, base64 as Apple gives it; empty: 32
	// random bytes.
	Secret string
	// BusinessID is the business the customers write to.
	BusinessID string
	// Capabilities is the capability-list header of the customers'
	// deliveries (Say, Tap); default DefaultCapabilities.
	Capabilities string
	// PlainWebhooks sends deliveries uncompressed (the gateway gzips them).
	PlainWebhooks bool
	// Now is the clock of tokens (default time.Now).
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// JSON is Body when it parsed as JSON.
	JSON json.RawMessage
	// Endpoint is what the fake took it for: message, preUpload, upload,
	// preDownload, download, decodePayload or unknown.
	Endpoint string
	// Status is the HTTP status answered.
	Status int
	// MessageID is the id of an accepted message.
	MessageID string
	At        time.Time
}

// Failure is a scripted failure of the next matching request.
type Failure struct {
	// Endpoint limits it to one endpoint; empty: any.
	Endpoint string
	// After lets that many matching requests through first.
	After int
	// Status is the HTTP status (default 400).
	Status int
	// Message is the error's text ({"code":…,"message":…}).
	Message string
	// RetryAfter is the Retry-After header value, e.g. "2".
	RetryAfter string
}

// RateLimited is the gateway's throttling answer: 429 with Retry-After.
func RateLimited(retryAfter string) Failure {
	return Failure{Endpoint: "message", Status: http.StatusTooManyRequests, Message: "Too many requests", RetryAfter: retryAfter}
}

// ServerError is a transient failure: 503.
func ServerError() Failure {
	return Failure{Status: http.StatusServiceUnavailable, Message: "Service unavailable"}
}

// Gone is a customer who closed the conversation or blocked the business:
// 410.
func Gone() Failure {
	return Failure{Endpoint: "message", Status: http.StatusGone, Message: "The destination is no longer available"}
}

// BadRequest is a refused message: 400 with a reason.
func BadRequest(reason string) Failure {
	return Failure{Endpoint: "message", Status: http.StatusBadRequest, Message: reason}
}

// file is an encrypted attachment in the fake's media store.
type file struct {
	id        string
	url       string
	owner     string
	signature []byte // raw checksum
	data      []byte // encrypted
}

type pendingUpload struct {
	size int
}

// Server is the fake gateway.
type Server struct {
	opts Options
	root string
	srv  *http.Server
	ln   net.Listener

	mu       sync.Mutex
	requests []Request
	failures []Failure
	blocked  map[string]bool
	files    map[string]*file // by url
	byID     map[string]*file
	uploads  map[string]pendingUpload // by upload token
	seq      int
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.MSPID == "" {
		opts.MSPID = DefaultMSPID
	}
	if opts.BusinessID == "" {
		opts.BusinessID = DefaultBusinessID
	}
	if opts.Capabilities == "" {
		opts.Capabilities = DefaultCapabilities
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Secret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		opts.Secret = base64.StdEncoding.EncodeToString(b)
	}
	if _, err := decodeSecret(opts.Secret); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, ln: ln, root: "http://" + ln.Addr().String(), blocked: map[string]bool{},
		files: map[string]*file{}, byID: map[string]*file{}, uploads: map[string]pendingUpload{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the gateway's base URL (settings.api_base_url).
func (s *Server) URL() string { return s.root }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the accepted messages (text, interactive, richLink),
// in order; typing indicators are left out.
func (s *Server) Messages() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Endpoint == "message" && r.MessageID != "" && !isTyping(r.JSON) {
			out = append(out, r)
		}
	}
	return out
}

// Typing returns the accepted typing indicators, in order.
func (s *Server) Typing() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Endpoint == "message" && r.MessageID != "" && isTyping(r.JSON) {
			out = append(out, r)
		}
	}
	return out
}

func isTyping(body json.RawMessage) bool {
	var m struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &m)
	return m.Type == "typing_start" || m.Type == "typing_end"
}

// Received lists the raw bodies of the messages sent to a customer, oldest
// first: what the customer's device shows.
func (s *Server) Received(to string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range s.Messages() {
		var m struct {
			DestinationID string `json:"destinationId"`
		}
		if json.Unmarshal(r.JSON, &m) == nil && m.DestinationID == to {
			out = append(out, r.JSON)
		}
	}
	return out
}

// Reset forgets recorded requests and pending failures.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.failures = nil, nil
	s.mu.Unlock()
}

// FailNext queues failures, used in order by the requests they match.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Block makes every later message to a customer fail with 410, as when the
// customer closed the conversation.
func (s *Server) Block(customerID string) {
	s.mu.Lock()
	s.blocked[customerID] = true
	s.mu.Unlock()
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

func apiError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "message": message})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxFile+1))
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Endpoint: "unknown", At: s.opts.Now()}
	if json.Valid(body) {
		req.JSON = json.RawMessage(body)
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/message":
		req.Endpoint = "message"
	case r.Method == http.MethodGet && r.URL.Path == "/v1/preUpload":
		req.Endpoint = "preUpload"
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/mmcs/upload/"):
		req.Endpoint = "upload"
	case r.Method == http.MethodGet && r.URL.Path == "/v1/preDownload":
		req.Endpoint = "preDownload"
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/mmcs/download/"):
		req.Endpoint = "download"
	case r.Method == http.MethodPost && r.URL.Path == "/v1/decodePayload":
		req.Endpoint = "decodePayload"
	}
	rec := &statusRecorder{ResponseWriter: w}
	req.MessageID = s.handle(rec, r, &req)
	req.Status = rec.status
	if req.Status == 0 {
		req.Status = http.StatusOK
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

func (s *Server) nextFailure(endpoint string) *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if f.Endpoint == "" || f.Endpoint == endpoint {
			if f.After > 0 {
				s.failures[i].After--
				return nil
			}
			s.failures = append(s.failures[:i:i], s.failures[i+1:]...)
			return &f
		}
	}
	return nil
}

// handle answers one request; it returns the id of an accepted message.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, req *Request) string {
	if f := s.nextFailure(req.Endpoint); f != nil {
		status := f.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		apiError(w, status, f.Message)
		return ""
	}
	switch req.Endpoint {
	case "upload":
		s.upload(w, r, req)
		return ""
	case "download":
		s.download(w, r)
		return ""
	case "unknown":
		apiError(w, http.StatusNotFound, "no such endpoint")
		return ""
	}
	if reason := s.checkToken(r.Header.Get("Authorization")); reason != "" {
		apiError(w, http.StatusUnauthorized, reason)
		return ""
	}
	if src := r.Header.Get("Source-Id"); src != s.opts.BusinessID {
		apiError(w, http.StatusForbidden, fmt.Sprintf("source-id %q is not a business of this MSP", src))
		return ""
	}
	switch req.Endpoint {
	case "message":
		return s.message(w, r, req)
	case "preUpload":
		s.preUpload(w, r)
	case "preDownload":
		s.preDownload(w, r)
	case "decodePayload":
		s.decodePayload(w, r, req)
	}
	return ""
}

func decodeSecret(secret string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(b) < 16 {
		return nil, errors.New("fake: the MSP secret must be base64 of at least 16 bytes")
	}
	return b, nil
}

// checkToken validates Parley's JWT as the gateway does: HS256 with the
// decoded secret, issuer the MSP id, issued within the last hour.
func (s *Server) checkToken(h string) string {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "missing Bearer token"
	}
	key, _ := decodeSecret(s.opts.Secret)
	var claims jwt.RegisteredClaims
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(s.opts.MSPID), jwt.WithIssuedAt(),
		jwt.WithLeeway(time.Minute), jwt.WithTimeFunc(s.opts.Now))
	if _, err := p.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		return "invalid token: " + err.Error()
	}
	if claims.IssuedAt == nil || s.opts.Now().Sub(claims.IssuedAt.Time) > time.Hour {
		return "token without iat or older than an hour"
	}
	if len(claims.Audience) > 0 && !contains(claims.Audience, s.opts.MSPID) {
		return "token audience is not this MSP"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// message checks and accepts one message.
func (s *Server) message(w http.ResponseWriter, r *http.Request, req *Request) string {
	id := r.Header.Get("Id")
	dest := r.Header.Get("Destination-Id")
	if !uuidPattern.MatchString(id) {
		apiError(w, http.StatusBadRequest, "the id header must be a UUID")
		return ""
	}
	if dest == "" {
		apiError(w, http.StatusBadRequest, "the destination-id header is required")
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &m); err != nil || m == nil {
		apiError(w, http.StatusBadRequest, "the body is not a JSON object")
		return ""
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(m[k], &v)
		return v
	}
	var v int
	if err := json.Unmarshal(m["v"], &v); err != nil || v != 1 {
		apiError(w, http.StatusBadRequest, "v must be 1")
		return ""
	}
	switch {
	case str("id") != id:
		apiError(w, http.StatusBadRequest, "the body id differs from the id header")
		return ""
	case str("sourceId") != s.opts.BusinessID:
		apiError(w, http.StatusBadRequest, "sourceId must be the business id")
		return ""
	case str("destinationId") != dest:
		apiError(w, http.StatusBadRequest, "destinationId differs from the destination-id header")
		return ""
	}
	if reason := s.checkMessage(str("type"), m); reason != "" {
		apiError(w, http.StatusBadRequest, reason)
		return ""
	}
	s.mu.Lock()
	blocked := s.blocked[dest]
	s.mu.Unlock()
	if blocked {
		apiError(w, http.StatusGone, "The destination is no longer available")
		return ""
	}
	w.WriteHeader(http.StatusOK)
	return id
}

// checkMessage validates a message's content as the gateway and the device
// need it.
func (s *Server) checkMessage(kind string, m map[string]json.RawMessage) string {
	switch kind {
	case "text":
		var body string
		if json.Unmarshal(m["body"], &body) != nil || strings.TrimSpace(body) == "" {
			return "a text message needs a body"
		}
		if len(m["attachments"]) > 0 {
			var atts []struct {
				Name            string `json:"name"`
				MimeType        string `json:"mimeType"`
				Size            string `json:"size"`
				SignatureBase64 string `json:"signature-base64"`
				URL             string `json:"url"`
				Owner           string `json:"owner"`
				Key             string `json:"key"`
			}
			if err := json.Unmarshal(m["attachments"], &atts); err != nil {
				return "attachments: " + err.Error()
			}
			if n := strings.Count(body, "\uFFFC"); n != len(atts) {
				return fmt.Sprintf("the body has %d attachment marks (U+FFFC) for %d attachments", n, len(atts))
			}
			for _, a := range atts {
				s.mu.Lock()
				f := s.files[a.URL]
				s.mu.Unlock()
				sig, _ := base64.StdEncoding.DecodeString(a.SignatureBase64)
				if f == nil || f.owner != a.Owner || !bytes.Equal(f.signature, sig) {
					return "attachment " + a.Name + ": unknown url, owner or signature (upload it through preUpload first)"
				}
				if a.Name == "" || a.MimeType == "" || a.Size != strconv.Itoa(len(f.data)) || !validKey(a.Key) {
					return "attachment " + a.Name + ": name, mimeType, size (of the encrypted file) and key (00 + 64 hex digits) are required"
				}
			}
		}
	case "typing_start", "typing_end":
	case "richLink":
		var rl struct {
			URL   string `json:"url"`
			Title string `json:"title"`
		}
		if json.Unmarshal(m["richLinkData"], &rl) != nil || !strings.HasPrefix(rl.URL, "https://") {
			return "richLinkData.url must be an https URL"
		}
	case "interactive":
		return checkInteractive(m["interactiveData"])
	default:
		return fmt.Sprintf("unknown message type %q", kind)
	}
	return ""
}

func validKey(k string) bool {
	if len(k) != 66 || k[:2] != "00" {
		return false
	}
	_, err := hex.DecodeString(k[2:])
	return err == nil
}

var bidPattern = regexp.MustCompile(`^com\.apple\.messages\.MSMessageExtensionBalloonPlugin:[^:]+:[^:]+$`)

func checkInteractive(raw json.RawMessage) string {
	var in struct {
		BID             string `json:"bid"`
		ReceivedMessage *struct {
			Title string `json:"title"`
		} `json:"receivedMessage"`
		Data *struct {
			Version           string `json:"version"`
			RequestIdentifier string `json:"requestIdentifier"`
			ListPicker        *struct {
				Sections []struct {
					Items []struct {
						Identifier string `json:"identifier"`
						Title      string `json:"title"`
					} `json:"items"`
				} `json:"sections"`
			} `json:"listPicker"`
			Event *struct {
				Identifier string `json:"identifier"`
				Timeslots  []struct {
					Identifier string `json:"identifier"`
					StartTime  string `json:"startTime"`
					Duration   int    `json:"duration"`
				} `json:"timeslots"`
			} `json:"event"`
			QuickReply *struct {
				SummaryText string `json:"summaryText"`
				Items       []struct {
					Identifier string `json:"identifier"`
					Title      string `json:"title"`
				} `json:"items"`
			} `json:"quick-reply"`
			Dynamic *struct {
				Template string `json:"template"`
			} `json:"dynamic"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return "interactiveData: " + err.Error()
	}
	if !bidPattern.MatchString(in.BID) {
		return "interactiveData.bid must be com.apple.messages.MSMessageExtensionBalloonPlugin:<team-id>:<extension-id>"
	}
	if in.BID != AppleBID {
		return "" // a business's own app extension: its data is its own
	}
	d := in.Data
	if d == nil || d.Version != "1.0" || d.RequestIdentifier == "" {
		return "interactiveData.data needs version 1.0 and a requestIdentifier"
	}
	kinds := 0
	for _, present := range []bool{d.ListPicker != nil, d.Event != nil, d.QuickReply != nil, d.Dynamic != nil} {
		if present {
			kinds++
		}
	}
	if kinds != 1 {
		return "interactiveData.data needs exactly one of listPicker, event, quick-reply, dynamic"
	}
	if d.QuickReply == nil && (in.ReceivedMessage == nil || in.ReceivedMessage.Title == "") {
		return "interactiveData.receivedMessage.title is required"
	}
	switch {
	case d.QuickReply != nil:
		if n := len(d.QuickReply.Items); n < 2 || n > 5 {
			return "quick-reply: 2 to 5 items"
		}
		for _, it := range d.QuickReply.Items {
			if it.Identifier == "" || it.Title == "" || utf8.RuneCountInString(it.Title) > 24 {
				return "quick-reply items need an identifier and a title of at most 24 characters"
			}
		}
	case d.ListPicker != nil:
		n := 0
		for _, sec := range d.ListPicker.Sections {
			for _, it := range sec.Items {
				n++
				if it.Identifier == "" || it.Title == "" {
					return "listPicker items need an identifier and a title"
				}
			}
		}
		if n == 0 {
			return "listPicker needs at least one item"
		}
	case d.Event != nil:
		if len(d.Event.Timeslots) == 0 {
			return "event needs timeslots"
		}
		for _, t := range d.Event.Timeslots {
			if _, err := time.Parse("2006-01-02T15:04-0700", t.StartTime); err != nil || t.Identifier == "" || t.Duration <= 0 {
				return "event timeslots need an identifier, a startTime like 2026-05-26T08:27+0000 and a duration"
			}
		}
	case d.Dynamic != nil:
		if d.Dynamic.Template != "messageForms" {
			return "dynamic.template must be messageForms"
		}
	}
	return ""
}

// ---- attachments ----

// encrypt is Apple's attachment cipher: AES-256-CTR, zero IV, fresh key.
func encrypt(plain []byte) (data []byte, key []byte, err error) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	data = make([]byte, len(plain))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(data, plain)
	return data, key, nil
}

// Decrypt undoes Apple's attachment cipher with a "00"-prefixed hex key.
func Decrypt(data []byte, hexKey string) ([]byte, error) {
	if !validKey(hexKey) {
		return nil, errors.New("fake: not a 00-prefixed 256-bit hex key")
	}
	key, _ := hex.DecodeString(hexKey[2:])
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(out, data)
	return out, nil
}

func checksum(data []byte) []byte {
	sum := sha1.Sum(data)
	return append([]byte{0x01}, sum[:]...)
}

// store keeps an encrypted file and returns it.
func (s *Server) store(data []byte) *file {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	id := fmt.Sprintf("F%06d%s", s.seq, strings.ToUpper(hex.EncodeToString(checksum(data)[1:9])))
	f := &file{id: id, url: s.root + "/mmcs/file/" + id, owner: "MY" + strings.ToUpper(hex.EncodeToString(checksum(append([]byte(id), data...))[1:])) + ".C01USN00",
		signature: checksum(data), data: data}
	s.files[f.url], s.byID[f.id] = f, f
	return f
}

func (s *Server) preUpload(w http.ResponseWriter, r *http.Request) {
	v := r.Header.Get("MMCS-Size")
	if v == "" {
		v = r.Header.Get("Size")
	}
	size, err := strconv.Atoi(v)
	if err != nil || size <= 0 || size > maxFile {
		apiError(w, http.StatusBadRequest, "MMCS-Size must be the encrypted file's size in bytes")
		return
	}
	s.mu.Lock()
	s.seq++
	token := fmt.Sprintf("%032x", s.seq) // deterministic: golden files record it
	s.uploads[token] = pendingUpload{size: size}
	s.mu.Unlock()
	// The file's url and owner are known once the bytes arrive: the fake
	// hands out the ones it will give the upload.
	writeJSON(w, map[string]any{"upload-url": s.root + "/mmcs/upload/" + token,
		"mmcs-url": s.root + "/mmcs/file/" + token, "mmcs-owner": "MY" + strings.ToUpper(token) + ".C01USN00"})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, req *Request) {
	token := strings.TrimPrefix(r.URL.Path, "/mmcs/upload/")
	s.mu.Lock()
	p, ok := s.uploads[token]
	delete(s.uploads, token)
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "unknown or used upload URL")
		return
	}
	if len(req.Body) != p.size {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("announced %d bytes, received %d", p.size, len(req.Body)))
		return
	}
	f := &file{id: token, url: s.root + "/mmcs/file/" + token, owner: "MY" + strings.ToUpper(token) + ".C01USN00",
		signature: checksum(req.Body), data: append([]byte(nil), req.Body...)}
	s.mu.Lock()
	s.files[f.url], s.byID[f.id] = f, f
	s.mu.Unlock()
	writeJSON(w, map[string]any{"singleFile": map[string]any{"fileChecksum": base64.StdEncoding.EncodeToString(f.signature),
		"size": len(f.data), "receipt": "fake"}})
}

func (s *Server) preDownload(w http.ResponseWriter, r *http.Request) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := r.Header.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	fileURL, owner := first("MMCS-Url", "Url"), first("MMCS-Owner", "Owner")
	sig, err := base64.StdEncoding.DecodeString(first("MMCS-Signature", "Signature"))
	s.mu.Lock()
	f := s.files[fileURL]
	s.mu.Unlock()
	if f == nil || f.owner != owner || err != nil || !bytes.Equal(sig, f.signature) {
		apiError(w, http.StatusBadRequest, "unknown file: url, owner or signature (base64) do not match")
		return
	}
	writeJSON(w, map[string]any{"download-url": s.root + "/mmcs/download/" + f.id})
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.byID[strings.TrimPrefix(r.URL.Path, "/mmcs/download/")]
	s.mu.Unlock()
	if f == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

// decodePayload turns a decrypted large interactive payload back into its
// interactive data. (The fake's "encoding" is the JSON itself.)
func (s *Server) decodePayload(w http.ResponseWriter, r *http.Request, req *Request) {
	if r.Header.Get("Bid") == "" {
		apiError(w, http.StatusBadRequest, "the bid header is required")
		return
	}
	if !json.Valid(req.Body) {
		apiError(w, http.StatusBadRequest, "the payload cannot be decoded")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(req.Body)
}

// Uploaded returns the decrypted bytes of a file a message's attachment
// names (its url and key), for checking what the customer received.
func (s *Server) Uploaded(fileURL, hexKey string) ([]byte, error) {
	s.mu.Lock()
	f := s.files[fileURL]
	s.mu.Unlock()
	if f == nil {
		return nil, errors.New("fake: no such file")
	}
	return Decrypt(f.data, hexKey)
}
