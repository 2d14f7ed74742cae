// Package fakewechat is a local stand-in for WeChat's Official Account
// platform, for tests and demos of the byoc-wechat middleware. It is a real
// HTTP server with both of WeChat's roles:
//
//   - the API the middleware calls: GET /cgi-bin/token, POST
//     /cgi-bin/message/custom/send (with WeChat's reply rule: 5 messages
//     within 48 hours of the follower's last message, errcodes 45015 and
//     45047), POST /cgi-bin/media/upload, and GET /mmbiz/{id} serving the
//     pictures behind PicUrl;
//   - the platform that pushes followers' messages to the middleware's server
//     URL: signed XML, in plaintext or safe (encrypted) mode (Push, Verify).
//
// It records what was sent, and can be told to fail (FailNext) or to expire
// its access tokens (ExpireTokens). Its clock is injectable.
package fakewechat

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
)

// Config describes the fake Official Account.
type Config struct {
	AppID          string
	AppSecret      string
	Token          string // the server token: signs pushes to the middleware
	EncodingAESKey string // when set, pushes are encrypted (safe mode)
	OriginalID     string // ToUserName of pushes; default gh_fake
	Now            func() time.Time
	Window         time.Duration // reply window; default 48h
	Limit          int           // messages per follower message; default 5
	TokenTTL       time.Duration // access token lifetime; default 7200 s
	Addr           string        // where to listen; default a free loopback port
	// PushNow is the clock for the signed timestamps of pushes; default
	// Now. (The demo command moves Now to play with the reply window, while
	// the middleware it pushes to keeps the real time.)
	PushNow func() time.Time
	OnSend  func(Sent) // called for each accepted customer-service message
}

// Sent is one customer-service message the fake accepted.
type Sent struct {
	ToUser    string
	MsgType   string // text or image
	Content   string // text
	MediaID   string // image
	Image     []byte // image: the uploaded bytes
	ImageType string // image: their content type
	At        time.Time
}

// Media is an uploaded (or pushed) file.
type Media struct {
	Type        string
	Data        []byte
	ContentType string
	Filename    string
}

// Message is a push to the middleware: a follower's message or an event.
type Message struct {
	FromUserName string
	MsgType      string // text, image, event, …
	Content      string
	PicURL       string
	MediaID      string
	Event        string
	EventKey     string
	MsgID        int64 // 0 for events
	CreateTime   int64
}

// PushResult is the middleware's answer to a push.
type PushResult struct {
	Status int
	Body   string
}

type follower struct {
	lastMessage time.Time
	sent        int
	following   bool
}

// Server is the fake.
type Server struct {
	URL string

	cfg    Config
	crypto *bridge.Crypto
	srv    *http.Server
	client *http.Client

	mu           sync.Mutex
	seq          int64
	tokens       map[string]time.Time // token → expiry
	tokenFetches int
	media        map[string]Media
	sent         []Sent
	users        map[string]*follower
	pushed       map[int64]bool
	failNext     []bridge.WeChatError
	calls        map[string]int
}

// Start listens on a loopback port.
func Start(cfg Config) (*Server, error) {
	if cfg.OriginalID == "" {
		cfg.OriginalID = "gh_fake"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PushNow == nil {
		cfg.PushNow = cfg.Now
	}
	if cfg.Window <= 0 {
		cfg.Window = bridge.DefaultReplyWindow
	}
	if cfg.Limit <= 0 {
		cfg.Limit = bridge.DefaultReplyLimit
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7200 * time.Second
	}
	s := &Server{cfg: cfg, tokens: map[string]time.Time{}, media: map[string]Media{}, users: map[string]*follower{},
		pushed: map[int64]bool{}, calls: map[string]int{}, client: &http.Client{Timeout: 10 * time.Second}, seq: 1000}
	if cfg.EncodingAESKey != "" {
		c, err := bridge.NewCrypto(cfg.EncodingAESKey, cfg.AppID)
		if err != nil {
			return nil, err
		}
		s.crypto = c
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.token)
	mux.HandleFunc("POST /cgi-bin/message/custom/send", s.customSend)
	mux.HandleFunc("POST /cgi-bin/media/upload", s.upload)
	mux.HandleFunc("GET /mmbiz/{id}", s.picture)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

func (s *Server) nextID() int64 {
	s.seq++
	return s.seq
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg})
}

