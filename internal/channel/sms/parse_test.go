package sms

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/sms/fake"
)

func parse(t *testing.T, e *env, form url.Values) []channel.InboundEvent {
	t.Helper()
	r, body := webhook("https://parley.example/webhooks/poc-sms-1", testToken, form)
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	evs, err := e.a.Parse(r, body, e.poc)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return evs
}

func TestParseSMS(t *testing.T) {
	e := newEnv(t, nil)
	form := e.fk.SMS(customer, "Hi, where is my order? 📦")
	evs := parse(t, e, form)
	want := []channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: form.Get("MessageSid"), ThreadID: customer,
		AuthorID: customer, Text: "Hi, where is my order? 📦"}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("got %+v\nwant %+v", evs, want)
	}
	if !strings.HasPrefix(evs[0].PlatformMessageID, "SM") {
		t.Fatalf("sid %s", evs[0].PlatformMessageID)
	}
}

func TestParseMMS(t *testing.T) {
	e := newEnv(t, nil)
	png := []byte("\x89PNG\r\n\x1a\nfake image")
	form := e.fk.MMS(customer, "Two photos", fake.Media{ContentType: "image/png", Data: png}, fake.Media{ContentType: "image/jpeg", Data: []byte("jpeg")})
	evs := parse(t, e, form)
	if len(evs) != 1 || evs[0].Text != "Two photos" || len(evs[0].Attachments) != 2 || !strings.HasPrefix(evs[0].PlatformMessageID, "MM") {
		t.Fatalf("got %+v", evs)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testAccount+":"+testToken))
	for i, want := range []string{"image/png", "image/jpeg"} {
		at := evs[0].Attachments[i]
		if at.URL != form.Get("MediaUrl"+string(rune('0'+i))) || at.MimeType != want || at.Header.Get("Authorization") != wantAuth {
			t.Fatalf("attachment %d: %+v", i, at)
		}
	}
	// The core fetches each URL with the adapter's header: the fake
	// serves it then, and refuses it without.
	req, _ := http.NewRequest(http.MethodGet, evs[0].Attachments[0].URL, nil)
	req.Header = evs[0].Attachments[0].Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != string(png) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("media fetch: %d %q", resp.StatusCode, got)
	}
	resp, err = http.Get(evs[0].Attachments[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("media without credentials answered %d", resp.StatusCode)
	}
}

func TestParseKeywords(t *testing.T) {
	e := newEnv(t, nil)
	yes, no := true, false
	cases := []struct {
		body string
		want *bool
	}{
		{"STOP", &yes}, {"stop", &yes}, {"  Stop \n", &yes}, {"STOPALL", &yes}, {"unsubscribe", &yes},
		{"Cancel", &yes}, {"END", &yes}, {"quit", &yes}, {"revoke", &yes}, {"OptOut", &yes},
		{"START", &no}, {"yes", &no}, {"Unstop", &no},
		{"HELP", nil}, {"info", nil}, {"please stop", nil}, {"STOP!", nil}, {"stopp", nil}, {"", nil}, {"yes please", nil},
	}
	for _, c := range cases {
		evs := parse(t, e, e.fk.SMS(customer, c.body))
		if len(evs) != 1 || evs[0].Kind != channel.EventMessage || evs[0].Text != c.body {
			t.Fatalf("%q: %+v", c.body, evs)
		}
		got := evs[0].OptOut
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%q: OptOut = %v, want %v", c.body, deref(got), deref(c.want))
		}
	}
}

// TestParseOptOutType: Twilio's Advanced Opt-Out classification (custom or
// localised keywords) wins over the default list.
func TestParseOptOutType(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		body, optOutType string
		want             any
	}{
		{"ARRET", "STOP", true}, {"Bonjour", "START", false}, {"AIDE", "HELP", nil}, {"STOP", "HELP", nil}, {"STOP", "", true},
	} {
		f := e.fk.SMS(customer, c.body)
		if c.optOutType != "" {
			f.Set("OptOutType", c.optOutType)
		}
		evs := parse(t, e, f)
		if got := deref(evs[0].OptOut); got != c.want {
			t.Errorf("%s/%s: OptOut = %v, want %v", c.body, c.optOutType, got, c.want)
		}
	}
}

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestParseStatusCallbacks(t *testing.T) {
	e := newEnv(t, nil)
	sid := fake.NewSID("SM")
	cases := []struct {
		status, code, message string
		want                  []channel.InboundEvent
	}{
		{"queued", "", "", []channel.InboundEvent{}},
		{"sending", "", "", []channel.InboundEvent{}},
		{"sent", "", "", []channel.InboundEvent{}},
		{"accepted", "", "", []channel.InboundEvent{}},
		{"delivered", "", "", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "delivered"}}},
		{"read", "", "", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "read"}}},
		{"undelivered", "30003", "", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "failed", Reason: "ErrorCode 30003: Unreachable destination handset"}}},
		{"failed", "30007", "", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "failed", Reason: "ErrorCode 30007: Message filtered by the carrier"}}},
		{"failed", "21610", "", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "failed", Reason: "ErrorCode 21610: Attempt to send to unsubscribed recipient (the customer replied STOP)"}}},
		{"failed", "30999", "Carrier said no", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "failed", Reason: "ErrorCode 30999: Carrier said no"}}},
		{"undelivered", "30999", "", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "failed", Reason: "ErrorCode 30999"}}},
		{"failed", "", "", []channel.InboundEvent{{Kind: channel.EventStatus, StatusMessageID: sid, Status: "failed", Reason: "message failed"}}},
	}
	for _, c := range cases {
		evs := parse(t, e, fake.StatusCallback(testAccount, sid, fake.DefaultNumber, customer, c.status, c.code, c.message))
		if !reflect.DeepEqual(evs, c.want) {
			t.Errorf("%s %s: got %+v\nwant %+v", c.status, c.code, evs, c.want)
		}
	}
}

