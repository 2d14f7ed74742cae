// Package netguard keeps server-side fetches (attachment URLs, link
// previews) from reaching the machine itself or its private network (SSRF).
// The check runs in the dialer, on the address actually connected to, so it
// holds after DNS resolution and on every redirect.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned for a refused destination.
var ErrForbiddenAddress = errors.New("netguard: destination address not allowed")

// Check allows only globally routable unicast addresses.
func Check(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrForbiddenAddress)
	}
	if a.Is4In6() {
		// ::ffff:127.0.0.1 and friends: refused outright rather than
		// trusting every layer to unmap them.
		return fmt.Errorf("%w: %s (IPv4-mapped IPv6)", ErrForbiddenAddress, a)
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, a)
	}
	for _, p := range specialPrefixes {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s (in %s)", ErrForbiddenAddress, a, p)
		}
	}
	return nil
}

// Allowed reports whether Check accepts an address.
func Allowed(a netip.Addr) bool { return Check(a) == nil }

// specialPrefixes are the special-purpose ranges netip's predicates do not
// cover (IANA special-purpose registries).
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: could reach IPv4 internals
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard
	netip.MustParsePrefix("2001::/32"),      // Teredo
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
}

// Control is a net.Dialer Control hook refusing non-public addresses.
func Control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	}
	return Check(a)
}

// Client makes an HTTP client for fetching from the internet. With
// allowPrivate (tests, the local sandbox) the guard is off.
func Client(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = Control
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf and bypass the guard
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("netguard: too many redirects")
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return errors.New("netguard: redirect to a non-http URL")
		}
		return nil
	}}
}
