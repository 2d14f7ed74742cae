package linkpreview

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mapResolver is DNS for tests: no external network exists here.
type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestPublicOnly(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "127.1.2.3", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "::", "fd00::1", "fc00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8",
		"224.0.0.1", "ff02::1", "255.255.255.255", "192.0.2.1", "64:ff9b::a00:1", "2002:7f00:1::1",
	} {
		if err := PublicOnly(netip.MustParseAddr(s)); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s allowed", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "8.8.8.8", "2606:4700::6810:84e5"} {
		if err := PublicOnly(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
}

// TestGuard proves the SSRF guard on real connections: only the one test
// server the guard is told to allow can be fetched; loopback, private,
// link-local (metadata), a name resolving to loopback and a redirect to
// loopback are all refused, and the forbidden server never sees a request.
func TestGuard(t *testing.T) {
	var forbiddenHits atomic.Int32
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forbiddenHits.Add(1)
		fmt.Fprint(w, "<title>internal secret</title>")
	}))
	defer forbidden.Close()
	forbiddenPort := forbidden.Listener.Addr().(*net.TCPAddr).Port

	var allowed *httptest.Server
	allowed = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<html><head><title>Fallback</title><meta property="og:title" content="Winter catalogue"><meta property="og:image" content="/img/w.jpg"><meta name="description" content="Warm things"></head><body>…</body></html>`)
		case "/to-loopback":
			http.Redirect(w, r, forbidden.URL+"/", http.StatusFound)
		case "/to-name":
			http.Redirect(w, r, fmt.Sprintf("http://evil.test:%d/", forbiddenPort), http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-self":
			http.Redirect(w, r, "/to-self", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/big":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><head>"+strings.Repeat("<!-- padding -->", 100000)+`<meta property="og:title" content="too far">`)
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{}`)
		}
	}))
	defer allowed.Close()
	allowedAddr := netip.MustParseAddrPort(allowed.Listener.Addr().String())

	f := New(Options{
		Timeout:  2 * time.Second,
		MaxBytes: 64 << 10,
		// Production uses PublicOnly; the test allows exactly one loopback
		// address and port, the allowed server, and nothing else.
		Guard: func(network string, ap netip.AddrPort) error {
			if ap == allowedAddr {
				return nil
			}
			return PublicOnly(ap.Addr())
		},
		Resolver: mapResolver{
			"good.test":  {allowedAddr.Addr()},
			"evil.test":  {netip.MustParseAddr("127.0.0.1")},
			"meta.test":  {netip.MustParseAddr("169.254.169.254")},
			"mixed.test": {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.168.0.1")},
		},
	})
	good := fmt.Sprintf("http://good.test:%d", allowedAddr.Port())

	p, err := f.Fetch(context.Background(), good+"/")
	if err != nil {
		t.Fatalf("allowed fetch: %v", err)
	}
	if p.Title != "Winter catalogue" || p.ImageURL != good+"/img/w.jpg" || p.Description != "Warm things" {
		t.Errorf("got %+v", p)
	}

	refused := []string{
		forbidden.URL + "/",                                            // 127.0.0.1, another port
		fmt.Sprintf("http://[::1]:%d/", forbiddenPort),                 // IPv6 loopback
		"http://10.0.0.1/",                                             // private
		"http://169.254.169.254/latest/meta-data/",                     // cloud metadata
		fmt.Sprintf("http://evil.test:%d/", forbiddenPort),             // name resolving to loopback
		"http://meta.test/",                                            // name resolving to link-local
		"http://mixed.test/",                                           // every address private
		"http://[::ffff:127.0.0.1]:" + fmt.Sprint(forbiddenPort) + "/", // IPv4-mapped
		"http://0.0.0.0:" + fmt.Sprint(forbiddenPort) + "/",
		good + "/to-loopback", // redirect to loopback
		good + "/to-name",     // redirect to a name resolving to loopback
		good + "/to-metadata", // redirect to metadata
	}
	for _, u := range refused {
		_, err := f.Fetch(context.Background(), u)
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: got %v, want ErrForbiddenAddress", u, err)
		}
	}
	if n := forbiddenHits.Load(); n != 0 {
		t.Errorf("the forbidden server was reached %d times", n)
	}

	for _, u := range []string{"file:///etc/passwd", "gopher://good.test/", "ftp://good.test/", "//good.test/", "http://user:pw@good.test/"} {
		if _, err := f.Fetch(context.Background(), u); err == nil {
			t.Errorf("%s fetched", u)
		}
	}
	if _, err := f.Fetch(context.Background(), good+"/to-self"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if _, err := f.Fetch(context.Background(), good+"/to-file"); err == nil {
		t.Error("redirect to file: followed")
	}
	if _, err := f.Fetch(context.Background(), good+"/json"); err == nil {
		t.Error("non-HTML accepted")
	}
	if p, err := f.Fetch(context.Background(), good+"/big"); err != nil || p.Title != "" {
		t.Errorf("body cap: read past the limit: %+v %v", p, err)
	}
}

// TestDefaultGuardRefusesLoopback: with no Guard option, a plain local
// server cannot be fetched at all.
func TestDefaultGuardRefusesLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	f := New(Options{Timeout: time.Second})
	if _, err := f.Fetch(context.Background(), srv.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("got %v", err)
	}
	if hits.Load() != 0 {
		t.Error("server reached")
	}
}
