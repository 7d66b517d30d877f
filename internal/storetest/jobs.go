package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/brazenhq/brazen/internal/brazen"
)

// jobTests check brazen.JobStore, the delivery queue: a message is stored
// once however often it is enqueued, and while a worker's lease holds no
// other worker gets its job.
var jobTests = []storeTest{
	{"EnqueueIdempotent", testJobsEnqueueIdempotent},
	{"EnqueueRefusesEmptyKey", testJobsEnqueueRefusesEmptyKey},
	{"ClaimOrderAndLimit", testJobsClaimOrderAndLimit},
	{"ClaimByChannel", testJobsClaimByChannel},
	{"NotBefore", testJobsNotBefore},
	{"LeaseExclusive", testJobsLeaseExclusive},
	{"ExpiredLease", testJobsExpiredLease},
	{"LeaseRule", testJobsLeaseRule},
	{"CompleteMany", testJobsCompleteMany},
	{"RetryAfterBackoff", testJobsRetryAfterBackoff},
	{"FailIsDead", testJobsFailIsDead},
	{"ListFilterLimitOrder", testJobsList},
	{"Counts", testJobsCounts},
}

// newJob is a job of dispatch d for user u on channel c, keyed as the
// dispatcher keys them.
func newJob(d, u, c string) brazen.Job {
	return brazen.Job{Key: d + "/" + u + "/" + c, DispatchID: d, Channel: c, BrazeID: u,
		Payload: fmt.Appendf(nil, `{"to":%q}`, u)}
}

func enqueue(t *testing.T, js brazen.JobStore, jobs ...brazen.Job) int {
	t.Helper()
	n, err := js.EnqueueJobs(t.Context(), jobs)
	if err != nil {
		t.Fatalf("EnqueueJobs(%d jobs): %v", len(jobs), err)
	}
	return n
}

// enqueueEach enqueues jobs one call each, so that they are claimed in
// this order.
func enqueueEach(t *testing.T, js brazen.JobStore, jobs ...brazen.Job) {
	t.Helper()
	for _, j := range jobs {
		if n := enqueue(t, js, j); n != 1 {
			t.Fatalf("EnqueueJobs(%s) = %d new, want 1", j.Key, n)
		}
	}
}

func claim(t *testing.T, js brazen.JobStore, worker string, channels []string, limit int, ttl time.Duration) []brazen.Job {
	t.Helper()
	jobs, err := js.ClaimJobs(t.Context(), worker, channels, limit, ttl)
	if err != nil {
		t.Fatalf("ClaimJobs(%s, %v, %d): %v", worker, channels, limit, err)
	}
	return jobs
}

// claimOne claims a job the test knows is claimable.
func claimOne(t *testing.T, js brazen.JobStore, worker string, ttl time.Duration) brazen.Job {
	t.Helper()
	jobs := claim(t, js, worker, nil, 1, ttl)
	if len(jobs) != 1 {
		t.Fatalf("ClaimJobs(%s) got %d jobs, want 1", worker, len(jobs))
	}
	return jobs[0]
}

