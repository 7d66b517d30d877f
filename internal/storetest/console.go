package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/brazenhq/brazen/internal/brazen"
)

var consoleTests = []storeTest{
	{"Admins/RoundTrip", testAdminRoundTrip},
	{"Admins/EmailConflict", testAdminEmailConflict},
	{"Admins/Password", testAdminPassword},
	{"Admins/TouchLogin", testAdminTouchLogin},
	{"Admins/Delete", testDeleteAdmin},
	{"Tokens/RoundTrip", testConsoleTokenRoundTrip},
	{"Tokens/DeleteExpired", testDeleteExpiredConsoleTokens},
	{"SetupToken/Consume", testConsumeSetupToken},
	{"SetupToken/Expired", testConsumeExpiredSetupToken},
	{"SetupToken/NotASession", testConsumeSessionToken},
	{"SetupToken/AfterAccount", testConsumeSetupTokenAfterAccount},
	{"SetupToken/Concurrent", testConsumeSetupTokenConcurrent},
}

var usageTests = []storeTest{
	{"AddTwiceSums", testUsageAddTwice},
	{"SinceAndDelete", testUsageSinceAndDelete},
	{"Concurrent", testUsageConcurrent},
	{"Buckets", testUsageBuckets},
}

// A placeholder PHC string: the store keeps it as it is.
const phc = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"

func newAdmin(email string, created time.Time) *brazen.Admin {
	return &brazen.Admin{ID: brazen.NewID(), Email: email, PasswordHash: phc, CreatedAt: created}
}

func createAdmin(t *testing.T, s brazen.Store, a *brazen.Admin) {
	t.Helper()
	if err := s.CreateAdmin(t.Context(), a); err != nil {
		t.Fatalf("CreateAdmin(%s): %v", a.Email, err)
	}
}

func adminByID(t *testing.T, s brazen.Store, id string) *brazen.Admin {
	t.Helper()
	a, err := s.AdminByID(t.Context(), id)
	if err != nil {
		t.Fatalf("AdminByID(%s): %v", id, err)
	}
	return a
}

func listAdmins(t *testing.T, s brazen.Store) []*brazen.Admin {
	t.Helper()
	admins, err := s.Admins(t.Context())
	if err != nil {
		t.Fatalf("Admins: %v", err)
	}
	return admins
}

// newConsoleToken builds a token valid for ttl from created.
func newConsoleToken(kind, adminID string, created time.Time, ttl time.Duration) brazen.ConsoleToken {
	return brazen.ConsoleToken{Hash: brazen.HashSecret(kind + " " + brazen.NewID()), Kind: kind, AdminID: adminID,
		CreatedAt: created, ExpiresAt: created.Add(ttl)}
}

func createConsoleToken(t *testing.T, s brazen.Store, tok brazen.ConsoleToken) {
	t.Helper()
	if err := s.CreateConsoleToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateConsoleToken(%s): %v", tok.Kind, err)
	}
}

// wantToken checks that tok is found as it was stored, at now.
func wantToken(t *testing.T, s brazen.Store, what string, tok brazen.ConsoleToken, now time.Time) {
	t.Helper()
	got, err := s.ConsoleToken(t.Context(), tok.Hash, tok.Kind, now)
	if err != nil {
		t.Errorf("%s: ConsoleToken: %v", what, err)
		return
	}
	if diff := cmp.Diff(&tok, got, cmpOpts); diff != "" {
		t.Errorf("%s: ConsoleToken (-want +got):\n%s", what, diff)
	}
}

// wantNoToken checks that tok is not found at now.
func wantNoToken(t *testing.T, s brazen.Store, what string, tok brazen.ConsoleToken, now time.Time) {
	t.Helper()
	got, err := s.ConsoleToken(t.Context(), tok.Hash, tok.Kind, now)
	if !brazen.IsNotFound(err) || got != nil {
		t.Errorf("%s: ConsoleToken = %+v, %v; want nil, not found", what, got, err)
	}
}

