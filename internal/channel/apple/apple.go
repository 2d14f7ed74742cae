// Package apple is the Apple Messages for Business adapter, through a
// messaging service provider's access to Apple's MSP gateway (CHANNELS.md
// §11):
//
//   - inbound: POST deliveries authenticated by a Bearer JWT (HS256, key =
//     the base64-decoded MSP secret, aud = the MSP id), possibly
//     gzip-compressed; text messages with encrypted attachments (downloaded
//     through /v1/preDownload and decrypted with AES-256-CTR by FetchMedia),
//     replies to list pickers, time pickers, quick replies and forms, large
//     interactive replies by reference (interactiveDataRef), typing
//     indicators (skipped) and the customer closing the chat (skipped, see
//     ClosedConversation);
//   - the device's capability-list header, remembered per customer so that
//     an interactive message the device cannot show goes out as its plain
//     text instead;
//   - outbound: POST /v1/message with the content engine's native payload
//     (Rendered.Native: the MSP body without id, sourceId and
//     destinationId), text, Content.Overrides payloads (custom app
//     extensions, sent as they are), and attachments encrypted with
//     AES-256-CTR and uploaded through /v1/preUpload;
//   - no proactive outbound (the seed): a business only answers a customer
//     who wrote.
//
// internal/channel/apple/fake is a local MSP gateway to test it against.
package apple

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Type is the channel type identifier.
const Type = "apple_messages"

// Setting and credential names of an Apple Messages for Business point of
// contact.
const (
	// SettingBusinessID is the business id Apple registered (required): the
	// destination of the customers' messages and the source of ours.
	SettingBusinessID = "business_id"
	// SettingAPIBaseURL overrides https://mspgw.push.apple.com (the fake,
	// the sandbox).
	SettingAPIBaseURL = "api_base_url"

	// CredentialMSPID is the messaging service provider id: the audience
	// of Apple's tokens and the issuer of ours.
	CredentialMSPID = "msp_id"
	// CredentialMSPSecret is the MSP's shared secret as Apple gives it,
	// base64: its decoded bytes are the HMAC key of every token.
	CredentialMSPSecret = "msp_secret"
)

// DefaultAPIBaseURL is Apple's MSP gateway.
const DefaultAPIBaseURL = "https://mspgw.push.apple.com"

// Limits and tolerances.
const (
	// TokenLeeway is the clock skew tolerated on Apple's token times.
	TokenLeeway = 5 * time.Minute
	// MaxTokenAge bounds how old a token without an expiry may be: Apple's
	// tokens carry iat, and one replayed long after it was captured is
	// refused (a day leaves room for a gateway that caches its tokens).
	MaxTokenAge = 24 * time.Hour
	// MaxBodyBytes is the largest decompressed delivery accepted.
	MaxBodyBytes = 8 << 20
	// MaxAttachmentBytes is the largest file Parley uploads (Apple's own
	// limit for Messages attachments is 100 MB).
	MaxAttachmentBytes = 100 << 20
	// MaxAttachments is the most files Parley puts on one message.
	MaxAttachments = 10
	// MaxIDLength bounds ids taken from a delivery.
	MaxIDLength = 512
)

// Capabilities a device announces in the capability-list header that decide
// which interactive messages it can show (CHANNELS.md §11).
const (
	CapabilityListPicker = "LIST"
	CapabilityTimePicker = "TIME"
	CapabilityForm       = "FORM"
	CapabilityQuickReply = "QUICK"
)

