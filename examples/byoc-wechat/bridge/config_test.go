package bridge

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("whsec_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"WECHAT_TOKEN": "tok", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s3cret",
		"PARLEY_URL": "http://127.0.0.1:8080/", "PARLEY_POC_ID": "poc-1", "PARLEY_BYOC_TOKEN": "byoc_x",
		"PARLEY_BYOC_SECRET_FILE": secretFile, "WECHAT_REPLY_LIMIT": "3",
	}
	c, err := LoadConfig([]string{"-addr", "127.0.0.1:0", "-reply-window", "24h"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "127.0.0.1:0", WeChatToken: "tok", AppID: "wx1", AppSecret: "s3cret", WeChatAPIURL: DefaultWeChatAPI,
		ParleyURL: "http://127.0.0.1:8080", PointOfContactID: "poc-1", ParleyToken: "byoc_x", ParleySecret: "whsec_from_file",
		ReplyWindow: 24 * time.Hour, ReplyLimit: 3, EnforcePolicy: true, SendTimeout: 20 * time.Second}
	if c != want {
		t.Fatalf("config\n%+v\nwant\n%+v", c, want)
	}
	// A flag wins over the environment.
	if c, _ := LoadConfig([]string{"-wechat-app-id", "wx2"}, envOf(env), io.Discard); c.AppID != "wx2" {
		t.Fatalf("AppID %q", c.AppID)
	}
	if _, err := LoadConfig([]string{"-h"}, envOf(env), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	_, err := LoadConfig(nil, envOf(map[string]string{"PARLEY_URL": "ftp://x", "WECHAT_ENCODING_AES_KEY": "short",
		"WECHAT_REPLY_WINDOW": "soon", "WECHAT_ENFORCE_POLICY": "maybe", "PARLEY_BYOC_TOKEN_FILE": "/nonexistent/file"}), io.Discard)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "PARLEY_POC_ID", "PARLEY_BYOC_SECRET",
		"PARLEY_BYOC_TOKEN_FILE", `PARLEY_URL "ftp://x"`, "WECHAT_ENCODING_AES_KEY", "WECHAT_REPLY_WINDOW", "WECHAT_ENFORCE_POLICY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the errors do not name %s:\n%v", want, err)
		}
	}
}
