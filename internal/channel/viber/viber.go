// Package viber is the Viber REST bot API adapter (CHANNELS.md §8): webhook
// registration through POST /pa/set_webhook (and the signed
// {"event":"webhook"} check Viber makes at once), X-Viber-Content-Signature
// on the raw body, inbound text, pictures, videos, files, stickers,
// contacts, links and locations, delivery receipts (delivered, seen,
// failed), and POST /pa/send_message with Viber's status codes classified.
//
// Rich content the engine renders as plain text for Viber is upgraded here
// (RenderNative): quick replies, list pickers and time pickers become a
// custom keyboard, cards and carousels become rich_media, an image file a
// picture message and a location a location message. A keyboard tap comes
// back as a text message whose text is the button's ActionBody; Viber shows
// that text in the chat as the customer's own message, so the ActionBody is
// the option's label, and the message carries a tracking_data map from
// each ActionBody to its option id (Viber returns the tracking_data of the
// last message it delivered with the customer's next message). Parse turns
// a tap into ChoiceID = the option id and Text = the label.
//
// Viber lets a bot message only users subscribed to it (who wrote to it or
// subscribed): there is no business-initiated first contact
// (ProactiveNever).
//
// internal/channel/viber/fake is a local Viber API to test against.
package viber

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Type is the channel type identifier.
const Type = "viber"

// Setting and credential names of a Viber point of contact.
const (
	// SettingSenderName is the bot name shown on every message
	// (send_message sender.name, at most 28 characters). Empty: the point
	// of contact's name, cut to 28 characters.
	SettingSenderName = "sender_name"
	// SettingSenderAvatar is an optional http(s) URL of the sender's
	// avatar (sender.avatar; Viber wants it under 100 KB).
	SettingSenderAvatar = "sender_avatar"
	// SettingAPIBaseURL overrides https://chatapi.viber.com (the fake, the
	// sandbox).
	SettingAPIBaseURL = "api_base_url"

	// CredentialAuthToken is the bot's authentication token: sent as
	// X-Viber-Auth-Token on every API call, and the key that signs
	// Viber's callbacks.
	CredentialAuthToken = "auth_token"
)

// DefaultAPIBaseURL is Viber's chat API.
const DefaultAPIBaseURL = "https://chatapi.viber.com"

// Limits of the REST bot API.
const (
	// MaxSenderName is the longest sender.name, in characters.
	MaxSenderName = 28
	// MaxTextLength is the longest text message, in characters; longer
	// text is sent as several messages.
	MaxTextLength = 7000
	// MaxCaptionLength is the longest description (text) of a picture.
	MaxCaptionLength = 512
	// MaxTrackingData is the longest tracking_data Parley sends (the API
	// documents 4096; newer pages say 4000).
	MaxTrackingData = 4000
	// MaxPictureSize is the largest image sent as a picture message (Viber's
	// iOS limit, 1 MB); larger images go as file messages.
	MaxPictureSize = 1 << 20
	// MaxFileSize is the largest file message Viber accepts (50 MB).
	MaxFileSize = 50 << 20
	// MaxFileName is the longest file_name, extension included.
	MaxFileName = 256
	// MaxMessageBytes is the largest send_message request (30 KB).
	MaxMessageBytes = 30 << 10
)

// EventTypes returns the callbacks RegisterWebhook subscribes to (the
// "message" callback is always sent and may not be listed).
func EventTypes() []string {
	return []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}
}

