// Package fake is a local stand-in for Microsoft's Bot Framework as a
// Teams bot meets it (CHANNELS.md §10): a real HTTP server on a loopback
// port with
//
//   - the OpenID metadata and JWKS (an RSA key it generates, endorsed for
//     "msteams") that inbound tokens are checked against;
//   - the token endpoint of the client credentials grant, which checks the
//     App ID, secret and scope and issues expiring tokens;
//   - the Bot Connector under ServiceURL(): POST
//     /v3/conversations/{id}/activities, which checks the bearer token, the
//     conversation and the activity (type, text or attachments, Adaptive
//     Card shape, size) like Teams, records it, and answers {"id"}; it can
//     be told to fail (429 with Retry-After, 404 ConversationNotFound, 403
//     ConversationBlockedByUser…);
//   - attachments the Bot Connector hosts (they need the bot's token) and
//     files with pre-authenticated download links.
//
// It also plays Teams' side of inbound traffic: it builds activities in the
// documented shapes and POSTs them to a webhook with a JWT it signs itself
// (or a wrong one: other key, audience, expired…).
//
// Point a point of contact at it with Settings() and Credentials().
package fake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultAppID       = "8e3c4f5a-1b2d-4c6e-9f70-a1b2c3d4e5f6"
	DefaultAppPassword = "fake~client~secret~0123456789"
	DefaultChannelID   = "msteams"
	DefaultTenantID    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	// Issuer is the "iss" of the Bot Connector's tokens.
	Issuer = "https://api.botframework.com"
	// Scope is what a bot asks the token endpoint for.
	Scope = "https://api.botframework.com/.default"
	// MaxActivityBytes is Teams' message size limit (about 28 KB).
	MaxActivityBytes = 28 * 1024
)

// Options configure the fake.
type Options struct {
	// AppID is the bot: the audience of the tokens the fake signs and the
	// client_id its token endpoint accepts. Default DefaultAppID.
	AppID string
	// AppPassword is the client secret. Default DefaultAppPassword.
	AppPassword string
	// BotName is the bot's display name in activities ("Parley").
	BotName string
	// Endorsements are the channels the signing keys are endorsed for.
	// Default ["msteams"].
	Endorsements []string
	// TokenLifetime is the life of the bot tokens it issues (default 1 h,
	// announced as expires_in 3599 like Azure AD).
	TokenLifetime time.Duration
	// AnyConversation accepts sends to conversations the fake never
	// delivered an activity for (default: 404 ConversationNotFound).
	AnyConversation bool
	// Now is the fake's clock (tokens it signs and issues); time.Now by
	// default.
	Now func() time.Time
	// SigningKey is the RSA key (2048 bits or more) the fake signs with;
	// nil makes a new one (which takes a moment: tests starting many fakes
	// share one).
	SigningKey *rsa.PrivateKey
}

// Request is one request the Bot Connector received.
type Request struct {
	Method        string
	Path          string
	Conversation  string
	Authorization string
	// Body is the raw request body.
	Body json.RawMessage
	// Status is what the fake answered; Response its body.
	Status   int
	Response json.RawMessage
}

// JSON decodes the request body (for assertions).
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Failure is a scripted answer, served (in order) before normal service
// resumes.
type Failure struct {
	// Status is the HTTP status; 0 closes the connection without answer.
	Status int
	// Code and Message: the Bot Connector's {"error":{"code","message"}}
	// (for the token endpoint: Azure AD's error and error_description).
	Code    string
	Message string
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
}

// Throttled is Teams' rate limit: HTTP 429 with Retry-After.
func Throttled(retryAfter string) Failure {
	return Failure{Status: http.StatusTooManyRequests, Code: "Throttled", Message: "Too many requests. Retry after the interval in the Retry-After header.", RetryAfter: retryAfter}
}

// ConversationNotFound: the conversation no longer exists (or never did).
func ConversationNotFound() Failure {
	return Failure{Status: http.StatusNotFound, Code: "ConversationNotFound", Message: "Conversation not found."}
}

// BlockedByUser: the user blocked the bot.
func BlockedByUser() Failure {
	return Failure{Status: http.StatusForbidden, Code: "ConversationBlockedByUser", Message: "User blocked the conversation with the bot."}
}

// BotDisabledByAdmin: the tenant's admin blocked the app.
func BotDisabledByAdmin() Failure {
	return Failure{Status: http.StatusForbidden, Code: "BotDisabledByAdmin", Message: "The tenant admin disabled this bot"}
}

