package sms

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/sms/fake"
)

// The vector of CHANNELS.md (and of Twilio's own SDK tests).
const (
	vectorToken     = "12345"
	vectorURL       = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
)

func vectorForm() url.Values {
	return url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}}
}

func TestSignatureVector(t *testing.T) {
	if got := Signature(vectorToken, vectorURL, vectorForm()); got != vectorSignature {
		t.Fatalf("Signature = %s, want %s", got, vectorSignature)
	}
	if got := fake.Sign(vectorToken, vectorURL, vectorForm()); got != vectorSignature {
		t.Fatalf("fake.Sign = %s, want %s", got, vectorSignature)
	}
}

// vectorPOC is a point of contact whose auth token is the vector's.
func vectorPOC(t *testing.T, settings map[string]any) *channel.PointOfContact {
	s := map[string]any{SettingAccountSID: testAccount, SettingFromNumber: "+15005550006"}
	for k, v := range settings {
		s[k] = v
	}
	return createPOC(t, New(nil, nil), s, map[string]string{CredentialAuthToken: vectorToken})
}

// vectorRequest is the vector's request as a server receives it, at
// target, carrying signature.
func vectorRequest(target, signature string, tlsOn bool) (*http.Request, []byte) {
	body := []byte(vectorForm().Encode())
	r := httptest.NewRequest(http.MethodPost, target, nil)
	if !tlsOn {
		r.TLS = nil
	} else if r.TLS == nil {
		r.TLS = &tls.ConnectionState{}
	}
	r.Header.Set(SignatureHeader, signature)
	return r, body
}

func TestAuthenticate(t *testing.T) {
	a := New(nil, nil)
	plain := vectorPOC(t, nil)
	withPort := Signature(vectorToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", vectorForm())
	cases := []struct {
		name      string
		poc       *channel.PointOfContact
		target    string
		tls       bool
		signature string
		header    map[string]string
		ok        bool
	}{
		{"vector", plain, vectorURL, true, vectorSignature, nil, true},
		{"vector behind a TLS-terminating proxy (scheme unknown)", plain, "http://mycompany.com/myapp.php?foo=1&bar=2", false, vectorSignature, nil, true},
		{"X-Forwarded-Proto https", plain, "http://mycompany.com/myapp.php?foo=1&bar=2", false, vectorSignature, map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"X-Forwarded-Proto http refuses an https signature", plain, "http://mycompany.com/myapp.php?foo=1&bar=2", false, vectorSignature, map[string]string{"X-Forwarded-Proto": "http"}, false},
		{"received with the port, signed without", plain, "https://mycompany.com:443/myapp.php?foo=1&bar=2", true, vectorSignature, nil, true},
		{"received without the port, signed with it", plain, vectorURL, true, withPort, nil, true},
		{"X-Forwarded-Host", plain, "http://10.0.0.7:8080/myapp.php?foo=1&bar=2", false, vectorSignature, map[string]string{"X-Forwarded-Host": "mycompany.com", "X-Forwarded-Proto": "https"}, true},
		{"wrong token", plain, vectorURL, true, Signature("54321", vectorURL, vectorForm()), nil, false},
		{"other URL", plain, "https://mycompany.com/myapp.php?foo=1&bar=3", true, vectorSignature, nil, false},
		{"other host", plain, "https://evil.example/myapp.php?foo=1&bar=2", true, vectorSignature, nil, false},
		{"no signature", plain, vectorURL, true, "", nil, false},
		{"configured webhook_url wins over the request URL", vectorPOC(t, map[string]any{SettingWebhookURL: vectorURL}), "http://internal:8080/webhooks/x", false, vectorSignature, nil, true},
		{"configured webhook_url with the port", vectorPOC(t, map[string]any{SettingWebhookURL: vectorURL}), "http://internal:8080/webhooks/x", false, withPort, nil, true},
		{"configured webhook_url refuses the request URL", vectorPOC(t, map[string]any{SettingWebhookURL: "https://parley.example/webhooks/x"}), vectorURL, true, vectorSignature, nil, false},
		{"status_callback_url is a candidate too", vectorPOC(t, map[string]any{SettingWebhookURL: "https://parley.example/webhooks/x", SettingStatusCallbackURL: vectorURL}), "http://internal/x", false, vectorSignature, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, body := vectorRequest(c.target, c.signature, c.tls)
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			err := a.Authenticate(r, body, c.poc)
			if c.ok && err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !c.ok && !errors.Is(err, channel.ErrUnauthenticated) {
				t.Fatalf("Authenticate = %v, want ErrUnauthenticated", err)
			}
		})
	}
	// The body's bytes are what is verified: a changed parameter fails.
	r, body := vectorRequest(vectorURL, vectorSignature, true)
	body = append(body, []byte("&Digits=9")...)
	if err := a.Authenticate(r, body, plain); err == nil {
		t.Fatal("an added parameter passed")
	}
	if a.AuthFailureStatus() != http.StatusForbidden {
		t.Fatal("AuthFailureStatus is not 403")
	}
}

func TestPortVariants(t *testing.T) {
	cases := map[string][]string{
		"https://a.example/x?y=1":      {"https://a.example/x?y=1", "https://a.example:443/x?y=1"},
		"https://a.example:8443/x":     {"https://a.example:8443/x", "https://a.example/x"},
		"http://a.example/p%2Fq?z=a+b": {"http://a.example/p%2Fq?z=a+b", "http://a.example:80/p%2Fq?z=a+b"},
		"http://[::1]:8080/x":          {"http://[::1]:8080/x", "http://[::1]/x"},
	}
	for in, want := range cases {
		got := portVariants(in)
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("portVariants(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestFakeWebhookEndToEnd: the fake's signed webhook, received by a real
// server, passes; the same with another token does not.
func TestFakeWebhookEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	var results []error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := e.a.Authenticate(r, body, e.poc)
		results = append(results, err)
		if err != nil {
			w.WriteHeader(e.a.AuthFailureStatus())
			return
		}
		e.a.Respond(w, r, nil)
	}))
	defer srv.Close()
	target := srv.URL + "/webhooks/poc-sms-1?x=1"
	resp, err := fake.SendWebhook(target, testToken, e.fk.SMS(customer, "Hello"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(out) != "<Response/>" || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("answer %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	resp, err = e.fk.SendWebhook(target, "not-the-token", e.fk.SMS(customer, "Hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong token answered %d", resp.StatusCode)
	}
}
