package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// DefaultSyncInterval is how often a Cluster syncs unless told otherwise.
const DefaultSyncInterval = 250 * time.Millisecond

// Cluster is a Limiter for several nodes sharing one store: the same fixed
// windows, decisions and headers as Local, counted across the cluster.
//
// Take and Peek never wait for the store. Each node decides on what it knows
// of the cluster's count for the window (the total the store returned at its
// last sync) plus its own requests since; Run sends those requests and reads
// the new totals every SyncInterval, in one AddCounts call.
//
// Tolerance: a request one node admits reaches another node's view at that
// node's second sync at the latest (its own node sends it at the next sync,
// the other node reads it at the sync after that, if their syncs are
// staggered), so a node may admit requests the others have already used for
// up to two sync intervals, plus the time a sync takes. Within one window the
// cluster may therefore admit up to N + (nodes-1) × R, where R is the most
// requests one node admits in two sync intervals; no node ever admits more
// than N itself, so the excess is also at most (nodes-1) × N. With one node
// the limit is exact. Windows follow each node's clock, so skew between
// nodes' clocks widens the tolerance around window boundaries by as much.
// The error is one-sided: what a node does not yet know of can only make it
// admit more, never fewer, than the limit allows (short of a store call that
// failed yet was applied, whose requests are then counted twice).
//
// A node that meets a window it has not counted in yet (its first request
// to a bucket, or the first after the window turned) decides that request
// on its own count and syncs at once rather than at the next tick, so it
// learns the others' count within one round trip to the store.
//
// If the store fails, each node keeps its requests to send later and goes on
// deciding with the last totals it read: the shared part fails open, so the
// cluster may then admit up to N per node, and requests never fail for it.
type Cluster struct {
	// SyncInterval is how often Run syncs; set it before calling Run.
	SyncInterval time.Duration

	store   brazen.CounterStore
	buckets int
	logger  *slog.Logger

	// mu guards the map scopes; each counter has a lock of its own. Lock
	// order: syncMu, mu, a counter's mu.
	mu     sync.RWMutex
	scopes map[string][]clusterCounter

	// kick asks Run for a sync now: a counter entered a window this node
	// knew nothing of, so it learns the other nodes' count at once instead
	// of at the next tick.
	kick chan struct{}

	syncMu   sync.Mutex // serialises syncs; guards the fields below
	outage   int        // syncs failed in a row
	warned   time.Time  // when the last warning was logged
	reported bool       // whether the current outage was warned of
}

var _ Limiter = (*Cluster)(nil)

// clusterCounter is one (scope, bucket)'s count in its current window.
type clusterCounter struct {
	mu         sync.Mutex // guards the fields below
	used       bool       // whether start and end hold a window
	start, end int64      // the window, Unix seconds
	shared     int64      // the cluster's total at the last sync, this node's synced requests included
	pending    int64      // this node's requests not yet sent
}

// NewCluster returns a Cluster for buckets 0 … buckets-1 whose counts live
// in store. Call Run to sync them.
func NewCluster(store brazen.CounterStore, buckets int, logger *slog.Logger) *Cluster {
	return &Cluster{SyncInterval: DefaultSyncInterval, store: store, buckets: buckets, logger: logger,
		scopes: make(map[string][]clusterCounter), kick: make(chan struct{}, 1)}
}

func (c *Cluster) Take(scope string, bucket int, lim Limit, now time.Time) Decision {
	return c.count(scope, bucket, lim, now, 1)
}

func (c *Cluster) Peek(scope string, bucket int, lim Limit, now time.Time) Decision {
	return c.count(scope, bucket, lim, now, 0)
}

func (c *Cluster) count(scope string, bucket int, lim Limit, now time.Time, add int64) Decision {
	start, end := windowBounds(lim, now)
	// The map's read lock is held while counting, so that a sync cannot drop
	// the scope between the lookup and the count and lose the request.
	var d Decision
	var fresh bool
	c.mu.RLock()
	if cs := c.scopes[scope]; cs != nil {
		d, fresh = cs[bucket].count(start, end, lim.N, add)
		c.mu.RUnlock()
	} else {
		c.mu.RUnlock()
		c.mu.Lock()
		cs := c.scopes[scope]
		if cs == nil {
			cs = make([]clusterCounter, c.buckets)
			c.scopes[scope] = cs
		}
		d, fresh = cs[bucket].count(start, end, lim.N, add)
		c.mu.Unlock()
	}
	if fresh {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return d
}

// count counts in the window [start, end) and reports whether the window
// is new to this node.
func (k *clusterCounter) count(start, end, n, add int64) (d Decision, fresh bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case !k.used || start > k.start || (start == k.start && end != k.end):
		// A new window: what the node had not sent of the last one no longer
		// matters to anyone.
		k.used, k.start, k.end, k.shared, k.pending = true, start, end, 0, 0
		fresh = true
	case start < k.start:
		// A request stamped just before the window turned, counted after
		// another one stamped after it: count it in the newer window, since
		// going back would lose that window's unsent requests.
		end = k.end
	}
	allowed := k.shared+k.pending < n // whether one more request fits
	if allowed {
		k.pending += add
	}
	return Decision{Allowed: allowed, Limit: n, Remaining: max(n-(k.shared+k.pending), 0), Reset: end}, fresh
}

