package email

import (
	"bytes"
	"strings"
	"testing"
)

const plainMsg = `
From: "Jane Doe" <Jane.Doe@Example.COM>
To: support@acme.test
Subject: Order late
Message-ID: <m1@example.com>
Date: Tue, 24 Nov 2026 08:00:00 +0000
Content-Type: text/plain; charset=utf-8

Hello, my order 1234 is late.
`

func mustParse(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := ParseMIME(raw)
	if err != nil {
		t.Fatalf("ParseMIME: %v", err)
	}
	return m
}

func attachmentNamed(m *Message, name string) (int, bool) {
	for i, a := range m.Event.Attachments {
		if a.Name == name {
			return i, true
		}
	}
	return -1, false
}

func TestParsePlain(t *testing.T) {
	raw := crlf(plainMsg)
	m := mustParse(t, raw)
	ev := m.Event
	if ev.AuthorID != "jane.doe@example.com" || ev.AuthorName != "Jane Doe" {
		t.Errorf("author = %q %q", ev.AuthorID, ev.AuthorName)
	}
	if ev.Subject != "Order late" || ev.PlatformMessageID != "<m1@example.com>" {
		t.Errorf("subject %q id %q", ev.Subject, ev.PlatformMessageID)
	}
	if ev.Text != "Hello, my order 1234 is late." || ev.HTML != "" {
		t.Errorf("text %q html %q", ev.Text, ev.HTML)
	}
	if ev.SentAt.IsZero() || ev.Automated {
		t.Errorf("sent %v automated %v", ev.SentAt, ev.Automated)
	}
	i, ok := attachmentNamed(m, OriginalName)
	if !ok || !bytes.Equal(ev.Attachments[i].Data, raw) || ev.Attachments[i].MimeType != "message/rfc822" {
		t.Errorf("original.eml not kept: %+v", ev.Attachments)
	}
	if len(m.Recipients) != 1 || m.Recipients[0] != "support@acme.test" {
		t.Errorf("recipients %v", m.Recipients)
	}
}

func TestParseHTMLAndTextWithCharsets(t *testing.T) {
	m := mustParse(t, crlf(`
From: =?ISO-8859-1?Q?Ren=E9?= <rene@example.fr>
To: support@acme.test
Subject: =?ISO-8859-1?Q?Caf=E9_froid?=
Message-ID: <m2@example.fr>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Le caf=E9 est froid.
--b1
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

<p>Le caf=E9 est <b>froid</b> =80</p>
--b1--
`))
	ev := m.Event
	if ev.AuthorName != "René" || ev.Subject != "Café froid" {
		t.Errorf("decoded header: %q %q", ev.AuthorName, ev.Subject)
	}
	if ev.Text != "Le café est froid." {
		t.Errorf("text = %q", ev.Text)
	}
	if ev.HTML != "<p>Le café est <b>froid</b> €</p>" {
		t.Errorf("html = %q", ev.HTML)
	}
}

func TestParseHTMLOnlyGivesText(t *testing.T) {
	m := mustParse(t, crlf(`
From: a@example.com
Subject: hi
Message-ID: <h@example.com>
Content-Type: text/html; charset=utf-8

<html><head><style>p{color:red}</style></head><body><p>First line</p><p>Second <a href="https://example.com/x">link</a></p><blockquote>old stuff</blockquote></body></html>
`))
	if m.Event.Text != "First line\n\nSecond link (https://example.com/x)" {
		t.Errorf("text = %q", m.Event.Text)
	}
}

const attachmentsMsg = `
From: jane@example.com
To: support@acme.test
Subject: Invoice
Message-ID: <m3@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

See the invoice and our logo.
--alt
Content-Type: text/html; charset=utf-8

<p>See the invoice and our logo <img src="cid:logo@example.com" alt="logo"></p>
--alt--
--rel
Content-Type: image/png
Content-ID: <logo@example.com>
Content-Disposition: inline
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
--rel--
--mixed
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="=?UTF-8?Q?facture_=C3=A9t=C3=A9.pdf?="
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCg==
--mixed
Content-Type: application/octet-stream; name="setup.exe"
Content-Disposition: attachment; filename="setup.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA
--mixed--
`

