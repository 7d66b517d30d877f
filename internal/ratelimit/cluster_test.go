package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/sqlite"
	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

// The nodes of these tests are Clusters on one real SQLite store, synced by
// calling sync with the same explicit times their requests carry.

func openStore(t testing.TB) *sqlite.DB { return sqlitetest.Open(t) }

// future is a day boundary two days ahead: the store may delete windows that
// ended by the real clock, so the tests' windows are all in the future.
func future() time.Time {
	return time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
}

func newNodes(store brazen.CounterStore, n, buckets int) []*Cluster {
	nodes := make([]*Cluster, n)
	for i := range nodes {
		nodes[i] = NewCluster(store, buckets, slog.New(slog.DiscardHandler))
	}
	return nodes
}

func syncNode(t *testing.T, c *Cluster, now time.Time) {
	t.Helper()
	if err := c.sync(t.Context(), now); err != nil {
		t.Fatalf("sync at %v: %v", now, err)
	}
}

// storeTotal reads the store's count for a counter.
func storeTotal(t *testing.T, store brazen.CounterStore, scope string, bucket int, lim Limit, now time.Time) int64 {
	t.Helper()
	start, end := windowBounds(lim, now)
	totals, err := store.AddCounts(t.Context(), []brazen.CounterDelta{
		{Key: counterKey(scope, bucket, end-start), Window: start, Expires: end},
	})
	if err != nil {
		t.Fatalf("reading the store: %v", err)
	}
	return totals[0]
}

// With one node the Cluster is Local: the same decisions and headers,
// whenever syncs happen, across windows and limit changes.
func TestClusterOneNodeMatchesLocal(t *testing.T) {
	t0 := future().Add(10 * time.Second)
	perMinute := Limit{N: 3, Window: time.Minute}
	type step struct {
		op  string // take, peek or sync
		at  time.Duration
		lim Limit
	}
	scripted := []step{
		{"peek", 0, perMinute},
		{"take", 0, perMinute},
		{"sync", 0, perMinute},
		{"peek", time.Second, perMinute},
		{"take", time.Second, perMinute},
		{"take", 2 * time.Second, perMinute},
		{"sync", 2 * time.Second, perMinute},
		{"take", 3 * time.Second, perMinute},
		{"peek", 3 * time.Second, perMinute},
		{"sync", 4 * time.Second, perMinute},
		{"take", 5 * time.Second, perMinute},
		// The last instant of the window, then the next window.
		{"take", 50*time.Second - time.Nanosecond, perMinute},
		{"take", 50 * time.Second, perMinute},
		{"sync", 51 * time.Second, perMinute},
		{"take", 52 * time.Second, perMinute},
		// A lowered limit on a counter past it.
		{"take", 53 * time.Second, Limit{N: 1, Window: time.Minute}},
		{"peek", 53 * time.Second, Limit{N: 1, Window: time.Minute}},
		// Several windows later, without a sync in between.
		{"take", 10 * time.Minute, perMinute},
		{"sync", 10 * time.Minute, perMinute},
		{"take", 10 * time.Minute, perMinute},
	}
	run := func(t *testing.T, steps []step) {
		store := openStore(t)
		c := newNodes(store, 1, 1)[0]
		l := NewLocal(1)
		for i, s := range steps {
			now := t0.Add(s.at)
			var got, want Decision
			switch s.op {
			case "sync":
				syncNode(t, c, now)
				continue
			case "take":
				got, want = c.Take("ws", 0, s.lim, now), l.Take("ws", 0, s.lim, now)
			case "peek":
				got, want = c.Peek("ws", 0, s.lim, now), l.Peek("ws", 0, s.lim, now)
			}
			if got != want {
				t.Fatalf("step %d (%s at +%v, %v): Cluster = %+v, Local = %+v", i, s.op, s.at, s.lim, got, want)
			}
		}
	}
	t.Run("scripted", func(t *testing.T) { run(t, scripted) })

	// Random requests over several 7-second windows (limits of 5 and 20),
	// a sync after about one request in five.
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("random/", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0))
			var steps []step
			at := time.Duration(0)
			for range 600 {
				at += time.Duration(r.IntN(200)) * time.Millisecond
				lim := Limit{N: 5, Window: 7 * time.Second}
				if r.IntN(4) == 0 {
					lim.N = 20
				}
				op := []string{"take", "take", "take", "peek", "sync"}[r.IntN(5)]
				steps = append(steps, step{op, at, lim})
			}
			run(t, steps)
		})
	}
}

