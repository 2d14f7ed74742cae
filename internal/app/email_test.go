package app

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel/email/mailtest"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestEmailEndToEnd: issue 5's email acceptance through the real app: mail
// to the SMTP receiver and mail in an IMAP mailbox become cases; the agent's
// reply leaves with threading headers; the customer's answer with a changed
// subject lands in the same case; a bounce opens nothing; a script in HTML
// never reaches the agent.
func TestEmailEndToEnd(t *testing.T) {
	outbox, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer outbox.Close()
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer imapSrv.Close()
	receiver := freeAddr(t)
	h := start(t, func(c *Config) { c.EmailSMTPAddr = receiver; c.EmailPoll = 100 * time.Millisecond })
	smtpHost, smtpPort, _ := net.SplitHostPort(outbox.Addr)
	imapHost, imapPort, _ := net.SplitHostPort(imapSrv.Addr)

	var smtpPoc struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "email", "name": "Support mail", "settings": map[string]any{
		"address": "support@shop.example", "display_name": "Shop support", "receive": "smtp",
		"smtp_host": smtpHost, "smtp_port": smtpPort, "smtp_tls": "none"}}, 201, &smtpPoc)
	var imapPoc struct {
		PointOfContact struct{ ID string } `json:"point_of_contact"`
	}
	h.mustDo("POST", "/api/v1/points-of-contact", h.admin, map[string]any{"type": "email", "name": "Sales mailbox", "settings": map[string]any{
		"address": "sales@shop.example", "receive": "imap", "imap_host": imapHost, "imap_port": imapPort, "imap_tls": "none", "imap_username": imapSrv.Username,
		"smtp_host": smtpHost, "smtp_port": smtpPort, "smtp_tls": "none"},
		"credentials": map[string]string{"imap_password": imapSrv.Password}}, 201, &imapPoc)

	send := func(from, to, raw string) error {
		return smtp.SendMail(receiver, nil, from, []string{to}, []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	}
	first := `From: Ada Lovelace <ada@example.org>
To: support@shop.example
Subject: Order 1001 is late
Message-ID: <first-1001@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b1

--b1
Content-Type: text/plain; charset=utf-8

Hello, my order 1001 has not arrived.
--b1
Content-Type: text/html; charset=utf-8

<p>Hello, my order <b>1001</b> has not arrived.<script>alert(1)</script><img src=x onerror=alert(2)></p>
--b1--
`
	var err2 error
	eventually(t, "the SMTP receiver accepts mail", func() bool { err2 = send("ada@example.org", "support@shop.example", first); return err2 == nil })
	var list struct{ Items []apiCase }
	eventually(t, "an SMTP case", func() bool {
		h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+smtpPoc.PointOfContact.ID, h.admin, nil, 200, &list)
		return len(list.Items) == 1
	})
	caseID := list.Items[0].ID
	var page struct {
		Items []struct {
			ID, Direction, Text, HTML, Status string
			PlatformMessageID                 *string `json:"platform_message_id"`
		}
	}
	h.mustDo("GET", "/api/v1/cases/"+caseID+"/messages", h.admin, nil, 200, &page)
	in := page.Items[0]
	if !strings.Contains(in.Text, "order 1001") || strings.Contains(in.HTML, "<script") || strings.Contains(in.HTML, "onerror") || !strings.Contains(in.HTML, "<b>1001</b>") {
		t.Fatalf("inbound mail: text %q html %q", in.Text, in.HTML)
	}

	// The agent replies: it leaves with In-Reply-To and References.
	h.mustDo("POST", "/api/v1/cases/"+caseID+"/messages", h.admin, map[string]string{"text": "Sorry Ada, it ships today."}, 202, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	got, err := outbox.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := string(got[0].Data)
	if !strings.Contains(out, "In-Reply-To: <first-1001@example.org>") || !strings.Contains(out, "References: <first-1001@example.org>") || !strings.Contains(out, "Subject: Re: Order 1001 is late") {
		t.Fatalf("outbound headers:\n%s", out)
	}
	var replyID string
	for _, line := range strings.Split(out, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Message-Id: "); ok {
			replyID = v
		}
		if v, ok := strings.CutPrefix(line, "Message-ID: "); ok {
			replyID = v
		}
	}
	if replyID == "" {
		t.Fatalf("no Message-ID in:\n%s", out)
	}
	// The customer answers with a changed subject: same case.
	answer := fmt.Sprintf("From: ada@example.org\nTo: support@shop.example\nSubject: something else entirely\nMessage-ID: <answer-1@example.org>\nIn-Reply-To: %s\nReferences: <first-1001@example.org> %s\n\nThanks! Which carrier?\n\nOn Monday, Shop support wrote:\n> Sorry Ada, it ships today.\n", replyID, replyID)
	if err := send("ada@example.org", "support@shop.example", answer); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the answer in the same case", func() bool {
		h.mustDo("GET", "/api/v1/cases/"+caseID+"/messages", h.admin, nil, 200, &page)
		return len(page.Items) == 3
	})
	if last := page.Items[2]; !strings.Contains(last.Text, "Which carrier?") || strings.Contains(last.Text, "> Sorry") {
		t.Fatalf("answer text (quotes trimmed): %q", last.Text)
	}
	if got := h.getCase(caseID).Status; got != "open" {
		t.Fatalf("case after the answer: %s", got)
	}

	// A bounce opens no case.
	bounce := "From: MAILER-DAEMON@mx.example.org\nTo: support@shop.example\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <bounce-1@mx.example.org>\nAuto-Submitted: auto-replied\nContent-Type: multipart/report; report-type=delivery-status; boundary=r1\n\n--r1\nContent-Type: text/plain\n\nDelivery failed.\n--r1\nContent-Type: message/delivery-status\n\nStatus: 5.1.1\n--r1--\n"
	if err := smtp.SendMail(receiver, nil, "", []string{"support@shop.example"}, []byte(strings.ReplaceAll(bounce, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+smtpPoc.PointOfContact.ID, h.admin, nil, 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("a bounce opened a case: %d cases", len(list.Items))
	}

	// A message placed in the IMAP mailbox becomes a case too, once.
	if _, err := imapSrv.Append("INBOX", []byte(strings.ReplaceAll("From: Bob <bob@example.net>\nTo: sales@shop.example\nSubject: Quote please\nMessage-ID: <quote-1@example.net>\n\nCan I get a quote for 50 units?\n", "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an IMAP case", func() bool {
		h.mustDo("GET", "/api/v1/cases?point_of_contact_id="+imapPoc.PointOfContact.ID, h.admin, nil, 200, &list)
		return len(list.Items) == 1
	})
	time.Sleep(400 * time.Millisecond) // several polls
	if n := len(h.messages(list.Items[0].ID)); n != 1 {
		t.Fatalf("IMAP message stored %d times", n)
	}
}