// --- the API ---

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls["token"]++
	switch {
	case q.Get("grant_type") != "client_credential":
		writeErr(w, 40002, "invalid grant_type")
		return
	case q.Get("appid") != s.cfg.AppID:
		writeErr(w, 40013, "invalid appid")
		return
	case q.Get("secret") != s.cfg.AppSecret:
		writeErr(w, 40125, "invalid appsecret")
		return
	}
	now := s.cfg.Now()
	// As WeChat does: a new token retires the old ones within 5 minutes.
	for t, exp := range s.tokens {
		if limit := now.Add(5 * time.Minute); exp.After(limit) {
			s.tokens[t] = limit
		}
	}
	tok := fmt.Sprintf("FAKE_ACCESS_TOKEN_%d", s.nextID())
	s.tokens[tok] = now.Add(s.cfg.TokenTTL)
	s.tokenFetches++
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": int(s.cfg.TokenTTL / time.Second)})
}

// checkToken returns the errcode for an access token (0 if valid); s.mu held.
func (s *Server) checkToken(tok string) (int, string) {
	exp, ok := s.tokens[tok]
	switch {
	case !ok:
		return bridge.ErrcodeInvalidCredential, "invalid credential, access_token is invalid or not latest"
	case !s.cfg.Now().Before(exp):
		return bridge.ErrcodeAccessTokenExpired, "access_token expired"
	}
	return 0, ""
}

func (s *Server) customSend(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if sent, ok := s.send(w, r, body); ok && s.cfg.OnSend != nil {
		s.cfg.OnSend(sent)
	}
}