// TestClusterWithinTolerance is three nodes sharing a limit under random
// load, their syncs staggered: the cluster may exceed N only by what the
// other nodes admit in two sync intervals, no node alone exceeds N, nothing
// is refused before N, and the store ends with exactly the requests
// admitted.
func TestClusterWithinTolerance(t *testing.T) {
	const (
		nodes = 3
		// Each node syncs every 3 ticks, node i at the ticks ≡ i (mod 3), after
		// the requests of the tick.
		interval = 3
		ticks    = 120
	)
	lim := Limit{N: 100, Window: time.Hour}
	for _, tt := range []struct {
		name    string
		maxLoad int // requests per node per tick: 0 … maxLoad
	}{
		{name: "light", maxLoad: 2},
		{name: "heavy", maxLoad: 6},
		{name: "burst", maxLoad: 40},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := openStore(t)
			cs := newNodes(store, nodes, 1)
			now := future().Add(time.Minute)
			r := rand.New(rand.NewPCG(uint64(tt.maxLoad), 1))
			var admitted [nodes][ticks]int64
			var demand int64
			for tick := range ticks {
				for i, c := range cs {
					for range r.IntN(tt.maxLoad + 1) {
						demand++
						if c.Take("ws", 0, lim, now).Allowed {
							admitted[i][tick]++
						}
					}
				}
				for i, c := range cs {
					if tick%interval == i {
						syncNode(t, c, now)
					}
				}
			}
			var total, r2 int64 // r2: the most one node admitted in two sync intervals
			for i := range nodes {
				var own int64
				for tick := range ticks {
					own += admitted[i][tick]
					var span int64
					for k := tick; k < min(tick+2*interval, ticks); k++ {
						span += admitted[i][k]
					}
					r2 = max(r2, span)
				}
				if own > lim.N {
					t.Errorf("node %d admitted %d requests alone, over the limit of %d", i, own, lim.N)
				}
				total += own
			}
			if bound := lim.N + (nodes-1)*r2; total > bound {
				t.Errorf("the cluster admitted %d requests, over N + (nodes-1) × %d = %d", total, r2, bound)
			}
			// A node refuses only when its view, which never overstates,
			// reaches N.
			if total < demand && total < lim.N {
				t.Errorf("the cluster refused requests after admitting %d, fewer than the limit of %d", total, lim.N)
			}
			for _, c := range cs {
				syncNode(t, c, now)
			}
			if got := storeTotal(t, store, "ws", 0, lim, now); got != total {
				t.Errorf("the store counted %d requests, the nodes admitted %d", got, total)
			}
			t.Logf("demand %d, admitted %d (limit %d, r2 %d)", demand, total, lim.N, r2)
		})
	}
}

// Below the limit, what a node does not know never makes it refuse.
func TestClusterBelowLimitAdmitsAll(t *testing.T) {
	store := openStore(t)
	cs := newNodes(store, 3, 2)
	now := future()
	lim := Limit{N: 90, Window: time.Minute}
	for round := range 30 {
		for i, c := range cs {
			if d := c.Take("ws", 1, lim, now); !d.Allowed {
				t.Fatalf("round %d node %d: Take = %+v, want allowed (%d of %d used)", round, i, d, round*3+i, lim.N)
			}
			syncNode(t, c, now)
		}
	}
	// All 90 used, and every node knows it after a sync.
	for i, c := range cs {
		syncNode(t, c, now)
		if d := c.Peek("ws", 1, lim, now); d.Allowed || d.Remaining != 0 {
			t.Errorf("node %d: Peek after the limit = %+v, want denied, 0 remaining", i, d)
		}
	}
}

