package auth_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/brazenhq/brazen/internal/auth"
)

// keyShape is the 8-4-4-4-12 lowercase hex shape of Braze REST API keys,
// which some clients check before sending a request.
var keyShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestNewKeySecret(t *testing.T) {
	const draws = 10000
	seen := make(map[string]bool, draws)
	for range draws {
		s := auth.NewKeySecret()
		if len(s) != 36 || !keyShape.MatchString(s) {
			t.Fatalf("NewKeySecret() = %q, want 36 characters shaped 8-4-4-4-12 lowercase hex", s)
		}
		if seen[s] {
			t.Fatalf("NewKeySecret() repeated %q within %d draws", s, draws)
		}
		seen[s] = true
	}
}

func TestNewAdminToken(t *testing.T) {
	hex := regexp.MustCompile(`^[0-9a-f]{48}$`) // 192 bits
	seen := map[string]bool{}
	for range 1000 {
		tok := auth.NewAdminToken()
		rest, ok := strings.CutPrefix(tok, auth.AdminTokenPrefix)
		if !ok || !hex.MatchString(rest) {
			t.Fatalf("NewAdminToken() = %q, want %q + 48 lowercase hex digits", tok, auth.AdminTokenPrefix)
		}
		// A token must never pass for a REST key, or pasting it in the
		// wrong place would be accepted by the shape check.
		if keyShape.MatchString(tok) {
			t.Fatalf("admin token %q has the shape of a REST key", tok)
		}
		if seen[tok] {
			t.Fatalf("NewAdminToken() repeated %q", tok)
		}
		seen[tok] = true
	}
	if strings.HasPrefix(auth.NewKeySecret(), auth.AdminTokenPrefix) {
		t.Error("a REST key starts with the admin token prefix")
	}
}

func TestBearerToken(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header string
		want   string
		ok     bool
	}{
		{name: "canonical", header: "Bearer k", want: "k", ok: true},
		{name: "lowercase scheme", header: "bearer k", want: "k", ok: true},
		{name: "uppercase scheme", header: "BEARER k", want: "k", ok: true},
		{name: "mixed-case scheme", header: "bEaReR k", want: "k", ok: true},
		{name: "extra spaces", header: "Bearer   k", want: "k", ok: true},
		{name: "trailing space", header: "Bearer k  ", want: "k", ok: true},
		{name: "tab separator", header: "Bearer\tk", want: "k", ok: true},
		{name: "tabs and spaces", header: "Bearer \t k\t", want: "k", ok: true},
		{name: "real key", header: "Bearer 3f1c2a9e-0b4d-4e6f-8a1b-2c3d4e5f6a7b", want: "3f1c2a9e-0b4d-4e6f-8a1b-2c3d4e5f6a7b", ok: true},
		{name: "key case preserved", header: "Bearer AbC-dEf", want: "AbC-dEf", ok: true},
		// Braze refuses a quoted key too; unquoting it would accept a request
		// that Braze rejects.
		{name: "quoted key kept as sent", header: `Bearer "k"`, want: `"k"`, ok: true},
		{name: "empty", header: "", ok: false},
		{name: "scheme alone", header: "Bearer", ok: false},
		{name: "scheme and space", header: "Bearer ", ok: false},
		{name: "scheme and blanks", header: "Bearer \t  ", ok: false},
		{name: "no separator", header: "Bearerk", ok: false},
		{name: "other scheme", header: "Basic xyz", ok: false},
		{name: "scheme prefix only", header: "Bear k", ok: false},
		{name: "longer scheme", header: "Bearers k", ok: false},
		{name: "bare key", header: "3f1c2a9e-0b4d-4e6f-8a1b-2c3d4e5f6a7b", ok: false},
		{name: "inner space", header: "Bearer k1 k2", ok: false},
		{name: "inner tab", header: "Bearer k1\tk2", ok: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := auth.BearerToken(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// The Authorization header comes straight from the client.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{
		"", "Bearer", "Bearer ", "Bearer k", "bearer\tk", "BEARER  k  ", "Bearerk",
		"Basic xyz", `Bearer "k"`, "Bearer a b", "Bearer \x00", "Bëarer k", "Beare\xff k",
		"Bearer 3f1c2a9e-0b4d-4e6f-8a1b-2c3d4e5f6a7b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, ok := auth.BearerToken(header)
		if !ok {
			if tok != "" {
				t.Fatalf("BearerToken(%q) = %q, false; want an empty token when not ok", header, tok)
			}
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t") {
			t.Fatalf("BearerToken(%q) = %q: empty or holds a blank", header, tok)
		}
		if !strings.Contains(header, tok) {
			t.Fatalf("BearerToken(%q) = %q, which is not in the header", header, tok)
		}
		if !strings.EqualFold(header[:len("bearer")], "bearer") {
			t.Fatalf("BearerToken(%q) accepted a scheme other than Bearer", header)
		}
		// Sending the token back in canonical form must give the same token.
		if again, ok := auth.BearerToken("Bearer " + tok); !ok || again != tok {
			t.Fatalf("BearerToken(Bearer %q) = %q, %v; want it back", tok, again, ok)
		}
	})
}
