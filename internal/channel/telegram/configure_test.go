package telegram

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

const validToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

func TestConfigure(t *testing.T) {
	a := New(nil, clock)
	configure := func(creating bool, settings map[string]any, creds map[string]string) (*channel.Config, error) {
		cfg := &channel.Config{Creating: creating, Settings: settings, Credentials: creds, Generated: map[string]string{}}
		return cfg, a.Configure(context.Background(), cfg)
	}
	// Creation generates the webhook secret, in Telegram's alphabet, shown once.
	cfg, err := configure(true, nil, map[string]string{CredentialBotToken: " " + validToken + " "})
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Credentials[CredentialSecretToken]
	if !secretToken.MatchString(st) || !strings.HasPrefix(st, SecretTokenPrefix) || len(st) < 40 || cfg.Generated[CredentialSecretToken] != st {
		t.Fatalf("secret %q, generated %v", st, cfg.Generated)
	}
	if cfg.Credentials[CredentialBotToken] != validToken {
		t.Fatalf("token not trimmed: %q", cfg.Credentials[CredentialBotToken])
	}
	other, _ := configure(true, nil, map[string]string{CredentialBotToken: validToken})
	if other.Credentials[CredentialSecretToken] == st {
		t.Fatal("two generated secrets are equal")
	}
	// A given secret is kept, not shown again; the API URL is normalised.
	cfg, err = configure(true, map[string]any{SettingAPIBaseURL: "https://tg.internal.example/ "}, map[string]string{CredentialBotToken: validToken, CredentialSecretToken: "my-own_secret"})
	if err != nil || cfg.Credentials[CredentialSecretToken] != "my-own_secret" || len(cfg.Generated) != 0 || cfg.Settings[SettingAPIBaseURL] != "https://tg.internal.example" {
		t.Fatalf("%v %+v", err, cfg)
	}
	// An update keeping its secret is fine; an empty API URL means the default.
	cfg, err = configure(false, map[string]any{SettingAPIBaseURL: ""}, map[string]string{CredentialBotToken: validToken, CredentialSecretToken: "kept"})
	if err != nil || len(cfg.Settings) != 0 {
		t.Fatalf("%v %+v", err, cfg.Settings)
	}
	for _, tc := range []struct {
		name     string
		creating bool
		settings map[string]any
		creds    map[string]string
		field    string
	}{
		{"no token", true, nil, nil, "credentials.bot_token"},
		{"not a token", true, nil, map[string]string{CredentialBotToken: "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}, "credentials.bot_token"},
		{"token with a space", true, nil, map[string]string{CredentialBotToken: "123:AA BB"}, "credentials.bot_token"},
		{"bad secret", true, nil, map[string]string{CredentialBotToken: validToken, CredentialSecretToken: "has spaces"}, "credentials.secret_token"},
		{"secret too long", true, nil, map[string]string{CredentialBotToken: validToken, CredentialSecretToken: strings.Repeat("a", 257)}, "credentials.secret_token"},
		{"secret removed", false, nil, map[string]string{CredentialBotToken: validToken}, "credentials.secret_token"},
		{"unknown credential", true, nil, map[string]string{CredentialBotToken: validToken, "app_secret": "x"}, "credentials.app_secret"},
		{"unknown setting", true, map[string]any{"page_id": "1"}, map[string]string{CredentialBotToken: validToken}, "settings.page_id"},
		{"API URL not a string", true, map[string]any{SettingAPIBaseURL: 5}, map[string]string{CredentialBotToken: validToken}, "settings.api_base_url"},
		{"API URL relative", true, map[string]any{SettingAPIBaseURL: "api.telegram.org"}, map[string]string{CredentialBotToken: validToken}, "settings.api_base_url"},
		{"API URL with query", true, map[string]any{SettingAPIBaseURL: "https://a.example/?x=1"}, map[string]string{CredentialBotToken: validToken}, "settings.api_base_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(tc.creating, tc.settings, tc.creds)
			var ve *channel.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || ve.Reason == "" {
				t.Fatalf("got %v, want a ValidationError on %s", err, tc.field)
			}
		})
	}
	if a.Type() != "telegram" {
		t.Fatal(a.Type())
	}
}

// TestDefaultAPIBaseURL: without the setting, calls go to Telegram.
func TestDefaultAPIBaseURL(t *testing.T) {
	if got := methodURL(&channel.PointOfContact{}, "getMe"); got != "https://api.telegram.org/bot/getMe" {
		t.Fatal(got)
	}
}
