package ingest_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/ingest"
	"github.com/brazenhq/brazen/internal/profile"
	"github.com/brazenhq/brazen/internal/sqlite"
)

// world is an ingest service over a real SQLite file, with its log and
// applier running.
type world struct {
	t   *testing.T
	db  *sqlite.DB
	svc *ingest.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "brazen.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc, err := ingest.Open(t.Context(), db, slog.New(slog.NewTextHandler(io.Discard, nil)), ingest.ApplierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { svc.Run(t.Context()); close(done) }()
	t.Cleanup(func() { <-done })
	return &world{t: t, db: db, svc: svc}
}

// do appends ops as one record and waits until they are applied.
func (w *world) do(ops ...ingest.Op) {
	w.t.Helper()
	seq, err := w.svc.Append(w.t.Context(), ops)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.svc.WaitFor(w.t.Context(), seq); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) get(id brazen.Identifier) *brazen.Profile {
	w.t.Helper()
	p, err := w.svc.Resolve(w.t.Context(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func ext(id string) brazen.Identifier { return brazen.Identifier{ExternalID: id} }

func alias(label, name string) brazen.Identifier {
	return brazen.Identifier{Alias: &brazen.Alias{Label: label, Name: name}}
}

func attrs(t *testing.T, id brazen.Identifier, fields string) ingest.Op {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fields), &m); err != nil {
		t.Fatal(err)
	}
	u, err := profile.Parse(m, false)
	if err != nil {
		t.Fatal(err)
	}
	return ingest.Op{Kind: ingest.KindAttributes, ID: id, Attrs: u}
}

func event(id brazen.Identifier, name string, at time.Time) ingest.Op {
	return ingest.Op{Kind: ingest.KindEvent, ID: id, Event: &ingest.Event{Name: name, Time: at}}
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func TestTrackCreatesAndUpdates(t *testing.T) {
	w := newWorld(t)
	w.do(attrs(t, ext("u1"), `{"first_name":"Ada","plan":"pro"}`),
		event(ext("u1"), "login", t0), event(ext("u1"), "login", t0.Add(time.Hour)),
		ingest.Op{Kind: ingest.KindPurchase, ID: ext("u1"), Purchase: &ingest.Purchase{ProductID: "book", Currency: "USD", Price: 9.5, Quantity: 2, Time: t0}})
	p := w.get(ext("u1"))
	if p == nil {
		t.Fatal("no profile")
	}
	if p.Standard["first_name"] != "Ada" || p.Custom["plan"] != "pro" {
		t.Errorf("attributes: %v %v", p.Standard, p.Custom)
	}
	if s := p.Events["login"]; s == nil || s.Count != 2 || !s.First.Equal(t0) || !s.Last.Equal(t0.Add(time.Hour)) {
		t.Errorf("login summary %+v", s)
	}
	if s := p.Purchases["book"]; s == nil || s.Count != 2 || p.TotalRevenue != 19 {
		t.Errorf("purchases %+v, revenue %v", s, p.TotalRevenue)
	}
	if len(p.BrazeID) != 24 {
		t.Errorf("braze_id %q", p.BrazeID)
	}
}

func TestUpdateExistingOnly(t *testing.T) {
	w := newWorld(t)
	op := attrs(t, ext("ghost"), `{"first_name":"X"}`)
	op.UpdateExistingOnly = true
	al := attrs(t, alias("crm", "a1"), `{"first_name":"Y"}`)
	al.UpdateExistingOnly = true
	w.do(op, al)
	if w.get(ext("ghost")) != nil || w.get(alias("crm", "a1")) != nil {
		t.Error("an update-existing-only object created a profile")
	}
}

// TestOrderAcrossRecords: increments in many records, appended concurrently,
// end at the exact sum.
func TestOrderAcrossRecords(t *testing.T) {
	w := newWorld(t)
	var wg sync.WaitGroup
	var acks []ingest.Pos
	var mu sync.Mutex
	for range 20 {
		wg.Go(func() {
			for range 10 {
				seq, err := w.svc.Append(context.WithoutCancel(t.Context()), []ingest.Op{attrs(t, ext("counter"), `{"n":{"inc":1}}`)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acks = append(acks, seq...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := w.svc.WaitFor(t.Context(), acks); err != nil {
		t.Fatal(err)
	}
	if got := w.get(ext("counter")).Custom["n"]; got != json.Number("200") {
		t.Errorf("n = %v (%T), want 200", got, got)
	}
}

// The identity edge cases of the user-data issue.

func TestRenameThenTrackWithOldID(t *testing.T) {
	w := newWorld(t)
	w.do(attrs(t, ext("old"), `{"first_name":"Ada"}`))
	w.do(ingest.Op{Kind: ingest.KindRename, ID: ext("old"), NewExternalID: "new"})
	w.do(attrs(t, ext("old"), `{"last_name":"Lovelace"}`))
	p := w.get(ext("new"))
	if p == nil || p.ExternalID != "new" || p.Standard["last_name"] != "Lovelace" || p.Standard["first_name"] != "Ada" {
		t.Fatalf("after rename, tracking the old id must update the renamed profile: %+v", p)
	}
	if q := w.get(ext("old")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("the deprecated id does not resolve to the profile")
	}
	// Removing the deprecated id frees it: tracking it then makes a new user.
	w.do(ingest.Op{Kind: ingest.KindRemove, ID: ext("old")})
	w.do(attrs(t, ext("old"), `{"first_name":"Other"}`))
	if q := w.get(ext("old")); q == nil || q.BrazeID == p.BrazeID {
		t.Errorf("after removal the old id still names the renamed profile")
	}
}

func TestAliasThenIdentify(t *testing.T) {
	w := newWorld(t)
	w.do(ingest.Op{Kind: ingest.KindAliasNew, Alias: &brazen.Alias{Label: "crm", Name: "c-1"}})
	w.do(attrs(t, alias("crm", "c-1"), `{"first_name":"Anon"}`), event(alias("crm", "c-1"), "visit", t0))
	anon := w.get(alias("crm", "c-1"))
	if anon == nil || anon.Events["visit"] == nil {
		t.Fatalf("alias-only profile: %+v", anon)
	}
	// No user has u9 yet: the alias-only profile takes the external id.
	w.do(ingest.Op{Kind: ingest.KindIdentify, ID: alias("crm", "c-1"), Target: &brazen.Identifier{ExternalID: "u9"}})
	p := w.get(ext("u9"))
	if p == nil || p.BrazeID != anon.BrazeID || p.Standard["first_name"] != "Anon" {
		t.Fatalf("identify without an existing user: %+v", p)
	}
}

func TestMergeAliasOnlyIntoIdentified(t *testing.T) {
	w := newWorld(t)
	w.do(attrs(t, ext("known"), `{"first_name":"Known","plan":"free"}`), event(ext("known"), "visit", t0))
	al := attrs(t, alias("crm", "z"), `{"plan":"pro","color":"red"}`)
	al.UpdateExistingOnly = false
	w.do(al, event(alias("crm", "z"), "visit", t0.Add(-time.Hour)))
	anon := w.get(alias("crm", "z"))
	if anon == nil {
		t.Fatal("alias-only profile not created with _update_existing_only false")
	}
	w.do(ingest.Op{Kind: ingest.KindIdentify, ID: alias("crm", "z"), Target: &brazen.Identifier{ExternalID: "known"}})
	p := w.get(ext("known"))
	if p.Custom["plan"] != "free" || p.Custom["color"] != "red" {
		t.Errorf("merged custom attributes: %v (the kept profile's values win, missing ones are copied)", p.Custom)
	}
	if s := p.Events["visit"]; s == nil || s.Count != 2 || !s.First.Equal(t0.Add(-time.Hour)) {
		t.Errorf("merged event summary %+v", s)
	}
	if q := w.get(alias("crm", "z")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("the alias should now name the identified profile: %+v", q)
	}
	if _, err := w.db.Profile(t.Context(), anon.BrazeID); !brazen.IsNotFound(err) {
		t.Errorf("the anonymous profile still exists: %v", err)
	}
}

func TestDeleteThenRecreate(t *testing.T) {
	w := newWorld(t)
	w.do(attrs(t, ext("d"), `{"first_name":"Gone"}`), event(ext("d"), "e", t0))
	first := w.get(ext("d"))
	w.do(ingest.Op{Kind: ingest.KindDelete, ID: ext("d")})
	if w.get(ext("d")) != nil {
		t.Fatal("deleted profile still resolves")
	}
	w.do(attrs(t, ext("d"), `{"last_name":"New"}`))
	p := w.get(ext("d"))
	if p == nil || p.BrazeID == first.BrazeID || p.Standard["first_name"] != nil || len(p.Events) != 0 {
		t.Errorf("re-created profile carries the deleted one's data: %+v", p)
	}
}

// TestEmailMatchingTwoUsers: /users/track by email updates the most recently
// updated identified profile; a prioritization that leaves two matches skips.
func TestEmailMatchingTwoUsers(t *testing.T) {
	w := newWorld(t)
	w.do(attrs(t, ext("a"), `{"email":"shared@example.com"}`))
	w.do(attrs(t, brazen.Identifier{Email: "shared@example.com"}, `{}`)) // updates a (identified)
	w.do(attrs(t, ext("b"), `{"email":"Shared@Example.com"}`))
	w.do(attrs(t, brazen.Identifier{Email: "shared@example.com"}, `{"first_name":"Latest"}`))
	if p := w.get(ext("b")); p.Standard["first_name"] != "Latest" {
		t.Errorf("the most recently updated identified profile was not chosen: b=%v a=%v",
			p.Standard, w.get(ext("a")).Standard)
	}
	ps, err := w.svc.Find(t.Context(), brazen.Identifier{Email: "SHARED@example.com"})
	if err != nil || len(ps) != 2 {
		t.Fatalf("find by email: %d profiles, %v", len(ps), err)
	}
	// Delete with "identified" only: two identified matches ⇒ skipped.
	w.do(ingest.Op{Kind: ingest.KindDelete, ID: brazen.Identifier{Email: "shared@example.com", Prioritization: []string{"identified"}}})
	if ps, _ := w.svc.Find(t.Context(), brazen.Identifier{Email: "shared@example.com"}); len(ps) != 2 {
		t.Errorf("an ambiguous delete removed a profile")
	}
	w.do(ingest.Op{Kind: ingest.KindDelete, ID: brazen.Identifier{Email: "shared@example.com", Prioritization: []string{"identified", "most_recently_updated"}}})
	if w.get(ext("b")) != nil || w.get(ext("a")) == nil {
		t.Errorf("delete by email with most_recently_updated should remove b only")
	}
}

func TestAliasUpdateAndMergeByExternalID(t *testing.T) {
	w := newWorld(t)
	w.do(attrs(t, ext("keep"), `{}`), attrs(t, ext("drop"), `{"x":1}`))
	w.do(ingest.Op{Kind: ingest.KindAliasNew, ID: ext("drop"), Alias: &brazen.Alias{Label: "l", Name: "n1"}})
	w.do(ingest.Op{Kind: ingest.KindAliasUpdate, Alias: &brazen.Alias{Label: "l", Name: "n1"}, NewName: "n2"})
	if p := w.get(alias("l", "n2")); p == nil || p.ExternalID != "drop" {
		t.Fatalf("alias update: %+v", p)
	}
	id := ext("keep")
	w.do(ingest.Op{Kind: ingest.KindMerge, ID: ext("drop"), Target: &id})
	p := w.get(ext("keep"))
	if p.Custom["x"] != json.Number("1") || w.get(ext("drop")) != nil {
		t.Errorf("merge: %+v", p)
	}
	if q := w.get(alias("l", "n2")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("the merged profile's alias did not move")
	}
}

// TestBatchOverlay: operations in one record see each other's identity
// changes before anything reaches the store.
func TestBatchOverlay(t *testing.T) {
	w := newWorld(t)
	w.do(
		attrs(t, ext("x1"), `{"email":"x@example.com"}`),
		ingest.Op{Kind: ingest.KindRename, ID: ext("x1"), NewExternalID: "x2"},
		attrs(t, ext("x2"), `{"first_name":"Renamed"}`),
		attrs(t, brazen.Identifier{Email: "x@example.com"}, `{"last_name":"ByEmail"}`),
		ingest.Op{Kind: ingest.KindAliasNew, ID: ext("x2"), Alias: &brazen.Alias{Label: "l", Name: "x"}},
		attrs(t, alias("l", "x"), `{"home_city":"Paris"}`),
	)
	p := w.get(ext("x2"))
	if p == nil || p.Standard["first_name"] != "Renamed" || p.Standard["last_name"] != "ByEmail" || p.Standard["home_city"] != "Paris" {
		t.Fatalf("one record's operations did not see each other: %+v", p)
	}
	if q := w.get(ext("x1")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("deprecated id lost")
	}
}

// TestBacklogPushesBack: when the applier falls too far behind, appends are
// refused with ERATELIMITED (a 429) instead of piling up.
func TestBacklogPushesBack(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "brazen.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc, err := ingest.Open(t.Context(), db, slog.New(slog.NewTextHandler(io.Discard, nil)), ingest.ApplierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.MaxLag = 5
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { svc.Log().Run(ctx); close(done) }() // the log runs, the applier does not
	defer func() { cancel(); <-done }()
	op := event(ext("u"), "e", t0)
	for i := range 6 {
		if _, err := svc.Append(t.Context(), []ingest.Op{op}); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	_, err = svc.Append(t.Context(), []ingest.Op{op})
	if brazen.ErrorCode(err) != brazen.ERATELIMITED {
		t.Fatalf("append over the backlog: %v, want ERATELIMITED", err)
	}
	// A read that must see the backlog gives up after ReadWait with 503.
	svc.ReadWait = 50 * time.Millisecond
	if err := svc.Sync(t.Context()); brazen.ErrorCode(err) != brazen.EUNAVAILABLE {
		t.Fatalf("sync behind a stalled applier: %v, want EUNAVAILABLE", err)
	}
}
