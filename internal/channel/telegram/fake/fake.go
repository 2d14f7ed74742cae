// Package fake is a local Telegram Bot API (CHANNELS.md §6): a real HTTP
// server on a loopback port that answers POST/GET /bot<token>/<method> like
// the platform — setWebhook, getWebhookInfo, deleteWebhook, getMe,
// sendMessage, sendPhoto, sendDocument (JSON, form or multipart upload),
// sendChatAction, answerCallbackQuery, getFile — and serves files at
// /file/bot<token>/<file_path>. It checks the token, the parameters and the
// Bot API's limits (text 1–4096 and caption ≤ 1024 UTF-16 units, inline
// keyboards, callback_data 1–64 bytes, reply_parameters, known chats and
// blocked users), answers with the platform's {"ok":…} envelopes and
// descriptions, records every request and sent message, and can be told to
// fail (429 with retry_after, 403 blocked, 400…, a dropped connection).
//
// It also plays Telegram's side of the webhook (updates.go): it builds the
// documented Update payloads (text, photo, document, edited message, button
// tap), posts them with X-Telegram-Bot-Api-Secret-Token to the URL given to
// setWebhook (or any URL), and executes a method given in the webhook's
// reply, as Telegram does (answerCallbackQuery).
//
// Point a point of contact at it with settings.api_base_url = Server.URL and
// credentials.bot_token = Options.Token.
package fake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the bot token the fake accepts when Options.Token is empty.
const DefaultToken = "123456789:AAF4keTelegramBotTokenForParleyTests0"

// Bot API limits the fake enforces.
const (
	MaxText        = 4096     // UTF-16 code units
	MaxCaption     = 1024     // UTF-16 code units
	MaxCallback    = 64       // bytes
	MaxButtons     = 100      // per inline keyboard
	MaxRowButtons  = 8        // per row
	MaxDownload    = 20 << 20 // getFile
	MaxUpload      = 50 << 20 // multipart uploads
	maxRequestBody = MaxUpload + 1<<20
)

// Options configure the fake.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr string
	// Token is the only bot token accepted (else 401 Unauthorized);
	// default DefaultToken. Its number before the colon is the bot's id.
	Token string
	// BotName and BotUsername describe the bot (getMe, sent messages).
	BotName     string
	BotUsername string
	// LocalWebhooks lets setWebhook take http:// URLs on any port (tests,
	// the sandbox); Telegram itself wants HTTPS on port 443, 80, 88 or 8443.
	LocalWebhooks bool
	// Now is the clock of message dates; time.Now by default.
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	HTTPMethod  string
	Path        string
	Method      string // the Bot API method ("sendMessage"), or "file" for a download
	Token       string
	ContentType string
	// Body is the raw body; Params the parameters as one JSON object, from
	// the query, a JSON, form or multipart body alike (an uploaded file
	// appears as {"file_name","mime_type","size","sha256"}).
	Body   []byte
	Params json.RawMessage
	// Status and Response are what the fake answered.
	Status   int
	Response json.RawMessage
	// WebhookReply: the method came in a webhook's reply, not a request.
	WebhookReply bool
	At           time.Time
}

// Button is an inline keyboard button of a sent message.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Message is a message the bot sent (an accepted send* call).
type Message struct {
	MessageID int64
	ChatID    int64
	Method    string
	// Body is the request body as sent for JSON requests, else Params.
	Body json.RawMessage
	// Params are the parameters as a JSON object (see Request.Params).
	Params json.RawMessage
	// Result is the Message object the fake answered.
	Result json.RawMessage
	// Text is the text or caption; Keyboard the inline keyboard.
	Text     string
	Keyboard [][]Button
	At       time.Time
}

// WebhookInfo is what setWebhook recorded.
type WebhookInfo struct {
	URL            string
	SecretToken    string
	AllowedUpdates []string
	MaxConnections int
	SetAt          time.Time
}

// Failure is a scripted error answer.
type Failure struct {
	// Method limits it to one Bot API method ("sendMessage", "file" for
	// downloads); empty: the next request of any method.
	Method string
	// After lets that many matching requests through first.
	After int
	// Status is error_code and the HTTP status (default 400).
	Status      int
	Description string
	// RetryAfter and MigrateToChatID fill "parameters".
	RetryAfter      int
	MigrateToChatID int64
	// Raw, when set, is the body as is (a proxy's HTML error page).
	Raw string
	// Drop closes the connection without an answer.
	Drop bool
}

