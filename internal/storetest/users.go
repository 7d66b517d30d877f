package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/brazenhq/brazen/internal/brazen"
)

// runUsers runs the user-data part of the suite: the ingest log, the
// applier's transactions, and profile and identifier reads. Events,
// purchases and rollups have no reader in the contract yet, so the suite
// checks only that writing them works and is atomic with the rest; each
// backend checks their rows in its own tests.
func runUsers(t *testing.T, open func(t *testing.T) brazen.Store) {
	tests := []storeTest{
		{"IngestLog/Empty", testLogEmpty},
		{"IngestLog/AppendAndRead", testLogAppendAndRead},
		{"IngestLog/ReadLimitAndAfter", testLogReadLimitAndAfter},
		{"IngestLog/ConcurrentAppends", testLogConcurrentAppends},
		{"IngestLog/NumbersNeverReused", testLogNumbersNeverReused},
		{"Apply/Position", testApplyPosition},
		{"Apply/WritesVisible", testApplyWritesVisible},
		{"Apply/FailureWritesNothing", testApplyFailure},
		{"Apply/ReadsOwnWrites", testApplyReadsOwnWrites},
		{"Apply/CanceledContext", testApplyCanceled},
		{"Profiles/RoundTrip", testProfileRoundTrip},
		{"Profiles/Replace", testProfileReplace},
		{"Profiles/NotFound", testProfileNotFound},
		{"Profiles/Identifiers", testProfileIdentifiers},
		{"Profiles/SharedEmailAndPhone", testSharedEmailAndPhone},
		{"Profiles/Delete", testDeleteProfile},
		{"Profiles/Merge", testMerge},
		{"ProfilesByExternalID/Found", testProfilesByExternalID},
		{"ProfilesByExternalID/ReadsOwnWrites", testProfilesByExternalIDOwnWrites},
		{"ProfilesByExternalID/AgreesWithByExternalID", testProfilesByExternalIDAgrees},
	}
	runTests(t, open, tests)
	runTests(t, open, partitionTests)
}

func appendLog(t *testing.T, s brazen.Store, records ...string) int64 {
	t.Helper()
	var data [][]byte
	for _, r := range records {
		data = append(data, []byte(r))
	}
	first, err := AppendData(t.Context(), s, data)
	if err != nil {
		t.Fatalf("AppendLog(%d records): %v", len(records), err)
	}
	return first
}

func readLog(t *testing.T, s brazen.Store, after int64, limit int) []brazen.LogRecord {
	t.Helper()
	recs, err := ReadData(t.Context(), s, after, limit)
	if err != nil {
		t.Fatalf("ReadLog(%d, %d): %v", after, limit, err)
	}
	return recs
}

func logHead(t *testing.T, s brazen.Store) int64 {
	t.Helper()
	head, err := Head(t.Context(), s)
	if err != nil {
		t.Fatalf("LogHead: %v", err)
	}
	return head
}

func appliedPosition(t *testing.T, s brazen.Store) int64 {
	t.Helper()
	pos, err := Applied(t.Context(), s)
	if err != nil {
		t.Fatalf("AppliedPosition: %v", err)
	}
	return pos
}

// applyTx runs fn in one successful Apply that advances the position by one,
// as the applier does once per batch.
func applyTx(t *testing.T, s brazen.Store, fn func(ctx context.Context, tx brazen.UserTx) error) {
	t.Helper()
	pos := appliedPosition(t, s) + 1
	err := Apply0(t.Context(), s, func(tx brazen.UserTx) (int64, error) {
		return pos, fn(t.Context(), tx)
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func putProfiles(t *testing.T, s brazen.Store, identityChanged bool, ps ...*brazen.Profile) {
	t.Helper()
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		for _, p := range ps {
			if err := tx.PutProfile(ctx, p, identityChanged); err != nil {
				return fmt.Errorf("PutProfile(%s): %w", p.BrazeID, err)
			}
		}
		return nil
	})
}

// profile returns a profile with only the fields every profile has.
func profile(brazeID string, updated time.Time) *brazen.Profile {
	return &brazen.Profile{BrazeID: brazeID, CreatedAt: base, UpdatedAt: updated}
}

// fullProfile returns a profile with every field set, with every kind of
// value custom attributes hold.
func fullProfile() *brazen.Profile {
	return &brazen.Profile{
		BrazeID:    "65f3a1b2c3d4e5f601234567",
		ExternalID: "user-1",
		Deprecated: []string{"legacy-1", "legacy-2"},
		Aliases:    []brazen.Alias{{Name: "a-1", Label: "crm"}, {Name: "a-1", Label: "shop"}},
		Email:      "Ada.Lovelace@Example.com",
		Phone:      "+15555550100",
		Standard: map[string]any{
			"first_name":      "Ada",
			"last_name":       "Lovelace",
			"dob":             "1815-12-10",
			"country":         "GB",
			"gender":          "F",
			"email_subscribe": "opted_in",
			"push_subscribe":  "subscribed",
		},
		Custom: map[string]any{
			"plan":         "pro",
			"visits":       json.Number("42"),
			"balance":      json.Number("-3.25"),
			"huge":         json.Number("12345678901234567890"),
			"vip":          true,
			"churned":      false,
			"empty":        "",
			"markup":       `<b>"fish" & chips</b>`,
			"unicode":      "héllo wörld ✓ 日本",
			"tags":         []any{"a", json.Number("1"), true, map[string]any{"k": "v"}, []any{"nested"}},
			"no_tags":      []any{},
			"last_visited": "2025-03-14T15:09:26.535Z",
			"address": map[string]any{
				"city":  "London",
				"geo":   map[string]any{"lat": json.Number("51.5072"), "lon": json.Number("-0.1276")},
				"lines": []any{"12 St James's Square"},
				"home":  false,
			},
		},
		Events: map[string]*brazen.Summary{
			"login":  {First: base, Last: base.Add(36*time.Hour + 7*time.Millisecond), Count: 17},
			"café ✓": {First: base.Add(time.Minute), Last: base.Add(time.Minute), Count: 1},
		},
		Purchases: map[string]*brazen.Summary{
			"sku-1": {First: base.Add(time.Hour), Last: base.Add(48 * time.Hour), Count: 3},
		},
		TotalRevenue: 123.45,
		CreatedAt:    base,
		UpdatedAt:    base.Add(72*time.Hour + 999*time.Millisecond),
	}
}

// ref is what identifier lookups must return for p.
func ref(p *brazen.Profile) brazen.ProfileRef {
	return brazen.ProfileRef{BrazeID: p.BrazeID, HasExternalID: p.ExternalID != "", UpdatedAt: p.UpdatedAt}
}

func describe(id brazen.Identifier) string {
	switch {
	case id.ExternalID != "":
		return fmt.Sprintf("ByExternalID(%q)", id.ExternalID)
	case id.Alias != nil:
		return fmt.Sprintf("ByAlias(%s:%s)", id.Alias.Label, id.Alias.Name)
	case id.Email != "":
		return fmt.Sprintf("ByEmail(%q)", id.Email)
	case id.Phone != "":
		return fmt.Sprintf("ByPhone(%q)", id.Phone)
	default:
		return fmt.Sprintf("Profile(%q)", id.BrazeID)
	}
}

// find looks id up in r with the reader method for its kind and returns
// what it found, sorted by braze id since the contract leaves the order of
// lists open. A single lookup that finds nothing must say ENOTFOUND, and a
// list lookup must return no error; either way find then returns no refs.
func find(ctx context.Context, r brazen.UserReader, id brazen.Identifier) ([]brazen.ProfileRef, error) {
	var (
		one  brazen.ProfileRef
		list []brazen.ProfileRef
		err  error
	)
	switch {
	case id.ExternalID != "":
		one, err = r.ByExternalID(ctx, id.ExternalID)
	case id.Alias != nil:
		one, err = r.ByAlias(ctx, *id.Alias)
	case id.Email != "":
		list, err = r.ByEmail(ctx, id.Email)
	case id.Phone != "":
		list, err = r.ByPhone(ctx, id.Phone)
	default:
		var p *brazen.Profile
		p, err = r.Profile(ctx, id.BrazeID)
		if err == nil {
			if p == nil {
				return nil, errors.New("nil profile and nil error")
			}
			one = ref(p)
		} else if p != nil {
			return nil, fmt.Errorf("profile %+v returned with error %w", p, err)
		}
	}
	single := id.Email == "" && id.Phone == ""
	switch {
	case single && brazen.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case single:
		return []brazen.ProfileRef{one}, nil
	}
	slices.SortFunc(list, func(a, b brazen.ProfileRef) int { return cmp.Compare(a.BrazeID, b.BrazeID) })
	return list, nil
}

// wantFound checks that looking id up in r finds exactly the profiles want
// (none: not found).
func wantFound(t *testing.T, r brazen.UserReader, where string, id brazen.Identifier, want ...*brazen.Profile) {
	t.Helper()
	got, err := find(t.Context(), r, id)
	if err != nil {
		t.Errorf("%s: %s: %v", where, describe(id), err)
		return
	}
	var refs []brazen.ProfileRef
	for _, p := range want {
		refs = append(refs, ref(p))
	}
	slices.SortFunc(refs, func(a, b brazen.ProfileRef) int { return cmp.Compare(a.BrazeID, b.BrazeID) })
	if diff := gocmp.Diff(refs, got, cmpOpts); diff != "" {
		t.Errorf("%s: %s (-want +got):\n%s", where, describe(id), diff)
	}
}

func wantProfile(t *testing.T, r brazen.UserReader, where string, want *brazen.Profile) {
	t.Helper()
	got, err := r.Profile(t.Context(), want.BrazeID)
	if err != nil {
		t.Errorf("%s: Profile(%s): %v", where, want.BrazeID, err)
		return
	}
	if diff := gocmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("%s: Profile(%s) (-want +got):\n%s", where, want.BrazeID, diff)
	}
}

