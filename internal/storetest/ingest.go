package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/ingest"
	profilepkg "github.com/brazenhq/brazen/internal/profile"
)

// ingestTests run the user-data write path end to end on the store: ingest
// services append to its log and apply it (one partition on SQLite, several
// on PostgreSQL), and the profiles are read back through the service. The
// multi-node tests run several services on one store, as several nodes of a
// cluster share one database.
var ingestTests = []storeTest{
	{"TrackCreatesAndUpdates", testIngestTrackCreatesAndUpdates},
	{"UpdateExistingOnly", testIngestUpdateExistingOnly},
	{"OrderAcrossRecords", testIngestOrderAcrossRecords},
	{"RenameThenTrackWithOldID", testIngestRenameThenTrackWithOldID},
	{"AliasThenIdentify", testIngestAliasThenIdentify},
	{"MergeAliasOnlyIntoIdentified", testIngestMergeAliasOnlyIntoIdentified},
	{"DeleteThenRecreate", testIngestDeleteThenRecreate},
	{"EmailMatchingTwoUsers", testIngestEmailMatchingTwoUsers},
	{"AliasUpdateAndMergeByExternalID", testIngestAliasUpdateAndMergeByExternalID},
	{"BatchOverlay", testIngestBatchOverlay},
	{"TwoNodes", testIngestTwoNodes},
	{"Handover", testIngestHandover},
	{"CrossPartitionWrites", testIngestCrossPartitionWrites},
	{"OrderAcrossPartitions", testIngestOrderAcrossPartitions},
	{"RefusedRecordSkipped", testIngestRefusedRecordSkipped},
	{"RemovePushToken", testIngestRemovePushToken},
}

// ingestNode is an ingest service running on a store, as one node of a
// cluster: its log's group commits and its appliers run until stop.
type ingestNode struct {
	svc  *ingest.Service
	stop func() // cancels the service and waits for Run to return; idempotent
}

// startIngest opens and runs an ingest service on s. The service is
// stopped when the test ends, before the store is closed: runTests
// registered the store's Close earlier, and cleanups run last-in first-out.
func startIngest(t *testing.T, s brazen.Store, o ingest.ApplierOptions) *ingestNode {
	t.Helper()
	svc, err := ingest.Open(t.Context(), s, ingestLogger(t), o)
	if err != nil {
		t.Fatalf("ingest.Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	var once sync.Once
	n := &ingestNode{svc: svc, stop: func() { once.Do(func() { cancel(); <-done }) }}
	t.Cleanup(n.stop)
	return n
}

// ingestLogger logs the services' warnings and errors to the test, where
// they explain a failure (or show with -v).
func ingestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(ingestLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type ingestLogWriter struct{ t *testing.T }

func (w ingestLogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// ingestWorld is one ingest node on the store, for the scenarios that
// append and read through one service.
type ingestWorld struct {
	t   *testing.T
	s   brazen.Store
	svc *ingest.Service
}

func newIngestWorld(t *testing.T, s brazen.Store) *ingestWorld {
	t.Helper()
	return &ingestWorld{t: t, s: s, svc: startIngest(t, s, ingest.ApplierOptions{}).svc}
}

// do appends ops as one request and waits until they are applied.
func (w *ingestWorld) do(ops ...ingest.Op) {
	w.t.Helper()
	ingestDo(w.t, w.svc, ops...)
}

func (w *ingestWorld) get(id brazen.Identifier) *brazen.Profile {
	w.t.Helper()
	return ingestGet(w.t, w.svc, id)
}

// ingestDo appends ops through svc as one request and waits until they are
// applied.
func ingestDo(t *testing.T, svc *ingest.Service, ops ...ingest.Op) {
	t.Helper()
	pos, err := svc.Append(t.Context(), ops)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := svc.WaitFor(t.Context(), pos); err != nil {
		t.Fatalf("WaitFor(%v): %v", pos, err)
	}
}

// ingestGet resolves id through svc; nil if it names nobody.
func ingestGet(t *testing.T, svc *ingest.Service, id brazen.Identifier) *brazen.Profile {
	t.Helper()
	p, err := svc.Resolve(t.Context(), id)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", describe(id), err)
	}
	return p
}

// ingestSync waits until every write acknowledged so far, by any node, is
// applied.
func ingestSync(t *testing.T, svcs ...*ingest.Service) {
	t.Helper()
	for i, svc := range svcs {
		if err := svc.Sync(t.Context()); err != nil {
			t.Fatalf("Sync (service %d): %v", i, err)
		}
	}
}

// attrsOp is a /users/track attributes object for id.
func attrsOp(t *testing.T, id brazen.Identifier, fields string) ingest.Op {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fields), &m); err != nil {
		t.Fatal(err)
	}
	u, err := profilepkg.Parse(m, false)
	if err != nil {
		t.Fatal(err)
	}
	return ingest.Op{Kind: ingest.KindAttributes, ID: id, Attrs: u}
}

// eventOp is a /users/track events object for id.
func eventOp(id brazen.Identifier, name string, at time.Time) ingest.Op {
	return ingest.Op{Kind: ingest.KindEvent, ID: id, Event: &ingest.Event{Name: name, Time: at}}
}

var ingestT0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func testIngestTrackCreatesAndUpdates(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("u1"), `{"first_name":"Ada","plan":"pro"}`),
		eventOp(byExternalID("u1"), "login", ingestT0), eventOp(byExternalID("u1"), "login", ingestT0.Add(time.Hour)),
		ingest.Op{Kind: ingest.KindPurchase, ID: byExternalID("u1"), Purchase: &ingest.Purchase{ProductID: "book", Currency: "USD", Price: 9.5, Quantity: 2, Time: ingestT0}})
	p := w.get(byExternalID("u1"))
	if p == nil {
		t.Fatal("no profile")
	}
	if p.Standard["first_name"] != "Ada" || p.Custom["plan"] != "pro" {
		t.Errorf("attributes: %v %v", p.Standard, p.Custom)
	}
	if s := p.Events["login"]; s == nil || s.Count != 2 || !s.First.Equal(ingestT0) || !s.Last.Equal(ingestT0.Add(time.Hour)) {
		t.Errorf("login summary %+v", s)
	}
	if s := p.Purchases["book"]; s == nil || s.Count != 2 || p.TotalRevenue != 19 {
		t.Errorf("purchases %+v, revenue %v", s, p.TotalRevenue)
	}
	if len(p.BrazeID) != 24 {
		t.Errorf("braze_id %q", p.BrazeID)
	}
}

