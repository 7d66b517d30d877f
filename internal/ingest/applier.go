package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Applier applies one partition of the ingest log to profiles, in log
// order, one batch of records per store transaction, for as long as its
// lease holds. The batch's effects and its log position are committed
// together, so a crash neither loses nor repeats an operation. Updates to
// one profile within a batch are coalesced into one write.
type Applier struct {
	store  brazen.UserStore
	logger *slog.Logger
	now    func() time.Time
	cache  *profileCache
	lease  brazen.Lease
	pos    *positions

	wake    chan struct{}
	applied *atomic.Int64 // operations applied, shared by the node's appliers
}

// ApplierOptions tunes the appliers.
type ApplierOptions struct {
	CacheSize int              // profiles kept in memory per node; 0: 20,000
	Now       func() time.Time // nil: time.Now
	// Node names this process in the store's leases; "" picks a random
	// name. LeaseTTL is how long a lease lasts without renewal (0: 5 s):
	// a dead node's partitions are taken over after about that long.
	Node     string
	LeaseTTL time.Duration
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

// Wake tells the applier that new records are in the log.
func (a *Applier) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// decoded is a batch of log records with their operations decoded.
type decoded struct {
	last int64   // sequence number of the batch's last record
	ops  [][]Op  // per record; nil for a record that could not be decoded
	seqs []int64 // per record
	err  error   // reading failed
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
		var blocked *brazen.LogRecord // the first record whose turn has not come
	fill:
		for n < batchOps {
			recs, err := a.store.ReadLog(ctx, a.lease.Partition, d.last, readChunk)
			if err != nil {
				select {
				case out <- decoded{err: err}:
				case <-ctx.Done():
				}
				return
			}
			for _, r := range recs {
				if !a.ready(r) {
					blocked = &r
					break fill
				}
				var ops []Op
				if err := json.Unmarshal(r.Data, &ops); err != nil {
					// Our own encoding: this is a bug, not bad input. Skip the
					// record rather than stop applying everything after it.
					a.logger.Error("undecodable ingest log record skipped", "seq", r.Seq, "err", err)
				}
				d.ops = append(d.ops, ops)
				d.seqs = append(d.seqs, r.Seq)
				d.last = r.Seq
				n += len(ops)
			}
			if len(recs) < readChunk {
				break
			}
		}
		if len(d.ops) == 0 {
			if blocked != nil {
				a.waitReady(ctx, *blocked)
				continue
			}
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

// ready says whether a record's turn has come: whether the writes
// appended before it that it must follow are applied. A record of partition
// 0 (aliases, identify, merge, renames, writes by alias, braze_id, email or
// phone) follows everything appended before it; a record of a hashed
// partition (writes by external id) follows partition 0's records appended
// before it. So a client that waits for each acknowledgement sees its
// writes applied in order whichever partitions they fall in, while writes
// by external id to different users never wait for one another.
func (a *Applier) ready(r brazen.LogRecord) bool {
	for q, h := range r.After {
		if q == r.Partition || (r.Partition != 0 && q != 0) {
			continue
		}
		if a.pos.appliedAt(q) < h {
			return false
		}
	}
	return true
}

// waitReady waits until r's turn has come (see ready), asking the store
// how far other nodes got while it waits for a partition applied
// elsewhere.
func (a *Applier) waitReady(ctx context.Context, r brazen.LogRecord) {
	for ctx.Err() == nil {
		ch := a.pos.changed()
		if a.ready(r) {
			return
		}
		var poll <-chan time.Time
		for q := range r.After {
			if q != r.Partition && a.pos.owned[q].Load() == nil {
				poll = time.After(remotePoll)
				break
			}
		}
		select {
		case <-ch:
		case <-poll:
			if applied, err := a.store.AppliedPositions(ctx); err == nil {
				a.pos.merge(nil, applied)
			}
		case <-ctx.Done():
		}
	}
}

// Run applies the partition until ctx ends or the lease is lost.
func (a *Applier) Run(ctx context.Context) {
	backoff := 10 * time.Millisecond
	p := a.lease.Partition
	for ctx.Err() == nil {
		rctx, stop := context.WithCancel(ctx)
		batches := make(chan decoded, 2)
		go a.read(rctx, a.pos.appliedAt(p), batches)
		var err error
		for d := range batches {
			if err = d.err; err == nil {
				err = a.apply(ctx, d)
				if brazen.ErrorCode(err) == brazen.EINVALID {
					a.cache.clear()
					err = a.applyEach(ctx, d)
				}
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
		a.cache.clear() // the failed batch may have changed cached profiles
		if errors.Is(err, brazen.ErrLeaseLost) {
			a.logger.Info("ingest log partition taken over by another node", "partition", p)
			return
		}
		if brazen.ErrorCode(err) == brazen.ECONFLICT {
			// Another partition's applier wrote a profile this batch read:
			// apply the batch again over fresh reads, at once.
			a.logger.Debug("ingest batch collided with another partition; retrying", "partition", p, "err", err)
			continue
		}
		// Start again from the last applied position after a pause.
		a.logger.Error("applying the ingest log; retrying", "partition", p, "position", a.pos.appliedAt(p), "err", err)
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
	err := a.store.Apply(ctx, a.lease, func(tx brazen.UserTx) (int64, error) {
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
	a.applied.Add(n)
	a.pos.setApplied(a.lease.Partition, d.last)
	return nil
}

// applyEach applies a batch the store refused as invalid one record at a
// time, and skips, with an error in the log, a record the store refuses on
// its own (data a backend cannot keep: the API refuses what it knows of,
// such as the NUL character, so this is the last line of defence). One bad
// record must not stop its partition for good.
func (a *Applier) applyEach(ctx context.Context, d decoded) error {
	for i, ops := range d.ops {
		one := decoded{last: d.seqs[i], ops: [][]Op{ops}, seqs: d.seqs[i : i+1]}
		err := a.apply(ctx, one)
		if brazen.ErrorCode(err) != brazen.EINVALID {
			if err != nil {
				return err
			}
			continue
		}
		a.cache.clear()
		a.logger.Error("ingest log record refused by the store; skipped", "partition", a.lease.Partition,
			"seq", d.seqs[i], "operations", len(ops), "err", err)
		if err := a.apply(ctx, decoded{last: d.seqs[i], ops: [][]Op{nil}, seqs: one.seqs}); err != nil {
			return err
		}
	}
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
