// Package fake is a local Slack Web API (CHANNELS.md §9): a real HTTP
// server on a loopback port answering, like Slack, chat.postMessage (Block
// Kit validated against Slack's limits), the three-step external file
// upload (files.getUploadURLExternal, POST to the upload URL,
// files.completeUploadExternal), files.info, and private file downloads
// that need the bot token (without it, Slack's sign-in page, as Slack
// does). Errors are Slack's: HTTP 200 {"ok":false,"error"}, or HTTP 429
// with Retry-After. It records every request, every message and file, can
// be told to fail (FailNext), and builds, signs and posts webhooks as Slack
// does (webhooks.go): Events API callbacks, block_actions taps,
// url_verification.
//
// Point a Slack point of contact at it with settings.api_base_url = URL(),
// credentials.bot_token = Options().BotToken and
// credentials.signing_secret = Options().SigningSecret.
//
// The package imports nothing from Parley: it signs and validates on its
// own, so it checks the adapter rather than mirroring it.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
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
	DefaultBotToken      = "xoxb-1000000001-2000000002-fAkEbOtToKeNfAkEbOtToKeN"
	DefaultSigningSecret = "fakesigningsecret0123456789abcdef"
	DefaultTeamID        = "T0FAKETEAM"
	DefaultAppID         = "A0FAKEAPP1"
	DefaultBotUserID     = "U0FAKEBOT1"
	DefaultBotID         = "B0FAKEBOT1"
)

// Limits the fake enforces, as Slack does.
const (
	MaxTextLength    = 40000
	MaxBlocks        = 50
	MaxSectionText   = 3000
	MaxPlainText     = 75 // button text, option text, option group label
	MaxButtonValue   = 2000
	MaxOptionValue   = 150
	MaxActionsLength = 25
	MaxSelectOptions = 100
	MaxActionID      = 255
	MaxUploadLength  = 1 << 30
)

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// BotToken is the only token the Web API accepts.
	BotToken string
	// SigningSecret signs the webhooks the Server's helpers send.
	SigningSecret string
	// TeamID, AppID, BotUserID and BotID describe the workspace and the
	// app's bot in the payloads the fake builds and answers.
	TeamID    string
	AppID     string
	BotUserID string
	BotID     string
	// Now is the fake's clock: message ts and webhook timestamps. Default
	// time.Now.
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string
	ContentType   string
	Authorization string
	Body          []byte
	// APIMethod is what the fake took it for: a Web API method name
	// ("chat.postMessage"), "upload" (bytes to an upload URL), "download"
	// (a private file), "media" (AddMedia's files) or "unknown".
	APIMethod string
	Status    int
	Response  []byte
}

// JSON is the request's body as a JSON object: the body itself for a JSON
// request, the form's fields for a form (one value each, as Slack reads
// them).
func (r Request) JSON() json.RawMessage {
	return bodyJSON(r.ContentType, r.Body)
}

// Message is a message chat.postMessage accepted.
type Message struct {
	Channel  string
	ThreadTS string
	TS       string
	Text     string
	Blocks   json.RawMessage
	// Body is the request body as JSON (Request.JSON).
	Body json.RawMessage
}

// File is a file uploaded through the external upload, or added as a
// customer's file (AddFile).
type File struct {
	ID       string
	Name     string
	Title    string
	MimeType string
	Length   int
	Data     []byte
	// Channel and ThreadTS are where files.completeUploadExternal shared it.
	Channel  string
	ThreadTS string
	// Uploaded: the bytes arrived; Completed: files.completeUploadExternal
	// shared it.
	Uploaded  bool
	Completed bool
}

// Failure is a scripted answer to the next Web API call (of Method, when
// set), served before normal service resumes.
type Failure struct {
	// Method limits the failure to one Web API method ("chat.postMessage",
	// "files.getUploadURLExternal", "files.completeUploadExternal", or
	// "upload" for the upload URL); empty: the next call of any.
	Method string
	// Status is the HTTP status (default 200, Slack's status for its
	// {"ok":false} errors). Drop closes the connection without answer.
	Status int
	Drop   bool
	// Error is Slack's error code ({"ok":false,"error":Error}); empty with
	// a 5xx Status answers a bare error page.
	Error      string
	RetryAfter string
}

// RateLimited is Slack's HTTP 429 with Retry-After (seconds) and
// {"ok":false,"error":"ratelimited"}.
func RateLimited(retryAfter string) Failure {
	return Failure{Status: http.StatusTooManyRequests, Error: "ratelimited", RetryAfter: retryAfter}
}

