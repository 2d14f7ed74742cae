// Package fake is a local WhatsApp Cloud API (CHANNELS.md §1): a real HTTP
// server on a loopback port that serves the send endpoint
// (POST /{phone-number-id}/messages, including read marks), the media
// endpoints (GET /{media-id} and the download URL it gives) and the template
// list (GET /{waba-id}/message_templates, paged), with the platform's
// success and error shapes. It records every request, can be told to fail
// (HTTP status, Graph error code, Retry-After), and builds and sends signed
// webhooks (webhooks.go) as Meta does.
//
// Point a WhatsApp point of contact at it with settings.api_base_url = URL.
// Paths may carry a Graph version prefix (/v25.0/…) or not.
package fake

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	DefaultPhoneNumberID      = "106540352242922"
	DefaultDisplayPhoneNumber = "15550001111"
	DefaultWABAID             = "102290129340398"
	DefaultPageSize           = 25
)

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// PhoneNumberID is the business number that sends; other ids → error 100.
	PhoneNumberID string
	// DisplayPhoneNumber appears in built webhooks' metadata.
	DisplayPhoneNumber string
	// WABAID is the business account that owns the templates.
	WABAID string
	// AccessToken, when set, is the only Bearer token accepted (else error
	// 190); when empty any non-empty Bearer token is.
	AccessToken string
	// PageSize is the largest template page served (default 25), whatever
	// limit the client asks for, so paging can be exercised.
	PageSize int
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string // as received, version prefix included
	Query         url.Values
	Authorization string
	// Body is the raw body; JSON is it when it parsed as JSON.
	Body []byte
	JSON json.RawMessage
	// Endpoint is what the fake took it for: messages, read, media,
	// download, templates or unknown.
	Endpoint string
	// Status is the HTTP status the fake answered.
	Status int
	// MessageID is the wamid answered for an accepted message.
	MessageID string
	At        time.Time
}

// Failure is a scripted failure.
type Failure struct {
	// Endpoint limits it to one endpoint (messages, read, media, download,
	// templates); empty: the next request of any endpoint.
	Endpoint string
	// After lets that many matching requests through first (e.g. 1: the
	// second part of a multi-part send fails).
	After int
	// Status is the HTTP status (default 400); 0 with Drop: close the
	// connection without answering.
	Status int
	Drop   bool
	// The Graph error: {"error":{"message","type","code","error_subcode","fbtrace_id","error_data":{"details"}}}.
	Code       int
	Subcode    int
	Type       string // default OAuthException
	Message    string
	Details    string
	RetryAfter string // Retry-After header value, e.g. "2"
}

// RateLimited is the throughput error: HTTP 429, code 130429, Retry-After.
func RateLimited(retryAfter string) Failure {
	return Failure{Endpoint: "messages", Status: http.StatusTooManyRequests, Code: 130429, Message: "(#130429) Rate limit hit",
		Details: "Cloud API message throughput has been reached.", RetryAfter: retryAfter}
}

// ReEngagement is error 131047: more than 24 hours since the customer wrote.
func ReEngagement() Failure {
	return Failure{Endpoint: "messages", Status: http.StatusBadRequest, Code: 131047, Message: "Re-engagement message",
		Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
}

// ServerError is a transient failure: HTTP 500, code 131000.
func ServerError() Failure {
	return Failure{Status: http.StatusInternalServerError, Code: 131000, Message: "Something went wrong", Details: "Message failed to send because of an unknown error."}
}

// Template is a message template served by the template list, in the Graph
// API's shape.
type Template struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"` // MARKETING, UTILITY, AUTHENTICATION
	Status     string          `json:"status"`   // APPROVED, PENDING, REJECTED, PAUSED, DISABLED
	Components json.RawMessage `json:"components"`
}

type media struct {
	mime string
	data []byte
}

