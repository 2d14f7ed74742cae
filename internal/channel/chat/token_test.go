package chat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
)

const testSecret = "chatid_0123456789abcdefghijklmnopqrstuvwxyz"

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func TestSessionTokens(t *testing.T) {
	s := session{PoC: "poc1", VisitorID: "v_abc", Email: "ana@example.com", IssuedAt: t0.Unix(), Expires: t0.Add(time.Hour).Unix()}
	tok := signSession(testSecret, s)
	got, err := verifySession(testSecret, "poc1", tok, t0)
	if err != nil || got.VisitorID != "v_abc" || got.Email != "ana@example.com" {
		t.Fatalf("genuine: %+v %v", got, err)
	}
	if _, err := verifySession(testSecret, "poc1", tok, t0.Add(2*time.Hour)); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("expired: %v", err)
	}
	// Forgeries: another visitor id with the old signature, another secret,
	// another point of contact, garbage.
	i := strings.LastIndexByte(tok, '.')
	forgedClaims, _ := json.Marshal(session{PoC: "poc1", VisitorID: "v_victim", IssuedAt: t0.Unix(), Expires: t0.Add(time.Hour).Unix()})
	forged := sessionPrefix + base64.RawURLEncoding.EncodeToString(forgedClaims) + tok[i:]
	for name, bad := range map[string]string{
		"swapped claims": forged,
		"other secret":   signSession(testSecret+"x", s),
		"truncated sig":  tok[:len(tok)-2],
		"no sig":         tok[:i],
		"empty":          "",
		"prefix only":    sessionPrefix,
		"jwt-looking":    "a.b.c",
	} {
		if _, err := verifySession(testSecret, "poc1", bad, t0); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := verifySession(testSecret, "poc2", tok, t0); !errors.Is(err, ErrBadToken) {
		t.Errorf("other point of contact: %v", err)
	}
	if _, err := verifySession("", "poc1", tok, t0); !errors.Is(err, ErrBadToken) {
		t.Errorf("no secret: %v", err)
	}
}

func jwt(t *testing.T, secret string, header, claims any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	body := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func simpleToken(secret string, claims any, enc *base64.Encoding) string {
	c, _ := json.Marshal(claims)
	p := enc.EncodeToString(c)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(p))
	return p + "." + hex.EncodeToString(m.Sum(nil))
}

