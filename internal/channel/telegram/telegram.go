// Package telegram is the Telegram Bot API adapter (CHANNELS.md §6).
//
// Inbound: Telegram posts one Update per webhook request, authenticated by
// the X-Telegram-Bot-Api-Secret-Token header (the point of contact's
// secret_token, which Configure generates and RegisterWebhook hands to
// setWebhook). Parse turns messages and edited messages (text, captions,
// photos at their largest size, documents and the other file kinds, shared
// locations and contacts) and callback queries (taps on inline-keyboard
// buttons) into canonical events. Files are downloaded by the core through
// FetchMedia: getFile gives the file_path, then GET /file/bot<token>/<path>.
//
// Taps are answered (answerCallbackQuery) in the webhook's own reply, which
// the Bot API executes as a method call ("Making requests when getting
// updates"): Respond writes {"method":"answerCallbackQuery",…} as the 200
// body once the tap is durably stored. That costs no outbound request, so a
// slow or unreachable Bot API can never delay the acknowledgement, and
// nothing is answered for an update Parley failed to store (Telegram then
// redelivers it and the answer goes with the successful delivery).
//
// Outbound: sendMessage (text split at 4096 UTF-16 code units, Telegram's
// measure), sendPhoto and sendDocument (by URL where Telegram fetches URLs,
// else uploaded as multipart), inline keyboards rendered by RenderNative,
// reply_parameters for quotes, and the Bot API's errors classified (429 with
// retry_after, 403 blocked → unreachable, other 4xx permanent).
//
// Telegram allows no business-initiated conversation (bots may only answer
// people who started them) and has no reply window.
//
// internal/channel/telegram/fake is a local Bot API to test it against.
package telegram

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Type is the channel type identifier.
const Type = "telegram"

// Setting and credential names of a Telegram point of contact.
const (
	// SettingAPIBaseURL overrides https://api.telegram.org (the fake, the
	// sandbox, a self-hosted Bot API server).
	SettingAPIBaseURL = "api_base_url"

	// CredentialBotToken is the token @BotFather gave the bot
	// ("123456789:AA…"): it names the bot in every Bot API URL (required).
	CredentialBotToken = "bot_token"
	// CredentialSecretToken is the webhook secret Telegram sends back in
	// X-Telegram-Bot-Api-Secret-Token; generated on creation when not given.
	CredentialSecretToken = "secret_token"
)

// DefaultAPIBaseURL is the Bot API.
const DefaultAPIBaseURL = "https://api.telegram.org"

// SecretTokenHeader carries the webhook secret on every update.
const SecretTokenHeader = "X-Telegram-Bot-Api-Secret-Token"

// SecretTokenPrefix prefixes a generated secret token.
const SecretTokenPrefix = "tgwh_"

// AllowedUpdates are the update types RegisterWebhook subscribes to.
func AllowedUpdates() []string { return []string{"message", "edited_message", "callback_query"} }

// Limits of the Bot API, in UTF-16 code units as Telegram counts them
// (CHANNELS.md §6).
const (
	MaxTextLength    = 4096
	MaxCaptionLength = 1024
	// MaxCallbackData is the longest callback_data, in bytes.
	MaxCallbackData = 64
)

// File size limits of the Bot API, in bytes.
const (
	// MaxDownload is the largest file getFile lets a bot download.
	MaxDownload = 20 << 20
	// MaxPhotoByURL is the largest photo Telegram fetches by URL.
	MaxPhotoByURL = 5 << 20
	// MaxFileByURL is the largest other file Telegram fetches by URL.
	MaxFileByURL = 20 << 20
	// MaxUpload is the largest file a bot may upload.
	MaxUpload = 50 << 20
)

// Adapter implements channel.Adapter, Receiver, Responder, Sender,
// MediaFetcher, ProactivePolicy, AttachmentPolicy, RateLimiter,
// WebhookRegistrar and Typer, plus RenderNative (inline keyboards).
type Adapter struct {
	http *http.Client
	now  func() time.Time
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter          = (*Adapter)(nil)
	_ channel.Receiver         = (*Adapter)(nil)
	_ channel.Responder        = (*Adapter)(nil)
	_ channel.Sender           = (*Adapter)(nil)
	_ channel.MediaFetcher     = (*Adapter)(nil)
	_ channel.ProactivePolicy  = (*Adapter)(nil)
	_ channel.AttachmentPolicy = (*Adapter)(nil)
	_ channel.RateLimiter      = (*Adapter)(nil)
	_ channel.WebhookRegistrar = (*Adapter)(nil)
	_ channel.Typer            = (*Adapter)(nil)
)

// New makes the adapter. client carries the Bot API timeout; nil means a
// 30-second one. now is the clock (nil: time.Now).
func New(client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{http: client, now: now}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return Type }

// Proactive: bots may only answer people who started them (and the seed
// forbids proactive outbound on Telegram).
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// MaxAttachments: one file per message. Each file is its own Bot API call
// (sendPhoto or sendDocument, the text as its caption when it fits), and a
// message sent in several calls cannot be retried safely when a later call
// fails; one file keeps almost every message to a single call.
func (a *Adapter) MaxAttachments() int { return 1 }

