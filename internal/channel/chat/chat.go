// Package chat is Parley's own website chat channel ("digital chat"): an
// embeddable widget (one script tag), its visitor sessions, and a
// WebSocket per open widget. Inbound visitor messages go through the
// core's Ingestor exactly like a webhook; outbound messages are pushed to
// every open widget of the visitor, kept in the thread's history for when
// they come back, and continued by email when the visitor has left.
//
// Paths served by Handler (mount it at "/chat/" and at "/widget.js"):
//
//	GET     /widget.js                   the embeddable script (?v=<Version> makes it immutable)
//	GET     /chat/{poc}/config           title, greeting, pre-chat form, limits (CORS)
//	POST    /chat/{poc}/session          visitor id + session token (CORS)
//	GET     /chat/{poc}/history?token=   recent messages of the visitor's thread (CORS)
//	POST    /chat/{poc}/upload?token=    multipart "file" (≤ 10 MiB, type-limited) (CORS)
//	GET     /chat/{poc}/ws?token=        the visitor's WebSocket (Origin checked)
//	OPTIONS /chat/{poc}/…                CORS preflight
//
// DemoSite serves GET /demo/site?poc=<id>, a small shop page embedding the
// widget (mount it only in --demo).
package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/secret"
)

// Type is the channel type identifier.
const Type = "chat"

// Setting and credential names.
const (
	SettingAllowedOrigins    = "allowed_origins"     // []string of origins, e.g. "https://shop.example"
	SettingAllowAnyOrigin    = "allow_any_origin"    // bool, for demos only
	SettingTitle             = "title"               // string, the chat window's title
	SettingGreeting          = "greeting"            // string, shown before the first message
	SettingPrechatForm       = "prechat_form"        // {enabled, fields:[{name,label,type,required}]}
	SettingOfflineEmailAfter = "offline_email_after" // Go duration, default "10m"
	SettingMaxMessageLength  = "max_message_length"  // characters, default 4000
	// CredentialIdentitySecret signs verified visitor identities (the
	// business's server) and, derived, Parley's session tokens. Generated
	// on creation and on rotation, shown once.
	CredentialIdentitySecret = "identity_secret"
)

// Defaults and hard limits.
const (
	DefaultOfflineEmailAfter = 10 * time.Minute
	DefaultMaxMessageLength  = 4000
	MaxMessageLengthLimit    = 16000
	MaxUploadBytes           = 10 << 20
	maxPrechatFields         = 10
	historyLimit             = 100
)

// HistorySource gives a visitor the recent messages of their thread. The
// inbox implements it.
type HistorySource interface {
	// ThreadHistory returns the latest messages of the thread (both
	// directions, oldest first, at most limit). An unknown thread is an
	// empty slice, not an error.
	ThreadHistory(ctx context.Context, pocID, threadExternalID string, limit int) ([]HistoryMessage, error)
}

// HistoryMessage is one message as a visitor sees it again.
type HistoryMessage struct {
	ID        string
	Direction string // "inbound" (from the visitor) or "outbound"
	// AuthorType is contact, agent, bot or system; AuthorName is shown for
	// agents and bots.
	AuthorType string
	AuthorName string
	Text       string
	// Rendered is the stored content.Rendered of an outbound message (its
	// native widget payload and sanitised html are used; the prompt never
	// reaches the browser).
	Rendered    json.RawMessage
	Attachments []HistoryAttachment
	// ChoiceID is the option id(s) a visitor's message answered with.
	ChoiceID string
	// PlatformMessageID is the message's platform id (for inbound chat
	// messages, what the adapter set: it carries the widget's client id).
	PlatformMessageID string
	Status            string // received, pending, sent, delivered, read, failed
	CreatedAt         time.Time
}

// HistoryAttachment is a file of a history message; URL must be fetchable
// by the visitor's browser (signed).
type HistoryAttachment struct {
	Name     string
	MimeType string
	URL      string
}

// EmailFallback continues a conversation by email when the visitor left.
// It should be quick and durable (e.g. enqueue an email); errors are
// logged, not retried by the chat adapter.
type EmailFallback interface {
	ContinueByEmail(ctx context.Context, chatPoc *channel.PointOfContact, visitorEmail string, msg *channel.OutboundMessage) error
}