// Adapter implements channel.Adapter, Receiver, Sender, MediaFetcher,
// ProactivePolicy, AttachmentPolicy, RateLimiter and Typer.
type Adapter struct {
	http   *http.Client
	now    func() time.Time
	random io.Reader // attachment keys; tests make it deterministic

	// capabilities remembers each customer's last capability-list (the
	// Sender never sees inbound headers).
	capabilities *lru[[]string]
	// quickReplies remembers the item identifiers of the quick replies
	// sent, by requestIdentifier, for replies that carry only an index.
	quickReplies *lru[[]quickItem]
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter          = (*Adapter)(nil)
	_ channel.Receiver         = (*Adapter)(nil)
	_ channel.Sender           = (*Adapter)(nil)
	_ channel.MediaFetcher     = (*Adapter)(nil)
	_ channel.ProactivePolicy  = (*Adapter)(nil)
	_ channel.AttachmentPolicy = (*Adapter)(nil)
	_ channel.RateLimiter      = (*Adapter)(nil)
	_ channel.Typer            = (*Adapter)(nil)
)

// Cache sizes: one entry per recently active customer, and per recent quick
// reply. Both are best-effort memories that a restart empties.
const (
	capabilityCacheSize = 50_000
	quickReplyCacheSize = 20_000
)

// New makes the adapter. client carries the gateway timeout; nil means a
// 30-second one. now is the clock (nil: time.Now).
func New(client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{http: client, now: now, random: rand.Reader,
		capabilities: newLRU[[]string](capabilityCacheSize), quickReplies: newLRU[[]quickItem](quickReplyCacheSize)}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return Type }

// Proactive: a business cannot start a conversation (the seed).
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// MaxAttachments is the most files one outbound message may carry.
func (a *Adapter) MaxAttachments() int { return MaxAttachments }

// RateLimit paces sends: Apple publishes no figure for MSPs, so this is a
// conservative pace that keeps the gateway's 429 the exception.
func (a *Adapter) RateLimit() channel.Rate { return channel.Rate{PerSecond: 10, Burst: 20} }

// idPattern is what Parley accepts as an MSP or business id.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

func knownSettings() []string { return []string{SettingBusinessID, SettingAPIBaseURL} }

func knownCredentials() []string { return []string{CredentialMSPID, CredentialMSPSecret} }

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks the business id, the gateway URL and the MSP
// credentials; it never calls Apple.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	for k, v := range cfg.Settings {
		if !contains(knownSettings(), k) {
			return invalid("settings."+k, "unknown setting (known: "+strings.Join(knownSettings(), ", ")+")")
		}
		s, ok := v.(string)
		if !ok {
			return invalid("settings."+k, "must be a string")
		}
		if s = strings.TrimSpace(s); s == "" {
			delete(cfg.Settings, k)
			continue
		}
		cfg.Settings[k] = s
	}
	str := func(k string) string { s, _ := cfg.Settings[k].(string); return s }
	if !idPattern.MatchString(str(SettingBusinessID)) {
		return invalid("settings."+SettingBusinessID, "required: the business id Apple registered for this account (Apple Business Register), as the MSP gateway sends it in destination-id")
	}
	if s := str(SettingAPIBaseURL); s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return invalid("settings."+SettingAPIBaseURL, "an absolute http(s) URL without query, e.g. "+DefaultAPIBaseURL)
		}
		cfg.Settings[SettingAPIBaseURL] = strings.TrimRight(s, "/")
	}
	for k, v := range cfg.Credentials {
		if !contains(knownCredentials(), k) {
			return invalid("credentials."+k, "unknown credential (known: "+strings.Join(knownCredentials(), ", ")+")")
		}
		cfg.Credentials[k] = strings.TrimSpace(v)
	}
	if !idPattern.MatchString(cfg.Credentials[CredentialMSPID]) {
		return invalid("credentials."+CredentialMSPID, "required: the messaging service provider id (the audience of Apple's tokens)")
	}
	if _, err := secretKey(cfg.Credentials[CredentialMSPSecret]); err != nil {
		return invalid("credentials."+CredentialMSPSecret, "required: the MSP secret as Apple gives it, base64 of at least 16 bytes")
	}
	return nil
}

// secretKey decodes the MSP secret into the HMAC key.
func secretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 1024 {
		return nil, errBadSecret
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < 16 {
				return nil, errBadSecret
			}
			return b, nil
		}
	}
	return nil, errBadSecret
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// baseURL is the gateway's root URL for a point of contact.
func baseURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIBaseURL
}
