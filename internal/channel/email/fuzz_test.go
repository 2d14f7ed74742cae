package email

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseMIME: no input makes the parser panic, and what it returns is
// always usable (valid UTF-8, an author and an id, bounded text).
//
//	go test ./internal/channel/email -run '^$' -fuzz '^FuzzParseMIME$' -fuzztime 2m
func FuzzParseMIME(f *testing.F) {
	for _, s := range []string{plainMsg, attachmentsMsg,
		"From: a@example.com\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\n\n--r\nContent-Type: text/rfc822-headers\n\nMessage-ID: <x@y>\n--r--\n",
		"From: =?utf-8?B?SmFuZQ==?= <a@example.com>\nSubject: =?iso-8859-1?q?caf=E9?=\nContent-Type: text/html; charset=windows-1252\n\n<p onclick=x>caf\xe9<script>x</script></p>",
		"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: multipart/mixed; boundary=y\n\n--y\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--y--\n--x--\n",
		"From: a@example.com\nIn-Reply-To: <a@b> <c@d>\nReferences: garbage <e@f>\n\nhi\n\nOn Mon, x wrote:\n> q\n",
	} {
		f.Add([]byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n")))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseMIME(raw, 1<<20)
		if err != nil {
			return
		}
		ev := m.Event
		if ev.AuthorID == "" || ev.PlatformMessageID == "" {
			t.Fatalf("no author or id: %+v", ev)
		}
		for _, s := range []string{ev.Text, ev.HTML, ev.Subject, ev.AuthorName, ev.AuthorID} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
		}
		if len(ev.Text) > MaxTextLength || len(ev.HTML) > MaxHTMLLength {
			t.Fatal("text or HTML over the limit")
		}
		if strings.Contains(strings.ToLower(ev.HTML), "<script") {
			t.Fatalf("script in HTML: %q", ev.HTML)
		}
	})
}
