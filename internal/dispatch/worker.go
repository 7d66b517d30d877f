// Package dispatch turns a send into delivery jobs and delivers them: the
// jobs are stored in the durable queue (brazen.JobStore) before the API
// answers, and workers on every node claim them with leases, deliver them
// through the channels, retry transient failures with backoff and keep a
// dead-letter record of the others.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel"
	"github.com/brazenhq/brazen/internal/channel/email"
	"github.com/brazenhq/brazen/internal/config"
	"github.com/brazenhq/brazen/internal/ratelimit"
)

// Deliverer delivers one job's payload through its channel. Its errors
// are classified by channel.IsPermanent.
type Deliverer interface {
	Deliver(ctx context.Context, job brazen.Job) error
}

// payload decodes a job's rendered message; a payload that does not
// decode is a permanent failure (retrying cannot mend it).
func payload[T any](j brazen.Job) (T, error) {
	var v T
	if err := json.Unmarshal(j.Payload, &v); err != nil {
		return v, channel.Permanentf("decoding the job's payload: %v", err)
	}
	return v, nil
}

// Workers claim and deliver jobs until their context ends.
type Workers struct {
	store      brazen.JobStore
	deliverers map[string]Deliverer
	logger     *slog.Logger
	o          WorkerOptions
	wake       chan struct{}

	// Delivered, Retried and Dead count outcomes (for metrics and tests).
	Delivered, Retried, Dead atomic.Int64
}

// WorkerOptions tunes the workers; zero values take the defaults.
type WorkerOptions struct {
	Node        string        // names this process's workers in leases
	Concurrency int           // deliveries in flight; default 256
	LeaseTTL    time.Duration // a claimed job's lease; default 1 min
	MaxAttempts int           // attempts before a transient failure is final; default 8
	BaseBackoff time.Duration // first retry delay, doubled each attempt (±20%); default 1 s
	MaxBackoff  time.Duration // default 10 min
	Poll        time.Duration // how often idle workers look for jobs; default 250 ms
	// Rates cap each channel's deliveries, counted by Limiter (cluster-wide
	// when it is a ratelimit.Cluster); a channel without a rate is not
	// capped.
	Rates   map[string]ratelimit.Limit
	Limiter ratelimit.Limiter
}

// NewWorkers returns workers delivering the channels of deliverers.
func NewWorkers(store brazen.JobStore, deliverers map[string]Deliverer, logger *slog.Logger, o WorkerOptions) *Workers {
	if o.Concurrency <= 0 {
		o.Concurrency = 256
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Node == "" {
		o.Node = fmt.Sprintf("node-%08x", rand.Uint32())
	}
	return &Workers{store: store, deliverers: deliverers, logger: logger, o: o, wake: make(chan struct{}, 1)}
}

// Wake tells idle workers that jobs were enqueued.
func (w *Workers) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends; deliveries in flight then finish (each is
// bounded by the lease's time) and their outcomes are recorded, so that
// none is cut off between the provider's acceptance and its record.
//
// A few claimers each lease a batch of jobs as soon as the node has room
// for a batch more in flight (Concurrency), and hand each job to a
// goroutine of its own; deliveries are recorded by one recorder, which
// commits all the deliveries that finished meanwhile in one transaction
// (a group commit). A node thus spends a store write per batch claimed
// and one per group of deliveries, not one per message.
func (w *Workers) Run(ctx context.Context) {
	channels := make([]string, 0, len(w.deliverers))
	for c := range w.deliverers {
		channels = append(channels, c)
	}
	batch := min(w.o.Concurrency, claimBatch)
	claimers := max(min(w.o.Concurrency/claimBatch, maxClaimers), 1)
	slots := make(chan struct{}, w.o.Concurrency)
	rec := &recorder{w: w, wake: make(chan struct{}, 1)}
	recDone := make(chan struct{})
	go func() { rec.run(); close(recDone) }()
	var claimersWG, deliveries sync.WaitGroup
	for range claimers {
		claimersWG.Go(func() { w.loop(ctx, channels, batch, slots, rec, &deliveries) })
	}
	claimersWG.Wait()
	deliveries.Wait()
	rec.close()
	<-recDone
}

// claimBatch is the most jobs one claim leases; maxClaimers bounds the
// claims in flight at once.
const (
	claimBatch  = 64
	maxClaimers = 4
)

// loop claims jobs while there is room for them, and delivers each in a
// goroutine of its own holding one of the slots.
func (w *Workers) loop(ctx context.Context, channels []string, batch int, slots chan struct{}, rec *recorder, deliveries *sync.WaitGroup) {
	idle := false
	for ctx.Err() == nil {
		if idle {
			select {
			case <-w.wake:
			case <-time.After(w.o.Poll):
			case <-ctx.Done():
				return
			}
		}
		// Reserve a batch's slots before claiming, so that claimed jobs
		// start at once rather than wait out their lease.
		for i := range batch {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for range i {
					<-slots
				}
				return
			}
		}
		jobs, err := w.store.ClaimJobs(ctx, w.o.Node, channels, batch, w.o.LeaseTTL)
		for range batch - len(jobs) {
			<-slots
		}
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Warn("claiming delivery jobs", "worker", w.o.Node, "err", err)
			}
			idle = true
			continue
		}
		idle = len(jobs) == 0
		release := func() { <-slots }
		for _, j := range jobs {
			deliveries.Go(func() {
				dctx := context.WithoutCancel(ctx)
				if err := w.attempt(dctx, j); err != nil {
					w.settle(dctx, w.o.Node, j, err)
					release()
					return
				}
				// The slot is held until the delivery is recorded: a
				// node never has more than Concurrency deliveries that a
				// crash would repeat.
				rec.add(j.ID, release)
			})
		}
	}
}

