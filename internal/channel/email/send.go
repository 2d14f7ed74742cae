package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/parleyhq/parley/internal/channel"
)

// sendTimeout bounds one whole SMTP transaction.
const sendTimeout = 2 * time.Minute

var replyPrefix = regexp.MustCompile(`(?i)^\s*(re|aw|sv|antw|r|vs)\s*(\[\d+\])?\s*:`)

// rendered is the part of content.Rendered the email channel reads.
type rendered struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// Send writes the message (multipart/alternative text and HTML, in a
// multipart/mixed with the attachments if any) and delivers it through the
// point of contact's SMTP server. The returned platform id is the
// Message-ID, "<uuid@domain>": a customer's reply names it in In-Reply-To,
// and the Reply-To plus address carries a token for it.
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	c := readConfig(poc)
	if c.smtpHost == "" || c.address == "" {
		return channel.SendResult{}, &channel.SendError{Reason: "the point of contact has no SMTP server or address configured"}
	}
	to, err := mail.ParseAddress(msg.RecipientID)
	if err != nil || !validAddress(to.Address) {
		return channel.SendResult{}, &channel.SendError{Reason: fmt.Sprintf("not an email address: %q", msg.RecipientID)}
	}
	to.Name = oneLine(msg.RecipientName)
	id := uuid.New()
	msgID := messageIDFor(c, id)
	raw, err := a.compose(ctx, c, msg, to, id, msgID)
	if err != nil {
		return channel.SendResult{}, err
	}
	if err := a.deliver(ctx, c, to.Address, raw); err != nil {
		return channel.SendResult{}, err
	}
	return channel.SendResult{PlatformMessageID: msgID}, nil
}

// compose writes the RFC 5322 message.
func (a *Adapter) compose(ctx context.Context, c config, msg *channel.OutboundMessage, to *mail.Address, id uuid.UUID, msgID string) ([]byte, error) {
	var h mail.Header
	fromName := c.displayName
	if n := oneLine(msg.AuthorName); n != "" && msg.AuthorType != "bot" && msg.AuthorType != "system" {
		fromName = n
		if c.displayName != "" {
			fromName = n + " via " + c.displayName
		}
	}
	h.SetAddressList("From", []*mail.Address{{Name: fromName, Address: c.address}})
	h.SetAddressList("To", []*mail.Address{to})
	if tok := makeToken(c, id); tok != "" {
		h.SetAddressList("Reply-To", []*mail.Address{{Name: c.displayName, Address: replyAddress(c, tok)}})
	}
	isReply := msg.LastInboundPlatformID != "" || len(msg.ThreadPlatformIDs) > 0
	h.SetSubject(subjectFor(oneLine(msg.Subject), isReply, c.displayName))
	h.SetDate(a.opts.Now())
	h.SetMessageID(strings.Trim(msgID, "<>"))
	if irt := normaliseID(msg.LastInboundPlatformID); irt != "" {
		h.SetMsgIDList("In-Reply-To", []string{strings.Trim(irt, "<>")})
	}
	var refs []string
	for _, r := range msg.ThreadPlatformIDs {
		if r = strings.Trim(strings.TrimSpace(r), "<>"); r != "" && strings.Contains(r, "@") && !strings.ContainsAny(r, " \t\r\n<>") {
			refs = append(refs, r)
		}
	}
	if irt := strings.Trim(normaliseID(msg.LastInboundPlatformID), "<>"); irt != "" && !contains(refs, irt) {
		refs = append(refs, irt)
	}
	if len(refs) > 0 {
		h.SetMsgIDList("References", refs)
	}
	if msg.AuthorType == "bot" || msg.AuthorType == "system" {
		// RFC 3834: machine-written mail says so, so auto-responders do
		// not answer it. Agents' replies are human and carry nothing.
		h.Set("Auto-Submitted", "auto-replied")
	}

	text, htmlBody := msg.Text, ""
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		var r rendered
		if err := json.Unmarshal(msg.Rendered, &r); err == nil {
			if r.Text != "" {
				text = r.Text
			}
			htmlBody = r.HTML
		}
	}
	if htmlBody == "" {
		htmlBody = textToHTML(text)
	} else {
		htmlBody = sanitize(htmlBody)
	}
	htmlDoc := "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"></head><body>\r\n" + htmlBody + "\r\n</body></html>\r\n"

	files, err := a.fetchAttachments(ctx, msg.Attachments)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	writeAlt := func(iw *mail.InlineWriter) error {
		for _, part := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", htmlDoc}} {
			var ih mail.InlineHeader
			ih.SetContentType(part.ct, map[string]string{"charset": "utf-8"})
			w, err := iw.CreatePart(ih)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(w, part.body); err != nil {
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
		}
		return iw.Close()
	}
	if len(files) == 0 {
		iw, err := mail.CreateInlineWriter(&buf, h)
		if err != nil {
			return nil, &channel.SendError{Reason: "composing the message: " + err.Error()}
		}
		if err := writeAlt(iw); err != nil {
			return nil, &channel.SendError{Reason: "composing the message: " + err.Error()}
		}
		return buf.Bytes(), nil
	}
	mw, err := mail.CreateWriter(&buf, h)
	if err == nil {
		var iw *mail.InlineWriter
		if iw, err = mw.CreateInline(); err == nil {
			err = writeAlt(iw)
		}
	}
	for _, f := range files {
		if err != nil {
			break
		}
		var ah mail.AttachmentHeader
		ah.SetContentType(f.mimeType, nil)
		ah.SetFilename(f.name)
		var w io.WriteCloser
		if w, err = mw.CreateAttachment(ah); err == nil {
			if _, err = w.Write(f.data); err == nil {
				err = w.Close()
			}
		}
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, &channel.SendError{Reason: "composing the message: " + err.Error()}
	}
	return buf.Bytes(), nil
}

