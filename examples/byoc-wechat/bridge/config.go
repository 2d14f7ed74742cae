package bridge

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is everything the middleware is told at start.
type Config struct {
	Addr string // where to listen: /wechat for WeChat, /parley for Parley's callbacks

	WeChatToken    string // the token typed in WeChat's console (signs WeChat's pushes)
	AppID          string
	AppSecret      string
	EncodingAESKey string // safe (encrypted) mode; empty: plaintext mode only
	WeChatAPIURL   string // DefaultWeChatAPI, or a fake

	ParleyURL        string
	PointOfContactID string
	ParleyToken      string // "byoc_…": to call Parley
	ParleySecret     string // "whsec_…": to verify Parley's callbacks

	ReplyWindow   time.Duration // WeChat's reply window (48h)
	ReplyLimit    int           // messages per customer message (5)
	EnforcePolicy bool          // refuse locally what WeChat would refuse
	SendTimeout   time.Duration // the WeChat side of one callback
}

// Default listen address.
const DefaultAddr = "127.0.0.1:9091"

type option struct {
	flag, env, def, usage string
	secret                bool // also NAME_FILE
	dst                   *string
}

// LoadConfig reads flags (args) and, for what no flag sets, the environment.
// Secrets may also come from files: NAME_FILE names a file holding NAME.
// Usage goes to usage on -h (the error is then flag.ErrHelp).
func LoadConfig(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	var c Config
	var window, limit, enforce, timeout string
	opts := []option{
		{"addr", "WECHAT_MIDDLEWARE_ADDR", DefaultAddr, "listen address", false, &c.Addr},
		{"wechat-token", "WECHAT_TOKEN", "", "the Token set in WeChat's console (server configuration)", true, &c.WeChatToken},
		{"wechat-app-id", "WECHAT_APP_ID", "", "the Official Account's AppID", false, &c.AppID},
		{"wechat-app-secret", "WECHAT_APP_SECRET", "", "the Official Account's AppSecret", true, &c.AppSecret},
		{"wechat-aes-key", "WECHAT_ENCODING_AES_KEY", "", "the EncodingAESKey, for safe (encrypted) mode", true, &c.EncodingAESKey},
		{"wechat-api", "WECHAT_API_URL", DefaultWeChatAPI, "WeChat's API base URL", false, &c.WeChatAPIURL},
		{"parley-url", "PARLEY_URL", "", "Parley's base URL, e.g. http://127.0.0.1:8080", false, &c.ParleyURL},
		{"parley-poc-id", "PARLEY_POC_ID", "", "the BYOC point of contact's id", false, &c.PointOfContactID},
		{"parley-token", "PARLEY_BYOC_TOKEN", "", "the point of contact's token (byoc_…)", true, &c.ParleyToken},
		{"parley-secret", "PARLEY_BYOC_SECRET", "", "the point of contact's secret (whsec_…)", true, &c.ParleySecret},
		{"reply-window", "WECHAT_REPLY_WINDOW", DefaultReplyWindow.String(), "WeChat's reply window after a customer message", false, &window},
		{"reply-limit", "WECHAT_REPLY_LIMIT", strconv.Itoa(DefaultReplyLimit), "WeChat's messages per customer message", false, &limit},
		{"enforce-policy", "WECHAT_ENFORCE_POLICY", "true", "refuse in the middleware what WeChat would refuse (window, limit)", false, &enforce},
		{"send-timeout", "WECHAT_SEND_TIMEOUT", "20s", "time allowed for the WeChat side of one Parley callback", false, &timeout},
	}
	fs := flag.NewFlagSet("byoc-wechat", flag.ContinueOnError)
	fs.SetOutput(usage)
	values := make([]*string, len(opts))
	for i, o := range opts {
		env := o.env
		if o.secret {
			env += " or " + o.env + "_FILE"
		}
		def := ""
		if o.def != "" {
			def = " (default " + o.def + ")"
		}
		values[i] = fs.String(o.flag, "", o.usage+"; env "+env+def)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for i, o := range opts {
		v := strings.TrimSpace(*values[i])
		if !set[o.flag] {
			var err error
			if v, err = fromEnv(getenv, o.env, o.secret); err != nil {
				errs = append(errs, err)
			}
		}
		if v == "" {
			v = o.def
		}
		*o.dst = v
	}

	c.ParleyURL = strings.TrimRight(c.ParleyURL, "/")
	c.WeChatAPIURL = strings.TrimRight(c.WeChatAPIURL, "/")
	required := []struct{ name, v string }{
		{"WECHAT_TOKEN", c.WeChatToken}, {"WECHAT_APP_ID", c.AppID}, {"WECHAT_APP_SECRET", c.AppSecret},
		{"PARLEY_URL", c.ParleyURL}, {"PARLEY_POC_ID", c.PointOfContactID},
		{"PARLEY_BYOC_TOKEN", c.ParleyToken}, {"PARLEY_BYOC_SECRET", c.ParleySecret},
	}
	for _, r := range required {
		if r.v == "" {
			errs = append(errs, fmt.Errorf("%s is required", r.name))
		}
	}
	for _, u := range []struct{ name, v string }{{"PARLEY_URL", c.ParleyURL}, {"WECHAT_API_URL", c.WeChatAPIURL}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", u.name, u.v))
		}
	}
	if c.EncodingAESKey != "" {
		if _, err := NewCrypto(c.EncodingAESKey, c.AppID); err != nil {
			errs = append(errs, fmt.Errorf("WECHAT_ENCODING_AES_KEY: %w", err))
		}
	}
	var err error
	if c.ReplyWindow, err = time.ParseDuration(window); err != nil || c.ReplyWindow <= 0 {
		errs = append(errs, fmt.Errorf("WECHAT_REPLY_WINDOW %q is not a positive duration (e.g. 48h)", window))
	}
	if c.ReplyLimit, err = strconv.Atoi(limit); err != nil || c.ReplyLimit <= 0 {
		errs = append(errs, fmt.Errorf("WECHAT_REPLY_LIMIT %q is not a positive number", limit))
	}
	if c.EnforcePolicy, err = strconv.ParseBool(enforce); err != nil {
		errs = append(errs, fmt.Errorf("WECHAT_ENFORCE_POLICY %q is not true or false", enforce))
	}
	if c.SendTimeout, err = time.ParseDuration(timeout); err != nil || c.SendTimeout <= 0 {
		errs = append(errs, fmt.Errorf("WECHAT_SEND_TIMEOUT %q is not a positive duration", timeout))
	}
	return c, errors.Join(errs...)
}

// fromEnv reads NAME, or (for secrets) the file named by NAME_FILE.
func fromEnv(getenv func(string) string, name string, secret bool) (string, error) {
	if v := strings.TrimSpace(getenv(name)); v != "" || !secret {
		return v, nil
	}
	f := strings.TrimSpace(getenv(name + "_FILE"))
	if f == "" {
		return "", nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	if v := strings.TrimSpace(string(b)); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s_FILE: %s is empty", name, f)
}
