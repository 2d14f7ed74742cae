// Package fake is a local stand-in for Meta's Send API as Messenger and
// Instagram Direct use it (CHANNELS.md §2, §4): a real HTTP server on a
// loopback port that answers POST /{version}/{page or account id}/messages
// like the platform — the access token, recipient, messaging type and tag,
// the message's shape and limits, and the reply window of every customer
// it has sent a webhook for — records every request for assertions, and
// can be told to fail with the Graph API's error payloads (HTTP status,
// code, subcode, Retry-After). It also builds inbound webhook payloads in
// the documented shapes and delivers them signed like Meta does.
//
// Point a point of contact at it with settings.api_base_url = Server.URL.
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

// Version is the Graph API version in the fake's URL.
const Version = "v25.0"

// Options configure the fake.
type Options struct {
	// Pages and InstagramAccounts are the ids that may send
	// (POST /{id}/messages). Both empty: any id is accepted.
	Pages             []string
	InstagramAccounts []string
	// Token is the access token every request must carry (Bearer header
	// or access_token parameter). Empty: any non-empty token.
	Token string
	// Now is the fake's clock for the reply windows; time.Now by default.
	Now func() time.Time
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string
	Query         string
	Authorization string
	// Token is the access token presented (header or parameter).
	Token string
	// Body is the raw request body.
	Body json.RawMessage
	// Status is what the fake answered; Response its body.
	Status   int
	Response json.RawMessage
	// AccountID is the {id} of the path: the page or Instagram account.
	AccountID string
}

// JSON decodes the request body into a generic value (for assertions).
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Failure is a scripted answer, served before normal service resumes.
type Failure struct {
	// Status is the HTTP status; 0 closes the connection without answer.
	Status int
	// The Graph error: {"error":{"message","type","code","error_subcode","fbtrace_id"}}.
	// Code 0 sends Body (or nothing) instead.
	Code       int
	Subcode    int
	Type       string
	Message    string
	Body       string
	RetryAfter string
}

// Common platform errors.

// RateLimited is Messenger's rate limit (code 80007), HTTP 429 with Retry-After.
func RateLimited(retryAfter string) Failure {
	return Failure{Status: http.StatusTooManyRequests, Code: 80007, Type: "OAuthException", RetryAfter: retryAfter,
		Message: "(#80007) There have been too many messages sent to this Messenger account. Please wait a while before sending more messages."}
}

// CallLimit is Graph's call-rate limit (code 613), HTTP 400.
func CallLimit() Failure {
	return Failure{Status: http.StatusBadRequest, Code: 613, Type: "OAuthException", Message: "(#613) Calls to this api have exceeded the rate limit."}
}

// OutsideWindow is the platform's refusal of a message outside the
// allowed window (code 10, subcode 2018278).
func OutsideWindow() Failure {
	return Failure{Status: http.StatusBadRequest, Code: 10, Subcode: 2018278, Type: "OAuthException",
		Message: "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview"}
}

// NoSuchUser is "no matching user found" (code 100, subcode 2018001).
func NoSuchUser() Failure {
	return Failure{Status: http.StatusBadRequest, Code: 100, Subcode: 2018001, Type: "OAuthException", Message: "(#100) No matching user found"}
}

// InvalidToken is an expired or invalid access token (code 190).
func InvalidToken() Failure {
	return Failure{Status: http.StatusBadRequest, Code: 190, Subcode: 463, Type: "OAuthException",
		Message: "Error validating access token: Session has expired."}
}

// ServerError is a transient Graph failure (HTTP 500, code 2).
func ServerError() Failure {
	return Failure{Status: http.StatusInternalServerError, Code: 2, Type: "OAuthException", Message: "An unexpected error has occurred. Please retry your request later."}
}

// Server is the fake.
type Server struct {
	// URL is the Graph base URL to configure as settings.api_base_url,
	// e.g. http://127.0.0.1:1234/v25.0.
	URL string

	opts     Options
	srv      *http.Server
	mu       sync.Mutex
	requests []Request
	failures []Failure
	seq      int
	// lastInbound[account][user]: the customer's last message, from the
	// webhooks this fake delivered (or SetLastInbound).
	lastInbound map[string]map[string]time.Time
	media       map[string]mediaFile
	accounts    map[string]string // id → "page" | "instagram"
}

type mediaFile struct {
	mimeType string
	data     []byte
}

