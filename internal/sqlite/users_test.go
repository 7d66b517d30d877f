package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/storetest"
)

// These tests check what the conformance suite cannot see through the
// contract: where the ingest log lives and when it is trimmed, and the rows
// behind events, purchases and rollups, read through a connection of their
// own.

var at = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// openMigrated opens and migrates a store at path, closing it when the test
// ends.
func openMigrated(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db := open(t, path)
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// raw opens a plain connection to one of the store's files.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// apply runs fn in one Apply at position pos.
func apply(t *testing.T, db *sqlite.DB, pos int64, fn func(ctx context.Context, tx brazen.UserTx) error) {
	t.Helper()
	err := storetest.Apply0(t.Context(), db, func(tx brazen.UserTx) (int64, error) { return pos, fn(t.Context(), tx) })
	if err != nil {
		t.Fatalf("Apply(%d): %v", pos, err)
	}
}

func appendN(t *testing.T, db *sqlite.DB, n int) int64 {
	t.Helper()
	var recs [][]byte
	for i := range n {
		recs = append(recs, fmt.Appendf(nil, "record %d", i))
	}
	first, err := storetest.AppendData(t.Context(), db, recs)
	if err != nil {
		t.Fatalf("AppendLog: %v", err)
	}
	return first
}

func TestIngestLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brazen.db")
	db := openMigrated(t, path)
	if _, err := os.Stat(sqlite.LogPath(path)); err != nil {
		t.Fatalf("ingest log file after Open and Migrate: %v", err)
	}
	if sqlite.LogPath(path) == path {
		t.Fatalf("LogPath(%s) is the main file", path)
	}
	first, err := storetest.AppendData(t.Context(), db, [][]byte{[]byte("a"), []byte("b"), {0, 0xff}})
	if err != nil {
		t.Fatalf("AppendLog: %v", err)
	}

	log := raw(t, sqlite.LogPath(path))
	rows, err := log.QueryContext(t.Context(), "SELECT seq, data FROM ingest_log ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []brazen.LogRecord
	for rows.Next() {
		var r brazen.LogRecord
		if err := rows.Scan(&r.Seq, &r.Data); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []brazen.LogRecord{{Seq: first, Data: []byte("a")}, {Seq: first + 1, Data: []byte("b")}, {Seq: first + 2, Data: []byte{0, 0xff}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows of the log file (-want +got):\n%s", diff)
	}
	// Appends never take the main file's write lock: the log is not there.
	if n := count(t, raw(t, path), "SELECT count(*) FROM sqlite_master WHERE name = 'ingest_log'"); n != 0 {
		t.Errorf("the main file has an ingest_log table")
	}
}

func TestIngestLogTrimmed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brazen.db")
	db := openMigrated(t, path)
	log := raw(t, sqlite.LogPath(path))
	rowsLeft := func() int { return count(t, log, "SELECT count(*) FROM ingest_log") }

	first := appendN(t, db, 5)
	last := first + 4
	noop := func(context.Context, brazen.UserTx) error { return nil }
	// The first Apply trims: nothing has been trimmed yet.
	apply(t, db, first+2, noop)
	if n := count(t, log, "SELECT count(*) FROM ingest_log WHERE seq <= ?", first+2); n != 0 {
		t.Errorf("after the first Apply %d applied records are left in the log, want none", n)
	}
	if n := rowsLeft(); n != 2 {
		t.Errorf("after the first Apply %d records are left in the log, want the 2 unapplied", n)
	}
	// Trims are at most a second apart; the one after that removes the rest.
	apply(t, db, last, noop)
	time.Sleep(1100 * time.Millisecond)
	apply(t, db, last, noop)
	if n := rowsLeft(); n != 0 {
		t.Errorf("a second later %d records are left in the log, want none", n)
	}
	if head, err := storetest.Head(t.Context(), db); err != nil || head != last {
		t.Errorf("LogHead of the trimmed log = %d, %v; want %d", head, err, last)
	}
	if next := appendN(t, db, 1); next != last+1 {
		t.Errorf("AppendLog after trimming = %d, want %d", next, last+1)
	}
}

// TestIngestLogLost reopens a store whose log file is gone (or kept): new
// records must be numbered above the applied position, which the applier
// reads after, or they would never be applied.
func TestIngestLogLost(t *testing.T) {
	tests := []struct {
		name     string
		appended int
		applied  int // of the appended records
		remove   bool
		wantNext func(first, pos int64) int64
	}{
		{"AllApplied", 5, 5, true, func(first, pos int64) int64 { return pos + 1 }},
		{"SomeUnapplied", 5, 3, true, func(first, pos int64) int64 { return pos + 1 }},
		{"NothingApplied", 3, 0, true, func(first, pos int64) int64 { return 1 }},
		{"Kept", 5, 3, false, func(first, pos int64) int64 { return first + 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "brazen.db")
			db, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			first := appendN(t, db, tt.appended)
			var pos int64
			if tt.applied > 0 {
				pos = first + int64(tt.applied) - 1
				apply(t, db, pos, func(context.Context, brazen.UserTx) error { return nil })
			}
			if err := db.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if tt.remove {
				for _, suffix := range []string{"", "-wal", "-shm"} {
					if err := os.Remove(sqlite.LogPath(path) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
						t.Fatal(err)
					}
				}
			}

			db = openMigrated(t, path)
			if got, err := storetest.Applied(ctx, db); err != nil || got != pos {
				t.Fatalf("AppliedPosition after reopening = %d, %v; want %d", got, err, pos)
			}
			if head, err := storetest.Head(ctx, db); err != nil || head < pos {
				t.Errorf("LogHead after reopening = %d, %v; want at least the applied position %d", head, err, pos)
			}
			next, err := storetest.AppendData(ctx, db, [][]byte{[]byte("after reopening")})
			if err != nil {
				t.Fatalf("AppendLog: %v", err)
			}
			if want := tt.wantNext(first, pos); next != want {
				t.Errorf("AppendLog after reopening = %d, want %d", next, want)
			}
			recs, err := storetest.ReadData(ctx, db, pos, 100)
			if err != nil {
				t.Fatalf("ReadLog: %v", err)
			}
			if len(recs) == 0 || recs[len(recs)-1].Seq != next || string(recs[len(recs)-1].Data) != "after reopening" {
				t.Errorf("ReadLog after the applied position %d = %+v; want it to end with the new record %d", pos, recs, next)
			}
		})
	}
}

type eventRow struct {
	BrazeID    string
	Name       string
	Time       int64
	AppID      sql.NullString
	Properties sql.NullString
}

func eventRows(t *testing.T, db *sql.DB, brazeID string) []eventRow {
	t.Helper()
	rows, err := db.QueryContext(t.Context(),
		"SELECT braze_id, name, time, app_id, properties FROM events WHERE braze_id = ? ORDER BY id", brazeID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []eventRow
	for rows.Next() {
		var r eventRow
		if err := rows.Scan(&r.BrazeID, &r.Name, &r.Time, &r.AppID, &r.Properties); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type purchaseRow struct {
	BrazeID    string
	ProductID  string
	Currency   string
	Price      float64
	Quantity   int
	Time       int64
	AppID      sql.NullString
	Properties sql.NullString
}

func purchaseRows(t *testing.T, db *sql.DB, brazeID string) []purchaseRow {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT braze_id, product_id, currency, price, quantity, time, app_id, properties
		FROM purchases WHERE braze_id = ? ORDER BY id`, brazeID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []purchaseRow
	for rows.Next() {
		var r purchaseRow
		if err := rows.Scan(&r.BrazeID, &r.ProductID, &r.Currency, &r.Price, &r.Quantity, &r.Time, &r.AppID, &r.Properties); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func null(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func TestEventAndPurchaseRows(t *testing.T) {
	tests := []struct {
		name string
		n    int // events and purchases; more than one multi-row INSERT holds
	}{
		{"One", 1},
		{"OneInsert", 64},
		{"SeveralInserts", 129},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "brazen.db")
			db := openMigrated(t, path)
			var (
				events       []brazen.EventRecord
				purchases    []brazen.PurchaseRecord
				wantEvents   []eventRow
				wantPurchase []purchaseRow
			)
			for i := range tt.n {
				e := brazen.EventRecord{BrazeID: "u", Name: fmt.Sprintf("event %d", i), Time: at.Add(time.Duration(i) * time.Millisecond)}
				p := brazen.PurchaseRecord{BrazeID: "u", ProductID: fmt.Sprintf("sku-%d", i), Currency: "EUR",
					Price: float64(i) + 0.25, Quantity: i + 1, Time: at.Add(time.Duration(i) * time.Second)}
				if i%2 == 0 {
					e.AppID, e.Properties = "app", fmt.Appendf(nil, `{"i":%d,"s":"é"}`, i)
					p.AppID, p.Properties = "app", fmt.Appendf(nil, `{"i":%d}`, i)
				}
				events = append(events, e)
				purchases = append(purchases, p)
				wantEvents = append(wantEvents, eventRow{"u", e.Name, e.Time.UnixMilli(), null(e.AppID), null(string(e.Properties))})
				wantPurchase = append(wantPurchase, purchaseRow{"u", p.ProductID, "EUR", p.Price, p.Quantity, p.Time.UnixMilli(),
					null(p.AppID), null(string(p.Properties))})
			}
			apply(t, db, 1, func(ctx context.Context, tx brazen.UserTx) error {
				return errors.Join(tx.AddEvents(ctx, events), tx.AddPurchases(ctx, purchases))
			})
			main := raw(t, path)
			if diff := cmp.Diff(wantEvents, eventRows(t, main, "u")); diff != "" {
				t.Errorf("event rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantPurchase, purchaseRows(t, main, "u")); diff != "" {
				t.Errorf("purchase rows (-want +got):\n%s", diff)
			}
		})
	}
}

// addActivity gives a profile two events and one purchase.
func addActivity(ctx context.Context, tx brazen.UserTx, brazeID string) error {
	if err := tx.PutProfile(ctx, &brazen.Profile{BrazeID: brazeID, ExternalID: brazeID, CreatedAt: at, UpdatedAt: at}, true); err != nil {
		return err
	}
	return errors.Join(
		tx.AddEvents(ctx, []brazen.EventRecord{
			{BrazeID: brazeID, Name: "login", Time: at},
			{BrazeID: brazeID, Name: "logout", Time: at.Add(time.Hour)},
		}),
		tx.AddPurchases(ctx, []brazen.PurchaseRecord{
			{BrazeID: brazeID, ProductID: "sku", Currency: "USD", Price: 1.5, Quantity: 1, Time: at},
		}))
}

func TestActivityOnDeleteAndMerge(t *testing.T) {
	tests := []struct {
		name          string
		ops           func(ctx context.Context, tx brazen.UserTx) error
		wantEvents    map[string]int // by braze id
		wantPurchases map[string]int
	}{
		{"DeleteRemovesActivity", func(ctx context.Context, tx brazen.UserTx) error {
			return tx.DeleteProfile(ctx, "a")
		}, map[string]int{"a": 0, "b": 2}, map[string]int{"a": 0, "b": 1}},
		{"MoveThenDeleteKeepsMoved", func(ctx context.Context, tx brazen.UserTx) error {
			return errors.Join(tx.MoveActivity(ctx, "a", "b"), tx.DeleteProfile(ctx, "a"))
		}, map[string]int{"a": 0, "b": 4}, map[string]int{"a": 0, "b": 2}},
		{"DeleteThenMoveMovesNothing", func(ctx context.Context, tx brazen.UserTx) error {
			return errors.Join(tx.DeleteProfile(ctx, "a"), tx.MoveActivity(ctx, "a", "b"))
		}, map[string]int{"a": 0, "b": 2}, map[string]int{"a": 0, "b": 1}},
		{"MoveOnly", func(ctx context.Context, tx brazen.UserTx) error {
			return tx.MoveActivity(ctx, "a", "b")
		}, map[string]int{"a": 0, "b": 4}, map[string]int{"a": 0, "b": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "brazen.db")
			db := openMigrated(t, path)
			apply(t, db, 1, func(ctx context.Context, tx brazen.UserTx) error {
				return errors.Join(addActivity(ctx, tx, "a"), addActivity(ctx, tx, "b"))
			})
			apply(t, db, 2, tt.ops)
			main := raw(t, path)
			gotEvents, gotPurchases := map[string]int{}, map[string]int{}
			for _, id := range []string{"a", "b"} {
				gotEvents[id] = count(t, main, "SELECT count(*) FROM events WHERE braze_id = ?", id)
				gotPurchases[id] = count(t, main, "SELECT count(*) FROM purchases WHERE braze_id = ?", id)
			}
			if diff := cmp.Diff(tt.wantEvents, gotEvents); diff != "" {
				t.Errorf("events by profile (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPurchases, gotPurchases); diff != "" {
				t.Errorf("purchases by profile (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRollupsAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brazen.db")
	db := openMigrated(t, path)
	batches := [][]brazen.Rollup{
		{
			{Kind: "event", Name: "login", Day: "2025-03-14", Count: 2},
			{Kind: "purchase", Name: "login", Day: "2025-03-14", Count: 1, Revenue: 9.5},
			{Kind: "purchase", Name: "sku", Day: "2025-03-14", Count: 3, Revenue: 30},
		},
		{
			{Kind: "event", Name: "login", Day: "2025-03-14", Count: 5},
			{Kind: "event", Name: "login", Day: "2025-03-15", Count: 1},
			{Kind: "purchase", Name: "sku", Day: "2025-03-14", Count: 1, Revenue: 0.25},
			// The same key twice in one call adds up too.
			{Kind: "purchase", Name: "sku", Day: "2025-03-14", Count: 2, Revenue: 5},
		},
	}
	for i, b := range batches {
		apply(t, db, int64(i+1), func(ctx context.Context, tx brazen.UserTx) error { return tx.AddRollups(ctx, b) })
	}
	// A failed Apply adds nothing.
	errFail := errors.New("failed")
	err := storetest.Apply0(t.Context(), db, func(tx brazen.UserTx) (int64, error) {
		if err := tx.AddRollups(t.Context(), batches[0]); err != nil {
			return 0, err
		}
		return 3, errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("failing Apply = %v, want %v", err, errFail)
	}

	rows, err := raw(t, path).QueryContext(t.Context(), "SELECT kind, name, day, count, revenue FROM rollups")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []brazen.Rollup
	for rows.Next() {
		var r brazen.Rollup
		if err := rows.Scan(&r.Kind, &r.Name, &r.Day, &r.Count, &r.Revenue); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []brazen.Rollup{
		{Kind: "event", Name: "login", Day: "2025-03-14", Count: 7},
		{Kind: "event", Name: "login", Day: "2025-03-15", Count: 1},
		{Kind: "purchase", Name: "login", Day: "2025-03-14", Count: 1, Revenue: 9.5},
		{Kind: "purchase", Name: "sku", Day: "2025-03-14", Count: 6, Revenue: 35.25},
	}
	sortRollups := cmpopts.SortSlices(func(a, b brazen.Rollup) bool {
		return a.Kind+"\x00"+a.Name+"\x00"+a.Day < b.Kind+"\x00"+b.Name+"\x00"+b.Day
	})
	if diff := cmp.Diff(want, got, sortRollups); diff != "" {
		t.Errorf("rollup rows (-want +got):\n%s", diff)
	}
}

// TestApplyErrorMeansNotApplied: the applier takes an error from Apply to
// mean the batch was not applied, and applies it again. So once the
// transaction has committed, trimming the log (which happens after the
// commit) must not turn into an error, or the batch is applied twice.
func TestApplyErrorMeansNotApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brazen.db")
	db := openMigrated(t, path)
	first := appendN(t, db, 2)
	// Make the trim fail, as a full disk or another process holding the log
	// file's write lock past the busy timeout would.
	if _, err := raw(t, sqlite.LogPath(path)).ExecContext(t.Context(),
		"CREATE TRIGGER refuse_trim BEFORE DELETE ON ingest_log BEGIN SELECT RAISE(ABORT, 'trim refused'); END"); err != nil {
		t.Fatal(err)
	}
	p := &brazen.Profile{BrazeID: "u", ExternalID: "u", CreatedAt: at, UpdatedAt: at}
	err := storetest.Apply0(t.Context(), db, func(tx brazen.UserTx) (int64, error) {
		return first + 1, errors.Join(tx.PutProfile(t.Context(), p, true), addActivity(t.Context(), tx, "u"))
	})
	pos, posErr := storetest.Applied(t.Context(), db)
	if posErr != nil {
		t.Fatal(posErr)
	}
	_, profileErr := db.Profile(t.Context(), "u")
	committed := pos == first+1 && profileErr == nil
	if err != nil && committed {
		t.Fatalf("Apply returned %q although its transaction committed (position %d, profile stored): "+
			"the applier would apply the batch again", err, pos)
	}
	if err == nil && !committed {
		t.Errorf("Apply succeeded but position = %d, profile: %v", pos, profileErr)
	}
	if err != nil && (pos != 0 || !brazen.IsNotFound(profileErr)) {
		t.Errorf("Apply failed (%v) but position = %d, profile: %v", err, pos, profileErr)
	}
}
