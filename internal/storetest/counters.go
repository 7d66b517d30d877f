package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/brazenhq/brazen/internal/brazen"
)

// counterTests check brazen.CounterStore, which cluster-wide rate limits
// rely on: a node sends its counts and reads everyone's in one call.
var counterTests = []storeTest{
	{"AddUp", testCountersAddUp},
	{"ZeroDeltaReads", testCountersZeroDeltaReads},
	{"KeysAndWindowsSeparate", testCountersSeparate},
	{"TotalsInInputOrder", testCountersOrder},
	{"Concurrent", testCountersConcurrent},
	{"EndedWindows", testCountersEndedWindows},
}

func counterStore(t *testing.T, s brazen.Store) brazen.CounterStore {
	t.Helper()
	cs := brazen.CounterStore(s)
	return cs
}

func addCounts(t *testing.T, cs brazen.CounterStore, deltas ...brazen.CounterDelta) []int64 {
	t.Helper()
	totals, err := cs.AddCounts(t.Context(), deltas)
	if err != nil {
		t.Fatalf("AddCounts(%+v): %v", deltas, err)
	}
	if len(totals) != len(deltas) {
		t.Fatalf("AddCounts(%d deltas) returned %d totals", len(deltas), len(totals))
	}
	return totals
}

// currentWindow is a one-hour window that has not ended, as a node's
// counters are: a backend may delete windows that ended before the real
// clock's now.
func currentWindow() (start, end int64) {
	start = time.Now().Truncate(time.Hour).Unix()
	return start, start + 3600
}

func delta(key string, window, n int64) brazen.CounterDelta {
	return brazen.CounterDelta{Key: key, Window: window, Expires: window + 3600, N: n}
}

func testCountersAddUp(t *testing.T, s brazen.Store) {
	cs := counterStore(t, s)
	w, _ := currentWindow()
	var got []int64
	for _, n := range []int64{1, 2, 3, 10} {
		got = append(got, addCounts(t, cs, delta("ws/0", w, n))[0])
	}
	if diff := gocmp.Diff([]int64{1, 3, 6, 16}, got); diff != "" {
		t.Errorf("totals after each addition (-want +got):\n%s", diff)
	}
}

func testCountersZeroDeltaReads(t *testing.T, s brazen.Store) {
	cs := counterStore(t, s)
	w, _ := currentWindow()
	if got := addCounts(t, cs, delta("ws/0", w, 0)); got[0] != 0 {
		t.Errorf("reading a counter never written = %d, want 0", got[0])
	}
	addCounts(t, cs, delta("ws/0", w, 5))
	for i := range 3 {
		if got := addCounts(t, cs, delta("ws/0", w, 0)); got[0] != 5 {
			t.Errorf("read %d = %d, want 5", i, got[0])
		}
	}
	if got := addCounts(t, cs, delta("ws/0", w, 1)); got[0] != 6 {
		t.Errorf("adding after reads = %d, want 6", got[0])
	}
}

func testCountersSeparate(t *testing.T, s brazen.Store) {
	cs := counterStore(t, s)
	w, _ := currentWindow()
	// Keys that share prefixes, and the window after w.
	counters := []struct {
		key    string
		window int64
		n      int64
	}{
		{"ws/0", w, 1},
		{"ws/0", w + 3600, 2},
		{"ws/1", w, 4},
		{"ws/01", w, 8},
		{"ws", w, 16},
		{"other/0", w, 32},
	}
	for _, c := range counters {
		addCounts(t, cs, delta(c.key, c.window, c.n))
	}
	for _, c := range counters {
		if got := addCounts(t, cs, delta(c.key, c.window, 0)); got[0] != c.n {
			t.Errorf("counter (%s, %d) = %d, want %d", c.key, c.window, got[0], c.n)
		}
	}
}

func testCountersOrder(t *testing.T, s brazen.Store) {
	cs := counterStore(t, s)
	w, _ := currentWindow()
	addCounts(t, cs, delta("b", w, 100), delta("a", w, 200))
	// Out of key order, reads mixed with additions, and one counter twice:
	// each result is its total after that delta.
	got := addCounts(t, cs,
		delta("c", w, 3),
		delta("b", w, 0),
		delta("a", w, 1),
		delta("new", w, 0),
		delta("c", w, 4),
		delta("b", w, 7),
	)
	if diff := gocmp.Diff([]int64{3, 100, 201, 0, 7, 107}, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if got := addCounts(t, cs); len(got) != 0 {
		t.Errorf("AddCounts of nothing = %v, want no totals", got)
	}
}

// testCountersConcurrent is several nodes syncing at once: no addition may
// be lost, each returned total must be one no other call saw, and a read
// sees every addition that returned before it began.
func testCountersConcurrent(t *testing.T, s brazen.Store) {
	const (
		goroutines = 8
		calls      = 25
	)
	cs := counterStore(t, s)
	w, _ := currentWindow()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // guards seen
		seen []int64
		errs [goroutines]error
	)
	for g := range goroutines {
		wg.Go(func() {
			own := fmt.Sprint("own/", g)
			for i := range calls {
				totals, err := cs.AddCounts(t.Context(), []brazen.CounterDelta{
					delta(own, w, 1), delta("idle", w, 0), delta("hot", w, 1),
				})
				if err != nil {
					errs[g] = err
					return
				}
				if totals[0] != int64(i+1) {
					errs[g] = fmt.Errorf("call %d: own counter = %d, want %d", i, totals[0], i+1)
					return
				}
				// A read alone must see this call's addition, and may see
				// other calls' since.
				read, err := cs.AddCounts(t.Context(), []brazen.CounterDelta{delta("hot", w, 0)})
				if err != nil {
					errs[g] = err
					return
				}
				if read[0] < totals[2] {
					errs[g] = fmt.Errorf("call %d: read hot = %d after adding to make it %d", i, read[0], totals[2])
					return
				}
				mu.Lock()
				seen = append(seen, totals[2])
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", g, err)
		}
	}
	slices.Sort(seen)
	want := make([]int64, goroutines*calls)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if diff := gocmp.Diff(want, seen); diff != "" {
		t.Errorf("totals of the shared counter, sorted (-want +got):\n%s", diff)
	}
	if got := addCounts(t, cs, delta("hot", w, 0), delta("idle", w, 0)); got[0] != goroutines*calls || got[1] != 0 {
		t.Errorf("after the goroutines: hot = %d, idle = %d; want %d, 0", got[0], got[1], goroutines*calls)
	}
}

// testCountersEndedWindows: a backend may drop a window that ended, but never
// one that has not.
func testCountersEndedWindows(t *testing.T, s brazen.Store) {
	cs := counterStore(t, s)
	w, end := currentWindow()
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	ended := brazen.CounterDelta{Key: "ws/0", Window: old, Expires: old + 60, N: 5}
	current := brazen.CounterDelta{Key: "ws/0", Window: w, Expires: end, N: 3}
	addCounts(t, cs, ended, current)
	// More writes, in which a backend may clean up.
	for i := range 5 {
		addCounts(t, cs, delta(fmt.Sprint("other/", i), w, 1))
	}
	ended.N, current.N = 1, 0
	got := addCounts(t, cs, ended, current)
	if got[0] != 6 && got[0] != 1 {
		t.Errorf("ended window after one more addition = %d, want 6 (kept) or 1 (dropped and counted anew)", got[0])
	}
	if got[1] != 3 {
		t.Errorf("current window = %d, want 3: a window that has not ended was lost", got[1])
	}
}