func testAdminRoundTrip(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	// Created out of order, so that insertion order is not the answer.
	ann := newAdmin("Ann@Example.COM", base.Add(time.Hour))
	bob := newAdmin("bob@example.com", base)
	createAdmin(t, s, ann)
	createAdmin(t, s, bob)

	wantAnn := *ann
	wantAnn.Email = "ann@example.com"
	for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.COM"} {
		got, err := s.AdminByEmail(ctx, email)
		if err != nil {
			t.Fatalf("AdminByEmail(%s): %v", email, err)
		}
		if diff := cmp.Diff(&wantAnn, got, cmpOpts); diff != "" {
			t.Errorf("AdminByEmail(%s) (-want +got):\n%s", email, diff)
		}
	}
	if diff := cmp.Diff(&wantAnn, adminByID(t, s, ann.ID), cmpOpts); diff != "" {
		t.Errorf("AdminByID (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*brazen.Admin{bob, &wantAnn}, listAdmins(t, s), cmpOpts); diff != "" {
		t.Errorf("Admins, oldest first (-want +got):\n%s", diff)
	}

	if got, err := s.AdminByEmail(ctx, "nobody@example.com"); !brazen.IsNotFound(err) || got != nil {
		t.Errorf("AdminByEmail(unknown) = %+v, %v; want nil, not found", got, err)
	}
	if got, err := s.AdminByID(ctx, "ffffffffffffffffffffffff"); !brazen.IsNotFound(err) || got != nil {
		t.Errorf("AdminByID(unknown) = %+v, %v; want nil, not found", got, err)
	}
}

func testAdminEmailConflict(t *testing.T, s brazen.Store) {
	orig := newAdmin("ann@example.com", base)
	createAdmin(t, s, orig)
	dup := newAdmin("ANN@example.com", base.Add(time.Second))
	wantCode(t, "CreateAdmin with an email in use in another case", s.CreateAdmin(t.Context(), dup), brazen.ECONFLICT)
	if diff := cmp.Diff([]*brazen.Admin{orig}, listAdmins(t, s), cmpOpts); diff != "" {
		t.Errorf("Admins after a refused duplicate (-want +got):\n%s", diff)
	}
}

// storeTokens stores two sessions of a, one of b and a setup token.
func storeTokens(t *testing.T, s brazen.Store, a, b *brazen.Admin) (aSessions []brazen.ConsoleToken, bSession, setup brazen.ConsoleToken) {
	t.Helper()
	aSessions = []brazen.ConsoleToken{
		newConsoleToken(brazen.TokenSession, a.ID, base, time.Hour),
		newConsoleToken(brazen.TokenSession, a.ID, base, 2*time.Hour),
	}
	bSession = newConsoleToken(brazen.TokenSession, b.ID, base, time.Hour)
	setup = newConsoleToken(brazen.TokenSetup, "", base, time.Hour)
	for _, tok := range append(aSessions, bSession, setup) {
		createConsoleToken(t, s, tok)
	}
	return aSessions, bSession, setup
}

func testAdminPassword(t *testing.T, s brazen.Store) {
	ann := newAdmin("ann@example.com", base)
	bob := newAdmin("bob@example.com", base)
	createAdmin(t, s, ann)
	createAdmin(t, s, bob)
	annSessions, bobSession, setup := storeTokens(t, s, ann, bob)
	const newHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaA"
	if err := s.SetAdminPassword(t.Context(), ann.ID, newHash); err != nil {
		t.Fatalf("SetAdminPassword: %v", err)
	}
	// A new password ends the account's sessions, and only its sessions.
	for i, tok := range annSessions {
		wantNoToken(t, s, fmt.Sprintf("the account's session %d after a new password", i), tok, base)
	}
	wantToken(t, s, "another account's session", bobSession, base)
	wantToken(t, s, "setup token", setup, base)
	if got := adminByID(t, s, ann.ID); got.PasswordHash != newHash {
		t.Errorf("PasswordHash = %q, want %q", got.PasswordHash, newHash)
	}
	if got := adminByID(t, s, bob.ID); got.PasswordHash != phc {
		t.Errorf("another account's PasswordHash = %q, want it unchanged", got.PasswordHash)
	}
	wantCode(t, "SetAdminPassword(unknown)", s.SetAdminPassword(t.Context(), "ffffffffffffffffffffffff", newHash), brazen.ENOTFOUND)
}

