package app

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// TestBrowserSession: password login sets a safe cookie that authenticates
// the API; a cross-origin write is refused; logout ends the session.
func TestBrowserSession(t *testing.T) {
	h := start(t, nil)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	post := func(path, body string, headers ...string) *http.Response {
		req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/api/v1/auth/login", `{"email":"admin@example.com","password":"wrong-password"}`); resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp := post("/api/v1/auth/login", `{"email":"admin@example.com","password":"`+testAdminPassword+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	cookie := resp.Cookies()[0]
	if cookie.Name != "parley_session" || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie flags: %+v", cookie)
	}
	// The jar will not send a Secure cookie over http; a browser on
	// localhost would. Send it by hand.
	get := func() int {
		req, _ := http.NewRequest("GET", h.url+"/api/v1/me", nil)
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("session GET /me: %d", s)
	}
	// A state-changing request from another site's page is refused.
	req, _ := http.NewRequest("POST", h.url+"/api/v1/skills", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	cross, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cross.Body.Close()
	if cross.StatusCode != 403 {
		t.Fatalf("cross-site write: %d", cross.StatusCode)
	}
	req, _ = http.NewRequest("POST", h.url+"/api/v1/auth/logout", nil)
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	out, _ := http.DefaultClient.Do(req)
	out.Body.Close()
	if s := get(); s != 401 {
		t.Fatalf("after logout: %d", s)
	}
}

func TestTeams(t *testing.T) {
	h := start(t, nil)
	var me struct{ ID string }
	h.mustDo("GET", "/api/v1/me", h.admin, nil, 200, &me)
	var team struct {
		ID        string
		MemberIDs []string `json:"member_ids"`
	}
	h.mustDo("POST", "/api/v1/teams", h.admin, map[string]string{"name": "Billing desk"}, 201, &team)
	h.mustDo("POST", "/api/v1/teams", h.admin, map[string]string{"name": "Billing desk"}, 400, nil)
	h.mustDo("PUT", "/api/v1/teams/"+team.ID+"/members/"+me.ID, h.admin, nil, 200, &team)
	if len(team.MemberIDs) != 1 || team.MemberIDs[0] != me.ID {
		t.Fatalf("members: %+v", team)
	}
	h.mustDo("PUT", "/api/v1/teams/"+team.ID+"/members/nobody", h.admin, nil, 404, nil)
	h.mustDo("DELETE", "/api/v1/teams/"+team.ID+"/members/"+me.ID, h.admin, nil, 200, &team)
	if len(team.MemberIDs) != 0 {
		t.Fatalf("member not removed: %+v", team)
	}
	h.mustDo("DELETE", "/api/v1/teams/"+team.ID, h.admin, nil, 204, nil)
	h.mustDo("GET", "/api/v1/teams/"+team.ID, h.admin, nil, 404, nil)
}

func TestReplyKeepsStatusWhenConfigured(t *testing.T) {
	h := start(t, func(c *Config) { c.ReplyKeepsStatus = true })
	p := h.createBYOC("http://127.0.0.1:9/unused")
	res := h.inbound(p, "m1", "t1", "u1", "hello")
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "hi"}, 202, nil)
	if got := h.getCase(res.CaseID).Status; got != "open" {
		t.Fatalf("new case after a reply with reply-keeps-status: %s, want open", got)
	}
	h.setStatus(res.CaseID, "escalated", 200)
	h.mustDo("POST", "/api/v1/cases/"+res.CaseID+"/messages", h.admin, map[string]string{"text": "still looking"}, 202, nil)
	if got := h.getCase(res.CaseID).Status; got != "escalated" {
		t.Fatalf("escalated case after a reply: %s", got)
	}
}
