package console

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/pgtest"
	"github.com/brazenhq/brazen/internal/postgres"
	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

// onBothStores runs test on a SQLite store and on a PostgreSQL one (when
// a server is configured: see internal/pgtest).
func onBothStores(t *testing.T, test func(t *testing.T, db brazen.CounterStore)) {
	t.Run("sqlite", func(t *testing.T) { test(t, sqlitetest.Open(t)) })
	t.Run("postgres", func(t *testing.T) {
		db, err := postgres.Open(t.Context(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		test(t, db)
	})
}

// TestTakeAttempt: attempts are counted in the store's shared counters,
// 10 per fixed 5-minute window and key, under a hash of the key.
func TestTakeAttempt(t *testing.T) { onBothStores(t, testTakeAttempt) }

func testTakeAttempt(t *testing.T, db brazen.CounterStore) {
	ctx := t.Context()
	t0 := time.Unix(time.Now().Unix()/300*300, 0) // a window's start
	for i := range loginAttempts {
		if ok, _, err := takeAttempt(ctx, db, t0.Add(time.Duration(i)*time.Second), "addr/a", "login/x"); !ok || err != nil {
			t.Fatalf("attempt %d refused (%v)", i+1, err)
		}
	}
	ok, until, err := takeAttempt(ctx, db, t0.Add(time.Minute), "addr/b", "login/x")
	if ok || err != nil || !until.Equal(t0.Add(loginWindow)) {
		t.Errorf("attempt 11 with the same email from another address: %v until %v (%v), want refused until %v", ok, until, err, t0.Add(loginWindow))
	}
	if ok, _, _ := takeAttempt(ctx, db, t0.Add(time.Minute), "addr/b", "login/y"); !ok {
		t.Error("another email from the other address refused")
	}
	// Past its address's limit, a client's attempts count for no email.
	if ok, _, _ := takeAttempt(ctx, db, t0.Add(time.Minute), "addr/a", "login/z"); ok {
		t.Error("attempt 11 from one address, with a new email: allowed")
	}
	z, err := db.AddCounts(ctx, []brazen.CounterDelta{{Key: "console-attempts/" + counterName("login/z"), Window: t0.Unix(), Expires: t0.Add(loginWindow).Unix()}})
	if err != nil || z[0] != 0 {
		t.Errorf("the counter of an email tried past the address's limit: %v %v, want 0", z, err)
	}
	if ok, _, _ := takeAttempt(ctx, db, t0.Add(loginWindow), "addr/a", "login/x"); !ok {
		t.Error("the next window refused")
	}
	// The counter is named by the key's hash, never by what was typed.
	totals, err := db.AddCounts(ctx, []brazen.CounterDelta{{Key: "console-attempts/" + counterName("login/x"), Window: t0.Unix(), Expires: t0.Add(loginWindow).Unix()}})
	if err != nil || totals[0] != 11 {
		t.Errorf("the counter of login/x: %v %v, want 11", totals, err)
	}
	if n := counterName("login/x"); len(n) != 32 || strings.Contains(n, "login") {
		t.Errorf("counterName = %q", n)
	}
}

// TestFirstSend: a key form's id is new once.
func TestFirstSend(t *testing.T) { onBothStores(t, testFirstSend) }

func testFirstSend(t *testing.T, db brazen.CounterStore) {
	now := time.Now()
	for i, c := range []struct {
		id   string
		want bool
	}{{"form-1", true}, {"form-1", false}, {"form-2", true}, {"form-1", false}} {
		if got, err := firstSend(t.Context(), db, c.id, now); got != c.want || err != nil {
			t.Errorf("send %d of %s: %v (%v), want %v", i+1, c.id, got, err, c.want)
		}
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7": "192.0.2.7", "::ffff:192.0.2.7": "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
	} {
		if got := addressKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("addressKey(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestAttemptKeys: an attempt counts under the client's address and the
// email, except from loopback (a tunnel or a local proxy: many people),
// where the email alone limits.
func TestAttemptKeys(t *testing.T) {
	for in, want := range map[string][]string{
		"192.0.2.7": {"addr/192.0.2.7", "login/a@b.c"},
		"127.0.0.1": {"login/a@b.c"},
		"::1":       {"login/a@b.c"},
	} {
		if got := attemptKeys(netip.MustParseAddr(in), "login/a@b.c"); !slices.Equal(got, want) {
			t.Errorf("attemptKeys(%s) = %q, want %q", in, got, want)
		}
	}
}