// Run syncs every SyncInterval until ctx ends, then once more, so that the
// other nodes see this node's last requests; close the store only after Run
// has returned.
func (c *Cluster) Run(ctx context.Context) {
	t := time.NewTicker(c.SyncInterval)
	defer t.Stop()
	// A call that hangs is abandoned and retried, rather than waited on.
	timeout := max(10*c.SyncInterval, time.Second)
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.sync(fctx, time.Now())
			cancel()
			return
		case <-t.C:
		case <-c.kick:
		}
		if ctx.Err() == nil {
			sctx, cancel := context.WithTimeout(ctx, timeout)
			c.sync(sctx, time.Now())
			cancel()
		}
	}
}

// sent is what a sync sent for one counter, to settle when the store answers.
type sent struct {
	k          *clusterCounter
	start, end int64
	n          int64
}

// sync sends every counter's pending requests and reads the totals of every
// window that has not ended at now, in one AddCounts call, and drops scopes
// whose windows have all ended. Requests counted while the call is in
// flight stay pending for the next sync. If the call fails, nothing changes
// but a warning (at most one a minute): the requests are sent next time.
func (c *Cluster) sync(ctx context.Context, now time.Time) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	t := now.Unix()
	var (
		deltas []brazen.CounterDelta
		sends  []sent
		idle   []string // scopes with no window open at now
	)
	c.mu.RLock()
	for scope, cs := range c.scopes {
		live := false
		for b := range cs {
			k := &cs[b]
			k.mu.Lock()
			if k.used && k.end > t {
				live = true
				deltas = append(deltas, brazen.CounterDelta{Key: counterKey(scope, b, k.end-k.start),
					Window: k.start, Expires: k.end, N: k.pending})
				sends = append(sends, sent{k: k, start: k.start, end: k.end, n: k.pending})
			}
			k.mu.Unlock()
		}
		if !live {
			idle = append(idle, scope)
		}
	}
	c.mu.RUnlock()
	// Only this method removes scopes, and it does not remove those it is
	// sending for, so the counters in sends stay in the map.
	if len(idle) > 0 {
		c.dropIdle(idle, t)
	}
	if len(deltas) == 0 {
		return nil
	}

	totals, err := c.store.AddCounts(ctx, deltas)
	if err == nil && len(totals) != len(deltas) {
		err = fmt.Errorf("the store returned %d totals for %d counters", len(totals), len(deltas))
	}
	if err != nil {
		c.failed(ctx, now, len(deltas), err)
		return err
	}
	if c.reported {
		c.logger.Info("rate-limit counters are shared again", "failed_syncs", c.outage)
	}
	c.outage, c.reported = 0, false
	for i, s := range sends {
		s.k.mu.Lock()
		if s.k.start == s.start && s.k.end == s.end { // the window has not turned meanwhile
			s.k.shared = totals[i]
			s.k.pending -= s.n
		}
		s.k.mu.Unlock()
	}
	return nil
}

// dropIdle removes the scopes that still have no window open at t: a Take
// may have opened one since they were listed.
func (c *Cluster) dropIdle(scopes []string, t int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, scope := range scopes {
		cs := c.scopes[scope]
		live := false
		for b := range cs {
			cs[b].mu.Lock()
			live = live || (cs[b].used && cs[b].end > t)
			cs[b].mu.Unlock()
		}
		if !live {
			delete(c.scopes, scope)
		}
	}
}

func (c *Cluster) failed(ctx context.Context, now time.Time, counters int, err error) {
	c.outage++
	if errors.Is(ctx.Err(), context.Canceled) {
		return // shutting down: Run's last sync reports its own failure
	}
	if c.warned.IsZero() || now.Sub(c.warned) >= time.Minute {
		c.logger.Warn("syncing rate-limit counters; deciding on this node's counts until the store answers",
			"err", err, "counters", counters, "failed_syncs", c.outage)
		c.warned, c.reported = now, true
	}
}

// counterKey names a counter in the store. The window's length is part of
// it so that nodes configured with different windows for a bucket (during
// a rolling change) do not add up counts of different windows that happen
// to start at the same second.
func counterKey(scope string, bucket int, window int64) string {
	return scope + "/" + strconv.Itoa(bucket) + "/" + strconv.FormatInt(window, 10)
}
