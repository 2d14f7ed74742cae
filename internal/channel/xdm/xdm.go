// Package xdm is the X (Twitter) direct-message adapter (CHANNELS.md §5):
// the Account Activity API's CRC challenge and x-twitter-webhooks-signature
// on the raw body, direct_message_events (our own sends echoed back are
// dropped, names taken from the delivery's users, media attachments fetched
// with the access token) and read marks as read watermarks, and the DM v2
// endpoint POST /2/dm_conversations/with/{participant_id}/messages, with one
// image per message uploaded first through POST /2/media/upload.
//
// X DMs have no buttons: rich content arrives as the engine's numbered text
// and a typed "2" is resolved by the core, so this adapter has no native
// renderer.
//
// The access token is an OAuth 2.0 user-context token of the business
// account (scopes dm.read, dm.write, tweet.read, users.read, media.write).
// X's OAuth 2.0 user tokens expire (two hours unless refreshed with
// offline.access): keeping it fresh is done by updating the credential;
// this adapter does not refresh it.
//
// internal/channel/xdm/fake is a local X API to test it against.
package xdm

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
)

// Type is the channel type identifier.
const Type = "x_dm"

// Setting and credential names of an X DM point of contact.
const (
	// SettingUserID is the business account's numeric user id: the
	// for_user_id of its webhooks, and the sender of its DMs (required).
	SettingUserID = "user_id"
	// SettingAPIBaseURL overrides https://api.x.com (the fake, the sandbox).
	SettingAPIBaseURL = "api_base_url"

	// CredentialConsumerSecret is the X app's consumer (API key) secret: it
	// answers the CRC challenge and signs webhooks.
	CredentialConsumerSecret = "consumer_secret"
	// CredentialAccessToken is the business account's OAuth 2.0 user token
	// (Bearer) Parley sends DMs, uploads media and fetches DM media with.
	CredentialAccessToken = "access_token"
)

// DefaultAPIBaseURL is X's API.
const DefaultAPIBaseURL = "https://api.x.com"

// SignatureHeader carries sha256=<base64 HMAC-SHA256(consumer secret, raw body)>.
const SignatureHeader = "X-Twitter-Webhooks-Signature"

// Limits of the DM API (CHANNELS.md §5).
const (
	// MaxTextLength is the longest DM text; longer text is sent as several DMs.
	MaxTextLength = 10000
	// MaxImageBytes is the largest image X takes for a DM (dm_image).
	MaxImageBytes = 5 << 20
	// MaxIDLength bounds the platform ids Parley accepts.
	MaxIDLength = 64
)

// Sending limit: 200 DM requests per 15 minutes per user.
const (
	requestsPerWindow = 200
	rateWindow        = 15 * time.Minute
	rateBurst         = 15
)

// Adapter implements channel.Adapter, Receiver, Handshaker, Sender,
// ProactivePolicy, AttachmentPolicy and RateLimiter.
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
	_ channel.AttachmentPolicy = (*Adapter)(nil)
	_ channel.RateLimiter      = (*Adapter)(nil)
)

// New makes the adapter. client carries the API timeout and downloads the
// outbound attachments from their signed URLs; nil means a 30-second one.
// now is the clock (nil: time.Now).
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

// Proactive: never. X lets a business DM someone who never wrote only when
// that person accepts DMs from everyone, which Parley cannot know before
// sending; the seed lists no proactive outbound on X DMs, so conversations
// start with the customer.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// MaxAttachments: a DM carries one media.
func (a *Adapter) MaxAttachments() int { return 1 }

// RateLimit: 200 DM requests per 15 minutes per user (about 0.22/s), with a
// burst of 15 so a short exchange is not slowed down.
func (a *Adapter) RateLimit() channel.Rate {
	return channel.Rate{PerSecond: requestsPerWindow / rateWindow.Seconds(), Burst: rateBurst}
}

// userID is what X user ids look like (they go into URL paths).
var userID = regexp.MustCompile(`^[0-9]{1,20}$`)

func knownSettings() []string { return []string{SettingUserID, SettingAPIBaseURL} }

func knownCredentials() []string {
	return []string{CredentialConsumerSecret, CredentialAccessToken}
}

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks settings and credentials and normalises a user id given
// as a JSON number to its decimal string; it never calls X.
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
	switch v := cfg.Settings[SettingUserID].(type) {
	case float64:
		if v < 0 || v != math.Trunc(v) || v > 1<<53 {
			return invalid("settings."+SettingUserID, "give the user id as a string: this number cannot be represented exactly")
		}
		cfg.Settings[SettingUserID] = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		cfg.Settings[SettingUserID] = strings.TrimSpace(v)
	}
	if id, _ := cfg.Settings[SettingUserID].(string); !userID.MatchString(id) {
		return invalid("settings."+SettingUserID, "required: the business account's numeric X user id (the for_user_id of its webhooks)")
	}
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
	if s := cfg.Credentials[CredentialConsumerSecret]; strings.TrimSpace(s) == "" || len(s) > 256 {
		return invalid("credentials."+CredentialConsumerSecret, "required: the X app's consumer secret (API key secret), which answers the CRC challenge and signs webhooks; at most 256 characters")
	}
	if s := cfg.Credentials[CredentialAccessToken]; strings.TrimSpace(s) == "" || len(s) > 4096 {
		return invalid("credentials."+CredentialAccessToken, "required: the business account's OAuth 2.0 user access token (scopes dm.read, dm.write, users.read, tweet.read, media.write)")
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

func baseURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIBaseURL
}