func byExternalID(id string) brazen.Identifier { return brazen.Identifier{ExternalID: id} }
func byAlias(label, name string) brazen.Identifier {
	return brazen.Identifier{Alias: &brazen.Alias{Name: name, Label: label}}
}
func byEmail(email string) brazen.Identifier { return brazen.Identifier{Email: email} }
func byPhone(phone string) brazen.Identifier { return brazen.Identifier{Phone: phone} }
func byBrazeID(id string) brazen.Identifier  { return brazen.Identifier{BrazeID: id} }

// activity returns events, purchases and rollups for one profile.
func activity(brazeID string, at time.Time) ([]brazen.EventRecord, []brazen.PurchaseRecord, []brazen.Rollup) {
	day := at.UTC().Format(time.DateOnly)
	return []brazen.EventRecord{
			{BrazeID: brazeID, Name: "login", Time: at, AppID: "app-1", Properties: []byte(`{"method":"sso"}`)},
			{BrazeID: brazeID, Name: "login", Time: at.Add(time.Minute)},
		}, []brazen.PurchaseRecord{
			{BrazeID: brazeID, ProductID: "sku-1", Currency: "USD", Price: 9.99, Quantity: 2, Time: at, AppID: "app-1",
				Properties: []byte(`{"color":"red"}`)},
		}, []brazen.Rollup{
			{Kind: "event", Name: "login", Day: day, Count: 2},
			{Kind: "purchase", Name: "sku-1", Day: day, Count: 1, Revenue: 19.98},
		}
}

func addActivity(ctx context.Context, tx brazen.UserTx, brazeID string, at time.Time) error {
	events, purchases, rollups := activity(brazeID, at)
	if err := tx.AddEvents(ctx, events); err != nil {
		return fmt.Errorf("AddEvents: %w", err)
	}
	if err := tx.AddPurchases(ctx, purchases); err != nil {
		return fmt.Errorf("AddPurchases: %w", err)
	}
	if err := tx.AddRollups(ctx, rollups); err != nil {
		return fmt.Errorf("AddRollups: %w", err)
	}
	return nil
}

func testLogEmpty(t *testing.T, s brazen.Store) {
	if head := logHead(t, s); head != 0 {
		t.Errorf("LogHead of a new store = %d, want 0", head)
	}
	if recs := readLog(t, s, 0, 100); len(recs) != 0 {
		t.Errorf("ReadLog of a new store = %d records, want none", len(recs))
	}
}

func testLogAppendAndRead(t *testing.T, s brazen.Store) {
	batches := [][][]byte{
		{[]byte(`[{"op":"attrs"}]`), []byte("second"), []byte("third")},
		{{0, 1, 2, 0xff, 0xfe, 0}}, // not text: records are opaque bytes
		{[]byte(strings.Repeat("large record ", 5_000)), []byte("héllo ✓")},
	}
	var want []brazen.LogRecord
	for i, records := range batches {
		first, err := AppendData(t.Context(), s, records)
		if err != nil {
			t.Fatalf("AppendLog(batch %d): %v", i, err)
		}
		if i == 0 && first <= 0 {
			t.Errorf("first AppendLog returned %d, want a positive sequence number", first)
		}
		if i > 0 {
			if next := want[len(want)-1].Seq + 1; first != next {
				t.Errorf("AppendLog(batch %d) = %d, want %d, right after the previous batch", i, first, next)
			}
		}
		for j, r := range records {
			want = append(want, brazen.LogRecord{Seq: first + int64(j), Data: r})
		}
		if head := logHead(t, s); head != want[len(want)-1].Seq {
			t.Errorf("LogHead after batch %d = %d, want %d", i, head, want[len(want)-1].Seq)
		}
	}
	if diff := gocmp.Diff(want, readLog(t, s, 0, 100), cmpOpts); diff != "" {
		t.Errorf("ReadLog(0, 100) (-want +got):\n%s", diff)
	}
}

