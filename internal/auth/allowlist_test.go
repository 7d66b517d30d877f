package auth_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/brazenhq/brazen/internal/auth"
)

func TestParsePrefix(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		want    string // the prefix, if valid
		wantErr string // a fragment of the error, if not
	}{
		{name: "IPv4 host", in: "10.0.0.1", want: "10.0.0.1/32"},
		{name: "IPv6 host", in: "2001:db8::1", want: "2001:db8::1/128"},
		{name: "IPv4 CIDR", in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{name: "IPv6 CIDR", in: "2001:db8::/32", want: "2001:db8::/32"},
		{name: "IPv4 everything", in: "0.0.0.0/0", want: "0.0.0.0/0"},
		{name: "host as /32", in: "192.168.1.1/32", want: "192.168.1.1/32"},
		{name: "surrounding blanks", in: " \t10.0.0.0/8 ", want: "10.0.0.0/8"},
		// IPv4-mapped forms match IPv4 clients only when stored as IPv4,
		// since Allowed unmaps the client address.
		{name: "IPv4-mapped host", in: "::ffff:10.0.0.1", want: "10.0.0.1/32"},
		{name: "IPv4-mapped /128", in: "::ffff:10.0.0.1/128", want: "10.0.0.1/32"},
		{name: "IPv4-mapped CIDR", in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},
		{name: "IPv4-mapped all", in: "::ffff:0.0.0.0/96", want: "0.0.0.0/0"},
		{name: "IPv4 host bits set", in: "10.0.0.1/8", wantErr: "did you mean 10.0.0.0/8?"},
		{name: "IPv6 host bits set", in: "2001:db8::1/32", wantErr: "did you mean 2001:db8::/32?"},
		{name: "garbage", in: "not-an-ip", wantErr: `"not-an-ip" is not an IP address or CIDR subnet`},
		{name: "garbage CIDR", in: "10.0.0.0/x", wantErr: "is not an IP address or CIDR subnet"},
		{name: "prefix too long", in: "10.0.0.0/33", wantErr: "is not an IP address or CIDR subnet"},
		{name: "hostname", in: "example.com", wantErr: "is not an IP address or CIDR subnet"},
		{name: "with port", in: "10.0.0.1:80", wantErr: "is not an IP address or CIDR subnet"},
		{name: "empty", in: "", wantErr: "empty address"},
		{name: "blank", in: "  ", wantErr: "empty address"},
		// A zone names an interface of one machine; it means nothing in a
		// list shared by every node.
		{name: "zone", in: "fe80::1%eth0", wantErr: "is not an IP address or CIDR subnet"},
		{name: "zone in CIDR", in: "fe80::%eth0/64", wantErr: "fe80::%eth0/64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.ParsePrefix(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePrefix(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != netip.MustParsePrefix(tt.want) {
				t.Fatalf("ParsePrefix(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := auth.ParsePrefixes([]string{"10.0.0.0/8", "::1", "::ffff:192.168.0.1"})
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.168.0.1/32")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParsePrefixes(valid) = %v, %v; want %v", got, err, want)
	}

	got, err = auth.ParsePrefixes(nil)
	if err != nil || len(got) != 0 {
		t.Errorf("ParsePrefixes(nil) = %v, %v; want empty", got, err)
	}

	// Every bad entry is named, so a long list is fixed in one round.
	got, err = auth.ParsePrefixes([]string{"10.0.0.0/8", "bad1", "10.0.0.1/8", "::1", ""})
	if err == nil || got != nil {
		t.Fatalf("ParsePrefixes(with bad) = %v, %v; want nil and an error", got, err)
	}
	for _, frag := range []string{"invalid IP allowlist", `"bad1"`, `"10.0.0.1/8"`, "did you mean 10.0.0.0/8", "empty address"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error %q does not contain %q", err, frag)
		}
	}
	if strings.Contains(err.Error(), `"::1"`) {
		t.Errorf("error %q names a valid entry", err)
	}
}

