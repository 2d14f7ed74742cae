package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
)

// SignatureHeader carries Twilio's webhook signature.
const SignatureHeader = "X-Twilio-Signature"

// Signature computes Twilio's webhook signature: base64(HMAC-SHA1(auth
// token, the full URL followed by every POST parameter's name and value,
// sorted by name; the values of a repeated name sorted too)).
func Signature(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Authenticate checks X-Twilio-Signature over the form parsed from the raw
// body, against the configured webhook_url and status_callback_url, or,
// without a webhook_url, the URL of the request as received (scheme from
// TLS or X-Forwarded-Proto, else both http and https); each with and without
// the port, as Twilio's SDKs do. Comparisons are constant-time.
func (a *Adapter) Authenticate(r *http.Request, body []byte, poc *channel.PointOfContact) error {
	token := poc.Credential(CredentialAuthToken)
	got := r.Header.Get(SignatureHeader)
	if token == "" || got == "" || len(got) > 128 {
		return channel.ErrUnauthenticated
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return channel.ErrUnauthenticated
	}
	ok := false
	for _, u := range candidateURLs(r, poc) {
		// Every candidate is checked, so the time taken does not tell
		// which one (if any) matched.
		if subtle.ConstantTimeCompare([]byte(Signature(token, u, form)), []byte(got)) == 1 {
			ok = true
		}
	}
	if !ok {
		return channel.ErrUnauthenticated
	}
	return nil
}

// candidateURLs lists the URLs Twilio may have signed, each with its port
// variants, without duplicates.
func candidateURLs(r *http.Request, poc *channel.PointOfContact) []string {
	var bases []string
	if w := poc.SettingString(SettingWebhookURL); w != "" {
		bases = append(bases, w)
	} else if r != nil && r.URL != nil {
		bases = append(bases, requestURLs(r)...)
	}
	if s := poc.SettingString(SettingStatusCallbackURL); s != "" {
		bases = append(bases, s)
	}
	var out []string
	seen := map[string]bool{}
	for _, b := range bases {
		for _, v := range portVariants(b) {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// requestURLs rebuilds the URL a request was sent to.
func requestURLs(r *http.Request) []string {
	var schemes []string
	switch proto := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0])); {
	case r.TLS != nil:
		schemes = []string{"https"}
	case proto == "https" || proto == "http":
		schemes = []string{proto}
	default:
		schemes = []string{"https", "http"}
	}
	hosts := []string{r.Host}
	if fh := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Host"), ",")[0]); fh != "" && fh != r.Host {
		hosts = append(hosts, fh)
	}
	if r.Host == "" && r.URL.Host != "" {
		hosts = []string{r.URL.Host}
	}
	uri := r.URL.RequestURI()
	if r.URL.IsAbs() {
		// A proxy-style request line: keep only the path and query.
		uri = (&url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}).RequestURI()
	}
	var out []string
	for _, s := range schemes {
		for _, h := range hosts {
			if h != "" {
				out = append(out, s+"://"+h+uri)
			}
		}
	}
	return out
}

// portVariants returns u as given plus u with its port removed (when it
// has one) or with the scheme's default port added (when it has none). The
// rest of the URL is kept byte for byte.
func portVariants(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return []string{raw}
	}
	prefix := u.Scheme + "://" + u.Host
	if len(raw) < len(prefix) || !strings.EqualFold(raw[:len(prefix)], prefix) {
		return []string{raw}
	}
	rest := raw[len(prefix):]
	host, port, err := net.SplitHostPort(u.Host)
	if err == nil {
		if port == "" {
			return []string{raw}
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return []string{raw, u.Scheme + "://" + host + rest}
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return []string{raw}
	}
	return []string{raw, u.Scheme + "://" + net.JoinHostPort(strings.Trim(u.Host, "[]"), def) + rest}
}
