package email

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/parleyhq/parley/internal/channel"
)

func TestNormaliseSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Re: [Ticket 12] FW: Order late": "order late",
		"RE: RE: Order   Late":           "order late",
		"TR: AW: SV: Fwd: Order late":    "order late",
		"Re[2]: Order late":              "order late",
		"Order late":                     "order late",
		"[acme] Re: order late":          "order late",
	} {
		if got := NormaliseSubject(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func threadingPOC(t *testing.T, a *Adapter) *channel.PointOfContact {
	return createPOC(t, a, map[string]any{
		SettingAddress: "support@acme.test", SettingReceive: ReceiveSMTP, SettingReplyDomain: "reply.acme.test",
		SettingSMTPHost: "127.0.0.1", SettingSMTPTLS: TLSNone,
	}, nil)
}

func TestThreadingOrder(t *testing.T) {
	a := newTestAdapter(Options{})
	poc := threadingPOC(t, a)
	c := readConfig(poc)
	core := newFakeCore()
	core.sent("T-irt", "<irt@acme.test>")
	core.sent("T-ref-old", "<old@acme.test>")
	core.sent("T-ref-new", "<new@acme.test>")
	outID := uuid.New()
	core.sent("T-token", messageIDFor(c, outID))
	core.subjects = append(core.subjects, subjectEntry{"T-subject", "jane@example.com", "order late", testNow.Add(-24 * time.Hour)})
	core.subjects = append(core.subjects, subjectEntry{"T-stale", "jane@example.com", "stale subject", testNow.Add(-40 * 24 * time.Hour)})
	tok := makeToken(c, outID)
	if tok == "" {
		t.Fatal("no token")
	}
	plus := "support+" + tok + "@reply.acme.test"

	// Forge a token: a valid UUID with a tag made with another key.
	forged := readConfig(poc)
	forged.key = []byte("not the key")
	forgedTok := makeToken(forged, outID)
	otherPOC := readConfig(poc)
	otherPOC.pocID = "another-point"
	crossTok := makeToken(otherPOC, outID)

	cases := []struct {
		name, headers, want string
	}{
		{"in-reply-to first", "In-Reply-To: <irt@acme.test>\nReferences: <new@acme.test>\nTo: " + plus + "\nSubject: Re: Order late", "T-irt"},
		{"references newest first", "In-Reply-To: <unknown@x>\nReferences: <old@acme.test> <new@acme.test> <unknown2@x>\nTo: " + plus, "T-ref-new"},
		{"plus token", "To: " + plus + "\nSubject: something else entirely", "T-token"},
		{"plus token in Cc, upper-cased by a client", "To: someone@example.com\nCc: " + strings.ToUpper(plus), "T-token"},
		{"forged token refused", "To: support+" + forgedTok + "@reply.acme.test\nSubject: Hello", "<new-msg@example.com>"},
		{"token of another point of contact refused", "To: support+" + crossTok + "@reply.acme.test\nSubject: Hello", "<new-msg@example.com>"},
		{"garbage token refused", "To: support+zzzz@reply.acme.test\nSubject: Hello", "<new-msg@example.com>"},
		{"subject fallback for a reply", "To: support@acme.test\nSubject: RE: [#42] Order late", "T-subject"},
		{"subject fallback too old", "To: support@acme.test\nSubject: Re: stale subject", "<new-msg@example.com>"},
		{"same subject but not a reply opens a new thread", "To: support@acme.test\nSubject: Order late", "<new-msg@example.com>"},
		{"new thread", "To: support@acme.test\nSubject: Brand new", "<new-msg@example.com>"},
	}
	for _, tc := range cases {
		raw := "From: Jane <jane@example.com>\nMessage-ID: <new-msg@example.com>\n" + tc.headers + "\n\nHello\n"
		m := mustParse(t, crlf(raw))
		got, err := a.resolveThread(context.Background(), core, c, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: thread %q, want %q", tc.name, got, tc.want)
		}
	}

	// A token known only from the SMTP envelope (Bcc, forwarding).
	m := mustParse(t, crlf("From: jane@example.com\nMessage-ID: <e@example.com>\nSubject: x\n\nhi\n"))
	if got, _ := a.resolveThread(context.Background(), core, c, m, []string{plus}); got != "T-token" {
		t.Errorf("envelope token: %q", got)
	}
}

type failingThreads struct{}

func (failingThreads) ThreadByMessageIDs(context.Context, string, []string) (string, bool, error) {
	return "", false, errors.New("db down")
}
func (failingThreads) ThreadBySubject(context.Context, string, string, string, time.Time) (string, bool, error) {
	return "", false, errors.New("db down")
}

func TestThreadingErrorIsReturned(t *testing.T) {
	a := newTestAdapter(Options{})
	c := readConfig(threadingPOC(t, a))
	m := mustParse(t, crlf("From: jane@example.com\nIn-Reply-To: <x@y>\nMessage-ID: <e@example.com>\n\nhi\n"))
	if _, err := a.resolveThread(context.Background(), failingThreads{}, c, m, nil); err == nil {
		t.Error("a resolver error must not silently open a new thread")
	}
}