func testIngestUpdateExistingOnly(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	op := attrsOp(t, byExternalID("ghost"), `{"first_name":"X"}`)
	op.UpdateExistingOnly = true
	al := attrsOp(t, byAlias("crm", "a1"), `{"first_name":"Y"}`)
	al.UpdateExistingOnly = true
	w.do(op, al)
	if w.get(byExternalID("ghost")) != nil || w.get(byAlias("crm", "a1")) != nil {
		t.Error("an update-existing-only object created a profile")
	}
}

// testIngestOrderAcrossRecords: increments in many records, appended
// concurrently, end at the exact sum.
func testIngestOrderAcrossRecords(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	inc := attrsOp(t, byExternalID("counter"), `{"n":{"inc":1}}`)
	var wg sync.WaitGroup
	var acks []ingest.Pos
	var mu sync.Mutex
	for range 20 {
		wg.Go(func() {
			for range 10 {
				seq, err := w.svc.Append(context.WithoutCancel(t.Context()), []ingest.Op{inc})
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
	if got := w.get(byExternalID("counter")).Custom["n"]; got != json.Number("200") {
		t.Errorf("n = %v (%T), want 200", got, got)
	}
}

// The identity edge cases of the user-data issue.

func testIngestRenameThenTrackWithOldID(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("old"), `{"first_name":"Ada"}`))
	w.do(ingest.Op{Kind: ingest.KindRename, ID: byExternalID("old"), NewExternalID: "new"})
	w.do(attrsOp(t, byExternalID("old"), `{"last_name":"Lovelace"}`))
	p := w.get(byExternalID("new"))
	if p == nil || p.ExternalID != "new" || p.Standard["last_name"] != "Lovelace" || p.Standard["first_name"] != "Ada" {
		t.Fatalf("after rename, tracking the old id must update the renamed profile: %+v", p)
	}
	if q := w.get(byExternalID("old")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("the deprecated id does not resolve to the profile")
	}
	// Removing the deprecated id frees it: tracking it then makes a new user.
	w.do(ingest.Op{Kind: ingest.KindRemove, ID: byExternalID("old")})
	w.do(attrsOp(t, byExternalID("old"), `{"first_name":"Other"}`))
	if q := w.get(byExternalID("old")); q == nil || q.BrazeID == p.BrazeID {
		t.Errorf("after removal the old id still names the renamed profile")
	}
}

func testIngestAliasThenIdentify(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(ingest.Op{Kind: ingest.KindAliasNew, Alias: &brazen.Alias{Label: "crm", Name: "c-1"}})
	w.do(attrsOp(t, byAlias("crm", "c-1"), `{"first_name":"Anon"}`), eventOp(byAlias("crm", "c-1"), "visit", ingestT0))
	anon := w.get(byAlias("crm", "c-1"))
	if anon == nil || anon.Events["visit"] == nil {
		t.Fatalf("alias-only profile: %+v", anon)
	}
	// No user has u9 yet: the alias-only profile takes the external id.
	w.do(ingest.Op{Kind: ingest.KindIdentify, ID: byAlias("crm", "c-1"), Target: &brazen.Identifier{ExternalID: "u9"}})
	p := w.get(byExternalID("u9"))
	if p == nil || p.BrazeID != anon.BrazeID || p.Standard["first_name"] != "Anon" {
		t.Fatalf("identify without an existing user: %+v", p)
	}
}

func testIngestMergeAliasOnlyIntoIdentified(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("known"), `{"first_name":"Known","plan":"free"}`), eventOp(byExternalID("known"), "visit", ingestT0))
	al := attrsOp(t, byAlias("crm", "z"), `{"plan":"pro","color":"red"}`)
	al.UpdateExistingOnly = false
	w.do(al, eventOp(byAlias("crm", "z"), "visit", ingestT0.Add(-time.Hour)))
	anon := w.get(byAlias("crm", "z"))
	if anon == nil {
		t.Fatal("alias-only profile not created with _update_existing_only false")
	}
	w.do(ingest.Op{Kind: ingest.KindIdentify, ID: byAlias("crm", "z"), Target: &brazen.Identifier{ExternalID: "known"}})
	p := w.get(byExternalID("known"))
	if p.Custom["plan"] != "free" || p.Custom["color"] != "red" {
		t.Errorf("merged custom attributes: %v (the kept profile's values win, missing ones are copied)", p.Custom)
	}
	if s := p.Events["visit"]; s == nil || s.Count != 2 || !s.First.Equal(ingestT0.Add(-time.Hour)) {
		t.Errorf("merged event summary %+v", s)
	}
	if q := w.get(byAlias("crm", "z")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("the alias should now name the identified profile: %+v", q)
	}
	if _, err := s.Profile(t.Context(), anon.BrazeID); !brazen.IsNotFound(err) {
		t.Errorf("the anonymous profile still exists: %v", err)
	}
}

