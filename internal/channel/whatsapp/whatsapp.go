// Package whatsapp is the WhatsApp Cloud API adapter (CHANNELS.md §0–1):
// Meta's webhook handshake, X-Hub-Signature-256 on the raw body, every
// entry and change of a batched delivery (messages of every type, quoted
// replies, reactions, interactive and template-button replies, delivery,
// read and failure receipts), media downloaded in two steps through the
// Graph media endpoint, the /messages endpoint for text, media, the rich
// content engine's native payloads and templates, read marks, template
// synchronisation, and the 24-hour customer-service window enforced at send
// time.
//
// internal/channel/whatsapp/fake is a local Cloud API to test it against.
package whatsapp

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/meta"
	"github.com/parleyhq/parley/internal/secret"
)

// Type is the channel type identifier.
const Type = "whatsapp"

// Setting and credential names of a WhatsApp point of contact.
const (
	// SettingPhoneNumberID is the business phone number's id: webhooks are
	// filtered on it and messages are sent from it (required).
	SettingPhoneNumberID = "phone_number_id"
	// SettingWABAID is the WhatsApp Business Account id, whose message
	// templates are synchronised (required).
	SettingWABAID = "waba_id"
	// SettingDisplayPhoneNumber is the number as people see it (optional,
	// informative).
	SettingDisplayPhoneNumber = "display_phone_number"
	// SettingAPIBaseURL overrides the Graph API URL (the fake, the sandbox).
	SettingAPIBaseURL = "api_base_url"

	// CredentialAccessToken is the system-user access token Parley sends with.
	CredentialAccessToken = "access_token"
	// CredentialAppSecret is the Meta app secret that signs webhooks.
	CredentialAppSecret = "app_secret"
	// CredentialVerifyToken is the webhook verify token pasted into Meta's
	// console; generated on creation when not given.
	CredentialVerifyToken = "verify_token"
)

// VerifyTokenPrefix prefixes a generated verify token.
const VerifyTokenPrefix = "wavt_"

// CustomerServiceWindow is how long after the customer's last message any
// message may be sent; after it, approved templates only (error 131047).
const CustomerServiceWindow = 24 * time.Hour

// Limits of the Cloud API (CHANNELS.md §1).
const (
	MaxTextLength    = 4096
	MaxCaptionLength = 1024
)

// Adapter implements channel.Adapter, Receiver, Handshaker, Sender,
// MediaFetcher, WindowPolicy, ProactivePolicy, TemplateSyncer and Typer.
type Adapter struct {
	http   *http.Client
	client *meta.Client
	now    func() time.Time
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter         = (*Adapter)(nil)
	_ channel.Receiver        = (*Adapter)(nil)
	_ channel.Handshaker      = (*Adapter)(nil)
	_ channel.Sender          = (*Adapter)(nil)
	_ channel.MediaFetcher    = (*Adapter)(nil)
	_ channel.WindowPolicy    = (*Adapter)(nil)
	_ channel.ProactivePolicy = (*Adapter)(nil)
	_ channel.TemplateSyncer  = (*Adapter)(nil)
	_ channel.Typer           = (*Adapter)(nil)
)

// New makes the adapter. client carries the Graph API timeout; nil means a
// 30-second one. now is the clock (nil: time.Now).
func New(client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{http: client, client: &meta.Client{HTTP: client, Now: now}, now: now}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return Type }

// graphID is what Parley accepts as a Graph object id (it goes into URL
// paths): Meta's are digits.
var graphID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func knownSettings() []string {
	return []string{SettingPhoneNumberID, SettingWABAID, SettingDisplayPhoneNumber, SettingAPIBaseURL}
}

func knownCredentials() []string {
	return []string{CredentialAccessToken, CredentialAppSecret, CredentialVerifyToken}
}