// Every node sees the others' requests after it syncs, and Remaining shows
// them; Limit and Reset are Local's.
func TestClusterHeadersAcrossNodes(t *testing.T) {
	store := openStore(t)
	cs := newNodes(store, 2, 1)
	a, b := cs[0], cs[1]
	lim := Limit{N: 5, Window: time.Minute}
	now := future().Add(20 * time.Second)
	reset := future().Add(time.Minute).Unix()
	for range 3 {
		a.Take("ws", 0, lim, now)
	}
	if got, want := b.Peek("ws", 0, lim, now), (Decision{Allowed: true, Limit: 5, Remaining: 5, Reset: reset}); got != want {
		t.Errorf("B before any sync = %+v, want %+v", got, want)
	}
	syncNode(t, a, now)
	syncNode(t, b, now) // B's Peek made the counter live, so B reads it
	if got, want := b.Peek("ws", 0, lim, now), (Decision{Allowed: true, Limit: 5, Remaining: 2, Reset: reset}); got != want {
		t.Errorf("B after syncs = %+v, want %+v", got, want)
	}
	if got, want := b.Take("ws", 0, lim, now), (Decision{Allowed: true, Limit: 5, Remaining: 1, Reset: reset}); got != want {
		t.Errorf("B's Take = %+v, want %+v", got, want)
	}
	syncNode(t, b, now)
	syncNode(t, a, now)
	if got, want := a.Take("ws", 0, lim, now), (Decision{Allowed: true, Limit: 5, Remaining: 0, Reset: reset}); got != want {
		t.Errorf("A's Take = %+v, want %+v", got, want)
	}
	if got, want := a.Take("ws", 0, lim, now), (Decision{Allowed: false, Limit: 5, Remaining: 0, Reset: reset}); got != want {
		t.Errorf("A's Take over the limit = %+v, want %+v", got, want)
	}
	// Scopes and buckets are separate counters in the store too.
	if d := a.Take("other", 0, lim, now); d.Remaining != 4 {
		t.Errorf("A's Take in another scope = %+v, want 4 remaining", d)
	}
}

func TestClusterWindowRollover(t *testing.T) {
	store := openStore(t)
	cs := newNodes(store, 2, 1)
	a, b := cs[0], cs[1]
	lim := Limit{N: 2, Window: time.Minute}
	w0 := future().Add(5 * time.Minute)
	w1 := w0.Add(time.Minute)

	a.Take("ws", 0, lim, w0)
	a.Take("ws", 0, lim, w0)
	syncNode(t, a, w0)
	b.Peek("ws", 0, lim, w0)
	syncNode(t, b, w0)
	if d := b.Take("ws", 0, lim, w0.Add(59*time.Second)); d.Allowed {
		t.Errorf("B at the end of a spent window = %+v, want denied", d)
	}

	// The next window starts empty on every node, before any sync.
	if got, want := b.Take("ws", 0, lim, w1), (Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: w1.Add(time.Minute).Unix()}); got != want {
		t.Errorf("B in the next window = %+v, want %+v", got, want)
	}
	syncNode(t, b, w1)
	syncNode(t, a, w1) // A has no counter open in w1: its state for w0 goes
	if n := len(a.scopes); n != 0 {
		t.Errorf("A keeps %d scopes after their windows ended, want 0", n)
	}
	if got, want := a.Peek("ws", 0, lim, w1), (Decision{Allowed: true, Limit: 2, Remaining: 2, Reset: w1.Add(time.Minute).Unix()}); got != want {
		t.Errorf("A's Peek in w1 before its sync = %+v, want %+v", got, want)
	}
	syncNode(t, a, w1)
	if d := a.Peek("ws", 0, lim, w1); d.Remaining != 1 {
		t.Errorf("A's Peek in w1 after its sync = %+v, want B's request counted", d)
	}

	// Requests of a window that ended before they were sent are dropped:
	// nobody counts in that window any more.
	b.Take("ws", 0, lim, w1.Add(59*time.Second))
	w2 := w1.Add(time.Minute)
	syncNode(t, b, w2)
	if got := storeTotal(t, store, "ws", 0, lim, w1); got != 1 {
		t.Errorf("the store's count for w1 = %d, want 1 (the late request not sent)", got)
	}

	// A request stamped just before the window turned, counted after one
	// stamped after it, counts in the newer window.
	a.Take("ws", 0, lim, w2)
	if d := a.Take("ws", 0, lim, w2.Add(-time.Millisecond)); d.Reset != w2.Add(time.Minute).Unix() || d.Remaining != 0 {
		t.Errorf("a late request = %+v, want it counted in the newer window", d)
	}
}

// flakyStore fails while fail is set.
type flakyStore struct {
	brazen.CounterStore
	fail  atomic.Bool
	calls atomic.Int64
}

func (s *flakyStore) AddCounts(ctx context.Context, deltas []brazen.CounterDelta) ([]int64, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return nil, errors.New("database is locked")
	}
	return s.CounterStore.AddCounts(ctx, deltas)
}

