package xdm

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/xdm/fake"
)

// TestWebhookPipeline: X's CRC and a customer's DM travel through the
// inbound pipeline as the core runs it (internal/web/ingress.go: handshake,
// then the raw body authenticated, then parsed); a forged delivery is
// refused.
func TestWebhookPipeline(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var got []channel.InboundEvent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.a.Handshake(w, r, e.poc) {
			return
		}
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
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
	defer srv.Close()
	if ok, err := fake.CRC(srv.URL, testSecret, "crc-abc"); err != nil || !ok {
		t.Fatalf("CRC: %v %v", ok, err)
	}
	resp, err := e.fk.CustomerSays(srv.URL, "", ana.ID, "Ana", "2", at)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	forged, err := fake.SendWebhook(srv.URL, "not-the-secret", fake.Payload(business, fake.Text(bob, business, "77", "forged", at)))
	if err != nil {
		t.Fatal(err)
	}
	forged.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != 200 || forged.StatusCode != http.StatusUnauthorized || len(got) != 1 ||
		got[0].Text != "2" || got[0].AuthorID != ana.ID || got[0].AuthorName != "Ana" || got[0].PlatformMessageID == "" {
		t.Fatalf("%d %d %+v", resp.StatusCode, forged.StatusCode, got)
	}
}