func testLogReadLimitAndAfter(t *testing.T, s brazen.Store) {
	records := []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6"}
	first := appendLog(t, s, records...)
	seq := func(i int) int64 { return first + int64(i) }
	tests := []struct {
		name  string
		after int64
		limit int
		want  []string
	}{
		{"All", 0, 100, []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6"}},
		{"ExactLimit", 0, 7, []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6"}},
		{"Limit", 0, 3, []string{"r0", "r1", "r2"}},
		{"LimitOne", 0, 1, []string{"r0"}},
		{"AfterFirst", seq(0), 100, []string{"r1", "r2", "r3", "r4", "r5", "r6"}},
		{"AfterAndLimit", seq(2), 2, []string{"r3", "r4"}},
		{"AfterLast", seq(6), 100, nil},
		{"AfterBeyond", seq(6) + 1000, 100, nil},
		{"LimitPastEnd", seq(5), 10, []string{"r6"}},
	}
	for _, tt := range tests {
		recs := readLog(t, s, tt.after, tt.limit)
		var got []string
		for i, r := range recs {
			got = append(got, string(r.Data))
			if i > 0 && r.Seq <= recs[i-1].Seq {
				t.Errorf("%s: seq %d after %d, want increasing", tt.name, r.Seq, recs[i-1].Seq)
			}
			if r.Seq <= tt.after {
				t.Errorf("%s: record %d returned, want only records after %d", tt.name, r.Seq, tt.after)
			}
			if i := slices.Index(records, string(r.Data)); r.Seq != seq(i) {
				t.Errorf("%s: record %q has seq %d, want %d", tt.name, r.Data, r.Seq, seq(i))
			}
		}
		if diff := gocmp.Diff(tt.want, got, cmpOpts); diff != "" {
			t.Errorf("%s: ReadLog(%d, %d) (-want +got):\n%s", tt.name, tt.after, tt.limit, diff)
		}
	}
}

// testLogConcurrentAppends is many requests committing at once: every
// record gets its own number, each batch's numbers are consecutive and
// nothing is skipped, so the applier (which reads after its position) can
// neither miss nor repeat a record.
func testLogConcurrentAppends(t *testing.T, s brazen.Store) {
	const (
		goroutines = 8
		appends    = 20
	)
	var (
		wg     sync.WaitGroup
		firsts [goroutines][appends]int64
		errs   [goroutines]error
	)
	size := func(j int) int { return 1 + j%3 }
	for g := range goroutines {
		wg.Go(func() {
			for j := range appends {
				var records [][]byte
				for k := range size(j) {
					records = append(records, fmt.Appendf(nil, "g%d-a%d-r%d", g, j, k))
				}
				first, err := AppendData(t.Context(), s, records)
				if err != nil {
					errs[g] = fmt.Errorf("append %d: %w", j, err)
					return
				}
				firsts[g][j] = first
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", g, err)
		}
	}

	want := map[int64]string{} // by seq
	for g := range goroutines {
		for j := range appends {
			if j > 0 && firsts[g][j] <= firsts[g][j-1] {
				t.Errorf("goroutine %d: append %d got %d after append %d got %d", g, j, firsts[g][j], j-1, firsts[g][j-1])
			}
			for k := range size(j) {
				seq := firsts[g][j] + int64(k)
				data := fmt.Sprintf("g%d-a%d-r%d", g, j, k)
				if other, dup := want[seq]; dup {
					t.Errorf("seq %d given to both %s and %s", seq, other, data)
				}
				want[seq] = data
			}
		}
	}
	seqs := slices.Sorted(maps.Keys(want))
	lo, hi := seqs[0], seqs[len(seqs)-1]
	if n := int64(len(seqs)); hi-lo+1 != n {
		t.Errorf("%d records numbered %d to %d: gaps", n, lo, hi)
	}
	if lo <= 0 {
		t.Errorf("lowest seq %d, want positive", lo)
	}
	if head := logHead(t, s); head != hi {
		t.Errorf("LogHead = %d, want %d", head, hi)
	}
	recs := readLog(t, s, 0, len(seqs)+10)
	got := map[int64]string{}
	for i, r := range recs {
		if i > 0 && r.Seq <= recs[i-1].Seq {
			t.Errorf("ReadLog: seq %d after %d, want increasing", r.Seq, recs[i-1].Seq)
		}
		got[r.Seq] = string(r.Data)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("ReadLog by seq (-want +got):\n%s", diff)
	}
}

// testLogNumbersNeverReused checks that applying (and so trimming) the log
// neither makes its head go back nor lets a new record take an old number:
// the applier, which reads after its position, would skip it.
func testLogNumbersNeverReused(t *testing.T, s brazen.Store) {
	appendLog(t, s, "a", "b", "c")
	head := logHead(t, s)
	if err := Apply0(t.Context(), s, func(brazen.UserTx) (int64, error) { return head, nil }); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := logHead(t, s); got != head {
		t.Errorf("LogHead after applying everything = %d, want %d", got, head)
	}
	if recs := readLog(t, s, head, 100); len(recs) != 0 {
		t.Errorf("ReadLog(%d) after applying everything = %d records, want none", head, len(recs))
	}
	first := appendLog(t, s, "d")
	if first <= head {
		t.Errorf("AppendLog after applying up to %d = %d, want a higher number", head, first)
	}
	recs := readLog(t, s, appliedPosition(t, s), 100)
	if len(recs) != 1 || recs[0].Seq != first || string(recs[0].Data) != "d" {
		t.Errorf("ReadLog after the applied position = %+v, want the new record %d", recs, first)
	}
}

func testApplyPosition(t *testing.T, s brazen.Store) {
	if pos := appliedPosition(t, s); pos != 0 {
		t.Fatalf("AppliedPosition of a new store = %d, want 0", pos)
	}
	errFail := errors.New("batch failed")
	steps := []struct {
		name string
		ret  int64
		err  error
		want int64
	}{
		{"Forward", 5, nil, 5},
		{"SameAgain", 5, nil, 5},
		{"NeverBackwards", 3, nil, 5},
		{"Zero", 0, nil, 5},
		{"FailedForward", 9, errFail, 5},
		{"ForwardAgain", 12, nil, 12},
		{"Jump", 1 << 40, nil, 1 << 40},
	}
	for _, step := range steps {
		err := Apply0(t.Context(), s, func(brazen.UserTx) (int64, error) { return step.ret, step.err })
		if !errors.Is(err, step.err) {
			t.Errorf("%s: Apply returning (%d, %v) = %v, want %v", step.name, step.ret, step.err, err, step.err)
		}
		if pos := appliedPosition(t, s); pos != step.want {
			t.Errorf("%s: AppliedPosition = %d, want %d", step.name, pos, step.want)
		}
	}
}

func testApplyWritesVisible(t *testing.T, s brazen.Store) {
	p := fullProfile()
	last := appendLog(t, s, "r1", "r2", "r3") + 2
	err := Apply0(t.Context(), s, func(tx brazen.UserTx) (int64, error) {
		if err := tx.PutProfile(t.Context(), p, true); err != nil {
			return 0, fmt.Errorf("PutProfile: %w", err)
		}
		return last, addActivity(t.Context(), tx, p.BrazeID, base)
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if pos := appliedPosition(t, s); pos != last {
		t.Errorf("AppliedPosition = %d, want %d", pos, last)
	}
	wantProfile(t, s, "after Apply", p)
	wantFound(t, s, "after Apply", byExternalID(p.ExternalID), p)

	// Empty writes are no-ops, not errors: a batch may hold no events.
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		return errors.Join(tx.AddEvents(ctx, nil), tx.AddPurchases(ctx, nil), tx.AddRollups(ctx, nil))
	})
}

func testApplyFailure(t *testing.T, s brazen.Store) {
	kept := profile("kept", base)
	kept.ExternalID = "kept"
	putProfiles(t, s, true, kept)
	before := appliedPosition(t, s)

	errFail := errors.New("the batch failed")
	failed := fullProfile()
	changed := *kept
	changed.ExternalID = "renamed"
	changed.UpdatedAt = base.Add(time.Hour)
	err := Apply0(t.Context(), s, func(tx brazen.UserTx) (int64, error) {
		ctx := t.Context()
		if err := tx.PutProfile(ctx, failed, true); err != nil {
			return 0, fmt.Errorf("PutProfile: %w", err)
		}
		if err := tx.PutProfile(ctx, &changed, true); err != nil {
			return 0, fmt.Errorf("PutProfile: %w", err)
		}
		if err := addActivity(ctx, tx, failed.BrazeID, base); err != nil {
			return 0, err
		}
		return before + 10, errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("Apply = %v, want the error fn returned (%v)", err, errFail)
	}
	if pos := appliedPosition(t, s); pos != before {
		t.Errorf("AppliedPosition after a failed Apply = %d, want %d", pos, before)
	}
	for _, id := range []brazen.Identifier{
		byBrazeID(failed.BrazeID), byExternalID(failed.ExternalID), byExternalID(failed.Deprecated[0]),
		byAlias(failed.Aliases[0].Label, failed.Aliases[0].Name), byEmail(failed.Email), byPhone(failed.Phone),
		byExternalID("renamed"),
	} {
		wantFound(t, s, "after a failed Apply", id)
	}
	wantProfile(t, s, "after a failed Apply", kept)
	wantFound(t, s, "after a failed Apply", byExternalID("kept"), kept)

	// The store is still usable, and the same writes succeed. (The failed
	// PutProfile moved failed.Version on as if it had committed: after a
	// failed Apply the caller's copies are stale, as the applier knows.)
	failed.Version = 0
	putProfiles(t, s, true, failed)
	wantProfile(t, s, "Apply after a failed one", failed)
}

// testApplyCanceled is the applier's context ending in the middle of a
// batch: the batch is either wholly applied or not at all, and the next
// Apply works. Several rounds, canceling at different points, because what
// happens to a canceled transaction may race with the next one.
func testApplyCanceled(t *testing.T, s brazen.Store) {
	for round := range 20 {
		pos := appliedPosition(t, s)
		p := profile(fmt.Sprintf("canceled-%d", round), base)
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(round%5)*time.Millisecond)
		err := Apply0(ctx, s, func(tx brazen.UserTx) (int64, error) {
			if err := tx.PutProfile(ctx, p, true); err != nil {
				return 0, err
			}
			// Write until the context ends, as a large batch would. A
			// store may ignore the cancellation (SQLite finishes what it
			// began), so the loop also stops when the context is done.
			for i := 0; i < 10_000 && (i == 0 || ctx.Err() == nil); i++ {
				if err := addActivity(ctx, tx, p.BrazeID, base); err != nil {
					return 0, err
				}
			}
			return pos + 1, nil
		})
		cancel()
		if err == nil {
			// Too late to stop: then it is all there.
			wantProfile(t, s, "Apply despite a canceled context", p)
			if got := appliedPosition(t, s); got != pos+1 {
				t.Errorf("round %d: Apply succeeded but AppliedPosition = %d, want %d", round, got, pos+1)
			}
		} else {
			wantFound(t, s, "Apply with a canceled context", byBrazeID(p.BrazeID))
			if got := appliedPosition(t, s); got != pos {
				t.Errorf("round %d: Apply failed (%v) but AppliedPosition = %d, want %d", round, err, got, pos)
			}
		}

		next := profile(fmt.Sprintf("next-%d", round), base)
		err = Apply0(t.Context(), s, func(tx brazen.UserTx) (int64, error) {
			return pos + 2, tx.PutProfile(t.Context(), next, true)
		})
		if err != nil {
			// Seen with SQLite when a canceled statement's interrupt landed
			// on the ROLLBACK and left the transaction open.
			t.Fatalf("round %d: Apply after an Apply with a canceled context: %v", round, err)
		}
		wantProfile(t, s, "Apply after an Apply with a canceled context", next)
	}
}

func testApplyReadsOwnWrites(t *testing.T, s brazen.Store) {
	old := profile("old", base)
	old.ExternalID = "old"
	putProfiles(t, s, true, old)

	p := fullProfile()
	updated := *old
	updated.Email = "old@example.com"
	updated.UpdatedAt = base.Add(time.Hour)
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		const where = "inside the transaction"
		wantFound(t, tx, where+", before writing", byBrazeID(p.BrazeID))
		if err := tx.PutProfile(ctx, p, true); err != nil {
			return fmt.Errorf("PutProfile: %w", err)
		}
		if err := tx.PutProfile(ctx, &updated, false); err != nil {
			return fmt.Errorf("PutProfile: %w", err)
		}
		wantProfile(t, tx, where, p)
		wantProfile(t, tx, where, &updated)
		for _, id := range []brazen.Identifier{
			byExternalID(p.ExternalID), byExternalID(p.Deprecated[1]), byAlias(p.Aliases[1].Label, p.Aliases[1].Name),
			byEmail(strings.ToUpper(p.Email)), byPhone(p.Phone),
		} {
			wantFound(t, tx, where, id, p)
		}
		wantFound(t, tx, where, byEmail("old@example.com"), &updated)

		// Others do not see the transaction before it commits.
		wantFound(t, s, "outside the transaction", byBrazeID(p.BrazeID))
		wantFound(t, s, "outside the transaction", byEmail("old@example.com"))

		if err := tx.DeleteProfile(ctx, old.BrazeID); err != nil {
			return fmt.Errorf("DeleteProfile: %w", err)
		}
		wantFound(t, tx, where+", after DeleteProfile", byBrazeID(old.BrazeID))
		wantFound(t, tx, where+", after DeleteProfile", byExternalID("old"))
		wantFound(t, tx, where+", after DeleteProfile", byEmail("old@example.com"))
		return nil
	})
	wantProfile(t, s, "after Apply", p)
	wantFound(t, s, "after Apply", byBrazeID(old.BrazeID))
}

func testProfileRoundTrip(t *testing.T, s brazen.Store) {
	tests := []struct {
		name string
		p    *brazen.Profile
	}{
		{"EveryField", fullProfile()},
		{"Minimal", profile("65f3a1b2c3d4e5f6minimal0", base)},
		{"AliasOnly", &brazen.Profile{BrazeID: "alias-only", Aliases: []brazen.Alias{{Name: "anon-1", Label: "device"}},
			CreatedAt: base.Add(time.Millisecond), UpdatedAt: base.Add(2 * time.Millisecond)}},
	}
	for _, tt := range tests {
		putProfiles(t, s, true, tt.p)
		wantProfile(t, s, tt.name, tt.p)
		wantFound(t, s, tt.name, byBrazeID(tt.p.BrazeID), tt.p)
	}
	p := tests[0].p
	for _, id := range []brazen.Identifier{
		byExternalID(p.ExternalID), byExternalID(p.Deprecated[0]), byExternalID(p.Deprecated[1]),
		byAlias("crm", "a-1"), byAlias("shop", "a-1"), byEmail(p.Email), byPhone(p.Phone),
	} {
		wantFound(t, s, "EveryField", id, p)
	}
	wantFound(t, s, "AliasOnly", byAlias("device", "anon-1"), tests[2].p)
}

func testProfileReplace(t *testing.T, s brazen.Store) {
	v1 := fullProfile()
	putProfiles(t, s, true, v1)
	v2 := &brazen.Profile{
		BrazeID: v1.BrazeID, ExternalID: v1.ExternalID, Deprecated: v1.Deprecated, Aliases: v1.Aliases,
		Custom:    map[string]any{"plan": "free"},
		CreatedAt: v1.CreatedAt, UpdatedAt: v1.UpdatedAt.Add(time.Hour),
		Version: v1.Version,
	}
	putProfiles(t, s, false, v2)
	if v2.Version != v1.Version+1 {
		t.Errorf("PutProfile left Version at %d, want %d", v2.Version, v1.Version+1)
	}
	// Replaced, not merged: attributes, summaries, email and phone are gone.
	wantProfile(t, s, "after replacing", v2)
	wantFound(t, s, "after replacing", byExternalID(v1.ExternalID), v2)
	wantFound(t, s, "after replacing", byEmail(v1.Email))
	wantFound(t, s, "after replacing", byPhone(v1.Phone))
}

// testProfileVersions: PutProfile's optimistic check, which keeps the
// appliers of different partitions from overwriting each other's writes.
func testProfileVersions(t *testing.T, s brazen.Store) {
	p := profile("versioned", base)
	p.ExternalID = "versioned"
	putProfiles(t, s, true, p)
	if p.Version != 1 {
		t.Fatalf("a new profile's Version = %d, want 1", p.Version)
	}
	got, err := s.Profile(t.Context(), p.BrazeID)
	if err != nil || got.Version != 1 {
		t.Fatalf("Profile = %+v, %v; want Version 1", got, err)
	}
	stale := *p
	p.Custom = map[string]any{"n": "2"}
	putProfiles(t, s, false, p) // now at version 2

	put := func(q *brazen.Profile) error {
		return Apply0(t.Context(), s, func(tx brazen.UserTx) (int64, error) {
			pos, err := Applied(t.Context(), s)
			if err != nil {
				return 0, err
			}
			return pos + 1, tx.PutProfile(t.Context(), q, false)
		})
	}
	stale.Custom = map[string]any{"n": "lost"}
	wantCode(t, "PutProfile of a stale version", put(&stale), brazen.ECONFLICT)
	again := profile("versioned", base) // Version 0: an insert of an existing profile
	wantCode(t, "PutProfile inserting an existing braze_id", put(again), brazen.ECONFLICT)
	wantProfile(t, s, "after the rejected writes", p)

	// A profile read inside the transaction can be written back.
	err = Apply0(t.Context(), s, func(tx brazen.UserTx) (int64, error) {
		q, err := tx.Profile(t.Context(), p.BrazeID)
		if err != nil {
			return 0, err
		}
		if q.Version != p.Version {
			return 0, fmt.Errorf("Version read in the transaction = %d, want %d", q.Version, p.Version)
		}
		q.Custom = map[string]any{"n": "3"}
		if err := tx.PutProfile(t.Context(), q, false); err != nil {
			return 0, err
		}
		byExt, err := tx.ProfilesByExternalID(t.Context(), []string{"versioned"})
		if err != nil {
			return 0, err
		}
		if v := byExt["versioned"]; v == nil || v.Version != q.Version {
			return 0, fmt.Errorf("ProfilesByExternalID after the write = %+v, want Version %d", v, q.Version)
		}
		pos, err := Applied(t.Context(), s)
		return pos + 1, err
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func testProfileNotFound(t *testing.T, s brazen.Store) {
	// Profiles without email, phone or external id must not match empty
	// identifiers.
	present := fullProfile()
	bare := profile("bare", base)
	putProfiles(t, s, true, present, bare)

	ids := []brazen.Identifier{
		byBrazeID("ffffffffffffffffffffffff"),
		byBrazeID(""),
		byExternalID("nobody"),
		byExternalID(strings.ToUpper(present.ExternalID)), // external ids are case-sensitive
		byAlias("crm", "nobody"),
		byAlias("device", "a-1"), // a known name under another label
		byAlias("", ""),
		byEmail("nobody@example.com"),
		byPhone("+15555550199"),
	}
	check := func(where string, r brazen.UserReader) {
		t.Helper()
		for _, id := range ids {
			wantFound(t, r, where, id)
		}
		ctx := t.Context()
		if ref, err := r.ByExternalID(ctx, ""); !brazen.IsNotFound(err) {
			t.Errorf("%s: ByExternalID(\"\") = %+v, %v; want not found", where, ref, err)
		}
		for name, lookup := range map[string]func(context.Context, string) ([]brazen.ProfileRef, error){
			"ByEmail": r.ByEmail, "ByPhone": r.ByPhone,
		} {
			refs, err := lookup(ctx, "")
			if err != nil || len(refs) != 0 {
				t.Errorf("%s: %s(\"\") = %+v, %v; want none", where, name, refs, err)
			}
		}
	}
	check("store", s)
	applyTx(t, s, func(_ context.Context, tx brazen.UserTx) error {
		check("transaction", tx)
		return nil
	})
}

// testProfileIdentifiers checks that each identifier index follows the
// profile: external id, email and phone on every write, aliases and
// deprecated external ids when identityChanged says they changed.
func testProfileIdentifiers(t *testing.T, s brazen.Store) {
	p := profile("p", base)
	p.ExternalID = "ext-1"
	p.Email = "first@example.com"
	p.Phone = "+15555550101"
	p.Aliases = []brazen.Alias{{Name: "a-1", Label: "crm"}}
	p.Deprecated = []string{"dep-1"}
	other := profile("other", base)
	other.ExternalID = "ext-other"
	other.Aliases = []brazen.Alias{{Name: "a-2", Label: "crm"}}
	other.Deprecated = []string{"dep-other"}

	type found struct {
		id   brazen.Identifier
		want []*brazen.Profile
	}
	steps := []struct {
		name            string
		modify          func(p *brazen.Profile)
		identityChanged bool
		found           []found
	}{
		{"Created", func(*brazen.Profile) {}, true, []found{
			{byExternalID("ext-1"), []*brazen.Profile{p}},
			{byExternalID("dep-1"), []*brazen.Profile{p}},
			{byAlias("crm", "a-1"), []*brazen.Profile{p}},
			{byEmail("first@example.com"), []*brazen.Profile{p}},
			{byPhone("+15555550101"), []*brazen.Profile{p}},
		}},
		{"AttributesOnly", func(p *brazen.Profile) { p.Custom = map[string]any{"x": "y"} }, false, []found{
			{byExternalID("ext-1"), []*brazen.Profile{p}},
			{byExternalID("dep-1"), []*brazen.Profile{p}},
			{byAlias("crm", "a-1"), []*brazen.Profile{p}},
			{byEmail("FIRST@example.com"), []*brazen.Profile{p}},
			{byPhone("+15555550101"), []*brazen.Profile{p}},
		}},
		{"AliasesAndDeprecatedChanged", func(p *brazen.Profile) {
			p.Aliases = []brazen.Alias{{Name: "a-1", Label: "shop"}, {Name: "a-3", Label: "crm"}}
			p.Deprecated = []string{"dep-2", "dep-3"}
		}, true, []found{
			{byAlias("crm", "a-1"), nil},
			{byAlias("shop", "a-1"), []*brazen.Profile{p}},
			{byAlias("crm", "a-3"), []*brazen.Profile{p}},
			{byExternalID("dep-1"), nil},
			{byExternalID("dep-2"), []*brazen.Profile{p}},
			{byExternalID("dep-3"), []*brazen.Profile{p}},
			{byExternalID("ext-1"), []*brazen.Profile{p}},
		}},
		{"EmailPhoneAndExternalIDChanged", func(p *brazen.Profile) {
			p.ExternalID = "ext-2"
			p.Email = "Second@Example.com"
			p.Phone = "+15555550102"
		}, false, []found{
			{byExternalID("ext-1"), nil},
			{byExternalID("ext-2"), []*brazen.Profile{p}},
			{byEmail("first@example.com"), nil},
			{byEmail("second@example.com"), []*brazen.Profile{p}},
			{byPhone("+15555550101"), nil},
			{byPhone("+15555550102"), []*brazen.Profile{p}},
			// Unchanged identity stays indexed.
			{byAlias("shop", "a-1"), []*brazen.Profile{p}},
			{byExternalID("dep-2"), []*brazen.Profile{p}},
		}},
		{"Renamed", func(p *brazen.Profile) { // Braze's external id rename
			p.Deprecated = append(p.Deprecated, p.ExternalID)
			p.ExternalID = "ext-3"
		}, true, []found{
			{byExternalID("ext-2"), []*brazen.Profile{p}},
			{byExternalID("ext-3"), []*brazen.Profile{p}},
			{byExternalID("dep-3"), []*brazen.Profile{p}},
		}},
		{"IdentityRemoved", func(p *brazen.Profile) {
			p.ExternalID, p.Email, p.Phone, p.Aliases, p.Deprecated = "", "", "", nil, nil
		}, true, []found{
			{byExternalID("ext-3"), nil},
			{byExternalID("ext-2"), nil},
			{byAlias("shop", "a-1"), nil},
			{byAlias("crm", "a-3"), nil},
			{byEmail("second@example.com"), nil},
			{byPhone("+15555550102"), nil},
			{byBrazeID("p"), []*brazen.Profile{p}},
		}},
	}
	putProfiles(t, s, true, other)
	for i, step := range steps {
		step.modify(p)
		p.UpdatedAt = base.Add(time.Duration(i) * time.Minute)
		putProfiles(t, s, step.identityChanged, p)
		wantProfile(t, s, step.name, p)
		for _, f := range step.found {
			wantFound(t, s, step.name, f.id, f.want...)
		}
		// The other profile's identifiers are never touched.
		wantFound(t, s, step.name, byExternalID("ext-other"), other)
		wantFound(t, s, step.name, byExternalID("dep-other"), other)
		wantFound(t, s, step.name, byAlias("crm", "a-2"), other)
	}
}

func testSharedEmailAndPhone(t *testing.T, s brazen.Store) {
	identified := profile("a-identified", base.Add(time.Hour))
	identified.ExternalID = "ext-a"
	identified.Email = "Shared@Example.com"
	identified.Phone = "+15555550100"
	anonymous := profile("b-anonymous", base.Add(2*time.Hour+5*time.Millisecond))
	anonymous.Email = "shared@example.COM"
	anonymous.Phone = "+15555550100"
	anonymous.Aliases = []brazen.Alias{{Name: "anon", Label: "device"}}
	unrelated := profile("c-unrelated", base)
	unrelated.ExternalID = "ext-c"
	unrelated.Email = "other@example.com"
	unrelated.Phone = "+15555550199"
	putProfiles(t, s, true, anonymous, unrelated, identified)

	tests := []struct {
		name string
		id   brazen.Identifier
		want []*brazen.Profile
	}{
		{"EmailLower", byEmail("shared@example.com"), []*brazen.Profile{identified, anonymous}},
		{"EmailUpper", byEmail("SHARED@EXAMPLE.COM"), []*brazen.Profile{identified, anonymous}},
		{"EmailAsStored", byEmail("Shared@Example.com"), []*brazen.Profile{identified, anonymous}},
		{"EmailOther", byEmail("Other@example.com"), []*brazen.Profile{unrelated}},
		{"EmailPrefix", byEmail("shared@example.co"), nil},
		{"Phone", byPhone("+15555550100"), []*brazen.Profile{identified, anonymous}},
		{"PhoneOther", byPhone("+15555550199"), []*brazen.Profile{unrelated}},
		{"AliasOfAnonymous", byAlias("device", "anon"), []*brazen.Profile{anonymous}},
	}
	for _, tt := range tests {
		wantFound(t, s, tt.name, tt.id, tt.want...)
	}

	// A profile leaving the shared email leaves the list.
	anonymous.Email = "mine@example.com"
	anonymous.UpdatedAt = base.Add(3 * time.Hour)
	putProfiles(t, s, false, anonymous)
	wantFound(t, s, "after changing one email", byEmail("shared@example.com"), identified)
	wantFound(t, s, "after changing one email", byEmail("MINE@example.com"), anonymous)
	wantFound(t, s, "after changing one email", byPhone("+15555550100"), identified, anonymous)
}

func testDeleteProfile(t *testing.T, s brazen.Store) {
	gone := fullProfile()
	kept := profile("kept", base)
	kept.ExternalID = "kept"
	kept.Email = gone.Email
	kept.Aliases = []brazen.Alias{{Name: "kept", Label: "crm"}}
	kept.Deprecated = []string{"kept-old"}
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		for _, p := range []*brazen.Profile{gone, kept} {
			if err := tx.PutProfile(ctx, p, true); err != nil {
				return fmt.Errorf("PutProfile: %w", err)
			}
			if err := addActivity(ctx, tx, p.BrazeID, base); err != nil {
				return err
			}
		}
		return nil
	})
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		return tx.DeleteProfile(ctx, gone.BrazeID)
	})

	for _, id := range []brazen.Identifier{
		byBrazeID(gone.BrazeID), byExternalID(gone.ExternalID), byExternalID(gone.Deprecated[0]),
		byExternalID(gone.Deprecated[1]), byAlias("crm", "a-1"), byAlias("shop", "a-1"), byPhone(gone.Phone),
	} {
		wantFound(t, s, "after DeleteProfile", id)
	}
	wantFound(t, s, "after DeleteProfile", byEmail(gone.Email), kept)
	wantProfile(t, s, "after DeleteProfile", kept)
	for _, id := range []brazen.Identifier{byExternalID("kept"), byExternalID("kept-old"), byAlias("crm", "kept")} {
		wantFound(t, s, "after DeleteProfile", id, kept)
	}

	// Its activity is gone with it: moving it moves nothing, and the id can
	// be used again for a new profile without its identifiers coming back.
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		return tx.MoveActivity(ctx, gone.BrazeID, kept.BrazeID)
	})
	// No identifiers, so identityChanged is false: nothing may be left to
	// rewrite.
	again := profile(gone.BrazeID, base.Add(time.Hour))
	putProfiles(t, s, false, again)
	wantProfile(t, s, "recreated", again)
	for _, id := range []brazen.Identifier{
		byExternalID(gone.ExternalID), byExternalID(gone.Deprecated[0]), byAlias("crm", "a-1"), byPhone(gone.Phone),
	} {
		wantFound(t, s, "recreated", id)
	}
}