// logBuffer is a slog destination tests can read while syncs write.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func TestClusterStoreErrors(t *testing.T) {
	store := openStore(t)
	flaky := &flakyStore{CounterStore: store}
	var logs logBuffer
	a := NewCluster(flaky, 1, slog.New(slog.NewTextHandler(&logs, nil)))
	b := newNodes(store, 1, 1)[0]
	lim := Limit{N: 10, Window: time.Hour}
	now := future().Add(time.Minute)

	for range 2 {
		a.Take("ws", 0, lim, now)
	}
	syncNode(t, a, now)

	// The store fails: A goes on deciding on what it knows, keeps its
	// requests and warns once a minute.
	flaky.fail.Store(true)
	for i := range 5 {
		a.Take("ws", 0, lim, now)
		if err := a.sync(t.Context(), now.Add(time.Duration(i)*time.Second)); err == nil {
			t.Fatal("sync with a failing store returned no error")
		}
	}
	if got := logs.count("level=WARN"); got != 1 {
		t.Errorf("%d warnings in the first minute of failures, want 1:\n%s", got, &logs)
	}
	if d := a.Peek("ws", 0, lim, now); d.Remaining != 3 {
		t.Errorf("A's Peek while the store fails = %+v, want 3 remaining (7 of its own)", d)
	}
	// B's requests meanwhile are not known to A: the shared part fails open.
	for range 4 {
		b.Take("ws", 0, lim, now)
	}
	syncNode(t, b, now)
	admitted := int64(4)
	for range 5 {
		if a.Take("ws", 0, lim, now).Allowed {
			admitted++
		}
	}
	if admitted != 4+3 {
		t.Errorf("with the store failing the two nodes admitted %d requests after A's 7, want 4 + 3", admitted)
	}
	a.sync(t.Context(), now.Add(61*time.Second))
	if got := logs.count("level=WARN"); got != 2 {
		t.Errorf("%d warnings after a minute of failures, want 2", got)
	}

	// The store is back: A's requests are all sent, once.
	flaky.fail.Store(false)
	syncNode(t, a, now.Add(62*time.Second))
	if got := storeTotal(t, store, "ws", 0, lim, now); got != 7+admitted {
		t.Errorf("the store counted %d requests after recovery, want %d", got, 7+admitted)
	}
	if d := a.Peek("ws", 0, lim, now); d.Remaining != 0 || d.Allowed {
		t.Errorf("A's Peek after recovery = %+v, want the whole cluster's count", d)
	}
	if got := logs.count("shared again"); got != 1 {
		t.Errorf("recovery logged %d times, want once", got)
	}
	syncNode(t, a, now.Add(63*time.Second))
	if got := storeTotal(t, store, "ws", 0, lim, now); got != 7+admitted {
		t.Errorf("the store counted %d requests after another sync, want %d", got, 7+admitted)
	}
}

// gatedStore holds every AddCounts until release is closed.
type gatedStore struct {
	brazen.CounterStore
	entered chan struct{}
	release chan struct{}
}

func (s *gatedStore) AddCounts(ctx context.Context, deltas []brazen.CounterDelta) ([]int64, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.CounterStore.AddCounts(ctx, deltas)
}

// A sync in flight never holds up a request, and requests counted meanwhile
// stay pending for the next sync.
func TestClusterTakeNeverWaitsForTheStore(t *testing.T) {
	store := openStore(t)
	gated := &gatedStore{CounterStore: store, entered: make(chan struct{}, 1), release: make(chan struct{})}
	c := NewCluster(gated, 1, slog.New(slog.DiscardHandler))
	lim := Limit{N: 100, Window: time.Hour}
	now := future()
	for range 3 {
		c.Take("ws", 0, lim, now)
	}
	synced := make(chan error, 1)
	go func() { synced <- c.sync(t.Context(), now) }()
	<-gated.entered

	took := make(chan struct{})
	go func() {
		for range 5 {
			c.Take("ws", 0, lim, now)
			c.Take("new scope", 0, lim, now)
		}
		close(took)
	}()
	select {
	case <-took:
	case <-time.After(10 * time.Second):
		t.Fatal("Take waited for a sync in flight")
	}
	close(gated.release)
	if err := <-synced; err != nil {
		t.Fatalf("sync: %v", err)
	}
	if d := c.Peek("ws", 0, lim, now); d.Remaining != 92 {
		t.Errorf("Peek after the sync = %+v, want 92 remaining (3 sent, 5 pending)", d)
	}
	if got := storeTotal(t, store, "ws", 0, lim, now); got != 3 {
		t.Errorf("the store counted %d after the first sync, want 3", got)
	}
	go func() { <-gated.entered }()
	syncNode(t, c, now)
	if got := storeTotal(t, store, "ws", 0, lim, now); got != 8 {
		t.Errorf("the store counted %d after the second sync, want 8", got)
	}
	if d := c.Peek("ws", 0, lim, now); d.Remaining != 92 {
		t.Errorf("Peek after the second sync = %+v, want 92 remaining", d)
	}
}

