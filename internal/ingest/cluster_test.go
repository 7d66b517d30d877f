package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/pgtest"
	"github.com/brazenhq/brazen/internal/postgres"
	"github.com/brazenhq/brazen/internal/profile"
	"github.com/brazenhq/brazen/internal/sqlite"
)

// ---------------------------------------------------------------------------
// partitionOf

func extID(id string) brazen.Identifier { return brazen.Identifier{ExternalID: id} }

// extKinds are the operations routed by their user's external id.
var extKinds = []Kind{KindAttributes, KindEvent, KindPurchase, KindDelete}

func TestPartitionOfOnePartition(t *testing.T) {
	for _, k := range []Kind{KindAttributes, KindEvent, KindPurchase, KindDelete, KindAliasNew,
		KindAliasUpdate, KindIdentify, KindMerge, KindRename, KindRemove} {
		for _, id := range []string{"user-1", "user-2", "x", ""} {
			op := &Op{Kind: k, ID: extID(id)}
			if p := partitionOf(op, 1); p != 0 {
				t.Errorf("partitionOf(%s %q, 1) = %d, want 0", k, id, p)
			}
		}
	}
}

func TestPartitionOfExternalIDOps(t *testing.T) {
	for _, n := range []int{2, 3, 16} {
		for i := range 500 {
			id := fmt.Sprintf("user-%d", i)
			first := partitionOf(&Op{Kind: KindAttributes, ID: extID(id)}, n)
			if first < 1 || first > n-1 {
				t.Fatalf("n=%d: %q went to partition %d, want 1..%d", n, id, first, n-1)
			}
			// Every kind addressed by the id, every time, goes to the same
			// partition: one user's track objects and deletes stay in order.
			for _, k := range extKinds {
				for range 2 {
					if p := partitionOf(&Op{Kind: k, ID: extID(id)}, n); p != first {
						t.Fatalf("n=%d: %s for %q went to %d, attributes to %d", n, k, id, p, first)
					}
				}
			}
		}
	}
}

func TestPartitionOfPartitionZero(t *testing.T) {
	const n = 16
	al := &brazen.Alias{Label: "crm", Name: "a1"}
	// Track objects and deletes addressed by anything but an external id.
	for _, k := range extKinds {
		for _, id := range []brazen.Identifier{
			{Alias: al}, {BrazeID: "0123456789abcdef01234567"}, {Email: "a@example.com"}, {Phone: "+15555550100"},
			{Email: "a@example.com", Prioritization: []string{"identified"}},
		} {
			if p := partitionOf(&Op{Kind: k, ID: id}, n); p != 0 {
				t.Errorf("%s %+v went to partition %d, want 0", k, id, p)
			}
		}
	}
	// Identity operations go to 0 even when they name an external id,
	// wherever they carry it.
	keep := extID("user-2")
	for _, op := range []Op{
		{Kind: KindAliasNew, ID: extID("user-1"), Alias: al},
		{Kind: KindAliasUpdate, Alias: al, NewName: "a2"},
		{Kind: KindIdentify, ID: brazen.Identifier{Alias: al}, Target: &keep},
		{Kind: KindIdentify, ID: extID("user-1"), Target: &keep},
		{Kind: KindMerge, ID: extID("user-1"), Target: &keep},
		{Kind: KindRename, ID: extID("user-1"), NewExternalID: "user-9"},
		{Kind: KindRemove, ID: extID("user-1")},
	} {
		if p := partitionOf(&op, n); p != 0 {
			t.Errorf("%s %+v went to partition %d, want 0", op.Kind, op.ID, p)
		}
	}
}

func TestPartitionOfDistribution(t *testing.T) {
	const n, ids = 16, 10_000
	counts := make([]int, n)
	for i := range ids {
		counts[partitionOf(&Op{Kind: KindEvent, ID: extID(fmt.Sprintf("user-%d", i))}, n)]++
	}
	if counts[0] != 0 {
		t.Errorf("%d external-id operations went to partition 0", counts[0])
	}
	mean := float64(ids) / (n - 1)
	for p := 1; p < n; p++ {
		if c := float64(counts[p]); c < 0.7*mean || c > 1.3*mean {
			t.Errorf("partition %d got %d of %d ids; want within ±30%% of %.0f (all: %v)", p, counts[p], ids, mean, counts[1:])
		}
	}
}

