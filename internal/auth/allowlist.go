package auth

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefix parses one allowlist or trusted-proxy entry: an IPv4 or IPv6
// address (a single host) or a CIDR subnet. Host bits set below the prefix
// length are an error ("10.0.0.1/8"), since they usually mean a typo.
// IPv4-mapped IPv6 forms are stored as IPv4.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty address")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR subnet", s)
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zones are not allowed", s)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", s, p.Masked())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR subnet", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParsePrefixes parses a list of entries, reporting every bad one.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	var bad []string
	for _, s := range list {
		p, err := ParsePrefix(s)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, p)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("invalid IP allowlist: %s", strings.Join(bad, "; "))
	}
	return out, nil
}

// Allowed reports whether addr may use a key whose allowlist is list. An
// empty list allows every address.
func Allowed(list []netip.Prefix, addr netip.Addr) bool {
	if len(list) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientIP finds the address a request came from. remoteAddr is the TCP
// peer (http.Request.RemoteAddr). X-Forwarded-For is believed only when the
// peer is a trusted proxy, and then walked from the right past every trusted
// proxy: the first untrusted hop is the client. A malformed hop stops the walk
// at the last address known good, so a client cannot forge its way in.
func ClientIP(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(remoteAddr)
	var addr netip.Addr
	if err == nil {
		addr = peer.Addr().WithZone("").Unmap()
	} else if a, err := netip.ParseAddr(remoteAddr); err == nil {
		addr = a.WithZone("").Unmap()
	} else {
		return netip.Addr{}
	}
	if len(trusted) == 0 || len(forwardedFor) == 0 || !Allowed(trusted, addr) {
		return addr
	}
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		hops := strings.Split(forwardedFor[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return addr
			}
			addr = hop.WithZone("").Unmap()
			if !Allowed(trusted, addr) {
				return addr
			}
		}
	}
	return addr
}