// BadArgument is a refused activity.
func BadArgument(message string) Failure {
	return Failure{Status: http.StatusBadRequest, Code: "BadArgument", Message: message}
}

// ServiceError is a transient failure (HTTP 502).
func ServiceError() Failure {
	return Failure{Status: http.StatusBadGateway, Code: "ServiceError", Message: "Unknown error occurred."}
}

// Unauthorized is the Bot Connector refusing the bot's token.
func Unauthorized() Failure {
	return Failure{Status: http.StatusUnauthorized, Message: "Authorization has been denied for this request."}
}

// InvalidClient is Azure AD refusing the client secret (for FailNextToken).
func InvalidClient() Failure {
	return Failure{Status: http.StatusUnauthorized, Code: "invalid_client",
		Message: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."}
}

// signer is one RSA key the fake publishes and signs with.
type signer struct {
	kid string
	x5t string
	key *rsa.PrivateKey
}

// Server is the fake.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:1234.
	URL string

	opts Options
	srv  *http.Server

	mu            sync.Mutex
	keys          []signer // published; keys[len-1] signs
	requests      []Request
	failures      []Failure
	tokenFailures []Failure
	tokens        map[string]time.Time // issued token → expiry
	tokenRequests int
	keyRequests   int
	seq           int
	delivered     int
	conversations map[string]string // conversation id → user id
	media         map[string]mediaFile
}

type mediaFile struct {
	mimeType string
	data     []byte
}

// Start listens on a loopback port.
func Start(opts Options) (*Server, error) {
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.AppPassword == "" {
		opts.AppPassword = DefaultAppPassword
	}
	if opts.BotName == "" {
		opts.BotName = "Parley"
	}
	if len(opts.Endorsements) == 0 {
		opts.Endorsements = []string{DefaultChannelID}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	k, err := newSigner(opts.SigningKey)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), opts: opts, keys: []signer{k},
		tokens: map[string]time.Time{}, conversations: map[string]string{}, media: map[string]mediaFile{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", s.serveMetadata)
	mux.HandleFunc("GET /v1/.well-known/keys", s.serveKeys)
	mux.HandleFunc("POST /botframework.com/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("POST /amer/v3/conversations/{conversation}/activities", s.serveActivity)
	mux.HandleFunc("POST /amer/v3/conversations/{conversation}/activities/{activity}", s.serveActivity)
	mux.HandleFunc("GET /amer/v3/attachments/{id}/views/original", s.serveAttachment)
	mux.HandleFunc("GET /files/{name}", s.serveFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, connectorError("NotFound", "The fake serves the Bot Framework's metadata, keys, token endpoint and Bot Connector only."))
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func newSigner(key *rsa.PrivateKey) (signer, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return signer{}, err
		}
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return signer{}, err
	}
	sum := sha1.Sum(key.PublicKey.N.Bytes())
	return signer{kid: "fake-" + hex.EncodeToString(id), x5t: base64.RawURLEncoding.EncodeToString(sum[:]), key: key}, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// MetadataURL is the OpenID metadata (settings.openid_metadata_url).
func (s *Server) MetadataURL() string { return s.URL + "/v1/.well-known/openidconfiguration" }

// KeysURL is the JWKS the metadata names.
func (s *Server) KeysURL() string { return s.URL + "/v1/.well-known/keys" }

// TokenURL is the token endpoint (settings.token_url).
func (s *Server) TokenURL() string { return s.URL + "/botframework.com/oauth2/v2.0/token" }

// ServiceURL is the Bot Connector's serviceUrl, as activities carry it.
func (s *Server) ServiceURL() string { return s.URL + "/amer/" }

// Settings are a Teams point of contact's settings pointing at the fake.
func (s *Server) Settings() map[string]any {
	return map[string]any{"openid_metadata_url": s.MetadataURL(), "token_url": s.TokenURL(), "service_url_allowlist": []any{s.ServiceURL()}}
}

// Credentials are the bot's credentials the fake accepts.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"app_id": s.opts.AppID, "app_password": s.opts.AppPassword}
}

// KeyID is the kid of the key the fake signs with now.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1].kid
}

// RotateKey makes a new signing key; the old one stays published when
// keepOld (Microsoft publishes keys before and after using them).
func (s *Server) RotateKey(keepOld bool) error {
	k, err := newSigner(nil)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if keepOld {
		s.keys = append(s.keys, k)
	} else {
		s.keys = []signer{k}
	}
	return nil
}

