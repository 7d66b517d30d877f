// Package storetest is the conformance suite for brazen.Store. Every backend
// (SQLite today, PostgreSQL later) runs the same suite from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) brazen.Store { … })
//	}
//
// The suite checks the contract written in internal/brazen, never how a
// backend keeps its data, so that the layers above the store can rely on it
// whichever backend is configured.
package storetest

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/brazenhq/brazen/internal/auth"
	"github.com/brazenhq/brazen/internal/brazen"
)

// Run runs the suite. open must return a new, empty store for every call;
// Run migrates it before each subtest and closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) brazen.Store) {
	tests := []storeTest{
		{"Ping", testPing},
		{"MigrateAgainAppliesNothing", testMigrateAgain},
		{"DefaultWorkspace/CreatesOnce", testDefaultWorkspaceCreatesOnce},
		{"DefaultWorkspace/Concurrent", testDefaultWorkspaceConcurrent},
		{"Bootstrap/StoresKeyOnce", testBootstrap},
		{"Bootstrap/Concurrent", testBootstrapConcurrent},
		{"Bootstrap/MissingWorkspace", testBootstrapMissingWorkspace},
		{"Keys/RoundTrip", testKeyRoundTrip},
		{"Keys/OldestFirst", testKeysOldestFirst},
		{"Keys/ScopedToWorkspace", testKeysScoped},
		{"Keys/NotFound", testKeyNotFound},
		{"Keys/Conflict", testKeyConflict},
		{"Keys/MissingWorkspace", testKeyMissingWorkspace},
		{"Keys/Delete", testDeleteKey},
		{"Keys/Touch", testTouchKeys},
		{"AdminTokens/RoundTrip", testAdminTokenRoundTrip},
		{"AdminTokens/NotFound", testAdminTokenNotFound},
		{"AdminTokens/Conflict", testAdminTokenConflict},
		{"AdminTokens/Touch", testTouchAdminToken},
		{"AdminTokens/Delete", testDeleteAdminToken},
	}
	runTests(t, open, tests)
	t.Run("Counters", func(t *testing.T) { runTests(t, open, counterTests) })
	t.Run("Cards", func(t *testing.T) { runTests(t, open, cardTests) })
	t.Run("Bounces", func(t *testing.T) { runTests(t, open, bounceTests) })
	t.Run("Jobs", func(t *testing.T) { runTests(t, open, jobTests) })
	t.Run("Messages", func(t *testing.T) { runTests(t, open, messageTests) })
	t.Run("Console", func(t *testing.T) { runTests(t, open, consoleTests) })
	t.Run("Usage", func(t *testing.T) { runTests(t, open, usageTests) })
	t.Run("Ingest", func(t *testing.T) { runTests(t, open, ingestTests) })
	t.Run("Users", func(t *testing.T) { runUsers(t, open) })
}

// storeTest is one conformance test, run on a fresh, migrated store.
type storeTest struct {
	name string
	test func(t *testing.T, s brazen.Store)
}

// runTests runs tests in parallel, each on its own store.
func runTests(t *testing.T, open func(t *testing.T) brazen.Store, tests []storeTest) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			if _, err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			tt.test(t, s)
		})
	}
}

// base is a fixed creation time with millisecond precision, the precision
// every backend keeps.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// cmpOpts compares stored values with what was written: instants rather than
// time.Time representations (a backend may return another location), and an
// empty list the same as a nil one. A log record's After is checked on its
// own (Partitions/After).
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreFields(brazen.LogRecord{}, "After"),
}

func workspace(t *testing.T, s brazen.Store) *brazen.Workspace {
	t.Helper()
	ws, _, err := s.DefaultWorkspace(t.Context(), "Test Workspace")
	if err != nil {
		t.Fatalf("DefaultWorkspace: %v", err)
	}
	return ws
}

// newKey builds a key as the API does; the secret is discarded.
func newKey(t *testing.T, req auth.KeyRequest, created time.Time) *brazen.APIKey {
	t.Helper()
	k, _, err := auth.NewAPIKey(req, created)
	if err != nil {
		t.Fatalf("NewAPIKey(%+v): %v", req, err)
	}
	return k
}

func trackKey(t *testing.T, workspaceID, name string, created time.Time) *brazen.APIKey {
	t.Helper()
	return newKey(t, auth.KeyRequest{WorkspaceID: workspaceID, Name: name, Permissions: []string{"users.track"}}, created)
}

