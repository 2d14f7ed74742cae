package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/email/mailtest"
)

func mailFrom(from, id, subject, body string) []byte {
	return crlf(fmt.Sprintf("From: %s\nTo: support@acme.test\nSubject: %s\nMessage-ID: %s\nContent-Type: text/plain; charset=utf-8\n\n%s\n", from, subject, id, body))
}

// runner runs the adapter until the test (or stop) ends it.
type runner struct {
	cancel context.CancelFunc
	done   chan error
}

func startRunner(t *testing.T, a *Adapter, env channel.RunEnv) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx, env) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *runner) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func imapPOC(t *testing.T, a *Adapter, srv *mailtest.IMAPServer, mode string) *channel.PointOfContact {
	host, port := splitHostPort(t, srv.Addr)
	return createPOC(t, a, map[string]any{
		SettingAddress: "support@acme.test", SettingReceive: ReceiveIMAP,
		SettingIMAPHost: host, SettingIMAPPort: port, SettingIMAPTLS: mode, SettingIMAPUsername: srv.Username,
		SettingSMTPHost: "127.0.0.1", SettingSMTPTLS: TLSNone,
	}, map[string]string{CredentialIMAPPassword: srv.Password})
}

func subjects(evs []channel.InboundEvent) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Subject)
	}
	return strings.Join(s, ",")
}