// TestPartitionRoutingPinned pins concrete routes. Routing must never change
// between releases: nodes running different builds share one log during a
// rolling upgrade, and a user's writes must all go to the same partition
// (in the same order) whichever node accepted them; records already in the
// log were routed by the old build too. If this test fails, the change to
// fnv64 or partitionOf is a breaking change to the stored log, not a
// refactoring: revert it.
func TestPartitionRoutingPinned(t *testing.T) {
	for _, c := range []struct {
		s    string
		hash uint64
	}{
		{"", 0xcbf29ce484222325}, // FNV-1a's offset basis
		{"a", 0xaf63dc4c8601ec8c},
		{"user-1", 0xf84ba2aa754a4bd4},
		{"user-2", 0xf84ba5aa754a50ed},
		{"user-42", 0x32c6d7a54d35dacb},
		{"alice@example.com", 0x67023fc4a7ff2a46},
	} {
		if h := fnv64(c.s); h != c.hash {
			t.Errorf("fnv64(%q) = %#x, want %#x", c.s, h, c.hash)
		}
	}
	// 16 partitions (PostgreSQL): the id's partition is 1 + fnv64 % 15.
	for _, c := range []struct {
		id   string
		mod  uint64 // fnv64(id) % 15
		part int
	}{
		{"user-1", 8, 9},
		{"user-2", 11, 12},
		{"user-42", 9, 10},
		{"a", 1, 2},
	} {
		if m := fnv64(c.id) % 15; m != c.mod {
			t.Errorf("fnv64(%q) %% 15 = %d, want %d", c.id, m, c.mod)
		}
		if p := partitionOf(&Op{Kind: KindAttributes, ID: extID(c.id)}, 16); p != c.part {
			t.Errorf("partitionOf(%q, 16) = %d, want %d", c.id, p, c.part)
		}
	}
	// fnv64 is the standard FNV-1a, so any implementation can reproduce it.
	for i := range 1000 {
		s := fmt.Sprintf("id-%d-%s", i, strings.Repeat("é", i%7))
		h := fnv.New64a()
		h.Write([]byte(s))
		if fnv64(s) != h.Sum64() {
			t.Fatalf("fnv64(%q) = %#x, hash/fnv says %#x", s, fnv64(s), h.Sum64())
		}
	}
}

// ---------------------------------------------------------------------------
// positions

func loads(v []atomic.Int64) []int64 {
	out := make([]int64, len(v))
	for i := range v {
		out[i] = v[i].Load()
	}
	return out
}

func TestRaiseNeverMovesBackwards(t *testing.T) {
	var v atomic.Int64
	if !raise(&v, 5) || v.Load() != 5 {
		t.Fatalf("raise to 5: %d", v.Load())
	}
	for _, to := range []int64{5, 3, 0, -1} {
		if raise(&v, to) || v.Load() != 5 {
			t.Fatalf("raise to %d moved it: %d", to, v.Load())
		}
	}
	if !raise(&v, 6) || v.Load() != 6 {
		t.Fatalf("raise to 6: %d", v.Load())
	}

	// Concurrent raises end at the maximum.
	var w atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				raise(&w, int64(i*8+g))
			}
		})
	}
	wg.Wait()
	if w.Load() != 999*8+7 {
		t.Fatalf("concurrent raises ended at %d", w.Load())
	}

	p := newPositions(2)
	p.appended(1, 10)
	p.appended(1, 4)
	p.setApplied(1, 7)
	p.setApplied(1, 2)
	if h, a := p.heads[1].Load(), p.appliedAt(1); h != 10 || a != 7 {
		t.Fatalf("head %d applied %d, want 10 and 7", h, a)
	}
}

