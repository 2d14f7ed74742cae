package apple

import (
	"context"
	"errors"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

func TestConfigure(t *testing.T) {
	a := New(nil, nil)
	valid := func() *channel.Config {
		return &channel.Config{Creating: true,
			Settings:    map[string]any{SettingBusinessID: " 3b9c7e2a-51d4-4f0e-8a6b-c2d9e7f1a034 ", SettingAPIBaseURL: "https://mspgw.example.com/"},
			Credentials: map[string]string{CredentialMSPID: "0f5b2a5e-8c1d-4e7a-9b3f-2d6c1e9a7b40", CredentialMSPSecret: testSecret + "\n"}}
	}
	cfg := valid()
	if err := a.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Settings[SettingBusinessID] != "3b9c7e2a-51d4-4f0e-8a6b-c2d9e7f1a034" || cfg.Settings[SettingAPIBaseURL] != "https://mspgw.example.com" ||
		cfg.Credentials[CredentialMSPSecret] != testSecret || len(cfg.Generated) != 0 {
		t.Fatalf("not normalised: %+v", cfg)
	}
	for name, tc := range map[string]struct {
		change func(*channel.Config)
		field  string
	}{
		"no business id":      {func(c *channel.Config) { delete(c.Settings, SettingBusinessID) }, "settings.business_id"},
		"business id number":  {func(c *channel.Config) { c.Settings[SettingBusinessID] = 42.0 }, "settings.business_id"},
		"bad gateway URL":     {func(c *channel.Config) { c.Settings[SettingAPIBaseURL] = "mspgw.push.apple.com?x=1" }, "settings.api_base_url"},
		"unknown setting":     {func(c *channel.Config) { c.Settings["page_id"] = "1" }, "settings.page_id"},
		"no MSP id":           {func(c *channel.Config) { delete(c.Credentials, CredentialMSPID) }, "credentials.msp_id"},
		"no secret":           {func(c *channel.Config) { delete(c.Credentials, CredentialMSPSecret) }, "credentials.msp_secret"},
		"secret not base64":   {func(c *channel.Config) { c.Credentials[CredentialMSPSecret] = "not base64!" }, "credentials.msp_secret"},
		"secret too short":    {func(c *channel.Config) { c.Credentials[CredentialMSPSecret] = "c2hvcnQ=" }, "credentials.msp_secret"},
		"unknown credential":  {func(c *channel.Config) { c.Credentials["app_secret"] = "x" }, "credentials.app_secret"},
		"business id garbage": {func(c *channel.Config) { c.Settings[SettingBusinessID] = "a b" }, "settings.business_id"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := valid()
			tc.change(cfg)
			err := a.Configure(context.Background(), cfg)
			var ve *channel.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("got %v, want a validation error on %s", err, tc.field)
			}
		})
	}
}

func TestDefaultGateway(t *testing.T) {
	fx := newFixture(t)
	e := fx.env(t)
	if baseURL(e.poc) != e.fk.URL() {
		t.Fatal("api_base_url not used")
	}
	poc, err := fx.create(map[string]any{SettingBusinessID: "biz"}, map[string]string{CredentialMSPID: "msp", CredentialMSPSecret: testSecret})
	if err != nil || baseURL(poc) != DefaultAPIBaseURL {
		t.Fatalf("got %s", baseURL(poc))
	}
}