func testAdminTouchLogin(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ann := newAdmin("ann@example.com", base)
	bob := newAdmin("bob@example.com", base.Add(time.Second))
	createAdmin(t, s, ann)
	createAdmin(t, s, bob)
	if got := adminByID(t, s, ann.ID); !got.LastLoginAt.IsZero() {
		t.Errorf("new account: LastLoginAt = %v, want zero", got.LastLoginAt)
	}
	for _, at := range []time.Time{base.Add(time.Minute), base.Add(time.Hour)} {
		if err := s.TouchAdminLogin(ctx, ann.ID, at); err != nil {
			t.Fatalf("TouchAdminLogin(%v): %v", at, err)
		}
		if got := adminByID(t, s, ann.ID); !got.LastLoginAt.Equal(at) {
			t.Errorf("after TouchAdminLogin(%v): AdminByID LastLoginAt = %v", at, got.LastLoginAt)
		}
		got, err := s.AdminByEmail(ctx, "ANN@example.com")
		if err != nil {
			t.Fatalf("AdminByEmail: %v", err)
		}
		if !got.LastLoginAt.Equal(at) {
			t.Errorf("after TouchAdminLogin(%v): AdminByEmail LastLoginAt = %v", at, got.LastLoginAt)
		}
	}
	admins := listAdmins(t, s)
	if len(admins) != 2 || !admins[0].LastLoginAt.Equal(base.Add(time.Hour)) || !admins[1].LastLoginAt.IsZero() {
		t.Errorf("Admins = %+v, want ann logged in at %v and bob never", admins, base.Add(time.Hour))
	}
}

func testDeleteAdmin(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	gone := newAdmin("gone@example.com", base)
	kept := newAdmin("kept@example.com", base.Add(time.Second))
	createAdmin(t, s, gone)
	createAdmin(t, s, kept)
	goneSessions, keptSession, setup := storeTokens(t, s, gone, kept)

	if err := s.DeleteAdmin(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteAdmin: %v", err)
	}
	if got, err := s.AdminByID(ctx, gone.ID); !brazen.IsNotFound(err) {
		t.Errorf("AdminByID(deleted) = %+v, %v; want not found", got, err)
	}
	if got, err := s.AdminByEmail(ctx, gone.Email); !brazen.IsNotFound(err) {
		t.Errorf("AdminByEmail(deleted) = %+v, %v; want not found", got, err)
	}
	for i, tok := range goneSessions {
		wantNoToken(t, s, fmt.Sprintf("deleted account's session %d", i), tok, base)
	}
	wantToken(t, s, "another account's session", keptSession, base)
	wantToken(t, s, "setup token", setup, base)
	if diff := cmp.Diff([]*brazen.Admin{kept}, listAdmins(t, s), cmpOpts); diff != "" {
		t.Errorf("Admins after DeleteAdmin (-want +got):\n%s", diff)
	}
	wantCode(t, "DeleteAdmin twice", s.DeleteAdmin(ctx, gone.ID), brazen.ENOTFOUND)
	wantCode(t, "DeleteAdmin(unknown)", s.DeleteAdmin(ctx, "ffffffffffffffffffffffff"), brazen.ENOTFOUND)

	// The email is free again.
	createAdmin(t, s, newAdmin("gone@example.com", base.Add(time.Minute)))
}