// testMerge is what the applier does when two profiles merge, in its order:
// move the activity, delete the source, write the target with the source's
// identifiers.
func testMerge(t *testing.T, s brazen.Store) {
	source := profile("source", base)
	source.ExternalID = "src"
	source.Aliases = []brazen.Alias{{Name: "anon", Label: "device"}}
	target := profile("target", base)
	target.ExternalID = "tgt"
	target.Aliases = []brazen.Alias{{Name: "t", Label: "crm"}}
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		for _, p := range []*brazen.Profile{source, target} {
			if err := tx.PutProfile(ctx, p, true); err != nil {
				return fmt.Errorf("PutProfile: %w", err)
			}
			if err := addActivity(ctx, tx, p.BrazeID, base); err != nil {
				return err
			}
		}
		return nil
	})

	merged := *target
	merged.Aliases = append(slices.Clone(target.Aliases), source.Aliases...)
	merged.Deprecated = []string{source.ExternalID}
	merged.UpdatedAt = base.Add(time.Hour)
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		if err := tx.MoveActivity(ctx, source.BrazeID, target.BrazeID); err != nil {
			return fmt.Errorf("MoveActivity: %w", err)
		}
		if err := tx.DeleteProfile(ctx, source.BrazeID); err != nil {
			return fmt.Errorf("DeleteProfile: %w", err)
		}
		return tx.PutProfile(ctx, &merged, true)
	})
	wantFound(t, s, "after the merge", byBrazeID(source.BrazeID))
	wantProfile(t, s, "after the merge", &merged)
	for _, id := range []brazen.Identifier{
		byExternalID("src"), byExternalID("tgt"), byAlias("device", "anon"), byAlias("crm", "t"),
	} {
		wantFound(t, s, "after the merge", id, &merged)
	}
}

