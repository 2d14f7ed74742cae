// Package email is the email channel: inbound mail read from an IMAP
// mailbox (IDLE where the server has it, polling otherwise, with a stored
// UID position so nothing is read twice or missed) and received by Parley's
// own SMTP receiver (for forwarding addresses), outbound mail sent through
// the business's SMTP server with correct threading headers, HTML and
// plain-text alternatives, the agent's name and attachments.
//
// Inbound MIME is parsed once (ParseMIME) for both paths: the HTML is
// sanitised, quoted history and signatures are trimmed from the text shown
// to agents (the untouched message is kept as original.eml), attachments
// and inline images are kept, and bounces and auto-replies are marked
// Automated so they never open a case.
//
// Threading, first match wins:
//  1. In-Reply-To, then References newest first, looked up through the
//     core's ThreadResolver (Parley's own outbound Message-IDs included);
//  2. a signed reply token in a plus address (support+<token>@reply_domain)
//     among the recipients; Parley sets it as Reply-To on every message it
//     sends. The token is the 16 bytes of the UUID in Parley's outbound
//     Message-ID plus an HMAC-SHA256 tag (10 bytes) keyed with the point of
//     contact's generated reply_secret credential (see replyKey): it cannot
//     be forged nor moved to another point of contact;
//  3. a reply (Re:/Fwd:… prefix or reply headers) whose normalised subject
//     matches a thread of the same sender active within 30 days;
//  4. else a new thread whose external id is this message's Message-ID.
//
// Message ids (PlatformMessageID, thread ids) are always written in angle
// brackets, "<local@domain>", exactly as Parley writes them in headers.
package email

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/secret"
)

// Type is the channel type identifier.
const Type = "email"

// Setting names of an email point of contact.
const (
	// SettingAddress is the support address customers write to (required).
	SettingAddress = "address"
	// SettingDisplayName is the name shown in From ("Acme Support").
	SettingDisplayName = "display_name"
	// SettingReceive is how mail arrives: "imap", "smtp" (Parley's own
	// receiver, for a forwarding address) or "both".
	SettingReceive = "receive"
	// SettingReplyDomain is the domain of the plus-addressed Reply-To
	// (default: the address's domain).
	SettingReplyDomain = "reply_domain"

	SettingIMAPHost     = "imap_host"
	SettingIMAPPort     = "imap_port"
	SettingIMAPTLS      = "imap_tls" // tls (default), starttls, none
	SettingIMAPUsername = "imap_username"
	SettingIMAPMailbox  = "imap_mailbox" // default INBOX

	SettingSMTPHost     = "smtp_host" // required: where replies are sent
	SettingSMTPPort     = "smtp_port"
	SettingSMTPTLS      = "smtp_tls" // starttls (default), tls, none
	SettingSMTPUsername = "smtp_username"

	// CredentialIMAPPassword logs in to the IMAP server.
	CredentialIMAPPassword = "imap_password"
	// CredentialSMTPPassword authenticates (AUTH PLAIN) to the SMTP server.
	CredentialSMTPPassword = "smtp_password"
	// CredentialReplySecret keys the reply tokens; generated on creation
	// (and whenever missing), never shown.
	CredentialReplySecret = "reply_secret"
)

// Receive modes.
const (
	ReceiveIMAP = "imap"
	ReceiveSMTP = "smtp"
	ReceiveBoth = "both"
)

// TLS modes.
const (
	TLSImplicit = "tls"
	TLSStart    = "starttls"
	TLSNone     = "none"
)

// Defaults and limits.
const (
	DefaultMaxMessageBytes = 25 << 20
	DefaultPollInterval    = 30 * time.Second
	DefaultPointsInterval  = time.Minute
	// SubjectWindow is how far back the subject fallback looks.
	SubjectWindow = 30 * 24 * time.Hour
)

