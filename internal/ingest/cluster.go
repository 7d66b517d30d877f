package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// positions is what a node knows of every partition's log head and applied
// position: its own appends and appliers move them at once, and the
// coordinator merges in the store's figures (other nodes' work) at every
// lease renewal and whenever a read waits for another node.
type positions struct {
	heads   []atomic.Int64
	applied []atomic.Int64
	owned   []atomic.Pointer[Applier] // the local applier of each partition, if any

	mu       sync.Mutex    // guards advanced
	advanced chan struct{} // closed and replaced whenever an applied position moves
}

func newPositions(n int) *positions {
	return &positions{heads: make([]atomic.Int64, n), applied: make([]atomic.Int64, n),
		owned: make([]atomic.Pointer[Applier], n), advanced: make(chan struct{})}
}

func raise(v *atomic.Int64, to int64) bool {
	for {
		cur := v.Load()
		if to <= cur {
			return false
		}
		if v.CompareAndSwap(cur, to) {
			return true
		}
	}
}

func (p *positions) appended(part int, seq int64) { raise(&p.heads[part], seq) }

func (p *positions) appliedAt(part int) int64 { return p.applied[part].Load() }

func (p *positions) setApplied(part int, seq int64) {
	if raise(&p.applied[part], seq) {
		p.broadcast()
	}
}

func (p *positions) broadcast() {
	p.mu.Lock()
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.mu.Unlock()
}

func (p *positions) changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.advanced
}

// merge takes in the store's figures.
func (p *positions) merge(heads, applied []int64) {
	moved := false
	for i := range min(len(heads), len(p.heads)) {
		raise(&p.heads[i], heads[i])
	}
	for i := range min(len(applied), len(p.applied)) {
		moved = raise(&p.applied[i], applied[i]) || moved
	}
	if moved {
		p.broadcast()
	}
}

func (p *positions) wakeAppliers() {
	for i := range p.owned {
		if a := p.owned[i].Load(); a != nil {
			a.Wake()
		}
	}
}

// sums returns the total of the heads and of the applied positions. A
// head learned from the store may lag an applied position learned later:
// a partition's head is at least what is applied of it.
func (p *positions) sums() (head, applied int64) {
	for i := range p.heads {
		a := p.applied[i].Load()
		head += max(p.heads[i].Load(), a)
		applied += a
	}
	return head, applied
}

// lag is how many records wait for an applier, as far as this node knows.
func (p *positions) lag() int64 {
	var n int64
	for i := range p.heads {
		n += max(p.heads[i].Load()-p.applied[i].Load(), 0)
	}
	return n
}

// coordinator holds this node's share of the partitions' leases and runs
// an applier for each partition it holds. Every node renews its leases
// every ttl/5 and claims its fair share (partitions ÷ live nodes, rounded
// up) of the free or expired ones, releasing any above that share, so
// partitions spread over the nodes and a dead node's move to the others
// once its leases expire. Applying is fenced by the lease's epoch in the
// store, so a node that lost a lease (paused, cut off) cannot commit over
// its successor.
type coordinator struct {
	store  brazen.UserStore
	logger *slog.Logger
	node   string
	ttl    time.Duration
	pos    *positions
	start  func(lease brazen.Lease) *Applier

	running map[int]*runningApplier // by partition; only Run's goroutine touches it
	errLog  time.Time               // when a renewal failure was last logged
}

type runningApplier struct {
	a      *Applier
	cancel context.CancelFunc
	done   chan struct{}
}

func randomNode() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "node-" + hex.EncodeToString(b)
}

// Run keeps the leases until ctx ends, then stops its appliers and gives
// their partitions back, so that other nodes take them over at once.
func (c *coordinator) Run(ctx context.Context) {
	c.running = map[int]*runningApplier{}
	tick := time.NewTicker(c.ttl / 5)
	defer tick.Stop()
	for {
		c.renew(ctx)
		select {
		case <-tick.C:
		case <-ctx.Done():
			parts := slices.Collect(func(yield func(int) bool) {
				for p := range c.running {
					if !yield(p) {
						return
					}
				}
			})
			c.stop(parts)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			// Leave first, then release: a node claiming the partitions
			// no longer counts this one, so it takes them all.
			if _, err := c.store.Heartbeat(rctx, c.node, 0); err != nil {
				c.logger.Warn("leaving the cluster", "err", err)
			}
			// Every partition, not only those running: a lease claimed by a
			// renewal that failed half-way is this node's too.
			all := make([]int, len(c.pos.heads))
			for i := range all {
				all[i] = i
			}
			if err := c.store.ReleaseLeases(rctx, c.node, all); err != nil {
				c.logger.Warn("releasing ingest log leases", "err", err)
			}
			return
		}
	}
}