// profilesByExternalID calls tx.ProfilesByExternalID and fails the test on
// error.
func profilesByExternalID(t *testing.T, tx brazen.UserTx, ids []string) map[string]*brazen.Profile {
	t.Helper()
	got, err := tx.ProfilesByExternalID(t.Context(), ids)
	if err != nil {
		t.Fatalf("ProfilesByExternalID(%d ids): %v", len(ids), err)
	}
	return got
}

func testProfilesByExternalID(t *testing.T, s brazen.Store) {
	a := fullProfile()
	b := profile("b", base.Add(time.Second))
	b.ExternalID = "b"
	anonymous := profile("anonymous", base)
	anonymous.Aliases = []brazen.Alias{{Name: "anon", Label: "device"}}
	// More profiles than one query is likely to take, to cover chunking.
	var bulk []*brazen.Profile
	for i := range 600 {
		p := profile(fmt.Sprintf("bulk-%03d", i), base.Add(time.Duration(i)*time.Millisecond))
		p.ExternalID = fmt.Sprintf("ext-%03d", i)
		if i%3 == 0 {
			p.Deprecated = []string{fmt.Sprintf("old-%03d", i)}
		}
		bulk = append(bulk, p)
	}
	putProfiles(t, s, true, append([]*brazen.Profile{a, b, anonymous}, bulk...)...)

	allIDs := []string{}
	allWant := map[string]*brazen.Profile{}
	for i, p := range bulk {
		if i%2 == 0 { // every other id asked for, and some unknown ones between
			allIDs = append(allIDs, p.ExternalID, fmt.Sprintf("missing-%03d", i))
			allWant[p.ExternalID] = p
		}
		if len(p.Deprecated) > 0 {
			allIDs = append(allIDs, p.Deprecated[0])
			allWant[p.Deprecated[0]] = p
		}
	}
	tests := []struct {
		name string
		ids  []string
		want map[string]*brazen.Profile
	}{
		{"Nil", nil, nil},
		{"Empty", []string{}, nil},
		{"Primary", []string{"b"}, map[string]*brazen.Profile{"b": b}},
		{"Deprecated", []string{a.Deprecated[1]}, map[string]*brazen.Profile{a.Deprecated[1]: a}},
		{"PrimaryAndDeprecatedOfOneProfile", []string{a.ExternalID, a.Deprecated[0], a.Deprecated[1]},
			map[string]*brazen.Profile{a.ExternalID: a, a.Deprecated[0]: a, a.Deprecated[1]: a}},
		{"Unknown", []string{"nobody", "", strings.ToUpper(a.ExternalID), "device", "anon", "anonymous"}, nil},
		{"Repeated", []string{"b", "b", "nobody", "b"}, map[string]*brazen.Profile{"b": b}},
		{"Mixed", []string{"nobody", "b", a.Deprecated[0]}, map[string]*brazen.Profile{"b": b, a.Deprecated[0]: a}},
		{"Many", allIDs, allWant},
	}
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		for _, tt := range tests {
			got := profilesByExternalID(t, tx, tt.ids)
			if diff := gocmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("%s: ProfilesByExternalID (-want +got):\n%s", tt.name, diff)
			}
		}
		return nil
	})
}

