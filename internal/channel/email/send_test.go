package email

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/email/mailtest"
	"github.com/parleyhq/parley/internal/content"
)

type sentPart struct {
	contentType string
	filename    string
	body        string
}

func readSent(t *testing.T, raw []byte) (mail.Header, []sentPart) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading sent message: %v", err)
	}
	var parts []sentPart
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		sp := sentPart{body: string(b)}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			sp.contentType, _, _ = h.ContentType()
		case *mail.AttachmentHeader:
			sp.contentType, _, _ = h.ContentType()
			sp.filename, _ = h.Filename()
		}
		parts = append(parts, sp)
	}
	return r.Header, parts
}

func TestSendThreadingHeadersAlternativesAndAttachment(t *testing.T) {
	cert, err := mailtest.NewCert()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mailtest.StartSMTP(mailtest.SMTPOptions{TLS: cert.Server, Username: "acme", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sig") != "ok" {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Write([]byte("%PDF-1.4 label"))
	}))
	defer files.Close()

	a := newTestAdapter(Options{TLSConfig: cert.Client})
	host, port := splitHostPort(t, srv.Addr)
	poc := createPOC(t, a, map[string]any{
		SettingAddress: "support@acme.test", SettingDisplayName: "Acme Support", SettingReceive: ReceiveSMTP,
		SettingSMTPHost: host, SettingSMTPPort: port, SettingSMTPTLS: TLSStart, SettingSMTPUsername: "acme",
	}, map[string]string{CredentialSMTPPassword: "s3cret"})

	rendered, err := content.Render("email", content.Content{Type: content.TypeHTML, Text: `<p>Your <b>label</b> is attached.<script>x()</script></p>`}, content.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rj, _ := json.Marshal(rendered)
	msg := &channel.OutboundMessage{
		ID: "msg1", RecipientID: "jane@example.com", RecipientName: "Jane Doe", Text: "Your label is attached.",
		Rendered: rj, AuthorName: "Sam", AuthorType: "agent", Subject: "Order late",
		ThreadPlatformIDs:     []string{"<m1@example.com>", "<out0@acme.test>"},
		LastInboundPlatformID: "<m1@example.com>",
		Attachments:           []channel.OutboundAttachment{{Name: "label.pdf", MimeType: "application/pdf", URL: files.URL + "/f?sig=ok"}},
	}
	res, err := a.Send(context.Background(), poc, msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, err := srv.Wait(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := got[0]
	if rec.Username != "acme" || rec.From != "support@acme.test" || len(rec.To) != 1 || rec.To[0] != "jane@example.com" {
		t.Errorf("envelope: %+v", rec)
	}
	h, parts := readSent(t, rec.Data)
	id, _ := h.MessageID()
	if "<"+id+">" != res.PlatformMessageID || !strings.HasSuffix(id, "@acme.test") {
		t.Errorf("Message-ID %q vs platform id %q", id, res.PlatformMessageID)
	}
	if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "m1@example.com" {
		t.Errorf("In-Reply-To %v", irt)
	}
	if refs, _ := h.MsgIDList("References"); strings.Join(refs, " ") != "m1@example.com out0@acme.test" {
		t.Errorf("References %v", refs)
	}
	from, _ := h.AddressList("From")
	if len(from) != 1 || from[0].Name != "Sam via Acme Support" || from[0].Address != "support@acme.test" {
		t.Errorf("From %v", from)
	}
	if subj, _ := h.Subject(); subj != "Re: Order late" {
		t.Errorf("Subject %q", subj)
	}
	replyTo, _ := h.AddressList("Reply-To")
	if len(replyTo) != 1 || !strings.HasPrefix(replyTo[0].Address, "support+") || !strings.HasSuffix(replyTo[0].Address, "@acme.test") {
		t.Fatalf("Reply-To %v", replyTo)
	}
	c := readConfig(poc)
	tok, ok := tokenOf(c, replyTo[0].Address)
	if !ok || len("support+"+tok) > 64 {
		t.Errorf("token %q", tok)
	}
	if mid, ok := openToken(c, tok); !ok || mid != res.PlatformMessageID {
		t.Errorf("token opens to %q %v", mid, ok)
	}
	if h.Has("Auto-Submitted") {
		t.Error("an agent's reply must not be Auto-Submitted")
	}
	if ct, _, _ := h.ContentType(); ct != "multipart/mixed" {
		t.Errorf("content type %q", ct)
	}
	if len(parts) != 3 || parts[0].contentType != "text/plain" || parts[1].contentType != "text/html" || parts[2].filename != "label.pdf" {
		t.Fatalf("parts %+v", parts)
	}
	if !strings.Contains(parts[0].body, "Your label is attached.") || !strings.Contains(parts[1].body, "<b>label</b>") || strings.Contains(parts[1].body, "script") {
		t.Errorf("bodies %q / %q", parts[0].body, parts[1].body)
	}
	if parts[2].body != "%PDF-1.4 label" || parts[2].contentType != "application/pdf" {
		t.Errorf("attachment %+v", parts[2])
	}
	if !bytes.Contains(rec.Data, []byte("multipart/alternative")) {
		t.Error("no multipart/alternative")
	}
}

func TestSendPlainTextIsEscapedAndProactiveHasNoRe(t *testing.T) {
	srv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newTestAdapter(Options{})
	poc := smtpOnlyPOC(t, a, srv.Addr)
	_, err = a.Send(context.Background(), poc, &channel.OutboundMessage{RecipientID: "jane@example.com", Text: "a < b & c\nline 2", Subject: "Welcome", AuthorType: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Wait(context.Background(), 1)
	h, parts := readSent(t, got[0].Data)
	if ct, _, _ := h.ContentType(); ct != "multipart/alternative" {
		t.Errorf("content type %q", ct)
	}
	if subj, _ := h.Subject(); subj != "Welcome" {
		t.Errorf("proactive subject %q", subj)
	}
	if h.Get("Auto-Submitted") != "auto-replied" {
		t.Error("a bot's message should be Auto-Submitted")
	}
	from, _ := h.AddressList("From")
	if from[0].Name != "Acme Support" {
		t.Errorf("bot From name %q", from[0].Name)
	}
	if len(parts) != 2 || !strings.Contains(parts[1].body, "a &lt; b &amp; c<br>") {
		t.Errorf("parts %+v", parts)
	}
	if h.Has("In-Reply-To") || h.Has("References") {
		t.Error("threading headers on a first message")
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	var code int
	srv, err := mailtest.StartSMTP(mailtest.SMTPOptions{Reject: func(mailtest.Received) *smtp.SMTPError {
		return &smtp.SMTPError{Code: code, Message: "mailbox says no"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newTestAdapter(Options{})
	poc := smtpOnlyPOC(t, a, srv.Addr)
	msg := &channel.OutboundMessage{RecipientID: "jane@example.com", Text: "hi"}
	for _, c := range []struct {
		code      int
		retryable bool
	}{{451, true}, {550, false}} {
		code = c.code
		_, err := a.Send(context.Background(), poc, msg)
		var se *channel.SendError
		if !errors.As(err, &se) || se.Retryable != c.retryable || !strings.Contains(se.Reason, "mailbox says no") {
			t.Errorf("%d: %#v", c.code, err)
		}
	}
	srv.Close()
	_, err = a.Send(context.Background(), poc, msg)
	var se *channel.SendError
	if !errors.As(err, &se) || !se.Retryable {
		t.Errorf("connection refused should be retryable: %#v", err)
	}
	_, err = a.Send(context.Background(), poc, &channel.OutboundMessage{RecipientID: "not an address", Text: "hi"})
	if !errors.As(err, &se) || se.Retryable {
		t.Errorf("bad recipient should be permanent: %#v", err)
	}
}