func (c *coordinator) renew(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, c.ttl)
	defer cancel()
	held, want, err := c.claim(rctx)
	if err != nil {
		if ctx.Err() == nil && time.Since(c.errLog) > time.Minute {
			c.errLog = time.Now()
			c.logger.Warn("renewing ingest log leases", "node", c.node, "err", err)
		}
		return
	}
	// Stop appliers whose lease is gone or changed hands and back.
	var gone []int
	for p, r := range c.running {
		i := slices.IndexFunc(held, func(l brazen.Lease) bool { return l.Partition == p })
		select {
		case <-r.done: // stopped by itself (lease lost)
			gone = append(gone, p)
			continue
		default:
		}
		if i < 0 || held[i].Epoch != r.a.lease.Epoch {
			gone = append(gone, p)
		}
	}
	c.stop(gone)
	// Give back what is above the fair share, highest partitions first.
	if extra := len(held) - want; extra > 0 {
		var release []int
		for _, l := range slices.Backward(held) {
			if len(release) == extra {
				break
			}
			release = append(release, l.Partition)
		}
		c.stop(release)
		if err := c.store.ReleaseLeases(rctx, c.node, release); err != nil {
			c.logger.Warn("releasing ingest log leases", "err", err)
		}
		held = slices.DeleteFunc(held, func(l brazen.Lease) bool { return slices.Contains(release, l.Partition) })
	}
	for _, l := range held {
		if _, ok := c.running[l.Partition]; ok {
			continue
		}
		a := c.start(l)
		actx, acancel := context.WithCancel(context.WithoutCancel(ctx))
		r := &runningApplier{a: a, cancel: acancel, done: make(chan struct{})}
		c.running[l.Partition] = r
		c.pos.owned[l.Partition].Store(a)
		go func() {
			defer close(r.done)
			a.Run(actx)
			// Stopped, maybe by itself (lease lost): reads waiting for the
			// partition now ask the store.
			c.pos.owned[a.lease.Partition].CompareAndSwap(a, nil)
		}()
		c.logger.Debug("applying ingest log partition", "node", c.node, "partition", l.Partition, "epoch", l.Epoch)
	}
}

// share is node's fair share of parts partitions among the live nodes:
// parts ÷ nodes, one more for the first parts % nodes of them in sorted
// order, so that the shares add up to parts exactly and every node gets
// some while there are no more nodes than partitions.
func share(parts int, live []string, node string) int {
	n := len(live)
	rank := slices.Index(live, node)
	if n == 0 || rank < 0 {
		return parts // not listed yet (a clock far behind?): claim freely, as a lone node would
	}
	want := parts / n
	if rank < parts%n {
		want++
	}
	return want
}

// claim renews and claims leases, then reads the store's positions, so
// that an applier started now begins where the previous owner stopped.
func (c *coordinator) claim(ctx context.Context) ([]brazen.Lease, int, error) {
	live, err := c.store.Heartbeat(ctx, c.node, c.ttl)
	if err != nil {
		return nil, 0, err
	}
	want := share(len(c.pos.heads), live, c.node)
	held, err := c.store.ClaimLeases(ctx, c.node, c.ttl, want)
	if err != nil {
		return nil, 0, err
	}
	heads, err := c.store.LogHeads(ctx)
	if err != nil {
		return nil, 0, err
	}
	applied, err := c.store.AppliedPositions(ctx)
	if err != nil {
		return nil, 0, err
	}
	c.pos.merge(heads, applied)
	return held, want, nil
}

// stop stops the appliers of partitions and waits for them.
func (c *coordinator) stop(parts []int) {
	for _, p := range parts {
		if r := c.running[p]; r != nil {
			r.cancel()
		}
	}
	for _, p := range parts {
		if r := c.running[p]; r != nil {
			<-r.done
			c.pos.owned[p].CompareAndSwap(r.a, nil)
			delete(c.running, p)
		}
	}
}