// TestDeliverCallback: a message sent through the fake with a status
// callback, then Deliver'ed, reaches a real server signed for that callback
// URL and parses to a receipt for its sid.
func TestDeliverCallback(t *testing.T) {
	var (
		mu  sync.Mutex
		got []channel.InboundEvent
		e   *env
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := e.a.Authenticate(r, body, e.poc); err != nil {
			w.WriteHeader(e.a.AuthFailureStatus())
			return
		}
		evs, err := e.a.Parse(r, body, e.poc)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, evs...)
		mu.Unlock()
		e.a.Respond(w, r, nil)
	}))
	defer srv.Close()
	// The callback URL differs from webhook_url: it is a candidate too.
	e = newEnv(t, map[string]any{SettingStatusCallbackURL: srv.URL + "/webhooks/poc-sms-1?cb=1", SettingWebhookURL: "https://parley.example/webhooks/poc-sms-1"})
	res, err := e.a.Send(t.Context(), e.poc, &channel.OutboundMessage{RecipientID: customer, Text: "Your order shipped"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"sent", "delivered"} {
		resp, err := e.fk.Deliver(res.PlatformMessageID, st)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s callback answered %d", st, resp.StatusCode)
		}
	}
	resp, err := e.fk.DeliverError(res.PlatformMessageID, "undelivered", "30005", "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []channel.InboundEvent{
		{Kind: channel.EventStatus, StatusMessageID: res.PlatformMessageID, Status: "delivered"},
		{Kind: channel.EventStatus, StatusMessageID: res.PlatformMessageID, Status: "failed", Reason: "ErrorCode 30005: Unknown destination handset"},
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if m := e.fk.Messages(); m[0].Status != "undelivered" {
		t.Fatalf("fake status %s", m[0].Status)
	}
	if _, err := e.fk.Deliver("SMnope", "delivered"); !errors.Is(err, fake.ErrNoCallback) {
		t.Fatalf("unknown sid: %v", err)
	}
}

func TestParseMalformed(t *testing.T) {
	e := newEnv(t, nil)
	base := func() url.Values { return e.fk.SMS(customer, "hi") }
	cases := map[string]func() string{
		"not a form":       func() string { return "%zz" },
		"no MessageSid":    func() string { f := base(); f.Del("MessageSid"); f.Del("SmsMessageSid"); return f.Encode() },
		"bad MessageSid":   func() string { f := base(); f.Set("MessageSid", "SM/../x"); return f.Encode() },
		"no From":          func() string { f := base(); f.Del("From"); return f.Encode() },
		"bad NumMedia":     func() string { f := base(); f.Set("NumMedia", "x"); return f.Encode() },
		"too many media":   func() string { f := base(); f.Set("NumMedia", "11"); return f.Encode() },
		"missing MediaUrl": func() string { f := base(); f.Set("NumMedia", "1"); return f.Encode() },
		"relative MediaUrl": func() string {
			f := base()
			f.Set("NumMedia", "1")
			f.Set("MediaUrl0", "/etc/passwd")
			return f.Encode()
		},
	}
	for name, body := range cases {
		_, err := e.a.Parse(nil, []byte(body()), e.poc)
		var me *channel.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("%s: err = %v, want a MalformedError", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	e := newEnv(f, nil)
	f.Add(e.fk.SMS(customer, "STOP").Encode())
	f.Add(e.fk.MMS(customer, "pic", fake.Media{ContentType: "image/png", Data: []byte("x")}).Encode())
	f.Add(fake.StatusCallback(testAccount, fake.NewSID("SM"), fake.DefaultNumber, customer, "undelivered", "30003", "").Encode())
	f.Add("MessageSid=SM1&From=%2B1&NumMedia=2&MediaUrl0=http://a/b&MediaUrl1=https://x")
	f.Add("MessageSid=SM1&MessageStatus=failed&ErrorCode=" + strings.Repeat("9", 40))
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		evs, err := e.a.Parse(nil, []byte(body), e.poc)
		if err != nil {
			var me *channel.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error is not a MalformedError: %v", err)
			}
			return
		}
		for _, ev := range evs {
			switch ev.Kind {
			case channel.EventMessage:
				if ev.PlatformMessageID == "" || ev.AuthorID == "" || len(ev.Attachments) > MaxMedia {
					t.Fatalf("bad message event %+v", ev)
				}
			case channel.EventStatus:
				if ev.StatusMessageID == "" || (ev.Status != "delivered" && ev.Status != "read" && ev.Status != "failed") {
					t.Fatalf("bad status event %+v", ev)
				}
			default:
				t.Fatalf("unknown kind %q", ev.Kind)
			}
		}
		// Authenticate never panics on any body either.
		r, _ := http.NewRequest(http.MethodPost, "https://parley.example/webhooks/x", nil)
		r.Header.Set(SignatureHeader, "x")
		_ = e.a.Authenticate(r, []byte(body), e.poc)
		_, _ = Segments(body)
	})
}
