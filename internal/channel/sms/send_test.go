package sms

import (
	"bytes"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/sms/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the form body the fake received with a golden file: the
// exact bytes sent, one parameter a line.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	got := []byte(strings.ReplaceAll(string(body), "&", "\n&") + "\n")
	path := filepath.Join("testdata", "golden", name+".form")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestSendGolden(t *testing.T) {
	photo := channel.OutboundAttachment{ID: "f1", Name: "box.jpg", MimeType: "image/jpeg", Size: 1234, URL: "https://parley.example/files/f1?sig=abc&exp=1"}
	receipt := channel.OutboundAttachment{ID: "f2", Name: "receipt.pdf", MimeType: "application/pdf", Size: 99, URL: "https://parley.example/files/f2?sig=def"}
	cases := []struct {
		name     string
		settings map[string]any
		msg      channel.OutboundMessage
	}{
		{"text", nil, channel.OutboundMessage{RecipientID: customer, Text: "Hi Ana, your order A-123 has shipped & is on its way: 🚚"}},
		{"rendered_text", nil, channel.OutboundMessage{RecipientID: customer, Text: "ignored",
			Rendered: []byte(`{"channel":"sms","type":"text","text":"Pick one:\n1. Tomorrow\n2. Friday"}`)}},
		{"mms", nil, channel.OutboundMessage{RecipientID: customer, Text: "Here are your documents", Attachments: []channel.OutboundAttachment{photo, receipt}}},
		{"mms_without_text", map[string]any{SettingStatusCallbackURL: nil}, channel.OutboundMessage{RecipientID: customer, Attachments: []channel.OutboundAttachment{photo}}},
		{"messaging_service", map[string]any{SettingFromNumber: nil, SettingMessagingServiceSID: testService}, channel.OutboundMessage{RecipientID: customer, Text: "From the pool"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.settings)
			res, err := e.a.Send(t.Context(), e.poc, &c.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			reqs := e.fk.Requests()
			if len(reqs) != 1 || len(e.fk.Messages()) != 1 {
				t.Fatalf("%d requests, %d messages", len(reqs), len(e.fk.Messages()))
			}
			if res.PlatformMessageID != e.fk.Messages()[0].SID || !strings.HasPrefix(res.PlatformMessageID, "SM") {
				t.Fatalf("sid %q, fake %q", res.PlatformMessageID, e.fk.Messages()[0].SID)
			}
			if reqs[0].ContentType != "application/x-www-form-urlencoded" || reqs[0].Path != "/2010-04-01/Accounts/"+testAccount+"/Messages.json" {
				t.Fatalf("request %s %s", reqs[0].Path, reqs[0].ContentType)
			}
			golden(t, c.name, reqs[0].Body)
		})
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t, nil)
	msg := &channel.OutboundMessage{RecipientID: customer, Text: "hello"}
	send := func() *channel.SendError {
		t.Helper()
		_, err := e.a.Send(t.Context(), e.poc, msg)
		var se *channel.SendError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a SendError", err)
		}
		return se
	}

	e.fk.FailNext(fake.RateLimited("7"))
	if se := send(); !se.Retryable || se.RetryAfter != 7*time.Second || se.Code != "20429" {
		t.Fatalf("429: %+v", se)
	}
	e.fk.FailNext(fake.RateLimited(e.clock.Now().Add(90 * time.Second).Format(http.TimeFormat)))
	if se := send(); !se.Retryable || se.RetryAfter != 90*time.Second {
		t.Fatalf("429 with a date: %+v", se)
	}
	e.fk.FailNext(fake.ServerError())
	if se := send(); !se.Retryable || se.Code != "20500" {
		t.Fatalf("500: %+v", se)
	}
	e.fk.FailNext(fake.Failure{Drop: true})
	if se := send(); !se.Retryable {
		t.Fatalf("dropped connection: %+v", se)
	}
	e.fk.FailNext(fake.Unsubscribed())
	se := send()
	if se.Retryable || se.Code != "21610" || !strings.Contains(se.Reason, "opted out") || !strings.Contains(se.Error(), "21610: ") {
		t.Fatalf("21610: %+v", se)
	}
	e.fk.Unsubscribe(customer)
	if se := send(); se.Retryable || se.Code != "21610" {
		t.Fatalf("unsubscribed number: %+v", se)
	}
	e.fk.Resubscribe(customer)

	// Refused before Twilio is called.
	before := len(e.fk.Requests())
	for name, m := range map[string]*channel.OutboundMessage{
		"too long":        {RecipientID: customer, Text: strings.Repeat("a", MaxBodyLength+1)},
		"no recipient":    {Text: "x"},
		"nothing to send": {RecipientID: customer, Text: "  "},
		"too many media":  {RecipientID: customer, Attachments: make([]channel.OutboundAttachment, MaxMedia+1)},
		"relative media":  {RecipientID: customer, Attachments: []channel.OutboundAttachment{{Name: "a", URL: "/files/a"}}},
		"bad rendered":    {RecipientID: customer, Text: "x", Rendered: []byte(`{`)},
	} {
		_, err := e.a.Send(t.Context(), e.poc, m)
		var se *channel.SendError
		if !errors.As(err, &se) || se.Retryable {
			t.Errorf("%s: %v", name, err)
		}
		if name == "too long" && !strings.Contains(se.Reason, "1601 characters (11 GSM-7 segments)") {
			t.Errorf("too long: %s", se.Reason)
		}
	}
	if len(e.fk.Requests()) != before {
		t.Fatal("a refused message reached Twilio")
	}
	// Exactly 1600 characters go.
	if _, err := e.a.Send(t.Context(), e.poc, &channel.OutboundMessage{RecipientID: customer, Text: strings.Repeat("é", MaxBodyLength)}); err != nil {
		t.Fatalf("1600 characters: %v", err)
	}

	// Wrong credentials: permanent, with Twilio's code.
	bad := newEnv(t, nil)
	bad.fk.Close()
	other, err := fake.Start(fake.Options{AuthToken: "another-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	bad.poc.Settings[SettingAPIBaseURL] = other.URL
	_, err = bad.a.Send(t.Context(), bad.poc, msg)
	var se2 *channel.SendError
	if !errors.As(err, &se2) || se2.Retryable || se2.Code != "20003" {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestConfigure(t *testing.T) {
	a := New(nil, nil)
	base := func() map[string]any {
		return map[string]any{SettingAccountSID: testAccount, SettingFromNumber: "+15005550006"}
	}
	creds := func() map[string]string { return map[string]string{CredentialAuthToken: testToken} }
	cases := []struct {
		name  string
		edit  func(s map[string]any, c map[string]string)
		field string // "" when valid
	}{
		{"valid", func(s map[string]any, c map[string]string) {}, ""},
		{"messaging service only", func(s map[string]any, c map[string]string) {
			delete(s, SettingFromNumber)
			s[SettingMessagingServiceSID] = testService
		}, ""},
		{"short code", func(s map[string]any, c map[string]string) { s[SettingFromNumber] = "12345" }, ""},
		{"alphanumeric sender", func(s map[string]any, c map[string]string) { s[SettingFromNumber] = "Parley" }, ""},
		{"all urls", func(s map[string]any, c map[string]string) {
			s[SettingAPIBaseURL] = "http://127.0.0.1:9/"
			s[SettingWebhookURL] = "https://parley.example/webhooks/x?a=1"
			s[SettingStatusCallbackURL] = "https://parley.example/webhooks/x"
		}, ""},
		{"no account", func(s map[string]any, c map[string]string) { delete(s, SettingAccountSID) }, "settings.account_sid"},
		{"bad account", func(s map[string]any, c map[string]string) { s[SettingAccountSID] = "AC123" }, "settings.account_sid"},
		{"no sender", func(s map[string]any, c map[string]string) { delete(s, SettingFromNumber) }, "settings.from_number"},
		{"bad number", func(s map[string]any, c map[string]string) { s[SettingFromNumber] = "+0123" }, "settings.from_number"},
		{"national number", func(s map[string]any, c map[string]string) { s[SettingFromNumber] = "(415) 555-0100" }, "settings.from_number"},
		{"bad service", func(s map[string]any, c map[string]string) { s[SettingMessagingServiceSID] = "MG1" }, "settings.messaging_service_sid"},
		{"number type", func(s map[string]any, c map[string]string) { s[SettingFromNumber] = 15005550006.0 }, "settings.from_number"},
		{"unknown setting", func(s map[string]any, c map[string]string) { s["sender"] = "x" }, "settings.sender"},
		{"bad api url", func(s map[string]any, c map[string]string) { s[SettingAPIBaseURL] = "ftp://x" }, "settings.api_base_url"},
		{"bad webhook url", func(s map[string]any, c map[string]string) { s[SettingWebhookURL] = "/webhooks/x" }, "settings.webhook_url"},
		{"bad callback url", func(s map[string]any, c map[string]string) { s[SettingStatusCallbackURL] = "x" }, "settings.status_callback_url"},
		{"no token", func(s map[string]any, c map[string]string) { delete(c, CredentialAuthToken) }, "credentials.auth_token"},
		{"unknown credential", func(s map[string]any, c map[string]string) { c["api_key"] = "x" }, "credentials.api_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, cr := base(), creds()
			c.edit(s, cr)
			cfg := &channel.Config{Creating: true, Settings: s, Credentials: cr}
			err := a.Configure(t.Context(), cfg)
			if c.field == "" {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				if u, ok := cfg.Settings[SettingAPIBaseURL]; ok && strings.HasSuffix(u.(string), "/") {
					t.Fatal("api_base_url keeps its trailing slash")
				}
				return
			}
			var ve *channel.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("err = %v, want a ValidationError on %s", err, c.field)
			}
		})
	}
	if a.Type() != "sms" || a.Proactive() != channel.ProactiveAllowed {
		t.Fatal("type or proactive policy")
	}
}
