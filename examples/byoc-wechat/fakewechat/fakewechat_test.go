package fakewechat_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/examples/byoc-wechat/bridge"
	"github.com/parleyhq/parley/examples/byoc-wechat/fakewechat"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func call(t *testing.T, method, u, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func errcode(m map[string]any) int {
	f, _ := m["errcode"].(float64)
	return int(f)
}

// The fake enforces what it is used to test: tokens, the 48-hour window and
// the 5-message limit, each with WeChat's errcode.
func TestFakeAPI(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	fw, err := fakewechat.Start(fakewechat.Config{AppID: "wx1", AppSecret: "sec", Token: "tok", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	if got := errcode(call(t, "GET", fw.URL+"/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=bad", "")); got != 40125 {
		t.Fatalf("bad secret: %d", got)
	}
	tok := call(t, "GET", fw.URL+"/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=sec", "")
	if tok["expires_in"].(float64) != 7200 {
		t.Fatalf("token %v", tok)
	}
	send := func(token, to, text string) int {
		body, _ := json.Marshal(map[string]any{"touser": to, "msgtype": "text", "text": map[string]string{"content": text}})
		return errcode(call(t, "POST", fw.URL+"/cgi-bin/message/custom/send?access_token="+url.QueryEscape(token), string(body)))
	}
	access := tok["access_token"].(string)
	if got := send("nope", "oA", "x"); got != 40001 {
		t.Fatalf("unknown token: %d", got)
	}
	if got := send(access, "oA", "x"); got != 40003 {
		t.Fatalf("unknown follower: %d", got)
	}
	fw.Record(fw.NewText("oA", "hi"))
	for i := range 5 {
		if got := send(access, "oA", "reply"); got != 0 {
			t.Fatalf("reply %d: %d", i+1, got)
		}
	}
	if got := send(access, "oA", "sixth"); got != 45047 {
		t.Fatalf("sixth reply: %d", got)
	}
	fw.Record(fw.NewText("oA", "again"))
	c.Advance(47 * time.Hour)
	if got := send(access, "oA", "x"); got != 42001 {
		t.Fatalf("a 47-hour-old token: %d", got)
	}
	access = call(t, "GET", fw.URL+"/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=sec", "")["access_token"].(string)
	if got := send(access, "oA", "x"); got != 0 {
		t.Fatalf("within 48 h: %d", got)
	}
	c.Advance(time.Hour)
	if got := send(access, "oA", "x"); got != 45015 {
		t.Fatalf("after 48 h: %d", got)
	}
	if n := len(fw.SentTo("oA")); n != 6 {
		t.Fatalf("%d recorded, want 6", n)
	}
}

// Like WeChat, the fake repeats a push the middleware did not answer with
// "success", and signs every push.
func TestFakePushRetries(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	answers := []int{500, 503, 200}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !bridge.CheckSignature(q.Get("signature"), "tok", q.Get("timestamp"), q.Get("nonce")) {
			t.Errorf("unsigned push")
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		code := answers[0]
		answers = answers[1:]
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "success")
	}))
	defer srv.Close()
	fw, err := fakewechat.Start(fakewechat.Config{AppID: "wx1", AppSecret: "sec", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	res, err := fw.PushWithRetries(context.Background(), srv.URL, fw.NewText("oA", "hello"))
	if err != nil || len(res) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if bodies[0] != bodies[2] || !strings.Contains(bodies[0], "<Content><![CDATA[hello]]></Content>") {
		t.Fatalf("bodies %q", bodies)
	}
}
