package xdm

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

func TestConfigure(t *testing.T) {
	a := New(nil, nil)
	creds := func() map[string]string {
		return map[string]string{CredentialConsumerSecret: "s", CredentialAccessToken: "t"}
	}
	// A user id given as a JSON number becomes its decimal string; the
	// base URL loses its trailing slash; X is never called.
	cfg := &channel.Config{Creating: true, Settings: map[string]any{SettingUserID: float64(2244994945), SettingAPIBaseURL: "http://127.0.0.1:9/"}, Credentials: creds()}
	if err := a.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Settings[SettingUserID] != "2244994945" || cfg.Settings[SettingAPIBaseURL] != "http://127.0.0.1:9" {
		t.Fatalf("%v", cfg.Settings)
	}
	for name, c := range map[string]struct {
		settings map[string]any
		creds    map[string]string
		field    string
	}{
		"no user id":           {map[string]any{}, creds(), "settings.user_id"},
		"screen name":          {map[string]any{SettingUserID: "@parley"}, creds(), "settings.user_id"},
		"inexact number":       {map[string]any{SettingUserID: math.Pow(2, 60)}, creds(), "settings.user_id"},
		"unknown setting":      {map[string]any{SettingUserID: "1", "page_id": "2"}, creds(), "settings.page_id"},
		"bad base URL":         {map[string]any{SettingUserID: "1", SettingAPIBaseURL: "ftp://x"}, creds(), "settings.api_base_url"},
		"no consumer secret":   {map[string]any{SettingUserID: "1"}, map[string]string{CredentialAccessToken: "t"}, "credentials.consumer_secret"},
		"no access token":      {map[string]any{SettingUserID: "1"}, map[string]string{CredentialConsumerSecret: "s"}, "credentials.access_token"},
		"unknown credential":   {map[string]any{SettingUserID: "1"}, map[string]string{CredentialConsumerSecret: "s", CredentialAccessToken: "t", "app_secret": "x"}, "credentials.app_secret"},
		"blank access token":   {map[string]any{SettingUserID: "1"}, map[string]string{CredentialConsumerSecret: "s", CredentialAccessToken: "  "}, "credentials.access_token"},
		"huge consumer secret": {map[string]any{SettingUserID: "1"}, map[string]string{CredentialConsumerSecret: strings.Repeat("s", 300), CredentialAccessToken: "t"}, "credentials.consumer_secret"},
	} {
		err := a.Configure(context.Background(), &channel.Config{Creating: true, Settings: c.settings, Credentials: c.creds})
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field || ve.Reason == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Through the core's store: the same checks.
	if _, err := tryCreatePOC(t, a, map[string]any{}, creds()); err == nil {
		t.Fatal("created without a user id")
	}
}

func TestPolicies(t *testing.T) {
	a := New(nil, nil)
	if a.Type() != "x_dm" {
		t.Fatal(a.Type())
	}
	if a.Proactive() != channel.ProactiveNever {
		t.Fatalf("proactive: %s", a.Proactive())
	}
	if a.MaxAttachments() != 1 {
		t.Fatalf("attachments: %d", a.MaxAttachments())
	}
	r := a.RateLimit()
	// 200 requests per 15 minutes.
	if math.Abs(r.PerSecond*900-200) > 1e-9 || r.Burst != 15 {
		t.Fatalf("rate: %+v", r)
	}
	// No window: X DMs can be answered at any time.
	var adapter channel.Adapter = a
	if _, ok := adapter.(channel.WindowPolicy); ok {
		t.Fatal("X DMs have no reply window")
	}
}