// Options configure the adapter. Every field is optional.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Dial opens the TCP connections to IMAP and SMTP servers (default a
	// net.Dialer with a 30-second timeout). TLS is layered on top.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is the client TLS configuration for IMAP and SMTP (tests
	// trust their own CA here); ServerName is filled in per host.
	TLSConfig *tls.Config
	// HTTPClient fetches outbound attachments from their signed URLs.
	HTTPClient *http.Client
	// SMTPAddr is where Parley's SMTP receiver listens, e.g.
	// "127.0.0.1:2525"; empty (the default) means no receiver.
	SMTPAddr string
	// SMTPListener, when set, is used by the receiver instead of SMTPAddr.
	SMTPListener net.Listener
	// SMTPTLSConfig, when set, lets the receiver offer STARTTLS.
	SMTPTLSConfig *tls.Config
	// Hostname is the name Parley gives in EHLO and the receiver's
	// greeting (default: the host part of each point of contact's address
	// for EHLO, "localhost" for the receiver).
	Hostname string
	// PollInterval is how often a mailbox without IDLE is polled (30 s).
	PollInterval time.Duration
	// IdleRefresh bounds how long an IDLE waits before re-checking the
	// mailbox anyway (default 10 minutes).
	IdleRefresh time.Duration
	// PointsInterval is how often Run re-reads the points of contact (1 min).
	PointsInterval time.Duration
	// DisableIDLE polls even where the server has IDLE.
	DisableIDLE bool
	// MaxMessageBytes bounds one inbound message and the attachments of one
	// outbound message (default 25 MiB).
	MaxMessageBytes int64
	// MaxBackoff caps the reconnection backoff (default 5 minutes).
	MaxBackoff time.Duration
}

// Adapter implements channel.Adapter, Sender, Runner and ProactivePolicy.
type Adapter struct {
	opts Options
}

// What the adapter implements, checked by the compiler.
var (
	_ channel.Adapter         = (*Adapter)(nil)
	_ channel.Sender          = (*Adapter)(nil)
	_ channel.Runner          = (*Adapter)(nil)
	_ channel.ProactivePolicy = (*Adapter)(nil)
)

// New makes the adapter.
func New(opts Options) *Adapter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second}
		opts.Dial = d.DialContext
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.IdleRefresh <= 0 {
		opts.IdleRefresh = 10 * time.Minute
	}
	if opts.PointsInterval <= 0 {
		opts.PointsInterval = DefaultPointsInterval
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	return &Adapter{opts: opts}
}

// Type is the channel type identifier.
func (a *Adapter) Type() string { return Type }

// Proactive: businesses may write first by email.
func (a *Adapter) Proactive() channel.Proactive { return channel.ProactiveAllowed }

func knownSettings() []string {
	return []string{SettingAddress, SettingDisplayName, SettingReceive, SettingReplyDomain,
		SettingIMAPHost, SettingIMAPPort, SettingIMAPTLS, SettingIMAPUsername, SettingIMAPMailbox,
		SettingSMTPHost, SettingSMTPPort, SettingSMTPTLS, SettingSMTPUsername}
}

func knownCredentials() []string {
	return []string{CredentialIMAPPassword, CredentialSMTPPassword, CredentialReplySecret}
}

func invalid(field, reason string) error {
	return &channel.ValidationError{Field: field, Reason: reason}
}

