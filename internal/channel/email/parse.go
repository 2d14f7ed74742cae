package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers the common charsets with go-message (its documented way)
	"github.com/emersion/go-message/mail"
	"github.com/microcosm-cc/bluemonday"
	"github.com/parleyhq/parley/internal/channel"
)

// Limits of the parser.
const (
	// MaxTextLength bounds the text shown to agents (the whole message is
	// in original.eml).
	MaxTextLength = 64 << 10
	// MaxHTMLLength bounds the kept sanitised HTML; longer HTML is dropped
	// (the text and original.eml remain).
	MaxHTMLLength = 1 << 20
	maxDepth      = 16
	maxParts      = 200
	maxBodyPart   = 4 << 20 // text/html body parts read for display
	maxIDLength   = 250
	maxRefs       = 100
)

// OriginalName is the attachment holding the untouched message.
const OriginalName = "original.eml"

// ErrNoSender is a message without a usable From address.
var ErrNoSender = errors.New("email: no sender address")

// Message is one parsed email: its canonical event (ThreadID not yet set)
// and what threading needs.
type Message struct {
	Event channel.InboundEvent
	// InReplyTo is the first id of In-Reply-To, in angle brackets.
	InReplyTo string
	// References are the ids of References, oldest first, in angle brackets
	// (for a bounce, the bounced message's id is added).
	References []string
	// Recipients are the lower-cased addresses of To, Cc, Delivered-To,
	// X-Original-To and Envelope-To.
	Recipients []string
	// FullText is the text before quoted history was trimmed.
	FullText string
	// Dropped lists attachments left out (too large, executable, empty).
	Dropped []string
}

// ParseMIME parses a raw RFC 5322 message with the default limits. It
// never panics; it fails only when the header cannot be read or no sender
// address is found.
func ParseMIME(raw []byte) (*Message, error) {
	return parseMIME(raw, DefaultMaxMessageBytes)
}

type parser struct {
	maxAttachment int64
	plain, html   strings.Builder
	atts          []channel.InboundAttachment
	dropped       []string
	parts         int
	report        bool
	reportIDs     []string
}

func parseMIME(raw []byte, maxAttachment int64) (*Message, error) {
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: 1 << 20})
	if err != nil && e == nil {
		return nil, fmt.Errorf("email: unreadable header: %w", err)
	}
	h := mail.Header{Header: e.Header}
	m := &Message{Event: channel.InboundEvent{Kind: channel.EventMessage}}
	ev := &m.Event

	from := addresses(h, "From")
	if len(from) == 0 {
		from = addresses(h, "Sender")
	}
	if len(from) == 0 {
		return nil, ErrNoSender
	}
	ev.AuthorID = from[0].Address
	ev.AuthorName = clip(oneLine(from[0].Name), 200)

	subj, err := h.Subject()
	if err != nil {
		subj = h.Get("Subject")
	}
	ev.Subject = clip(oneLine(subj), 998)

	ids := msgIDs(h.Get("Message-Id"))
	if len(ids) > 0 {
		ev.PlatformMessageID = ids[0]
	} else {
		sum := sha256.Sum256(raw)
		ev.PlatformMessageID = "<" + hex.EncodeToString(sum[:]) + "@parley.missing>"
	}
	if irt := msgIDs(h.Get("In-Reply-To")); len(irt) > 0 {
		m.InReplyTo = irt[0]
		ev.ReplyToPlatformID = irt[0]
	}
	m.References = msgIDs(h.Get("References"))
	if d, err := h.Date(); err == nil && d.Year() > 1990 && d.Year() < 3000 {
		ev.SentAt = d.UTC()
	}
	for _, k := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"} {
		for _, a := range addresses(h, k) {
			m.Recipients = append(m.Recipients, a.Address)
		}
	}
	ev.Automated = isAutomated(h, ev.AuthorID, ev.Subject)

	p := &parser{maxAttachment: maxAttachment}
	p.walk(e, 0)
	if p.report {
		ev.Automated = true
		m.References = append(m.References, p.reportIDs...)
	}
	if len(m.References) > maxRefs {
		m.References = m.References[len(m.References)-maxRefs:]
	}

	plain := strings.TrimSpace(normaliseNewlines(toUTF8(p.plain.String())))
	if html := toUTF8(p.html.String()); strings.TrimSpace(html) != "" {
		clean := sanitize(html)
		if plain == "" {
			plain = strings.TrimSpace(htmlToText(clean))
		}
		if len(clean) <= MaxHTMLLength {
			ev.HTML = clean
		}
	}
	m.FullText = plain
	text := trimQuoted(plain)
	if len(p.dropped) > 0 {
		text = strings.TrimSpace(text + "\n\n[Attachments not kept: " + strings.Join(p.dropped, ", ") + "]")
	}
	if len(text) > MaxTextLength {
		text = clip(text, MaxTextLength-len(" […]")) + " […]"
	}
	ev.Text = text
	m.Dropped = p.dropped
	ev.Attachments = p.atts
	if int64(len(raw)) <= maxAttachment {
		ev.Attachments = append(ev.Attachments, channel.InboundAttachment{Data: raw, MimeType: "message/rfc822", Name: OriginalName})
	}
	if ev.Text == "" && len(ev.Attachments) == 0 {
		ev.Text = "(empty message)"
	}
	return m, nil
}

// walk visits an entity and its parts, collecting text, HTML and files.
func (p *parser) walk(e *message.Entity, depth int) {
	p.parts++
	if depth > maxDepth || p.parts > maxParts {
		return
	}
	ct, params, err := e.Header.ContentType()
	if err != nil || ct == "" {
		ct = "text/plain"
	}
	if strings.HasPrefix(ct, "multipart/") {
		if ct == "multipart/report" {
			p.report = true
		}
		mr := e.MultipartReader()
		if mr == nil {
			return
		}
		for p.parts <= maxParts {
			part, err := mr.NextPart()
			if part == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
				return
			}
			p.walk(part, depth+1)
		}
		return
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	name := filename(e, params, dparams)
	cid := strings.Trim(strings.TrimSpace(e.Header.Get("Content-Id")), "<>")
	isBody := disp != "attachment" && name == "" && (ct == "text/plain" || ct == "text/html")
	if isBody {
		body, _ := io.ReadAll(io.LimitReader(e.Body, maxBodyPart))
		if ct == "text/plain" {
			if p.plain.Len() > 0 {
				p.plain.WriteString("\n")
			}
			p.plain.Write(body)
		} else {
			p.html.Write(body)
		}
		return
	}
	if p.report && (ct == "message/rfc822" || ct == "text/rfc822-headers" || ct == "message/rfc822-headers") {
		if inner, err := message.Read(e.Body); inner != nil && (err == nil || message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)) {
			p.reportIDs = append(p.reportIDs, msgIDs(inner.Header.Get("Message-Id"))...)
		}
		return
	}
	if p.report && ct == "message/delivery-status" {
		return
	}
	if name == "" {
		switch {
		case cid != "":
			name = cid
		case ct == "message/rfc822":
			name = "message.eml"
		default:
			name = "attachment"
		}
	}
	name = clip(oneLine(name), 255)
	data, err := io.ReadAll(io.LimitReader(e.Body, p.maxAttachment+1))
	switch {
	case int64(len(data)) > p.maxAttachment:
		p.dropped = append(p.dropped, name+" (too large)")
	case len(data) == 0 && err == nil:
		// nothing to keep
	case len(data) == 0:
		p.dropped = append(p.dropped, name+" (unreadable)")
	case executable(ct, data):
		p.dropped = append(p.dropped, name+" (executable)")
	default:
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			ct = "application/octet-stream"
		}
		p.atts = append(p.atts, channel.InboundAttachment{Data: data, MimeType: ct, Name: name})
	}
}

func filename(e *message.Entity, params, dparams map[string]string) string {
	ah := mail.AttachmentHeader{Header: e.Header}
	if n, err := ah.Filename(); err == nil && n != "" {
		return n
	}
	if n := dparams["filename"]; n != "" {
		return n
	}
	if n := params["name"]; n != "" {
		if dec, err := (&mime.WordDecoder{CharsetReader: message.CharsetReader}).DecodeHeader(n); err == nil {
			return dec
		}
		return n
	}
	return ""
}