func testIMAPRunner(t *testing.T, disableIdle bool) {
	cert, err := mailtest.NewCert()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mailtest.StartIMAP(mailtest.IMAPOptions{TLS: cert.Server, Implicit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Long intervals: with IDLE, only the server's notification can bring
	// the third message in time.
	poll := time.Minute
	if disableIdle {
		poll = 50 * time.Millisecond
	}
	a := newTestAdapter(Options{TLSConfig: cert.Client, DisableIDLE: disableIdle, PollInterval: poll, IdleRefresh: time.Minute})
	poc := imapPOC(t, a, srv, TLSImplicit)
	core := newFakeCore()

	for i, s := range []string{"first", "second"} {
		if _, err := srv.Append("INBOX", mailFrom("jane@example.com", fmt.Sprintf("<m%d@example.com>", i+1), s, "hello "+s)); err != nil {
			t.Fatal(err)
		}
	}
	r := startRunner(t, a, core.env(poc))
	evs := core.waitEvents(t, 2)
	if subjects(evs) != "first,second" || evs[0].ThreadID != "<m1@example.com>" || evs[0].Text != "hello first" {
		t.Fatalf("events %+v", evs)
	}
	r.stop(t)
	if st, _ := core.Load(context.Background(), poc.ID, StateLastUID); st != "2" {
		t.Errorf("last_uid = %q", st)
	}

	// Restart with the stored state: nothing is read again; a third
	// message arrives while the runner waits.
	startRunner(t, a, core.env(poc))
	time.Sleep(200 * time.Millisecond)
	if n := len(core.Events()); n != 2 {
		t.Fatalf("re-read after restart: %d events", n)
	}
	if _, err := srv.Append("INBOX", mailFrom("bob@example.com", "<m3@example.com>", "third", "hi")); err != nil {
		t.Fatal(err)
	}
	evs = core.waitEvents(t, 3)
	time.Sleep(100 * time.Millisecond)
	if evs = core.Events(); subjects(evs) != "first,second,third" || evs[2].AuthorID != "bob@example.com" {
		t.Errorf("events %s", subjects(evs))
	}
}

func TestIMAPRunnerIdle(t *testing.T) { testIMAPRunner(t, false) }
func TestIMAPRunnerPoll(t *testing.T) { testIMAPRunner(t, true) }

func TestIMAPRunnerUIDValidityChange(t *testing.T) {
	srv, err := mailtest.StartIMAP(mailtest.IMAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newTestAdapter(Options{DisableIDLE: true, PollInterval: 50 * time.Millisecond})
	poc := imapPOC(t, a, srv, TLSNone)
	core := newFakeCore()
	for i := 1; i <= 3; i++ {
		srv.Append("INBOX", mailFrom("jane@example.com", fmt.Sprintf("<a%d@example.com>", i), fmt.Sprintf("a%d", i), "x"))
	}
	r := startRunner(t, a, core.env(poc))
	core.waitEvents(t, 3)
	r.stop(t)

	// The mailbox is rebuilt (a new UIDVALIDITY): the old mail in it,
	// with UIDs 1 and 2, must not be read as new.
	if err := srv.Recreate("INBOX"); err != nil {
		t.Fatal(err)
	}
	srv.Append("INBOX", mailFrom("jane@example.com", "<b1@example.com>", "old1", "x"))
	srv.Append("INBOX", mailFrom("jane@example.com", "<b2@example.com>", "old2", "x"))
	startRunner(t, a, core.env(poc))
	time.Sleep(300 * time.Millisecond)
	srv.Append("INBOX", mailFrom("jane@example.com", "<b3@example.com>", "new", "x"))
	core.waitEvents(t, 4)
	time.Sleep(100 * time.Millisecond)
	if got := subjects(core.Events()); got != "a1,a2,a3,new" {
		t.Errorf("events %s", got)
	}
	uv, _ := srv.UIDValidity("INBOX")
	if st, _ := core.Load(context.Background(), poc.ID, StateUIDValidity); st != fmt.Sprint(uv) {
		t.Errorf("uidvalidity state %q, server %d", st, uv)
	}
}

func TestIMAPRunnerRetriesAfterIngestFailure(t *testing.T) {
	srv, err := mailtest.StartIMAP(mailtest.IMAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newTestAdapter(Options{DisableIDLE: true, PollInterval: 50 * time.Millisecond})
	poc := imapPOC(t, a, srv, TLSNone)
	core := newFakeCore()
	core.setFailing(1, errIngest)
	srv.Append("INBOX", mailFrom("jane@example.com", "<r1@example.com>", "retry me", "x"))
	startRunner(t, a, core.env(poc))
	evs := core.waitEvents(t, 1) // after a reconnect (1 s backoff)
	if evs[0].Subject != "retry me" {
		t.Errorf("%+v", evs)
	}
	// The runner saves its position just after the ingest returns: wait
	// for it rather than race it (it failed under load in CI).
	deadline := time.Now().Add(10 * time.Second)
	st, _ := core.Load(context.Background(), poc.ID, StateLastUID)
	for st != "1" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		st, _ = core.Load(context.Background(), poc.ID, StateLastUID)
	}
	if st != "1" {
		t.Errorf("last_uid %q", st)
	}
}

// receiverEnv starts the adapter's SMTP receiver for one point of contact.
func receiverEnv(t *testing.T) (*Adapter, *channel.PointOfContact, *fakeCore, string, *mailtest.SMTPServer) {
	t.Helper()
	out, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAdapter(Options{SMTPListener: ln})
	poc := smtpOnlyPOC(t, a, out.Addr)
	core := newFakeCore()
	startRunner(t, a, core.env(poc))
	return a, poc, core, ln.Addr().String(), out
}

func deliver(addr, from string, to []string, raw []byte) error {
	var lastErr error
	for i := 0; i < 50; i++ { // the receiver may still be starting
		c, err := smtp.Dial(addr)
		if err != nil {
			lastErr = err
			time.Sleep(20 * time.Millisecond)
			continue
		}
		defer c.Close()
		return c.SendMail(from, to, strings.NewReader(string(raw)))
	}
	return lastErr
}

func TestSMTPReceiver(t *testing.T) {
	_, _, core, addr, _ := receiverEnv(t)

	if err := deliver(addr, "jane@example.com", []string{"Support@Acme.test"}, mailFrom("jane@example.com", "<s1@example.com>", "Hello", "hi")); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	// 250 means it is already ingested.
	if evs := core.Events(); len(evs) != 1 || evs[0].ThreadID != "<s1@example.com>" || evs[0].Automated {
		t.Fatalf("events %+v", evs)
	}

	err := deliver(addr, "jane@example.com", []string{"nobody@acme.test"}, mailFrom("jane@example.com", "<s2@example.com>", "x", "x"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("unknown recipient: %v", err)
	}

	core.setFailing(-1, errIngest)
	err = deliver(addr, "jane@example.com", []string{"support@acme.test"}, mailFrom("jane@example.com", "<s3@example.com>", "x", "x"))
	if !errors.As(err, &se) || se.Code != 451 {
		t.Errorf("ingest failure: %v", err)
	}
	core.setFailing(0, nil)
	if err := deliver(addr, "jane@example.com", []string{"support@acme.test"}, mailFrom("jane@example.com", "<s3@example.com>", "x", "x")); err != nil {
		t.Errorf("retry: %v", err)
	}

	// A bounce has a null envelope sender.
	if err := deliver(addr, "", []string{"support@acme.test"}, mailFrom("someone@example.com", "<s4@example.com>", "Delivery failure", "x")); err != nil {
		t.Fatal(err)
	}
	evs := core.Events()
	if last := evs[len(evs)-1]; !last.Automated {
		t.Errorf("null sender not automated: %+v", last)
	}
}

func TestRefusedAttachmentIsLeftOut(t *testing.T) {
	_, _, core, addr, _ := receiverEnv(t)
	// The core refuses the first file (as ingress does, naming the field).
	core.setFailing(1, errors.New("attachments[0].mime_type: executable files are not accepted"))
	if err := deliver(addr, "jane@example.com", []string{"support@acme.test"}, crlf(attachmentsMsg)); err != nil {
		t.Fatal(err)
	}
	ev := core.Events()[0]
	if len(ev.Attachments) != 2 || ev.Attachments[0].Name != "facture été.pdf" || ev.Attachments[1].Name != OriginalName {
		t.Errorf("attachments %+v", ev.Attachments)
	}
	if !strings.Contains(ev.Text, "[Attachments not kept: logo@example.com]") {
		t.Errorf("text %q", ev.Text)
	}
	// Other errors are not the files' fault: 451 and the sender retries.
	core.setFailing(1, errIngest)
	if err := deliver(addr, "jane@example.com", []string{"support@acme.test"}, mailFrom("j@example.com", "<z@example.com>", "x", "x")); err == nil {
		t.Error("accepted while the core was failing")
	}
}

// TestEmailConversation is the acceptance flow: a customer writes, the
// agent's reply leaves with threading headers, the customer's answer (even
// with a changed subject, even with its headers stripped) lands in the same
// thread, a bounce is automated, a script never reaches the agent.
func TestEmailConversation(t *testing.T) {
	a, poc, core, addr, out := receiverEnv(t)
	ctx := context.Background()

	if err := deliver(addr, "jane@example.com", []string{"support@acme.test"}, crlf(`
From: Jane <jane@example.com>
To: support@acme.test
Subject: Order late
Message-ID: <c1@example.com>
Content-Type: text/html; charset=utf-8

<p>Where is my order?<script>alert(1)</script><img src=x onerror=alert(2)></p>
`)); err != nil {
		t.Fatal(err)
	}
	first := core.Events()[0]
	thread := first.ThreadID
	if strings.Contains(first.HTML, "script") || strings.Contains(first.HTML, "onerror") || first.Text != "Where is my order?" {
		t.Errorf("first message: text %q html %q", first.Text, first.HTML)
	}

	res, err := a.Send(ctx, poc, &channel.OutboundMessage{RecipientID: "jane@example.com", Text: "It ships today.", AuthorName: "Sam",
		Subject: "Order late", ThreadPlatformIDs: []string{first.PlatformMessageID}, LastInboundPlatformID: first.PlatformMessageID})
	if err != nil {
		t.Fatal(err)
	}
	core.sent(thread, res.PlatformMessageID)
	sent, _ := out.Wait(ctx, 1)
	h, _ := readSent(t, sent[0].Data)
	if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "c1@example.com" {
		t.Errorf("In-Reply-To %v", irt)
	}
	if refs, _ := h.MsgIDList("References"); len(refs) != 1 || refs[0] != "c1@example.com" {
		t.Errorf("References %v", refs)
	}
	replyTo, _ := h.AddressList("Reply-To")

	// The customer answers with a new subject.
	if err := deliver(addr, "jane@example.com", []string{replyTo[0].Address}, crlf(fmt.Sprintf(`
From: Jane <jane@example.com>
To: %s
Subject: Different subject now
Message-ID: <c2@example.com>
In-Reply-To: %s
References: <c1@example.com> %s

Thanks!

On Tue, 24 Nov 2026, Sam via Acme Support <support@acme.test> wrote:
> It ships today.
`, replyTo[0].Address, res.PlatformMessageID, res.PlatformMessageID))); err != nil {
		t.Fatal(err)
	}
	// A client that drops the threading headers: the Reply-To token still
	// finds the thread.
	if err := deliver(addr, "jane@example.com", []string{replyTo[0].Address}, crlf(fmt.Sprintf(`
From: jane@example.com
To: %s
Subject: One more thing
Message-ID: <c3@example.com>

Also, gift wrap please.
`, replyTo[0].Address))); err != nil {
		t.Fatal(err)
	}
	// A bounce of the agent's reply.
	if err := deliver(addr, "", []string{"support@acme.test"}, crlf(fmt.Sprintf(`
From: MAILER-DAEMON@mx.example.com
To: support@acme.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce@mx.example.com>
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

Delivery failed.
--r
Content-Type: text/rfc822-headers

Message-ID: %s
--r--
`, res.PlatformMessageID))); err != nil {
		t.Fatal(err)
	}
	evs := core.Events()
	if len(evs) != 4 {
		t.Fatalf("%d events", len(evs))
	}
	for i, ev := range evs[1:] {
		if ev.ThreadID != thread {
			t.Errorf("event %d (%s) on thread %q, want %q", i+1, ev.Subject, ev.ThreadID, thread)
		}
	}
	if evs[1].Text != "Thanks!" {
		t.Errorf("quoted history not trimmed: %q", evs[1].Text)
	}
	if !evs[3].Automated || evs[1].Automated || evs[2].Automated {
		t.Error("automated flags wrong")
	}
}
