// Package gbm is the Google Business Messages adapter (CHANNELS.md §12),
// for legacy deployments and providers that keep its API: Google shut
// Business Messages down on 31 July 2024, so no Google endpoint answers any
// more. Parley keeps the channel type for the seed's rich-content table
// (rich link, list picker, time picker) and builds against the documented
// v1 API:
//
//   - webhooks signed with X-Goog-Signature = base64(HMAC-SHA512(client
//     token, raw body)), and the webhook verification POST
//     {"secret","clientToken"} answered with the secret as plain text;
//   - customer messages (text, image), suggestion taps (the tapped reply's
//     postbackData is the option id), and DELIVERED/READ receipts; typing
//     and other user statuses are skipped;
//   - POST /v1/conversations/{conversationId}/messages with our message id
//     as messageId, a HUMAN or BOT representative, and the content engine's
//     native payload (suggestions, rich cards, carousels) or text;
//   - replies allowed for 30 days after the customer's last message.
//
// Real Business Messages authenticated sends with a service account
// (OAuth 2.0, scope businessmessages); this adapter takes a static Bearer
// access token instead (what a compatible provider or a token broker
// gives), refreshed by updating the credential.
//
// internal/channel/gbm/fake is a local Business Messages API to test it
// against.
package gbm

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Type is the channel type identifier.
const Type = "google_business_messages"

// Setting and credential names of a Google Business Messages point of contact.
const (
	// SettingAgentID is the Business Messages agent: its id, or its full
	// name brands/{brandId}/agents/{agentId} (required). Webhooks for other
	// agents of the same partner webhook are ignored.
	SettingAgentID = "agent_id"
	// SettingAPIBaseURL overrides https://businessmessages.googleapis.com
	// (a compatible provider, the fake, the sandbox).
	SettingAPIBaseURL = "api_base_url"

	// CredentialClientToken is the partner's client token (partner key):
	// it signs webhooks and is echoed in the webhook verification request.
	CredentialClientToken = "client_token"
	// CredentialAccessToken is the Bearer token Parley sends with.
	CredentialAccessToken = "access_token"
)

// DefaultAPIBaseURL is the Business Messages API.
const DefaultAPIBaseURL = "https://businessmessages.googleapis.com"

// SignatureHeader carries base64(HMAC-SHA512(client token, raw body)).
const SignatureHeader = "X-Goog-Signature"

// ReplyWindow is how long after the customer's last message the agent may
// still answer.
const ReplyWindow = 30 * 24 * time.Hour

// Limits of the Business Messages API.
const (
	MaxTextLength        = 3072
	MaxSuggestions       = 13
	MaxSuggestionText    = 25
	MaxCardDescription   = 2000
	MaxIDLength          = 128
	maxVerificationBytes = 4096
)

// Adapter implements channel.Adapter, Receiver, Handshaker, Sender,
// ProactivePolicy, WindowPolicy and AttachmentPolicy, and upgrades
// renderings the content engine leaves as text (RenderNative).
type Adapter struct {
	client *http.Client
	now    func() time.Time
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter          = (*Adapter)(nil)
	_ channel.Receiver         = (*Adapter)(nil)
	_ channel.Handshaker       = (*Adapter)(nil)
	_ channel.Sender           = (*Adapter)(nil)
	_ channel.ProactivePolicy  = (*Adapter)(nil)
	_ channel.WindowPolicy     = (*Adapter)(nil)
	_ channel.AttachmentPolicy = (*Adapter)(nil)
)

// New makes the adapter. client carries the API timeout; nil means a
// 30-second one. now is the clock (nil: time.Now).
func New(client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{client: client, now: now}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return Type }

// Proactive: never. A Business Messages conversation exists only once the
// customer opened it from Google Search or Maps.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// Window: the agent may answer for 30 days after the customer's last
// message. A contact who never wrote (zero time) gets a window that closed
// long ago.
func (a *Adapter) Window(lastInbound time.Time) channel.Window {
	return channel.Window{FreeUntil: lastInbound.Add(ReplyWindow)}
}

// MaxAttachments: one image per message (a message carries one image or
// one rich card).
func (a *Adapter) MaxAttachments() int { return 1 }

// agentName is a full agent name; agentID a bare id.
var (
	agentName = regexp.MustCompile(`^brands/[A-Za-z0-9_-]{1,128}/agents/[A-Za-z0-9_-]{1,128}$`)
	agentID   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	// conversationID is what Parley accepts as a conversation id (it goes
	// into URL paths); Google's are UUIDs.
	conversationID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
)

func knownSettings() []string { return []string{SettingAgentID, SettingAPIBaseURL} }

func knownCredentials() []string { return []string{CredentialClientToken, CredentialAccessToken} }

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks the settings and credentials; it never calls the API.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	for k := range cfg.Settings {
		if !contains(knownSettings(), k) {
			return invalid("settings."+k, "unknown setting (known: "+strings.Join(knownSettings(), ", ")+")")
		}
	}
	id, _ := cfg.Settings[SettingAgentID].(string)
	id = strings.TrimSpace(id)
	if !agentName.MatchString(id) && !agentID.MatchString(id) {
		return invalid("settings."+SettingAgentID, "required: the Business Messages agent id, or its name brands/{brandId}/agents/{agentId}")
	}
	cfg.Settings[SettingAgentID] = id
	if v, ok := cfg.Settings[SettingAPIBaseURL]; ok {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return invalid("settings."+SettingAPIBaseURL, "an absolute http(s) URL without query, e.g. "+DefaultAPIBaseURL)
		}
		cfg.Settings[SettingAPIBaseURL] = strings.TrimRight(s, "/")
	}
	for k := range cfg.Credentials {
		if !contains(knownCredentials(), k) {
			return invalid("credentials."+k, "unknown credential (known: "+strings.Join(knownCredentials(), ", ")+")")
		}
	}
	if s := cfg.Credentials[CredentialClientToken]; strings.TrimSpace(s) == "" || len(s) > 256 {
		return invalid("credentials."+CredentialClientToken, "required: the partner's client token, which signs webhooks (X-Goog-Signature); at most 256 characters")
	}
	if s := cfg.Credentials[CredentialAccessToken]; strings.TrimSpace(s) == "" || len(s) > 4096 {
		return invalid("credentials."+CredentialAccessToken, "required: the Bearer access token Parley sends messages with")
	}
	return nil
}

// agentOf is the bare agent id of a setting or a webhook's agent name.
func agentOf(s string) string {
	if i := strings.LastIndex(s, "/agents/"); i >= 0 {
		return s[i+len("/agents/"):]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func baseURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIBaseURL
}
