// Package teams is the Microsoft Teams adapter, through the Bot Framework
// (CHANNELS.md §10): activities POSTed by the Bot Connector with a JWT that
// Microsoft signs (validated against the keys of the Bot Framework's OpenID
// metadata), replies POSTed back to the conversation at the activity's
// serviceUrl with a client-credentials token, and Adaptive Cards and
// suggested actions for Parley's rich content (RenderNative).
//
// # Where replies go
//
// The Bot Connector tells the bot, with every activity, the serviceUrl to
// answer that conversation at; it differs per region and cloud and may
// change. The outbound pipeline only hands a Sender the thread's external id
// and the platform ids of the thread's messages, so the adapter keeps the
// serviceUrl where it survives a restart and follows a change: in the
// platform id of every inbound message, "<activity id>|<conversation id>|
// <serviceUrl>" (the platform id is also the dedupe key, so a retried
// activity is still recognised: conversation and activity id are in it). A
// send takes the serviceUrl of the thread's latest inbound message
// (OutboundMessage.LastInboundPlatformID), as Microsoft recommends, then
// any older one, then what this process saw last. The thread id stays the
// bare conversation id, so a serviceUrl change never splits a thread.
//
// Before any request carries the bot's token, the serviceUrl must be on the
// point of contact's allow-list (settings.service_url_allowlist): a forged
// or misrouted serviceUrl never receives a bearer token.
//
// internal/channel/teams/fake is a local Bot Framework (OpenID metadata and
// keys, token endpoint, Bot Connector) to test it against.
package teams

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

// Type is the channel type identifier.
const Type = "teams"

// Setting and credential names of a Teams point of contact.
const (
	// CredentialAppID is the bot's Microsoft App ID (a GUID): the audience
	// of the tokens Microsoft sends, and the client id of ours.
	CredentialAppID = "app_id"
	// CredentialAppPassword is the app registration's client secret.
	CredentialAppPassword = "app_password"

	// SettingOpenIDMetadataURL overrides the Bot Framework's OpenID
	// metadata (whose jwks_uri lists the keys that sign inbound tokens).
	SettingOpenIDMetadataURL = "openid_metadata_url"
	// SettingTokenURL overrides the token endpoint of the client
	// credentials grant (a single-tenant bot sets its tenant's endpoint).
	SettingTokenURL = "token_url"
	// SettingServiceURLAllowlist lists where replies may be sent: host
	// names ("smba.trafficmanager.net"), "*.domain" for any host under a
	// domain (both https on the default port), or URL prefixes
	// ("http://127.0.0.1:8080/amer/", for a local fake). A JSON array of
	// strings or one comma-separated string.
	SettingServiceURLAllowlist = "service_url_allowlist"
)

// Defaults: Microsoft's public cloud.
const (
	DefaultOpenIDMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	DefaultTokenURL          = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
	// Issuer is the "iss" of every token the Bot Connector sends.
	Issuer = "https://api.botframework.com"
	// Scope is what the bot's own token is asked for.
	Scope = "https://api.botframework.com/.default"
)

// DefaultServiceURLAllowlist is where Microsoft's Bot Connector answers:
// Teams in the public cloud (smba.trafficmanager.net, all regions and the
// global /teams/ endpoint), Teams in GCC, and the Bot Framework's own
// channels. Deliberately not "*.trafficmanager.net" (anyone can name an
// Azure Traffic Manager profile there) nor "smba.*" (smba.example.org is
// anyone's).
func DefaultServiceURLAllowlist() []string {
	return []string{"smba.trafficmanager.net", "smba.infra.gcc.teams.microsoft.com", "*.botframework.com"}
}

// Limits and policies.
const (
	// MaxAttachments is the most files one outbound activity carries.
	MaxAttachments = 10
	// SendRate is the Bot Connector's documented ceiling per bot and
	// tenant (about 50 requests a second); a conversation's own, lower
	// limits (7 a second) are met by the 429 retry hints.
	SendRate = 50
	// SendBurst is how many messages may go at once.
	SendBurst = 10
)

