package viber

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

func TestConfigure(t *testing.T) {
	a := New(nil, nil)
	good := func() *channel.Config {
		return &channel.Config{Creating: true, Settings: map[string]any{SettingSenderName: "  Acme Support ", SettingAPIBaseURL: "https://chatapi.viber.com/"},
			Credentials: map[string]string{CredentialAuthToken: "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"}, Generated: map[string]string{}}
	}
	cfg := good()
	if err := a.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Settings[SettingSenderName] != "Acme Support" || cfg.Settings[SettingAPIBaseURL] != "https://chatapi.viber.com" {
		t.Fatalf("not normalised: %v", cfg.Settings)
	}
	empty := &channel.Config{Credentials: map[string]string{CredentialAuthToken: "tok"}}
	if err := a.Configure(context.Background(), empty); err != nil {
		t.Fatalf("no settings at all: %v", err)
	}
	cases := map[string]struct {
		edit  func(*channel.Config)
		field string
	}{
		"no token":          {func(c *channel.Config) { delete(c.Credentials, CredentialAuthToken) }, "credentials.auth_token"},
		"token with spaces": {func(c *channel.Config) { c.Credentials[CredentialAuthToken] = "a b" }, "credentials.auth_token"},
		"unknown cred":      {func(c *channel.Config) { c.Credentials["app_secret"] = "x" }, "credentials.app_secret"},
		"unknown setting":   {func(c *channel.Config) { c.Settings["page_id"] = "1" }, "settings.page_id"},
		"long sender":       {func(c *channel.Config) { c.Settings[SettingSenderName] = strings.Repeat("é", 29) }, "settings.sender_name"},
		"sender not string": {func(c *channel.Config) { c.Settings[SettingSenderName] = 7 }, "settings.sender_name"},
		"bad avatar":        {func(c *channel.Config) { c.Settings[SettingSenderAvatar] = "ftp://x/y.png" }, "settings.sender_avatar"},
		"bad base URL":      {func(c *channel.Config) { c.Settings[SettingAPIBaseURL] = "chatapi.viber.com" }, "settings.api_base_url"},
	}
	for name, c := range cases {
		cfg := good()
		c.edit(cfg)
		err := a.Configure(context.Background(), cfg)
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field {
			t.Errorf("%s: %v, want a ValidationError on %s", name, err, c.field)
		}
	}
	// 28 characters is fine, in any script.
	cfg = good()
	cfg.Settings[SettingSenderName] = strings.Repeat("é", 28)
	if err := a.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// TestConfigureThroughStore: a point of contact is created with the core's
// store, api_base_url defaulting to Viber's.
func TestConfigureThroughStore(t *testing.T) {
	a := New(nil, nil)
	ps := newPointStore(t, a)
	poc, err := ps.create(t, "Viber", map[string]any{}, map[string]string{CredentialAuthToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if baseURL(poc) != DefaultAPIBaseURL || senderName(poc) != "Viber" || poc.Credential(CredentialAuthToken) != "tok" {
		t.Fatalf("%s %s", baseURL(poc), senderName(poc))
	}
	if _, err := ps.create(t, "Viber", nil, nil); err == nil {
		t.Fatal("created without a token")
	}
}

func TestPolicies(t *testing.T) {
	a := New(nil, nil)
	if a.Type() != "viber" || a.Proactive() != channel.ProactiveNever || a.MaxAttachments() != 1 {
		t.Fatalf("%s %s %d", a.Type(), a.Proactive(), a.MaxAttachments())
	}
	if r := a.RateLimit(); r.PerSecond != 50 || r.Burst != 50 {
		t.Fatalf("%+v", r)
	}
	w := httptest.NewRecorder()
	a.Respond(w, httptest.NewRequest("POST", "/", nil), nil)
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Fatalf("acknowledgement %d %q", w.Code, w.Body.String())
	}
}