func testProfilesByExternalIDOwnWrites(t *testing.T, s brazen.Store) {
	gone := profile("gone", base)
	gone.ExternalID = "gone"
	gone.Deprecated = []string{"gone-old"}
	renamed := profile("renamed", base)
	renamed.ExternalID = "before"
	putProfiles(t, s, true, gone, renamed)

	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		added := profile("added", base)
		added.ExternalID = "added"
		added.Deprecated = []string{"added-old"}
		if err := tx.PutProfile(ctx, added, true); err != nil {
			return fmt.Errorf("PutProfile: %w", err)
		}
		after := *renamed
		after.ExternalID = "after"
		after.Deprecated = []string{"before"}
		after.UpdatedAt = base.Add(time.Hour)
		if err := tx.PutProfile(ctx, &after, true); err != nil {
			return fmt.Errorf("PutProfile: %w", err)
		}
		if err := tx.DeleteProfile(ctx, gone.BrazeID); err != nil {
			return fmt.Errorf("DeleteProfile: %w", err)
		}
		got := profilesByExternalID(t, tx, []string{"added", "added-old", "before", "after", "gone", "gone-old"})
		want := map[string]*brazen.Profile{"added": added, "added-old": added, "before": &after, "after": &after}
		if diff := gocmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("ProfilesByExternalID inside the transaction (-want +got):\n%s", diff)
		}
		return nil
	})
}