func testConsoleTokenRoundTrip(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ann := newAdmin("ann@example.com", base)
	createAdmin(t, s, ann)
	session := newConsoleToken(brazen.TokenSession, ann.ID, base, time.Hour)
	setup := newConsoleToken(brazen.TokenSetup, "", base, 24*time.Hour)
	createConsoleToken(t, s, session)
	createConsoleToken(t, s, setup)

	wantToken(t, s, "session at creation", session, base)
	wantToken(t, s, "session a millisecond before it expires", session, session.ExpiresAt.Add(-time.Millisecond))
	wantNoToken(t, s, "session when it expires", session, session.ExpiresAt)
	wantNoToken(t, s, "session after it expired", session, session.ExpiresAt.Add(time.Hour))
	wantToken(t, s, "setup token", setup, base)

	wrongKind := session
	wrongKind.Kind = brazen.TokenSetup
	wantNoToken(t, s, "session asked for as a setup token", wrongKind, base)
	wrongKind = setup
	wrongKind.Kind = brazen.TokenSession
	wantNoToken(t, s, "setup token asked for as a session", wrongKind, base)
	unknown := newConsoleToken(brazen.TokenSession, ann.ID, base, time.Hour)
	wantNoToken(t, s, "unknown token", unknown, base)

	dup := newConsoleToken(brazen.TokenSession, ann.ID, base, time.Hour)
	dup.Hash = session.Hash
	wantCode(t, "CreateConsoleToken with a hash in use", s.CreateConsoleToken(ctx, dup), brazen.ECONFLICT)

	if err := s.DeleteConsoleToken(ctx, session.Hash); err != nil {
		t.Fatalf("DeleteConsoleToken: %v", err)
	}
	wantNoToken(t, s, "deleted session", session, base)
	wantToken(t, s, "setup token after deleting the session", setup, base)
	if err := s.DeleteConsoleToken(ctx, session.Hash); err != nil {
		t.Errorf("DeleteConsoleToken twice: %v, want no error", err)
	}
	if err := s.DeleteConsoleToken(ctx, unknown.Hash); err != nil {
		t.Errorf("DeleteConsoleToken(unknown): %v, want no error", err)
	}
}

func testDeleteExpiredConsoleTokens(t *testing.T, s brazen.Store) {
	ann := newAdmin("ann@example.com", base)
	createAdmin(t, s, ann)
	early := newConsoleToken(brazen.TokenSession, ann.ID, base, time.Hour)
	onTime := newConsoleToken(brazen.TokenSetup, "", base, 2*time.Hour)
	late := newConsoleToken(brazen.TokenSession, ann.ID, base, 3*time.Hour)
	for _, tok := range []brazen.ConsoleToken{early, onTime, late} {
		createConsoleToken(t, s, tok)
	}
	if err := s.DeleteExpiredConsoleTokens(t.Context(), base.Add(2*time.Hour)); err != nil {
		t.Fatalf("DeleteExpiredConsoleTokens: %v", err)
	}
	// Asked for at base, when all three were valid: the expired ones are gone.
	wantNoToken(t, s, "token expired an hour before", early, base)
	wantNoToken(t, s, "token expiring at that instant", onTime, base)
	wantToken(t, s, "token expiring later", late, base)
	if err := s.DeleteExpiredConsoleTokens(t.Context(), base.Add(2*time.Hour)); err != nil {
		t.Errorf("DeleteExpiredConsoleTokens again: %v", err)
	}
}

func testConsumeSetupToken(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	setup := newConsoleToken(brazen.TokenSetup, "", base, time.Hour)
	other := newConsoleToken(brazen.TokenSetup, "", base, time.Hour)
	createConsoleToken(t, s, setup)
	createConsoleToken(t, s, other)

	ann := newAdmin("Ann@Example.com", base.Add(time.Minute))
	if err := s.ConsumeSetupToken(ctx, setup.Hash, base.Add(time.Minute), ann); err != nil {
		t.Fatalf("ConsumeSetupToken: %v", err)
	}
	got, err := s.AdminByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatalf("AdminByEmail after ConsumeSetupToken: %v", err)
	}
	if got.ID != ann.ID || got.Email != "ann@example.com" || got.PasswordHash != phc || !got.CreatedAt.Equal(ann.CreatedAt) {
		t.Errorf("account made by ConsumeSetupToken = %+v, want %+v with a lower-case email", got, ann)
	}
	wantNoToken(t, s, "used setup token", setup, base.Add(time.Minute))
	wantToken(t, s, "another setup token", other, base.Add(time.Minute))
	carl := newAdmin("carl@example.com", base.Add(time.Minute))
	wantCode(t, "ConsumeSetupToken(another link) once an account exists", s.ConsumeSetupToken(ctx, other.Hash, base.Add(time.Minute), carl), brazen.ENOTFOUND)

	bob := newAdmin("bob@example.com", base.Add(2*time.Minute))
	wantCode(t, "ConsumeSetupToken a second time", s.ConsumeSetupToken(ctx, setup.Hash, base.Add(2*time.Minute), bob), brazen.ENOTFOUND)
	if got, err := s.AdminByID(ctx, bob.ID); !brazen.IsNotFound(err) {
		t.Errorf("AdminByID of the refused account = %+v, %v; want not found", got, err)
	}
	unknown := newConsoleToken(brazen.TokenSetup, "", base, time.Hour)
	wantCode(t, "ConsumeSetupToken(unknown)", s.ConsumeSetupToken(ctx, unknown.Hash, base, bob), brazen.ENOTFOUND)
	if n := len(listAdmins(t, s)); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
}

