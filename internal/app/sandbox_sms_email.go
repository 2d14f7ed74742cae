package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel/email/mailtest"
	sfake "github.com/parleyhq/parley/internal/channel/sms/fake"
	"github.com/parleyhq/parley/internal/secret"
)

// smsSandbox is the fake Twilio API in the sandbox.
type smsSandbox struct {
	tw     *sfake.Server
	number string
}

func (s *smsSandbox) deliver(webhookURL, token, from, name, text, choiceID string, at time.Time) (int, string, error) {
	if text == "" {
		text = choiceID // SMS has no buttons: the customer types the option
	}
	resp, err := sfake.SendWebhook(webhookURL, token, sfake.InboundSMS(s.tw.Options().AccountSID, from, s.number, text))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

func (s *smsSandbox) received(to string) []json.RawMessage {
	var out []json.RawMessage
	for _, m := range s.tw.Messages() {
		if m.To == to {
			b, _ := json.Marshal(map[string]any{"sid": m.SID, "from": m.From, "body": m.Body, "media": m.MediaURLs, "status": m.Status})
			out = append(out, b)
		}
	}
	return out
}

func (s *smsSandbox) close() error { return s.tw.Close() }

func (a *App) startSMSSandbox(ctx context.Context, add func(typ, name string, settings map[string]any, creds map[string]string, platform sandboxPlatform) error) error {
	token := secret.RandomToken("sandbox_")
	const number = "+15550002222"
	tw, err := sfake.Start(sfake.Options{AccountSID: "AC" + strings.Repeat("0", 31) + "1", AuthToken: token, Number: number})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, tw.Close)
	return add("sms", "Demo SMS (sandbox)", map[string]any{"account_sid": tw.Options().AccountSID, "from_number": number, "api_base_url": tw.URL},
		map[string]string{"auth_token": token}, &smsSandbox{tw: tw, number: number})
}

// emailSandbox is a local mail server pair: customers' mail goes to
// Parley's SMTP receiver, and Parley's replies to a recording SMTP server.
type emailSandbox struct {
	receiver string // Parley's SMTP receiver
	address  string // the demo support address
	outbox   *mailtest.SMTPServer
}

func (s *emailSandbox) deliver(_, _, from, name, text, choiceID string, at time.Time) (int, string, error) {
	if text == "" {
		text = choiceID
	}
	subject, threading := "Message from "+from, ""
	// Like a mail client, answer the last mail this customer received.
	if last := s.lastReceived(from); last != nil {
		if id := last.Header.Get("Message-Id"); id != "" {
			threading = "In-Reply-To: " + id + "\r\nReferences: " + id + "\r\n"
		}
		subject = "Re: " + strings.TrimPrefix(last.Header.Get("Subject"), "Re: ")
	}
	raw := fmt.Sprintf("From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <sandbox-%d@customer.example>\r\n%sDate: %s\r\n\r\n%s\r\n",
		name, from, s.address, subject, at.UnixNano(), threading, at.Format(time.RFC1123Z), text)
	// A mailbox created a moment ago may not be known to the receiver yet:
	// retry briefly, as a real sending server would.
	var err error
	for i := 0; i < 10; i++ {
		if err = smtp.SendMail(s.receiver, nil, from, []string{s.address}, []byte(raw)); err == nil {
			return 200, "250: accepted by Parley's SMTP receiver", nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, "", err
}

func (s *emailSandbox) lastReceived(to string) *mail.Message {
	msgs := s.outbox.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, rcpt := range msgs[i].To {
			if strings.EqualFold(rcpt, to) {
				if m, err := mail.ReadMessage(bytes.NewReader(msgs[i].Data)); err == nil {
					return m
				}
			}
		}
	}
	return nil
}

func (s *emailSandbox) received(to string) []json.RawMessage {
	var out []json.RawMessage
	for _, m := range s.outbox.Messages() {
		for _, rcpt := range m.To {
			if strings.EqualFold(rcpt, to) {
				b, _ := json.Marshal(map[string]any{"from": m.From, "raw": string(m.Data)})
				out = append(out, b)
			}
		}
	}
	return out
}

func (s *emailSandbox) close() error { return s.outbox.Close() }

func (a *App) startEmailSandbox(ctx context.Context, add func(typ, name string, settings map[string]any, creds map[string]string, platform sandboxPlatform) error) error {
	if a.cfg.EmailSMTPAddr == "" {
		a.log.Warn("sandbox: no email point of contact (start with --email-smtp-addr to try email)")
		return nil
	}
	outbox, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, outbox.Close)
	host, port, _ := net.SplitHostPort(outbox.Addr)
	const address = "support@demo.parley.local"
	return add("email", "Demo email (sandbox)", map[string]any{"address": address, "display_name": "Demo support", "receive": "smtp",
		"smtp_host": host, "smtp_port": port, "smtp_tls": "none"}, map[string]string{},
		&emailSandbox{receiver: a.cfg.EmailSMTPAddr, address: address, outbox: outbox})
}
