// Package usage counts the REST API's requests per minute, route and
// status in memory and adds the counts to the store every few seconds,
// where the console's API usage charts read them (all nodes' counts add
// up there).
package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// Retention is how long counts are kept.
const Retention = 30 * 24 * time.Hour

// skipped routes are not Braze API calls: health checks and scrapes would
// drown the charts.
var skipped = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /openapi.json": true}

type key struct {
	minute int64
	route  string
	status int
}

// Recorder counts requests and flushes the counts to the store.
type Recorder struct {
	store  brazen.UsageStore
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	counts map[key]int64
}

// New returns a Recorder.
func New(store brazen.UsageStore, logger *slog.Logger) *Recorder {
	return &Recorder{store: store, logger: logger, now: time.Now, counts: map[key]int64{}}
}

// Count counts one answered request of the REST listener; others are
// ignored. It is httpx.Metrics.OnRequest.
func (r *Recorder) Count(listener, route string, status int) {
	if listener != "rest" || skipped[route] {
		return
	}
	k := key{r.now().Unix() / 60 * 60, route, status}
	r.mu.Lock()
	r.counts[k]++
	r.mu.Unlock()
}

// Flush adds the counts so far to the store. Counts the store refuses are
// kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	pending := r.counts
	r.counts = map[key]int64{}
	r.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	out := make([]brazen.APIUsage, 0, len(pending))
	for k, n := range pending {
		out = append(out, brazen.APIUsage{Minute: time.Unix(k.minute, 0).UTC(), Route: k.route, Status: k.status, Count: n})
	}
	if err := r.store.AddAPIUsage(ctx, out); err != nil {
		r.mu.Lock()
		for k, n := range pending {
			r.counts[k] += n
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more; once an hour
// it removes counts older than Retention.
func (r *Recorder) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			if err := r.Flush(context.WithoutCancel(ctx)); err != nil {
				r.logger.Warn("recording API usage", "err", err)
			}
			return
		case <-t.C:
		}
		if err := r.Flush(ctx); err != nil {
			r.logger.Warn("recording API usage", "err", err)
		}
		if now := r.now(); now.Sub(lastPrune) >= time.Hour {
			lastPrune = now
			if err := r.store.DeleteAPIUsageBefore(ctx, now.Add(-Retention)); err != nil {
				r.logger.Warn("removing old API usage", "err", err)
			}
		}
	}
}
