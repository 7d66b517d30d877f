package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/pgtest"
	"github.com/brazenhq/brazen/internal/postgres"
)

// BenchmarkEnqueueClaimComplete is the delivery queue's whole path for one
// dispatch chunk: 1,000 jobs of 1 KiB enqueued in one call, then claimed
// 100 at a time and completed one by one, as a worker does.
func BenchmarkEnqueueClaimComplete(b *testing.B) {
	db, err := postgres.Open(b.Context(), pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	benchmarkJobs(b, db)
}

// benchmarkJobs runs the benchmark on a store. internal/sqlite's jobs_test.go
// holds the same function: test packages cannot share code.
func benchmarkJobs(b *testing.B, js brazen.JobStore) {
	const enqueueBatch, claimBatch = 1000, 100
	ctx := b.Context()
	payload := make([]byte, 1024)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	jobs := make([]brazen.Job, enqueueBatch)
	var enqueueTime, claimTime, completeTime time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := fmt.Sprint("dispatch", i)
		for k := range jobs {
			u := fmt.Sprintf("user%06d", k)
			jobs[k] = brazen.Job{Key: d + "/" + u + "/email", DispatchID: d, Channel: "email", BrazeID: u, Payload: payload}
		}
		start := time.Now()
		if n, err := js.EnqueueJobs(ctx, jobs); err != nil || n != enqueueBatch {
			b.Fatalf("EnqueueJobs = %d, %v", n, err)
		}
		enqueueTime += time.Since(start)
		for done := 0; done < enqueueBatch; {
			start = time.Now()
			claimed, err := js.ClaimJobs(ctx, "bench", []string{"email"}, claimBatch, time.Minute)
			if err != nil || len(claimed) == 0 {
				b.Fatalf("ClaimJobs = %d jobs, %v", len(claimed), err)
			}
			claimTime += time.Since(start)
			start = time.Now()
			for _, j := range claimed {
				if err := js.CompleteJob(ctx, "bench", j.ID); err != nil {
					b.Fatal(err)
				}
			}
			completeTime += time.Since(start)
			done += len(claimed)
		}
	}
	jobsDone := float64(b.N * enqueueBatch)
	b.ReportMetric(jobsDone/b.Elapsed().Seconds(), "jobs/s")
	b.ReportMetric(jobsDone/enqueueTime.Seconds(), "enqueued/s")
	b.ReportMetric(jobsDone/claimTime.Seconds(), "claimed/s")
	b.ReportMetric(jobsDone/completeTime.Seconds(), "completed/s")
}