// send handles a customer-service message; it reports what it accepted.
func (s *Server) send(w http.ResponseWriter, r *http.Request, body []byte) (Sent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls["send"]++
	if code, msg := s.checkToken(r.URL.Query().Get("access_token")); code != 0 {
		writeErr(w, code, msg)
		return Sent{}, false
	}
	if len(s.failNext) > 0 {
		e := s.failNext[0]
		s.failNext = s.failNext[1:]
		writeErr(w, e.Errcode, e.Errmsg)
		return Sent{}, false
	}
	var in struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		Image struct {
			MediaID string `json:"media_id"`
		} `json:"image"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeErr(w, 47001, "data format error")
		return Sent{}, false
	}
	u := s.users[in.ToUser]
	now := s.cfg.Now()
	switch {
	case u == nil:
		writeErr(w, bridge.ErrcodeInvalidOpenID, "invalid openid")
		return Sent{}, false
	case !u.following || u.lastMessage.IsZero() || !now.Before(u.lastMessage.Add(s.cfg.Window)):
		writeErr(w, bridge.ErrcodeResponseOutOfTime, "response out of time limit or subscription is canceled")
		return Sent{}, false
	case u.sent >= s.cfg.Limit:
		writeErr(w, bridge.ErrcodeResponseCountLimit, "out of response count limit")
		return Sent{}, false
	}
	sent := Sent{ToUser: in.ToUser, MsgType: in.MsgType, At: now}
	switch in.MsgType {
	case "text":
		if in.Text.Content == "" {
			writeErr(w, 44004, "empty content")
			return Sent{}, false
		}
		sent.Content = in.Text.Content
	case "image":
		m, ok := s.media[in.Image.MediaID]
		if !ok || m.Type != "image" {
			writeErr(w, bridge.ErrcodeInvalidMediaID, "invalid media_id")
			return Sent{}, false
		}
		sent.MediaID, sent.Image, sent.ImageType = in.Image.MediaID, m.Data, m.ContentType
	default:
		writeErr(w, 40008, "invalid message type")
		return Sent{}, false
	}
	u.sent++
	s.sent = append(s.sent, sent)
	writeErr(w, 0, "ok")
	return sent, true
}

func isImage(contentType string) bool {
	switch contentType {
	case "image/jpeg", "image/png", "image/gif", "image/bmp":
		return true
	}
	return false
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.calls["upload"]++
	code, msg := s.checkToken(q.Get("access_token"))
	s.mu.Unlock()
	if code != 0 {
		writeErr(w, code, msg)
		return
	}
	typ := q.Get("type")
	if typ != "image" && typ != "voice" && typ != "video" && typ != "thumb" {
		writeErr(w, 40004, "invalid media type")
		return
	}
	if err := r.ParseMultipartForm(11 << 20); err != nil {
		writeErr(w, 41005, "media data missing")
		return
	}
	f, hdr, err := r.FormFile("media")
	if err != nil {
		writeErr(w, 41005, "media data missing")
		return
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, 10<<20+1))
	if len(data) > 10<<20 {
		writeErr(w, 40006, "invalid meida size")
		return
	}
	ct := http.DetectContentType(data)
	if typ == "image" && !isImage(ct) {
		writeErr(w, 40005, "invalid file type")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("MEDIA_%d", s.nextID())
	s.media[id] = Media{Type: typ, Data: data, ContentType: ct, Filename: hdr.Filename}
	writeJSON(w, map[string]any{"type": typ, "media_id": id, "created_at": s.cfg.Now().Unix()})
}

func (s *Server) picture(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m, ok := s.media[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", m.ContentType)
	_, _ = w.Write(m.Data)
}

// --- test controls ---

// Sent returns the customer-service messages accepted, in order.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// SentTo returns the messages accepted for one follower.
func (s *Server) SentTo(openID string) []Sent {
	var out []Sent
	for _, m := range s.Sent() {
		if m.ToUser == openID {
			out = append(out, m)
		}
	}
	return out
}

// Calls counts the API calls by endpoint: "token", "send", "upload".
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// TokenFetches counts the access tokens issued.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFetches
}

// ExpireTokens makes every issued access token expired (42001).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	for t := range s.tokens {
		s.tokens[t] = now
	}
}

// FailNext makes the next customer-service sends answer these errors.
func (s *Server) FailNext(errcode int, errmsg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, bridge.WeChatError{Errcode: errcode, Errmsg: errmsg})
}

// AddMedia stores a file as WeChat media and returns its media id and the
// URL it is served at (a PicUrl).
func (s *Server) AddMedia(typ string, data []byte, contentType string) (mediaID, picURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("MEDIA_%d", s.nextID())
	s.media[id] = Media{Type: typ, Data: data, ContentType: contentType}
	return id, s.URL + "/mmbiz/" + id
}

// --- pushes to the middleware ---

// NewText makes a follower's text message, with a fresh MsgId.
func (s *Server) NewText(openID, content string) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Message{FromUserName: openID, MsgType: "text", Content: content, MsgID: s.nextID(), CreateTime: s.cfg.Now().Unix()}
}

// NewImage makes a follower's image message; the picture is served at its
// PicUrl.
func (s *Server) NewImage(openID string, data []byte, contentType string) Message {
	mediaID, picURL := s.AddMedia("image", data, contentType)
	s.mu.Lock()
	defer s.mu.Unlock()
	return Message{FromUserName: openID, MsgType: "image", PicURL: picURL, MediaID: mediaID, MsgID: s.nextID(), CreateTime: s.cfg.Now().Unix()}
}

// NewEvent makes an event push (subscribe, unsubscribe, CLICK, …).
func (s *Server) NewEvent(openID, event, key string) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Message{FromUserName: openID, MsgType: "event", Event: event, EventKey: key, CreateTime: s.cfg.Now().Unix()}
}

type cdata struct {
	Text string `xml:",cdata"`
}

func optional(v string) *cdata {
	if v == "" {
		return nil
	}
	return &cdata{v}
}

type xmlMessage struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   cdata
	FromUserName cdata
	CreateTime   int64
	MsgType      cdata
	Content      *cdata `xml:",omitempty"`
	PicURL       *cdata `xml:"PicUrl,omitempty"`
	MediaID      *cdata `xml:"MediaId,omitempty"`
	Event        *cdata `xml:",omitempty"`
	EventKey     *cdata `xml:",omitempty"`
	MsgID        int64  `xml:"MsgId,omitempty"`
}

type xmlEncrypted struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName cdata
	Encrypt    cdata
}

// XML renders a push as WeChat sends it (plaintext).
func (s *Server) XML(m Message) []byte {
	out, _ := xml.Marshal(xmlMessage{ToUserName: cdata{s.cfg.OriginalID}, FromUserName: cdata{m.FromUserName}, CreateTime: m.CreateTime,
		MsgType: cdata{m.MsgType}, Content: optional(m.Content), PicURL: optional(m.PicURL), MediaID: optional(m.MediaID),
		Event: optional(m.Event), EventKey: optional(m.EventKey), MsgID: m.MsgID})
	return out
}

// Push delivers m to the middleware's server URL as WeChat does: signed with
// the server token (and encrypted in safe mode). Like WeChat, the fake
// counts a follower's message as sent whatever the middleware answers; a
// repeat of the same MsgId (a retry) does not restart the reply window.
func (s *Server) Push(ctx context.Context, endpoint string, m Message) (PushResult, error) {
	return s.PushWithToken(ctx, endpoint, m, s.cfg.Token)
}

// PushWithToken is Push signed with another token (to test refusals).
func (s *Server) PushWithToken(ctx context.Context, endpoint string, m Message, token string) (PushResult, error) {
	s.Record(m)
	body := s.XML(m)
	q := s.signedQuery(token)
	if s.crypto != nil {
		enc, err := s.crypto.Encrypt(body, nil)
		if err != nil {
			return PushResult{}, err
		}
		body, _ = xml.Marshal(xmlEncrypted{ToUserName: cdata{s.cfg.OriginalID}, Encrypt: cdata{enc}})
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", bridge.Signature(token, q.Get("timestamp"), q.Get("nonce"), enc))
	}
	q.Set("openid", m.FromUserName)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return PushResult{}, err
	}
	req.Header.Set("Content-Type", "text/xml")
	return s.do(req)
}

// Verify performs the server-URL check of WeChat's console: a signed GET
// with an echostr the middleware must send back. ok tells whether it did.
func (s *Server) Verify(ctx context.Context, endpoint string) (ok bool, res PushResult, err error) {
	return s.VerifyWithToken(ctx, endpoint, s.cfg.Token)
}

// VerifyWithToken is Verify signed with another token.
func (s *Server) VerifyWithToken(ctx context.Context, endpoint, token string) (bool, PushResult, error) {
	q := s.signedQuery(token)
	s.mu.Lock()
	echo := "echo" + strconv.FormatInt(s.nextID(), 10)
	s.mu.Unlock()
	q.Set("echostr", echo)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return false, PushResult{}, err
	}
	res, err := s.do(req)
	return err == nil && res.Status == http.StatusOK && res.Body == echo, res, err
}

func (s *Server) signedQuery(token string) url.Values {
	s.mu.Lock()
	ts := strconv.FormatInt(s.cfg.PushNow().Unix(), 10)
	nonce := strconv.FormatInt(s.nextID()*7919, 10)
	s.mu.Unlock()
	return url.Values{"signature": {bridge.Signature(token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}
}

func (s *Server) do(req *http.Request) (PushResult, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return PushResult{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return PushResult{}, err
	}
	return PushResult{Status: resp.StatusCode, Body: string(b)}, nil
}

// Record updates the follower's state for m as a push does, without
// pushing it anywhere.
func (s *Server) Record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[m.FromUserName]
	if u == nil {
		u = &follower{following: true}
		s.users[m.FromUserName] = u
	}
	if m.MsgType == "event" {
		switch m.Event {
		case "subscribe":
			u.following = true
		case "unsubscribe":
			u.following, u.lastMessage, u.sent = false, time.Time{}, 0
		}
		return
	}
	if s.pushed[m.MsgID] {
		return // a retry
	}
	s.pushed[m.MsgID] = true
	u.following, u.lastMessage, u.sent = true, time.Unix(m.CreateTime, 0), 0
}

// ErrNoAnswer is returned by PushWithRetries when every try failed.
var ErrNoAnswer = errors.New("fakewechat: the middleware never answered success")

// PushWithRetries pushes like WeChat: if the middleware does not answer
// "success" (or an empty body) with 200, the same push is repeated, up to
// three more times. It returns every answer.
func (s *Server) PushWithRetries(ctx context.Context, endpoint string, m Message) ([]PushResult, error) {
	var all []PushResult
	for try := 0; try < 4; try++ {
		res, err := s.Push(ctx, endpoint, m)
		if err == nil {
			all = append(all, res)
			if res.Status == http.StatusOK && (res.Body == "success" || res.Body == "") {
				return all, nil
			}
		}
		if ctx.Err() != nil {
			return all, ctx.Err()
		}
	}
	return all, ErrNoAnswer
}
