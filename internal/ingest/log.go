package ingest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Log appends operations to the store's ingest log with group commit: the
// requests that arrive while one commit is being made to disk share the next
// one, so one fsync acknowledges many requests.
//
// A request's operations are split by partition (see partitionOf): each
// partition is applied on its own, possibly by another node.
type Log struct {
	store brazen.IngestLog
	parts int
	reqs  chan *appendReq
	pos   *positions // heads move here after every commit

	// Observe, if set, is told how long each group commit took and how
	// many requests it held.
	Observe func(d time.Duration, requests int)
}

// Pos is where one record went: what a read that must see it waits for.
type Pos struct {
	Partition int
	Seq       int64
}

type appendReq struct {
	recs []brazen.LogRecord
	err  error
	done chan struct{}
}

// maxBatch bounds the requests of one group commit.
const maxBatch = 1024

func newLog(store brazen.IngestLog, pos *positions) *Log {
	return &Log{store: store, parts: store.Partitions(), reqs: make(chan *appendReq, maxBatch), pos: pos}
}

// partitionOf routes an operation. Operations that name their user by
// external id alone (track objects and deletes) go to the external id's
// partition, 1…n-1, so one user's writes stay in order and different
// users' writes spread over the partitions. Everything else (aliases,
// braze ids, emails, phones, identify, merge, renames) goes to partition 0,
// in order among themselves; where such an operation meets a profile that
// another partition is writing, the store's version check makes one of the
// two appliers retry (brazen.UserTx.PutProfile).
func partitionOf(op *Op, n int) int {
	if n == 1 || op.ID.ExternalID == "" {
		return 0
	}
	switch op.Kind {
	case KindAttributes, KindEvent, KindPurchase, KindDelete:
		return 1 + int(fnv64(op.ID.ExternalID)%uint64(n-1))
	}
	return 0
}

// split encodes a request's ops as log records, keeping their order where
// it matters across partitions. Ops that follow one another in the same
// kind of partition share records (one per partition); where the ops pass
// from partition 0 to the hashed partitions or back, a new run of records
// begins, so that each record comes after the ones before it in the log's
// After heads and the appliers keep the request's order (see
// Applier.ready).
func split(ops []Op, parts int) ([]brazen.LogRecord, error) {
	var recs []brazen.LogRecord
	var run [][]Op // the current run's ops, by partition
	flush := func() error {
		for p, part := range run {
			if len(part) == 0 {
				continue
			}
			data, err := json.Marshal(part)
			if err != nil {
				return err
			}
			recs = append(recs, brazen.LogRecord{Partition: p, Data: data})
		}
		run = make([][]Op, parts)
		return nil
	}
	run = make([][]Op, parts)
	zero := false // whether the current run is partition 0's
	for i := range ops {
		p := partitionOf(&ops[i], parts)
		if i > 0 && (p == 0) != zero {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		zero = p == 0
		run[p] = append(run[p], ops[i])
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return recs, nil
}

// fnv64 is FNV-1a: stable across processes, versions and machines.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Append writes ops, one record per partition they fall in, and returns
// where they went once they are durable.
func (l *Log) Append(ctx context.Context, ops []Op) ([]Pos, error) {
	r := &appendReq{done: make(chan struct{})}
	var err error
	if r.recs, err = split(ops, l.parts); err != nil {
		return nil, err
	}
	if len(r.recs) == 0 {
		return nil, nil
	}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued the record will be committed or fail; wait for the
	// outcome even if the caller gives up, so that an acknowledgement is
	// never sent for a record that is not durable and vice versa.
	<-r.done
	if r.err != nil {
		return nil, r.err
	}
	out := make([]Pos, len(r.recs))
	for i, rec := range r.recs {
		out[i] = Pos{Partition: rec.Partition, Seq: rec.Seq}
	}
	return out, nil
}

// Run commits queued records until ctx ends, then commits what is queued
// and returns.
func (l *Log) Run(ctx context.Context) {
	batch := make([]*appendReq, 0, maxBatch)
	for {
		select {
		case r := <-l.reqs:
			batch = append(batch[:0], r)
		case <-ctx.Done():
			// Drain: requests already queued are committed.
			for {
				select {
				case r := <-l.reqs:
					l.commit(context.WithoutCancel(ctx), []*appendReq{r})
				default:
					return
				}
			}
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		l.commit(context.WithoutCancel(ctx), batch)
	}
}

func (l *Log) commit(ctx context.Context, batch []*appendReq) {
	n := 0
	for _, r := range batch {
		n += len(r.recs)
	}
	recs := make([]brazen.LogRecord, 0, n)
	for _, r := range batch {
		recs = append(recs, r.recs...)
	}
	start := time.Now()
	err := l.store.AppendLog(ctx, recs)
	if l.Observe != nil {
		l.Observe(time.Since(start), len(batch))
	}
	if err == nil {
		// The heads move before anyone is told: a read that follows an
		// acknowledgement must wait for that record.
		i := 0
		for _, r := range batch {
			for j := range r.recs {
				r.recs[j].Seq = recs[i].Seq
				r.recs[j].Data = nil
				l.pos.appended(recs[i].Partition, recs[i].Seq)
				i++
			}
		}
	}
	for _, r := range batch {
		r.err = err
		close(r.done)
	}
	if err == nil {
		l.pos.wakeAppliers()
	}
}