func createKey(t *testing.T, s brazen.Store, k *brazen.APIKey) {
	t.Helper()
	if err := s.CreateKey(t.Context(), k); err != nil {
		t.Fatalf("CreateKey(%s): %v", k.Name, err)
	}
}

func getKey(t *testing.T, s brazen.Store, id string) *brazen.APIKey {
	t.Helper()
	k, err := s.Key(t.Context(), id)
	if err != nil {
		t.Fatalf("Key(%s): %v", id, err)
	}
	return k
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := brazen.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (kind %q), want kind %q", what, err, got, code)
	}
}

// wantNoKey checks that no key with k's id or hash is stored.
func wantNoKey(t *testing.T, s brazen.Store, k *brazen.APIKey) {
	t.Helper()
	if got, err := s.Key(t.Context(), k.ID); !brazen.IsNotFound(err) {
		t.Errorf("Key(%s) = %+v, %v; want not found", k.ID, got, err)
	}
	if got, err := s.KeyByHash(t.Context(), k.Hash); !brazen.IsNotFound(err) {
		t.Errorf("KeyByHash(hash of %s) = %+v, %v; want not found", k.Name, got, err)
	}
}

func testPing(t *testing.T, s brazen.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testMigrateAgain(t *testing.T, s brazen.Store) {
	applied, err := s.Migrate(t.Context())
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("Migrate on a migrated store applied %v, want nothing", applied)
	}
}

func testDefaultWorkspaceCreatesOnce(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	first, created, err := s.DefaultWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatalf("first DefaultWorkspace: %v", err)
	}
	if !created {
		t.Error("first DefaultWorkspace: created = false, want true")
	}
	if first.ID == "" || first.Name != "Acme" || first.Bootstrapped {
		t.Errorf("first DefaultWorkspace = %+v, want an id, name Acme, not bootstrapped", first)
	}
	if first.CreatedAt.Before(before) || first.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about now", first.CreatedAt)
	}

	// The name only matters the first time.
	second, created, err := s.DefaultWorkspace(ctx, "Other Name")
	if err != nil {
		t.Fatalf("second DefaultWorkspace: %v", err)
	}
	if created {
		t.Error("second DefaultWorkspace: created = true, want false")
	}
	if diff := cmp.Diff(first, second, cmpOpts); diff != "" {
		t.Errorf("second DefaultWorkspace differs from the first (-first +second):\n%s", diff)
	}
}

func testDefaultWorkspaceConcurrent(t *testing.T, s brazen.Store) {
	const n = 8
	var (
		wg      sync.WaitGroup
		ids     [n]string
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			var ws *brazen.Workspace
			ws, created[i], errs[i] = s.DefaultWorkspace(t.Context(), fmt.Sprintf("Workspace %d", i))
			if ws != nil {
				ids[i] = ws.ID
			}
		})
	}
	wg.Wait()
	nCreated := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("DefaultWorkspace in goroutine %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("goroutine %d got workspace %s, goroutine 0 got %s", i, ids[i], ids[0])
		}
		if created[i] {
			nCreated++
		}
	}
	if nCreated != 1 {
		t.Errorf("%d calls reported creating the workspace, want 1", nCreated)
	}
	ws := workspace(t, s)
	if ws.ID != ids[0] {
		t.Errorf("DefaultWorkspace afterwards = %s, want %s", ws.ID, ids[0])
	}
}

func testBootstrap(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ws := workspace(t, s)
	first := newKey(t, auth.KeyRequest{WorkspaceID: ws.ID, Name: "admin", AllPermissions: true}, base)
	if err := s.Bootstrap(ctx, ws.ID, first); err != nil {
		t.Fatalf("first Bootstrap: %v", err)
	}
	if got := workspace(t, s); !got.Bootstrapped {
		t.Errorf("after Bootstrap the workspace is %+v, want Bootstrapped", got)
	}
	if diff := cmp.Diff(first, getKey(t, s, first.ID), cmpOpts); diff != "" {
		t.Errorf("bootstrap key as stored (-want +got):\n%s", diff)
	}

	second := newKey(t, auth.KeyRequest{WorkspaceID: ws.ID, Name: "admin", AllPermissions: true}, base.Add(time.Second))
	wantCode(t, "second Bootstrap", s.Bootstrap(ctx, ws.ID, second), brazen.ECONFLICT)
	wantNoKey(t, s, second)
	if got := workspace(t, s); !got.Bootstrapped {
		t.Errorf("after a refused Bootstrap the workspace is %+v, want Bootstrapped", got)
	}
}