// Run with -race: three nodes, many goroutines taking and peeking while
// every node syncs in a loop. No admitted request may be lost or counted
// twice, and a counter under its limit admits everything.
func TestClusterConcurrent(t *testing.T) {
	const (
		goroutines = 12
		each       = 300
		scopes     = 3
		buckets    = 2
	)
	store := openStore(t)
	cs := newNodes(store, 3, buckets)
	now := future().Add(time.Hour)
	// Bucket 0 has room for everything; bucket 1 is contended.
	lims := [buckets]Limit{{N: 1 << 40, Window: time.Hour}, {N: 50, Window: time.Hour}}

	var admitted [scopes][buckets]atomic.Int64
	stop := make(chan struct{})
	var syncers sync.WaitGroup
	for _, c := range cs {
		syncers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := c.sync(t.Context(), now); err != nil {
					t.Errorf("sync: %v", err)
					return
				}
			}
		})
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			c := cs[g%len(cs)]
			for i := range each {
				s, b := (g+i)%scopes, i%buckets
				scope := fmt.Sprint("ws-", s)
				if c.Take(scope, b, lims[b], now).Allowed {
					admitted[s][b].Add(1)
				}
				c.Peek(scope, b, lims[b], now)
			}
		})
	}
	wg.Wait()
	close(stop)
	syncers.Wait()
	for _, c := range cs {
		syncNode(t, c, now)
	}
	for s := range scopes {
		for b := range buckets {
			scope := fmt.Sprint("ws-", s)
			got := admitted[s][b].Load()
			if stored := storeTotal(t, store, scope, b, lims[b], now); stored != got {
				t.Errorf("%s bucket %d: the store counted %d, the nodes admitted %d", scope, b, stored, got)
			}
			if b == 0 && got != goroutines*each/scopes/buckets {
				t.Errorf("%s bucket 0: admitted %d, want all %d", scope, got, goroutines*each/scopes/buckets)
			}
			if b == 1 && (got < lims[1].N || got > 3*lims[1].N) {
				t.Errorf("%s bucket 1: admitted %d, want from N to 3N (N = %d)", scope, got, lims[1].N)
			}
		}
	}
}

// Run syncs on its own and flushes on the way out.
func TestClusterRun(t *testing.T) {
	store := openStore(t)
	cs := newNodes(store, 2, 1)
	a, b := cs[0], cs[1]
	lim := Limit{N: 1000, Window: 24 * time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, c := range cs {
		c.SyncInterval = 5 * time.Millisecond
		wg.Go(func() { c.Run(ctx) })
	}
	for range 10 {
		a.Take("ws", 0, lim, time.Now())
	}
	b.Peek("ws", 0, lim, time.Now())
	deadline := time.Now().Add(10 * time.Second)
	for b.Peek("ws", 0, lim, time.Now()).Remaining != 990 {
		if time.Now().After(deadline) {
			t.Fatalf("B never saw A's requests: %+v", b.Peek("ws", 0, lim, time.Now()))
		}
		time.Sleep(time.Millisecond)
	}
	// Counted just before shutdown: Run's last sync sends it.
	a.Take("ws", 0, lim, time.Now())
	cancel()
	wg.Wait()
	if got := storeTotal(t, store, "ws", 0, lim, time.Now()); got != 11 {
		t.Errorf("the store counted %d after Run returned, want 11", got)
	}
}

func BenchmarkClusterTake(b *testing.B) {
	lim := Limit{N: 1 << 62, Window: time.Hour}
	for _, scopes := range []string{"one-scope", "scope-per-goroutine"} {
		b.Run(scopes, func(b *testing.B) {
			c := NewCluster(openStore(b), 1, slog.New(slog.DiscardHandler))
			// Syncing in the background, as in a server, so that Take
			// contends with it.
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan struct{})
			go func() { c.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			var next atomic.Int64
			now := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				scope := "ws"
				if scopes == "scope-per-goroutine" {
					scope = fmt.Sprint("ws-", next.Add(1))
				}
				for pb.Next() {
					c.Take(scope, 0, lim, now)
				}
			})
		})
	}
}