// Visitor is what the widget told about a visitor at session time.
type Visitor struct {
	ID       string // the thread external id and author id
	Name     string
	Email    string
	Phone    string
	Fields   map[string]string // pre-chat custom fields
	Verified bool              // from a business-signed identity token
}

// Options build an Adapter. Everything but Points is optional.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Ingest receives visitor messages, uploads and read receipts (may be
	// set later with SetIngestor, before serving).
	Ingest channel.Ingestor
	// History serves past messages to returning visitors.
	History HistorySource
	// Points finds a point of contact by id (channel.Points.Lookup).
	Points func(ctx context.Context, id string) (channel.PointOfContact, error)
	// ContinueByEmail, when set, receives messages for visitors who left.
	ContinueByEmail EmailFallback
	// State, when set, keeps visitors' emails durably (so the email
	// fallback survives restarts).
	State channel.StateStore
	// PublicURL is Parley's public base URL (e.g. https://parley.example);
	// its origin is always allowed (the demo page).
	PublicURL string
	// OnVisitor, when set, is told about a visitor's name, email and
	// pre-chat answers when a session gives them (e.g. to fill the contact).
	OnVisitor func(ctx context.Context, poc *channel.PointOfContact, v Visitor)
	// OnTyping, when set, is told when a visitor starts or stops typing.
	OnTyping func(ctx context.Context, poc *channel.PointOfContact, visitorID string, on bool)
	// ClientIP returns the client address for per-IP rate limits; default:
	// the host of RemoteAddr.
	ClientIP func(r *http.Request) string
	// Limits overrides the rate limits (zero fields keep defaults).
	Limits Limits
}

// Limits are token-bucket rate limits.
type Limits struct {
	MessagesPerSecondVisitor float64 // default 1, burst 10
	MessagesPerSecondIP      float64 // default 5, burst 30
	SessionsPerMinuteIP      float64 // default 20, burst 20
	UploadsPerMinuteVisitor  float64 // default 10, burst 5 (or half the rate)
}

// Adapter implements channel.Adapter, Sender and Typer, and serves the
// widget (Handler, DemoSite).
type Adapter struct {
	now       func() time.Time
	log       *slog.Logger
	history   HistorySource
	points    func(ctx context.Context, id string) (channel.PointOfContact, error)
	email     EmailFallback
	state     channel.StateStore
	publicURL string
	onVisitor func(ctx context.Context, poc *channel.PointOfContact, v Visitor)
	onTyping  func(ctx context.Context, poc *channel.PointOfContact, visitorID string, on bool)
	clientIP  func(r *http.Request) string
	policy    *bluemonday.Policy

	ingestMu sync.RWMutex
	ingest   channel.Ingestor

	hub *hub

	visitorMsgs, ipMsgs, ipSessions, visitorUploads *limiter

	widgetJS []byte
	version  string
	demo     []byte
}

var (
	_ channel.Adapter = (*Adapter)(nil)
	_ channel.Sender  = (*Adapter)(nil)
	_ channel.Typer   = (*Adapter)(nil)
)

// New makes the adapter.
func New(opts Options) *Adapter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ClientIP == nil {
		opts.ClientIP = remoteHost
	}
	l := opts.Limits
	a := &Adapter{
		now: opts.Now, log: opts.Logger, history: opts.History, points: opts.Points, email: opts.ContinueByEmail,
		state: opts.State, publicURL: strings.TrimRight(opts.PublicURL, "/"), onVisitor: opts.OnVisitor, onTyping: opts.OnTyping,
		clientIP: opts.ClientIP, policy: bluemonday.UGCPolicy(), ingest: opts.Ingest,
		visitorMsgs:    newLimiter(or(l.MessagesPerSecondVisitor, 1), 10),
		ipMsgs:         newLimiter(or(l.MessagesPerSecondIP, 5), 30),
		ipSessions:     newLimiter(or(l.SessionsPerMinuteIP, 20)/60, 20),
		visitorUploads: newLimiter(or(l.UploadsPerMinuteVisitor, 10)/60, max(5, int(l.UploadsPerMinuteVisitor/2))),
	}
	a.policy.RequireNoFollowOnLinks(true)
	a.policy.AddTargetBlankToFullyQualifiedLinks(true)
	a.hub = newHub(a)
	a.buildAssets()
	return a
}