func subjectFor(subject string, isReply bool, displayName string) string {
	if subject == "" {
		if displayName != "" {
			subject = "Message from " + displayName
		} else {
			subject = "Your message"
		}
		if isReply {
			return "Re: " + subject
		}
		return subject
	}
	if isReply && !replyPrefix.MatchString(subject) {
		return "Re: " + subject
	}
	return subject
}

// textToHTML escapes plain text into paragraphs and line breaks.
func textToHTML(text string) string {
	var b strings.Builder
	for i, para := range strings.Split(strings.TrimSpace(normaliseNewlines(text)), "\n\n") {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>\r\n"))
		b.WriteString("</p>")
	}
	return b.String()
}

type file struct {
	name, mimeType string
	data           []byte
}

// fetchAttachments downloads the outbound files from their signed URLs,
// within MaxMessageBytes in total.
func (a *Adapter) fetchAttachments(ctx context.Context, atts []channel.OutboundAttachment) ([]file, error) {
	var out []file
	var total int64
	for _, att := range atts {
		u, err := url.Parse(att.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, &channel.SendError{Reason: fmt.Sprintf("attachment %q has no http(s) URL", att.Name)}
		}
		if att.Size > 0 && total+att.Size > a.opts.MaxMessageBytes {
			return nil, &channel.SendError{Reason: fmt.Sprintf("attachments exceed %d MiB", a.opts.MaxMessageBytes>>20)}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
		if err != nil {
			return nil, &channel.SendError{Reason: "attachment " + att.Name + ": " + err.Error()}
		}
		resp, err := a.opts.HTTPClient.Do(req)
		if err != nil {
			return nil, &channel.SendError{Retryable: true, Reason: "fetching attachment " + att.Name + ": " + err.Error()}
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, a.opts.MaxMessageBytes-total+1))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, &channel.SendError{Retryable: resp.StatusCode >= 500 || resp.StatusCode == 429, Code: strconv.Itoa(resp.StatusCode),
				Reason: "fetching attachment " + att.Name + ": HTTP " + resp.Status}
		}
		if err != nil {
			return nil, &channel.SendError{Retryable: true, Reason: "fetching attachment " + att.Name + ": " + err.Error()}
		}
		total += int64(len(data))
		if total > a.opts.MaxMessageBytes {
			return nil, &channel.SendError{Reason: fmt.Sprintf("attachments exceed %d MiB", a.opts.MaxMessageBytes>>20)}
		}
		mt := att.MimeType
		if mt == "" {
			mt = resp.Header.Get("Content-Type")
		}
		if mt == "" {
			mt = "application/octet-stream"
		}
		name := oneLine(att.Name)
		if name == "" {
			name = "attachment"
		}
		out = append(out, file{name: name, mimeType: mt, data: data})
	}
	return out, nil
}

// deliver runs one SMTP transaction. 4xx replies and connection failures
// are retryable; 5xx replies are permanent, with the server's text.
func (a *Adapter) deliver(ctx context.Context, c config, rcpt string, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	cl, err := a.dialSMTP(ctx, c)
	if err != nil {
		return classify(err)
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	if c.smtpUser != "" {
		if err := cl.Auth(sasl.NewPlainClient("", c.smtpUser, c.smtpPass)); err != nil {
			return classify(err)
		}
	}
	if err := cl.Mail(c.address, nil); err != nil {
		return classify(err)
	}
	if err := cl.Rcpt(rcpt, nil); err != nil {
		return classify(err)
	}
	w, err := cl.Data()
	if err != nil {
		return classify(err)
	}
	if _, err := w.Write(raw); err != nil {
		w.Close()
		return classify(err)
	}
	if err := w.Close(); err != nil {
		return classify(err)
	}
	_ = cl.Quit()
	return nil
}

func (a *Adapter) dialSMTP(ctx context.Context, c config) (*smtp.Client, error) {
	addr := net.JoinHostPort(strings.Trim(c.smtpHost, "[]"), strconv.Itoa(c.smtpPort))
	conn, err := a.opts.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tc := a.tlsConfig(c.smtpHost)
	var cl *smtp.Client
	switch c.smtpTLS {
	case TLSImplicit:
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		cl = smtp.NewClient(tconn)
	case TLSNone:
		cl = smtp.NewClient(conn)
	default:
		// go-smtp says EHLO "localhost" before STARTTLS: it has no way to
		// name ourselves on this path.
		cl, err = smtp.NewClientStartTLS(conn, tc)
		if err != nil {
			conn.Close()
			return nil, err
		}
		cl.CommandTimeout, cl.SubmissionTimeout = time.Minute, sendTimeout
		return cl, nil
	}
	cl.CommandTimeout, cl.SubmissionTimeout = time.Minute, sendTimeout
	host := a.opts.Hostname
	if host == "" {
		host = c.domain
	}
	if err := cl.Hello(host); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

func (a *Adapter) tlsConfig(host string) *tls.Config {
	var tc *tls.Config
	if a.opts.TLSConfig != nil {
		tc = a.opts.TLSConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = strings.Trim(host, "[]")
	}
	return tc
}

// classify turns an SMTP or network error into a SendError.
func classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &channel.SendError{Retryable: se.Code < 500, Code: strconv.Itoa(se.Code), Reason: se.Message}
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return &channel.SendError{Reason: "the SMTP server's TLS certificate is not trusted: " + cv.Error()}
	}
	return &channel.SendError{Retryable: true, Reason: "SMTP: " + err.Error()}
}