var hostnameRE = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*)$`)

// Configure checks settings and credentials, fills in defaults (ports,
// TLS modes, usernames, mailbox, receive mode, reply domain) and generates
// the reply-token secret when missing. It never contacts the servers.
func (a *Adapter) Configure(ctx context.Context, cfg *channel.Config) error {
	if cfg.Settings == nil {
		cfg.Settings = map[string]any{}
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{}
	}
	s := cfg.Settings
	for k, v := range s {
		if !contains(knownSettings(), k) {
			return invalid("settings."+k, "unknown setting (known: "+strings.Join(knownSettings(), ", ")+")")
		}
		if k == SettingIMAPPort || k == SettingSMTPPort {
			continue
		}
		str, ok := v.(string)
		if !ok {
			return invalid("settings."+k, "must be a string")
		}
		if strings.ContainsAny(str, "\r\n\x00") || len(str) > 255 {
			return invalid("settings."+k, "at most 255 characters on one line")
		}
		s[k] = strings.TrimSpace(str)
	}
	for k, v := range cfg.Credentials {
		if !contains(knownCredentials(), k) {
			return invalid("credentials."+k, "unknown credential (known: "+strings.Join(knownCredentials(), ", ")+")")
		}
		if len(v) > 1024 || strings.ContainsAny(v, "\r\n\x00") {
			return invalid("credentials."+k, "at most 1024 characters on one line")
		}
	}

	addr := str(s, SettingAddress)
	parsed, err := mail.ParseAddress(addr)
	if addr == "" || err != nil || parsed.Name != "" || !strings.Contains(parsed.Address, "@") || parsed.Address != addr {
		return invalid("settings."+SettingAddress, "required: the support address customers write to, e.g. support@example.com")
	}
	addr = strings.ToLower(parsed.Address)
	s[SettingAddress] = addr
	local, domain := splitAddress(addr)
	if strings.Contains(local, "+") {
		return invalid("settings."+SettingAddress, "must not itself contain a + (Parley adds +<token> for replies)")
	}
	if len(str(s, SettingDisplayName)) > 100 {
		return invalid("settings."+SettingDisplayName, "at most 100 characters")
	}
	rd := strings.ToLower(str(s, SettingReplyDomain))
	if rd == "" {
		rd = domain
	}
	if !hostnameRE.MatchString(rd) {
		return invalid("settings."+SettingReplyDomain, "a domain name, e.g. example.com")
	}
	s[SettingReplyDomain] = rd

	recv := str(s, SettingReceive)
	if recv == "" {
		recv = ReceiveSMTP
		if str(s, SettingIMAPHost) != "" {
			recv = ReceiveIMAP
		}
	}
	switch recv {
	case ReceiveIMAP, ReceiveSMTP, ReceiveBoth:
	default:
		return invalid("settings."+SettingReceive, `one of "imap", "smtp" (Parley's receiver) or "both"`)
	}
	s[SettingReceive] = recv

	if recv == ReceiveSMTP {
		for _, k := range []string{SettingIMAPHost, SettingIMAPPort, SettingIMAPTLS, SettingIMAPUsername, SettingIMAPMailbox} {
			if _, ok := s[k]; ok {
				return invalid("settings."+k, `set but receive is "smtp": use receive "imap" or "both", or remove the IMAP settings`)
			}
		}
		if cfg.Credentials[CredentialIMAPPassword] != "" {
			return invalid("credentials."+CredentialIMAPPassword, `set but receive is "smtp": use receive "imap" or "both", or remove it`)
		}
	} else {
		if err := configureServer(s, "imap", TLSImplicit, map[string]int{TLSImplicit: 993, TLSStart: 143, TLSNone: 143}); err != nil {
			return err
		}
		if str(s, SettingIMAPUsername) == "" {
			s[SettingIMAPUsername] = addr
		}
		if cfg.Credentials[CredentialIMAPPassword] == "" {
			return invalid("credentials."+CredentialIMAPPassword, "required to read the mailbox over IMAP")
		}
		if str(s, SettingIMAPMailbox) == "" {
			s[SettingIMAPMailbox] = "INBOX"
		}
	}

	if str(s, SettingSMTPHost) == "" {
		return invalid("settings."+SettingSMTPHost, "required: the SMTP server Parley sends replies through, e.g. smtp.example.com")
	}
	if err := configureServer(s, "smtp", TLSStart, map[string]int{TLSImplicit: 465, TLSStart: 587, TLSNone: 25}); err != nil {
		return err
	}
	user, pass := str(s, SettingSMTPUsername), cfg.Credentials[CredentialSMTPPassword]
	switch {
	case user != "" && pass == "":
		return invalid("credentials."+CredentialSMTPPassword, "required when smtp_username is set")
	case user == "" && pass != "":
		return invalid("settings."+SettingSMTPUsername, "required when smtp_password is set")
	}

	if cfg.Credentials[CredentialReplySecret] == "" {
		cfg.Credentials[CredentialReplySecret] = secret.RandomToken("ers_")
	}
	return nil
}