func TestPositionsMerge(t *testing.T) {
	p := newPositions(4)
	p.appended(2, 9)
	p.setApplied(3, 5)
	// Shorter slices touch only the partitions they cover; longer ones are
	// cut; nil is nothing.
	p.merge([]int64{4, 6}, []int64{1})
	p.merge([]int64{1, 1, 3, 1, 99}, []int64{0, 2, 0, 4, 99})
	p.merge(nil, nil)
	if got, want := loads(p.heads), []int64{4, 6, 9, 1}; !slices.Equal(got, want) {
		t.Errorf("heads %v, want %v", got, want)
	}
	if got, want := loads(p.applied), []int64{1, 2, 0, 5}; !slices.Equal(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}

	// A merge that moves an applied position wakes waiters; one that
	// moves only heads, or nothing, does not.
	ch := p.changed()
	p.merge([]int64{100, 100, 100, 100}, []int64{1, 2, 0, 5})
	select {
	case <-ch:
		t.Fatal("a merge that moved no applied position woke waiters")
	default:
	}
	p.merge(nil, []int64{0, 0, 1})
	select {
	case <-ch:
	default:
		t.Fatal("a merge that moved an applied position did not wake waiters")
	}
}

func TestPositionsLagAndSums(t *testing.T) {
	p := newPositions(3)
	if h, a := p.sums(); h != 0 || a != 0 || p.lag() != 0 {
		t.Fatalf("fresh: sums %d %d lag %d", h, a, p.lag())
	}
	p.merge([]int64{10, 20, 5}, []int64{4, 20, 0})
	if h, a := p.sums(); h != 35 || a != 24 {
		t.Errorf("sums %d %d, want 35 24", h, a)
	}
	if l := p.lag(); l != 6+0+5 {
		t.Errorf("lag %d, want 11", l)
	}
	// A store's applied position ahead of the node's known head (another
	// node appended and applied) counts as no lag, not negative lag.
	p.merge(nil, []int64{0, 0, 0})
	p.setApplied(0, 30)
	if l := p.lag(); l != 5 {
		t.Errorf("lag %d, want 5 (partition 0 is ahead, not -20)", l)
	}
	// …and its head is reported as at least what is applied, so the
	// metrics never show a head behind the applied position.
	if h, a := p.sums(); h != 55 || a != 50 {
		t.Errorf("sums %d %d, want 55 50", h, a)
	}
}

func TestPositionsChangedReleasedBySetApplied(t *testing.T) {
	p := newPositions(2)
	ch := p.changed()
	released := make(chan struct{})
	go func() {
		<-ch
		close(released)
	}()
	p.setApplied(1, 0) // does not move: no wake-up
	select {
	case <-released:
		t.Fatal("released by a setApplied that moved nothing")
	case <-time.After(20 * time.Millisecond):
	}
	p.setApplied(1, 3)
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter on changed() was not released by setApplied")
	}
	// The next wait gets a fresh channel.
	select {
	case <-p.changed():
		t.Fatal("changed() returned a closed channel after the broadcast")
	default:
	}
}

func TestPositionsWakeAppliers(t *testing.T) {
	p := newPositions(3)
	a := &Applier{wake: make(chan struct{}, 1)}
	p.owned[2].Store(a)
	p.wakeAppliers()
	p.wakeAppliers() // a pending wake-up is enough: never blocks
	select {
	case <-a.wake:
	default:
		t.Fatal("the owned partition's applier was not woken")
	}
}

// ---------------------------------------------------------------------------
// The coordinator against real stores.

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logLines keeps what a logger wrote, one line per record.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (h *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (h *logLines) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logLines) WithGroup(string) slog.Handler            { return h }
func (h *logLines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	h.mu.Unlock()
	return nil
}

func (h *logLines) has(sub string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.lines, func(l string) bool { return strings.Contains(l, sub) })
}