func testIngestDeleteThenRecreate(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("d"), `{"first_name":"Gone"}`), eventOp(byExternalID("d"), "e", ingestT0))
	first := w.get(byExternalID("d"))
	w.do(ingest.Op{Kind: ingest.KindDelete, ID: byExternalID("d")})
	if w.get(byExternalID("d")) != nil {
		t.Fatal("deleted profile still resolves")
	}
	w.do(attrsOp(t, byExternalID("d"), `{"last_name":"New"}`))
	p := w.get(byExternalID("d"))
	if p == nil || p.BrazeID == first.BrazeID || p.Standard["first_name"] != nil || len(p.Events) != 0 {
		t.Errorf("re-created profile carries the deleted one's data: %+v", p)
	}
}

// testIngestEmailMatchingTwoUsers: /users/track by email updates the most
// recently updated identified profile; a prioritization that leaves two
// matches skips.
func testIngestEmailMatchingTwoUsers(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("a"), `{"email":"shared@example.com"}`))
	w.do(attrsOp(t, byEmail("shared@example.com"), `{}`)) // updates a (identified)
	w.do(attrsOp(t, byExternalID("b"), `{"email":"Shared@Example.com"}`))
	w.do(attrsOp(t, byEmail("shared@example.com"), `{"first_name":"Latest"}`))
	if p := w.get(byExternalID("b")); p.Standard["first_name"] != "Latest" {
		t.Errorf("the most recently updated identified profile was not chosen: b=%v a=%v",
			p.Standard, w.get(byExternalID("a")).Standard)
	}
	ps, err := w.svc.Find(t.Context(), byEmail("SHARED@example.com"))
	if err != nil || len(ps) != 2 {
		t.Fatalf("find by email: %d profiles, %v", len(ps), err)
	}
	// Delete with "identified" only: two identified matches ⇒ skipped.
	w.do(ingest.Op{Kind: ingest.KindDelete, ID: brazen.Identifier{Email: "shared@example.com", Prioritization: []string{"identified"}}})
	if ps, _ := w.svc.Find(t.Context(), byEmail("shared@example.com")); len(ps) != 2 {
		t.Errorf("an ambiguous delete removed a profile")
	}
	w.do(ingest.Op{Kind: ingest.KindDelete, ID: brazen.Identifier{Email: "shared@example.com", Prioritization: []string{"identified", "most_recently_updated"}}})
	if w.get(byExternalID("b")) != nil || w.get(byExternalID("a")) == nil {
		t.Errorf("delete by email with most_recently_updated should remove b only")
	}
}

