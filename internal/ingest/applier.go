package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Applier applies the ingest log to profiles, in log order, one batch of
// records per store transaction. The batch's effects and its log position
// are committed together, so a crash neither loses nor repeats an
// operation. Updates to one profile within a batch are coalesced into one
// write.
type Applier struct {
	store  brazen.UserStore
	logger *slog.Logger
	now    func() time.Time
	cache  *profileCache

	pos  atomic.Int64
	wake chan struct{}

	mu       sync.Mutex    // guards advanced
	advanced chan struct{} // closed and replaced whenever pos moves

	// Applied counts operations applied (for the benchmark and metrics).
	Applied atomic.Int64
}

// ApplierOptions tunes an Applier.
type ApplierOptions struct {
	CacheSize int              // profiles kept in memory; 0: 20,000
	Now       func() time.Time // nil: time.Now
}

// A batch (one store transaction) applies about batchOps operations, read
// from the log readChunk records at a time. Larger batches apply faster
// (16,384: ~17,400 objects/s on mix B against ~15,000) but hold more in
// memory (1M profiles × 20 attributes: 1.46 GiB peak RSS against 640 MiB);
// docs/benchmarks.md has the runs.
const (
	batchOps  = 4096
	readChunk = 64
)

// NewApplier returns an Applier starting at the store's applied position.
func NewApplier(ctx context.Context, store brazen.UserStore, logger *slog.Logger, o ApplierOptions) (*Applier, error) {
	pos, err := store.AppliedPosition(ctx)
	if err != nil {
		return nil, err
	}
	if o.CacheSize == 0 {
		o.CacheSize = 20_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Applier{store: store, logger: logger, now: o.Now, cache: newProfileCache(o.CacheSize),
		wake: make(chan struct{}, 1), advanced: make(chan struct{})}
	a.pos.Store(pos)
	return a, nil
}

// Position returns the sequence number of the newest applied record.
func (a *Applier) Position() int64 { return a.pos.Load() }

// Wake tells the applier that new records are in the log.
func (a *Applier) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// WaitFor waits until every record up to seq is applied, or ctx ends.
func (a *Applier) WaitFor(ctx context.Context, seq int64) error {
	for {
		a.mu.Lock()
		ch := a.advanced
		a.mu.Unlock()
		if a.pos.Load() >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *Applier) setPosition(seq int64) {
	a.pos.Store(seq)
	a.mu.Lock()
	close(a.advanced)
	a.advanced = make(chan struct{})
	a.mu.Unlock()
}

// decoded is a batch of log records with their operations decoded.
type decoded struct {
	last int64  // sequence number of the batch's last record
	ops  [][]Op // per record; nil for a record that could not be decoded
	err  error  // reading failed
}

// read reads and decodes the log from position from onwards, one batch
// ahead of the applier, so decoding overlaps with applying. A batch holds
// up to batchOps operations (whatever the records' sizes), which bounds the
// memory a batch and its overlay take.
func (a *Applier) read(ctx context.Context, from int64, out chan<- decoded) {
	defer close(out)
	pos := from
	for ctx.Err() == nil {
		d := decoded{last: pos}
		n := 0
		for n < batchOps {
			recs, err := a.store.ReadLog(ctx, d.last, readChunk)
			if err != nil {
				select {
				case out <- decoded{err: err}:
				case <-ctx.Done():
				}
				return
			}
			for _, r := range recs {
				var ops []Op
				if err := json.Unmarshal(r.Data, &ops); err != nil {
					// Our own encoding: this is a bug, not bad input. Skip the
					// record rather than stop applying everything after it.
					a.logger.Error("undecodable ingest log record skipped", "seq", r.Seq, "err", err)
				}
				d.ops = append(d.ops, ops)
				d.last = r.Seq
				n += len(ops)
			}
			if len(recs) < readChunk {
				break
			}
		}
		if len(d.ops) == 0 {
			select {
			case <-a.wake:
			case <-time.After(250 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		select {
		case out <- d:
		case <-ctx.Done():
			return
		}
		pos = d.last
	}
}

// Run applies the log until ctx ends.
func (a *Applier) Run(ctx context.Context) {
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		rctx, stop := context.WithCancel(ctx)
		batches := make(chan decoded, 2)
		go a.read(rctx, a.pos.Load(), batches)
		var err error
		for d := range batches {
			if err = d.err; err == nil {
				err = a.apply(ctx, d)
			}
			if err != nil {
				break
			}
			backoff = 10 * time.Millisecond
		}
		stop()
		for range batches { // let the reader finish
		}
		if err == nil || ctx.Err() != nil {
			continue
		}
		// Start again from the last applied position after a pause.
		a.logger.Error("applying the ingest log; retrying", "position", a.pos.Load(), "err", err)
		a.cache.clear() // the failed batch may have changed cached profiles
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (a *Applier) apply(ctx context.Context, d decoded) error {
	var b *batch
	var n int64
	err := a.store.Apply(ctx, func(tx brazen.UserTx) (int64, error) {
		b = newBatch(ctx, tx, a.cache, a.now())
		n = 0
		if err := b.prefetch(d.ops); err != nil {
			return 0, err
		}
		for _, ops := range d.ops {
			for i := range ops {
				if err := b.apply(&ops[i]); err != nil {
					return 0, err
				}
				n++
			}
		}
		if err := b.flush(); err != nil {
			return 0, err
		}
		return d.last, nil
	})
	if err != nil {
		return err
	}
	for id, e := range b.dirty {
		if e.deleted {
			a.cache.remove(id)
		} else {
			a.cache.put(e.p)
		}
	}
	a.Applied.Add(n)
	a.setPosition(d.last)
	return nil
}

// profileCache keeps recently used profiles in memory, so a profile updated
// again soon is not read and decoded from the store. It is only touched by
// the applier's goroutine.
type profileCache struct {
	max int
	m   map[string]*brazen.Profile
}

func newProfileCache(max int) *profileCache {
	return &profileCache{max: max, m: make(map[string]*brazen.Profile)}
}

func (c *profileCache) get(id string) *brazen.Profile { return c.m[id] }
func (c *profileCache) remove(id string)              { delete(c.m, id) }
func (c *profileCache) clear()                        { clear(c.m) }

func (c *profileCache) put(p *brazen.Profile) {
	if len(c.m) >= c.max {
		// Evict about a tenth, at random (map order): cheap, and good
		// enough for a write-behind cache whose misses cost one read.
		n := c.max / 10
		for id := range c.m {
			delete(c.m, id)
			if n--; n <= 0 {
				break
			}
		}
	}
	c.m[p.BrazeID] = p
}