// testBootstrapConcurrent is two servers starting at once on a new store:
// exactly one of them may issue (and print) a first key.
func testBootstrapConcurrent(t *testing.T, s brazen.Store) {
	const n = 6
	ws := workspace(t, s)
	var (
		wg   sync.WaitGroup
		keys [n]*brazen.APIKey
		errs [n]error
	)
	for i := range n {
		keys[i] = newKey(t, auth.KeyRequest{WorkspaceID: ws.ID, Name: fmt.Sprintf("admin %d", i), AllPermissions: true}, base)
		wg.Go(func() { errs[i] = s.Bootstrap(t.Context(), ws.ID, keys[i]) })
	}
	wg.Wait()
	var winner *brazen.APIKey
	for i, err := range errs {
		switch {
		case err == nil && winner != nil:
			t.Errorf("Bootstrap succeeded for both %q and %q", winner.Name, keys[i].Name)
		case err == nil:
			winner = keys[i]
		default:
			wantCode(t, fmt.Sprintf("Bootstrap %d", i), err, brazen.ECONFLICT)
		}
	}
	if winner == nil {
		t.Fatal("no Bootstrap succeeded")
	}
	stored, err := s.Keys(t.Context(), ws.ID)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if diff := cmp.Diff([]*brazen.APIKey{winner}, stored, cmpOpts); diff != "" {
		t.Errorf("keys after concurrent Bootstrap (-want +got):\n%s", diff)
	}
}

func testBootstrapMissingWorkspace(t *testing.T, s brazen.Store) {
	workspace(t, s)
	k := trackKey(t, "no-such-workspace", "admin", base)
	if err := s.Bootstrap(t.Context(), "no-such-workspace", k); err == nil {
		t.Error("Bootstrap of a missing workspace succeeded")
	}
	wantNoKey(t, s, k)
}

func testKeyRoundTrip(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ws := workspace(t, s)
	tests := []struct {
		name string
		req  auth.KeyRequest
	}{
		{"SomePermissions", auth.KeyRequest{Name: "ci", Permissions: []string{"users.track", "users.export.ids", "campaigns.list"}}},
		{"AllPermissions", auth.KeyRequest{Name: "admin", AllPermissions: true}},
		{"IPv4AndIPv6Allowlist", auth.KeyRequest{Name: "office", Permissions: []string{"messages.send"},
			AllowedIPs: []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "2001:db8:1::1"}}},
		{"UnicodeName", auth.KeyRequest{Name: "clé de l'équipe ✉", Permissions: []string{"email.status"}}},
	}
	var all []*brazen.APIKey
	for i, tt := range tests {
		tt.req.WorkspaceID = ws.ID
		want := newKey(t, tt.req, base.Add(time.Duration(i)*time.Second))
		createKey(t, s, want)
		all = append(all, want)

		if diff := cmp.Diff(want, getKey(t, s, want.ID), cmpOpts); diff != "" {
			t.Errorf("%s: Key (-want +got):\n%s", tt.name, diff)
		}
		got, err := s.KeyByHash(ctx, want.Hash)
		if err != nil {
			t.Fatalf("%s: KeyByHash: %v", tt.name, err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("%s: KeyByHash (-want +got):\n%s", tt.name, diff)
		}
	}

	// The allowlist must come back as the same prefixes, not merely
	// equivalent strings: the keyring matches addresses against them.
	office := getKey(t, s, all[2].ID)
	wantIPs := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("2001:db8:1::1/128"),
	}
	if diff := cmp.Diff(wantIPs, office.AllowedIPs, cmpOpts); diff != "" {
		t.Errorf("AllowedIPs (-want +got):\n%s", diff)
	}
	if !office.CreatedAt.Equal(base.Add(2 * time.Second)) {
		t.Errorf("CreatedAt = %v, want %v", office.CreatedAt, base.Add(2*time.Second))
	}

	keys, err := s.Keys(ctx, ws.ID)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if diff := cmp.Diff(all, keys, cmpOpts); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	everything, err := s.AllKeys(ctx)
	if err != nil {
		t.Fatalf("AllKeys: %v", err)
	}
	if diff := cmp.Diff(all, everything, cmpOpts, sortKeys); diff != "" {
		t.Errorf("AllKeys (-want +got):\n%s", diff)
	}
}

// sortKeys compares key lists whose order the contract leaves open.
var sortKeys = cmpopts.SortSlices(func(a, b *brazen.APIKey) bool { return a.ID < b.ID })

