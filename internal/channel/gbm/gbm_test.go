package gbm

import (
	"context"
	"errors"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

func TestConfigure(t *testing.T) {
	a := New(nil, nil)
	creds := func() map[string]string {
		return map[string]string{CredentialClientToken: "ct", CredentialAccessToken: "at"}
	}
	for _, id := range []string{"a9b8c7d6", "brands/b1/agents/a9b8c7d6"} {
		cfg := &channel.Config{Creating: true, Settings: map[string]any{SettingAgentID: " " + id + " ", SettingAPIBaseURL: "https://bm.example/"}, Credentials: creds()}
		if err := a.Configure(context.Background(), cfg); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if cfg.Settings[SettingAgentID] != id || cfg.Settings[SettingAPIBaseURL] != "https://bm.example" {
			t.Fatalf("%v", cfg.Settings)
		}
	}
	for name, c := range map[string]struct {
		settings map[string]any
		creds    map[string]string
		field    string
	}{
		"no agent":           {map[string]any{}, creds(), "settings.agent_id"},
		"bad agent":          {map[string]any{SettingAgentID: "brands/x/agents/"}, creds(), "settings.agent_id"},
		"agent not a string": {map[string]any{SettingAgentID: 5.0}, creds(), "settings.agent_id"},
		"unknown setting":    {map[string]any{SettingAgentID: "a", "brand": "b"}, creds(), "settings.brand"},
		"bad base URL":       {map[string]any{SettingAgentID: "a", SettingAPIBaseURL: "businessmessages.googleapis.com"}, creds(), "settings.api_base_url"},
		"no client token":    {map[string]any{SettingAgentID: "a"}, map[string]string{CredentialAccessToken: "t"}, "credentials.client_token"},
		"no access token":    {map[string]any{SettingAgentID: "a"}, map[string]string{CredentialClientToken: "t"}, "credentials.access_token"},
		"unknown credential": {map[string]any{SettingAgentID: "a"}, map[string]string{CredentialClientToken: "t", CredentialAccessToken: "t", "service_account": "{}"}, "credentials.service_account"},
	} {
		err := a.Configure(context.Background(), &channel.Config{Creating: true, Settings: c.settings, Credentials: c.creds})
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field || ve.Reason == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPolicies(t *testing.T) {
	a := New(nil, nil)
	if a.Type() != "google_business_messages" || a.Proactive() != channel.ProactiveNever || a.MaxAttachments() != 1 {
		t.Fatalf("%s %s %d", a.Type(), a.Proactive(), a.MaxAttachments())
	}
}