// Adapter implements channel.Adapter, Receiver, Responder, Sender,
// WebhookRegistrar, ProactivePolicy, AttachmentPolicy and RateLimiter, and
// upgrades rendered content to Viber's native elements (RenderNative).
type Adapter struct {
	client *http.Client
	now    func() time.Time
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter          = (*Adapter)(nil)
	_ channel.Receiver         = (*Adapter)(nil)
	_ channel.Responder        = (*Adapter)(nil)
	_ channel.Sender           = (*Adapter)(nil)
	_ channel.WebhookRegistrar = (*Adapter)(nil)
	_ channel.ProactivePolicy  = (*Adapter)(nil)
	_ channel.AttachmentPolicy = (*Adapter)(nil)
	_ channel.RateLimiter      = (*Adapter)(nil)
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

// Proactive: Viber bots may write only to users subscribed to them, that
// is who wrote first: no conversation starts from Parley.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// MaxAttachments is one file per message: each goes as its own picture or
// file message, so one keeps a message and its receipt one-to-one.
func (a *Adapter) MaxAttachments() int { return 1 }

// RateLimit paces sends per bot. Viber documents no account-wide limit for
// send_message (only 100 messages an hour to one user who does not answer,
// status 12); its broadcast API allows 500 requests in 10 seconds, which
// Parley takes as the bot's sustained rate.
func (a *Adapter) RateLimit() channel.Rate { return channel.Rate{PerSecond: 50, Burst: 50} }

// Respond acknowledges a callback with an empty 200. Viber reads the answer
// to conversation_started as a welcome message to send, so the core's JSON
// summary must not be there.
func (a *Adapter) Respond(w http.ResponseWriter, r *http.Request, results []channel.IngestResult) {
	w.WriteHeader(http.StatusOK)
}

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks the settings and the auth token; it never calls Viber
// (RegisterWebhook does, after creation).
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	known := []string{SettingSenderName, SettingSenderAvatar, SettingAPIBaseURL}
	keys := make([]string, 0, len(cfg.Settings))
	for k := range cfg.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the same first error every time
	for _, k := range keys {
		if !contains(known, k) {
			return invalid("settings."+k, "unknown setting (known: "+strings.Join(known, ", ")+")")
		}
		s, ok := cfg.Settings[k].(string)
		if !ok {
			return invalid("settings."+k, "must be a string")
		}
		s = strings.TrimSpace(s)
		if s == "" {
			delete(cfg.Settings, k)
			continue
		}
		cfg.Settings[k] = s
	}
	str := func(k string) string { s, _ := cfg.Settings[k].(string); return s }
	if name := str(SettingSenderName); name != "" {
		if n := utf8.RuneCountInString(name); n > MaxSenderName || !utf8.ValidString(name) {
			return invalid("settings."+SettingSenderName, "the bot name shown on messages: at most 28 characters (leave it empty to use the point of contact's name)")
		}
	}
	if s := str(SettingSenderAvatar); s != "" && !httpURL(s, true) {
		return invalid("settings."+SettingSenderAvatar, "an absolute http(s) URL of an image under 100 KB")
	}
	if s := str(SettingAPIBaseURL); s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return invalid("settings."+SettingAPIBaseURL, "an absolute http(s) URL without query, e.g. "+DefaultAPIBaseURL)
		}
		cfg.Settings[SettingAPIBaseURL] = strings.TrimRight(s, "/")
	}
	for k := range cfg.Credentials {
		if k != CredentialAuthToken {
			return invalid("credentials."+k, "unknown credential (known: "+CredentialAuthToken+")")
		}
	}
	tok := cfg.Credentials[CredentialAuthToken]
	if strings.TrimSpace(tok) == "" {
		return invalid("credentials."+CredentialAuthToken, "required: the bot's authentication token (Viber: More → Settings → Bots → Edit info → Your app key); it also signs Viber's callbacks")
	}
	if len(tok) > 256 || strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return invalid("credentials."+CredentialAuthToken, "at most 256 characters, without spaces")
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

// httpURL reports whether s is an absolute http(s) URL (of at most 2048
// bytes when bounded).
func httpURL(s string, bounded bool) bool {
	if bounded && len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

func baseURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIBaseURL
}

// senderName is the name messages are sent under: the setting, else the
// point of contact's name, cut to Viber's 28 characters.
func senderName(poc *channel.PointOfContact) string {
	name := strings.TrimSpace(poc.SettingString(SettingSenderName))
	if name == "" {
		name = strings.TrimSpace(poc.Name)
	}
	if name == "" {
		name = "Parley"
	}
	return truncateRunes(name, MaxSenderName)
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