// testProfilesByExternalIDAgrees: the applier answers external id lookups
// from what ProfilesByExternalID prefetched, and from ByExternalID when it
// did not prefetch, so the two must name the same profile for every id,
// even for an id that is one profile's external id and another's
// deprecated one.
func testProfilesByExternalIDAgrees(t *testing.T, s brazen.Store) {
	holder := profile("holder", base)
	holder.ExternalID = "shared"
	deprecating := profile("deprecating", base)
	deprecating.ExternalID = "current"
	deprecating.Deprecated = []string{"shared", "only-deprecated"}
	plain := profile("plain", base)
	plain.ExternalID = "plain"
	putProfiles(t, s, true, holder, deprecating, plain)

	ids := []string{"shared", "current", "only-deprecated", "plain", "nobody"}
	bulkIDs := map[string]string{} // braze id by external id, "" for nobody
	singleIDs := map[string]string{}
	applyTx(t, s, func(ctx context.Context, tx brazen.UserTx) error {
		for id, p := range profilesByExternalID(t, tx, ids) {
			bulkIDs[id] = p.BrazeID
		}
		for _, id := range ids {
			ref, err := tx.ByExternalID(ctx, id)
			if err != nil && !brazen.IsNotFound(err) {
				return fmt.Errorf("ByExternalID(%s): %w", id, err)
			}
			singleIDs[id] = ref.BrazeID
		}
		return nil
	})
	for _, id := range ids {
		if bulkIDs[id] == singleIDs[id] {
			continue
		}
		if id == "shared" { // whichever profile wins, both must agree
			t.Fatalf("external id %q: ProfilesByExternalID names profile %q, ByExternalID names %q",
				id, bulkIDs[id], singleIDs[id])
		}
		t.Errorf("external id %q: ProfilesByExternalID names profile %q, ByExternalID names %q", id, bulkIDs[id], singleIDs[id])
	}
}