func testKeysOldestFirst(t *testing.T, s brazen.Store) {
	ws := workspace(t, s)
	// Created out of order, so that insertion order is not the answer.
	middle := trackKey(t, ws.ID, "middle", base.Add(time.Minute))
	newest := trackKey(t, ws.ID, "newest", base.Add(time.Hour))
	oldest := trackKey(t, ws.ID, "oldest", base)
	for _, k := range []*brazen.APIKey{middle, newest, oldest} {
		createKey(t, s, k)
	}
	keys, err := s.Keys(t.Context(), ws.ID)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	if diff := cmp.Diff([]string{"oldest", "middle", "newest"}, names); diff != "" {
		t.Errorf("Keys order (-want +got):\n%s", diff)
	}
}

func testKeysScoped(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ws := workspace(t, s)
	createKey(t, s, trackKey(t, ws.ID, "mine", base))

	// A store holds one workspace through the contract, so scoping shows as
	// another workspace id seeing none of its keys.
	keys, err := s.Keys(ctx, "0123456789abcdef01234567")
	if err != nil && !brazen.IsNotFound(err) {
		t.Fatalf("Keys of another workspace: %v", err)
	}
	if len(keys) != 0 {
		t.Errorf("Keys of another workspace = %d keys (%s), want none", len(keys), keys[0].Name)
	}
	keys, err = s.Keys(ctx, ws.ID)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if len(keys) != 1 || keys[0].Name != "mine" || keys[0].WorkspaceID != ws.ID {
		t.Errorf("Keys of the workspace = %+v, want the one key", keys)
	}
}

func testKeyNotFound(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ws := workspace(t, s)
	createKey(t, s, trackKey(t, ws.ID, "present", base))

	k, err := s.Key(ctx, "ffffffffffffffffffffffff")
	if !brazen.IsNotFound(err) || k != nil {
		t.Errorf("Key(unknown) = %+v, %v; want nil, not found", k, err)
	}
	k, err = s.KeyByHash(ctx, brazen.HashSecret("not a stored secret"))
	if !brazen.IsNotFound(err) || k != nil {
		t.Errorf("KeyByHash(unknown) = %+v, %v; want nil, not found", k, err)
	}
	wantCode(t, "DeleteKey(unknown)", s.DeleteKey(ctx, "ffffffffffffffffffffffff"), brazen.ENOTFOUND)
}

func testKeyConflict(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ws := workspace(t, s)
	orig := trackKey(t, ws.ID, "original", base)
	createKey(t, s, orig)

	tests := []struct {
		name   string
		modify func(k *brazen.APIKey)
	}{
		{"SameID", func(k *brazen.APIKey) { k.ID = orig.ID }},
		{"SameHash", func(k *brazen.APIKey) { k.Hash = orig.Hash }},
	}
	for _, tt := range tests {
		dup := trackKey(t, ws.ID, "duplicate "+tt.name, base.Add(time.Second))
		tt.modify(dup)
		wantCode(t, tt.name, s.CreateKey(ctx, dup), brazen.ECONFLICT)
	}
	keys, err := s.Keys(ctx, ws.ID)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if diff := cmp.Diff([]*brazen.APIKey{orig}, keys, cmpOpts); diff != "" {
		t.Errorf("keys after refused duplicates (-want +got):\n%s", diff)
	}
}

func testKeyMissingWorkspace(t *testing.T, s brazen.Store) {
	workspace(t, s)
	k := trackKey(t, "0123456789abcdef01234567", "orphan", base)
	if err := s.CreateKey(t.Context(), k); err == nil {
		t.Error("CreateKey into a missing workspace succeeded")
	}
	wantNoKey(t, s, k)
	all, err := s.AllKeys(t.Context())
	if err != nil {
		t.Fatalf("AllKeys: %v", err)
	}
	if len(all) != 0 {
		t.Errorf("AllKeys = %d keys, want none", len(all))
	}
}