func TestIdentityTokens(t *testing.T) {
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	ok := map[string]any{"sub": "user-42", "name": "Ana", "email": "ana@example.com", "exp": t0.Add(time.Hour).Unix()}
	for name, tok := range map[string]string{
		"jwt":              jwt(t, testSecret, hs, ok),
		"simple std":       simpleToken(testSecret, ok, base64.StdEncoding),
		"simple url raw":   simpleToken(testSecret, ok, base64.RawURLEncoding),
		"jwt float exp":    jwt(t, testSecret, hs, map[string]any{"sub": "user-42", "exp": float64(t0.Unix()) + 10.5}),
		"jwt past nbf":     jwt(t, testSecret, hs, map[string]any{"sub": "user-42", "exp": t0.Add(time.Hour).Unix(), "nbf": t0.Add(-time.Hour).Unix()}),
		"jwt bad email ok": jwt(t, testSecret, hs, map[string]any{"sub": "user-42", "exp": t0.Add(time.Hour).Unix(), "email": "not an email"}),
	} {
		id, err := VerifyIdentityToken(testSecret, tok, t0)
		if err != nil || id.Subject != "user-42" {
			t.Errorf("%s: %+v %v", name, id, err)
		}
		if name == "jwt" && (id.Name != "Ana" || id.Email != "ana@example.com") {
			t.Errorf("claims: %+v", id)
		}
		if name == "jwt bad email ok" && id.Email != "" {
			t.Errorf("an invalid email must be dropped: %q", id.Email)
		}
	}
	expired := map[string]any{"sub": "user-42", "exp": t0.Add(-time.Second).Unix()}
	if _, err := VerifyIdentityToken(testSecret, jwt(t, testSecret, hs, expired), t0); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("expired jwt: %v", err)
	}
	if _, err := VerifyIdentityToken(testSecret, simpleToken(testSecret, expired, base64.StdEncoding), t0); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("expired simple: %v", err)
	}
	good := jwt(t, testSecret, hs, ok)
	parts := strings.Split(good, ".")
	otherClaims, _ := json.Marshal(map[string]any{"sub": "admin", "exp": t0.Add(time.Hour).Unix()})
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	for name, tok := range map[string]string{
		"wrong secret":     jwt(t, "other-secret-other-secret-other-secret", hs, ok),
		"alg none":         unsigned,
		"alg HS512":        jwt(t, testSecret, map[string]any{"alg": "HS512"}, ok),
		"alg RS256":        jwt(t, testSecret, map[string]any{"alg": "RS256"}, ok),
		"swapped payload":  parts[0] + "." + base64.RawURLEncoding.EncodeToString(otherClaims) + "." + parts[2],
		"no exp":           jwt(t, testSecret, hs, map[string]any{"sub": "user-42"}),
		"no sub":           jwt(t, testSecret, hs, map[string]any{"exp": t0.Add(time.Hour).Unix()}),
		"control in sub":   jwt(t, testSecret, hs, map[string]any{"sub": "a\nb", "exp": t0.Add(time.Hour).Unix()}),
		"future nbf":       jwt(t, testSecret, hs, map[string]any{"sub": "u", "exp": t0.Add(time.Hour).Unix(), "nbf": t0.Add(time.Hour).Unix()}),
		"simple forged":    simpleToken("other-secret", ok, base64.StdEncoding),
		"simple not hex":   strings.Split(simpleToken(testSecret, ok, base64.StdEncoding), ".")[0] + ".zz",
		"garbage":          "hello",
		"four parts":       good + ".x",
		"crit header":      jwt(t, testSecret, map[string]any{"alg": "HS256", "crit": []string{"x"}}, ok),
		"exp not a number": jwt(t, testSecret, hs, map[string]any{"sub": "u", "exp": "tomorrow"}),
	} {
		if _, err := VerifyIdentityToken(testSecret, tok, t0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := VerifyIdentityToken("", good, t0); err == nil {
		t.Error("empty secret accepted")
	}
}

func TestConfigure(t *testing.T) {
	a := New(Options{})
	cfg := &channel.Config{Creating: true, Settings: map[string]any{SettingAllowedOrigins: []any{"https://Shop.example/"}, SettingPrechatForm: map[string]any{
		"enabled": true, "fields": []any{map[string]any{"name": "email", "label": "Email", "type": "email", "required": true}}}},
		Credentials: map[string]string{}, Generated: map[string]string{}}
	if err := a.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if sec := cfg.Generated[CredentialIdentitySecret]; sec == "" || cfg.Credentials[CredentialIdentitySecret] != sec {
		t.Fatalf("secret not generated: %+v", cfg)
	}
	if o := cfg.Settings[SettingAllowedOrigins].([]any); len(o) != 1 || o[0] != "https://shop.example" {
		t.Errorf("origins not normalised: %v", o)
	}
	if cfg.Settings[SettingOfflineEmailAfter] != "10m0s" || cfg.Settings[SettingMaxMessageLength] != float64(4000) {
		t.Errorf("defaults: %v", cfg.Settings)
	}
	bad := map[string]map[string]any{
		"settings.allowed_origins":     {},
		"settings.allowed_origins ":    {SettingAllowedOrigins: []any{"https://shop.example/path"}},
		"settings.allowed_origins  ":   {SettingAllowedOrigins: []any{"javascript:alert(1)"}},
		"settings.offline_email_after": {SettingAllowAnyOrigin: true, SettingOfflineEmailAfter: "soon"},
		"settings.max_message_length":  {SettingAllowAnyOrigin: true, SettingMaxMessageLength: 1e9},
		"settings.prechat_form":        {SettingAllowAnyOrigin: true, SettingPrechatForm: map[string]any{"enabled": true}},
		"settings.prechat_form.fields[0].type": {SettingAllowAnyOrigin: true, SettingPrechatForm: map[string]any{"enabled": true,
			"fields": []any{map[string]any{"name": "x", "label": "X", "type": "date"}}}},
		"settings.colour": {SettingAllowAnyOrigin: true, "colour": "red"},
	}
	for want, s := range bad {
		err := a.Configure(context.Background(), &channel.Config{Creating: true, Settings: s, Credentials: map[string]string{}, Generated: map[string]string{}})
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != strings.TrimSpace(want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	// An update cannot remove the secret.
	err := a.Configure(context.Background(), &channel.Config{Settings: map[string]any{SettingAllowAnyOrigin: true}, Credentials: map[string]string{}, Generated: map[string]string{}})
	if err == nil {
		t.Error("secret removal accepted")
	}
}