// Adapter implements channel.Adapter, Receiver, Sender, MediaFetcher,
// Typer, ProactivePolicy, AttachmentPolicy and RateLimiter, and renders
// rich content natively (RenderNative).
type Adapter struct {
	client *http.Client
	now    func() time.Time

	keys    *keyCache
	tokens  *tokenCache
	service *serviceURLCache
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter          = (*Adapter)(nil)
	_ channel.Receiver         = (*Adapter)(nil)
	_ channel.Sender           = (*Adapter)(nil)
	_ channel.MediaFetcher     = (*Adapter)(nil)
	_ channel.Typer            = (*Adapter)(nil)
	_ channel.ProactivePolicy  = (*Adapter)(nil)
	_ channel.AttachmentPolicy = (*Adapter)(nil)
	_ channel.RateLimiter      = (*Adapter)(nil)
)

// New makes the adapter. client carries the timeout of every call to
// Microsoft (keys, tokens, sends, media); nil means a 30-second one. now is
// the clock of token validation and of the caches (nil: time.Now).
func New(client *http.Client, now func() time.Time) *Adapter {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Adapter{client: client, now: now, keys: newKeyCache(), tokens: newTokenCache(), service: newServiceURLCache()}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return Type }

// Proactive: a bot may only write first with a stored conversation
// reference (and, for a new chat, the user's tenant and an installed app),
// which Parley does not keep: replies only.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveNever }

// MaxAttachments is the most files one message carries.
func (a *Adapter) MaxAttachments() int { return MaxAttachments }

// RateLimit paces sends per point of contact.
func (a *Adapter) RateLimit() channel.Rate {
	return channel.Rate{PerSecond: SendRate, Burst: SendBurst}
}

var appIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

// Configure checks the credentials and settings; it never calls Microsoft.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	known := []string{SettingOpenIDMetadataURL, SettingTokenURL, SettingServiceURLAllowlist}
	for k, v := range cfg.Settings {
		switch k {
		case SettingOpenIDMetadataURL, SettingTokenURL:
			s, ok := v.(string)
			if !ok {
				return invalid("settings."+k, "must be a string")
			}
			s = strings.TrimSpace(s)
			if s == "" {
				delete(cfg.Settings, k)
				continue
			}
			if !httpURL(s) {
				def := DefaultOpenIDMetadataURL
				if k == SettingTokenURL {
					def = DefaultTokenURL
				}
				return invalid("settings."+k, "an absolute http(s) URL, e.g. "+def)
			}
			cfg.Settings[k] = s
		case SettingServiceURLAllowlist:
			entries, err := allowlistValues(v)
			if err != nil {
				return invalid("settings."+k, err.Error())
			}
			if len(entries) == 0 {
				delete(cfg.Settings, k)
				continue
			}
			stored := make([]any, len(entries))
			for i, e := range entries {
				if _, err := parseAllowEntry(e); err != nil {
					return invalid("settings."+k, err.Error())
				}
				stored[i] = e
			}
			cfg.Settings[k] = stored
		default:
			return invalid("settings."+k, "unknown setting (known: "+strings.Join(known, ", ")+")")
		}
	}
	for k := range cfg.Credentials {
		if k != CredentialAppID && k != CredentialAppPassword {
			return invalid("credentials."+k, "unknown credential (known: "+CredentialAppID+", "+CredentialAppPassword+")")
		}
	}
	id := strings.TrimSpace(cfg.Credentials[CredentialAppID])
	if !appIDPattern.MatchString(id) {
		return invalid("credentials."+CredentialAppID, "required: the bot's Microsoft App ID, a GUID like 00000000-0000-0000-0000-000000000000 (Azure Bot → Configuration)")
	}
	cfg.Credentials[CredentialAppID] = strings.ToLower(id)
	pw := cfg.Credentials[CredentialAppPassword]
	if strings.TrimSpace(pw) == "" {
		return invalid("credentials."+CredentialAppPassword, "required: a client secret of the bot's app registration (Certificates & secrets)")
	}
	if len(pw) > 1024 || strings.TrimSpace(pw) != pw {
		return invalid("credentials."+CredentialAppPassword, "at most 1024 characters, without surrounding spaces")
	}
	return nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.Fragment == "" && len(s) <= 2048
}

func metadataURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingOpenIDMetadataURL); s != "" {
		return s
	}
	return DefaultOpenIDMetadataURL
}

func tokenURL(poc *channel.PointOfContact) string {
	if s := poc.SettingString(SettingTokenURL); s != "" {
		return s
	}
	return DefaultTokenURL
}

// appID is the point of contact's App ID as Configure normalised it.
func appID(poc *channel.PointOfContact) string {
	return strings.ToLower(strings.TrimSpace(poc.Credential(CredentialAppID)))
}