// FailNext queues failures of the Bot Connector.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// FailNextToken queues failures of the token endpoint.
func (s *Server) FailNextToken(f ...Failure) {
	s.mu.Lock()
	s.tokenFailures = append(s.tokenFailures, f...)
	s.mu.Unlock()
}

// Requests returns every request the Bot Connector received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the message activities the Bot Connector accepted.
func (s *Server) Messages() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Status == http.StatusCreated && r.JSON()["type"] == "message" {
			out = append(out, r)
		}
	}
	return out
}

// Received lists the message activities sent to a customer, as raw
// request bodies: to is the customer's user id (29:…) or the
// conversation's id.
func (s *Server) Received(to string) []json.RawMessage {
	s.mu.Lock()
	convs := map[string]bool{to: true}
	for c, u := range s.conversations {
		if u == to {
			convs[c] = true
		}
	}
	s.mu.Unlock()
	var out []json.RawMessage
	for _, r := range s.Messages() {
		if convs[r.Conversation] {
			out = append(out, r.Body)
		}
	}
	return out
}

// TokenRequests counts the token endpoint's requests.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// KeyRequests counts the reads of the JWKS.
func (s *Server) KeyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyRequests
}

// Reset forgets recorded requests, queued failures and counters, and
// restarts the activity id sequence. Issued tokens, keys and known
// conversations stay.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests, s.failures, s.tokenFailures = nil, nil, nil
	s.tokenRequests, s.keyRequests, s.seq = 0, 0, 0
	s.mu.Unlock()
}

// ActivityID is the id the Bot Connector answers for its n-th accepted
// message (1-based, since the last Reset).
func ActivityID(n int) string { return fmt.Sprintf("1:fakeActivity%06d", n) }

// AddConversation makes a conversation known (as delivering an activity
// of it does), for sends without a prior inbound activity.
func (s *Server) AddConversation(conversationID, userID string) {
	s.mu.Lock()
	s.conversations[conversationID] = userID
	s.mu.Unlock()
}

// AddMedia serves a file the Bot Connector hosts (AttachmentURL, needs the
// bot's token) and as a pre-authenticated download (FileURL).
func (s *Server) AddMedia(name, mimeType string, data []byte) {
	s.mu.Lock()
	s.media[name] = mediaFile{mimeType, append([]byte(nil), data...)}
	s.mu.Unlock()
}

// AttachmentURL is where the Bot Connector hosts an attachment (a pasted
// image): a GET needs the bot's token.
func (s *Server) AttachmentURL(name string) string {
	return s.ServiceURL() + "v3/attachments/" + url.PathEscape(name) + "/views/original"
}

// FileURL is a file's pre-authenticated download link (a file shared in a
// personal chat, stored in the user's OneDrive).
func (s *Server) FileURL(name string) string { return s.URL + "/files/" + url.PathEscape(name) }

// pngPixel is the 1×1 image served for media never added.
const pngPixel = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

func (s *Server) mediaFile(name string) mediaFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.media[name]; ok {
		return f
	}
	return mediaFile{"image/png", []byte(pngPixel)}
}

func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	if !s.validToken(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Authorization has been denied for this request."})
		return
	}
	f := s.mediaFile(r.PathValue("id"))
	w.Header().Set("Content-Type", f.mimeType)
	_, _ = w.Write(f.data)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	f := s.mediaFile(r.PathValue("name"))
	w.Header().Set("Content-Type", f.mimeType)
	_, _ = w.Write(f.data)
}

func writeJSON(w http.ResponseWriter, status int, v any) []byte {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return b
}

func connectorError(code, message string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": message}}
}

