// Package line is the LINE Messaging API adapter (CHANNELS.md §7): webhooks
// verified by x-line-signature over the raw body, text, media, location and
// sticker messages and postbacks (a tapped button comes back as its option
// id), follow and unfollow noted as the customer's opt-in and opt-out, and
// sends through the reply endpoint while the customer's reply token is
// fresh, else through push with an idempotent X-Line-Retry-Key.
//
// The seed's rules for LINE (MISSION.md §2): receive and reply, no
// attachments sent, no proactive outbound. Push is only ever a late answer
// to a customer who wrote: Send refuses a thread without an inbound
// message, and the adapter's ProactivePolicy is never.
//
// Reply tokens are single use and expire about a minute after the webhook;
// they never reach the database. The adapter keeps the latest one of each
// thread in memory for ReplyTokenTTL (50 s, a margin under LINE's minute)
// and a reply after that, or on another node, or after a restart, goes out
// as a push instead. Parley's platform id of an inbound message is the
// event's webhookEventId, which a redelivery repeats.
//
// internal/channel/line/fake is a local LINE platform to test it against.
package line

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Type is LINE's channel type identifier.
const Type = "line"

// Setting and credential names of a LINE point of contact.
const (
	// SettingAPIBaseURL overrides https://api.line.me (the fake, the
	// sandbox): reply, push, webhook endpoint, loading animation.
	SettingAPIBaseURL = "api_base_url"
	// SettingAPIDataBaseURL overrides https://api-data.line.me, the host
	// that serves the content of the customers' images and files.
	SettingAPIDataBaseURL = "api_data_base_url"

	// CredentialChannelSecret signs the webhooks (x-line-signature).
	CredentialChannelSecret = "channel_secret"
	// CredentialChannelAccessToken is the Bearer token of every API call.
	CredentialChannelAccessToken = "channel_access_token"
)

// The platform's real addresses.
const (
	DefaultAPIBaseURL     = "https://api.line.me"
	DefaultAPIDataBaseURL = "https://api-data.line.me"
)

// ReplyTokenTTL is how long after the webhook the adapter still answers
// with the reply token. LINE lets a token live about a minute; the margin
// covers the outbox's queueing and the request's own time.
const ReplyTokenTTL = 50 * time.Second

// Limits of the Messaging API (CHANNELS.md §7, line/line-openapi).
const (
	// MaxMessages is the most message objects one reply or push carries.
	MaxMessages = 5
	// MaxTextLength is the longest text message, in characters; longer
	// text is split over up to MaxMessages messages.
	MaxTextLength = 5000
)

// Adapter implements channel.Adapter, Receiver, Sender, MediaFetcher,
// ProactivePolicy, AttachmentPolicy, RateLimiter, WebhookRegistrar and
// Typer, and upgrades rendered content to LINE's quick replies and
// templates (RenderNative).
type Adapter struct {
	client *http.Client
	now    func() time.Time
	// replies holds each thread's latest reply token; readMarks the
	// markAsReadToken of recent messages by webhookEventId.
	replies   *tokenCache
	readMarks *tokenCache
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
	_ channel.WebhookRegistrar = (*Adapter)(nil)
	_ channel.Typer            = (*Adapter)(nil)
)

// Bounds of the in-memory token caches: enough for thousands of customers
// writing within a minute on one node; the oldest go first beyond that
// (their answers are then pushed).
const (
	maxReplyTokens = 20_000
	maxReadMarks   = 20_000
	// readMarkTTL keeps a message's markAsReadToken while an agent may
	// still open the case and start typing.
	readMarkTTL = 24 * time.Hour
)

// New makes the adapter. client carries the API timeout; nil means a
// 30-second one. now is the clock (nil: time.Now); reply-token freshness
// is judged by it.
func New(client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{client: client, now: now,
		replies: newTokenCache(maxReplyTokens), readMarks: newTokenCache(maxReadMarks)}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return Type }

// Proactive: LINE takes no business-initiated conversations from Parley
// (MISSION.md §2); push answers a customer who wrote, nothing else.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// MaxAttachments: Parley sends no files on LINE (MISSION.md §2).
func (a *Adapter) MaxAttachments() int { return 0 }

// RateLimit: LINE allows 2,000 requests per second per channel on reply
// and push (Messaging API reference, "Rate limits"); Parley keeps to half
// of it so several nodes and the other endpoints stay under the limit.
func (a *Adapter) RateLimit() channel.Rate { return channel.Rate{PerSecond: 1000, Burst: 100} }

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

func knownSettings() []string { return []string{SettingAPIBaseURL, SettingAPIDataBaseURL} }

// Configure checks the settings and credentials; it never calls LINE.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	for k, v := range cfg.Settings {
		if k != SettingAPIBaseURL && k != SettingAPIDataBaseURL {
			return invalid("settings."+k, "unknown setting (known: "+strings.Join(knownSettings(), ", ")+")")
		}
		s, ok := v.(string)
		if !ok {
			return invalid("settings."+k, "must be a string")
		}
		s = strings.TrimSpace(s)
		if s == "" {
			delete(cfg.Settings, k)
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			def := DefaultAPIBaseURL
			if k == SettingAPIDataBaseURL {
				def = DefaultAPIDataBaseURL
			}
			return invalid("settings."+k, "an absolute http(s) URL without query, e.g. "+def)
		}
		cfg.Settings[k] = strings.TrimRight(s, "/")
	}
	for k := range cfg.Credentials {
		if k != CredentialChannelSecret && k != CredentialChannelAccessToken {
			return invalid("credentials."+k, "unknown credential (known: "+CredentialChannelSecret+", "+CredentialChannelAccessToken+")")
		}
	}
	for _, c := range []struct{ name, what string }{
		{CredentialChannelSecret, "the channel secret (LINE Developers Console → the Messaging API channel → Basic settings); it signs LINE's webhooks"},
		{CredentialChannelAccessToken, "a channel access token (LINE Developers Console → Messaging API tab) that Parley sends with"},
	} {
		v := cfg.Credentials[c.name]
		if strings.TrimSpace(v) == "" {
			return invalid("credentials."+c.name, "required: "+c.what)
		}
		if len(v) > 2048 || strings.TrimSpace(v) != v || strings.ContainsAny(v, "\r\n") {
			return invalid("credentials."+c.name, "at most 2048 characters on one line, without surrounding spaces")
		}
	}
	return nil
}

// apiBase is where reply, push and the other API calls go.
func apiBase(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIBaseURL
}

// dataBase is the host of message content.
func dataBase(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIDataBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIDataBaseURL
}