func TestAllowed(t *testing.T) {
	list := prefixes(t, "10.0.0.0/8", "192.168.1.1", "2001:db8::/32")
	for _, tt := range []struct {
		name string
		list []netip.Prefix
		addr string // "" for the zero Addr
		want bool
	}{
		{name: "empty list allows IPv4", list: nil, addr: "8.8.8.8", want: true},
		{name: "empty list allows IPv6", list: nil, addr: "2001:4860::8888", want: true},
		{name: "IPv4 in CIDR", list: list, addr: "10.20.30.40", want: true},
		{name: "IPv4 out of CIDR", list: list, addr: "11.0.0.1", want: false},
		{name: "IPv4 host entry", list: list, addr: "192.168.1.1", want: true},
		{name: "IPv4 next to host entry", list: list, addr: "192.168.1.2", want: false},
		{name: "IPv6 in CIDR", list: list, addr: "2001:db8:1::5", want: true},
		{name: "IPv6 out of CIDR", list: list, addr: "2001:db9::5", want: false},
		// A dual-stack listener reports IPv4 clients this way.
		{name: "IPv4-mapped matches IPv4 prefix", list: list, addr: "::ffff:10.1.2.3", want: true},
		{name: "IPv4-mapped outside", list: list, addr: "::ffff:11.1.2.3", want: false},
		{name: "IPv4 does not match IPv6 prefix", list: prefixes(t, "::/0"), addr: "10.0.0.1", want: false},
		{name: "unknown address denied", list: list, addr: "", want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			if got := auth.Allowed(tt.list, a); got != tt.want {
				t.Errorf("Allowed(%v, %v) = %v, want %v", tt.list, a, got, tt.want)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	trusted := prefixes(t, "10.0.0.0/8", "::1", "2001:db8::/32")
	for _, tt := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string // "" for the zero Addr
	}{
		{name: "no proxy", remote: "8.8.8.8:1234", want: "8.8.8.8"},
		{name: "no trusted proxies ignores XFF", remote: "10.0.0.1:1234", xff: []string{"1.2.3.4"}, want: "10.0.0.1"},
		{name: "untrusted peer ignores XFF", remote: "8.8.8.8:1234", xff: []string{"1.2.3.4"}, trusted: trusted, want: "8.8.8.8"},
		{name: "trusted peer without XFF", remote: "10.0.0.1:1234", trusted: trusted, want: "10.0.0.1"},
		{name: "trusted peer", remote: "10.0.0.1:1234", xff: []string{"1.2.3.4"}, trusted: trusted, want: "1.2.3.4"},
		// The client controls everything left of what the first trusted
		// proxy appended, so only the rightmost untrusted hop counts.
		{name: "forged left hop ignored", remote: "10.0.0.1:1234", xff: []string{"6.6.6.6, 1.2.3.4"}, trusted: trusted, want: "1.2.3.4"},
		{name: "chain of trusted proxies", remote: "10.0.0.1:1234", xff: []string{"6.6.6.6, 1.2.3.4, 10.0.0.2, 10.0.0.3"}, trusted: trusted, want: "1.2.3.4"},
		{name: "no spaces", remote: "10.0.0.1:1234", xff: []string{"6.6.6.6,1.2.3.4,10.0.0.2"}, trusted: trusted, want: "1.2.3.4"},
		{name: "several headers, client in first", remote: "10.0.0.1:1234", xff: []string{"6.6.6.6, 1.2.3.4", "10.0.0.5", "10.0.0.6, 10.0.0.7"}, trusted: trusted, want: "1.2.3.4"},
		{name: "several headers, client in last", remote: "10.0.0.1:1234", xff: []string{"6.6.6.6", "1.2.3.4, 10.0.0.5"}, trusted: trusted, want: "1.2.3.4"},
		{name: "all hops trusted gives leftmost", remote: "10.0.0.1:1234", xff: []string{"10.0.0.7, 10.0.0.8", "10.0.0.9"}, trusted: trusted, want: "10.0.0.7"},
		{name: "malformed hop stops at last good", remote: "10.0.0.1:1234", xff: []string{"1.2.3.4, garbage, 10.0.0.9"}, trusted: trusted, want: "10.0.0.9"},
		{name: "malformed rightmost hop keeps peer", remote: "10.0.0.1:1234", xff: []string{"1.2.3.4, garbage"}, trusted: trusted, want: "10.0.0.1"},
		{name: "hop with port is malformed", remote: "10.0.0.1:1234", xff: []string{"1.2.3.4:5678"}, trusted: trusted, want: "10.0.0.1"},
		{name: "empty header keeps peer", remote: "10.0.0.1:1234", xff: []string{""}, trusted: trusted, want: "10.0.0.1"},
		{name: "IPv4-mapped hop", remote: "10.0.0.1:1234", xff: []string{"::ffff:1.2.3.4"}, trusted: trusted, want: "1.2.3.4"},
		{name: "zoned hop loses zone", remote: "10.0.0.1:1234", xff: []string{"fe80::1%eth0"}, trusted: trusted, want: "fe80::1"},
		{name: "IPv6 peer", remote: "[::1]:1234", want: "::1"},
		{name: "IPv6 trusted peer", remote: "[::1]:1234", xff: []string{"2001:4860::1"}, trusted: trusted, want: "2001:4860::1"},
		{name: "IPv6 proxy chain to IPv4 client", remote: "[2001:db8::1]:443", xff: []string{"1.2.3.4, 2001:db8::2"}, trusted: trusted, want: "1.2.3.4"},
		{name: "IPv4-mapped peer", remote: "[::ffff:10.0.0.1]:1234", xff: []string{"1.2.3.4"}, trusted: trusted, want: "1.2.3.4"},
		{name: "peer without port", remote: "10.0.0.1", xff: []string{"1.2.3.4"}, trusted: trusted, want: "1.2.3.4"},
		{name: "IPv6 peer without port", remote: "::1", want: "::1"},
		{name: "unparseable peer", remote: "pipe", xff: []string{"1.2.3.4"}, trusted: trusted, want: ""},
		{name: "empty peer", remote: "", want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got := auth.ClientIP(tt.remote, tt.xff, tt.trusted); got != want {
				t.Errorf("ClientIP(%q, %q) = %v, want %v", tt.remote, tt.xff, got, want)
			}
		})
	}
}

// A link-local peer arrives with its zone in RemoteAddr ("[fe80::1%eth0]:80").
// Allowlist and trusted-proxy entries cannot hold a zone, and
// netip.Prefix.Contains never matches a zoned address, so the zone has to go
// as it already does for X-Forwarded-For hops.
func TestClientIPDropsPeerZone(t *testing.T) {
	trusted := prefixes(t, "fe80::/10")
	if got, want := auth.ClientIP("[fe80::1%eth0]:80", []string{"1.2.3.4"}, trusted), netip.MustParseAddr("1.2.3.4"); got != want {
		t.Errorf("ClientIP via trusted link-local proxy = %v, want %v", got, want)
	}
	if got, want := auth.ClientIP("[fe80::1%eth0]:80", nil, nil), netip.MustParseAddr("fe80::1"); got != want {
		t.Errorf("ClientIP(link-local peer) = %v, want %v", got, want)
	}
}

// Allowlist entries come from API requests and the CLI.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{
		"10.0.0.1", "10.0.0.0/8", "10.0.0.1/8", "2001:db8::/32", "::ffff:10.0.0.1",
		"::ffff:10.0.0.0/104", "::ffff:0.0.0.0/96", "fe80::1%eth0", "fe80::%eth0/64",
		"", " ", "/", "1.2.3.4/", "/8", "::/0", "0.0.0.0/0", "1.2.3.4/032",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := auth.ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p.Masked() != p {
			t.Fatalf("ParsePrefix(%q) = %v: not a valid masked prefix", s, p)
		}
		if p.Addr().Zone() != "" || p.Addr().Is4In6() {
			t.Fatalf("ParsePrefix(%q) = %v: zoned or IPv4-mapped", s, p)
		}
		// Keys store prefixes as strings; reading one back must give the same.
		again, err := auth.ParsePrefix(p.String())
		if err != nil || again != p {
			t.Fatalf("ParsePrefix(%q) = %v, but ParsePrefix(%q) = %v, %v", s, p, p.String(), again, err)
		}
	})
}