func testConsumeExpiredSetupToken(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	setup := newConsoleToken(brazen.TokenSetup, "", base, time.Hour)
	createConsoleToken(t, s, setup)
	ann := newAdmin("ann@example.com", base)
	wantCode(t, "ConsumeSetupToken when it expires", s.ConsumeSetupToken(ctx, setup.Hash, setup.ExpiresAt, ann), brazen.ENOTFOUND)
	wantCode(t, "ConsumeSetupToken after it expired", s.ConsumeSetupToken(ctx, setup.Hash, setup.ExpiresAt.Add(time.Hour), ann), brazen.ENOTFOUND)
	if admins := listAdmins(t, s); len(admins) != 0 {
		t.Errorf("Admins = %+v, want none", admins)
	}
	// An expired token is not consumed: it was refused, not used.
	if err := s.ConsumeSetupToken(ctx, setup.Hash, setup.ExpiresAt.Add(-time.Millisecond), ann); err != nil {
		t.Errorf("ConsumeSetupToken a millisecond before it expires: %v", err)
	}
}

func testConsumeSessionToken(t *testing.T, s brazen.Store) {
	ann := newAdmin("ann@example.com", base)
	createAdmin(t, s, ann)
	session := newConsoleToken(brazen.TokenSession, ann.ID, base, time.Hour)
	createConsoleToken(t, s, session)
	bob := newAdmin("bob@example.com", base)
	wantCode(t, "ConsumeSetupToken of a session", s.ConsumeSetupToken(t.Context(), session.Hash, base, bob), brazen.ENOTFOUND)
	wantToken(t, s, "session after a refused ConsumeSetupToken", session, base)
	if got, err := s.AdminByID(t.Context(), bob.ID); !brazen.IsNotFound(err) {
		t.Errorf("AdminByID of the refused account = %+v, %v; want not found", got, err)
	}
}

// testConsumeSetupTokenAfterAccount: a setup link makes the first account
// only; once an account exists (here made by the CLI's CreateAdmin) every
// link is refused and creates nothing.
func testConsumeSetupTokenAfterAccount(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	ann := newAdmin("ann@example.com", base)
	createAdmin(t, s, ann)
	setup := newConsoleToken(brazen.TokenSetup, "", base, time.Hour)
	createConsoleToken(t, s, setup)
	bob := newAdmin("bob@example.com", base.Add(time.Minute))
	wantCode(t, "ConsumeSetupToken once an account exists", s.ConsumeSetupToken(ctx, setup.Hash, base.Add(time.Minute), bob), brazen.ENOTFOUND)
	if diff := cmp.Diff([]*brazen.Admin{ann}, listAdmins(t, s), cmpOpts); diff != "" {
		t.Errorf("Admins after the refused link (-want +got):\n%s", diff)
	}
}

