package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

// testStore opens a migrated SQLite file with its one workspace.
func testStore(t testing.TB) (*sqlite.DB, *brazen.Workspace) {
	t.Helper()
	ctx := t.Context()
	db := sqlitetest.Open(t)
	ws, _, err := db.DefaultWorkspace(ctx, "W")
	if err != nil {
		t.Fatal(err)
	}
	return db, ws
}

// createKey makes a key through NewAPIKey, as the CLI and admin API do, and
// stores it.
func createKey(t testing.TB, db *sqlite.DB, req auth.KeyRequest) (*brazen.APIKey, string) {
	t.Helper()
	k, secret, err := auth.NewAPIKey(req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	return k, secret
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func wantUnauthorized(t *testing.T, err error) {
	t.Helper()
	if got := brazen.ErrorCode(err); got != brazen.EUNAUTHORIZED {
		t.Fatalf("err = %v (code %q), want code %q", err, got, brazen.EUNAUTHORIZED)
	}
}

func TestKeyringAuthenticate(t *testing.T) {
	ctx := t.Context()
	db, ws := testStore(t)
	k, secret := createKey(t, db, auth.KeyRequest{
		WorkspaceID: ws.ID, Name: "ci", Permissions: []string{"users.track"}, AllowedIPs: []string{"10.0.0.0/8"},
	})
	r := auth.NewKeyring(db, discard())
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	got, err := r.Authenticate(ctx, secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.ID || got.WorkspaceID != ws.ID || got.Name != "ci" || got.Hash != brazen.HashSecret(secret) {
		t.Errorf("Authenticate = %+v, want key %s of workspace %s named ci", got, k.ID, ws.ID)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}; !slices.Equal(got.AllowedIPs, want) {
		t.Errorf("AllowedIPs = %v, want %v", got.AllowedIPs, want)
	}

	for _, s := range []string{"", "nope", strings.ToUpper(secret), secret + " ", auth.NewKeySecret()} {
		_, err := r.Authenticate(ctx, s, time.Now())
		wantUnauthorized(t, err)
	}
}

func TestKeyringFindsKeyCreatedAfterRefresh(t *testing.T) {
	ctx := t.Context()
	db, ws := testStore(t)
	r := auth.NewKeyring(db, discard())
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// Made by another process (the CLI, another node) after the last
	// refresh: it must work at once, not a refresh interval later.
	k, secret := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "late", AllPermissions: true})
	got, err := r.Authenticate(ctx, secret, time.Now())
	if err != nil {
		t.Fatalf("Authenticate(key created after Refresh) = %v", err)
	}
	if got.ID != k.ID {
		t.Errorf("Authenticate = key %s, want %s", got.ID, k.ID)
	}
	// Found once, it is cached: deleting it in the store alone does not
	// stop it before the next refresh.
	if err := db.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Authenticate(ctx, secret, time.Now()); err != nil {
		t.Errorf("Authenticate(cached key) = %v, want it until the next Refresh", err)
	}
}

func TestKeyringDeletedKeyWorksUntilRefresh(t *testing.T) {
	ctx := t.Context()
	db, ws := testStore(t)
	k, secret := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "doomed", AllPermissions: true})
	other, otherSecret := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "kept", AllPermissions: true})
	r := auth.NewKeyring(db, discard())
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Authenticate(ctx, secret, time.Now()); err != nil {
		t.Fatalf("Authenticate before Refresh = %v, want the cached key", err)
	}
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := r.Authenticate(ctx, secret, time.Now())
	wantUnauthorized(t, err)
	if got, err := r.Authenticate(ctx, otherSecret, time.Now()); err != nil || got.ID != other.ID {
		t.Errorf("Authenticate(kept key) = %v, %v; want key %s", got, err, other.ID)
	}
}

func TestKeyringForget(t *testing.T) {
	ctx := t.Context()
	db, ws := testStore(t)
	k, secret := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "doomed", AllPermissions: true})
	r := auth.NewKeyring(db, discard())
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// As the admin API deletes a key: from the store, then from the ring,
	// with no wait for a refresh.
	if err := db.DeleteKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	r.Forget(k.ID)
	_, err := r.Authenticate(ctx, secret, time.Now())
	wantUnauthorized(t, err)
	r.Forget("no-such-id") // forgetting an unknown key is harmless
}