// RemoteAddr and X-Forwarded-For come from the network. Headers are given
// to the fuzzer as one string, split on newlines.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:1234", "6.6.6.6, 1.2.3.4\n10.0.0.5")
	f.Add("[::1]:80", "2001:db8::1")
	f.Add("10.0.0.1", "garbage, 10.0.0.2")
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:1.2.3.4,fe80::1%eth0")
	f.Add("[fe80::1%eth0]:80", "")
	f.Add("pipe", "1.2.3.4")
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fe80::/10"),
	}
	f.Fuzz(func(t *testing.T, remote, headers string) {
		var xff []string
		if headers != "" {
			xff = strings.Split(headers, "\n")
		}
		got := auth.ClientIP(remote, xff, trusted)
		if !got.IsValid() {
			return
		}
		// Every address the input holds, in the forms ClientIP may return.
		var present []netip.Addr
		if ap, err := netip.ParseAddrPort(remote); err == nil {
			present = append(present, ap.Addr().Unmap().WithZone(""))
		} else if a, err := netip.ParseAddr(remote); err == nil {
			present = append(present, a.Unmap().WithZone(""))
		}
		if len(present) == 0 {
			t.Fatalf("ClientIP(%q, %q) = %v from an unparseable peer", remote, xff, got)
		}
		peer := present[0]
		for _, h := range xff {
			for hop := range strings.SplitSeq(h, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil {
					present = append(present, a.Unmap().WithZone(""))
				}
			}
		}
		if !slices.Contains(present, got) {
			t.Fatalf("ClientIP(%q, %q) = %v, which is not in the input", remote, xff, got)
		}
		// X-Forwarded-For is believed only through a trusted peer.
		if got != peer && !auth.Allowed(trusted, peer) {
			t.Fatalf("ClientIP(%q, %q) = %v from an untrusted peer", remote, xff, got)
		}
		if got.Is4In6() {
			t.Fatalf("ClientIP(%q, %q) = %v, IPv4-mapped", remote, xff, got)
		}
	})
}

func prefixes(t testing.TB, list ...string) []netip.Prefix {
	t.Helper()
	ps, err := auth.ParsePrefixes(list)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