// PlatformError is an HTTP 200 {"ok":false,"error":code} answer
// (channel_not_found, not_in_channel, is_archived, invalid_auth,
// missing_scope, internal_error…).
func PlatformError(code string) Failure { return Failure{Error: code} }

// ServerError is a transient HTTP 503 without a Slack body.
func ServerError() Failure { return Failure{Status: http.StatusServiceUnavailable} }

// Server is the fake Slack.
type Server struct {
	opts Options
	url  string
	srv  *http.Server

	mu       sync.Mutex
	requests []Request
	messages []Message
	failures []Failure
	files    map[string]*File
	fileIDs  []string // upload order
	media    map[string]media
	channels map[string]string // channel id → "archived", "kicked" or "deleted"
	seq      int               // message ts and id sequence
	lastTS   time.Time         // last webhook event time handed out
}

type media struct {
	mimeType string
	data     []byte
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.SigningSecret == "" {
		opts.SigningSecret = DefaultSigningSecret
	}
	if opts.TeamID == "" {
		opts.TeamID = DefaultTeamID
	}
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.BotUserID == "" {
		opts.BotUserID = DefaultBotUserID
	}
	if opts.BotID == "" {
		opts.BotID = DefaultBotID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, url: "http://" + ln.Addr().String(), files: map[string]*File{}, media: map[string]media{}, channels: map[string]string{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// URL is the Web API base to configure as settings.api_base_url
// (http://127.0.0.1:port/api).
func (s *Server) URL() string { return s.url + "/api" }

// Root is the server's own address (upload URLs, files, media).
func (s *Server) Root() string { return s.url }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages chat.postMessage accepted, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Files returns the files uploaded and shared by the business
// (files.completeUploadExternal), in upload order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileIDs {
		if f := s.files[id]; f.Completed {
			c := *f
			c.Data = append([]byte(nil), f.Data...)
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets requests, messages, uploads, failures and channel states,
// and restarts the id sequence.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.messages, s.failures, s.fileIDs, s.seq = nil, nil, nil, nil, 0
	s.files = map[string]*File{}
	s.channels = map[string]string{}
	s.lastTS = time.Time{}
}

// FailNext queues failures, used in order by the next matching calls.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Archive makes posts to a channel fail with is_archived, as after the
// channel was archived.
func (s *Server) Archive(channelID string) { s.setChannel(channelID, "archived") }

// Kick makes posts to a channel fail with not_in_channel, as after the app
// was removed from it.
func (s *Server) Kick(channelID string) { s.setChannel(channelID, "kicked") }

// Delete makes posts to a conversation fail with channel_not_found.
func (s *Server) Delete(channelID string) { s.setChannel(channelID, "deleted") }

func (s *Server) setChannel(id, state string) {
	s.mu.Lock()
	s.channels[id] = state
	s.mu.Unlock()
}

// AddMedia serves a file at the returned URL without authentication: a
// stand-in for the signed URLs Parley hands the adapter for outbound
// attachments.
func (s *Server) AddMedia(name, mimeType string, data []byte) string {
	s.mu.Lock()
	s.media[name] = media{mimeType: mimeType, data: append([]byte(nil), data...)}
	s.mu.Unlock()
	return s.url + "/media/" + url.PathEscape(name)
}

// AddFile stores a file a customer shared in Slack and returns it with its
// id; its private URLs (FileURL) need the bot token.
func (s *Server) AddFile(name, mimeType string, data []byte) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	f := &File{ID: fileID(s.seq), Name: name, Title: name, MimeType: mimeType, Length: len(data), Data: append([]byte(nil), data...), Uploaded: true}
	s.files[f.ID] = f
	return *f
}

// FileURL is a file's url_private_download.
func (s *Server) FileURL(f File) string {
	return s.url + "/files-pri/" + s.opts.TeamID + "-" + f.ID + "/download/" + url.PathEscape(f.Name)
}

func fileID(n int) string { return fmt.Sprintf("F%010d", n) }

// nextTS makes the next message ts (s.mu held): the clock's second and a sequence, so
// every ts is unique and a fixed clock gives fixed ids.
func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", s.opts.Now().Unix(), s.seq)
}

// statusRecorder keeps the status and body answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
	body   []byte
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
	r.body = append(r.body, b...)
	return r.ResponseWriter.Write(b)
}