// RateLimit: about 30 messages a second per bot (Telegram's broadcast
// limit); the per-chat limit (about one a second) is left to the platform's
// 429, which carries its own retry_after.
func (a *Adapter) RateLimit() channel.Rate { return channel.Rate{PerSecond: 30, Burst: 30} }

var (
	// botToken is @BotFather's format: the bot's numeric id, a colon, a secret.
	botToken = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{1,200}$`)
	// secretToken is what setWebhook accepts: 1–256 of A–Z, a–z, 0–9, _ and -.
	secretToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

func knownCredentials() []string { return []string{CredentialBotToken, CredentialSecretToken} }

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks the bot token and the API URL and, on creation without a
// secret token, generates one (kept in the credentials, shown once through
// Config.Generated). It never calls Telegram: RegisterWebhook does that.
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
	for k, v := range cfg.Settings {
		if k != SettingAPIBaseURL {
			return invalid("settings."+k, "unknown setting (known: "+SettingAPIBaseURL+")")
		}
		s, ok := v.(string)
		if !ok {
			return invalid("settings."+k, "must be a string")
		}
		if s = strings.TrimSpace(s); s == "" {
			delete(cfg.Settings, k)
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return invalid("settings."+k, "an absolute http(s) URL without query, e.g. "+DefaultAPIBaseURL)
		}
		cfg.Settings[k] = strings.TrimRight(s, "/")
	}
	for k := range cfg.Credentials {
		if k != CredentialBotToken && k != CredentialSecretToken {
			return invalid("credentials."+k, "unknown credential (known: "+strings.Join(knownCredentials(), ", ")+")")
		}
	}
	tok := strings.TrimSpace(cfg.Credentials[CredentialBotToken])
	if tok == "" {
		return invalid("credentials."+CredentialBotToken, "required: the bot token @BotFather gave (like 123456789:AAH…)")
	}
	if !botToken.MatchString(tok) {
		return invalid("credentials."+CredentialBotToken, "not a bot token: the bot's numeric id, a colon, then letters, digits, _ and - (like 123456789:AAH…)")
	}
	cfg.Credentials[CredentialBotToken] = tok
	switch st := cfg.Credentials[CredentialSecretToken]; {
	case st == "" && !cfg.Creating:
		return invalid("credentials."+CredentialSecretToken, "the webhook secret token cannot be removed; set a new one instead (then register the webhook again)")
	case st == "":
		st = newSecretToken()
		cfg.Credentials[CredentialSecretToken] = st
		cfg.Generated[CredentialSecretToken] = st
	case !secretToken.MatchString(st):
		return invalid("credentials."+CredentialSecretToken, "1 to 256 characters among A-Z, a-z, 0-9, _ and - (Telegram's rule for setWebhook's secret_token)")
	}
	return nil
}

// newSecretToken is 256 random bits in Telegram's alphabet.
func newSecretToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("telegram: no randomness: " + err.Error())
	}
	return SecretTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// baseURL is the Bot API root of a point of contact.
func baseURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIBaseURL
}

// Authenticate compares X-Telegram-Bot-Api-Secret-Token with the point of
// contact's secret token in constant time. A failure is answered 401 by the
// core: Telegram retries any non-2xx, which is right for a request that may
// come from Telegram after a secret change not yet registered.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	want := poc.Credential(CredentialSecretToken)
	got := r.Header.Get(SecretTokenHeader)
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return channel.ErrUnauthenticated
	}
	return nil
}

// Respond acknowledges an update. For a tap it answers the callback query
// in the webhook reply itself (the Bot API executes a "method" given in a
// webhook's response body); this stops the spinner on the customer's button
// without an outbound request, so the acknowledgement never waits on the
// Bot API. Respond only runs once the update is stored; a failed ingest is
// answered 503 by the core, Telegram redelivers, and the tap is answered
// with that delivery. Any other update gets a JSON summary, which Telegram
// ignores.
func (a *Adapter) Respond(w http.ResponseWriter, r *http.Request, results []channel.IngestResult) {
	w.Header().Set("Content-Type", "application/json")
	for _, res := range results {
		if res.Event == nil {
			continue
		}
		if id, ok := strings.CutPrefix(res.Event.PlatformMessageID, callbackPrefix); ok && id != "" {
			_ = json.NewEncoder(w).Encode(map[string]string{"method": "answerCallbackQuery", "callback_query_id": id})
			return
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]int{"accepted": len(results)})
}

// RegisterWebhook tells Telegram where to post updates: setWebhook with the
// point of contact's webhook URL, its secret token, and the update types
// Parley handles. Telegram refuses URLs that are not HTTPS on port 443, 80,
// 88 or 8443; its description is returned as the error.
func (a *Adapter) RegisterWebhook(ctx context.Context, poc *channel.PointOfContact, webhookURL string) error {
	secret := poc.Credential(CredentialSecretToken)
	if secret == "" {
		return &channel.SendError{Code: "configuration", Reason: "telegram: the point of contact has no secret_token to register"}
	}
	_, err := a.call(ctx, poc, "setWebhook", map[string]any{
		"url": webhookURL, "secret_token": secret, "allowed_updates": AllowedUpdates(),
	})
	if err != nil {
		return &channel.SendError{Retryable: err.Retryable, RetryAfter: err.RetryAfter, Code: err.Code, Reason: "telegram setWebhook: " + err.Reason}
	}
	return nil
}
