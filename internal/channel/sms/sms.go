// Package sms is the SMS/MMS adapter for Twilio's Programmable Messaging
// API and compatible providers (CHANNELS.md §14): form-encoded webhooks
// verified by X-Twilio-Signature, inbound SMS and MMS (media fetched by the
// core with the account's Basic credentials), status callbacks as delivery
// receipts, the STOP/START opt-out keywords, sends through the Messages
// resource with a status callback, and the segment count (GSM-7 or UCS-2)
// an agent sees before sending.
//
// SMS may start conversations (ProactiveAllowed): collecting and keeping
// the customer's consent is the business's duty, Parley only honours the
// opt-out keywords.
//
// internal/channel/sms/fake is a local Twilio API to test it against.
package sms

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
const Type = "sms"

// Setting and credential names of an SMS point of contact.
const (
	// SettingAccountSID is the Twilio account (AC…) that sends and whose
	// webhooks arrive (required).
	SettingAccountSID = "account_sid"
	// SettingFromNumber is the sender: an E.164 number (+14155550100), a
	// short code or an alphanumeric sender id. This or
	// SettingMessagingServiceSID is required; with both, Twilio sends from
	// this number, which must belong to the service.
	SettingFromNumber = "from_number"
	// SettingMessagingServiceSID is a Messaging Service (MG…) that picks
	// the sender from its pool.
	SettingMessagingServiceSID = "messaging_service_sid"
	// SettingAPIBaseURL overrides https://api.twilio.com (the fake, the
	// sandbox, a Twilio-compatible provider).
	SettingAPIBaseURL = "api_base_url"
	// SettingStatusCallbackURL is sent as StatusCallback with every message
	// (normally this point of contact's webhook URL); empty: none is sent
	// and the messages never move past "sent".
	SettingStatusCallbackURL = "status_callback_url"
	// SettingWebhookURL is the exact public URL configured in Twilio for
	// incoming messages: signatures are checked against it. Empty: the URL
	// of the request as received (behind a proxy that rewrites the host or
	// scheme, set it).
	SettingWebhookURL = "webhook_url"

	// CredentialAuthToken is the account's auth token: Basic auth password
	// for the API and media, and the key that signs webhooks.
	CredentialAuthToken = "auth_token"
)

// DefaultAPIBaseURL is Twilio's REST API.
const DefaultAPIBaseURL = "https://api.twilio.com"

// Limits of the Messages API (CHANNELS.md §14).
const (
	// MaxBodyLength is the longest Body Twilio accepts, in characters;
	// longer ones are refused at send time (the agent sees the segment
	// count before sending).
	MaxBodyLength = 1600
	// MaxMedia is the most MediaUrl values one message may carry, and the
	// most media one inbound MMS has.
	MaxMedia = 10
)

// Adapter implements channel.Adapter, Receiver, Responder, Sender,
// SegmentCounter and ProactivePolicy.
type Adapter struct {
	client *http.Client
	now    func() time.Time
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter         = (*Adapter)(nil)
	_ channel.Receiver        = (*Adapter)(nil)
	_ channel.Responder       = (*Adapter)(nil)
	_ channel.Sender          = (*Adapter)(nil)
	_ channel.SegmentCounter  = (*Adapter)(nil)
	_ channel.ProactivePolicy = (*Adapter)(nil)
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

// Proactive: SMS may start a conversation; consent is the business's duty.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveAllowed }

// AuthFailureStatus is the status of a request whose signature is wrong:
// 403, as Twilio's own SDKs answer.
func (a *Adapter) AuthFailureStatus() int { return http.StatusForbidden }

var (
	accountSID          = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	messagingServiceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164                = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	shortCode           = regexp.MustCompile(`^[0-9]{3,8}$`)
	alphanumericSender  = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

func knownSettings() []string {
	return []string{SettingAccountSID, SettingFromNumber, SettingMessagingServiceSID, SettingAPIBaseURL, SettingStatusCallbackURL, SettingWebhookURL}
}

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks the settings and the auth token; it never calls Twilio.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	known := knownSettings()
	for k, v := range cfg.Settings {
		if !contains(known, k) {
			return invalid("settings."+k, "unknown setting (known: "+strings.Join(known, ", ")+")")
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
	str := func(k string) string { s, _ := cfg.Settings[k].(string); return s }
	if !accountSID.MatchString(str(SettingAccountSID)) {
		return invalid("settings."+SettingAccountSID, "required: the Twilio Account SID (AC followed by 32 hexadecimal digits, on the Twilio Console's dashboard)")
	}
	from, service := str(SettingFromNumber), str(SettingMessagingServiceSID)
	if from == "" && service == "" {
		return invalid("settings."+SettingFromNumber, "required (or settings."+SettingMessagingServiceSID+"): the number Parley sends from, in E.164 form like +14155550100")
	}
	if from != "" && !validSender(from) {
		return invalid("settings."+SettingFromNumber, "an E.164 number like +14155550100, a short code, or an alphanumeric sender id of at most 11 letters, digits and spaces")
	}
	if service != "" && !messagingServiceSID.MatchString(service) {
		return invalid("settings."+SettingMessagingServiceSID, "a Messaging Service SID: MG followed by 32 hexadecimal digits")
	}
	if s := str(SettingAPIBaseURL); s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return invalid("settings."+SettingAPIBaseURL, "an absolute http(s) URL without query, e.g. "+DefaultAPIBaseURL)
		}
		cfg.Settings[SettingAPIBaseURL] = strings.TrimRight(s, "/")
	}
	for _, k := range []string{SettingStatusCallbackURL, SettingWebhookURL} {
		if s := str(k); s != "" {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil || len(s) > 2048 {
				return invalid("settings."+k, "an absolute http(s) URL: this point of contact's webhook URL as Twilio calls it")
			}
		}
	}
	for k := range cfg.Credentials {
		if k != CredentialAuthToken {
			return invalid("credentials."+k, "unknown credential (known: "+CredentialAuthToken+")")
		}
	}
	tok := cfg.Credentials[CredentialAuthToken]
	if strings.TrimSpace(tok) == "" {
		return invalid("credentials."+CredentialAuthToken, "required: the account's Auth Token (Twilio Console → Account Info); it also signs Twilio's webhooks")
	}
	if len(tok) > 256 || strings.TrimSpace(tok) != tok {
		return invalid("credentials."+CredentialAuthToken, "at most 256 characters, without surrounding spaces")
	}
	return nil
}

func validSender(s string) bool {
	if strings.HasPrefix(s, "+") {
		return e164.MatchString(s)
	}
	if shortCode.MatchString(s) {
		return true
	}
	// An alphanumeric sender id needs at least one letter.
	return alphanumericSender.MatchString(s) && strings.ContainsFunc(s, func(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }) && strings.TrimSpace(s) == s
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
