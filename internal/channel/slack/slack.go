// Package slack is the Slack adapter (CHANNELS.md §9): a Slack app as a
// customer channel, for a customer's workspace or a Slack Connect channel
// talking to the business's app.
//
// Inbound, one webhook URL serves both the Events API (JSON, the
// url_verification challenge answered by Handshake) and interactivity
// (form-encoded payload=<block_actions JSON>), both signed with the app's
// signing secret (v0 HMAC-SHA256 over "v0:"+timestamp+":"+raw body, the
// timestamp at most 5 minutes off). Direct messages to the app are one
// thread per DM channel; a message in a channel the app is in (or an
// app_mention) opens a thread keyed by channel:thread_ts, and the answers
// go in that Slack thread. Messages are identified by channel:ts, which a
// retried delivery (X-Slack-Retry-Num) repeats exactly. Files are fetched
// from url_private_download with the bot token.
//
// Outbound, chat.postMessage with Block Kit (RenderNative turns quick
// replies, list and time pickers, rich links and cards into blocks; a tap
// comes back as a block_actions payload whose option id is the event's
// ChoiceID), and files through the three-step external upload
// (files.getUploadURLExternal, POST the bytes, files.completeUploadExternal).
//
// Setting up the Slack app: bot token scopes chat:write, files:read,
// files:write, app_mentions:read, im:history, and channels:history /
// groups:history / mpim:history for the channels it should answer in;
// Event Subscriptions on, request URL = the point of contact's webhook URL,
// bot events message.im, message.channels, message.groups, message.mpim
// and app_mention; Interactivity on, with the same URL.
//
// internal/channel/slack/fake is a local Slack Web API to test it against.
package slack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Type is the channel type identifier (DESIGN.md).
const Type = "slack"

// Setting and credential names of a Slack point of contact.
const (
	// SettingBotUserID is the app's bot user (U…), optional: messages it
	// authors are never taken for a customer's, and a leading mention of
	// it is removed from the text. Without it the envelope's
	// authorizations (is_bot) name it, and bot_id filters the rest.
	SettingBotUserID = "bot_user_id"
	// SettingAPIBaseURL overrides https://slack.com/api (the fake, the
	// sandbox, a proxy).
	SettingAPIBaseURL = "api_base_url"

	// CredentialSigningSecret is the app's signing secret (Basic
	// Information → App Credentials): it signs every request Slack sends.
	CredentialSigningSecret = "signing_secret"
	// CredentialBotToken is the bot user OAuth token (xoxb-…) Parley calls
	// the Web API and downloads files with.
	CredentialBotToken = "bot_token"
)

// DefaultAPIBaseURL is Slack's Web API.
const DefaultAPIBaseURL = "https://slack.com/api"

// MaxSignatureAge is how far a request's X-Slack-Request-Timestamp may be
// from the adapter's clock, either way, before the request is refused as a
// possible replay (Slack's own SDKs use 5 minutes).
const MaxSignatureAge = 5 * time.Minute

// MaxAttachments is the most files one outbound message carries: Slack's
// clients share at most 10 files in one message.
const MaxAttachments = 10

// Adapter implements channel.Adapter, Receiver, Handshaker, Responder,
// Sender, MediaFetcher, ProactivePolicy, AttachmentPolicy and RateLimiter,
// and the core's native renderer (RenderNative).
type Adapter struct {
	client *http.Client
	now    func() time.Time
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter          = (*Adapter)(nil)
	_ channel.Receiver         = (*Adapter)(nil)
	_ channel.Handshaker       = (*Adapter)(nil)
	_ channel.Responder        = (*Adapter)(nil)
	_ channel.Sender           = (*Adapter)(nil)
	_ channel.MediaFetcher     = (*Adapter)(nil)
	_ channel.ProactivePolicy  = (*Adapter)(nil)
	_ channel.AttachmentPolicy = (*Adapter)(nil)
	_ channel.RateLimiter      = (*Adapter)(nil)
)

// New makes the adapter. client carries the Web API timeout; nil means a
// 30-second one. now is the clock the signature timestamps are checked
// against (nil: time.Now).
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

// Proactive is never. A Slack app could open a DM with any member of the
// workspace it is installed in (conversations.open), but the reference
// product only answers questions sent through Slack, a customer in a Slack
// Connect channel cannot be DMed by another organisation's app, and a
// contact's address (a user id) says nothing about where a new
// conversation should live. Replies in threads the customer opened are
// unaffected.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// MaxAttachments is the most files one outbound message may carry.
func (a *Adapter) MaxAttachments() int { return MaxAttachments }

