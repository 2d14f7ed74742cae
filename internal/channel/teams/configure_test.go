package teams_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/teams"
)

func TestConfigure(t *testing.T) {
	a := teams.New(nil, nil)
	pocs := newPOCStore(t, a)
	const appID = "8E3C4F5A-1B2D-4C6E-9F70-A1B2C3D4E5F6"
	good := func() (map[string]any, map[string]string) {
		return map[string]any{}, map[string]string{"app_id": appID, "app_password": "s3cr3t~value"}
	}
	s, c := good()
	poc := pocs.mustCreate(s, c)
	if poc.Credential("app_id") != "8e3c4f5a-1b2d-4c6e-9f70-a1b2c3d4e5f6" || poc.Credential("app_password") != "s3cr3t~value" {
		t.Fatalf("credentials not kept (app id lowered): %q", poc.Credential("app_id"))
	}
	if len(poc.Settings) != 0 {
		t.Fatalf("defaults are not written into the settings: %v", poc.Settings)
	}
	// The allow-list may be typed as one string; it is stored as a list.
	s, c = good()
	s["service_url_allowlist"] = "smba.trafficmanager.net, *.botframework.com  http://127.0.0.1:8080/amer/"
	s["token_url"] = " https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token "
	poc = pocs.mustCreate(s, c)
	if want := []any{"smba.trafficmanager.net", "*.botframework.com", "http://127.0.0.1:8080/amer/"}; !reflect.DeepEqual(poc.Settings["service_url_allowlist"], want) {
		t.Fatalf("allow-list stored as %#v", poc.Settings["service_url_allowlist"])
	}
	if poc.SettingString("token_url") != "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token" {
		t.Fatalf("token_url %q", poc.SettingString("token_url"))
	}
	for _, tc := range []struct {
		name  string
		edit  func(map[string]any, map[string]string)
		field string
	}{
		{"no app id", func(s map[string]any, c map[string]string) { delete(c, "app_id") }, "credentials.app_id"},
		{"app id not a GUID", func(s map[string]any, c map[string]string) { c["app_id"] = "my-bot" }, "credentials.app_id"},
		{"no password", func(s map[string]any, c map[string]string) { delete(c, "app_password") }, "credentials.app_password"},
		{"password with spaces around", func(s map[string]any, c map[string]string) { c["app_password"] = " x " }, "credentials.app_password"},
		{"unknown credential", func(s map[string]any, c map[string]string) { c["tenant_id"] = "x" }, "credentials.tenant_id"},
		{"unknown setting", func(s map[string]any, c map[string]string) { s["api_base_url"] = "https://smba.trafficmanager.net" }, "settings.api_base_url"},
		{"metadata URL not a URL", func(s map[string]any, c map[string]string) { s["openid_metadata_url"] = "login.botframework.com" }, "settings.openid_metadata_url"},
		{"token URL not a string", func(s map[string]any, c map[string]string) { s["token_url"] = 1 }, "settings.token_url"},
		{"allow-list: a wildcard at the end", func(s map[string]any, c map[string]string) { s["service_url_allowlist"] = []any{"smba.*"} }, "settings.service_url_allowlist"},
		{"allow-list: a whole top-level domain", func(s map[string]any, c map[string]string) { s["service_url_allowlist"] = "*.net" }, "settings.service_url_allowlist"},
		{"allow-list: not strings", func(s map[string]any, c map[string]string) { s["service_url_allowlist"] = []any{1} }, "settings.service_url_allowlist"},
		{"allow-list: a URL with a query", func(s map[string]any, c map[string]string) {
			s["service_url_allowlist"] = []any{"https://smba.trafficmanager.net/amer/?x=1"}
		}, "settings.service_url_allowlist"},
	} {
		s, c := good()
		tc.edit(s, c)
		_, err := pocs.create(s, c)
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
		}
	}
}