// Start listens on a loopback port.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{URL: "http://" + ln.Addr().String() + "/" + Version, opts: opts,
		lastInbound: map[string]map[string]time.Time{}, media: map[string]mediaFile{}, accounts: map[string]string{}}
	for _, id := range opts.Pages {
		s.accounts[id] = "page"
	}
	for _, id := range opts.InstagramAccounts {
		s.accounts[id] = "instagram"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{id}/messages", s.serveMessages)
	mux.HandleFunc("GET /media/{name}", s.serveMedia)
	mux.HandleFunc("/", s.serveUnknown)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// FailNext queues scripted failures, answered (in order) before normal
// service resumes.
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

// Sent returns the message sends the fake accepted (2xx, not sender
// actions), in order.
func (s *Server) Sent() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Status == http.StatusOK && strings.Contains(string(r.Response), `"message_id"`) {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets recorded requests, queued failures, the customers' windows
// and restarts the message id sequence.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.failures, s.seq = nil, nil, 0
	s.lastInbound = map[string]map[string]time.Time{}
	s.mu.Unlock()
}

// SetLastInbound sets the time of a customer's last message to an account,
// which the fake's window check uses (SendWebhook sets it too).
func (s *Server) SetLastInbound(accountID, userID string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastInbound[accountID] == nil {
		s.lastInbound[accountID] = map[string]time.Time{}
	}
	s.lastInbound[accountID][userID] = t
}

// MessageID is the message_id the fake answers for its n-th accepted send.
func MessageID(n int) string { return fmt.Sprintf("m_fake%06d", n) }

// AddMedia serves a file at MediaURL(name) (a stand-in for Meta's CDN).
func (s *Server) AddMedia(name, mimeType string, data []byte) {
	s.mu.Lock()
	s.media[name] = mediaFile{mimeType, append([]byte(nil), data...)}
	s.mu.Unlock()
}

// MediaURL is where the fake serves a media file; names never added serve
// a small PNG image.
func (s *Server) MediaURL(name string) string {
	return strings.TrimSuffix(s.URL, "/"+Version) + "/media/" + url.PathEscape(name)
}

// pngPixel is the 1×1 image the fake serves for media it was not given.
const pngPixel = ("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

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
	s.answer(w, r, body, "", http.StatusBadRequest, graphError(100, 0, "GraphMethodException",
		fmt.Sprintf("Unsupported %s request. The fake serves POST /{id}/messages only.", strings.ToLower(r.Method))))
}

func graphError(code, subcode int, typ, message string) map[string]any {
	e := map[string]any{"message": message, "type": typ, "code": code, "fbtrace_id": "AfakeTrace0000000000"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	return map[string]any{"error": e}
}

// answer records the request and writes a JSON answer.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, body []byte, account string, status int, payload any) {
	out, _ := json.Marshal(payload)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: redactQuery(r.URL.Query()), Authorization: r.Header.Get("Authorization"),
		Token: token(r), Body: append(json.RawMessage(nil), body...), Status: status, Response: out, AccountID: account})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func redactQuery(q url.Values) string {
	if q.Has("access_token") {
		q.Set("access_token", "REDACTED")
	}
	return q.Encode()
}

func token(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return r.URL.Query().Get("access_token")
}

func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	account := r.PathValue("id")
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		fail = &f
	}
	s.mu.Unlock()
	if fail != nil {
		if fail.Status == 0 {
			s.mu.Lock()
			s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
				Token: token(r), Body: body, AccountID: account})
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
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		var payload any = json.RawMessage(fail.Body)
		if fail.Code != 0 {
			payload = graphError(fail.Code, fail.Subcode, fail.Type, fail.Message)
		} else if fail.Body == "" {
			payload = map[string]any{}
		}
		s.answer(w, r, body, account, fail.Status, payload)
		return
	}
	status, payload := s.check(r, account, body)
	s.answer(w, r, body, account, status, payload)
}