// ---- OpenID metadata and keys ----

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                Issuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              s.KeysURL(),
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.keyRequests++
	keys := make([]any, len(s.keys))
	for i, k := range s.keys {
		keys[i] = map[string]any{"kty": "RSA", "use": "sig", "kid": k.kid, "x5t": k.x5t,
			"n":            base64.RawURLEncoding.EncodeToString(k.key.PublicKey.N.Bytes()),
			"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.key.PublicKey.E)).Bytes()),
			"endorsements": s.opts.Endorsements}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// ---- token endpoint ----

func aadError(code, description string) map[string]any {
	return map[string]any{"error": code, "error_description": description, "error_codes": []int{},
		"timestamp": "2026-01-01 00:00:00Z", "trace_id": "00000000-0000-0000-0000-000000000000", "correlation_id": "00000000-0000-0000-0000-000000000000"}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	var fail *Failure
	if len(s.tokenFailures) > 0 {
		f := s.tokenFailures[0]
		s.tokenFailures = s.tokenFailures[1:]
		fail = &f
	}
	s.mu.Unlock()
	if fail != nil {
		if fail.Status == 0 {
			hangUp(w)
			return
		}
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		writeJSON(w, fail.Status, aadError(fail.Code, fail.Message))
		return
	}
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeJSON(w, http.StatusBadRequest, aadError("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'."))
		return
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, aadError("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."))
	case r.PostForm.Get("client_id") != s.opts.AppID:
		writeJSON(w, http.StatusBadRequest, aadError("unauthorized_client",
			fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory 'Bot Framework'.", r.PostForm.Get("client_id"))))
	case r.PostForm.Get("client_secret") != s.opts.AppPassword:
		writeJSON(w, http.StatusUnauthorized, InvalidClientError())
	case r.PostForm.Get("scope") != Scope:
		writeJSON(w, http.StatusBadRequest, aadError("invalid_scope",
			fmt.Sprintf("AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid: %q.", r.PostForm.Get("scope"))))
	default:
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		tok := "fake-bf-" + base64.RawURLEncoding.EncodeToString(b)
		secs := int(s.opts.TokenLifetime/time.Second) - 1
		s.mu.Lock()
		s.tokens[tok] = s.opts.Now().Add(s.opts.TokenLifetime)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
	}
}

// InvalidClientError is the token endpoint's body for a wrong secret.
func InvalidClientError() map[string]any {
	f := InvalidClient()
	return aadError(f.Code, f.Message)
}

// validToken checks the bearer token of a Bot Connector request.
func (s *Server) validToken(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.opts.Now().Before(exp)
}

func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

// ---- Bot Connector ----

func (s *Server) serveActivity(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	conv := r.PathValue("conversation")
	rec := Request{Method: r.Method, Path: r.URL.EscapedPath(), Conversation: conv, Authorization: r.Header.Get("Authorization"), Body: body}
	record := func(status int, resp []byte) {
		rec.Status, rec.Response = status, resp
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}
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
			record(0, nil)
			hangUp(w)
			return
		}
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		var payload any = connectorError(fail.Code, fail.Message)
		if fail.Code == "" {
			payload = map[string]string{"message": fail.Message}
		}
		record(fail.Status, writeJSON(w, fail.Status, payload))
		return
	}
	status, payload := s.checkActivity(r, conv, body)
	record(status, writeJSON(w, status, payload))
}

// checkActivity validates a send like the Bot Connector and Teams.
func (s *Server) checkActivity(r *http.Request, conv string, body []byte) (int, any) {
	if !s.validToken(r) {
		return http.StatusUnauthorized, map[string]string{"message": "Authorization has been denied for this request."}
	}
	s.mu.Lock()
	_, known := s.conversations[conv]
	s.mu.Unlock()
	if !known && !s.opts.AnyConversation {
		return http.StatusNotFound, connectorError("ConversationNotFound", "Conversation not found.")
	}
	if len(body) > MaxActivityBytes {
		return http.StatusRequestEntityTooLarge, connectorError("MessageSizeTooBig", "Message size too big.")
	}
	var act struct {
		Type             string            `json:"type"`
		Text             string            `json:"text"`
		TextFormat       string            `json:"textFormat"`
		AttachmentLayout string            `json:"attachmentLayout"`
		Attachments      []json.RawMessage `json:"attachments"`
		SuggestedActions *struct {
			Actions []struct {
				Type  string `json:"type"`
				Title string `json:"title"`
				Value any    `json:"value"`
			} `json:"actions"`
		} `json:"suggestedActions"`
	}
	if err := json.Unmarshal(body, &act); err != nil {
		return http.StatusBadRequest, connectorError("BadSyntax", "Invalid JSON: "+err.Error())
	}
	switch act.Type {
	case "typing":
		return http.StatusOK, map[string]any{}
	case "message":
	case "":
		return http.StatusBadRequest, connectorError("MissingProperty", "Activity must have a type.")
	default:
		return http.StatusBadRequest, connectorError("BadArgument", fmt.Sprintf("Unsupported activity type %q.", act.Type))
	}
	switch act.TextFormat {
	case "", "plain", "markdown", "xml":
	default:
		return http.StatusBadRequest, connectorError("BadArgument", "textFormat must be plain, markdown or xml.")
	}
	switch act.AttachmentLayout {
	case "", "list", "carousel":
	default:
		return http.StatusBadRequest, connectorError("BadArgument", "attachmentLayout must be list or carousel.")
	}
	if act.Text == "" && len(act.Attachments) == 0 {
		return http.StatusBadRequest, connectorError("BadArgument", "Activity must have text or attachments.")
	}
	if act.SuggestedActions != nil {
		if len(act.SuggestedActions.Actions) == 0 {
			return http.StatusBadRequest, connectorError("BadArgument", "suggestedActions.actions must not be empty.")
		}
		for i, a := range act.SuggestedActions.Actions {
			if a.Title == "" || a.Value == nil {
				return http.StatusBadRequest, connectorError("BadArgument", fmt.Sprintf("suggestedActions.actions[%d] needs a title and a value.", i))
			}
			switch a.Type {
			case "imBack", "messageBack", "openUrl":
			default:
				return http.StatusBadRequest, connectorError("BadArgument", fmt.Sprintf("suggestedActions.actions[%d].type %q is not supported by Teams.", i, a.Type))
			}
		}
	}
	for i, raw := range act.Attachments {
		if msg := checkAttachment(raw); msg != "" {
			return http.StatusBadRequest, connectorError("BadArgument", fmt.Sprintf("attachments[%d]: %s", i, msg))
		}
	}
	s.mu.Lock()
	s.seq++
	id := ActivityID(s.seq)
	s.mu.Unlock()
	return http.StatusCreated, map[string]string{"id": id}
}

