package auth_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/brazenhq/brazen/internal/auth"
)

func TestParsePermissions(t *testing.T) {
	for _, tt := range []struct {
		name        string
		in          []string
		want        []string // Names() of the set, in dashboard order
		wantUnknown []string // UnknownPermissionError.Names, nil if no error
	}{
		{name: "nil list", in: nil, want: nil},
		{name: "one", in: []string{"users.track"}, want: []string{"users.track"}},
		{
			// Names() follows the dashboard, not the order given, so two
			// requests for the same set store the same list.
			name: "dashboard order",
			in:   []string{"feed.list", "messages.send", "users.track"},
			want: []string{"users.track", "messages.send", "feed.list"},
		},
		{name: "duplicates collapse", in: []string{"users.track", "users.track", "users.track"}, want: []string{"users.track"}},
		{
			name: "whitespace trimmed and blanks skipped",
			in:   []string{" users.track ", "\tmessages.send\n", "", "   "},
			want: []string{"users.track", "messages.send"},
		},
		{
			name:        "unknown names all reported",
			in:          []string{"users.track", "users.fly", "email.nope"},
			want:        []string{"users.track"},
			wantUnknown: []string{`"users.fly"`, `"email.nope"`},
		},
		{
			// Braze's names are case-exact; accepting "Users.Track" would let a
			// list work here and fail against Braze.
			name:        "case matters",
			in:          []string{"Users.Track"},
			wantUnknown: []string{`"Users.Track"`},
		},
		{name: "unknown is trimmed before quoting", in: []string{"  nope  "}, wantUnknown: []string{`"nope"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set, err := auth.ParsePermissions(tt.in)
			if got := set.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("Names() = %q, want %q", got, tt.want)
			}
			if got := set.Len(); got != len(tt.want) {
				t.Errorf("Len() = %d, want %d", got, len(tt.want))
			}
			if tt.wantUnknown == nil {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var ue *auth.UnknownPermissionError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want *UnknownPermissionError", err, err)
			}
			if !slices.Equal(ue.Names, tt.wantUnknown) {
				t.Errorf("Names = %q, want %q", ue.Names, tt.wantUnknown)
			}
		})
	}
}

// The error is what an operator sees after a typo; it must let them fix the
// list without the Braze documentation at hand.
func TestUnknownPermissionErrorListsEveryValidName(t *testing.T) {
	_, err := auth.ParsePermissions([]string{"users.trak"})
	if err == nil {
		t.Fatal("err = nil, want an error")
	}
	msg := err.Error()
	if !strings.Contains(msg, `"users.trak"`) {
		t.Errorf("message does not name the bad permission: %s", msg)
	}
	_, valid, ok := strings.Cut(msg, "valid permissions are: ")
	if !ok {
		t.Fatalf("message does not list valid permissions: %s", msg)
	}
	if got, want := strings.Split(valid, ", "), auth.PermissionNames(); !slices.Equal(got, want) {
		t.Errorf("listed valid names = %q\nwant %q", got, want)
	}
}

func TestPermissionSet(t *testing.T) {
	names := auth.PermissionNames()
	if len(names) <= 128 {
		t.Fatalf("only %d permissions; this test means to cover all three words of the set", len(names))
	}
	// One permission from each end of each 64-bit word, where an off-by-one
	// in the shift or the word index would show.
	idx := []int{0, 63, 64, 127, 128, len(names) - 1}

	var s auth.PermissionSet
	if s.Len() != 0 || s.Names() != nil {
		t.Fatalf("zero set: Len %d, Names %q; want empty", s.Len(), s.Names())
	}
	var want []string
	for _, i := range idx {
		p := auth.Permission(i)
		if s.Has(p) {
			t.Errorf("Has(%s) before Add", p)
		}
		s.Add(p)
		s.Add(p) // adding twice is a no-op
		if !s.Has(p) {
			t.Errorf("Has(%s) = false after Add", p)
		}
		want = append(want, names[i])
	}
	if got := s.Len(); got != len(idx) {
		t.Errorf("Len() = %d, want %d", got, len(idx))
	}
	if got := s.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for i := range names {
		if s.Has(auth.Permission(i)) != slices.Contains(idx, i) {
			t.Errorf("Has(%s) = %v, want %v", names[i], s.Has(auth.Permission(i)), slices.Contains(idx, i))
		}
	}
}

func TestAllPermissions(t *testing.T) {
	all := auth.AllPermissions()
	if got, want := all.Len(), len(auth.PermissionNames()); got != want {
		t.Errorf("AllPermissions().Len() = %d, want %d", got, want)
	}
	if got, want := all.Names(), auth.PermissionNames(); !slices.Equal(got, want) {
		t.Errorf("AllPermissions().Names() = %q, want %q", got, want)
	}
	// AllPermissions returns a value; changing it must not grant anything to
	// the next caller.
	all[0] = 0
	if again := auth.AllPermissions(); again.Len() != len(auth.PermissionNames()) {
		t.Errorf("AllPermissions changed after a caller modified its copy")
	}
}

// brazeName is the shape of every Braze REST permission: lowercase words with
// underscores, joined by dots, at least two of them ("users.track").
var brazeName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

func TestGroupNames(t *testing.T) {
	seen := map[string]string{} // permission → group
	count := 0
	for _, g := range auth.Groups {
		if g.Name == "" || len(g.Permissions) == 0 {
			t.Errorf("group %q is unnamed or empty", g.Name)
		}
		for _, n := range g.Permissions {
			count++
			if other, dup := seen[n]; dup {
				t.Errorf("%q is in both %q and %q", n, other, g.Name)
			}
			seen[n] = g.Name
			if !brazeName.MatchString(n) {
				t.Errorf("%q (group %q) is not a Braze-style name", n, g.Name)
			}
		}
	}
	if got := len(auth.PermissionNames()); got != count {
		t.Errorf("len(PermissionNames()) = %d, want %d (the permissions in Groups)", got, count)
	}
}

func TestLookupPermission(t *testing.T) {
	for i, n := range auth.PermissionNames() {
		p, ok := auth.LookupPermission(n)
		if !ok || int(p) != i || p.String() != n {
			t.Errorf("LookupPermission(%q) = %d (%s), %v; want %d, true", n, p, p, ok, i)
		}
		if got := auth.MustPermission(n); got != p {
			t.Errorf("MustPermission(%q) = %d, want %d", n, got, p)
		}
	}
	if p, ok := auth.LookupPermission("users.fly"); ok {
		t.Errorf("LookupPermission(users.fly) = %d, true; want false", p)
	}
	// PermissionNames hands out a copy: a caller sorting or editing it must
	// not rename permissions for everyone else.
	names := auth.PermissionNames()
	names[0] = "changed"
	if auth.PermissionNames()[0] == "changed" || auth.Permission(0).String() == "changed" {
		t.Error("PermissionNames returned the package's own slice")
	}
}

func TestMustPermissionPanicsOnUnknown(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustPermission(users.fly) did not panic")
		}
	}()
	auth.MustPermission("users.fly")
}
