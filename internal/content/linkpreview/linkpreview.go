// Package linkpreview fetches the title and image of a web page for a rich
// link, server-side, without letting a URL typed by an agent, a bot or an
// integrator reach Parley's own network (SSRF).
//
// The guard runs in the dialer's Control hook, on the IP address actually
// being connected to: after DNS resolution (so a public name that resolves
// to 127.0.0.1 is refused), on every redirect (each one dials again), and
// with no proxy from the environment (a proxy would hide the target).
// Private, loopback, link-local (including cloud metadata 169.254.169.254),
// unspecified, multicast, CGNAT, IPv6 unique-local, IPv4-mapped and other
// special-purpose ranges are refused.
package linkpreview

import (
	"context"
	"fmt"
	"github.com/parleyhq/parley/internal/netguard"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/html"
)

// ErrForbiddenAddress is returned (wrapped) when the guard refuses an address.
var ErrForbiddenAddress = netguard.ErrForbiddenAddress

// Preview is what a rich link shows.
type Preview struct {
	URL         string `json:"url"` // the final URL after redirects
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	ImageURL    string `json:"image_url,omitempty"` // absolute
}

// Guard decides whether a connection to addr may be made. It returns nil to
// allow, an error to refuse.
type Guard func(network string, addr netip.AddrPort) error

// Resolver looks a host name up. *net.Resolver's LookupNetIP fits.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Fetcher. Zero values take the defaults.
type Options struct {
	Timeout      time.Duration // whole fetch, redirects included; default 5s
	MaxBytes     int64         // of the body read; default 512 KiB
	MaxRedirects int           // default 5
	UserAgent    string        // default "ParleyLinkPreview/1.0"
	// Guard replaces PublicOnly. Tests use it to allow one loopback test
	// server; production leaves it nil.
	Guard Guard
	// Resolver replaces the system resolver (tests map names to addresses).
	Resolver Resolver
}

// Fetcher fetches previews. It is safe for concurrent use.
type Fetcher struct {
	client    *http.Client
	maxBytes  int64
	userAgent string
}

// New builds a Fetcher.
func New(o Options) *Fetcher {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 512 << 10
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	if o.UserAgent == "" {
		o.UserAgent = "ParleyLinkPreview/1.0"
	}
	guard := o.Guard
	if guard == nil {
		guard = func(_ string, ap netip.AddrPort) error { return PublicOnly(ap.Addr()) }
	}
	var resolver Resolver = net.DefaultResolver
	if o.Resolver != nil {
		resolver = o.Resolver
	}
	dialer := &net.Dialer{
		Timeout: o.Timeout,
		// Control runs for every connection, with the address being
		// dialled: the one check that cannot be bypassed by DNS tricks.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			return guard(network, ap)
		},
	}
	transport := &http.Transport{
		Proxy: nil, // never a proxy from the environment
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			var addrs []netip.Addr
			if ip, err := netip.ParseAddr(host); err == nil {
				addrs = []netip.Addr{ip}
			} else {
				addrs, err = resolver.LookupNetIP(ctx, "ip", host)
				if err != nil {
					return nil, err
				}
			}
			var lastErr error = fmt.Errorf("linkpreview: no address for %s", host)
			for _, a := range addrs {
				conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
				if err == nil {
					return conn, nil
				}
				lastErr = err
			}
			return nil, lastErr
		},
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
	}
	maxRedirects := o.MaxRedirects
	client := &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("linkpreview: more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("linkpreview: redirect to a %q URL", req.URL.Scheme)
			}
			return nil
		},
	}
	return &Fetcher{client: client, maxBytes: o.MaxBytes, userAgent: o.UserAgent}
}

// Fetch gets a page and reads its Open Graph title, description and image
// (falling back to <title>). Only http and https URLs are fetched.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Preview, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Preview{}, fmt.Errorf("linkpreview: only absolute http and https URLs are fetched")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Preview{}, err
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9")
	resp, err := f.client.Do(req)
	if err != nil {
		return Preview{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Preview{}, fmt.Errorf("linkpreview: %s answered %s", resp.Request.URL.Host, resp.Status)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/html" && mt != "application/xhtml+xml" {
		return Preview{}, fmt.Errorf("linkpreview: not an HTML page (%q)", mt)
	}
	p := parseHead(io.LimitReader(resp.Body, f.maxBytes), resp.Request.URL)
	p.URL = resp.Request.URL.String()
	return p, nil
}

// parseHead reads meta tags until </head> or <body>, never more than the
// limited reader gives.
func parseHead(r io.Reader, base *url.URL) Preview {
	var p Preview
	var title strings.Builder
	inTitle := false
	z := html.NewTokenizer(r)
	z.SetMaxBuf(64 << 10)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			goto done
		case html.TextToken:
			if inTitle && title.Len() < 1024 {
				title.Write(z.Text())
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "title":
				inTitle = false
			case "head":
				goto done
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "body":
				goto done
			case "title":
				inTitle = tt == html.StartTagToken
			case "meta":
				var prop, content string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch strings.ToLower(string(k)) {
					case "property", "name":
						prop = strings.ToLower(string(v))
					case "content":
						content = string(v)
					}
				}
				content = strings.TrimSpace(content)
				switch prop {
				case "og:title", "twitter:title":
					if p.Title == "" {
						p.Title = content
					}
				case "og:description", "description", "twitter:description":
					if p.Description == "" {
						p.Description = content
					}
				case "og:image", "og:image:secure_url", "twitter:image":
					if p.ImageURL == "" {
						if iu, err := base.Parse(content); err == nil && (iu.Scheme == "https" || iu.Scheme == "http") {
							p.ImageURL = iu.String()
						}
					}
				}
			}
		}
	}
done:
	if p.Title == "" {
		p.Title = strings.Join(strings.Fields(title.String()), " ")
	}
	p.Title = cut(p.Title, 128)
	p.Description = cut(p.Description, 256)
	return p
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// PublicOnly allows only globally routable unicast addresses: the one
// policy Parley applies to every server-side fetch (internal/netguard).
func PublicOnly(a netip.Addr) error { return netguard.Check(a) }