// eventually polls cond until it holds or within has passed, and returns
// how long it took. state describes what cond saw, for the failure.
func eventually(t *testing.T, within time.Duration, what string, cond func() (ok bool, state string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not after %v: %s", what, within, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ownedBy returns the partitions the service runs an applier for.
func ownedBy(s *Service) []int {
	var out []int
	for p := range s.pos.owned {
		if s.pos.owned[p].Load() != nil {
			out = append(out, p)
		}
	}
	return out
}

// testNode is a service whose Run loop runs until stop.
type testNode struct {
	svc    *Service
	cancel context.CancelFunc
	done   chan struct{}
}

// startNode opens a service over store and runs it until the test ends
// (before the store is closed, if the store was opened first).
func startNode(t *testing.T, store brazen.UserStore, logger *slog.Logger, o ApplierOptions) *testNode {
	t.Helper()
	svc, err := Open(t.Context(), store, logger, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{svc: svc, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		svc.Run(ctx)
	}()
	t.Cleanup(n.stop)
	return n
}

// stop ends the node's Run (it leaves and releases its leases) and waits
// for it.
func (n *testNode) stop() {
	n.cancel()
	<-n.done
}

func attrOp(t *testing.T, id brazen.Identifier, fields string) Op {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(fields), &m); err != nil {
		t.Fatal(err)
	}
	u, err := profile.Parse(m, false)
	if err != nil {
		t.Fatal(err)
	}
	return Op{Kind: KindAttributes, ID: id, Attrs: u}
}

// checkPlan finds id's profile and checks its custom attribute plan.
func checkPlan(t *testing.T, s *Service, id brazen.Identifier, want string) {
	t.Helper()
	ps, err := s.Find(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Errorf("%+v: %d profiles, want 1", id, len(ps))
		return
	}
	if got := ps[0].Custom["plan"]; got != want {
		t.Errorf("%+v: plan %v, want %q", id, got, want)
	}
}

func openPG(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// pgLeases reads the leases table directly: each partition's owner ("" if
// free).
type pgLeases struct {
	t    *testing.T
	conn *pgx.Conn
}

func newPGLeases(t *testing.T, dsn string) *pgLeases {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &pgLeases{t: t, conn: conn}
}

func (l *pgLeases) owners() []string {
	l.t.Helper()
	rows, err := l.conn.Query(l.t.Context(), "SELECT partition, coalesce(owner, '') FROM leases ORDER BY partition")
	if err != nil {
		l.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var p int
		var owner string
		if err := rows.Scan(&p, &owner); err != nil {
			l.t.Fatal(err)
		}
		out = append(out, owner)
	}
	if err := rows.Err(); err != nil {
		l.t.Fatal(err)
	}
	return out
}

func (l *pgLeases) count(owner string) int {
	l.t.Helper()
	n := 0
	for _, o := range l.owners() {
		if o == owner {
			n++
		}
	}
	return n
}

func (l *pgLeases) nodeListed(node string) bool {
	l.t.Helper()
	var n int
	if err := l.conn.QueryRow(l.t.Context(), "SELECT count(*) FROM nodes WHERE id = $1", node).Scan(&n); err != nil {
		l.t.Fatal(err)
	}
	return n > 0
}

// TestPGCoordinatorFairShare: (a) one node takes every partition; (b) a
// second node joins and the two split them evenly; (c) the second leaves
// and the first takes them all back at once, without waiting for the
// leaver's leases to expire.
// pgParts is the PostgreSQL store's number of partitions.
const pgParts = 8

func TestPGCoordinatorFairShare(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	leases := newPGLeases(t, dsn)
	storeA, storeB := openPG(t, dsn), openPG(t, dsn)
	const parts = pgParts
	if storeA.Partitions() != parts {
		t.Fatalf("PostgreSQL store has %d partitions, want %d", storeA.Partitions(), parts)
	}

	// (a)
	a := startNode(t, storeA, discard(), ApplierOptions{Node: "a", LeaseTTL: time.Second})
	took := eventually(t, time.Second, "a holds every partition", func() (bool, string) {
		o := ownedBy(a.svc)
		return len(o) == parts && leases.count("a") == parts, fmt.Sprintf("a runs %v; store owners %q", o, leases.owners())
	})
	t.Logf("a held all %d partitions after %v", parts, took)

	// (b) b's lease TTL is longer than a's renewal period and than the
	// hand-over bound of (c), so that (c) tells leaving from expiry.
	const bTTL = 3 * time.Second
	b := startNode(t, storeB, discard(), ApplierOptions{Node: "b", LeaseTTL: bTTL})
	took = eventually(t, 5*time.Second, "a and b hold half the partitions each", func() (bool, string) {
		oa, ob := ownedBy(a.svc), ownedBy(b.svc)
		ok := len(oa) == parts/2 && len(ob) == parts/2 && leases.count("a") == parts/2 && leases.count("b") == parts/2
		return ok, fmt.Sprintf("a runs %v, b runs %v; store owners %q", oa, ob, leases.owners())
	})
	t.Logf("fair share after %v: a %v, b %v", took, ownedBy(a.svc), ownedBy(b.svc))
	if oa, ob := ownedBy(a.svc), ownedBy(b.svc); slices.ContainsFunc(oa, func(p int) bool { return slices.Contains(ob, p) }) {
		t.Errorf("a partition is applied by both nodes: a %v, b %v", oa, ob)
	}

	// Writes through either node are applied by both nodes' appliers, and
	// a read on either node waits for the other's partitions.
	var ops []Op
	for i := range 48 {
		ops = append(ops, attrOp(t, extID(fmt.Sprintf("split-%d", i)), `{"plan":"split"}`))
	}
	if _, err := a.svc.Append(t.Context(), ops[:24]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Append(t.Context(), ops[24:]); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*testNode{a, b} {
		if err := n.svc.Sync(t.Context()); err != nil {
			t.Fatalf("Sync on %s: %v", n.svc.Node(), err)
		}
	}
	for i := range 48 {
		checkPlan(t, a.svc, extID(fmt.Sprintf("split-%d", i)), "split")
	}
	// An applier counts its operations just after its batch commits (and
	// after the store's trim), so a read on the other node may see the
	// batch first: poll the counts.
	eventually(t, 2*time.Second, "both nodes applied some of the 48 operations", func() (bool, string) {
		na, nb := a.svc.Applied(), b.svc.Applied()
		return na > 0 && nb > 0 && na+nb == 48, fmt.Sprintf("a applied %d and b %d", na, nb)
	})

	// (c)
	start := time.Now()
	b.stop()
	if leases.nodeListed("b") {
		t.Error("b is still in the node list after leaving")
	}
	if n := leases.count("b"); n != 0 {
		t.Errorf("b still owns %d leases after leaving", n)
	}
	eventually(t, 1500*time.Millisecond-time.Since(start), "a holds every partition again after b left", func() (bool, string) {
		o := ownedBy(a.svc)
		return len(o) == parts && leases.count("a") == parts, fmt.Sprintf("a runs %v; store owners %q", o, leases.owners())
	})
	t.Logf("a held all %d partitions again %v after b was cancelled", parts, time.Since(start))

	// And goes on applying every partition.
	if _, err := a.svc.Append(t.Context(), []Op{attrOp(t, extID("split-0"), `{"plan":"after"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkPlan(t, a.svc, extID("split-0"), "after")
}

// TestPGLostLeaseFencesApply: a node whose lease expired and was claimed by
// another cannot apply: Apply fails with ErrLeaseLost and writes nothing,
// and its applier stops.
func TestPGLostLeaseFencesApply(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	store := openPG(t, dsn)
	logs := &logLines{}
	const ttl = 200 * time.Millisecond
	// a's Run loop never runs: nothing renews its leases.
	svc, err := Open(t.Context(), store, slog.New(logs), ApplierOptions{Node: "a", LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	held, err := store.ClaimLeases(t.Context(), "a", ttl, pgParts)
	if err != nil || len(held) != pgParts {
		t.Fatalf("a claimed %v, %v", held, err)
	}
	var taken []brazen.Lease
	eventually(t, 3*time.Second, "x claims a's expired leases", func() (bool, string) {
		var err error
		if taken, err = store.ClaimLeases(t.Context(), "x", time.Minute, pgParts); err != nil {
			t.Fatal(err)
		}
		return len(taken) == pgParts, fmt.Sprintf("x holds %v", taken)
	})

	op := attrOp(t, extID("fenced"), `{"plan":"stale"}`)
	p := partitionOf(&op, pgParts)
	if held[p].Partition != p || taken[p].Partition != p || taken[p].Epoch <= held[p].Epoch {
		t.Fatalf("partition %d: a's lease %+v, x's %+v", p, held[p], taken[p])
	}
	recs := []brazen.LogRecord{{Partition: p, Data: mustJSON(t, []Op{op})}}
	if err := store.AppendLog(t.Context(), recs); err != nil {
		t.Fatal(err)
	}

	// The stale applier reads the record, fails to apply it and stops.
	ap := svc.coord.start(held[p])
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ap.Run(ctx)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cancel()
		<-done
		t.Fatal("the applier of a lost lease kept running")
	}
	if !logs.has(fmt.Sprintf("taken over by another node partition=%d", p)) {
		t.Errorf("the applier did not report the lost lease; log: %q", logs.lines)
	}
	applied, err := store.AppliedPositions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if applied[p] != 0 || svc.pos.appliedAt(p) != 0 || svc.Applied() != 0 {
		t.Errorf("the stale applier moved positions: store %d, node %d, %d ops", applied[p], svc.pos.appliedAt(p), svc.Applied())
	}
	if _, err := store.ByExternalID(t.Context(), "fenced"); !brazen.IsNotFound(err) {
		t.Errorf("the stale applier's write is visible: %v", err)
	}

	// Apply itself: fenced, and nothing fn wrote is kept.
	put := func(id string) func(tx brazen.UserTx) (int64, error) {
		return func(tx brazen.UserTx) (int64, error) {
			now := time.Now().UTC()
			p := &brazen.Profile{BrazeID: brazen.NewID(), ExternalID: id, CreatedAt: now, UpdatedAt: now}
			return recs[0].Seq, tx.PutProfile(t.Context(), p, false)
		}
	}
	if err := store.Apply(t.Context(), held[p], put("ghost")); !errors.Is(err, brazen.ErrLeaseLost) {
		t.Errorf("Apply with a lost lease: %v, want ErrLeaseLost", err)
	}
	if _, err := store.ByExternalID(t.Context(), "ghost"); !brazen.IsNotFound(err) {
		t.Errorf("Apply with a lost lease wrote: %v", err)
	}
	// The current owner's lease works (the failure above is the fence).
	if err := store.Apply(t.Context(), taken[p], put("owner")); err != nil {
		t.Fatalf("Apply with the current lease: %v", err)
	}
	if _, err := store.ByExternalID(t.Context(), "owner"); err != nil {
		t.Errorf("Apply with the current lease did not write: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cutOffStore is a store this node cannot renew its leases with while cut
// is set (a partition between the node and the database, for the leases
// only: its appliers' transactions still go through).
type cutOffStore struct {
	brazen.UserStore
	cut atomic.Bool
}

var errCut = errors.New("cut off")

func (s *cutOffStore) Heartbeat(ctx context.Context, node string, ttl time.Duration) ([]string, error) {
	if s.cut.Load() && ttl > 0 {
		return nil, errCut
	}
	return s.UserStore.Heartbeat(ctx, node, ttl)
}

func (s *cutOffStore) ClaimLeases(ctx context.Context, node string, ttl time.Duration, want int) ([]brazen.Lease, error) {
	if s.cut.Load() {
		return nil, errCut
	}
	return s.UserStore.ClaimLeases(ctx, node, ttl, want)
}

// TestPGRunningNodeLosesLease: a running node that cannot renew loses its
// leases to another; its applier stops at its next batch without applying
// it; once it can renew again it stops its other appliers, and it takes
// the partitions back (and applies the batch) when they are released.
func TestPGRunningNodeLosesLease(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	store := openPG(t, dsn)
	cs := &cutOffStore{UserStore: store}
	logs := &logLines{}
	a := startNode(t, cs, slog.New(logs), ApplierOptions{Node: "a", LeaseTTL: 500 * time.Millisecond})
	eventually(t, time.Second, "a holds every partition", func() (bool, string) {
		o := ownedBy(a.svc)
		return len(o) == pgParts, fmt.Sprintf("a runs %v", o)
	})

	cs.cut.Store(true)
	eventually(t, 3*time.Second, "x claims a's expired leases", func() (bool, string) {
		taken, err := store.ClaimLeases(t.Context(), "x", time.Minute, pgParts)
		if err != nil {
			t.Fatal(err)
		}
		return len(taken) == pgParts, fmt.Sprintf("x holds %v", taken)
	})

	op := attrOp(t, extID("cut-user"), `{"plan":"cut"}`)
	p := partitionOf(&op, pgParts)
	pos, err := a.svc.Append(t.Context(), []Op{op})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "a's applier stops on the lost lease", func() (bool, string) {
		return logs.has(fmt.Sprintf("taken over by another node partition=%d", p)), "no lost-lease report"
	})
	if applied, err := store.AppliedPositions(t.Context()); err != nil || applied[p] != 0 {
		t.Fatalf("partition %d applied to %v (%v) under a lost lease", p, applied, err)
	}

	// Renewals work again: a finds it holds nothing and stops the rest.
	cs.cut.Store(false)
	eventually(t, 2*time.Second, "a stops every applier", func() (bool, string) {
		o := ownedBy(a.svc)
		return len(o) == 0, fmt.Sprintf("a still runs %v", o)
	})

	// x goes away: a takes every partition and applies the waiting record.
	all := make([]int, pgParts)
	for i := range all {
		all[i] = i
	}
	if err := store.ReleaseLeases(t.Context(), "x", all); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "a holds every partition again", func() (bool, string) {
		o := ownedBy(a.svc)
		return len(o) == pgParts, fmt.Sprintf("a runs %v", o)
	})
	if err := a.svc.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	checkPlan(t, a.svc, extID("cut-user"), "cut")
}

// TestPGSyncWithoutPartitions: a node that applies no partition still
// waits, in Sync, for every write acknowledged before (by itself or by
// another node) to be applied by the node that holds the partition.
func TestPGSyncWithoutPartitions(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	storeA, storeC := openPG(t, dsn), openPG(t, dsn)
	a := startNode(t, storeA, discard(), ApplierOptions{Node: "a", LeaseTTL: time.Second})
	eventually(t, time.Second, "a holds every partition", func() (bool, string) {
		o := ownedBy(a.svc)
		return len(o) == pgParts, fmt.Sprintf("a runs %v", o)
	})

	// c runs its group commits but not its coordinator: it holds no lease.
	c, err := Open(t.Context(), storeC, discard(), ApplierOptions{Node: "c", LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.ReadWait = 5 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		c.log.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-logDone })

	var viaA, viaC []Op
	for i := range 10 {
		viaA = append(viaA, attrOp(t, extID(fmt.Sprintf("sync-a-%d", i)), `{"plan":"a"}`))
		viaC = append(viaC, attrOp(t, extID(fmt.Sprintf("sync-c-%d", i)), `{"plan":"c"}`))
	}
	crm := brazen.Identifier{Alias: &brazen.Alias{Label: "crm", Name: "sync"}}
	viaC = append(viaC, attrOp(t, crm, `{"plan":"alias"}`)) // partition 0
	if _, err := a.svc.Append(t.Context(), viaA); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(t.Context(), viaC); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Sync(t.Context()); err != nil {
		t.Fatalf("Sync on c: %v", err)
	}
	t.Logf("c's Sync took %v", time.Since(start))

	for i := range 10 {
		checkPlan(t, c, extID(fmt.Sprintf("sync-a-%d", i)), "a")
		checkPlan(t, c, extID(fmt.Sprintf("sync-c-%d", i)), "c")
	}
	checkPlan(t, c, crm, "alias")
	if o := ownedBy(c); len(o) != 0 {
		t.Errorf("c runs appliers for %v", o)
	}
	if n := c.Applied(); n != 0 {
		t.Errorf("c applied %d operations", n)
	}
	// a counts a batch's operations just after its commit, which c may
	// see first.
	want := int64(len(viaA) + len(viaC))
	eventually(t, 2*time.Second, "a applied every operation", func() (bool, string) {
		n := a.svc.Applied()
		return n == want, fmt.Sprintf("a applied %d operations, want %d", n, want)
	})
	if c.Position() < c.Head() {
		t.Errorf("after Sync c knows of head %d but applied %d", c.Head(), c.Position())
	}
}

// ---------------------------------------------------------------------------
// The coordinator on SQLite: one partition, leased all the same.

func openSQLite(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSQLiteCoordinatorHoldsPartition(t *testing.T) {
	store := openSQLite(t, filepath.Join(t.TempDir(), "brazen.db"))
	if store.Partitions() != 1 {
		t.Fatalf("SQLite store has %d partitions, want 1", store.Partitions())
	}
	a := startNode(t, store, discard(), ApplierOptions{Node: "a", LeaseTTL: time.Second})
	eventually(t, time.Second, "a holds partition 0", func() (bool, string) {
		o := ownedBy(a.svc)
		return slices.Equal(o, []int{0}), fmt.Sprintf("a runs %v", o)
	})
	ops := []Op{attrOp(t, extID("u1"), `{"plan":"one"}`), attrOp(t, brazen.Identifier{Email: "e@example.com"}, `{"plan":"two"}`)}
	pos, err := a.svc.Append(t.Context(), ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 1 || pos[0].Partition != 0 {
		t.Fatalf("positions %+v, want one record in partition 0", pos)
	}
	if err := a.svc.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	checkPlan(t, a.svc, extID("u1"), "one")
	checkPlan(t, a.svc, brazen.Identifier{Email: "e@example.com"}, "two")
}

// TestSQLiteCoordinatorHandOver: two processes on one file; the second
// takes the partition as soon as the first leaves, without waiting for its
// lease to expire.
func TestSQLiteCoordinatorHandOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "brazen.db")
	storeA, storeB := openSQLite(t, path), openSQLite(t, path)
	const aTTL = 3 * time.Second // longer than the hand-over bound below
	a := startNode(t, storeA, discard(), ApplierOptions{Node: "a", LeaseTTL: aTTL})
	eventually(t, time.Second, "a holds partition 0", func() (bool, string) {
		o := ownedBy(a.svc)
		return slices.Equal(o, []int{0}), fmt.Sprintf("a runs %v", o)
	})
	b := startNode(t, storeB, discard(), ApplierOptions{Node: "b", LeaseTTL: time.Second})
	// b renews every 200 ms; the fair share of one partition over two nodes
	// is one, so a keeps it and b gets nothing.
	time.Sleep(500 * time.Millisecond)
	if o := ownedBy(b.svc); len(o) != 0 {
		t.Fatalf("b runs %v while a holds the partition", o)
	}
	if o := ownedBy(a.svc); !slices.Equal(o, []int{0}) {
		t.Fatalf("a runs %v, want [0]", o)
	}

	start := time.Now()
	a.stop()
	eventually(t, 1500*time.Millisecond-time.Since(start), "b takes partition 0 after a left", func() (bool, string) {
		o := ownedBy(b.svc)
		return slices.Equal(o, []int{0}), fmt.Sprintf("b runs %v", o)
	})
	t.Logf("b held partition 0 %v after a was cancelled", time.Since(start))

	pos, err := b.svc.Append(t.Context(), []Op{attrOp(t, extID("u1"), `{"plan":"b"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.svc.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	checkPlan(t, b.svc, extID("u1"), "b")
}

// TestShare: the fair shares add up to the partitions, differ by at most
// one, and leave no node idle while there are partitions enough (five nodes
// over 16 partitions hold 4, 3, 3, 3, 3, not 4, 4, 4, 4, 0).
func TestShare(t *testing.T) {
	for nodes := 1; nodes <= 20; nodes++ {
		var live []string
		for i := range nodes {
			live = append(live, fmt.Sprintf("n%02d", i))
		}
		total, lo, hi := 0, 1<<30, 0
		for _, n := range live {
			w := share(16, live, n)
			total += w
			lo, hi = min(lo, w), max(hi, w)
		}
		if total != 16 || hi-lo > 1 || (nodes <= 16 && lo == 0) {
			t.Errorf("%d nodes: shares total %d, from %d to %d", nodes, total, lo, hi)
		}
	}
	if got := share(16, []string{"a"}, "b"); got != 16 {
		t.Errorf("share of a node not listed = %d, want 16", got)
	}
}