// Server is the fake Cloud API.
type Server struct {
	// URL is the Graph base URL to configure (http://127.0.0.1:port/v25.0).
	URL string
	// Root is the server's root URL (http://127.0.0.1:port).
	Root string

	opts Options
	srv  *http.Server
	ln   net.Listener

	mu        sync.Mutex
	requests  []Request
	failures  []Failure
	templates []Template
	media     map[string]media
	seq       int
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.PhoneNumberID == "" {
		opts.PhoneNumberID = DefaultPhoneNumberID
	}
	if opts.DisplayPhoneNumber == "" {
		opts.DisplayPhoneNumber = DefaultDisplayPhoneNumber
	}
	if opts.WABAID == "" {
		opts.WABAID = DefaultWABAID
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, ln: ln, media: map[string]media{}}
	s.Root = "http://" + ln.Addr().String()
	s.URL = s.Root + "/v25.0"
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Business describes the fake's number, for building webhooks.
func (s *Server) Business() Business {
	return Business{WABAID: s.opts.WABAID, PhoneNumberID: s.opts.PhoneNumberID, DisplayPhoneNumber: s.opts.DisplayPhoneNumber}
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the accepted message sends (not read marks), in order.
func (s *Server) Messages() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Endpoint == "messages" && r.MessageID != "" {
			out = append(out, r)
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

// AddTemplate adds (or replaces, by name and language) templates to serve.
func (s *Server) AddTemplate(ts ...Template) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range ts {
		if t.ID == "" {
			s.seq++
			t.ID = strconv.Itoa(1_000_000 + s.seq)
		}
		if len(t.Components) == 0 {
			t.Components = json.RawMessage("[]")
		}
		replaced := false
		for i, x := range s.templates {
			if x.Name == t.Name && x.Language == t.Language {
				s.templates[i], replaced = t, true
			}
		}
		if !replaced {
			s.templates = append(s.templates, t)
		}
	}
}

// AddMedia makes a media id downloadable (what a customer's file is
// before Parley fetches it).
func (s *Server) AddMedia(id, mimeType string, data []byte) {
	s.mu.Lock()
	s.media[id] = media{mime: mimeType, data: append([]byte(nil), data...)}
	s.mu.Unlock()
}

// NewWAMID makes a fresh message id in the platform's style.
func NewWAMID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return "wamid.HBgL" + strings.ToUpper(hex.EncodeToString(b))
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+(/|$)`)

// graphError writes the Graph API error shape.
func graphError(w http.ResponseWriter, status, code, subcode int, typ, message, details string) {
	if typ == "" {
		typ = "OAuthException"
	}
	e := map[string]any{"message": message, "type": typ, "code": code, "fbtrace_id": "A" + NewWAMID()[10:30]}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if details != "" {
		e["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
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

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	path := versionPrefix.ReplaceAllString(r.URL.Path, "/")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorization: r.Header.Get("Authorization"),
		Body: body, At: time.Now(), Endpoint: "unknown"}
	if json.Valid(body) {
		req.JSON = json.RawMessage(body)
	}
	switch {
	case r.Method == http.MethodPost && len(segs) == 2 && segs[1] == "messages":
		req.Endpoint = "messages"
		var probe struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(body, &probe) == nil && probe.Status != "" {
			req.Endpoint = "read"
		}
	case r.Method == http.MethodGet && len(segs) == 2 && segs[1] == "message_templates":
		req.Endpoint = "templates"
	case r.Method == http.MethodGet && path == "/whatsapp_business/attachments/":
		req.Endpoint = "download"
	case r.Method == http.MethodGet && len(segs) == 1 && segs[0] != "":
		req.Endpoint = "media"
	}
	rec := &statusRecorder{ResponseWriter: w}
	id := s.handle(rec, r, &req, segs)
	req.MessageID = id
	req.Status = rec.status
	if req.Status == 0 {
		req.Status = http.StatusOK
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

// handle answers one request; it returns the wamid of an accepted message.
func (s *Server) handle(w *statusRecorder, r *http.Request, req *Request, segs []string) string {
	s.mu.Lock()
	var fail *Failure
	for i, f := range s.failures {
		if f.Endpoint == "" || f.Endpoint == req.Endpoint {
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
	if fail != nil {
		if fail.Drop {
			if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					w.status = -1
					return ""
				}
			}
		}
		status := fail.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		graphError(w, status, fail.Code, fail.Subcode, fail.Type, fail.Message, fail.Details)
		return ""
	}
	tok, ok := strings.CutPrefix(req.Authorization, "Bearer ")
	if !ok || tok == "" || (s.opts.AccessToken != "" && tok != s.opts.AccessToken) {
		graphError(w, http.StatusUnauthorized, 190, 0, "OAuthException", "Invalid OAuth access token - Cannot parse access token", "")
		return ""
	}
	switch req.Endpoint {
	case "messages", "read":
		return s.messages(w, req, segs[0])
	case "templates":
		s.listTemplates(w, r, segs[0])
	case "media":
		s.mediaInfo(w, segs[0])
	case "download":
		s.download(w, r)
	default:
		graphError(w, http.StatusBadRequest, 100, 33, "GraphMethodException",
			fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", strings.ToLower(r.Method), strings.Join(segs, "/")), "")
	}
	return ""
}

func unsupportedObject(w http.ResponseWriter, method, id string) {
	graphError(w, http.StatusBadRequest, 100, 33, "GraphMethodException",
		fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", method, id), "")
}

func invalidParameter(w http.ResponseWriter, details string) {
	graphError(w, http.StatusBadRequest, 100, 0, "OAuthException", "(#100) Invalid parameter", details)
}

// messageType tells the /messages types the platform knows.
func messageType(kind string) bool {
	switch kind {
	case "text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive", "template", "reaction":
		return true
	}
	return false
}

func (s *Server) messages(w *statusRecorder, req *Request, phoneID string) string {
	if phoneID != s.opts.PhoneNumberID {
		unsupportedObject(w, "post", phoneID)
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &m); err != nil {
		invalidParameter(w, "the request body is not a JSON object")
		return ""
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(m[k], &v)
		return v
	}
	if str("messaging_product") != "whatsapp" {
		graphError(w, http.StatusBadRequest, 100, 0, "OAuthException", "(#100) The parameter messaging_product is required.", "")
		return ""
	}
	if req.Endpoint == "read" {
		if str("status") != "read" || str("message_id") == "" {
			invalidParameter(w, "status must be read, with a message_id")
			return ""
		}
		writeJSON(w, map[string]any{"success": true})
		return ""
	}
	if rt := str("recipient_type"); rt != "" && rt != "individual" {
		invalidParameter(w, "recipient_type must be individual")
		return ""
	}
	to := str("to")
	if to == "" {
		graphError(w, http.StatusBadRequest, 100, 0, "OAuthException", "(#100) The parameter to is required.", "")
		return ""
	}
	kind := str("type")
	if kind == "" {
		kind = "text" // the platform's default
	}
	if !messageType(kind) {
		invalidParameter(w, fmt.Sprintf("unknown message type %q", kind))
		return ""
	}
	if len(m[kind]) == 0 {
		graphError(w, http.StatusBadRequest, 100, 0, "OAuthException", fmt.Sprintf("(#100) The parameter %s is required.", kind), "")
		return ""
	}
	if details := checkMessage(kind, m[kind]); details != "" {
		graphError(w, http.StatusBadRequest, 131009, 0, "OAuthException", "(#131009) Parameter value is not valid", details)
		return ""
	}
	if c, ok := m["context"]; ok {
		var ctx struct {
			MessageID string `json:"message_id"`
		}
		if json.Unmarshal(c, &ctx) != nil || ctx.MessageID == "" {
			invalidParameter(w, "context.message_id is required")
			return ""
		}
	}
	id := NewWAMID()
	msg := map[string]any{"id": id}
	if kind == "template" {
		msg["message_status"] = "accepted"
	}
	writeJSON(w, map[string]any{"messaging_product": "whatsapp", "contacts": []any{map[string]any{"input": to, "wa_id": to}}, "messages": []any{msg}})
	return id
}

// checkMessage validates a message's object like the platform does, for the
// limits Parley's renderer must respect (CHANNELS.md §1).
func checkMessage(kind string, raw json.RawMessage) string {
	runes := utf8.RuneCountInString
	switch kind {
	case "text":
		var t struct {
			Body string `json:"body"`
		}
		if json.Unmarshal(raw, &t) != nil || t.Body == "" {
			return "text.body is required"
		}
		if runes(t.Body) > 4096 {
			return "text.body is longer than 4096 characters"
		}
	case "image", "video", "audio", "document", "sticker":
		var md struct {
			ID      string `json:"id"`
			Link    string `json:"link"`
			Caption string `json:"caption"`
		}
		if json.Unmarshal(raw, &md) != nil || (md.ID == "") == (md.Link == "") {
			return kind + " needs exactly one of id or link"
		}
		if runes(md.Caption) > 1024 {
			return kind + ".caption is longer than 1024 characters"
		}
	case "interactive":
		var in struct {
			Type string `json:"type"`
			Body *struct {
				Text string `json:"text"`
			} `json:"body"`
			Action struct {
				Button  string `json:"button"`
				Buttons []struct {
					Type  string `json:"type"`
					Reply struct {
						ID    string `json:"id"`
						Title string `json:"title"`
					} `json:"reply"`
				} `json:"buttons"`
				Sections []struct {
					Title string `json:"title"`
					Rows  []struct {
						ID          string `json:"id"`
						Title       string `json:"title"`
						Description string `json:"description"`
					} `json:"rows"`
				} `json:"sections"`
			} `json:"action"`
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			return "interactive: " + err.Error()
		}
		switch in.Type {
		case "button":
			if in.Body == nil || in.Body.Text == "" || runes(in.Body.Text) > 1024 {
				return "interactive.body.text is required, at most 1024 characters"
			}
			if n := len(in.Action.Buttons); n < 1 || n > 3 {
				return "interactive.action.buttons: 1 to 3 buttons"
			}
			titles := map[string]bool{}
			for _, b := range in.Action.Buttons {
				if b.Type != "reply" || b.Reply.ID == "" || len(b.Reply.ID) > 256 || b.Reply.Title == "" || runes(b.Reply.Title) > 20 || titles[b.Reply.Title] {
					return "interactive.action.buttons: each a reply with an id ≤ 256 and a unique title ≤ 20 characters"
				}
				titles[b.Reply.Title] = true
			}
		case "list":
			if in.Body == nil || in.Body.Text == "" || runes(in.Body.Text) > 4096 {
				return "interactive.body.text is required"
			}
			if in.Action.Button == "" || runes(in.Action.Button) > 20 {
				return "interactive.action.button is required, at most 20 characters"
			}
			if n := len(in.Action.Sections); n < 1 || n > 10 {
				return "interactive.action.sections: 1 to 10 sections"
			}
			rows := 0
			for _, sec := range in.Action.Sections {
				if (len(in.Action.Sections) > 1 && sec.Title == "") || runes(sec.Title) > 24 {
					return "interactive.action.sections: a title ≤ 24 characters (required with several sections)"
				}
				for _, row := range sec.Rows {
					rows++
					if row.ID == "" || len(row.ID) > 200 || row.Title == "" || runes(row.Title) > 24 || runes(row.Description) > 72 {
						return "interactive.action.sections.rows: id ≤ 200, title ≤ 24, description ≤ 72 characters"
					}
				}
			}
			if rows < 1 || rows > 10 {
				return "interactive.action.sections: 1 to 10 rows in total"
			}
		case "cta_url", "location_request_message", "flow", "product", "product_list", "catalog_message", "address_message":
		default:
			return fmt.Sprintf("interactive.type %q is not supported", in.Type)
		}
	case "template":
		var t struct {
			Name     string `json:"name"`
			Language struct {
				Code string `json:"code"`
			} `json:"language"`
		}
		if json.Unmarshal(raw, &t) != nil || t.Name == "" || t.Language.Code == "" {
			return "template.name and template.language.code are required"
		}
	}
	return ""
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, wabaID string) {
	if wabaID != s.opts.WABAID {
		unsupportedObject(w, "get", wabaID)
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > s.opts.PageSize {
		limit = s.opts.PageSize
	}
	start := 0
	if after := q.Get("after"); after != "" {
		n, err := cursorOffset(after)
		if err != nil {
			invalidParameter(w, "invalid cursor")
			return
		}
		start = n
	}
	s.mu.Lock()
	all := append([]Template(nil), s.templates...)
	s.mu.Unlock()
	start = min(start, len(all))
	end := min(start+limit, len(all))
	page := all[start:end]
	if page == nil {
		page = []Template{}
	}
	out := map[string]any{"data": page}
	if len(page) > 0 {
		paging := map[string]any{"cursors": map[string]any{"before": cursor(start), "after": cursor(end)}}
		if end < len(all) {
			nq := url.Values{}
			for k, v := range q {
				nq[k] = v
			}
			nq.Set("limit", strconv.Itoa(limit))
			nq.Set("after", cursor(end))
			paging["next"] = s.URL + "/" + wabaID + "/message_templates?" + nq.Encode()
		}
		out["paging"] = paging
	}
	writeJSON(w, out)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func cursor(offset int) string { return hex.EncodeToString([]byte("offset:" + strconv.Itoa(offset))) }

func cursorOffset(c string) (int, error) {
	b, err := hex.DecodeString(c)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(string(b), "offset:")
	if !ok {
		return 0, errors.New("bad cursor")
	}
	return strconv.Atoi(n)
}

func (s *Server) mediaInfo(w http.ResponseWriter, id string) {
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		unsupportedObject(w, "get", id)
		return
	}
	writeJSON(w, map[string]any{"messaging_product": "whatsapp", "id": id, "mime_type": m.mime, "sha256": sha256Hex(m.data),
		"file_size": len(m.data), "url": s.Root + "/whatsapp_business/attachments/?mid=" + url.QueryEscape(id) + "&ext=" + strconv.FormatInt(time.Now().Unix(), 10)})
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("mid")
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", m.mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = io.Copy(w, bytes.NewReader(m.data))
}