func testDeleteKey(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ws := workspace(t, s)
	gone := trackKey(t, ws.ID, "gone", base)
	kept := trackKey(t, ws.ID, "kept", base.Add(time.Second))
	createKey(t, s, gone)
	createKey(t, s, kept)

	if err := s.DeleteKey(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	wantNoKey(t, s, gone)
	wantCode(t, "DeleteKey twice", s.DeleteKey(ctx, gone.ID), brazen.ENOTFOUND)
	keys, err := s.Keys(ctx, ws.ID)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if diff := cmp.Diff([]*brazen.APIKey{kept}, keys, cmpOpts); diff != "" {
		t.Errorf("Keys after DeleteKey (-want +got):\n%s", diff)
	}
	all, err := s.AllKeys(ctx)
	if err != nil {
		t.Fatalf("AllKeys: %v", err)
	}
	if diff := cmp.Diff([]*brazen.APIKey{kept}, all, cmpOpts); diff != "" {
		t.Errorf("AllKeys after DeleteKey (-want +got):\n%s", diff)
	}
}

func testTouchKeys(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ws := workspace(t, s)
	a := trackKey(t, ws.ID, "a", base)
	b := trackKey(t, ws.ID, "b", base)
	untouched := trackKey(t, ws.ID, "untouched", base)
	for _, k := range []*brazen.APIKey{a, b, untouched} {
		createKey(t, s, k)
	}
	t1 := base.Add(time.Hour)
	t2 := base.Add(2 * time.Hour)
	t3 := base.Add(3 * time.Hour)

	steps := []struct {
		name  string
		touch map[string]time.Time
		want  map[string]time.Time // by key name; zero means never used
	}{
		{"FirstUse", map[string]time.Time{a.ID: t2, b.ID: t1},
			map[string]time.Time{"a": t2, "b": t1}},
		{"NeverBackwards", map[string]time.Time{a.ID: t1, b.ID: t3},
			map[string]time.Time{"a": t2, "b": t3}},
		{"SameTimeAgain", map[string]time.Time{a.ID: t2},
			map[string]time.Time{"a": t2, "b": t3}},
		{"UnknownIDsIgnored", map[string]time.Time{"ffffffffffffffffffffffff": t3, a.ID: t3},
			map[string]time.Time{"a": t3, "b": t3}},
		{"Empty", map[string]time.Time{},
			map[string]time.Time{"a": t3, "b": t3}},
	}
	for _, step := range steps {
		if err := s.TouchKeys(ctx, step.touch); err != nil {
			t.Fatalf("%s: TouchKeys: %v", step.name, err)
		}
		keys, err := s.Keys(ctx, ws.ID)
		if err != nil {
			t.Fatalf("%s: Keys: %v", step.name, err)
		}
		got := map[string]time.Time{}
		for _, k := range keys {
			if !k.LastUsedAt.IsZero() {
				got[k.Name] = k.LastUsedAt
			}
		}
		if diff := cmp.Diff(step.want, got, cmpOpts); diff != "" {
			t.Errorf("%s: last used by key (-want +got):\n%s", step.name, diff)
		}
	}
	// The other reads see it too: the keyring loads keys with AllKeys.
	byHash, err := s.KeyByHash(ctx, a.Hash)
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	if !byHash.LastUsedAt.Equal(t3) {
		t.Errorf("KeyByHash: LastUsedAt = %v, want %v", byHash.LastUsedAt, t3)
	}
	all, err := s.AllKeys(ctx)
	if err != nil {
		t.Fatalf("AllKeys: %v", err)
	}
	for _, k := range all {
		if k.ID == untouched.ID && !k.LastUsedAt.IsZero() {
			t.Errorf("AllKeys: untouched key has LastUsedAt %v, want zero", k.LastUsedAt)
		}
	}
}

func newAdminToken(name string, created time.Time) (*brazen.AdminToken, string) {
	secret := auth.NewAdminToken()
	return &brazen.AdminToken{ID: brazen.NewID(), Name: name, Hash: brazen.HashSecret(secret), CreatedAt: created}, secret
}

func createAdminToken(t *testing.T, s brazen.Store, tok *brazen.AdminToken) {
	t.Helper()
	if err := s.CreateAdminToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateAdminToken(%s): %v", tok.Name, err)
	}
}

// sortTokens compares token lists whose order the contract leaves open.
var sortTokens = cmpopts.SortSlices(func(a, b *brazen.AdminToken) bool { return a.ID < b.ID })

func testAdminTokenRoundTrip(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ops, opsSecret := newAdminToken("ops", base)
	ci, _ := newAdminToken("ci ✓", base.Add(time.Second))
	createAdminToken(t, s, ops)
	createAdminToken(t, s, ci)

	got, err := s.AdminTokenByHash(ctx, brazen.HashSecret(opsSecret))
	if err != nil {
		t.Fatalf("AdminTokenByHash: %v", err)
	}
	if diff := cmp.Diff(ops, got, cmpOpts); diff != "" {
		t.Errorf("AdminTokenByHash (-want +got):\n%s", diff)
	}
	tokens, err := s.AdminTokens(ctx)
	if err != nil {
		t.Fatalf("AdminTokens: %v", err)
	}
	if diff := cmp.Diff([]*brazen.AdminToken{ops, ci}, tokens, cmpOpts, sortTokens); diff != "" {
		t.Errorf("AdminTokens (-want +got):\n%s", diff)
	}
}