// TooManyRequests is the flood limit: 429 with parameters.retry_after.
func TooManyRequests(retryAfter int) Failure {
	return Failure{Status: http.StatusTooManyRequests, Description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), RetryAfter: retryAfter}
}

// BlockedByUser is 403: the person blocked the bot.
func BlockedByUser() Failure {
	return Failure{Status: http.StatusForbidden, Description: "Forbidden: bot was blocked by the user"}
}

// BadRequest is a 400 with Telegram's "Bad Request: " prefix.
func BadRequest(description string) Failure {
	return Failure{Status: http.StatusBadRequest, Description: "Bad Request: " + description}
}

// BadGateway is the HTML 502 Telegram's front end answers when the Bot API
// is down.
func BadGateway() Failure {
	return Failure{Status: http.StatusBadGateway, Raw: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"}
}

// storedFile is a file getFile and /file/ serve.
type storedFile struct {
	file File
	data []byte
}

// chatState is a private chat with a customer.
type chatState struct {
	user     User
	nextID   int64
	messages map[int64]bool
	blocked  bool
}

// Server is the fake Bot API.
type Server struct {
	// URL is the Bot API root to configure as settings.api_base_url.
	URL string

	opts  Options
	botID int64
	srv   *http.Server

	mu        sync.Mutex
	requests  []Request
	failures  []Failure
	sent      []Message
	webhook   WebhookInfo
	files     map[string]*storedFile // by file_id
	paths     map[string]string      // file_path → file_id
	chats     map[int64]*chatState
	callbacks map[string]bool // issued callback query ids → answered
	answered  []string
	updateSeq int64
	fileSeq   int
	tapSeq    int
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.BotName == "" {
		opts.BotName = "Parley Test Bot"
	}
	if opts.BotUsername == "" {
		opts.BotUsername = "parley_test_bot"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	id, _, _ := strings.Cut(opts.Token, ":")
	botID, err := strconv.ParseInt(id, 10, 64)
	if err != nil || botID <= 0 {
		return nil, fmt.Errorf("fake: the token %q does not start with the bot's numeric id", opts.Token)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), opts: opts, botID: botID,
		files: map[string]*storedFile{}, paths: map[string]string{}, chats: map[int64]*chatState{},
		callbacks: map[string]bool{}, updateSeq: 10000}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Requests returns every request received (and every webhook-reply call),
// in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages the bot sent, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.sent...)
}

// Received lists what the bot sent to a chat: the request bodies as sent
// (JSON), or their parameters as JSON for form and multipart requests.
func (s *Server) Received(chatID string) []json.RawMessage {
	id, err := strconv.ParseInt(strings.TrimSpace(chatID), 10, 64)
	if err != nil {
		return nil
	}
	var out []json.RawMessage
	for _, m := range s.Messages() {
		if m.ChatID == id {
			out = append(out, m.Body)
		}
	}
	return out
}

// Webhook returns what the last setWebhook recorded (zero after deleteWebhook).
func (s *Server) Webhook() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhook
	w.AllowedUpdates = append([]string(nil), w.AllowedUpdates...)
	return w
}

// AnsweredCallbacks lists the callback query ids answered, in order.
func (s *Server) AnsweredCallbacks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.answered...)
}

// FailNext queues scripted failures, used in order before normal service
// resumes.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Reset forgets requests, sent messages, queued failures and answered
// callbacks (chats, files and the webhook stay).
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.sent, s.failures, s.answered = nil, nil, nil, nil
	s.mu.Unlock()
}

// AddChat makes a customer's private chat known, as if they had started
// the bot (delivering an update from them does it too). The bot may only
// send to known chats ("chat not found").
func (s *Server) AddChat(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chat(u)
}

// chat returns the customer's chat, creating it (s.mu held).
func (s *Server) chat(u User) *chatState {
	c := s.chats[u.ID]
	if c == nil {
		c = &chatState{user: u, nextID: 1, messages: map[int64]bool{}}
		s.chats[u.ID] = c
	}
	if u.FirstName != "" {
		c.user = u
	}
	return c
}

