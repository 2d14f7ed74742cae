package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, account, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+account+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(account, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestValidation(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := s.Options()
	ok := func() url.Values { return url.Values{"To": {"+14155550123"}, "From": {o.Number}, "Body": {"hi"}} }
	cases := []struct {
		name    string
		account string
		token   string
		edit    func(url.Values)
		status  int
		code    float64
	}{
		{"ok", o.AccountSID, o.AuthToken, func(url.Values) {}, 201, 0},
		{"media only", o.AccountSID, o.AuthToken, func(f url.Values) { f.Del("Body"); f.Set("MediaUrl", "https://x.example/a.png") }, 201, 0},
		{"wrong token", o.AccountSID, "nope", func(url.Values) {}, 401, 20003},
		{"other account", "AC00000000000000000000000000000000", o.AuthToken, func(url.Values) {}, 401, 20003},
		{"no To", o.AccountSID, o.AuthToken, func(f url.Values) { f.Del("To") }, 400, 21604},
		{"bad To", o.AccountSID, o.AuthToken, func(f url.Values) { f.Set("To", "415 555") }, 400, 21211},
		{"no From", o.AccountSID, o.AuthToken, func(f url.Values) { f.Del("From") }, 400, 21603},
		{"other From", o.AccountSID, o.AuthToken, func(f url.Values) { f.Set("From", "+15550001111") }, 400, 21606},
		{"service", o.AccountSID, o.AuthToken, func(f url.Values) { f.Del("From"); f.Set("MessagingServiceSid", NewSID("MG")) }, 201, 0},
		{"bad service", o.AccountSID, o.AuthToken, func(f url.Values) { f.Del("From"); f.Set("MessagingServiceSid", "MG1") }, 400, 21701},
		{"no body", o.AccountSID, o.AuthToken, func(f url.Values) { f.Del("Body") }, 400, 21602},
		{"too long", o.AccountSID, o.AuthToken, func(f url.Values) { f.Set("Body", strings.Repeat("x", 1601)) }, 400, 21617},
		{"bad media", o.AccountSID, o.AuthToken, func(f url.Values) { f.Set("MediaUrl", "a.png") }, 400, 21620},
		{"bad callback", o.AccountSID, o.AuthToken, func(f url.Values) { f.Set("StatusCallback", "cb") }, 400, 21609},
	}
	for _, c := range cases {
		f := ok()
		c.edit(f)
		status, out := post(t, s, c.account, c.token, f)
		if status != c.status {
			t.Errorf("%s: status %d, want %d (%v)", c.name, status, c.status, out)
			continue
		}
		if c.status == 201 {
			if sid, _ := out["sid"].(string); !strings.HasPrefix(sid, "SM") || len(sid) != 34 || out["status"] != "queued" {
				t.Errorf("%s: %v", c.name, out)
			}
		} else if out["code"] != c.code || out["more_info"] == "" {
			t.Errorf("%s: %v, want code %v", c.name, out, c.code)
		}
	}
	if n := len(s.Messages()); n != 3 {
		t.Fatalf("%d messages recorded, want 3", n)
	}
	s.FailNext(Failure{After: 1, Status: 503, Code: 20503, Message: "Service unavailable", RetryAfter: "3"})
	if st, _ := post(t, s, o.AccountSID, o.AuthToken, ok()); st != 201 {
		t.Fatalf("After: %d", st)
	}
	if st, out := post(t, s, o.AccountSID, o.AuthToken, ok()); st != 503 || out["code"] != 20503.0 {
		t.Fatalf("failure: %d %v", st, out)
	}
	s.Reset()
	if len(s.Requests()) != 0 || len(s.Messages()) != 0 {
		t.Fatal("Reset")
	}
}
