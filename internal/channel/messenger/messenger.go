// Package messenger is the Facebook Messenger adapter (CHANNELS.md §2): the
// Meta webhook handshake, X-Hub-Signature-256 on the raw body, every entry
// and messaging item of a batched delivery (messages, quick-reply taps,
// postbacks, attachments, quoted replies, reactions, delivery and read
// watermarks; echoes of our own sends ignored), and the Send API with the
// reply window applied at send time: RESPONSE within 24 h of the customer's
// last message, then MESSAGE_TAG + HUMAN_AGENT for a human agent up to
// 7 days, then nothing.
//
// Instagram Direct speaks the same protocol (CHANNELS.md §4), so the whole
// adapter is parameterised by a Flavor; internal/channel/instagram is this
// adapter with the Instagram flavor.
package messenger

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/meta"
	"github.com/parleyhq/parley/internal/secret"
)

// Type is Messenger's channel type identifier.
const Type = "messenger"

// Setting and credential names.
const (
	SettingPageID     = "page_id"
	SettingAPIBaseURL = "api_base_url"

	CredentialPageAccessToken = "page_access_token"
	CredentialAppSecret       = "app_secret"
	CredentialVerifyToken     = "verify_token"
)

// Reply windows (CHANNELS.md §2 Policy).
const (
	StandardWindow   = 24 * time.Hour
	HumanAgentWindow = 7 * 24 * time.Hour
)

// Flavor is what differs between Messenger and Instagram Direct.
type Flavor struct {
	// Type is the channel type identifier.
	Type string
	// Name is the platform's name in messages shown to people.
	Name string
	// Object is the webhook envelope's "object".
	Object string
	// AccountSetting is the required setting naming the page or account
	// whose webhooks these are and that sends (POST /{id}/messages).
	AccountSetting string
	// OptionalSettings are accepted besides AccountSetting and api_base_url.
	OptionalSettings []string
	// VerifyTokenPrefix prefixes a generated webhook verify token.
	VerifyTokenPrefix string
	// NativeRendering: send the rich-content engine's native payload
	// (Rendered.native). Off for Instagram, which the seed tables give plain
	// text only; an author's explicit override is still sent verbatim.
	NativeRendering bool
	// MaxText is the longest text message; longer text is split.
	MaxText int
}

// MessengerFlavor describes Facebook Messenger.
func MessengerFlavor() Flavor {
	return Flavor{Type: Type, Name: "Messenger", Object: "page", AccountSetting: SettingPageID,
		VerifyTokenPrefix: "mvt_", NativeRendering: true, MaxText: 2000}
}

// Adapter implements channel.Adapter, Receiver, Handshaker, Sender,
// WindowPolicy, ProactivePolicy and Typer.
type Adapter struct {
	flavor Flavor
	client *meta.Client
	now    func() time.Time
}

// New makes the Messenger adapter. client carries the Graph API timeout.
func New(client *http.Client, now func() time.Time) *Adapter {
	return NewFlavor(MessengerFlavor(), client, now)
}

// NewFlavor makes the adapter for a Messenger-protocol platform.
func NewFlavor(f Flavor, client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{flavor: f, client: &meta.Client{HTTP: client, Now: now}, now: now}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return a.flavor.Type }