func testIngestAliasUpdateAndMergeByExternalID(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("keep"), `{}`), attrsOp(t, byExternalID("drop"), `{"x":1}`))
	w.do(ingest.Op{Kind: ingest.KindAliasNew, ID: byExternalID("drop"), Alias: &brazen.Alias{Label: "l", Name: "n1"}})
	w.do(ingest.Op{Kind: ingest.KindAliasUpdate, Alias: &brazen.Alias{Label: "l", Name: "n1"}, NewName: "n2"})
	if p := w.get(byAlias("l", "n2")); p == nil || p.ExternalID != "drop" {
		t.Fatalf("alias update: %+v", p)
	}
	id := byExternalID("keep")
	w.do(ingest.Op{Kind: ingest.KindMerge, ID: byExternalID("drop"), Target: &id})
	p := w.get(byExternalID("keep"))
	if p.Custom["x"] != json.Number("1") || w.get(byExternalID("drop")) != nil {
		t.Errorf("merge: %+v", p)
	}
	if q := w.get(byAlias("l", "n2")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("the merged profile's alias did not move")
	}
}

// testIngestBatchOverlay: operations in one record see each other's
// identity changes before anything reaches the store.
func testIngestBatchOverlay(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(
		attrsOp(t, byExternalID("x1"), `{"email":"x@example.com"}`),
		ingest.Op{Kind: ingest.KindRename, ID: byExternalID("x1"), NewExternalID: "x2"},
		attrsOp(t, byExternalID("x2"), `{"first_name":"Renamed"}`),
		attrsOp(t, byEmail("x@example.com"), `{"last_name":"ByEmail"}`),
		ingest.Op{Kind: ingest.KindAliasNew, ID: byExternalID("x2"), Alias: &brazen.Alias{Label: "l", Name: "x"}},
		attrsOp(t, byAlias("l", "x"), `{"home_city":"Paris"}`),
	)
	p := w.get(byExternalID("x2"))
	if p == nil || p.Standard["first_name"] != "Renamed" || p.Standard["last_name"] != "ByEmail" || p.Standard["home_city"] != "Paris" {
		// What the other identifiers name shows which operations were
		// applied out of order.
		t.Logf("x1 names %+v", w.get(byExternalID("x1")))
		t.Logf("alias l:x names %+v", w.get(byAlias("l", "x")))
		if ps, err := w.svc.Find(t.Context(), byEmail("x@example.com")); err == nil {
			for _, q := range ps {
				t.Logf("email x@example.com names %+v", q)
			}
		}
		t.Fatalf("one record's operations did not see each other: %+v", p)
	}
	if q := w.get(byExternalID("x1")); q == nil || q.BrazeID != p.BrazeID {
		t.Errorf("deprecated id lost")
	}
}

// ingestTally counts what was appended for each user, to compare with the
// profiles once everything is applied.
type ingestTally struct {
	mu     sync.Mutex
	n      map[string]int // increments of the custom attribute n
	events map[string]int // "tick" events
	ops    int            // operations appended in all
}

func newIngestTally() *ingestTally {
	return &ingestTally{n: map[string]int{}, events: map[string]int{}}
}

// appendTick appends, through svc, one request that increments user's n
// and adds a "tick" event, and counts it once it is acknowledged.
func (c *ingestTally) appendTick(ctx context.Context, svc *ingest.Service, inc ingest.Op, user string, at time.Time) ([]ingest.Pos, error) {
	pos, err := svc.Append(ctx, []ingest.Op{inc, eventOp(byExternalID(user), "tick", at)})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.n[user]++
	c.events[user]++
	c.ops += 2
	c.mu.Unlock()
	return pos, nil
}

// check reads every user counted through each of svcs.
func (c *ingestTally) check(t *testing.T, where string, svcs ...*ingest.Service) {
	t.Helper()
	for i, svc := range svcs {
		for user, n := range c.n {
			p := ingestGet(t, svc, byExternalID(user))
			if p == nil {
				t.Errorf("%s: service %d: user %q has no profile", where, i, user)
				continue
			}
			if got, want := p.Custom["n"], json.Number(fmt.Sprint(n)); got != want {
				t.Errorf("%s: service %d: user %q: n = %v, want %v (one per append, each applied once)", where, i, user, got, want)
			}
			if s := p.Events["tick"]; s == nil || s.Count != int64(c.events[user]) {
				t.Errorf("%s: service %d: user %q: tick summary %+v, want count %d", where, i, user, s, c.events[user])
			}
		}
	}
}