func or(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}

// SetIngestor sets the Ingestor (the app builds it after the registry).
func (a *Adapter) SetIngestor(in channel.Ingestor) {
	a.ingestMu.Lock()
	a.ingest = in
	a.ingestMu.Unlock()
}

func (a *Adapter) ingestor() channel.Ingestor {
	a.ingestMu.RLock()
	defer a.ingestMu.RUnlock()
	return a.ingest
}

// Close ends every widget connection and pending email timer.
func (a *Adapter) Close() { a.hub.close() }

// Type is "chat".
func (a *Adapter) Type() string { return Type }

// Version identifies the widget script (a hash of its content): load
// /widget.js?v=<Version> to cache it for a year.
func (a *Adapter) Version() string { return a.version }

// PrechatField is one question of the pre-chat form.
type PrechatField struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Type     string `json:"type"` // text, email, phone
	Required bool   `json:"required"`
}

// PrechatForm is the optional form shown before the first message.
type PrechatForm struct {
	Enabled bool           `json:"enabled"`
	Fields  []PrechatField `json:"fields"`
}

// settings is a point of contact's parsed configuration.
type settings struct {
	Origins           []string
	AnyOrigin         bool
	Title, Greeting   string
	Prechat           PrechatForm
	OfflineEmailAfter time.Duration
	MaxMessageLength  int
}