// check validates a send like the platform and returns the answer.
func (s *Server) check(r *http.Request, account string, body []byte) (int, any) {
	bad := func(code, subcode int, msg string) (int, any) {
		return http.StatusBadRequest, graphError(code, subcode, "OAuthException", msg)
	}
	tok := token(r)
	switch {
	case tok == "":
		return bad(2500, 0, "An active access token must be used to query information about the current user.")
	case s.opts.Token != "" && tok != s.opts.Token:
		return bad(190, 0, "Invalid OAuth access token - Cannot parse access token")
	}
	kind, known := s.accounts[account]
	if len(s.accounts) > 0 && !known {
		return bad(100, 33, fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", account))
	}
	var req struct {
		Recipient *struct {
			ID        string `json:"id"`
			CommentID string `json:"comment_id"`
		} `json:"recipient"`
		MessagingType string          `json:"messaging_type"`
		Tag           string          `json:"tag"`
		Message       json.RawMessage `json:"message"`
		SenderAction  string          `json:"sender_action"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return bad(100, 0, "(#100) Invalid JSON for postcard: "+err.Error())
	}
	if req.Recipient == nil || (req.Recipient.ID == "" && req.Recipient.CommentID == "") {
		return bad(100, 0, "(#100) The parameter recipient is required")
	}
	to := req.Recipient.ID
	hasMessage := len(req.Message) > 0 && string(req.Message) != "null"
	switch {
	case hasMessage && req.SenderAction != "":
		return bad(100, 0, "(#100) Only one of message or sender_action may be set")
	case req.SenderAction != "":
		switch req.SenderAction {
		case "mark_seen", "typing_on", "typing_off":
		default:
			return bad(100, 0, "(#100) Param sender_action must be one of {MARK_SEEN, TYPING_ON, TYPING_OFF}")
		}
		if err := s.windowError(account, to, "RESPONSE", "", kind); err != nil {
			return bad(err.code, err.subcode, err.msg)
		}
		return http.StatusOK, map[string]string{"recipient_id": to}
	case !hasMessage:
		return bad(100, 0, "(#100) Must send either message or sender action")
	}
	switch req.MessagingType {
	case "RESPONSE", "UPDATE":
		if req.Tag != "" {
			return bad(100, 0, "(#100) Param tag is only allowed with messaging_type MESSAGE_TAG")
		}
	case "MESSAGE_TAG":
		switch req.Tag {
		case "HUMAN_AGENT", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE":
		case "":
			return bad(100, 0, "(#100) Param tag is required with messaging_type MESSAGE_TAG")
		default:
			return bad(100, 0, "(#100) Param tag must be one of {CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE, HUMAN_AGENT}")
		}
	case "":
		return bad(100, 0, "(#100) Param messaging_type is required")
	default:
		return bad(100, 0, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
	}
	maxText := 2000
	if kind == "instagram" {
		maxText = 1000
	}
	if code, msg := checkMessage(req.Message, maxText); code != 0 {
		return bad(code, 0, msg)
	}
	if err := s.windowError(account, to, req.MessagingType, req.Tag, kind); err != nil {
		return bad(err.code, err.subcode, err.msg)
	}
	s.mu.Lock()
	s.seq++
	id := MessageID(s.seq)
	s.mu.Unlock()
	return http.StatusOK, map[string]string{"recipient_id": to, "message_id": id}
}

type platformErr struct {
	code, subcode int
	msg           string
}

// windowError applies the reply windows for customers the fake knows.
func (s *Server) windowError(account, to, mtype, tag, kind string) *platformErr {
	s.mu.Lock()
	last, ok := s.lastInbound[account][to]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	age := s.opts.Now().Sub(last)
	outside := &platformErr{10, 2018278, "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview"}
	switch {
	case mtype == "MESSAGE_TAG" && tag == "HUMAN_AGENT":
		if age > 7*24*time.Hour {
			return outside
		}
	case mtype == "MESSAGE_TAG" && kind != "instagram":
		// the other tags are not tied to the customer's last message
	default:
		if age > 24*time.Hour {
			return outside
		}
	}
	return nil
}

// checkMessage validates the "message" object's shape and limits.
func checkMessage(raw json.RawMessage, maxText int) (int, string) {
	var m struct {
		Text         *string          `json:"text"`
		Attachment   *json.RawMessage `json:"attachment"`
		QuickReplies []struct {
			ContentType string `json:"content_type"`
			Title       string `json:"title"`
			Payload     any    `json:"payload"`
			ImageURL    string `json:"image_url"`
		} `json:"quick_replies"`
		ReplyTo *struct {
			MID string `json:"mid"`
		} `json:"reply_to"`
		Metadata string `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return 100, "(#100) Invalid parameter message: " + err.Error()
	}
	switch {
	case m.Text != nil && m.Attachment != nil:
		return 100, "(#100) Only one of text or attachment may be set in message"
	case m.Text == nil && m.Attachment == nil:
		return 100, "(#100) Must send either text or attachment in message"
	case m.Text != nil && *m.Text == "":
		return 100, "(#100) Param message[text] must be a non-empty UTF-8 encoded string"
	case m.Text != nil && utf8.RuneCountInString(*m.Text) > maxText:
		return 100, fmt.Sprintf("(#100) Length of param message[text] must be less than or equal to %d", maxText)
	case len(m.QuickReplies) > 13:
		return 100, "(#100) param message[quick_replies] must have at most 13 elements"
	case m.ReplyTo != nil && m.ReplyTo.MID == "":
		return 100, "(#100) Param message[reply_to][mid] is required"
	}
	for i, q := range m.QuickReplies {
		switch q.ContentType {
		case "text":
			if q.Title == "" || q.Payload == nil {
				return 100, fmt.Sprintf("(#100) Param message[quick_replies][%d] must have a title and a payload", i)
			}
			if utf8.RuneCountInString(q.Title) > 20 {
				return 100, fmt.Sprintf("(#100) Length of param message[quick_replies][%d][title] must be less than or equal to 20", i)
			}
		case "user_phone_number", "user_email":
		default:
			return 100, fmt.Sprintf("(#100) Param message[quick_replies][%d][content_type] must be one of {TEXT, USER_PHONE_NUMBER, USER_EMAIL}", i)
		}
	}
	if m.Attachment != nil {
		return checkAttachment(*m.Attachment)
	}
	return 0, ""
}

func checkAttachment(raw json.RawMessage) (int, string) {
	var a struct {
		Type    string `json:"type"`
		Payload struct {
			URL          string            `json:"url"`
			AttachmentID string            `json:"attachment_id"`
			TemplateType string            `json:"template_type"`
			Text         string            `json:"text"`
			Buttons      []json.RawMessage `json:"buttons"`
			Elements     []struct {
				Title   string            `json:"title"`
				Buttons []json.RawMessage `json:"buttons"`
			} `json:"elements"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return 100, "(#100) Invalid parameter message[attachment]: " + err.Error()
	}
	p := a.Payload
	switch a.Type {
	case "image", "video", "audio", "file":
		if p.AttachmentID == "" {
			u, err := url.Parse(p.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return 100, "(#100) Param message[attachment][payload][url] must be a valid URL"
			}
		}
	case "template":
		switch p.TemplateType {
		case "generic":
			if len(p.Elements) == 0 || len(p.Elements) > 10 {
				return 100, "(#100) param message[attachment][payload][elements] must have between 1 and 10 elements"
			}
			for i, e := range p.Elements {
				if e.Title == "" {
					return 100, fmt.Sprintf("(#100) param message[attachment][payload][elements][%d][title] must be a non-empty UTF-8 encoded string", i)
				}
				if utf8.RuneCountInString(e.Title) > 80 {
					return 100, fmt.Sprintf("(#100) Length of param message[attachment][payload][elements][%d][title] must be less than or equal to 80", i)
				}
				if len(e.Buttons) > 3 {
					return 100, fmt.Sprintf("(#100) param message[attachment][payload][elements][%d][buttons] must have at most 3 elements", i)
				}
				if code, msg := checkButtons(e.Buttons); code != 0 {
					return code, msg
				}
			}
		case "button":
			if p.Text == "" || utf8.RuneCountInString(p.Text) > 640 {
				return 100, "(#100) Param message[attachment][payload][text] must be a non-empty string of at most 640 characters"
			}
			if len(p.Buttons) == 0 || len(p.Buttons) > 3 {
				return 100, "(#100) param message[attachment][payload][buttons] must have between 1 and 3 elements"
			}
			if code, msg := checkButtons(p.Buttons); code != 0 {
				return code, msg
			}
		case "media", "receipt", "customer_feedback", "product":
		default:
			return 100, "(#100) Param message[attachment][payload][template_type] is invalid"
		}
	default:
		return 100, "(#100) Param message[attachment][type] must be one of {IMAGE, VIDEO, AUDIO, FILE, TEMPLATE}"
	}
	return 0, ""
}

func checkButtons(buttons []json.RawMessage) (int, string) {
	for i, raw := range buttons {
		var b struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			URL     string `json:"url"`
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return 100, "(#100) Invalid button: " + err.Error()
		}
		if b.Title == "" || utf8.RuneCountInString(b.Title) > 20 {
			return 100, fmt.Sprintf("(#100) Param buttons[%d][title] must be a non-empty string of at most 20 characters", i)
		}
		switch b.Type {
		case "web_url":
			if b.URL == "" {
				return 100, fmt.Sprintf("(#100) Param buttons[%d][url] is required", i)
			}
		case "postback", "phone_number":
			if b.Payload == "" {
				return 100, fmt.Sprintf("(#100) Param buttons[%d][payload] is required", i)
			}
		default:
			return 100, fmt.Sprintf("(#100) Param buttons[%d][type] is invalid", i)
		}
	}
	return 0, ""
}