// recorder records deliveries in group commits: while one CompleteJobs
// runs, the deliveries that finish wait for the next.
type recorder struct {
	w        *Workers
	mu       sync.Mutex
	ids      []int64
	releases []func() // called once the delivery is recorded (or not)
	closed   bool
	wake     chan struct{}
}

func (r *recorder) add(id int64, release func()) {
	r.mu.Lock()
	r.ids = append(r.ids, id)
	r.releases = append(r.releases, release)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// close flushes what is pending and stops run.
func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// recordDelay lets deliveries finishing together share a commit.
const recordDelay = 5 * time.Millisecond

func (r *recorder) run() {
	for range r.wake {
		time.Sleep(recordDelay)
		r.mu.Lock()
		ids, releases, closed := r.ids, r.releases, r.closed
		r.ids, r.releases = nil, nil
		r.mu.Unlock()
		for len(ids) > 0 {
			n := min(len(ids), maxRecord)
			r.flush(ids[:n])
			ids = ids[n:]
		}
		for _, release := range releases {
			release()
		}
		if closed {
			return
		}
	}
}

// maxRecord bounds one group commit.
const maxRecord = 1024

func (r *recorder) flush(ids []int64) {
	missed, err := r.w.store.CompleteJobs(context.Background(), r.w.o.Node, ids)
	if err != nil {
		// The store is down: the leases run out and the jobs are tried
		// again, by which time the providers have them twice — the
		// window the idempotency keys are for.
		r.w.logger.Warn("recording deliveries", "jobs", len(ids), "err", err)
		return
	}
	r.w.Delivered.Add(int64(len(ids) - len(missed)))
	if len(missed) > 0 {
		r.w.logger.Warn("deliveries recorded after their leases ran out", "jobs", missed)
	}
}

// attempt delivers one job, within its lease.
func (w *Workers) attempt(ctx context.Context, j brazen.Job) error {
	d := w.deliverers[j.Channel]
	if d == nil {
		return channel.Permanentf("no deliverer for channel %q", j.Channel)
	}
	if err := w.pace(ctx, j.Channel); err != nil {
		return channel.Transientf("waiting for the %s send rate: %v", j.Channel, err)
	}
	// The attempt must end before the lease does, or another worker could
	// deliver the job again meanwhile.
	actx, cancel := context.WithTimeout(ctx, w.o.LeaseTTL*3/4)
	defer cancel()
	return d.Deliver(actx, j)
}

// rateScope is the rate limiter's scope for send rates, apart from the
// workspaces' API limits.
const rateScope = "send-rate"

// pace waits until the channel's send rate allows one more delivery. The
// wait stays within the lease: a job that cannot go before then is
// retried later.
func (w *Workers) pace(ctx context.Context, ch string) error {
	lim, ok := w.o.Rates[ch]
	if !ok || w.o.Limiter == nil {
		return nil
	}
	bucket := slices.Index(config.SendChannels, ch)
	deadline := time.Now().Add(w.o.LeaseTTL / 2)
	for {
		now := time.Now()
		d := w.o.Limiter.Take(rateScope, bucket, lim, now)
		if d.Allowed {
			return nil
		}
		next := time.Unix(d.Reset, 0)
		if next.After(deadline) {
			return fmt.Errorf("over %s until %s", lim, next.Format(time.RFC3339))
		}
		select {
		case <-time.After(next.Sub(now) + time.Duration(rand.IntN(50))*time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// settle records a failed attempt: dead if permanent or the last allowed,
// else pending again after a backoff.
func (w *Workers) settle(ctx context.Context, worker string, j brazen.Job, err error) {
	var rerr error
	if channel.IsPermanent(err) || j.Attempts >= w.o.MaxAttempts {
		msg := err.Error()
		if !channel.IsPermanent(err) {
			msg = fmt.Sprintf("%s (gave up after %d attempts)", msg, j.Attempts)
		}
		outcome := brazen.OutcomeFailed
		if errors.Is(err, email.ErrHardBounce) || errors.Is(err, channel.ErrInvalidToken) {
			outcome = brazen.OutcomeBounced
		}
		rerr = w.store.FailJob(ctx, worker, j.ID, outcome, msg)
		w.Dead.Add(1)
		w.logger.Warn("delivery failed for good", "channel", j.Channel, "dispatch_id", j.DispatchID,
			"braze_id", j.BrazeID, "attempts", j.Attempts, "err", err)
	} else {
		delay := max(w.backoff(j.Attempts), channel.RetryAfter(err))
		rerr = w.store.RetryJob(ctx, worker, j.ID, time.Now().Add(delay), err.Error())
		w.Retried.Add(1)
		w.logger.Info("delivery failed; will retry", "channel", j.Channel, "dispatch_id", j.DispatchID,
			"braze_id", j.BrazeID, "attempts", j.Attempts, "retry_in", delay.Round(time.Millisecond), "err", err)
	}
	if rerr != nil {
		// The lease ran out (another worker has the job) or the store is
		// down: the job is retried by its lease's expiry either way.
		w.logger.Warn("recording a delivery's outcome", "job", j.ID, "err", rerr)
	}
}

// backoff is the delay before attempt n+1: BaseBackoff doubled per
// attempt, at most MaxBackoff, with ±20% jitter so that retries of one
// outage do not arrive together.
func (w *Workers) backoff(attempts int) time.Duration {
	d := w.o.BaseBackoff << min(max(attempts-1, 0), 20)
	d = min(d, w.o.MaxBackoff)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