// Block makes the customer block the bot: every later send to them is 403.
func (s *Server) Block(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		c.blocked = true
	}
}

// File is a stored file as getFile describes it.
type File struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size"`
	FilePath     string `json:"file_path"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
}

// AddFile stores a file the customer sent (a document): getFile and the
// file endpoint serve it. size, when larger than the data, is the size
// Telegram reports (to test the 20 MB download limit).
func (s *Server) AddFile(name, mimeType string, data []byte, size int64) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addFile("documents", name, mimeType, data, size, 0, 0)
}

// AddPhoto stores a photo the customer sent, in the three sizes Telegram
// makes (smallest first, as in a message's "photo" array); each serves data.
func (s *Server) AddPhoto(data []byte) []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, side := range []int{90, 320, 1280} {
		f := s.addFile("photos", "", "image/jpeg", data, int64(len(data))*int64(side)/1280, side, side*3/4)
		f.FileName, f.MimeType = "", ""
		out = append(out, f)
	}
	return out
}

func (s *Server) addFile(dir, name, mimeType string, data []byte, size int64, w, h int) File {
	s.fileSeq++
	n := s.fileSeq
	ext := ".jpg"
	if dir != "photos" {
		ext = extension(name, mimeType)
	}
	if size < int64(len(data)) {
		size = int64(len(data))
	}
	f := File{
		FileID:       fmt.Sprintf("BQACAgQAAxkBAAI%06dFakeFileId%06d", n, n),
		FileUniqueID: fmt.Sprintf("AgAD%06d", n),
		FileName:     name, MimeType: mimeType, FileSize: size,
		FilePath: fmt.Sprintf("%s/file_%d%s", dir, n, ext),
		Width:    w, Height: h,
	}
	s.files[f.FileID] = &storedFile{file: f, data: append([]byte(nil), data...)}
	s.paths[f.FilePath] = f.FileID
	return f
}

func extension(name, mimeType string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 && len(name)-i <= 6 {
		return strings.ToLower(name[i:])
	}
	if exts, _ := mime.ExtensionsByType(mimeType); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// apiError is the Bot API's error envelope.
func apiError(code int, description string, params map[string]any) map[string]any {
	e := map[string]any{"ok": false, "error_code": code, "description": description}
	if len(params) > 0 {
		e["parameters"] = params
	}
	return e
}

func badRequest(description string) (int, any) {
	return http.StatusBadRequest, apiError(http.StatusBadRequest, "Bad Request: "+description, nil)
}

func ok(result any) (int, any) {
	return http.StatusOK, map[string]any{"ok": true, "result": result}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	req := Request{HTTPMethod: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body, At: s.opts.Now()}
	p := r.URL.Path
	file := false
	if rest, found := strings.CutPrefix(p, "/file/bot"); found {
		p, file = rest, true
	} else if rest, found := strings.CutPrefix(p, "/bot"); found {
		p = rest
	} else {
		s.answer(w, &req, http.StatusNotFound, apiError(http.StatusNotFound, "Not Found", nil))
		return
	}
	token, method, _ := strings.Cut(p, "/")
	req.Token, req.Method = token, method
	if file {
		req.Method = "file"
	}
	if token != s.opts.Token {
		s.answer(w, &req, http.StatusUnauthorized, apiError(http.StatusUnauthorized, "Unauthorized", nil))
		return
	}
	if f := s.nextFailure(req.Method); f != nil {
		s.fail(w, r, &req, f)
		return
	}
	if file {
		s.serveFile(w, &req, method)
		return
	}
	params, err := readParams(r, body)
	if err != nil {
		st, payload := badRequest(err.Error())
		s.answer(w, &req, st, payload)
		return
	}
	req.Params = params.json()
	st, payload := s.dispatch(method, params, &req)
	s.answer(w, &req, st, payload)
}

func (s *Server) nextFailure(method string) *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.failures {
		f := &s.failures[i]
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.After > 0 {
			f.After--
			return nil
		}
		out := *f
		s.failures = append(s.failures[:i], s.failures[i+1:]...)
		return &out
	}
	return nil
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, req *Request, f *Failure) {
	if f.Drop {
		s.record(*req)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if f.Raw != "" {
		req.Status, req.Response = status, nil
		s.record(*req)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, f.Raw)
		return
	}
	desc := f.Description
	if desc == "" {
		desc = http.StatusText(status)
	}
	params := map[string]any{}
	if f.RetryAfter > 0 {
		params["retry_after"] = f.RetryAfter
	}
	if f.MigrateToChatID != 0 {
		params["migrate_to_chat_id"] = f.MigrateToChatID
	}
	s.answer(w, req, status, apiError(status, desc, params))
}

func (s *Server) record(req Request) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

func (s *Server) answer(w http.ResponseWriter, req *Request, status int, payload any) {
	out, _ := json.Marshal(payload)
	req.Status, req.Response = status, out
	s.record(*req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (s *Server) serveFile(w http.ResponseWriter, req *Request, filePath string) {
	s.mu.Lock()
	id, found := s.paths[filePath]
	var f *storedFile
	if found {
		f = s.files[id]
	}
	s.mu.Unlock()
	if f == nil {
		req.Status = http.StatusNotFound
		s.record(*req)
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
		return
	}
	req.Status = http.StatusOK
	s.record(*req)
	w.Header().Set("Content-Type", "application/octet-stream") // as Telegram's file server does
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

// params are a request's parameters: strings from a query, form or
// multipart field, decoded JSON values from a JSON body, and uploads.
type params struct {
	values  map[string]any
	uploads map[string]upload
}

type upload struct {
	name, mimeType string
	data           []byte
}

func readParams(r *http.Request, body []byte) (*params, error) {
	p := &params{values: map[string]any{}, uploads: map[string]upload{}}
	for k, v := range r.URL.Query() {
		p.values[k] = v[0]
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case len(bytes.TrimSpace(body)) == 0:
	case ct == "application/json":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("can't parse JSON object: %v", err)
		}
		for k, v := range m {
			p.values[k] = v
		}
	case ct == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("can't parse form: %v", err)
		}
		for k, v := range form {
			p.values[k] = v[0]
		}
	case ct == "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), ctParams["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("can't parse multipart form: %v", err)
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return nil, fmt.Errorf("can't parse multipart form: %v", err)
			}
			if part.FileName() != "" {
				p.uploads[part.FormName()] = upload{name: part.FileName(), mimeType: part.Header.Get("Content-Type"), data: data}
			} else {
				p.values[part.FormName()] = string(data)
			}
		}
	default:
		return nil, fmt.Errorf("unsupported Content-Type %q", ct)
	}
	return p, nil
}

// objectParam tells the parameters whose value is a JSON object or array,
// given as JSON text in query, form and multipart requests.
func objectParam(k string) bool {
	switch k {
	case "reply_markup", "reply_parameters", "allowed_updates", "link_preview_options":
		return true
	}
	return false
}

// value returns a parameter, JSON text of object parameters decoded.
func (p *params) value(k string) any {
	v, ok := p.values[k]
	if !ok {
		return nil
	}
	if str, isStr := v.(string); isStr && objectParam(k) {
		dec := json.NewDecoder(strings.NewReader(str))
		dec.UseNumber()
		var out any
		if dec.Decode(&out) != nil {
			return str
		}
		return out
	}
	return v
}

// str returns a scalar parameter as text ("" when absent).
func (p *params) str(k string) string {
	switch v := p.values[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func (p *params) has(k string) bool {
	_, ok := p.values[k]
	_, up := p.uploads[k]
	return ok || up
}

// json is every parameter as one JSON object, uploads described.
func (p *params) json() json.RawMessage {
	m := map[string]any{}
	for k := range p.values {
		m[k] = p.value(k)
	}
	for k, u := range p.uploads {
		sum := sha256.Sum256(u.data)
		m[k] = map[string]any{"file_name": u.name, "mime_type": u.mimeType, "size": len(u.data), "sha256": hex.EncodeToString(sum[:])}
	}
	b, _ := json.Marshal(m)
	return b
}

// dispatch runs a Bot API method (names are case-insensitive, as on
// Telegram).
func (s *Server) dispatch(method string, p *params, req *Request) (int, any) {
	switch strings.ToLower(method) {
	case "getme":
		return ok(s.botUser())
	case "setwebhook":
		return s.setWebhook(p)
	case "deletewebhook":
		s.mu.Lock()
		s.webhook = WebhookInfo{}
		s.mu.Unlock()
		return http.StatusOK, map[string]any{"ok": true, "result": true, "description": "Webhook was deleted"}
	case "getwebhookinfo":
		w := s.Webhook()
		info := map[string]any{"url": w.URL, "has_custom_certificate": false, "pending_update_count": 0}
		if w.URL != "" {
			info["max_connections"] = w.MaxConnections
			if len(w.AllowedUpdates) > 0 {
				info["allowed_updates"] = w.AllowedUpdates
			}
		}
		return ok(info)
	case "sendmessage":
		return s.send("sendMessage", p, req)
	case "sendphoto":
		return s.send("sendPhoto", p, req)
	case "senddocument":
		return s.send("sendDocument", p, req)
	case "sendchataction":
		if _, st, e := s.target(p); e != nil {
			return st, e
		}
		switch p.str("action") {
		case "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note":
			return ok(true)
		}
		return badRequest("wrong parameter action in request")
	case "answercallbackquery":
		id := p.str("callback_query_id")
		s.mu.Lock()
		defer s.mu.Unlock()
		if answered, known := s.callbacks[id]; !known || answered {
			return badRequest("query is too old and response timeout expired or query ID is invalid")
		}
		s.callbacks[id] = true
		s.answered = append(s.answered, id)
		return ok(true)
	case "getfile":
		id := p.str("file_id")
		s.mu.Lock()
		f := s.files[id]
		s.mu.Unlock()
		switch {
		case id == "":
			return badRequest("there is no file_id in the request")
		case f == nil:
			return badRequest("invalid file_id")
		case f.file.FileSize > MaxDownload:
			return badRequest("file is too big")
		}
		return ok(map[string]any{"file_id": f.file.FileID, "file_unique_id": f.file.FileUniqueID, "file_size": f.file.FileSize, "file_path": f.file.FilePath})
	}
	return http.StatusNotFound, apiError(http.StatusNotFound, "Not Found", nil)
}

func (s *Server) botUser() map[string]any {
	return map[string]any{"id": s.botID, "is_bot": true, "first_name": s.opts.BotName, "username": s.opts.BotUsername}
}

func (s *Server) setWebhook(p *params) (int, any) {
	raw := p.str("url")
	if raw == "" {
		s.mu.Lock()
		s.webhook = WebhookInfo{}
		s.mu.Unlock()
		return http.StatusOK, map[string]any{"ok": true, "result": true, "description": "Webhook was deleted"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return badRequest("bad webhook: Failed to resolve host: Name or service not known")
	}
	if !s.opts.LocalWebhooks {
		if u.Scheme != "https" {
			return badRequest("bad webhook: An HTTPS URL must be provided for webhook")
		}
		switch u.Port() {
		case "", "443", "80", "88", "8443":
		default:
			return badRequest("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
		}
	}
	secret := p.str("secret_token")
	if secret != "" {
		if len(secret) > 256 || strings.IndexFunc(secret, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}) >= 0 {
			return badRequest("secret token contains unallowed characters")
		}
	}
	info := WebhookInfo{URL: raw, SecretToken: secret, MaxConnections: 40, SetAt: s.opts.Now()}
	if mc := p.str("max_connections"); mc != "" {
		n, err := strconv.Atoi(mc)
		if err != nil || n < 1 || n > 100 {
			return badRequest("max_connections must be between 1 and 100")
		}
		info.MaxConnections = n
	}
	if v := p.value("allowed_updates"); v != nil {
		list, isList := v.([]any)
		if !isList {
			return badRequest("can't parse allowed updates JSON object")
		}
		for _, x := range list {
			t, _ := x.(string)
			if !knownUpdateType(t) {
				return badRequest("unsupported allowed update type " + strconv.Quote(t))
			}
			info.AllowedUpdates = append(info.AllowedUpdates, t)
		}
	}
	s.mu.Lock()
	s.webhook = info
	s.mu.Unlock()
	return http.StatusOK, map[string]any{"ok": true, "result": true, "description": "Webhook was set"}
}

func knownUpdateType(t string) bool {
	switch t {
	case "message", "edited_message", "channel_post", "edited_channel_post", "business_connection", "business_message",
		"edited_business_message", "deleted_business_messages", "message_reaction", "message_reaction_count", "inline_query",
		"chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
		"poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost", "removed_chat_boost":
		return true
	}
	return false
}

// target finds the chat of chat_id: known and not blocked.
func (s *Server) target(p *params) (*chatState, int, any) {
	raw := p.str("chat_id")
	if raw == "" {
		st, e := badRequest("chat_id is empty")
		return nil, st, e
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	s.mu.Lock()
	c := s.chats[id]
	blocked := c != nil && c.blocked
	s.mu.Unlock()
	if err != nil || c == nil {
		st, e := badRequest("chat not found")
		return nil, st, e
	}
	if blocked {
		return nil, http.StatusForbidden, apiError(http.StatusForbidden, "Forbidden: bot was blocked by the user", nil)
	}
	return c, 0, nil
}

// utf16Len counts UTF-16 code units, as Telegram measures texts.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// send checks and records a sendMessage, sendPhoto or sendDocument.
func (s *Server) send(method string, p *params, req *Request) (int, any) {
	c, st, e := s.target(p)
	if c == nil {
		return st, e
	}
	if pm := p.str("parse_mode"); pm != "" {
		switch strings.ToLower(pm) {
		case "html", "markdown", "markdownv2":
		default:
			return badRequest("unsupported parse_mode")
		}
	}
	result := map[string]any{}
	text := ""
	switch method {
	case "sendMessage":
		text = p.str("text")
		switch {
		case strings.TrimSpace(text) == "":
			return badRequest("message text is empty")
		case utf16Len(text) > MaxText:
			return badRequest("message is too long")
		}
		result["text"] = text
	case "sendPhoto", "sendDocument":
		field := "photo"
		if method == "sendDocument" {
			field = "document"
		}
		text = p.str("caption")
		if utf16Len(text) > MaxCaption {
			return badRequest("message caption is too long")
		}
		f, errText := s.media(field, p)
		if errText != "" {
			return badRequest(errText)
		}
		if field == "photo" {
			small := f
			small.Width, small.Height, small.FileSize = 90, 67, f.FileSize/10
			result["photo"] = []any{fileObject(small, false), fileObject(f, false)}
		} else {
			result["document"] = fileObject(f, true)
		}
		if text != "" {
			result["caption"] = text
		}
	}
	keyboard, errText := checkMarkup(p.value("reply_markup"))
	if errText != "" {
		return badRequest(errText)
	}
	if keyboard != nil {
		result["reply_markup"] = map[string]any{"inline_keyboard": keyboard}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if quoted, allowMissing := replyTarget(p); quoted != 0 {
		if !c.messages[quoted] && !allowMissing {
			return badRequest("message to be replied not found")
		}
		if c.messages[quoted] {
			result["reply_to_message"] = map[string]any{"message_id": quoted, "chat": s.chatObject(c), "date": 0}
		}
	}
	id := c.nextID
	c.nextID++
	c.messages[id] = true
	now := s.opts.Now()
	result["message_id"] = id
	result["from"] = s.botUser()
	result["chat"] = s.chatObject(c)
	result["date"] = now.Unix()
	res, _ := json.Marshal(result)
	body := json.RawMessage(req.Params)
	if ct, _, _ := mime.ParseMediaType(req.ContentType); ct == "application/json" && json.Valid(req.Body) {
		body = append(json.RawMessage(nil), req.Body...)
	}
	s.sent = append(s.sent, Message{MessageID: id, ChatID: c.user.ID, Method: method, Body: body, Params: req.Params,
		Result: res, Text: text, Keyboard: keyboard, At: now})
	return ok(json.RawMessage(res))
}

// media resolves a photo or document: an uploaded file, a file_id the fake
// knows, or an http(s) URL (which the fake does not fetch).
func (s *Server) media(field string, p *params) (File, string) {
	if u, up := p.uploads[field]; up {
		if len(u.data) > MaxUpload {
			return File{}, "file is too big"
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		dir := "documents"
		if field == "photo" {
			dir = "photos"
		}
		f := s.addFile(dir, u.name, u.mimeType, u.data, 0, 1280, 960)
		return f, ""
	}
	ref := p.str(field)
	if ref == "" {
		return File{}, "there is no " + field + " in the request"
	}
	s.mu.Lock()
	stored := s.files[ref]
	s.mu.Unlock()
	if stored != nil {
		return stored.file, ""
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return File{}, "wrong file identifier/HTTP URL specified"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := ""
	if field == "document" {
		name = strings.TrimPrefix(u.Path[strings.LastIndexByte(u.Path, '/')+1:], "/")
	}
	f := s.addFile(field+"s", name, "", nil, 0, 1280, 960)
	return f, ""
}

func fileObject(f File, document bool) map[string]any {
	o := map[string]any{"file_id": f.FileID, "file_unique_id": f.FileUniqueID, "file_size": f.FileSize}
	if document {
		if f.FileName != "" {
			o["file_name"] = f.FileName
		}
		if f.MimeType != "" {
			o["mime_type"] = f.MimeType
		}
	} else {
		o["width"], o["height"] = f.Width, f.Height
	}
	return o
}

func (s *Server) chatObject(c *chatState) map[string]any {
	o := map[string]any{"id": c.user.ID, "type": "private"}
	if c.user.FirstName != "" {
		o["first_name"] = c.user.FirstName
	}
	if c.user.LastName != "" {
		o["last_name"] = c.user.LastName
	}
	if c.user.Username != "" {
		o["username"] = c.user.Username
	}
	return o
}

// replyTarget reads reply_parameters (or the older reply_to_message_id).
func replyTarget(p *params) (id int64, allowMissing bool) {
	if rp, isObj := p.value("reply_parameters").(map[string]any); isObj {
		n, _ := rp["message_id"].(json.Number)
		id, _ = n.Int64()
		allowMissing, _ = rp["allow_sending_without_reply"].(bool)
		return id, allowMissing
	}
	id, _ = strconv.ParseInt(p.str("reply_to_message_id"), 10, 64)
	allowMissing = p.str("allow_sending_without_reply") == "true"
	return id, allowMissing
}

// checkMarkup validates reply_markup; it returns the inline keyboard, if
// that is what it is.
func checkMarkup(v any) ([][]Button, string) {
	if v == nil {
		return nil, ""
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		return nil, "can't parse reply keyboard markup JSON object"
	}
	raw, has := m["inline_keyboard"]
	if !has {
		if _, k := m["keyboard"]; k {
			return nil, ""
		}
		if _, k := m["remove_keyboard"]; k {
			return nil, ""
		}
		if _, k := m["force_reply"]; k {
			return nil, ""
		}
		return nil, "can't parse reply keyboard markup JSON object"
	}
	rows, isList := raw.([]any)
	if !isList {
		return nil, "field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array"
	}
	var out [][]Button
	n := 0
	for _, r := range rows {
		cells, isList := r.([]any)
		if !isList {
			return nil, "field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays"
		}
		if len(cells) > MaxRowButtons {
			return nil, "too many buttons in a row"
		}
		var row []Button
		for _, c := range cells {
			b, isObj := c.(map[string]any)
			if !isObj {
				return nil, "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
			}
			n++
			text, _ := b["text"].(string)
			if strings.TrimSpace(text) == "" {
				return nil, "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
			}
			btn := Button{Text: text}
			actions := 0
			for _, k := range []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
				"switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"} {
				if _, has := b[k]; has {
					actions++
				}
			}
			if actions != 1 {
				return nil, "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
			}
			if d, has := b["callback_data"]; has {
				data, _ := d.(string)
				if data == "" || len(data) > MaxCallback {
					return nil, "BUTTON_DATA_INVALID"
				}
				btn.CallbackData = data
			}
			if u, has := b["url"]; has {
				link, _ := u.(string)
				pu, err := url.Parse(link)
				if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https" && pu.Scheme != "tg") {
					return nil, "BUTTON_URL_INVALID"
				}
				btn.URL = link
			}
			row = append(row, btn)
		}
		out = append(out, row)
	}
	if n > MaxButtons {
		return nil, "reply markup is too long"
	}
	if out == nil {
		out = [][]Button{}
	}
	return out, ""
}