var (
	apiPath      = regexp.MustCompile(`^/api/([A-Za-z]+\.[A-Za-z.]+)$`)
	uploadPath   = regexp.MustCompile(`^/upload/v1/(F[0-9]{10})$`)
	downloadPath = regexp.MustCompile(`^/files-pri/([A-Z0-9]+)-(F[0-9]{10})(/download)?/[^/]+$`)
	mediaPath    = regexp.MustCompile(`^/media/([^/]+)$`)
	channelID    = regexp.MustCompile(`^[CDG][A-Z0-9]{2,40}$`)
	userID       = regexp.MustCompile(`^[UW][A-Z0-9]{2,40}$`)
	tsPattern    = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,9}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	req := Request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Authorization: r.Header.Get("Authorization"),
		Body: body, APIMethod: "unknown"}
	rec := &statusRecorder{ResponseWriter: w}
	switch {
	case apiPath.MatchString(r.URL.Path):
		req.APIMethod = apiPath.FindStringSubmatch(r.URL.Path)[1]
		s.api(rec, r, req.APIMethod, body)
	case uploadPath.MatchString(r.URL.Path):
		req.APIMethod = "upload"
		s.upload(rec, r, uploadPath.FindStringSubmatch(r.URL.Path)[1], body)
	case downloadPath.MatchString(r.URL.Path):
		req.APIMethod = "download"
		m := downloadPath.FindStringSubmatch(r.URL.Path)
		s.download(rec, r, m[1], m[2])
	case mediaPath.MatchString(r.URL.Path):
		req.APIMethod = "media"
		name, _ := url.PathUnescape(mediaPath.FindStringSubmatch(r.URL.Path)[1])
		s.serveMedia(rec, name)
	default:
		http.NotFound(rec, r)
	}
	req.Status, req.Response = rec.status, rec.body
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

// takeFailure takes the next failure for a method, if any.
func (s *Server) takeFailure(method string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if f.Method == "" || f.Method == method {
			s.failures = append(s.failures[:i:i], s.failures[i+1:]...)
			return f, true
		}
	}
	return Failure{}, false
}

// fail writes a scripted failure, or drops the connection.
func fail(w *statusRecorder, f Failure) {
	if f.Drop {
		if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		f.Status = http.StatusServiceUnavailable
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Error == "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html><body>"+http.StatusText(status)+"</body></html>")
		return
	}
	writeJSON(w, status, map[string]any{"ok": false, "error": f.Error})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func slackError(w http.ResponseWriter, code string, messages ...string) {
	out := map[string]any{"ok": false, "error": code}
	if len(messages) > 0 {
		out["response_metadata"] = map[string]any{"messages": messages}
	}
	writeJSON(w, http.StatusOK, out)
}

// args reads a Web API call's arguments from the query, a form or a JSON
// body, as Slack does. JSON values that are not strings are kept as raw
// JSON.
func args(r *http.Request, body []byte) (map[string]json.RawMessage, bool, string) {
	out := map[string]json.RawMessage{}
	for k, v := range r.URL.Query() {
		out[k] = jsonString(v[0])
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(body) == 0:
	case mt == "application/json":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return nil, true, "invalid_json"
		}
		for k, v := range m {
			out[k] = v
		}
	case mt == "application/x-www-form-urlencoded" || mt == "":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, false, "invalid_form_data"
		}
		for k, v := range form {
			out[k] = jsonString(v[0])
		}
	default:
		return nil, false, "invalid_form_data"
	}
	return out, mt == "application/json", ""
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// str reads a string argument ("" when absent or not a string).
func str(a map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(a[k], &s)
	return s
}

// structured reads an argument that is JSON, sent as JSON or (in a form)
// as a JSON string.
func structured(a map[string]json.RawMessage, k string) (json.RawMessage, bool) {
	raw, ok := a[k]
	if !ok {
		return nil, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if !json.Valid([]byte(s)) {
			return nil, true
		}
		return json.RawMessage(s), true
	}
	return raw, true
}

func (s *Server) token(r *http.Request, a map[string]json.RawMessage) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return str(a, "token")
}