var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// parseSettings reads and checks settings; with normalize it writes the
// normalised values back (Configure).
func parseSettings(m map[string]any, normalize bool) (settings, error) {
	s := settings{Title: "Chat with us", OfflineEmailAfter: DefaultOfflineEmailAfter, MaxMessageLength: DefaultMaxMessageLength}
	bad := func(k, reason string) error {
		return &channel.ValidationError{Field: "settings." + k, Reason: reason}
	}
	for k := range m {
		switch k {
		case SettingAllowedOrigins, SettingAllowAnyOrigin, SettingTitle, SettingGreeting, SettingPrechatForm, SettingOfflineEmailAfter, SettingMaxMessageLength:
		default:
			return s, bad(k, "unknown setting (known: allowed_origins, allow_any_origin, title, greeting, prechat_form, offline_email_after, max_message_length)")
		}
	}
	if v, ok := m[SettingAllowAnyOrigin]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return s, bad(SettingAllowAnyOrigin, "true or false")
		}
		s.AnyOrigin = b
	}
	if v, ok := m[SettingAllowedOrigins]; ok && v != nil {
		var list []string
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				str, ok := e.(string)
				if !ok {
					return s, bad(SettingAllowedOrigins, "a list of origins such as https://shop.example")
				}
				list = append(list, str)
			}
		case []string:
			list = t
		default:
			return s, bad(SettingAllowedOrigins, "a list of origins such as https://shop.example")
		}
		if len(list) > 50 {
			return s, bad(SettingAllowedOrigins, "at most 50 origins")
		}
		for _, o := range list {
			n, err := normalOrigin(o)
			if err != nil {
				return s, bad(SettingAllowedOrigins, fmt.Sprintf("%q: %v", o, err))
			}
			s.Origins = append(s.Origins, n)
		}
	}
	if len(s.Origins) == 0 && !s.AnyOrigin {
		return s, bad(SettingAllowedOrigins, "required: the origins of the websites embedding the widget, e.g. [\"https://shop.example\"] (or allow_any_origin: true for a demo)")
	}
	for _, k := range []string{SettingTitle, SettingGreeting} {
		v, ok := m[k]
		if !ok || v == nil {
			continue
		}
		str, ok := v.(string)
		if !ok || len(str) > 1000 {
			return s, bad(k, "a string of at most 1000 bytes")
		}
		if k == SettingTitle {
			if strings.TrimSpace(str) != "" {
				s.Title = clip(str, 100)
			}
		} else {
			s.Greeting = strings.TrimSpace(str)
		}
	}
	if v, ok := m[SettingPrechatForm]; ok && v != nil {
		b, _ := json.Marshal(v)
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s.Prechat); err != nil {
			return s, bad(SettingPrechatForm, "an object {enabled, fields:[{name,label,type,required}]}: "+err.Error())
		}
		if len(s.Prechat.Fields) > maxPrechatFields {
			return s, bad(SettingPrechatForm, fmt.Sprintf("at most %d fields", maxPrechatFields))
		}
		seen := map[string]bool{}
		for i, f := range s.Prechat.Fields {
			where := fmt.Sprintf("%s.fields[%d]", SettingPrechatForm, i)
			if !fieldNameRE.MatchString(f.Name) || seen[f.Name] {
				return s, bad(where+".name", "unique, [a-z][a-z0-9_]{0,31}")
			}
			seen[f.Name] = true
			switch f.Type {
			case "":
				s.Prechat.Fields[i].Type = "text"
			case "text", "email", "phone":
			default:
				return s, bad(where+".type", "text, email or phone")
			}
			if strings.TrimSpace(f.Label) == "" || len(f.Label) > 200 {
				return s, bad(where+".label", "required, at most 200 bytes")
			}
		}
		if s.Prechat.Enabled && len(s.Prechat.Fields) == 0 {
			return s, bad(SettingPrechatForm, "an enabled form needs at least one field")
		}
	}
	if v, ok := m[SettingOfflineEmailAfter]; ok && v != nil {
		str, _ := v.(string)
		d, err := time.ParseDuration(str)
		if err != nil || d < 0 || d > 30*24*time.Hour {
			return s, bad(SettingOfflineEmailAfter, "a duration such as \"10m\" (0 to 720h)")
		}
		s.OfflineEmailAfter = d
	}
	if v, ok := m[SettingMaxMessageLength]; ok && v != nil {
		f, ok := v.(float64)
		if i, isInt := v.(int); isInt {
			f, ok = float64(i), true
		}
		if !ok || f != float64(int(f)) || f < 1 || f > MaxMessageLengthLimit {
			return s, bad(SettingMaxMessageLength, fmt.Sprintf("an integer from 1 to %d", MaxMessageLengthLimit))
		}
		s.MaxMessageLength = int(f)
	}
	if normalize {
		origins := make([]any, len(s.Origins))
		for i, o := range s.Origins {
			origins[i] = o
		}
		m[SettingAllowedOrigins] = origins
		if s.Prechat.Fields != nil || s.Prechat.Enabled {
			b, _ := json.Marshal(s.Prechat)
			var back any
			_ = json.Unmarshal(b, &back)
			m[SettingPrechatForm] = back
		}
		m[SettingOfflineEmailAfter] = s.OfflineEmailAfter.String()
		m[SettingMaxMessageLength] = float64(s.MaxMessageLength)
	}
	return s, nil
}

// normalOrigin turns "https://Shop.example/" into "https://shop.example".
func normalOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("not an http(s) origin")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("an origin has no path, query or user")
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// Configure checks settings and, on creation or rotation, generates the
// identity secret (shown once as Generated["identity_secret"]).
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if _, err := parseSettings(cfg.Settings, true); err != nil {
		return err
	}
	for k := range cfg.Credentials {
		if k != CredentialIdentitySecret {
			return &channel.ValidationError{Field: "credentials." + k, Reason: "unknown credential (known: identity_secret)"}
		}
	}
	sec := cfg.Credentials[CredentialIdentitySecret]
	switch {
	case cfg.Creating && sec == "":
		sec = secret.RandomToken("chatid_")
		cfg.Credentials[CredentialIdentitySecret] = sec
		cfg.Generated[CredentialIdentitySecret] = sec
	case sec == "":
		return &channel.ValidationError{Field: "credentials.identity_secret", Reason: "cannot be removed; rotate credentials instead"}
	case len(sec) < 32:
		return &channel.ValidationError{Field: "credentials.identity_secret", Reason: "at least 32 characters"}
	}
	return nil
}

func normalEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || !strings.Contains(s[strings.IndexByte(s, '@')+1:], ".") {
		return "", false
	}
	return s, true
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
