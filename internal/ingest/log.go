package ingest

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Log appends operations to the store's ingest log with group commit: the
// requests that arrive while one commit is being made to disk share the next
// one, so one fsync acknowledges many requests.
type Log struct {
	store brazen.IngestLog
	reqs  chan *appendReq
	head  atomic.Int64 // newest sequence number appended
	wake  func()       // told after every commit (the applier's nudge)

	// Observe, if set, is told how long each group commit took and how
	// many records it held.
	Observe func(d time.Duration, records int)
}

type appendReq struct {
	data []byte
	seq  int64
	err  error
	done chan struct{}
}

// maxBatch bounds one group commit.
const maxBatch = 1024

// NewLog returns a Log over store. wake, if not nil, is called after every
// commit.
func NewLog(store brazen.IngestLog, head int64, wake func()) *Log {
	l := &Log{store: store, reqs: make(chan *appendReq, maxBatch), wake: wake}
	l.head.Store(head)
	return l
}

// Head returns the newest sequence number appended.
func (l *Log) Head() int64 { return l.head.Load() }

// Append writes ops as one record and returns its sequence number once the
// record is durable.
func (l *Log) Append(ctx context.Context, ops []Op) (int64, error) {
	data, err := json.Marshal(ops)
	if err != nil {
		return 0, err
	}
	r := &appendReq{data: data, done: make(chan struct{})}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Once queued the record will be committed or fail; wait for the
	// outcome even if the caller gives up, so that an acknowledgement is
	// never sent for a record that is not durable and vice versa.
	<-r.done
	return r.seq, r.err
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
	data := make([][]byte, len(batch))
	for i, r := range batch {
		data[i] = r.data
	}
	start := time.Now()
	first, err := l.store.AppendLog(ctx, data)
	if l.Observe != nil {
		l.Observe(time.Since(start), len(batch))
	}
	// The head moves before anyone is told: a read that follows an
	// acknowledgement must wait for that record.
	if err == nil {
		l.head.Store(first + int64(len(batch)) - 1)
	}
	for i, r := range batch {
		r.seq, r.err = first+int64(i), err
		close(r.done)
	}
	if err == nil && l.wake != nil {
		l.wake()
	}
}