// api serves the Web API methods.
func (s *Server) api(w *statusRecorder, r *http.Request, method string, body []byte) {
	a, isJSON, bad := args(r, body)
	if bad != "" {
		slackError(w, bad)
		return
	}
	switch tok := s.token(r, a); {
	case tok == "":
		slackError(w, "not_authed")
		return
	case tok != s.opts.BotToken:
		slackError(w, "invalid_auth")
		return
	}
	if f, ok := s.takeFailure(method); ok {
		fail(w, f)
		return
	}
	warning := ""
	if isJSON {
		if _, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); params["charset"] == "" {
			warning = "missing_charset"
		}
	}
	var out map[string]any
	var code string
	var msgs []string
	switch method {
	case "chat.postMessage":
		out, code, msgs = s.postMessage(a, body, r.Header.Get("Content-Type"))
	case "files.getUploadURLExternal":
		out, code = s.getUploadURL(a)
	case "files.completeUploadExternal":
		out, code = s.completeUpload(a)
	case "files.info":
		out, code = s.fileInfo(a)
	case "auth.test":
		out = map[string]any{"url": "https://fake.slack.com/", "team": "Fake", "user": "parley", "team_id": s.opts.TeamID,
			"user_id": s.opts.BotUserID, "bot_id": s.opts.BotID}
	default:
		code = "unknown_method"
	}
	if code != "" {
		slackError(w, code, msgs...)
		return
	}
	out["ok"] = true
	if warning != "" {
		out["warning"] = warning
		out["response_metadata"] = map[string]any{"warnings": []string{warning}}
	}
	writeJSON(w, http.StatusOK, out)
}

// channelState checks a conversation a message or file goes to.
func (s *Server) channelState(ch string) string {
	if !channelID.MatchString(ch) {
		return "channel_not_found"
	}
	s.mu.Lock()
	state := s.channels[ch]
	s.mu.Unlock()
	switch state {
	case "archived":
		return "is_archived"
	case "kicked":
		return "not_in_channel"
	case "deleted":
		return "channel_not_found"
	}
	return ""
}

func (s *Server) postMessage(a map[string]json.RawMessage, body []byte, contentType string) (map[string]any, string, []string) {
	ch := str(a, "channel")
	if userID.MatchString(ch) {
		ch = DMChannel(ch) // posting to a user id posts in the app's DM with them
	}
	if code := s.channelState(ch); code != "" {
		return nil, code, nil
	}
	text := str(a, "text")
	blocks, hasBlocks := structured(a, "blocks")
	if hasBlocks && blocks == nil {
		return nil, "invalid_blocks_format", nil
	}
	if hasBlocks {
		if msgs := CheckBlocks(blocks); len(msgs) > 0 {
			return nil, "invalid_blocks", msgs
		}
	}
	if strings.TrimSpace(text) == "" && !hasBlocks {
		return nil, "no_text", nil
	}
	if utf8.RuneCountInString(text) > MaxTextLength {
		return nil, "msg_too_long", nil
	}
	thread := str(a, "thread_ts")
	if thread != "" && !tsPattern.MatchString(thread) {
		return nil, "invalid_thread_ts", nil
	}
	s.mu.Lock()
	ts := s.nextTS()
	m := Message{Channel: ch, ThreadTS: thread, TS: ts, Text: text, Blocks: blocks, Body: bodyJSON(contentType, body)}
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	msg := map[string]any{"type": "message", "text": text, "user": s.opts.BotUserID, "bot_id": s.opts.BotID, "ts": ts, "team": s.opts.TeamID}
	if thread != "" {
		msg["thread_ts"] = thread
	}
	if hasBlocks {
		msg["blocks"] = blocks
	}
	return map[string]any{"channel": ch, "ts": ts, "message": msg}, "", nil
}

func (s *Server) getUploadURL(a map[string]json.RawMessage) (map[string]any, string) {
	name := str(a, "filename")
	lengthRaw := str(a, "length")
	if lengthRaw == "" {
		lengthRaw = strings.TrimSpace(string(a["length"])) // a JSON number
	}
	n, err := strconv.Atoi(lengthRaw)
	if name == "" || err != nil || n <= 0 || n > MaxUploadLength {
		return nil, "invalid_arguments"
	}
	s.mu.Lock()
	s.seq++
	f := &File{ID: fileID(s.seq), Name: name, Title: name, Length: n}
	s.files[f.ID] = f
	s.fileIDs = append(s.fileIDs, f.ID)
	s.mu.Unlock()
	return map[string]any{"upload_url": s.url + "/upload/v1/" + f.ID, "file_id": f.ID}, ""
}