func TestParseAttachmentsAndInlineImage(t *testing.T) {
	m := mustParse(t, crlf(attachmentsMsg))
	ev := m.Event
	if ev.Text != "See the invoice and our logo.\n\n[Attachments not kept: setup.exe (executable)]" {
		t.Errorf("text = %q", ev.Text)
	}
	if !strings.Contains(ev.HTML, `src="cid:logo@example.com"`) {
		t.Errorf("inline image reference lost: %q", ev.HTML)
	}
	i, ok := attachmentNamed(m, "logo@example.com")
	if !ok || ev.Attachments[i].MimeType != "image/png" || !bytes.HasPrefix(ev.Attachments[i].Data, []byte("\x89PNG")) {
		t.Errorf("inline image: %+v", ev.Attachments)
	}
	i, ok = attachmentNamed(m, "facture été.pdf")
	if !ok || ev.Attachments[i].MimeType != "application/pdf" || !bytes.HasPrefix(ev.Attachments[i].Data, []byte("%PDF-1.4")) {
		t.Errorf("pdf: %+v", ev.Attachments)
	}
	if _, ok := attachmentNamed(m, "setup.exe"); ok {
		t.Error("executable kept")
	}
	if len(ev.Attachments) != 3 {
		t.Errorf("want inline image, pdf and original.eml; got %d", len(ev.Attachments))
	}
}

func TestTrimQuoted(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"gmail":                    {"Thanks, that works.\n\nOn Mon, 24 Nov 2026 at 09:00, Acme Support <support@acme.test> wrote:\n> Please try again.\n> Regards", "Thanks, that works."},
		"wrapped attribution":      {"Yes.\n\nOn Mon, 24 Nov 2026 at 09:00, Acme Support <support@acme.test>\nwrote:\n\n> Please", "Yes."},
		"french":                   {"Merci !\n\nLe lun. 24 nov. 2026 à 09:00, Acme <support@acme.test> a écrit :\n> Bonjour", "Merci !"},
		"outlook":                  {"Sounds good.\n\nFrom: Acme Support <support@acme.test>\nSent: Monday, November 24, 2026 9:00 AM\nTo: Jane\nSubject: RE: Order\n\nPlease try again.", "Sounds good."},
		"outlook separator":        {"Ok\n\n________________________________\nFrom: Acme\nSent: today", "Ok"},
		"signature":                {"See you.\n\n-- \nJane Doe\nCEO, Example", "See you."},
		"interleaved":              {"> Which size?\nLarge.\n> Which colour?\nBlue.", "Large.\nBlue."},
		"phone":                    {"Fine\n\nSent from my iPhone", "Fine"},
		"only a quote":             {"> everything quoted", "> everything quoted"},
		"from in the text is kept": {"From: my point of view, this is fine.\nThanks", "From: my point of view, this is fine.\nThanks"},
	}
	for name, c := range cases {
		if got := trimQuoted(c.in); got != c.want {
			t.Errorf("%s: got %q, want %q", name, got, c.want)
		}
	}
}

func TestParseTrimsQuotedHistoryAndKeepsOriginal(t *testing.T) {
	raw := crlf(`
From: jane@example.com
To: support@acme.test
Subject: Re: Order late
Message-ID: <m4@example.com>
In-Reply-To: <out1@acme.test>
References: <m1@example.com> <out1@acme.test>
Content-Type: text/plain; charset=utf-8

It arrived, thanks!

-- 
Jane

On Tue, 24 Nov 2026 at 09:00, Acme Support <support@acme.test> wrote:
> We shipped it.
`)
	m := mustParse(t, raw)
	if m.Event.Text != "It arrived, thanks!" {
		t.Errorf("text = %q", m.Event.Text)
	}
	if !strings.Contains(m.FullText, "We shipped it.") {
		t.Errorf("full text = %q", m.FullText)
	}
	i, ok := attachmentNamed(m, OriginalName)
	if !ok || !bytes.Contains(m.Event.Attachments[i].Data, []byte("> We shipped it.")) {
		t.Error("original.eml missing or incomplete")
	}
	if m.InReplyTo != "<out1@acme.test>" || m.Event.ReplyToPlatformID != "<out1@acme.test>" {
		t.Errorf("in-reply-to %q", m.InReplyTo)
	}
	if strings.Join(m.References, " ") != "<m1@example.com> <out1@acme.test>" {
		t.Errorf("references %v", m.References)
	}
}