// testConsumeSetupTokenConcurrent: one link makes one account, however
// many requests use it at once.
func testConsumeSetupTokenConcurrent(t *testing.T, s brazen.Store) {
	const n = 8
	setup := newConsoleToken(brazen.TokenSetup, "", base, time.Hour)
	createConsoleToken(t, s, setup)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			a := newAdmin(fmt.Sprintf("admin%d@example.com", i), base)
			errs[i] = s.ConsumeSetupToken(t.Context(), setup.Hash, base, a)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantCode(t, fmt.Sprintf("ConsumeSetupToken %d", i), err, brazen.ENOTFOUND)
	}
	if ok != 1 {
		t.Errorf("%d ConsumeSetupToken calls succeeded, want 1", ok)
	}
	if admins := listAdmins(t, s); len(admins) != 1 {
		t.Errorf("%d accounts, want 1", len(admins))
	}
}

// minute is base's minute plus i minutes.
func minute(i int) time.Time { return base.Truncate(time.Minute).Add(time.Duration(i) * time.Minute) }

func addUsage(t *testing.T, s brazen.Store, counts ...brazen.APIUsage) {
	t.Helper()
	if err := s.AddAPIUsage(t.Context(), counts); err != nil {
		t.Fatalf("AddAPIUsage: %v", err)
	}
}