// configureServer checks host, port and TLS mode of the IMAP or SMTP side.
func configureServer(s map[string]any, proto, defTLS string, defPorts map[string]int) error {
	host := strings.ToLower(str(s, proto+"_host"))
	if host == "" || !hostnameRE.MatchString(host) {
		return invalid("settings."+proto+"_host", "required: the "+strings.ToUpper(proto)+" server's host name, without scheme or port")
	}
	s[proto+"_host"] = host
	mode := str(s, proto+"_tls")
	if mode == "" {
		mode = defTLS
	}
	if mode != TLSImplicit && mode != TLSStart && mode != TLSNone {
		return invalid("settings."+proto+"_tls", `one of "tls" (implicit TLS), "starttls" or "none"`)
	}
	s[proto+"_tls"] = mode
	if mode == TLSNone && !isLoopback(host) && (proto == "imap" || str(s, SettingSMTPUsername) != "") {
		return invalid("settings."+proto+"_tls", `"none" would send the password in clear: only allowed for a server on this machine`)
	}
	port, ok := intSetting(s[proto+"_port"])
	if !ok {
		return invalid("settings."+proto+"_port", "a TCP port number, 1–65535")
	}
	if port == 0 {
		port = defPorts[mode]
	}
	s[proto+"_port"] = port
	return nil
}

func isLoopback(host string) bool {
	h := strings.Trim(host, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// intSetting reads a port given as a JSON number or a numeric string; 0
// when absent.
func intSetting(v any) (int, bool) {
	var n int
	switch x := v.(type) {
	case nil:
		return 0, true
	case float64:
		if x != float64(int(x)) {
			return 0, false
		}
		n = int(x)
	case int:
		n = x
	case int64:
		n = int(x)
	case string:
		if x == "" {
			return 0, true
		}
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, false
		}
		n = i
	default:
		return 0, false
	}
	return n, n >= 1 && n <= 65535
}

func str(s map[string]any, k string) string {
	v, _ := s[k].(string)
	return v
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// splitAddress splits local@domain at the last @.
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// config is a point of contact's settings, read once per use.
type config struct {
	pocID       string
	address     string
	local       string
	domain      string
	displayName string
	replyDomain string
	receive     string
	imapHost    string
	imapPort    int
	imapTLS     string
	imapUser    string
	imapPass    string
	mailbox     string
	smtpHost    string
	smtpPort    int
	smtpTLS     string
	smtpUser    string
	smtpPass    string
	key         []byte // reply-token key, nil when none can be derived
}

func readConfig(poc *channel.PointOfContact) config {
	s := poc.Settings
	c := config{
		pocID:       poc.ID,
		address:     strings.ToLower(str(s, SettingAddress)),
		displayName: str(s, SettingDisplayName),
		replyDomain: strings.ToLower(str(s, SettingReplyDomain)),
		receive:     str(s, SettingReceive),
		imapHost:    str(s, SettingIMAPHost),
		imapTLS:     str(s, SettingIMAPTLS),
		imapUser:    str(s, SettingIMAPUsername),
		imapPass:    poc.Credential(CredentialIMAPPassword),
		mailbox:     str(s, SettingIMAPMailbox),
		smtpHost:    str(s, SettingSMTPHost),
		smtpTLS:     str(s, SettingSMTPTLS),
		smtpUser:    str(s, SettingSMTPUsername),
		smtpPass:    poc.Credential(CredentialSMTPPassword),
	}
	c.local, c.domain = splitAddress(c.address)
	if c.replyDomain == "" {
		c.replyDomain = c.domain
	}
	if c.receive == "" {
		c.receive = ReceiveSMTP
		if c.imapHost != "" {
			c.receive = ReceiveIMAP
		}
	}
	c.imapPort, _ = intSetting(s[SettingIMAPPort])
	if c.imapTLS == "" {
		c.imapTLS = TLSImplicit
	}
	if c.imapPort == 0 {
		c.imapPort = map[string]int{TLSImplicit: 993, TLSStart: 143, TLSNone: 143}[c.imapTLS]
	}
	if c.imapUser == "" {
		c.imapUser = c.address
	}
	if c.mailbox == "" {
		c.mailbox = "INBOX"
	}
	c.smtpPort, _ = intSetting(s[SettingSMTPPort])
	if c.smtpTLS == "" {
		c.smtpTLS = TLSStart
	}
	if c.smtpPort == 0 {
		c.smtpPort = map[string]int{TLSImplicit: 465, TLSStart: 587, TLSNone: 25}[c.smtpTLS]
	}
	c.key = replyKey(poc)
	return c
}

func (c config) receivesIMAP() bool { return c.receive == ReceiveIMAP || c.receive == ReceiveBoth }
func (c config) receivesSMTP() bool { return c.receive == ReceiveSMTP || c.receive == ReceiveBoth }
