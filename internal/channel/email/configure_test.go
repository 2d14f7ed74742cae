package email

import (
	"context"
	"errors"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
)

func configure(settings map[string]any, creds map[string]string) (*channel.Config, error) {
	cfg := &channel.Config{Creating: true, Settings: settings, Credentials: creds, Generated: map[string]string{}}
	return cfg, New(Options{}).Configure(context.Background(), cfg)
}

func TestConfigureDefaults(t *testing.T) {
	cfg, err := configure(map[string]any{
		"address": "Support@Acme.test", "imap_host": "imap.acme.test", "smtp_host": "smtp.acme.test",
	}, map[string]string{"imap_password": "p"})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Settings
	want := map[string]any{"address": "support@acme.test", "receive": "imap", "imap_port": 993, "imap_tls": "tls", "imap_username": "support@acme.test",
		"imap_mailbox": "INBOX", "smtp_port": 587, "smtp_tls": "starttls", "reply_domain": "acme.test"}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %#v, want %#v", k, s[k], v)
		}
	}
	if cfg.Credentials[CredentialReplySecret] == "" {
		t.Error("no reply secret generated")
	}
	if len(cfg.Generated) != 0 {
		t.Error("nothing needs to be shown")
	}
	// Ports given as JSON numbers or strings.
	cfg, err = configure(map[string]any{"address": "s@a.test", "smtp_host": "smtp.a.test", "smtp_port": float64(2525), "smtp_tls": "tls"}, nil)
	if err != nil || cfg.Settings["smtp_port"] != 2525 || cfg.Settings["receive"] != "smtp" {
		t.Errorf("%v %v", err, cfg.Settings)
	}
}

func TestConfigureErrors(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"address": "support@acme.test", "smtp_host": "smtp.acme.test", "receive": "smtp"}
	}
	cases := []struct {
		name  string
		edit  func(map[string]any)
		creds map[string]string
		field string
	}{
		{"no address", func(s map[string]any) { delete(s, "address") }, nil, "settings.address"},
		{"bad address", func(s map[string]any) { s["address"] = "Support <support@acme.test>" }, nil, "settings.address"},
		{"plus address", func(s map[string]any) { s["address"] = "support+x@acme.test" }, nil, "settings.address"},
		{"unknown setting", func(s map[string]any) { s["imap_hots"] = "x" }, nil, "settings.imap_hots"},
		{"bad receive", func(s map[string]any) { s["receive"] = "pop3" }, nil, "settings.receive"},
		{"imap without host", func(s map[string]any) { s["receive"] = "imap" }, map[string]string{"imap_password": "p"}, "settings.imap_host"},
		{"imap without password", func(s map[string]any) { s["receive"] = "both"; s["imap_host"] = "imap.acme.test" }, nil, "credentials.imap_password"},
		{"imap settings with smtp receive", func(s map[string]any) { s["imap_host"] = "imap.acme.test" }, nil, "settings.imap_host"},
		{"no smtp host", func(s map[string]any) { delete(s, "smtp_host") }, nil, "settings.smtp_host"},
		{"smtp host with scheme", func(s map[string]any) { s["smtp_host"] = "smtp://x" }, nil, "settings.smtp_host"},
		{"bad port", func(s map[string]any) { s["smtp_port"] = float64(70000) }, nil, "settings.smtp_port"},
		{"bad tls", func(s map[string]any) { s["smtp_tls"] = "ssl" }, nil, "settings.smtp_tls"},
		{"user without password", func(s map[string]any) { s["smtp_username"] = "u" }, nil, "credentials.smtp_password"},
		{"password without user", func(s map[string]any) {}, map[string]string{"smtp_password": "p"}, "settings.smtp_username"},
		{"clear-text password to a remote server", func(s map[string]any) { s["smtp_username"] = "u"; s["smtp_tls"] = "none" }, map[string]string{"smtp_password": "p"}, "settings.smtp_tls"},
		{"unknown credential", func(s map[string]any) {}, map[string]string{"api_key": "x"}, "credentials.api_key"},
		{"bad reply domain", func(s map[string]any) { s["reply_domain"] = "not a domain" }, nil, "settings.reply_domain"},
		{"header injection", func(s map[string]any) { s["display_name"] = "Acme\r\nBcc: x@y" }, nil, "settings.display_name"},
		{"non-string", func(s map[string]any) { s["display_name"] = 3.0 }, nil, "settings.display_name"},
	}
	for _, c := range cases {
		s := base()
		c.edit(s)
		_, err := configure(s, c.creds)
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field {
			t.Errorf("%s: got %v, want an error on %s", c.name, err, c.field)
		}
	}
	// Clear text is fine on loopback (a local relay, tests).
	s := base()
	s["smtp_host"], s["smtp_tls"], s["smtp_username"] = "127.0.0.1", "none", "u"
	if _, err := configure(s, map[string]string{"smtp_password": "p"}); err != nil {
		t.Errorf("loopback clear text: %v", err)
	}
}