// RateLimit paces sends per point of contact (one app installation, a
// whole workspace). Slack allows about 1 message per second per channel
// with short bursts, and "several hundred messages per minute" per
// workspace. The outbox paces per point of contact, not per channel, and a
// contact centre answers many channels at once, so 1/s for the whole
// workspace would queue agents behind each other; 3/s (180 a minute) with
// bursts of 10 stays well under the workspace cap, and the rare burst into
// one channel gets Slack's 429 with Retry-After, which the outbox honours.
func (a *Adapter) RateLimit() channel.Rate { return channel.Rate{PerSecond: 3, Burst: 10} }

var (
	userIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{2,31}$`)
	botTokenShape = regexp.MustCompile(`^xoxb-[A-Za-z0-9_-]{10,250}$`)
)

func knownSettings() []string { return []string{SettingBotUserID, SettingAPIBaseURL} }

func knownCredentials() []string { return []string{CredentialBotToken, CredentialSigningSecret} }

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks the settings and credentials and normalises them; it
// never calls Slack.
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
		s = strings.TrimSpace(s)
		if s == "" {
			delete(cfg.Settings, k)
			continue
		}
		cfg.Settings[k] = s
	}
	if s, _ := cfg.Settings[SettingBotUserID].(string); s != "" && !userIDPattern.MatchString(s) {
		return invalid("settings."+SettingBotUserID, "the app's bot user id, like U0123ABCD (App Home, or auth.test's user_id)")
	}
	if s, _ := cfg.Settings[SettingAPIBaseURL].(string); s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return invalid("settings."+SettingAPIBaseURL, "an absolute http(s) URL without query, e.g. "+DefaultAPIBaseURL)
		}
		cfg.Settings[SettingAPIBaseURL] = strings.TrimRight(s, "/")
	}
	names := make([]string, 0, len(cfg.Credentials))
	for k := range cfg.Credentials {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !contains(knownCredentials(), k) {
			return invalid("credentials."+k, "unknown credential (known: "+strings.Join(knownCredentials(), ", ")+")")
		}
	}
	tok := strings.TrimSpace(cfg.Credentials[CredentialBotToken])
	switch {
	case tok == "":
		return invalid("credentials."+CredentialBotToken, "required: the app's Bot User OAuth Token (xoxb-…, OAuth & Permissions) with chat:write, files:read and files:write")
	case !botTokenShape.MatchString(tok):
		return invalid("credentials."+CredentialBotToken, "a bot token starts with xoxb- (a user token xoxp- or an app-level token xapp- will not do)")
	}
	cfg.Credentials[CredentialBotToken] = tok
	sec := strings.TrimSpace(cfg.Credentials[CredentialSigningSecret])
	if sec == "" {
		return invalid("credentials."+CredentialSigningSecret, "required: the app's Signing Secret (Basic Information → App Credentials); it signs every request Slack sends")
	}
	if len(sec) > 256 {
		return invalid("credentials."+CredentialSigningSecret, "at most 256 characters")
	}
	cfg.Credentials[CredentialSigningSecret] = sec
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

// baseURL is the Web API base of a point of contact.
func baseURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingAPIBaseURL); s != "" {
		return strings.TrimRight(s, "/")
	}
	return DefaultAPIBaseURL
}

// maxChallengeBody bounds what Handshake reads to recognise Slack's
// url_verification request; a longer body is not one, and is handed on
// untouched.
const maxChallengeBody = 16 << 10

// Handshake answers Slack's url_verification request, which Slack POSTs,
// signed, to the Events API request URL when an admin enters it: 200 with
// the bare challenge as text/plain, as Slack's documentation shows first.
// The body is peeked at and put back, so every other request goes on to
// Authenticate and Parse untouched; a challenge with a bad signature is
// not answered here (it then fails Authenticate, 401).
func (a *Adapter) Handshake(w http.ResponseWriter, r *http.Request, poc *channel.PointOfContact) bool {
	if r.Method != http.MethodPost || r.Body == nil {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxChallengeBody+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if err != nil || len(head) > maxChallengeBody || !bytes.Contains(head, []byte("url_verification")) {
		return false
	}
	challenge, ok := urlVerification(head)
	if !ok || a.Authenticate(r, head, poc) != nil {
		return false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, challenge)
	return true
}

// readCloser reads the peeked bytes then the rest, and closes the original.
type readCloser struct {
	io.Reader
	io.Closer
}

// Respond acknowledges a delivery with an empty 200: what Slack expects
// from both the Events API and interactivity (a body on a block_actions
// answer is not shown to anyone).
func (a *Adapter) Respond(w http.ResponseWriter, r *http.Request, results []channel.IngestResult) {
	w.WriteHeader(http.StatusOK)
}