func TestKeyringAdd(t *testing.T) {
	ctx := t.Context()
	db, ws := testStore(t)
	r := auth.NewKeyring(db, discard())
	// Add needs no store round trip: the key is known the moment it is made.
	k, secret, err := auth.NewAPIKey(auth.KeyRequest{WorkspaceID: ws.ID, Name: "new", Permissions: []string{"messages.send"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.Add(k)
	got, err := r.Authenticate(ctx, secret, time.Now())
	if err != nil || got.ID != k.ID {
		t.Fatalf("Authenticate(added key) = %v, %v; want key %s", got, err, k.ID)
	}
	if !got.Allows(auth.MustPermission("messages.send")) {
		t.Error("added key lost its permission")
	}
}

// touchCounter counts the writes a Keyring makes, so a test can tell a
// flush that wrote from one that did not.
type touchCounter struct {
	*sqlite.DB
	mu      sync.Mutex // guards touches
	touches []map[string]time.Time
}

func (s *touchCounter) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	s.mu.Lock()
	s.touches = append(s.touches, used)
	s.mu.Unlock()
	return s.DB.TouchKeys(ctx, used)
}

func TestKeyringFlush(t *testing.T) {
	ctx := t.Context()
	db, ws := testStore(t)
	store := &touchCounter{DB: db}
	k, secret := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "used", AllPermissions: true})
	idle, _ := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "idle", AllPermissions: true})
	r := auth.NewKeyring(store, discard())
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	lastUsed := func(id string) time.Time {
		t.Helper()
		sk, err := db.Key(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return sk.LastUsedAt
	}

	t1 := time.Date(2030, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	if _, err := r.Authenticate(ctx, secret, t1.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Authenticate(ctx, secret, t1); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(k.ID); !got.IsZero() {
		t.Fatalf("LastUsedAt before Flush = %v, want zero: uses are batched", got)
	}
	// A refresh between use and flush must not lose the use.
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(k.ID); !got.Equal(t1) {
		t.Errorf("LastUsedAt after Flush = %v, want %v", got, t1)
	}
	if got := lastUsed(idle.ID); !got.IsZero() {
		t.Errorf("LastUsedAt of an unused key = %v, want zero", got)
	}
	if n := len(store.touches); n != 1 || len(store.touches[0]) != 1 {
		t.Fatalf("TouchKeys calls = %v, want one with one key", store.touches)
	}

	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(store.touches); n != 1 {
		t.Errorf("second Flush with no new use wrote %v", store.touches[1:])
	}

	t2 := t1.Add(time.Hour)
	if _, err := r.Authenticate(ctx, secret, t2); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(k.ID); !got.Equal(t2) {
		t.Errorf("LastUsedAt after second use = %v, want %v", got, t2)
	}
}

func TestKeyringRunFlushesOnExit(t *testing.T) {
	db, ws := testStore(t)
	k, secret := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "used", AllPermissions: true})
	r := auth.NewKeyring(db, discard())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, time.Hour) // no tick in this test: only the exit flush
	}()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := r.Authenticate(t.Context(), secret, now); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	sk, err := db.Key(t.Context(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sk.LastUsedAt.Equal(now) {
		t.Errorf("LastUsedAt after Run exits = %v, want %v", sk.LastUsedAt, now)
	}
}

func TestKeyAllows(t *testing.T) {
	ctx := t.Context()
	db, ws := testStore(t)
	_, secret := createKey(t, db, auth.KeyRequest{
		WorkspaceID: ws.ID, Name: "narrow",
		Permissions: []string{"users.track", "catalogs.get_item"},
		AllowedIPs:  []string{"10.0.0.0/8", "2001:db8::/32"},
	})
	r := auth.NewKeyring(db, discard())
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// Read back through the store, so the check covers what SQLite kept.
	k, err := r.Authenticate(ctx, secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range auth.PermissionNames() {
		want := n == "users.track" || n == "catalogs.get_item"
		if got := k.Allows(auth.MustPermission(n)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", n, got, want)
		}
	}
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true},
		{"11.1.2.3", false},
		{"2001:db8::7", true},
		{"2001:db9::7", false},
	} {
		if got := k.AllowsAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("AllowsAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}

	_, open := createKey(t, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "open", AllPermissions: true})
	ok, err := r.Authenticate(ctx, open, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !ok.AllowsAddr(netip.MustParseAddr("8.8.8.8")) || !ok.AllowsAddr(netip.MustParseAddr("2001:4860::8888")) {
		t.Error("a key with no allowlist refused an address")
	}
}

func TestNewAPIKey(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 123_456_789, time.FixedZone("X", 3600))
	for _, tt := range []struct {
		name      string
		req       auth.KeyRequest
		wantPerms []string
		wantIPs   []netip.Prefix
		wantErr   []string // fragments of the one detail, if invalid
	}{
		{
			name:      "ok",
			req:       auth.KeyRequest{WorkspaceID: "ws", Name: "  ci  ", Permissions: []string{"messages.send", "users.track"}, AllowedIPs: []string{"10.0.0.0/8", "::ffff:1.2.3.4"}},
			wantPerms: []string{"users.track", "messages.send"},
			wantIPs:   []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("1.2.3.4/32")},
		},
		{name: "all permissions", req: auth.KeyRequest{Name: "root", AllPermissions: true}, wantPerms: auth.PermissionNames()},
		{name: "longest name", req: auth.KeyRequest{Name: strings.Repeat("é", auth.MaxKeyNameLength), AllPermissions: true}, wantPerms: auth.PermissionNames()},
		{name: "empty name", req: auth.KeyRequest{Name: "", AllPermissions: true}, wantErr: []string{"needs a name"}},
		{name: "blank name", req: auth.KeyRequest{Name: " \t ", AllPermissions: true}, wantErr: []string{"needs a name"}},
		// The limit is in characters, not bytes: 256 two-byte runes.
		{name: "name too long", req: auth.KeyRequest{Name: strings.Repeat("é", auth.MaxKeyNameLength+1), AllPermissions: true}, wantErr: []string{"at most 255 characters"}},
		{name: "no permissions", req: auth.KeyRequest{Name: "k"}, wantErr: []string{"at least one permission"}},
		{name: "blank permissions", req: auth.KeyRequest{Name: "k", Permissions: []string{"", " "}}, wantErr: []string{"at least one permission"}},
		{name: "unknown permission", req: auth.KeyRequest{Name: "k", Permissions: []string{"users.track", "users.fly"}}, wantErr: []string{`"users.fly"`, "valid permissions are"}},
		{name: "bad IP", req: auth.KeyRequest{Name: "k", AllPermissions: true, AllowedIPs: []string{"10.0.0.0/8", "10.0.0.1/8", "nope"}}, wantErr: []string{"invalid IP allowlist", `"10.0.0.1/8"`, `"nope"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, secret, err := auth.NewAPIKey(tt.req, now)
			if tt.wantErr != nil {
				if got := brazen.ErrorCode(err); got != brazen.EINVALID {
					t.Fatalf("err = %v (code %q), want code %q", err, got, brazen.EINVALID)
				}
				if k != nil || secret != "" {
					t.Errorf("invalid request returned key %v and a secret", k)
				}
				e := err.(*brazen.Error)
				if len(e.Details) != 1 {
					t.Fatalf("Details = %q, want one", e.Details)
				}
				for _, frag := range tt.wantErr {
					if !strings.Contains(e.Details[0], frag) {
						t.Errorf("detail %q does not contain %q", e.Details[0], frag)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !keyShape.MatchString(secret) || k.Hash != brazen.HashSecret(secret) {
				t.Errorf("secret %q is badly shaped or does not match the hash", secret)
			}
			if k.Name != strings.TrimSpace(tt.req.Name) || k.WorkspaceID != tt.req.WorkspaceID || len(k.ID) != 24 {
				t.Errorf("key = %+v, want name %q, workspace %q and a 24-character id", k, strings.TrimSpace(tt.req.Name), tt.req.WorkspaceID)
			}
			if !slices.Equal(k.Permissions, tt.wantPerms) {
				t.Errorf("Permissions = %q, want %q", k.Permissions, tt.wantPerms)
			}
			if !slices.Equal(k.AllowedIPs, tt.wantIPs) {
				t.Errorf("AllowedIPs = %v, want %v", k.AllowedIPs, tt.wantIPs)
			}
			// Millisecond UTC is what the store keeps, so a key reads back
			// equal to what was created.
			if want := now.UTC().Truncate(time.Millisecond); k.CreatedAt != want {
				t.Errorf("CreatedAt = %v, want %v", k.CreatedAt, want)
			}
			if !k.LastUsedAt.IsZero() {
				t.Errorf("LastUsedAt = %v, want zero", k.LastUsedAt)
			}
		})
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	ctx := b.Context()
	db, ws := testStore(b)
	_, secret := createKey(b, db, auth.KeyRequest{WorkspaceID: ws.ID, Name: "bench", AllPermissions: true})
	r := auth.NewKeyring(db, discard())
	if err := r.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Authenticate(ctx, secret, now); err != nil {
			b.Fatal(err)
		}
	}
}
