package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// BenchmarkJobs is the delivery queue's whole path for one dispatch chunk,
// on a store: 1,000 jobs of 1 KiB enqueued in one call, then claimed 100 at
// a time and completed together, as a worker does. Each backend's
// BenchmarkEnqueueClaimComplete runs it.
func BenchmarkJobs(b *testing.B, js brazen.JobStore) {
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
			ids := make([]int64, len(claimed))
			for k, j := range claimed {
				ids[k] = j.ID
			}
			if missed, err := js.CompleteJobs(ctx, "bench", ids); err != nil || len(missed) > 0 {
				b.Fatalf("CompleteJobs: missed %v, %v", missed, err)
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