// Configure checks settings and credentials and normalises ids given as
// JSON numbers to strings. On creation without a verify token it generates
// one (shown once through Config.Generated, kept in the credentials).
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	if cfg.Generated == nil {
		cfg.Generated = map[string]string{}
	}
	for k := range cfg.Settings {
		if !contains(knownSettings(), k) {
			return &channel.ValidationError{Field: "settings." + k, Reason: "unknown setting (known: " + strings.Join(knownSettings(), ", ") + ")"}
		}
	}
	for _, name := range []string{SettingPhoneNumberID, SettingWABAID, SettingDisplayPhoneNumber} {
		if err := normaliseID(cfg.Settings, name); err != nil {
			return err
		}
	}
	if id, _ := cfg.Settings[SettingPhoneNumberID].(string); !graphID.MatchString(id) {
		return &channel.ValidationError{Field: "settings." + SettingPhoneNumberID, Reason: "required: the phone number id of the WhatsApp Business number (Meta's App Dashboard → WhatsApp → API Setup)"}
	}
	if id, _ := cfg.Settings[SettingWABAID].(string); !graphID.MatchString(id) {
		return &channel.ValidationError{Field: "settings." + SettingWABAID, Reason: "required: the WhatsApp Business Account id, whose message templates Parley synchronises"}
	}
	if v, ok := cfg.Settings[SettingDisplayPhoneNumber]; ok {
		if s, _ := v.(string); len(s) > 32 {
			return &channel.ValidationError{Field: "settings." + SettingDisplayPhoneNumber, Reason: "a phone number, at most 32 characters"}
		}
	}
	if v, ok := cfg.Settings[SettingAPIBaseURL]; ok {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return &channel.ValidationError{Field: "settings." + SettingAPIBaseURL, Reason: "an absolute http(s) URL without query, e.g. " + meta.DefaultGraphURL}
		}
		cfg.Settings[SettingAPIBaseURL] = strings.TrimRight(s, "/")
	}
	for k := range cfg.Credentials {
		if !contains(knownCredentials(), k) {
			return &channel.ValidationError{Field: "credentials." + k, Reason: "unknown credential (known: " + strings.Join(knownCredentials(), ", ") + ")"}
		}
	}
	if strings.TrimSpace(cfg.Credentials[CredentialAccessToken]) == "" {
		return &channel.ValidationError{Field: "credentials." + CredentialAccessToken, Reason: "required: the (system user) access token Parley sends with"}
	}
	if strings.TrimSpace(cfg.Credentials[CredentialAppSecret]) == "" {
		return &channel.ValidationError{Field: "credentials." + CredentialAppSecret, Reason: "required: the Meta app secret that signs webhooks (X-Hub-Signature-256)"}
	}
	if cfg.Credentials[CredentialVerifyToken] == "" {
		if !cfg.Creating {
			return &channel.ValidationError{Field: "credentials." + CredentialVerifyToken, Reason: "the webhook verify token cannot be removed; set a new one instead"}
		}
		tok := secret.RandomToken(VerifyTokenPrefix)
		cfg.Credentials[CredentialVerifyToken] = tok
		cfg.Generated[CredentialVerifyToken] = tok
	} else if len(cfg.Credentials[CredentialVerifyToken]) > 256 {
		return &channel.ValidationError{Field: "credentials." + CredentialVerifyToken, Reason: "at most 256 characters"}
	}
	return nil
}

// normaliseID turns an id given as a JSON number (Meta shows them as
// numbers) into its decimal string; numbers too large to be exact are refused.
func normaliseID(settings map[string]any, name string) error {
	switch v := settings[name].(type) {
	case nil, string:
		return nil
	case float64:
		if v < 0 || v != math.Trunc(v) || v > 1<<53 {
			return &channel.ValidationError{Field: "settings." + name, Reason: "give the id as a string: this number cannot be represented exactly"}
		}
		settings[name] = strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		settings[name] = strconv.Itoa(v)
	case int64:
		settings[name] = strconv.FormatInt(v, 10)
	default:
		return &channel.ValidationError{Field: "settings." + name, Reason: "must be a string"}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Handshake answers Meta's GET verification with the verify token.
func (a *Adapter) Handshake(w http.ResponseWriter, r *http.Request, poc *channel.PointOfContact) bool {
	return meta.Handshake(w, r, poc.Credential(CredentialVerifyToken))
}

// Authenticate checks X-Hub-Signature-256 on the raw body with the app secret.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	return meta.VerifySignature(r, body, poc.Credential(CredentialAppSecret))
}

// Window: anything for 24 hours after the customer's last message, then
// approved templates only.
// A contact who never wrote (zero time) gets a window that closed long ago.
func (a *Adapter) Window(lastInbound time.Time) channel.Window {
	return channel.Window{FreeUntil: lastInbound.Add(CustomerServiceWindow), TemplatesAfter: true}
}

// Proactive: a conversation with a contact who never wrote starts with an
// approved template.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveTemplatesOnly }
