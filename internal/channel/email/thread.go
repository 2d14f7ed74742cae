package email

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/parleyhq/parley/internal/channel"
)

// Reply tokens. A token is base32 (lower case, no padding) of the 16 bytes
// of the UUID in a Parley outbound Message-ID followed by tagLen bytes of
// HMAC-SHA256(key, pocID NUL uuid). 26+16 = 42 characters, so that
// "local+<token>" stays within the 64 characters RFC 5321 allows.
const tagLen = 10

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// replyKey derives the reply-token key of a point of contact: from its
// generated reply_secret credential, else (points configured before it
// existed) from the SMTP, then IMAP password. Nil when none is set: tokens
// are then neither issued nor accepted.
func replyKey(poc *channel.PointOfContact) []byte {
	for _, name := range []string{CredentialReplySecret, CredentialSMTPPassword, CredentialIMAPPassword} {
		if v := poc.Credential(name); v != "" {
			m := hmac.New(sha256.New, []byte(v))
			m.Write([]byte("parley email reply token v1\x00" + name))
			return m.Sum(nil)
		}
	}
	return nil
}

func tokenTag(key []byte, pocID string, id []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(pocID))
	m.Write([]byte{0})
	m.Write(id)
	return m.Sum(nil)[:tagLen]
}

// makeToken signs the UUID of an outbound Message-ID.
func makeToken(c config, id uuid.UUID) string {
	if c.key == nil {
		return ""
	}
	b := append(id[:], tokenTag(c.key, c.pocID, id[:])...)
	return strings.ToLower(b32.EncodeToString(b))
}

// openToken verifies a token and returns the Message-ID it stands for.
func openToken(c config, token string) (string, bool) {
	if c.key == nil || len(token) != b32.EncodedLen(16+tagLen) {
		return "", false
	}
	b, err := b32.DecodeString(strings.ToUpper(token))
	if err != nil || len(b) != 16+tagLen {
		return "", false
	}
	if !hmac.Equal(b[16:], tokenTag(c.key, c.pocID, b[:16])) {
		return "", false
	}
	id, err := uuid.FromBytes(b[:16])
	if err != nil {
		return "", false
	}
	return messageIDFor(c, id), true
}

// messageIDFor is the Message-ID Parley writes for an outbound message.
func messageIDFor(c config, id uuid.UUID) string {
	return "<" + id.String() + "@" + c.domain + ">"
}

// replyAddress is the plus address carrying a token.
func replyAddress(c config, token string) string {
	if token == "" {
		return c.address
	}
	return c.local + "+" + token + "@" + c.replyDomain
}

// tokenOf returns the token of a plus address of this point of contact.
func tokenOf(c config, addr string) (string, bool) {
	local, domain := splitAddress(strings.ToLower(addr))
	if domain != c.replyDomain && domain != c.domain {
		return "", false
	}
	base, tok, ok := strings.Cut(local, "+")
	if !ok || base != c.local || tok == "" {
		return "", false
	}
	return tok, true
}

// matchesAddress tells whether a recipient is this point of contact's
// address or one of its plus-addressed variants.
func matchesAddress(c config, addr string) bool {
	addr = strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	if addr == c.address {
		return true
	}
	local, domain := splitAddress(addr)
	if domain != c.domain && domain != c.replyDomain {
		return false
	}
	base, _, _ := strings.Cut(local, "+")
	return base == c.local
}

var subjectPrefixRE = regexp.MustCompile(`(?i)^\s*((re|fw|fwd|tr|aw|sv|antw|wg|rif|r|vs|ref)\s*(\[\d+\])?\s*:\s*|\[[^\]]{1,40}\]\s*)`)
var replyPrefixRE = regexp.MustCompile(`(?i)^\s*(\[[^\]]{1,40}\]\s*)*(re|fw|fwd|tr|aw|sv|antw|wg|rif|r|vs|ref)\s*(\[\d+\])?\s*:`)

// NormaliseSubject strips reply and forward prefixes (Re:, RE:, Fwd:, TR:,
// AW:, SV:, …) and [tags], and folds spaces and case:
// "Re: [Ticket 12] FW: Order late" → "order late".
func NormaliseSubject(s string) string {
	for i := 0; i < 50; i++ {
		t := subjectPrefixRE.ReplaceAllString(s, "")
		if t == s {
			break
		}
		s = t
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// isReplySubject tells whether a subject says it answers something.
func isReplySubject(s string) bool { return replyPrefixRE.MatchString(s) }

// resolveThread picks the thread of a parsed message (see the package
// documentation for the order). envelope lists extra recipients known from
// the SMTP envelope.
func (a *Adapter) resolveThread(ctx context.Context, threads channel.ThreadResolver, c config, m *Message, envelope []string) (string, error) {
	if threads != nil {
		if m.InReplyTo != "" {
			if t, ok, err := threads.ThreadByMessageIDs(ctx, c.pocID, []string{m.InReplyTo}); err != nil || ok {
				return t, err
			}
		}
		if refs := m.References; len(refs) > 0 {
			newest := make([]string, 0, len(refs))
			for i := len(refs) - 1; i >= 0; i-- {
				newest = append(newest, refs[i])
			}
			if len(newest) > 100 {
				newest = newest[:100]
			}
			if t, ok, err := threads.ThreadByMessageIDs(ctx, c.pocID, newest); err != nil || ok {
				return t, err
			}
		}
		for _, r := range append(append([]string{}, m.Recipients...), envelope...) {
			tok, ok := tokenOf(c, r)
			if !ok {
				continue
			}
			id, ok := openToken(c, tok)
			if !ok {
				continue // forged or from another point of contact: ignored
			}
			if t, ok, err := threads.ThreadByMessageIDs(ctx, c.pocID, []string{id}); err != nil || ok {
				return t, err
			}
		}
		if !m.Event.Automated && (m.InReplyTo != "" || len(m.References) > 0 || isReplySubject(m.Event.Subject)) {
			if subj := NormaliseSubject(m.Event.Subject); subj != "" {
				since := a.opts.Now().Add(-SubjectWindow)
				if t, ok, err := threads.ThreadBySubject(ctx, c.pocID, m.Event.AuthorID, subj, since); err != nil || ok {
					return t, err
				}
			}
		}
	}
	return m.Event.PlatformMessageID, nil
}
