package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func do(t *testing.T, method, u, auth, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestFake(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	form := func(mod func(url.Values)) string {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultAppID}, "client_secret": {DefaultAppPassword}, "scope": {Scope}}
		if mod != nil {
			mod(v)
		}
		return v.Encode()
	}
	const formType = "application/x-www-form-urlencoded"
	for name, tc := range map[string]struct {
		body   string
		status int
		errStr string
	}{
		"wrong secret":   {form(func(v url.Values) { v.Set("client_secret", "x") }), 401, "invalid_client"},
		"unknown client": {form(func(v url.Values) { v.Set("client_id", "x") }), 400, "unauthorized_client"},
		"wrong scope":    {form(func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/.default") }), 400, "invalid_scope"},
		"wrong grant":    {form(func(v url.Values) { v.Set("grant_type", "password") }), 400, "unsupported_grant_type"},
	} {
		if st, m := do(t, "POST", s.TokenURL(), "", formType, tc.body); st != tc.status || m["error"] != tc.errStr {
			t.Errorf("%s: %d %v", name, st, m)
		}
	}
	st, m := do(t, "POST", s.TokenURL(), "", formType, form(nil))
	tok, _ := m["access_token"].(string)
	if st != 200 || tok == "" || m["expires_in"] != float64(3599) || m["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", st, m)
	}
	bearer := "Bearer " + tok
	conv := ConversationID("29:user")
	activities := s.ServiceURL() + "v3/conversations/" + url.PathEscape(conv) + "/activities"
	if st, m := do(t, "POST", activities, bearer, "application/json", `{"type":"message","text":"hi"}`); st != 404 {
		t.Fatalf("unknown conversation: %d %v", st, m)
	}
	s.AddConversation(conv, "29:user")
	for name, tc := range map[string]struct {
		auth, body string
		status     int
	}{
		"no token":        {"", `{"type":"message","text":"hi"}`, 401},
		"foreign token":   {"Bearer abc", `{"type":"message","text":"hi"}`, 401},
		"no type":         {bearer, `{"text":"hi"}`, 400},
		"nothing to show": {bearer, `{"type":"message"}`, 400},
		"card too new":    {bearer, `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.6"}}]}`, 400},
		"bad action":      {bearer, `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.5","actions":[{"type":"Action.Http"}]}}]}`, 400},
		"image no URL":    {bearer, `{"type":"message","attachments":[{"contentType":"image/png"}]}`, 400},
		"bad suggestion":  {bearer, `{"type":"message","text":"x","suggestedActions":{"actions":[{"type":"postBack","title":"A","value":"a"}]}}`, 400},
		"too big":         {bearer, `{"type":"message","text":"` + strings.Repeat("x", MaxActivityBytes) + `"}`, 413},
		"ok":              {bearer, `{"type":"message","text":"hi"}`, 201},
		"typing":          {bearer, `{"type":"typing"}`, 200},
	} {
		if st, m := do(t, "POST", activities, tc.auth, "application/json", tc.body); st != tc.status {
			t.Errorf("%s: %d %v", name, st, m)
		}
	}
	if got := s.Received("29:user"); len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
	// Hosted attachments need the bot's token; shared files do not.
	if st, _ := do(t, "GET", s.AttachmentURL("a.png"), "", "", ""); st != 401 {
		t.Errorf("attachment without token: %d", st)
	}
	if st, _ := do(t, "GET", s.AttachmentURL("a.png"), bearer, "", ""); st != 200 {
		t.Errorf("attachment with token: %d", st)
	}
	if st, _ := do(t, "GET", s.FileURL("a.pdf"), "", "", ""); st != 200 {
		t.Errorf("file: %d", st)
	}
	// The metadata names the keys, endorsed for Teams.
	_, meta := do(t, "GET", s.MetadataURL(), "", "", "")
	_, keys := do(t, "GET", meta["jwks_uri"].(string), "", "", "")
	k := keys["keys"].([]any)[0].(map[string]any)
	if k["kid"] != s.KeyID() || k["kty"] != "RSA" || k["endorsements"].([]any)[0] != "msteams" || meta["issuer"] != Issuer {
		t.Fatalf("metadata %v keys %v", meta, keys)
	}
}