// incOps returns, for each of users, the op that increments its n.
func incOps(t *testing.T, users []string) map[string]ingest.Op {
	t.Helper()
	out := map[string]ingest.Op{}
	for _, u := range users {
		out[u] = attrsOp(t, byExternalID(u), `{"n":{"inc":1}}`)
	}
	return out
}

func userNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}

// testIngestTwoNodes: two services (two nodes) on one store share the
// partitions and apply concurrent writes made through either exactly once;
// identity operations made through one are seen by the other.
func testIngestTwoNodes(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	a := startIngest(t, s, ingest.ApplierOptions{Node: "node-a", LeaseTTL: time.Second}).svc
	b := startIngest(t, s, ingest.ApplierOptions{Node: "node-b", LeaseTTL: time.Second}).svc
	nodes := []*ingest.Service{a, b}
	users := userNames("user", 20)
	incs := incOps(t, users)
	tally := newIngestTally()

	// With several partitions, let the nodes share them out before the
	// concurrent writes, so that both appliers take part: the second node
	// gets its share at its next lease renewal.
	if s.Partitions() > 1 {
		deadline := time.Now().Add(5 * time.Second)
		for i := 0; a.Applied() == 0 || b.Applied() == 0; i++ {
			if time.Now().After(deadline) {
				t.Fatalf("after 5 s node a applied %d operations and node b %d: the nodes do not share the partitions",
					a.Applied(), b.Applied())
			}
			var all []ingest.Pos
			for j, u := range users {
				pos, err := tally.appendTick(ctx, nodes[(i+j)%2], incs[u], u, ingestT0)
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				all = append(all, pos...)
			}
			if err := a.WaitFor(ctx, all); err != nil {
				t.Fatalf("WaitFor: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	const workers, perWorker = 8, 60
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				u := users[(w*perWorker+i)%len(users)]
				at := ingestT0.Add(time.Duration(i) * time.Second)
				if _, err := tally.appendTick(context.WithoutCancel(ctx), nodes[(w+i)%2], incs[u], u, at); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ingestSync(t, a, b)
	tally.check(t, "concurrent appends through two nodes", a, b)
	if got := a.Applied() + b.Applied(); got != int64(tally.ops) {
		t.Errorf("the nodes applied %d + %d operations, want %d in all (each once)", a.Applied(), b.Applied(), tally.ops)
	} else {
		t.Logf("node a applied %d operations, node b %d", a.Applied(), b.Applied())
	}

	// Alias-addressed writes through both nodes.
	ingestDo(t, a, ingest.Op{Kind: ingest.KindAliasNew, ID: byExternalID(users[0]), Alias: &brazen.Alias{Label: "crm", Name: "c-0"}})
	ingestDo(t, b, ingest.Op{Kind: ingest.KindAliasNew, ID: byExternalID(users[1]), Alias: &brazen.Alias{Label: "crm", Name: "c-1"}})
	var all []ingest.Pos
	for i := range 10 {
		for k := range 2 {
			op := attrsOp(t, byAlias("crm", fmt.Sprintf("c-%d", k)), `{"m":{"inc":1}}`)
			pos, err := nodes[(i+k)%2].Append(ctx, []ingest.Op{op})
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			all = append(all, pos...)
		}
	}
	if err := b.WaitFor(ctx, all); err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	for k := range 2 {
		for i, svc := range nodes {
			p := ingestGet(t, svc, byAlias("crm", fmt.Sprintf("c-%d", k)))
			if p == nil || p.ExternalID != users[k] || p.Custom["m"] != json.Number("10") ||
				p.Custom["n"] != json.Number(fmt.Sprint(tally.n[users[k]])) {
				t.Errorf("service %d: alias crm:c-%d names %+v; want %s with m = 10 and n = %d", i, k, p, users[k], tally.n[users[k]])
			}
		}
	}

	// Identify through one node an alias-only profile made through the
	// other: once with a new external id, once with an existing user's.
	ingestDo(t, a, ingest.Op{Kind: ingest.KindAliasNew, Alias: &brazen.Alias{Label: "anon", Name: "x1"}})
	ingestDo(t, b, attrsOp(t, byAlias("anon", "x1"), `{"first_name":"Anon"}`), eventOp(byAlias("anon", "x1"), "visit", ingestT0))
	anon1 := ingestGet(t, a, byAlias("anon", "x1"))
	if anon1 == nil || anon1.Standard["first_name"] != "Anon" || anon1.Events["visit"] == nil {
		t.Fatalf("alias-only profile written through two nodes: %+v", anon1)
	}
	ingestDo(t, b, ingest.Op{Kind: ingest.KindIdentify, ID: byAlias("anon", "x1"), Target: &brazen.Identifier{ExternalID: "fresh"}})
	if p := ingestGet(t, a, byExternalID("fresh")); p == nil || p.BrazeID != anon1.BrazeID || p.Standard["first_name"] != "Anon" {
		t.Errorf("identify with a new external id, read through the other node: %+v", p)
	}

	ingestDo(t, b, ingest.Op{Kind: ingest.KindAliasNew, Alias: &brazen.Alias{Label: "anon", Name: "x2"}},
		attrsOp(t, byAlias("anon", "x2"), `{"color":"red","n":1000}`))
	anon2 := ingestGet(t, a, byAlias("anon", "x2"))
	if anon2 == nil {
		t.Fatal("alias-only profile anon:x2 not created")
	}
	ingestDo(t, a, ingest.Op{Kind: ingest.KindIdentify, ID: byAlias("anon", "x2"), Target: &brazen.Identifier{ExternalID: users[2]}})
	ingestSync(t, a, b)
	for i, svc := range nodes {
		p := ingestGet(t, svc, byExternalID(users[2]))
		if p == nil || p.Custom["color"] != "red" || p.Custom["n"] != json.Number(fmt.Sprint(tally.n[users[2]])) {
			t.Errorf("service %d: identify into an existing user: %+v (color copied, the kept profile's n wins)", i, p)
			continue
		}
		if q := ingestGet(t, svc, byAlias("anon", "x2")); q == nil || q.BrazeID != p.BrazeID {
			t.Errorf("service %d: alias anon:x2 names %+v, want %s", i, q, users[2])
		}
	}
	if _, err := s.Profile(ctx, anon2.BrazeID); !brazen.IsNotFound(err) {
		t.Errorf("the merged alias-only profile still exists: %v", err)
	}
	// The counted users are as they were.
	tally.check(t, "after the identity operations", a, b)
}

// testIngestHandover: a node that stops hands its partitions back; a node
// started after it applies what the first left behind and what it is sent,
// each operation once, without waiting for the first node's leases to
// expire.
func testIngestHandover(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	// A long lease: a successor that had to wait for expiry would miss the
	// deadline below.
	const ttl = 20 * time.Second
	nodeA := startIngest(t, s, ingest.ApplierOptions{Node: "node-a", LeaseTTL: ttl})
	a := nodeA.svc
	users := userNames("user", 10)
	incs := incOps(t, users)
	tally := newIngestTally()

	appendAll := func(svc *ingest.Service, rounds int) []ingest.Pos {
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			all []ingest.Pos
		)
		for j, u := range users {
			wg.Go(func() {
				for i := range rounds {
					pos, err := tally.appendTick(context.WithoutCancel(ctx), svc, incs[u], u, ingestT0.Add(time.Duration(i+j)*time.Minute))
					if err != nil {
						t.Errorf("Append: %v", err)
						return
					}
					mu.Lock()
					all = append(all, pos...)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		return all
	}

	// Applied by A.
	if err := a.WaitFor(ctx, appendAll(a, 5)); err != nil {
		t.Fatalf("WaitFor through node a: %v", err)
	}
	tally.check(t, "applied by node a", a)
	// Acknowledged by A, which stops at once: A may apply some, B the rest.
	appendAll(a, 5)
	nodeA.stop()
	appliedByA := a.Applied()

	start := time.Now()
	b := startIngest(t, s, ingest.ApplierOptions{Node: "node-b", LeaseTTL: ttl}).svc
	appendAll(b, 5)
	b.ReadWait = 2 * time.Second
	if err := b.Sync(ctx); err != nil {
		t.Fatalf("Sync through node b, %v after it started: %v (did node a hand its partitions back?)", time.Since(start), err)
	}
	t.Logf("node b applied everything %v after it started; node a applied %d operations, node b %d",
		time.Since(start).Round(time.Millisecond), appliedByA, b.Applied())
	tally.check(t, "after the handover", b)
	if a.Applied() != appliedByA {
		t.Errorf("node a applied %d operations after it stopped", a.Applied()-appliedByA)
	}
	if got := appliedByA + b.Applied(); got != int64(tally.ops) {
		t.Errorf("the nodes applied %d + %d operations, want %d in all (each once)", appliedByA, b.Applied(), tally.ops)
	}
}

// testIngestCrossPartitionWrites: one profile written concurrently through
// its external id (its hashed partition) and through its alias and braze
// id (partition 0). Where two partitions' appliers collide on the profile,
// the store's version check makes one retry, so no write is lost.
func testIngestCrossPartitionWrites(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("x"), `{"first_name":"X"}`))
	w.do(ingest.Op{Kind: ingest.KindAliasNew, ID: byExternalID("x"), Alias: &brazen.Alias{Label: "crm", Name: "x"}})
	x := w.get(byAlias("crm", "x"))
	if x == nil || x.ExternalID != "x" {
		t.Fatalf("alias crm:x names %+v, want the profile of x", x)
	}
	byExt := attrsOp(t, byExternalID("x"), `{"n":{"inc":1}}`)
	byAl := attrsOp(t, byAlias("crm", "x"), `{"m":{"inc":1}}`)
	byBID := attrsOp(t, byBrazeID(x.BrazeID), `{"k":{"inc":1}}`)
	extEvent := eventOp(byExternalID("x"), "by_external_id", ingestT0)
	alEvent := eventOp(byAlias("crm", "x"), "by_alias", ingestT0)

	const workers, perWorker = 8, 40
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     []ingest.Pos
		n, m, k int
	)
	for g := range workers {
		wg.Go(func() {
			for i := range perWorker {
				var ops []ingest.Op
				var dn, dm, dk int
				switch (g + i) % 4 {
				case 0:
					ops, dn = []ingest.Op{byExt, extEvent}, 1
				case 1:
					ops, dm = []ingest.Op{byAl, alEvent}, 1
				case 2:
					ops, dk = []ingest.Op{byBID}, 1
				case 3: // one request split over two partitions
					ops, dn, dm = []ingest.Op{byAl, alEvent, byExt, extEvent}, 1, 1
				}
				pos, err := w.svc.Append(context.WithoutCancel(ctx), ops)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				all = append(all, pos...)
				n, m, k = n+dn, m+dm, k+dk
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if err := w.svc.WaitFor(ctx, all); err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	ingestSync(t, w.svc)
	for _, id := range []brazen.Identifier{byExternalID("x"), byAlias("crm", "x"), byBrazeID(x.BrazeID)} {
		p := w.get(id)
		if p == nil || p.BrazeID != x.BrazeID {
			t.Errorf("%s names %+v, want profile %s", describe(id), p, x.BrazeID)
			continue
		}
		for attr, want := range map[string]int{"n": n, "m": m, "k": k} {
			if got := p.Custom[attr]; got != json.Number(fmt.Sprint(want)) {
				t.Errorf("%s: %s = %v, want %d", describe(id), attr, got, want)
			}
		}
		for name, want := range map[string]int{"by_external_id": n, "by_alias": m} {
			if s := p.Events[name]; s == nil || s.Count != int64(want) {
				t.Errorf("%s: %s summary %+v, want count %d", describe(id), name, s, want)
			}
		}
		if p.Standard["first_name"] != "X" || len(p.Aliases) != 1 {
			t.Errorf("%s: first_name %v, aliases %v; want X and crm:x", describe(id), p.Standard["first_name"], p.Aliases)
		}
	}
}

// testIngestOrderAcrossPartitions: a client that waits for each
// acknowledgement (not for the write to be applied) sees its writes applied
// in order, though on a store with several partitions they fall in
// different ones: a track by external id (a hashed partition), then an
// alias for that user and a rename (partition 0), then tracks by the new
// and the old id (hashed again), alternating between two nodes.
func testIngestOrderAcrossPartitions(t *testing.T, s brazen.Store) {
	a := startIngest(t, s, ingest.ApplierOptions{Node: "node-a", LeaseTTL: time.Second}).svc
	b := startIngest(t, s, ingest.ApplierOptions{Node: "node-b", LeaseTTL: time.Second}).svc
	appendOps := func(svc *ingest.Service, ops ...ingest.Op) {
		t.Helper()
		if _, err := svc.Append(t.Context(), ops); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	const users = 30
	for i := range users {
		y, z := fmt.Sprintf("y-%d", i), fmt.Sprintf("z-%d", i)
		appendOps(a, attrsOp(t, byExternalID(y), `{"first_name":"Ada"}`))
		appendOps(b, ingest.Op{Kind: ingest.KindAliasNew, ID: byExternalID(y), Alias: &brazen.Alias{Label: "crm", Name: y}})
		appendOps(a, ingest.Op{Kind: ingest.KindRename, ID: byExternalID(y), NewExternalID: z})
		appendOps(b, attrsOp(t, byExternalID(z), `{"last_name":"Lovelace"}`))
		appendOps(a, attrsOp(t, byExternalID(y), `{"home_city":"London"}`))
		// One request whose objects alternate between the kinds of
		// partition: by external id, by alias, by external id.
		appendOps(b, attrsOp(t, byExternalID(z), `{"n":{"inc":1}}`),
			attrsOp(t, byAlias("crm", y), `{"n":{"inc":10}}`),
			attrsOp(t, byExternalID(z), `{"n":{"inc":100}}`))
	}
	ingestSync(t, a, b)
	for i := range users {
		y, z := fmt.Sprintf("y-%d", i), fmt.Sprintf("z-%d", i)
		p := ingestGet(t, a, byExternalID(z))
		if p == nil {
			t.Errorf("%s: no profile for the renamed user", z)
			continue
		}
		if p.Standard["first_name"] != "Ada" || p.Standard["last_name"] != "Lovelace" || p.Standard["home_city"] != "London" ||
			!slices.Equal(p.Deprecated, []string{y}) || !slices.Contains(p.Aliases, brazen.Alias{Label: "crm", Name: y}) ||
			p.Custom["n"] != json.Number("111") {
			t.Errorf("%s: writes applied out of order: %+v", z, p)
		}
		for _, id := range []brazen.Identifier{byExternalID(y), byAlias("crm", y)} {
			if q := ingestGet(t, b, id); q == nil || q.BrazeID != p.BrazeID {
				t.Errorf("%s names another profile than %s: %+v", describe(id), z, q)
			}
		}
	}
}

// testIngestRefusedRecordSkipped: a record a backend cannot store (here a
// NUL character in an alias name, which PostgreSQL refuses in text and the
// API refuses before it is logged) never stops its partition: the writes
// logged around it in the same partition (by alias: partition 0) are
// applied, and reads do not wait forever.
func testIngestRefusedRecordSkipped(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	for i := range 5 {
		if _, err := w.svc.Append(t.Context(), []ingest.Op{attrsOp(t, byAlias("l", "poison\x00"), `{"n":{"inc":1}}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Append(t.Context(), []ingest.Op{attrsOp(t, byAlias("l", fmt.Sprint("fine-", i)), `{"n":{"inc":1}}`),
			attrsOp(t, byAlias("l", "fine"), `{"n":{"inc":1}}`)}); err != nil {
			t.Fatal(err)
		}
	}
	ingestSync(t, w.svc)
	if p := w.get(byAlias("l", "fine")); p == nil || p.Custom["n"] != json.Number("5") {
		t.Errorf("the writes around the refused records: %+v, want n = 5", p)
	}
	for i := range 5 {
		if w.get(byAlias("l", fmt.Sprint("fine-", i))) == nil {
			t.Errorf("fine-%d was not applied", i)
		}
	}
}

// testIngestRemovePushToken: a token a push service refused comes off the
// profile through the log; the user's other tokens stay, and removing a
// token the profile no longer has changes nothing.
func testIngestRemovePushToken(t *testing.T, s brazen.Store) {
	w := newIngestWorld(t, s)
	w.do(attrsOp(t, byExternalID("u1"), `{"push_tokens":[{"app_id":"ios","token":"aa"},{"app_id":"and","token":"bb"}]}`))
	p := w.get(byExternalID("u1"))
	if err := w.svc.RemovePushToken(t.Context(), p.BrazeID, "aa"); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RemovePushToken(t.Context(), p.BrazeID, "gone"); err != nil {
		t.Fatal(err)
	}
	ingestSync(t, w.svc)
	p = w.get(byExternalID("u1"))
	tokens, _ := p.Standard["push_tokens"].([]any)
	if len(tokens) != 1 || tokens[0].(map[string]any)["token"] != "bb" {
		t.Errorf("tokens after removing aa: %v", tokens)
	}
	if err := w.svc.RemovePushToken(t.Context(), p.BrazeID, "bb"); err != nil {
		t.Fatal(err)
	}
	ingestSync(t, w.svc)
	if p = w.get(byExternalID("u1")); p.Standard["push_tokens"] != nil {
		t.Errorf("tokens after removing both: %v", p.Standard["push_tokens"])
	}
}