// claimWithin claims until worker gets a job, for up to d: leases and
// backoffs end by the store's clock, which may not be the test's.
func claimWithin(t *testing.T, js brazen.JobStore, worker string, ttl, d time.Duration) brazen.Job {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if jobs := claim(t, js, worker, nil, 1, ttl); len(jobs) > 0 {
			return jobs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("ClaimJobs(%s): no job claimable within %v", worker, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listJobs(t *testing.T, js brazen.JobStore, f brazen.JobFilter, limit int) []brazen.Job {
	t.Helper()
	jobs, err := js.Jobs(t.Context(), f, limit)
	if err != nil {
		t.Fatalf("Jobs(%+v, %d): %v", f, limit, err)
	}
	return jobs
}

// storedJob reads one job back by its key.
func storedJob(t *testing.T, js brazen.JobStore, key string) brazen.Job {
	t.Helper()
	for _, j := range listJobs(t, js, brazen.JobFilter{}, 10_000) {
		if j.Key == key {
			return j
		}
	}
	t.Fatalf("no job %s stored", key)
	return brazen.Job{}
}

func jobKeys(jobs []brazen.Job) []string {
	keys := make([]string, len(jobs))
	for i, j := range jobs {
		keys[i] = j.Key
	}
	return keys
}

// aboutNow reports whether a store's time is within a few seconds of the
// test's clock (PostgreSQL's clock is the server's).
func aboutNow(at time.Time, offset time.Duration) bool {
	want := time.Now().Add(offset)
	return at.After(want.Add(-5*time.Second)) && at.Before(want.Add(5*time.Second))
}

// leaseTTL outlasts any test: a lease that must hold.
const leaseTTL = time.Hour

func testJobsEnqueueIdempotent(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	big := bytes.Repeat([]byte{0, 0xff, '{', 'é'}, 4096) // 16 KiB, not UTF-8: payloads are bytes
	a, b, c := newJob("d1", "u1", "email"), newJob("d1", "u2", "email"), newJob("d1", "u1", "sms")
	b.Payload = big
	c.Payload = nil
	if n := enqueue(t, js, a, b, c); n != 3 {
		t.Errorf("first EnqueueJobs = %d new, want 3", n)
	}
	// The same dispatch again (a retried request), with another payload:
	// nothing changes. A key twice in one call counts once.
	again := a
	again.Payload = []byte(`{"to":"someone else"}`)
	d := newJob("d1", "u3", "email")
	if n := enqueue(t, js, b, again, d, c, d); n != 1 {
		t.Errorf("second EnqueueJobs = %d new, want 1 (%s)", n, d.Key)
	}
	if n := enqueue(t, js); n != 0 {
		t.Errorf("EnqueueJobs of nothing = %d new", n)
	}

	want := []brazen.Job{d, b, c, a} // newest first; one call's jobs in key order
	for i := range want {
		want[i].State = brazen.JobPending
	}
	got := listJobs(t, js, brazen.JobFilter{}, 100)
	ignore := cmpopts.IgnoreFields(brazen.Job{}, "ID", "NotBefore", "CreatedAt", "UpdatedAt")
	if diff := gocmp.Diff(want, got, cmpOpts, ignore); diff != "" {
		t.Errorf("stored jobs (-want +got):\n%s", diff)
	}
	seen := map[int64]bool{}
	for _, j := range got {
		if j.ID == 0 || seen[j.ID] {
			t.Errorf("job %s has id %d: want a new non-zero id", j.Key, j.ID)
		}
		seen[j.ID] = true
		if !aboutNow(j.CreatedAt, 0) || !j.UpdatedAt.Equal(j.CreatedAt) || !j.NotBefore.Equal(j.CreatedAt) {
			t.Errorf("job %s: created %v, updated %v, not before %v; want all now", j.Key, j.CreatedAt, j.UpdatedAt, j.NotBefore)
		}
	}
}

func testJobsEnqueueRefusesEmptyKey(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	keyless := newJob("d1", "u2", "email")
	keyless.Key = ""
	_, err := js.EnqueueJobs(t.Context(), []brazen.Job{newJob("d1", "u1", "email"), keyless})
	wantCode(t, "EnqueueJobs with an empty key", err, brazen.EINVALID)
	if got := listJobs(t, js, brazen.JobFilter{}, 10); len(got) != 0 {
		t.Errorf("after a refused EnqueueJobs the store holds %v, want nothing", jobKeys(got))
	}
}

func testJobsClaimOrderAndLimit(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	enqueueEach(t, js, newJob("d1", "u1", "email"), newJob("d1", "u2", "email"))
	// One call's jobs come in key order.
	enqueue(t, js, newJob("d2", "u9", "email"), newJob("d2", "u3", "email"))
	// Claimable since an hour ago: before the others, enqueued or not.
	late := newJob("d3", "u1", "email")
	late.NotBefore = time.Now().Add(-time.Hour)
	enqueue(t, js, late)

	_, err := js.ClaimJobs(t.Context(), "w1", nil, 1, 0)
	wantCode(t, "ClaimJobs with no ttl", err, brazen.EINVALID)
	if got := claim(t, js, "w1", nil, 0, leaseTTL); len(got) != 0 {
		t.Errorf("ClaimJobs(limit 0) = %v, want nothing", jobKeys(got))
	}

	first := claim(t, js, "w1", nil, 2, time.Minute)
	rest := claim(t, js, "w2", nil, 10, time.Minute)
	none := claim(t, js, "w3", nil, 10, time.Minute)
	for _, step := range []struct {
		name string
		got  []brazen.Job
		want []string
	}{
		{"first claim", first, []string{"d3/u1/email", "d1/u1/email"}},
		{"second claim", rest, []string{"d1/u2/email", "d2/u3/email", "d2/u9/email"}},
		{"third claim", none, nil},
	} {
		if diff := gocmp.Diff(step.want, jobKeys(step.got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: keys (-want +got):\n%s", step.name, diff)
		}
	}
	for _, j := range append(first, rest...) {
		if j.State != brazen.JobLeased || j.Attempts != 1 || !aboutNow(j.NotBefore, time.Minute) || !aboutNow(j.UpdatedAt, 0) {
			t.Errorf("claimed %s: state %s, attempts %d, not before %v, updated %v; want leased, 1, now + 1m, now",
				j.Key, j.State, j.Attempts, j.NotBefore, j.UpdatedAt)
		}
		if want := fmt.Sprintf(`{"to":%q}`, j.BrazeID); string(j.Payload) != want {
			t.Errorf("claimed %s: payload %s, want %s", j.Key, j.Payload, want)
		}
		stored := storedJob(t, js, j.Key)
		if diff := gocmp.Diff(j, stored, cmpOpts); diff != "" {
			t.Errorf("claimed %s differs from its stored state (-claimed +stored):\n%s", j.Key, diff)
		}
	}
}

func testJobsClaimByChannel(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	enqueueEach(t, js,
		newJob("d1", "u1", "email"), newJob("d1", "u1", "sms"), newJob("d1", "u1", "webhook"),
		newJob("d1", "u2", "email"), newJob("d1", "u2", "sms"), newJob("d1", "u2", "webhook"),
	)
	steps := []struct {
		channels []string
		limit    int
		want     []string
	}{
		{[]string{"sms"}, 10, []string{"d1/u1/sms", "d1/u2/sms"}},
		{[]string{"apple_push"}, 10, nil},
		{[]string{"webhook", "email"}, 3, []string{"d1/u1/email", "d1/u1/webhook", "d1/u2/email"}},
		{nil, 10, []string{"d1/u2/webhook"}},
	}
	for _, step := range steps {
		got := claim(t, js, "w", step.channels, step.limit, leaseTTL)
		if diff := gocmp.Diff(step.want, jobKeys(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ClaimJobs(%v, %d) keys (-want +got):\n%s", step.channels, step.limit, diff)
		}
	}
}

func testJobsNotBefore(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	later := newJob("d1", "u1", "email")
	later.NotBefore = time.Now().Add(time.Hour).Truncate(time.Millisecond)
	due := newJob("d1", "u2", "email")
	due.NotBefore = time.Now().Add(-time.Minute)
	enqueue(t, js, later, due)

	if got := claim(t, js, "w", nil, 10, leaseTTL); !slices.Equal(jobKeys(got), []string{due.Key}) {
		t.Errorf("ClaimJobs = %v, want only %s: %s is not due for an hour", jobKeys(got), due.Key, later.Key)
	}
	stored := storedJob(t, js, later.Key)
	if stored.State != brazen.JobPending || !stored.NotBefore.Equal(later.NotBefore) {
		t.Errorf("job not due: state %s, not before %v; want pending, %v", stored.State, stored.NotBefore, later.NotBefore)
	}
}

// testJobsLeaseExclusive is workers on several nodes claiming at once:
// while leases hold, every job goes to exactly one of them.
func testJobsLeaseExclusive(t *testing.T, s brazen.Store) {
	const (
		jobs    = 200
		workers = 8
		batch   = 5
	)
	js := brazen.JobStore(s)
	all := make([]brazen.Job, jobs)
	for i := range all {
		all[i] = newJob("d1", fmt.Sprintf("u%03d", i), "email")
	}
	if n := enqueue(t, js, all...); n != jobs {
		t.Fatalf("EnqueueJobs = %d new, want %d", n, jobs)
	}
	var (
		wg      sync.WaitGroup
		claimed [workers][]brazen.Job
		errs    [workers]error
	)
	for w := range workers {
		wg.Go(func() {
			for {
				got, err := js.ClaimJobs(t.Context(), fmt.Sprint("worker-", w), nil, batch, leaseTTL)
				if err != nil {
					errs[w] = err
					return
				}
				if len(got) > batch {
					errs[w] = fmt.Errorf("claimed %d jobs, limit %d", len(got), batch)
					return
				}
				if len(got) == 0 {
					return
				}
				claimed[w] = append(claimed[w], got...)
			}
		})
	}
	wg.Wait()
	by := map[string]string{} // job key → worker
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v", w, errs[w])
		}
		for _, j := range claimed[w] {
			if other, ok := by[j.Key]; ok {
				t.Errorf("job %s claimed by worker-%d and %s", j.Key, w, other)
			}
			by[j.Key] = fmt.Sprint("worker-", w)
			if j.Attempts != 1 {
				t.Errorf("job %s: attempts %d, want 1", j.Key, j.Attempts)
			}
		}
	}
	if len(by) != jobs {
		t.Errorf("%d distinct jobs claimed, want %d", len(by), jobs)
	}
	if got := claim(t, js, "late", nil, jobs, leaseTTL); len(got) != 0 {
		t.Errorf("a claim while every lease holds got %v", jobKeys(got))
	}
	counts, err := js.JobCounts(t.Context(), "")
	if err != nil {
		t.Fatalf("JobCounts: %v", err)
	}
	if counts[brazen.JobLeased] != jobs {
		t.Errorf("JobCounts = %v, want %d leased", counts, jobs)
	}
}

// testJobsExpiredLease is a worker that stalls past its lease: another
// takes the job over, and the first can no longer settle it.
func testJobsExpiredLease(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	enqueue(t, js, newJob("d1", "u1", "email"))
	first := claimOne(t, js, "slow", 500*time.Millisecond)
	if got := claim(t, js, "fast", nil, 1, leaseTTL); len(got) != 0 {
		t.Fatalf("ClaimJobs while the lease holds got %v", jobKeys(got))
	}
	second := claimWithin(t, js, "fast", leaseTTL, 10*time.Second)
	if second.ID != first.ID || second.Attempts != 2 {
		t.Errorf("reclaimed job %d with %d attempts, want job %d with 2", second.ID, second.Attempts, first.ID)
	}
	wantCode(t, "CompleteJob by the worker whose lease expired", js.CompleteJob(t.Context(), "slow", first.ID), brazen.ECONFLICT)
	wantCode(t, "RetryJob by the worker whose lease expired",
		js.RetryJob(t.Context(), "slow", first.ID, time.Time{}, "timeout"), brazen.ECONFLICT)
	wantCode(t, "FailJob by the worker whose lease expired", js.FailJob(t.Context(), "slow", first.ID, brazen.OutcomeFailed, "timeout"), brazen.ECONFLICT)
	if j := storedJob(t, js, first.Key); j.State != brazen.JobLeased || j.Attempts != 2 || j.LastError != "" {
		t.Errorf("after the refused calls the job is %s with %d attempts, error %q; want leased, 2, none", j.State, j.Attempts, j.LastError)
	}
	if err := js.CompleteJob(t.Context(), "fast", second.ID); err != nil {
		t.Fatalf("CompleteJob by the new holder: %v", err)
	}
	if j := storedJob(t, js, first.Key); j.State != brazen.JobDone {
		t.Errorf("after CompleteJob the job is %s, want done", j.State)
	}

	// A lease that ran out with nobody claiming the job since still lets
	// its worker settle it: sending it again would be the duplicate.
	enqueue(t, js, newJob("d1", "u2", "email"))
	late := claimOne(t, js, "slow", time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if err := js.CompleteJob(t.Context(), "slow", late.ID); err != nil {
		t.Errorf("CompleteJob after the lease ran out, nobody else claiming: %v", err)
	}
	if got := claim(t, js, "fast", nil, 10, leaseTTL); len(got) != 0 {
		t.Errorf("ClaimJobs after every job is done got %v", jobKeys(got))
	}
}

// testJobsLeaseRule: only the holder settles a job, once.
func testJobsLeaseRule(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	js := brazen.JobStore(s)
	enqueue(t, js, newJob("d1", "u1", "email"), newJob("d1", "u2", "email"))
	held := claimOne(t, js, "w1", leaseTTL)
	pending := storedJob(t, js, "d1/u2/email")

	// The calls run in this order, as the literal is evaluated.
	steps := []struct {
		name string
		err  error
		code string
	}{
		{"CompleteJob by another worker", js.CompleteJob(ctx, "w2", held.ID), brazen.ECONFLICT},
		{"RetryJob by another worker", js.RetryJob(ctx, "w2", held.ID, time.Time{}, "x"), brazen.ECONFLICT},
		{"FailJob by another worker", js.FailJob(ctx, "w2", held.ID, brazen.OutcomeFailed, "x"), brazen.ECONFLICT},
		{"CompleteJob of a pending job", js.CompleteJob(ctx, "w1", pending.ID), brazen.ECONFLICT},
		{"CompleteJob of an unknown job", js.CompleteJob(ctx, "w1", held.ID+pending.ID+1000), brazen.ENOTFOUND},
		{"RetryJob of an unknown job", js.RetryJob(ctx, "w1", -1, time.Time{}, "x"), brazen.ENOTFOUND},
		{"CompleteJob by the holder", js.CompleteJob(ctx, "w1", held.ID), ""},
		{"CompleteJob again", js.CompleteJob(ctx, "w1", held.ID), brazen.ECONFLICT},
		{"FailJob of a done job", js.FailJob(ctx, "w1", held.ID, brazen.OutcomeFailed, "x"), brazen.ECONFLICT},
	}
	for _, step := range steps {
		wantCode(t, step.name, step.err, step.code)
	}
	if j := storedJob(t, js, held.Key); j.State != brazen.JobDone || j.LastError != "" {
		t.Errorf("job %s is %s with error %q, want done without one", j.Key, j.State, j.LastError)
	}
}

func testJobsRetryAfterBackoff(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	js := brazen.JobStore(s)
	enqueue(t, js, newJob("d1", "u1", "email"))
	j := claimOne(t, js, "w1", leaseTTL)
	backoff := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	if err := js.RetryJob(ctx, "w1", j.ID, backoff, "421 4.7.0 try again later"); err != nil {
		t.Fatalf("RetryJob: %v", err)
	}
	stored := storedJob(t, js, j.Key)
	if stored.State != brazen.JobPending || !stored.NotBefore.Equal(backoff) || stored.LastError != "421 4.7.0 try again later" || stored.Attempts != 1 {
		t.Errorf("after RetryJob: %s, not before %v, error %q, %d attempts; want pending, %v, the error, 1",
			stored.State, stored.NotBefore, stored.LastError, stored.Attempts, backoff)
	}
	wantCode(t, "RetryJob twice", js.RetryJob(ctx, "w1", j.ID, backoff, "again"), brazen.ECONFLICT)
	var again brazen.Job
	if got := claim(t, js, "w2", nil, 1, leaseTTL); len(got) == 0 {
		again = claimWithin(t, js, "w2", leaseTTL, 10*time.Second)
	} else if again = got[0]; time.Now().Before(backoff) {
		t.Errorf("ClaimJobs during the backoff got %v", jobKeys(got))
	}
	if again.ID != j.ID || again.Attempts != 2 || again.LastError != "421 4.7.0 try again later" {
		t.Errorf("claimed after the backoff: job %d, %d attempts, error %q; want job %d, 2, the first error",
			again.ID, again.Attempts, again.LastError, j.ID)
	}
	// A zero time retries at once.
	if err := js.RetryJob(ctx, "w2", j.ID, time.Time{}, "connection reset"); err != nil {
		t.Fatalf("RetryJob(now): %v", err)
	}
	third := claimOne(t, js, "w3", leaseTTL)
	if third.Attempts != 3 || third.LastError != "connection reset" {
		t.Errorf("third claim: %d attempts, error %q; want 3, connection reset", third.Attempts, third.LastError)
	}
}

func testJobsFailIsDead(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	js := brazen.JobStore(s)
	enqueue(t, js, newJob("d1", "u1", "email"), newJob("d1", "u2", "email"))
	j := claimOne(t, js, "w1", 50*time.Millisecond)
	// Providers' answers end up in errors; the store keeps any of them.
	reason := "550 5.1.1 no such user \x00 \xff"
	if err := js.FailJob(ctx, "w1", j.ID, brazen.OutcomeFailed, reason); err != nil {
		t.Fatalf("FailJob: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // past the lease it had
	for range 3 {
		for _, got := range claim(t, js, "w2", nil, 10, leaseTTL) {
			if got.ID == j.ID {
				t.Fatalf("dead job %s was claimed again", j.Key)
			}
		}
	}
	dead := listJobs(t, js, brazen.JobFilter{State: brazen.JobDead}, 10)
	if len(dead) != 1 || dead[0].ID != j.ID || dead[0].Attempts != 1 {
		t.Fatalf("dead jobs = %+v, want job %d with 1 attempt", dead, j.ID)
	}
	if want := brazen.CleanJobError(reason); dead[0].LastError != want {
		t.Errorf("dead job's error = %q, want %q", dead[0].LastError, want)
	}
	if want := "550 5.1.1 no such user \uFFFD \uFFFD"; brazen.CleanJobError(reason) != want {
		t.Errorf("CleanJobError(%q) = %q, want %q", reason, brazen.CleanJobError(reason), want)
	}
	wantCode(t, "CompleteJob of a dead job", js.CompleteJob(ctx, "w1", j.ID), brazen.ECONFLICT)
	// The dispatch's key stays taken: enqueuing it again sends nothing.
	if n := enqueue(t, js, newJob("d1", "u1", "email")); n != 0 {
		t.Errorf("re-enqueuing a dead job's key = %d new, want 0", n)
	}
}

func testJobsList(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	// Oldest first, so that "newest first" is the reverse.
	enqueueEach(t, js,
		newJob("d1", "u1", "email"),   // done
		newJob("d1", "u1", "sms"),     // dead
		newJob("d1", "u2", "email"),   // leased
		newJob("d2", "u1", "email"),   // pending
		newJob("d2", "u2", "webhook"), // pending
	)
	settle(t, js)

	tests := []struct {
		name  string
		f     brazen.JobFilter
		limit int
		want  []string
	}{
		{"All", brazen.JobFilter{}, 100, []string{"d2/u2/webhook", "d2/u1/email", "d1/u2/email", "d1/u1/sms", "d1/u1/email"}},
		{"Limit", brazen.JobFilter{}, 2, []string{"d2/u2/webhook", "d2/u1/email"}},
		{"ZeroLimit", brazen.JobFilter{}, 0, nil},
		{"Dispatch", brazen.JobFilter{DispatchID: "d1"}, 100, []string{"d1/u2/email", "d1/u1/sms", "d1/u1/email"}},
		{"Channel", brazen.JobFilter{Channel: "email"}, 100, []string{"d2/u1/email", "d1/u2/email", "d1/u1/email"}},
		{"State", brazen.JobFilter{State: brazen.JobPending}, 100, []string{"d2/u2/webhook", "d2/u1/email"}},
		{"DeadLetters", brazen.JobFilter{State: brazen.JobDead}, 100, []string{"d1/u1/sms"}},
		{"User", brazen.JobFilter{BrazeID: "u1"}, 100, []string{"d2/u1/email", "d1/u1/sms", "d1/u1/email"}},
		{"Combined", brazen.JobFilter{DispatchID: "d1", Channel: "email", State: brazen.JobDone, BrazeID: "u1"}, 100, []string{"d1/u1/email"}},
		{"CombinedLimit", brazen.JobFilter{DispatchID: "d1", BrazeID: "u1"}, 1, []string{"d1/u1/sms"}},
		{"NoMatch", brazen.JobFilter{DispatchID: "d3"}, 100, nil},
	}
	for _, tt := range tests {
		got := listJobs(t, js, tt.f, tt.limit)
		if diff := gocmp.Diff(tt.want, jobKeys(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: Jobs(%+v, %d) keys (-want +got):\n%s", tt.name, tt.f, tt.limit, diff)
		}
	}
	_, err := js.Jobs(t.Context(), brazen.JobFilter{State: "failed"}, 10)
	wantCode(t, "Jobs with an unknown state", err, brazen.EINVALID)

	states := map[string]string{}
	for _, j := range listJobs(t, js, brazen.JobFilter{}, 100) {
		states[j.Key] = j.State
	}
	want := map[string]string{
		"d1/u1/email": brazen.JobDone, "d1/u1/sms": brazen.JobDead, "d1/u2/email": brazen.JobLeased,
		"d2/u1/email": brazen.JobPending, "d2/u2/webhook": brazen.JobPending,
	}
	if diff := gocmp.Diff(want, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// settle takes dispatch d1's three jobs (the oldest) to done, dead and
// leased.
func settle(t *testing.T, js brazen.JobStore) {
	t.Helper()
	ctx := t.Context()
	jobs := claim(t, js, "w", nil, 3, leaseTTL)
	if got := jobKeys(jobs); !slices.Equal(got, []string{"d1/u1/email", "d1/u1/sms", "d1/u2/email"}) {
		t.Fatalf("claimed %v, want dispatch d1's jobs", got)
	}
	if err := js.CompleteJob(ctx, "w", jobs[0].ID); err != nil {
		t.Fatalf("CompleteJob: %v", err)
	}
	if err := js.FailJob(ctx, "w", jobs[1].ID, brazen.OutcomeFailed, "invalid number"); err != nil {
		t.Fatalf("FailJob: %v", err)
	}
}

func testJobsCounts(t *testing.T, s brazen.Store) {
	js := brazen.JobStore(s)
	zero := map[string]int{brazen.JobPending: 0, brazen.JobLeased: 0, brazen.JobDone: 0, brazen.JobDead: 0}
	counts := func(dispatch string) map[string]int {
		t.Helper()
		got, err := js.JobCounts(t.Context(), dispatch)
		if err != nil {
			t.Fatalf("JobCounts(%q): %v", dispatch, err)
		}
		return got
	}
	if diff := gocmp.Diff(zero, counts("")); diff != "" {
		t.Errorf("JobCounts of an empty queue (-want +got):\n%s", diff)
	}
	enqueueEach(t, js,
		newJob("d1", "u1", "email"), newJob("d1", "u1", "sms"), newJob("d1", "u2", "email"),
		newJob("d2", "u1", "email"), newJob("d2", "u2", "webhook"),
	)
	settle(t, js)
	tests := []struct {
		dispatch string
		want     map[string]int
	}{
		{"", map[string]int{brazen.JobPending: 2, brazen.JobLeased: 1, brazen.JobDone: 1, brazen.JobDead: 1}},
		{"d1", map[string]int{brazen.JobPending: 0, brazen.JobLeased: 1, brazen.JobDone: 1, brazen.JobDead: 1}},
		{"d2", map[string]int{brazen.JobPending: 2, brazen.JobLeased: 0, brazen.JobDone: 0, brazen.JobDead: 0}},
		{"d3", zero},
	}
	for _, tt := range tests {
		if diff := gocmp.Diff(tt.want, counts(tt.dispatch)); diff != "" {
			t.Errorf("JobCounts(%q) (-want +got):\n%s", tt.dispatch, diff)
		}
	}
}

// testJobsCompleteMany: CompleteJobs completes the jobs the worker holds
// and names the others, in one call.
func testJobsCompleteMany(t *testing.T, s brazen.Store) {
	ctx := t.Context()
	js := brazen.JobStore(s)
	enqueue(t, js, newJob("d1", "u1", "email"), newJob("d1", "u2", "email"), newJob("d1", "u3", "email"), newJob("d1", "u4", "email"))
	mine := claim(t, js, "w1", nil, 2, leaseTTL)
	theirs := claim(t, js, "w2", nil, 1, leaseTTL)
	if len(mine) != 2 || len(theirs) != 1 {
		t.Fatalf("claimed %d and %d jobs", len(mine), len(theirs))
	}
	pending := storedJob(t, js, "d1/u4/email")
	missed, err := js.CompleteJobs(ctx, "w1", []int64{mine[0].ID, theirs[0].ID, mine[1].ID, pending.ID, -7})
	if err != nil {
		t.Fatalf("CompleteJobs: %v", err)
	}
	if want := []int64{theirs[0].ID, pending.ID, -7}; !slices.Equal(missed, want) {
		t.Errorf("CompleteJobs missed %v, want %v (in the order given)", missed, want)
	}
	for _, j := range mine {
		if got := storedJob(t, js, j.Key); got.State != brazen.JobDone {
			t.Errorf("%s is %s, want done", j.Key, got.State)
		}
	}
	if got := storedJob(t, js, theirs[0].Key); got.State != brazen.JobLeased {
		t.Errorf("another worker's job is %s, want still leased", got.State)
	}
	if missed, err := js.CompleteJobs(ctx, "w1", nil); err != nil || len(missed) != 0 {
		t.Errorf("CompleteJobs of nothing = %v, %v", missed, err)
	}
}
