package slack_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/channel/slack/fake"
)

// slack-go's own test vector (security_test.go): secret, timestamp, body
// and the signature Slack sent.
const (
	slackGoSecret    = "e6b19c573432dcc6b075501d51b51bb8"
	slackGoTimestamp = "1531431954"
	slackGoBody      = `{"token":"aF5ynEYQH0dFN9imlgcADxDB","team_id":"XXXXXXXXX","api_app_id":"YYYYYYYYY","event":{"type":"app_mention","user":"AAAAAAAAA","text":"<@EEEEEEEEE> hello world","client_msg_id":"477cc591-ch73-a14z-4db8-g0cd76321bec","ts":"1531431954.000073","channel":"TTTTTTTTT","event_ts":"1531431954.000073"},"type":"event_callback","event_id":"TvBP7LRED7","event_time":1531431954,"authed_users":["EEEEEEEEE"]}`
	slackGoSignature = "v0=adada4ed31709aef585c2580ca3267678c6a8eaeb7e0c1aca3ee57b656886b2c"
)

// Slack's documentation's worked example (Verifying requests from Slack).
const (
	docsSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docsTimestamp = "1531420618"
	docsBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docsSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSignatureVectors(t *testing.T) {
	for _, v := range []struct{ name, secret, ts, body, want string }{
		{"slack-go security_test.go", slackGoSecret, slackGoTimestamp, slackGoBody, slackGoSignature},
		{"Slack's documentation", docsSecret, docsTimestamp, docsBody, docsSignature},
	} {
		if got := slack.Signature(v.secret, v.ts, []byte(v.body)); got != v.want {
			t.Errorf("%s: adapter signature %s, want %s", v.name, got, v.want)
		}
		if got := fake.Sign(v.secret, v.ts, []byte(v.body)); got != v.want {
			t.Errorf("%s: fake signature %s, want %s", v.name, got, v.want)
		}
	}
	// Authenticate accepts slack-go's request at its own time, and refuses
	// it once the timestamp is more than 5 minutes old.
	secs, _ := strconv.ParseInt(slackGoTimestamp, 10, 64)
	at := time.Unix(secs, 0)
	now := at
	a := slack.New(nil, func() time.Time { return now })
	poc := createPOC(t, a, nil, map[string]string{slack.CredentialBotToken: fake.DefaultBotToken, slack.CredentialSigningSecret: slackGoSecret})
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set(slack.TimestampHeader, slackGoTimestamp)
	r.Header.Set(slack.SignatureHeader, slackGoSignature)
	if err := a.Authenticate(r, []byte(slackGoBody), poc); err != nil {
		t.Fatalf("slack-go vector refused: %v", err)
	}
	now = at.Add(slack.MaxSignatureAge + time.Second)
	if err := a.Authenticate(r, []byte(slackGoBody), poc); !errors.Is(err, channel.ErrUnauthenticated) {
		t.Fatalf("stale slack-go vector: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	secret := e.fk.Options().SigningSecret
	body := e.fk.Callback(fake.DirectMessage(dmChannel, customer, "Hello", t0))
	ts := strconv.FormatInt(t0.Unix(), 10)
	for _, tc := range []struct {
		name   string
		edit   func(r *http.Request)
		now    time.Time
		body   []byte
		wantOK bool
	}{
		{"valid", nil, t0, body, true},
		{"4m59s old", nil, t0.Add(4*time.Minute + 59*time.Second), body, true},
		{"exactly 5 minutes old", nil, t0.Add(5 * time.Minute), body, true},
		{"stale: 5m01s old", nil, t0.Add(5*time.Minute + time.Second), body, false},
		{"from the future: 6 minutes ahead", nil, t0.Add(-6 * time.Minute), body, false},
		{"bad signature", func(r *http.Request) { r.Header.Set(slack.SignatureHeader, fake.Sign("wrong", ts, body)) }, t0, body, false},
		{"tampered body", nil, t0, append(append([]byte(nil), body...), ' '), false},
		{"missing signature", func(r *http.Request) { r.Header.Del(slack.SignatureHeader) }, t0, body, false},
		{"missing timestamp", func(r *http.Request) { r.Header.Del(slack.TimestampHeader) }, t0, body, false},
		{"timestamp not a number", func(r *http.Request) { r.Header.Set(slack.TimestampHeader, "soon") }, t0, body, false},
		{"signature for another timestamp", func(r *http.Request) { r.Header.Set(slack.TimestampHeader, strconv.FormatInt(t0.Unix()+1, 10)) }, t0, body, false},
		{"v1 scheme", func(r *http.Request) {
			r.Header.Set(slack.SignatureHeader, "v1="+fake.Sign(secret, ts, body)[3:])
		}, t0, body, false},
		{"uppercase hex still matches", func(r *http.Request) {
			s := fake.Sign(secret, ts, body)
			r.Header.Set(slack.SignatureHeader, "v0="+string(bytes.ToUpper([]byte(s[3:]))))
		}, t0, body, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signed(secret, body, t0)
			if tc.edit != nil {
				tc.edit(r)
			}
			e.clock.Set(tc.now)
			err := e.a.Authenticate(r, tc.body, e.poc)
			if tc.wantOK && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.wantOK && !errors.Is(err, channel.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
		})
	}
}

// ingress mimics the core's inbound pipeline (internal/web/ingress.go):
// handshake, read the body, authenticate, parse, respond.
func ingress(e *env, got *[]channel.InboundEvent) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.a.Handshake(w, r, e.poc) {
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if err := e.a.Authenticate(r, body, e.poc); err != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		evs, err := e.a.Parse(r, body, e.poc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		*got = append(*got, evs...)
		e.a.Respond(w, r, nil)
	})
}

func TestURLVerification(t *testing.T) {
	e := newEnv(t)
	var got []channel.InboundEvent
	srv := httptest.NewServer(ingress(e, &got))
	defer srv.Close()
	secret := e.fk.Options().SigningSecret
	challenge := "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"

	resp, err := fake.SendWebhookAt(srv.URL, secret, fake.URLVerification(challenge), t0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != challenge || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("challenge answered %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}

	// A challenge with a wrong signature is not answered: 401.
	resp, err = fake.SendWebhookAt(srv.URL, "wrong", fake.URLVerification(challenge), t0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || bytes.Contains(b, []byte(challenge)) {
		t.Fatalf("badly signed challenge: %d %q", resp.StatusCode, b)
	}

	// Every other delivery goes through untouched, body and all: the
	// handshake only peeks.
	resp, err = fake.SendWebhookAt(srv.URL, secret, e.fk.Callback(fake.DirectMessage(dmChannel, customer, "Hello", t0)), t0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 0 || len(got) != 1 || got[0].Text != "Hello" {
		t.Fatalf("message after handshake: %d %q %+v", resp.StatusCode, b, got)
	}
	// A body longer than what the handshake peeks at arrives whole.
	long := strings.Repeat("long question ", 3000)
	resp, err = fake.SendWebhookAt(srv.URL, secret, e.fk.Callback(fake.DirectMessage(dmChannel, customer, long, t0.Add(time.Second))), t0)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(got) != 2 || got[1].Text != long {
		t.Fatalf("long message after handshake: %d, %d events", resp.StatusCode, len(got))
	}
	// A GET is no handshake.
	w := httptest.NewRecorder()
	if e.a.Handshake(w, httptest.NewRequest(http.MethodGet, "/", nil), e.poc) {
		t.Fatal("GET handled as a handshake")
	}
}