// Flavor tells which platform this adapter speaks to.
func (a *Adapter) Flavor() Flavor { return a.flavor }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Configure checks settings and credentials; on creation it generates the
// webhook verify token when none was given (shown once, kept encrypted).
// The platform is never contacted.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	f := a.flavor
	known := map[string]bool{f.AccountSetting: true, SettingAPIBaseURL: true}
	for _, s := range f.OptionalSettings {
		known[s] = true
	}
	for k := range cfg.Settings {
		if !known[k] {
			return &channel.ValidationError{Field: "settings." + k, Reason: "unknown setting (known: " + joinKeys(f) + ")"}
		}
	}
	for name := range known {
		if name == SettingAPIBaseURL {
			continue
		}
		v, present := cfg.Settings[name]
		if !present && name != f.AccountSetting {
			continue
		}
		s, ok := v.(string)
		if !ok || !idPattern.MatchString(s) {
			reason := "the " + idName(name) + ", a string of digits (as in Meta's console)"
			if name == f.AccountSetting {
				reason = "required: " + reason
			}
			return &channel.ValidationError{Field: "settings." + name, Reason: reason}
		}
	}
	if v, present := cfg.Settings[SettingAPIBaseURL]; present {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if s == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return &channel.ValidationError{Field: "settings." + SettingAPIBaseURL, Reason: "an absolute http(s) URL of the Graph API, e.g. " + meta.DefaultGraphURL}
		}
	}
	for k := range cfg.Credentials {
		switch k {
		case CredentialPageAccessToken, CredentialAppSecret, CredentialVerifyToken:
		default:
			return &channel.ValidationError{Field: "credentials." + k, Reason: "unknown credential (known: page_access_token, app_secret, verify_token)"}
		}
	}
	if cfg.Credentials[CredentialPageAccessToken] == "" {
		return &channel.ValidationError{Field: "credentials." + CredentialPageAccessToken, Reason: "required: the page access token Parley sends with"}
	}
	if cfg.Credentials[CredentialAppSecret] == "" {
		return &channel.ValidationError{Field: "credentials." + CredentialAppSecret, Reason: "required: the Meta app secret that signs webhooks (X-Hub-Signature-256)"}
	}
	if cfg.Credentials[CredentialVerifyToken] == "" {
		if !cfg.Creating {
			return &channel.ValidationError{Field: "credentials." + CredentialVerifyToken, Reason: "the webhook verify token cannot be removed; set a new one instead"}
		}
		tok := secret.RandomToken(f.VerifyTokenPrefix)
		cfg.Credentials[CredentialVerifyToken] = tok
		cfg.Generated[CredentialVerifyToken] = tok
	}
	return nil
}

func idName(setting string) string {
	switch setting {
	case SettingPageID:
		return "Facebook page id"
	case "instagram_account_id":
		return "Instagram professional account id"
	}
	return "platform id"
}

func joinKeys(f Flavor) string {
	s := f.AccountSetting
	for _, o := range f.OptionalSettings {
		s += ", " + o
	}
	return s + ", " + SettingAPIBaseURL
}

// Handshake answers Meta's GET hub.challenge with the verify token.
func (a *Adapter) Handshake(w http.ResponseWriter, r *http.Request, poc *channel.PointOfContact) bool {
	return meta.Handshake(w, r, poc.Credential(CredentialVerifyToken))
}

// Authenticate checks X-Hub-Signature-256 over the raw body.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	return meta.VerifySignature(r, body, poc.Credential(CredentialAppSecret))
}

// Window: 24 h free, then HUMAN_AGENT for people up to 7 days. For a
// contact who never wrote (zero time) both limits lie in the distant past:
// the window is closed, never "absent".
func (a *Adapter) Window(lastInbound time.Time) channel.Window {
	return channel.Window{FreeUntil: lastInbound.Add(StandardWindow), HumanAgentUntil: lastInbound.Add(HumanAgentWindow)}
}

// Proactive: no cold messages on Messenger or Instagram.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// accountID is the page or Instagram account of a point of contact.
func (a *Adapter) accountID(poc *channel.PointOfContact) string {
	return poc.SettingString(a.flavor.AccountSetting)
}

var (
	_ channel.Adapter         = (*Adapter)(nil)
	_ channel.Receiver        = (*Adapter)(nil)
	_ channel.Handshaker      = (*Adapter)(nil)
	_ channel.Sender          = (*Adapter)(nil)
	_ channel.WindowPolicy    = (*Adapter)(nil)
	_ channel.ProactivePolicy = (*Adapter)(nil)
	_ channel.Typer           = (*Adapter)(nil)
)