// The suite's log and apply tests use partition 0, which every store has;
// these adapters give them the single-partition view.

// AppendData appends data as records of partition 0 and returns the first
// one's sequence number.
func AppendData(ctx context.Context, s brazen.IngestLog, data [][]byte) (int64, error) {
	recs := make([]brazen.LogRecord, len(data))
	for i, d := range data {
		recs[i].Data = d
	}
	if err := s.AppendLog(ctx, recs); err != nil || len(recs) == 0 {
		return 0, err
	}
	return recs[0].Seq, nil
}

// ReadData reads partition 0.
func ReadData(ctx context.Context, s brazen.IngestLog, after int64, limit int) ([]brazen.LogRecord, error) {
	return s.ReadLog(ctx, 0, after, limit)
}

// Head returns partition 0's head.
func Head(ctx context.Context, s brazen.IngestLog) (int64, error) {
	heads, err := s.LogHeads(ctx)
	if err != nil {
		return 0, err
	}
	return heads[0], nil
}

// Applied returns partition 0's applied position.
func Applied(ctx context.Context, s brazen.UserStore) (int64, error) {
	pos, err := s.AppliedPositions(ctx)
	if err != nil {
		return 0, err
	}
	return pos[0], nil
}

// suiteNode is the node name under which the suite holds leases.
const suiteNode = "storetest"

// Apply0 applies fn to partition 0 under a lease the suite holds.
func Apply0(ctx context.Context, s brazen.UserStore, fn func(brazen.UserTx) (int64, error)) error {
	leases, err := s.ClaimLeases(ctx, suiteNode, time.Hour, s.Partitions())
	if err != nil {
		return err
	}
	for _, l := range leases {
		if l.Partition == 0 {
			return s.Apply(ctx, l, fn)
		}
	}
	return fmt.Errorf("the suite could not lease partition 0 (held: %v)", leases)
}