// blockedTypes and executableMagic mirror what the core refuses to store,
// so one executable attachment does not make the whole message fail.
var blockedTypes = map[string]bool{
	"application/x-msdownload": true, "application/x-msdos-program": true, "application/x-executable": true,
	"application/x-sh": true, "application/x-bat": true, "application/x-msi": true, "application/java-archive": true,
	"application/vnd.microsoft.portable-executable": true, "application/x-elf": true, "application/x-mach-binary": true,
	"application/x-dosexec": true, "text/x-shellscript": true, "application/hta": true,
}

var executableMagic = [][]byte{[]byte("MZ"), []byte("\x7fELF"), []byte("#!"), {0xcf, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xcf}, {0xca, 0xfe, 0xba, 0xbe}}

func executable(ct string, data []byte) bool {
	if blockedTypes[ct] {
		return true
	}
	for _, magic := range executableMagic {
		if bytes.HasPrefix(data, magic) {
			return true
		}
	}
	return false
}

// addresses reads an address header leniently: when the list does not
// parse, bare addresses are picked out of it.
func addresses(h mail.Header, key string) []*mail.Address {
	var out []*mail.Address
	list, err := h.AddressList(key)
	if err == nil {
		for _, a := range list {
			if a != nil && validAddress(a.Address) {
				a.Address = strings.ToLower(a.Address)
				out = append(out, a)
			}
		}
		return out
	}
	for _, v := range h.Values(key) {
		for _, s := range bareAddressRE.FindAllString(v, 10) {
			if validAddress(s) {
				out = append(out, &mail.Address{Address: strings.ToLower(s)})
			}
		}
	}
	return out
}

var bareAddressRE = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?`)

func validAddress(s string) bool {
	if len(s) > 254 || !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n<>\x00") {
		return false
	}
	local, domain := splitAddress(s)
	return local != "" && domain != ""
}

var msgIDRE = regexp.MustCompile(`<[^<>\s]{1,248}>`)

// msgIDs extracts the <id> tokens of a Message-ID, In-Reply-To or
// References header, tolerating the broken lists some clients write. A
// header with a single id without brackets is accepted too.
func msgIDs(v string) []string {
	found := msgIDRE.FindAllString(v, 1000)
	if len(found) == 0 {
		if t := strings.TrimSpace(v); t != "" && len(t) <= maxIDLength-2 && !strings.ContainsAny(t, " \t\r\n<>") && strings.Contains(t, "@") {
			return []string{"<" + t + ">"}
		}
		return nil
	}
	out := found[:0]
	for _, id := range found {
		if utf8.ValidString(id) && !strings.ContainsAny(id, "\x00\x7f") {
			out = append(out, id)
		}
	}
	return out
}

// normaliseID puts an id in Parley's form, "<local@domain>".
func normaliseID(id string) string {
	id = strings.TrimSpace(id)
	if id == "" {
		return ""
	}
	return "<" + strings.Trim(id, "<>") + ">"
}

var oooSubjectRE = regexp.MustCompile(`(?i)(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|absence|abwesen|r[ée]ponse automatique|absent|vacation|away from)`)

// isAutomated recognises bounces and auto-replies from their headers (the
// multipart/report structure is checked while walking).
func isAutomated(h mail.Header, from, subject string) bool {
	local, _ := splitAddress(from)
	if local == "mailer-daemon" || local == "postmaster" {
		return true
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp == "<>" {
		return true
	}
	if as := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); as != "" && as != "no" {
		return true
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Failed-Recipients"} {
		if h.Has(k) {
			return true
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "auto_reply", "auto-reply":
		return true
	}
	if h.Has("X-Auto-Response-Suppress") && oooSubjectRE.MatchString(subject) {
		return true
	}
	ct, params, _ := h.ContentType()
	return ct == "multipart/report" && (params["report-type"] == "delivery-status" || params["report-type"] == "disposition-notification")
}

// sanitize is the HTML policy for inbound mail: bluemonday's UGC policy (no
// script, style, event handlers, forms, iframes), links limited to http,
// https, mailto and tel, images also to cid: (inline parts).
func sanitize(src string) string {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "tel", "cid")
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return strings.TrimSpace(p.Sanitize(src))
}

func toUTF8(s string) string { return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD") }

func normaliseNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func oneLine(s string) string {
	s = toUTF8(s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == '\t' }), " ")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
