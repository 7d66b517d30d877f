package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/channel/webhook"
	"github.com/brazenhq/brazen/internal/ratelimit"
	"github.com/brazenhq/brazen/internal/sqlite/sqlitetest"
)

func jobStore(t *testing.T) brazen.JobStore { return sqlitetest.Open(t) }

// receiver is a webhook endpoint that fails the first failures requests
// with 503 and counts deliveries by idempotency key.
type receiver struct {
	mu       sync.Mutex
	failures int
	status   int // answer after the failures; 0: 200
	byKey    map[string]int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures > 0 {
		r.failures--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if r.status != 0 {
		w.WriteHeader(r.status)
		return
	}
	r.byKey[req.Header.Get("Idempotency-Key")]++
}

func webhookJobs(t *testing.T, url string, n int) []brazen.Job {
	var jobs []brazen.Job
	for i := range n {
		payload, _ := json.Marshal(webhook.Request{Method: "POST", URL: url, Body: fmt.Sprintf(`{"user":%d}`, i)})
		jobs = append(jobs, brazen.Job{Key: fmt.Sprintf("d1/u%d/webhook", i), DispatchID: "d1", Channel: "webhook",
			BrazeID: fmt.Sprintf("u%d", i), Payload: payload})
	}
	return jobs
}

func runWorkers(t *testing.T, store brazen.JobStore, o WorkerOptions) *Workers {
	w := NewWorkers(store, map[string]Deliverer{"webhook": WebhookDeliverer{Sender: webhook.NewSender(2 * time.Second)}},
		slog.New(slog.DiscardHandler), o)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProviderRecovers: the provider answers 503 for a while, then
// recovers; every message is delivered exactly once.
func TestProviderRecovers(t *testing.T) {
	store := jobStore(t)
	rcv := &receiver{failures: 25, byKey: map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	const n = 40
	if added, err := store.EnqueueJobs(t.Context(), webhookJobs(t, srv.URL, n)); err != nil || added != n {
		t.Fatalf("EnqueueJobs = %d, %v", added, err)
	}
	w := runWorkers(t, store, WorkerOptions{Concurrency: 4, BaseBackoff: 20 * time.Millisecond, Poll: 20 * time.Millisecond})
	waitFor(t, "every job delivered", func() bool { return w.Delivered.Load() == n })
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for i := range n {
		if k := fmt.Sprintf("d1/u%d/webhook", i); rcv.byKey[k] != 1 {
			t.Errorf("%s delivered %d times, want once", k, rcv.byKey[k])
		}
	}
	counts, err := store.JobCounts(t.Context(), "d1")
	if err != nil || counts[brazen.JobDone] != n {
		t.Errorf("JobCounts = %v, %v; want %d done", counts, err, n)
	}
	if w.Retried.Load() != 25 {
		t.Errorf("retried %d attempts, want the 25 that failed", w.Retried.Load())
	}
}

// TestPermanentFailureIsDeadLettered: a 404 is not retried; the job is
// dead with the provider's answer as its last error.
func TestPermanentFailureIsDeadLettered(t *testing.T) {
	store := jobStore(t)
	srv := httptest.NewServer(&receiver{status: 404, byKey: map[string]int{}})
	defer srv.Close()
	if _, err := store.EnqueueJobs(t.Context(), webhookJobs(t, srv.URL, 3)); err != nil {
		t.Fatal(err)
	}
	w := runWorkers(t, store, WorkerOptions{Concurrency: 2, Poll: 20 * time.Millisecond})
	waitFor(t, "three dead jobs", func() bool { return w.Dead.Load() == 3 })
	dead, err := store.Jobs(t.Context(), brazen.JobFilter{State: brazen.JobDead}, 10)
	if err != nil || len(dead) != 3 || dead[0].Attempts != 1 {
		t.Fatalf("dead jobs = %+v, %v", dead, err)
	}
	if want := "HTTP 404"; !contains(dead[0].LastError, want) {
		t.Errorf("last error %q, want it to say %q", dead[0].LastError, want)
	}
}

// TestAttemptsExhausted: a provider that never recovers gets MaxAttempts
// attempts, then the job is dead.
func TestAttemptsExhausted(t *testing.T) {
	store := jobStore(t)
	srv := httptest.NewServer(&receiver{failures: 1 << 30, byKey: map[string]int{}})
	defer srv.Close()
	if _, err := store.EnqueueJobs(t.Context(), webhookJobs(t, srv.URL, 1)); err != nil {
		t.Fatal(err)
	}
	w := runWorkers(t, store, WorkerOptions{Concurrency: 1, MaxAttempts: 3, BaseBackoff: 10 * time.Millisecond, Poll: 10 * time.Millisecond})
	waitFor(t, "the job dead", func() bool { return w.Dead.Load() == 1 })
	dead, _ := store.Jobs(t.Context(), brazen.JobFilter{State: brazen.JobDead}, 1)
	if len(dead) != 1 || dead[0].Attempts != 3 || !contains(dead[0].LastError, "gave up after 3 attempts") {
		t.Errorf("dead = %+v", dead)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestSendRate: a channel's send rate holds: 25 deliveries at 10 per
// second span at least three one-second windows.
func TestSendRate(t *testing.T) {
	store := jobStore(t)
	rcv := &receiver{byKey: map[string]int{}}
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		rcv.ServeHTTP(w, r)
	}))
	defer srv.Close()
	if _, err := store.EnqueueJobs(t.Context(), webhookJobs(t, srv.URL, 25)); err != nil {
		t.Fatal(err)
	}
	w := runWorkers(t, store, WorkerOptions{Concurrency: 64, Poll: 10 * time.Millisecond,
		Rates: map[string]ratelimit.Limit{"webhook": {N: 10, Window: time.Second}}, Limiter: ratelimit.NewLocal(8)})
	waitFor(t, "every job delivered", func() bool { return w.Delivered.Load() == 25 })
	mu.Lock()
	defer mu.Unlock()
	perSecond := map[int64]int{}
	for _, at := range times {
		perSecond[at.Unix()]++
	}
	for sec, n := range perSecond {
		if n > 10 {
			t.Errorf("%d deliveries in the second %d, over the rate of 10", n, sec)
		}
	}
	if len(perSecond) < 3 {
		t.Errorf("25 deliveries at 10/s took %d windows, want at least 3", len(perSecond))
	}
}