func TestParseAutomated(t *testing.T) {
	cases := map[string]string{
		"bounce": `
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: support@acme.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce1@mx.example.com>
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

The mail system could not deliver your message.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
Final-Recipient: rfc822; nobody@example.com
Action: failed
Status: 5.1.1
--r
Content-Type: text/rfc822-headers

From: support@acme.test
To: nobody@example.com
Message-ID: <out1@acme.test>
Subject: Re: Order late
--r--
`,
		"auto-submitted": `
From: jane@example.com
Subject: Out of office
Message-ID: <ooo1@example.com>
Auto-Submitted: auto-replied

I am away.
`,
		"outlook out of office": `
From: jane@example.com
Subject: Automatic reply: Order late
Message-ID: <ooo2@example.com>
X-Auto-Response-Suppress: All

I am away.
`,
		"precedence bulk": `
From: news@example.com
Subject: News
Message-ID: <n1@example.com>
Precedence: bulk

Hi.
`,
		"x-autoreply": `
From: jane@example.com
Subject: Re: Order
Message-ID: <ar@example.com>
X-Autoreply: yes

Away.
`,
		"null return path": `
Return-Path: <>
From: someone@example.com
Subject: failure
Message-ID: <rp@example.com>

Failed.
`,
	}
	for name, raw := range cases {
		m := mustParse(t, crlf(raw))
		if !m.Event.Automated {
			t.Errorf("%s: not recognised as automated", name)
		}
	}
	bounce := mustParse(t, crlf(cases["bounce"]))
	if len(bounce.References) != 1 || bounce.References[0] != "<out1@acme.test>" {
		t.Errorf("bounce should reference the bounced message: %v", bounce.References)
	}
	human := mustParse(t, crlf(`
From: jane@example.com
Subject: Question
Message-ID: <q@example.com>
X-Auto-Response-Suppress: All
Auto-Submitted: no

A real question.
`))
	if human.Event.Automated {
		t.Error("a human message with Auto-Submitted: no was marked automated")
	}
}

func TestParseMissingMessageIDIsDeterministic(t *testing.T) {
	raw := crlf("From: jane@example.com\nSubject: x\n\nbody\n")
	a, b := mustParse(t, raw), mustParse(t, raw)
	id := a.Event.PlatformMessageID
	if id != b.Event.PlatformMessageID || !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@parley.missing>") || len(id) != 1+64+len("@parley.missing>") {
		t.Errorf("id = %q / %q", id, b.Event.PlatformMessageID)
	}
	other := mustParse(t, crlf("From: jane@example.com\nSubject: x\n\nother body\n"))
	if other.Event.PlatformMessageID == id {
		t.Error("different messages share an id")
	}
}

func TestParseNoSender(t *testing.T) {
	if _, err := ParseMIME(crlf("Subject: x\n\nbody\n")); err == nil {
		t.Error("a message without From parsed")
	}
}

func TestParseSanitisesHTML(t *testing.T) {
	m := mustParse(t, crlf(`
From: attacker@example.com
Subject: hi
Message-ID: <x@example.com>
Content-Type: text/html; charset=utf-8

<p onclick="steal()">Hi <script>alert(document.cookie)</script><img src="x" onerror="alert(1)"><a href="javascript:alert(2)">click</a> <a href="https://ok.example/">ok</a><iframe src="https://evil.example"></iframe><style>body{}</style><svg onload=alert(3)></svg><a href="JaVaScRiPt:alert(4)">x</a><form action="https://evil.example"><input></form></p>
`))
	h := strings.ToLower(m.Event.HTML)
	for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "javascript:", "<iframe", "<style", "<svg", "onload", "<form", "<input"} {
		if strings.Contains(h, bad) {
			t.Errorf("sanitised HTML still has %q: %s", bad, m.Event.HTML)
		}
	}
	if !strings.Contains(m.Event.HTML, `href="https://ok.example/"`) {
		t.Errorf("safe link lost: %s", m.Event.HTML)
	}
	if strings.Contains(m.Event.Text, "alert") {
		t.Errorf("text has script content: %q", m.Event.Text)
	}
}

func TestParseBrokenInputsDoNotFail(t *testing.T) {
	for name, raw := range map[string]string{
		"unterminated multipart": "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello",
		"bad base64":             "From: a@example.com\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64",
		"unknown charset":        "From: a@example.com\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nnuqneH",
		"garbage content type":   "From: a@example.com\r\nContent-Type: ;;;\r\n\r\nhello",
		"broken from":            "From: Jane <jane@example.com\r\n\r\nhello",
	} {
		if _, err := ParseMIME([]byte(raw)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