func checkAttachment(raw json.RawMessage) string {
	var a struct {
		ContentType string          `json:"contentType"`
		ContentURL  string          `json:"contentUrl"`
		Content     json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return "not an attachment object"
	}
	switch {
	case a.ContentType == "":
		return "contentType is required"
	case a.ContentType == "application/vnd.microsoft.card.adaptive":
		return checkCard(a.Content)
	case strings.HasPrefix(a.ContentType, "application/vnd.microsoft.card."):
		if len(a.Content) == 0 {
			return "a card needs content"
		}
	default:
		if strings.HasPrefix(a.ContentURL, "data:") {
			return ""
		}
		u, err := url.Parse(a.ContentURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "contentUrl must be an absolute URL or a data URI"
		}
	}
	return ""
}

// checkCard validates the Adaptive Card subset Teams renders (schema 1.5).
func checkCard(raw json.RawMessage) string {
	var card struct {
		Type    string            `json:"type"`
		Version string            `json:"version"`
		Body    []json.RawMessage `json:"body"`
		Actions []json.RawMessage `json:"actions"`
	}
	if err := json.Unmarshal(raw, &card); err != nil {
		return "content is not an Adaptive Card"
	}
	if card.Type != "AdaptiveCard" {
		return `content.type must be "AdaptiveCard"`
	}
	switch card.Version {
	case "1.0", "1.1", "1.2", "1.3", "1.4", "1.5":
	default:
		return fmt.Sprintf("content.version %q is not supported by Teams (at most 1.5)", card.Version)
	}
	for i, el := range card.Body {
		var e struct {
			Type    string            `json:"type"`
			ID      string            `json:"id"`
			Text    *string           `json:"text"`
			URL     string            `json:"url"`
			Choices []json.RawMessage `json:"choices"`
		}
		if json.Unmarshal(el, &e) != nil || e.Type == "" {
			return fmt.Sprintf("content.body[%d] needs a type", i)
		}
		switch e.Type {
		case "TextBlock":
			if e.Text == nil {
				return fmt.Sprintf("content.body[%d]: a TextBlock needs text", i)
			}
		case "Image":
			if e.URL == "" {
				return fmt.Sprintf("content.body[%d]: an Image needs a url", i)
			}
		case "Input.ChoiceSet":
			if e.ID == "" || len(e.Choices) == 0 {
				return fmt.Sprintf("content.body[%d]: an Input.ChoiceSet needs an id and choices", i)
			}
		}
	}
	for i, act := range card.Actions {
		var a struct {
			Type  string `json:"type"`
			Title string `json:"title"`
			URL   string `json:"url"`
		}
		if json.Unmarshal(act, &a) != nil {
			return fmt.Sprintf("content.actions[%d] is not an action", i)
		}
		switch a.Type {
		case "Action.Submit", "Action.ShowCard", "Action.ToggleVisibility", "Action.Execute":
		case "Action.OpenUrl":
			if a.URL == "" {
				return fmt.Sprintf("content.actions[%d]: Action.OpenUrl needs a url", i)
			}
		default:
			return fmt.Sprintf("content.actions[%d].type %q is not supported", i, a.Type)
		}
	}
	return ""
}