// serviceURLCache remembers the last serviceUrl seen per conversation, for
// what has no platform id to read it from (typing indicators). It is
// bounded: when full it starts over (the platform ids are the durable copy).
type serviceURLCache struct {
	mu sync.Mutex
	m  map[string]string
}

const maxCachedConversations = 10_000

func newServiceURLCache() *serviceURLCache { return &serviceURLCache{m: map[string]string{}} }

func (c *serviceURLCache) put(pocID, conversationID, serviceURL string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedConversations {
		c.m = map[string]string{}
	}
	c.m[pocID+"\x00"+conversationID] = serviceURL
}

func (c *serviceURLCache) get(pocID, conversationID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[pocID+"\x00"+conversationID]
}

// allowEntry is one parsed entry of the serviceUrl allow-list.
type allowEntry struct {
	// A URL prefix: scheme, host (with port) and path prefix.
	scheme, host, path string
	// A host pattern (https, default port): an exact host, or with
	// wildcard any host ending in "."+host.
	pattern  string
	wildcard bool
}

var hostPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

func parseAllowEntry(s string) (allowEntry, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return allowEntry{}, fmt.Errorf("%q: a URL prefix must be an absolute http(s) URL without query, like https://smba.trafficmanager.net/amer/", s)
		}
		return allowEntry{scheme: u.Scheme, host: strings.ToLower(u.Host), path: withSlash(u.EscapedPath())}, nil
	}
	h := strings.ToLower(s)
	wild := strings.HasPrefix(h, "*.")
	if wild {
		h = h[2:]
	}
	if !hostPattern.MatchString(h) || (wild && !strings.Contains(h, ".")) {
		return allowEntry{}, fmt.Errorf("%q: a host name (smba.trafficmanager.net), \"*.\" and a domain of at least two labels (*.botframework.com), or a URL prefix; no other wildcard", s)
	}
	return allowEntry{pattern: h, wildcard: wild}, nil
}

func withSlash(p string) string {
	if !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}

func (e allowEntry) allows(u *url.URL) bool {
	if e.pattern != "" {
		if u.Scheme != "https" || (u.Port() != "" && u.Port() != "443") {
			return false
		}
		h := strings.ToLower(u.Hostname())
		if e.wildcard {
			return strings.HasSuffix(h, "."+e.pattern)
		}
		return h == e.pattern
	}
	return u.Scheme == e.scheme && strings.ToLower(u.Host) == e.host && strings.HasPrefix(withSlash(u.EscapedPath()), e.path)
}

// allowlistValues reads the setting as stored (a JSON array) or as an admin
// may type it (one comma- or space-separated string).
func allowlistValues(v any) ([]string, error) {
	var out []string
	switch t := v.(type) {
	case nil:
	case string:
		out = strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	case []string:
		out = append(out, t...)
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("a list of strings")
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("a list of host names or URL prefixes")
	}
	clean := out[:0]
	for _, s := range out {
		if s = strings.TrimSpace(s); s != "" {
			clean = append(clean, s)
		}
	}
	if len(clean) > 50 {
		return nil, fmt.Errorf("at most 50 entries")
	}
	return clean, nil
}

// allowlist is the point of contact's allow-list, or the default.
func allowlist(poc *channel.PointOfContact) []allowEntry {
	vals, err := allowlistValues(poc.Settings[SettingServiceURLAllowlist])
	if err != nil || len(vals) == 0 {
		vals = DefaultServiceURLAllowlist()
	}
	var out []allowEntry
	for _, v := range vals {
		if e, err := parseAllowEntry(v); err == nil {
			out = append(out, e)
		}
	}
	return out
}

// allowedURL reports whether a URL may receive the bot's token.
func allowedURL(poc *channel.PointOfContact, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	for _, e := range allowlist(poc) {
		if e.allows(u) {
			return true
		}
	}
	return false
}

// allowlistText lists the effective allow-list for error messages.
func allowlistText(poc *channel.PointOfContact) string {
	vals, err := allowlistValues(poc.Settings[SettingServiceURLAllowlist])
	if err != nil || len(vals) == 0 {
		vals = DefaultServiceURLAllowlist()
	}
	vals = append([]string(nil), vals...)
	sort.Strings(vals)
	return strings.Join(vals, ", ")
}