// usageSince returns APIUsageSince(since), checking that it is oldest
// first; the order within a minute is left open.
func usageSince(t *testing.T, s brazen.Store, since time.Time) []brazen.APIUsage {
	t.Helper()
	got, err := s.APIUsageSince(t.Context(), since, time.Minute)
	if err != nil {
		t.Fatalf("APIUsageSince(%v): %v", since, err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Minute.Before(got[i-1].Minute) {
			t.Errorf("APIUsageSince(%v): %v listed after %v, want oldest first", since, got[i].Minute, got[i-1].Minute)
		}
	}
	return got
}

var sortUsage = cmpopts.SortSlices(func(a, b brazen.APIUsage) bool {
	if !a.Minute.Equal(b.Minute) {
		return a.Minute.Before(b.Minute)
	}
	if a.Route != b.Route {
		return a.Route < b.Route
	}
	return a.Status < b.Status
})

const (
	routeTrack  = "POST /users/track"
	routeExport = "POST /users/export/ids"
)

func testUsageAddTwice(t *testing.T, s brazen.Store) {
	if err := s.AddAPIUsage(t.Context(), nil); err != nil {
		t.Errorf("AddAPIUsage(nil): %v", err)
	}
	addUsage(t, s, brazen.APIUsage{Minute: minute(0), Route: routeTrack, Status: 201, Count: 3})
	addUsage(t, s, brazen.APIUsage{Minute: minute(0), Route: routeTrack, Status: 201, Count: 4})
	// The same key twice in one call adds up too.
	addUsage(t, s,
		brazen.APIUsage{Minute: minute(0), Route: routeTrack, Status: 201, Count: 10},
		brazen.APIUsage{Minute: minute(0), Route: routeTrack, Status: 201, Count: 20})
	want := []brazen.APIUsage{{Minute: minute(0), Route: routeTrack, Status: 201, Count: 37}}
	if diff := cmp.Diff(want, usageSince(t, s, minute(0)), cmpOpts); diff != "" {
		t.Errorf("APIUsageSince (-want +got):\n%s", diff)
	}
}

func testUsageSinceAndDelete(t *testing.T, s brazen.Store) {
	// Added newest first, so that insertion order is not the answer.
	all := []brazen.APIUsage{
		{Minute: minute(2), Route: routeTrack, Status: 201, Count: 1},
		{Minute: minute(1), Route: routeTrack, Status: 201, Count: 5},
		{Minute: minute(1), Route: routeTrack, Status: 400, Count: 2},
		{Minute: minute(1), Route: routeExport, Status: 201, Count: 7},
		{Minute: minute(0), Route: routeExport, Status: 401, Count: 1},
		{Minute: minute(0), Route: routeTrack, Status: 201, Count: 9},
	}
	addUsage(t, s, all...)
	if diff := cmp.Diff(all, usageSince(t, s, minute(-60)), cmpOpts, sortUsage); diff != "" {
		t.Errorf("APIUsageSince(an hour before) (-want +got):\n%s", diff)
	}
	// The bound is inclusive.
	if diff := cmp.Diff(all[:4], usageSince(t, s, minute(1)), cmpOpts, sortUsage); diff != "" {
		t.Errorf("APIUsageSince(minute 1) (-want +got):\n%s", diff)
	}
	if got := usageSince(t, s, minute(3)); len(got) != 0 {
		t.Errorf("APIUsageSince(after the last minute) = %+v, want none", got)
	}

	if err := s.DeleteAPIUsageBefore(t.Context(), minute(1)); err != nil {
		t.Fatalf("DeleteAPIUsageBefore: %v", err)
	}
	if diff := cmp.Diff(all[:4], usageSince(t, s, minute(-60)), cmpOpts, sortUsage); diff != "" {
		t.Errorf("APIUsageSince after DeleteAPIUsageBefore(minute 1) (-want +got):\n%s", diff)
	}
	// Counts added after a delete start again from zero.
	addUsage(t, s, brazen.APIUsage{Minute: minute(0), Route: routeTrack, Status: 201, Count: 2})
	got := usageSince(t, s, minute(-60))
	if len(got) != 5 || !got[0].Minute.Equal(minute(0)) || got[0].Count != 2 {
		t.Errorf("APIUsageSince after adding to a deleted minute = %+v, want minute 0 counted 2 first", got)
	}
}

// testUsageConcurrent: nodes adding counts of the same keys at once, in
// different orders, lose nothing and never deadlock.
func testUsageConcurrent(t *testing.T, s brazen.Store) {
	const goroutines, calls = 8, 10
	var keys []brazen.APIUsage
	for m := range 3 {
		for _, route := range []string{routeTrack, routeExport} {
			for _, status := range []int{201, 400, 429} {
				keys = append(keys, brazen.APIUsage{Minute: minute(m), Route: route, Status: status, Count: 1})
			}
		}
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			counts := make([]brazen.APIUsage, len(keys))
			for i, k := range keys {
				if g%2 == 1 { // the other order
					k = keys[len(keys)-1-i]
				}
				k.Count = int64(g + 1)
				counts[i] = k
			}
			for i := range calls {
				if err := s.AddAPIUsage(t.Context(), counts); err != nil {
					t.Errorf("goroutine %d, call %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := make([]brazen.APIUsage, len(keys))
	for i, k := range keys {
		k.Count = calls * goroutines * (goroutines + 1) / 2
		want[i] = k
	}
	if diff := cmp.Diff(want, usageSince(t, s, minute(0)), cmpOpts, sortUsage); diff != "" {
		t.Errorf("counts after concurrent AddAPIUsage (-want +got):\n%s", diff)
	}
}

// testUsageBuckets: counts are summed by bucket, measured from the Unix
// epoch, in the store.
func testUsageBuckets(t *testing.T, s brazen.Store) {
	hour := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	addUsage(t, s,
		brazen.APIUsage{Minute: hour.Add(-time.Minute), Route: routeTrack, Status: 201, Count: 1},
		brazen.APIUsage{Minute: hour, Route: routeTrack, Status: 201, Count: 2},
		brazen.APIUsage{Minute: hour.Add(59 * time.Minute), Route: routeTrack, Status: 201, Count: 3},
		brazen.APIUsage{Minute: hour.Add(30 * time.Minute), Route: routeTrack, Status: 429, Count: 4},
		brazen.APIUsage{Minute: hour.Add(61 * time.Minute), Route: routeTrack, Status: 201, Count: 5},
	)
	got, err := s.APIUsageSince(t.Context(), hour.Add(-time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []brazen.APIUsage{
		{Minute: hour.Add(-time.Hour), Route: routeTrack, Status: 201, Count: 1},
		{Minute: hour, Route: routeTrack, Status: 201, Count: 5},
		{Minute: hour, Route: routeTrack, Status: 429, Count: 4},
		{Minute: hour.Add(time.Hour), Route: routeTrack, Status: 201, Count: 5},
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("APIUsageSince(by the hour) (-want +got):\n%s", diff)
	}
	if got, _ := s.APIUsageSince(t.Context(), hour, 0); len(got) != 4 {
		t.Errorf("a bucket under a minute: %d rows, want the 4 minutes from the hour on", len(got))
	}
}