func testAdminTokenNotFound(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	tok, _ := newAdminToken("present", base)
	createAdminToken(t, s, tok)

	got, err := s.AdminTokenByHash(ctx, brazen.HashSecret(auth.NewAdminToken()))
	if !brazen.IsNotFound(err) || got != nil {
		t.Errorf("AdminTokenByHash(unknown) = %+v, %v; want nil, not found", got, err)
	}
	wantCode(t, "DeleteAdminToken(unknown)", s.DeleteAdminToken(ctx, "ffffffffffffffffffffffff"), brazen.ENOTFOUND)
}

func testAdminTokenConflict(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	orig, _ := newAdminToken("original", base)
	createAdminToken(t, s, orig)
	tests := []struct {
		name   string
		modify func(tok *brazen.AdminToken)
	}{
		{"SameID", func(tok *brazen.AdminToken) { tok.ID = orig.ID }},
		{"SameHash", func(tok *brazen.AdminToken) { tok.Hash = orig.Hash }},
	}
	for _, tt := range tests {
		dup, _ := newAdminToken("duplicate "+tt.name, base.Add(time.Second))
		tt.modify(dup)
		wantCode(t, tt.name, s.CreateAdminToken(ctx, dup), brazen.ECONFLICT)
	}
	tokens, err := s.AdminTokens(ctx)
	if err != nil {
		t.Fatalf("AdminTokens: %v", err)
	}
	if diff := cmp.Diff([]*brazen.AdminToken{orig}, tokens, cmpOpts); diff != "" {
		t.Errorf("tokens after refused duplicates (-want +got):\n%s", diff)
	}
}

func testTouchAdminToken(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	tok, secret := newAdminToken("ops", base)
	other, _ := newAdminToken("other", base)
	createAdminToken(t, s, tok)
	createAdminToken(t, s, other)

	for _, at := range []time.Time{base.Add(time.Minute), base.Add(time.Hour)} {
		if err := s.TouchAdminToken(ctx, tok.ID, at); err != nil {
			t.Fatalf("TouchAdminToken(%v): %v", at, err)
		}
		got, err := s.AdminTokenByHash(ctx, brazen.HashSecret(secret))
		if err != nil {
			t.Fatalf("AdminTokenByHash: %v", err)
		}
		if !got.LastUsedAt.Equal(at) {
			t.Errorf("after TouchAdminToken(%v): LastUsedAt = %v", at, got.LastUsedAt)
		}
	}
	tokens, err := s.AdminTokens(ctx)
	if err != nil {
		t.Fatalf("AdminTokens: %v", err)
	}
	i := slices.IndexFunc(tokens, func(x *brazen.AdminToken) bool { return x.ID == other.ID })
	if i < 0 {
		t.Fatalf("AdminTokens lost token %s", other.ID)
	}
	if !tokens[i].LastUsedAt.IsZero() {
		t.Errorf("untouched token: LastUsedAt = %v, want zero", tokens[i].LastUsedAt)
	}
}

func testDeleteAdminToken(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	gone, goneSecret := newAdminToken("gone", base)
	kept, _ := newAdminToken("kept", base.Add(time.Second))
	createAdminToken(t, s, gone)
	createAdminToken(t, s, kept)

	if err := s.DeleteAdminToken(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteAdminToken: %v", err)
	}
	if got, err := s.AdminTokenByHash(ctx, brazen.HashSecret(goneSecret)); !brazen.IsNotFound(err) {
		t.Errorf("AdminTokenByHash(deleted) = %+v, %v; want not found", got, err)
	}
	wantCode(t, "DeleteAdminToken twice", s.DeleteAdminToken(ctx, gone.ID), brazen.ENOTFOUND)
	tokens, err := s.AdminTokens(ctx)
	if err != nil {
		t.Fatalf("AdminTokens: %v", err)
	}
	if diff := cmp.Diff([]*brazen.AdminToken{kept}, tokens, cmpOpts); diff != "" {
		t.Errorf("AdminTokens after delete (-want +got):\n%s", diff)
	}
}