// upload takes a file's bytes, raw or as a multipart form, as Slack's
// upload URLs do; the length must be the one announced.
func (s *Server) upload(w *statusRecorder, r *http.Request, id string, body []byte) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if f, ok := s.takeFailure("upload"); ok {
		fail(w, f)
		return
	}
	data, mt := body, r.Header.Get("Content-Type")
	if m, params, err := mime.ParseMediaType(mt); err == nil && m == "multipart/form-data" {
		mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
		data = nil
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FileName() != "" {
				data, _ = io.ReadAll(p)
				mt = p.Header.Get("Content-Type")
				break
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	switch {
	case f == nil || f.Uploaded:
		http.Error(w, "upload URL not found or already used", http.StatusNotFound)
	case len(data) != f.Length:
		http.Error(w, fmt.Sprintf("length mismatch: announced %d, received %d", f.Length, len(data)), http.StatusBadRequest)
	default:
		f.Data, f.Uploaded = append([]byte(nil), data...), true
		if m, _, err := mime.ParseMediaType(mt); err == nil && m != "application/octet-stream" {
			f.MimeType = m
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, "OK - %d", len(data))
	}
}

func (s *Server) completeUpload(a map[string]json.RawMessage) (map[string]any, string) {
	raw, ok := structured(a, "files")
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if !ok || raw == nil || json.Unmarshal(raw, &files) != nil || len(files) == 0 {
		return nil, "invalid_arguments"
	}
	ch, thread := str(a, "channel_id"), str(a, "thread_ts")
	if ch != "" {
		if code := s.channelState(ch); code != "" {
			return nil, code
		}
	}
	if thread != "" && (ch == "" || !tsPattern.MatchString(thread)) {
		return nil, "invalid_thread_ts"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range files {
		if f := s.files[x.ID]; f == nil || !f.Uploaded || f.Completed {
			return nil, "file_not_found"
		}
	}
	var out []map[string]any
	for _, x := range files {
		f := s.files[x.ID]
		f.Completed, f.Channel, f.ThreadTS = true, ch, thread
		if x.Title != "" {
			f.Title = x.Title
		}
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	return map[string]any{"files": out}, ""
}

func (s *Server) fileInfo(a map[string]json.RawMessage) (map[string]any, string) {
	s.mu.Lock()
	f := s.files[str(a, "file")]
	var c File
	if f != nil {
		c = *f
	}
	s.mu.Unlock()
	if f == nil || !c.Uploaded {
		return nil, "file_not_found"
	}
	return map[string]any{"file": s.fileObject(c)}, ""
}

// fileObject is a file as Slack describes it in files.info and in a
// message's files[].
func (s *Server) fileObject(f File) map[string]any {
	return map[string]any{"id": f.ID, "name": f.Name, "title": f.Title, "mimetype": f.MimeType, "filetype": strings.TrimPrefix(strings.ToLower(extension(f.Name)), "."),
		"size": len(f.Data), "mode": "hosted", "is_external": false,
		"url_private":          s.url + "/files-pri/" + s.opts.TeamID + "-" + f.ID + "/" + url.PathEscape(f.Name),
		"url_private_download": s.FileURL(f)}
}

func extension(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// signInPage is what Slack answers a file download without a valid token.
const signInPage = `<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to your workspace</body></html>`

// download serves a private file: with the bot token, its bytes; without,
// Slack's sign-in page (HTTP 200, text/html), as Slack does.
func (s *Server) download(w http.ResponseWriter, r *http.Request, team, id string) {
	s.mu.Lock()
	f := s.files[id]
	var c File
	if f != nil {
		c = *f
	}
	s.mu.Unlock()
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok != s.opts.BotToken || team != s.opts.TeamID {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, signInPage)
		return
	}
	if f == nil || !c.Uploaded {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", firstNonEmpty(c.MimeType, "application/octet-stream"))
	w.Header().Set("Content-Length", strconv.Itoa(len(c.Data)))
	_, _ = w.Write(c.Data)
}

// pngPixel is the 1×1 image served for media never added.
const pngPixel = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

func (s *Server) serveMedia(w http.ResponseWriter, name string) {
	s.mu.Lock()
	m, ok := s.media[name]
	s.mu.Unlock()
	if !ok {
		m = media{mimeType: "image/png", data: []byte(pngPixel)}
	}
	w.Header().Set("Content-Type", m.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = w.Write(m.data)
}

// bodyJSON turns a request body into a JSON object.
func bodyJSON(contentType string, body []byte) json.RawMessage {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" && json.Valid(body) {
		return append(json.RawMessage(nil), body...)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for k, v := range form {
		m[k] = v[0]
	}
	b, _ := json.Marshal(m)
	return b
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
