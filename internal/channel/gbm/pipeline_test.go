package gbm

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/gbm/fake"
)

// webhookEndpoint serves a point of contact the way the core's inbound
// pipeline does (internal/web/ingress.go): handshake first, then the raw
// body authenticated, then parsed.
func webhookEndpoint(t *testing.T, e *env) (*httptest.Server, func() []channel.InboundEvent) {
	t.Helper()
	var mu sync.Mutex
	var got []channel.InboundEvent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.a.Handshake(w, r, e.poc) {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		if err := e.a.Authenticate(r, body, e.poc); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		evs, err := e.a.Parse(r, body, e.poc)
		var me *channel.MalformedError
		if errors.As(err, &me) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, evs...)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []channel.InboundEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]channel.InboundEvent(nil), got...)
	}
}

// TestWebhookPipeline: the fake's verification, a customer's words and a
// tap travel through the inbound pipeline; an unsigned delivery is refused.
func TestWebhookPipeline(t *testing.T) {
	e := newEnv(t)
	srv, events := webhookEndpoint(t, e)
	if ok, err := fake.Verify(srv.URL, "secret-42", testClientToken); err != nil || !ok {
		t.Fatalf("verification: %v %v", ok, err)
	}
	for _, send := range []func() (*http.Response, error){
		func() (*http.Response, error) {
			return e.fk.CustomerSays(srv.URL, "", ana.ConversationID, "Ana", "hello", at)
		},
		func() (*http.Response, error) {
			return e.fk.CustomerTaps(srv.URL, "", ana.ConversationID, "Ana", "size_m", "Medium", "msg-1", at)
		},
	} {
		resp, err := send()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	got := events()
	if len(got) != 2 || got[0].Text != "hello" || got[0].AuthorName != "Ana" || got[0].ThreadID != ana.ConversationID ||
		got[1].ChoiceID != "size_m" || got[1].Text != "Medium" || got[1].ReplyToPlatformID != "msg-1" {
		t.Fatalf("%+v", got)
	}
	resp, err := fake.SendWebhook(srv.URL, "", fake.Payload(e.fk.Agent(), ana, fake.Text(ana, "m9", "forged", at), at))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(events()) != 2 {
		t.Fatalf("unsigned: %d", resp.StatusCode)
	}
}
