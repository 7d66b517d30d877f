package brazen

import (
	"context"
	"strings"
	"time"
)

// Job is one message to deliver: one (dispatch, user, channel). Jobs are
// stored before /messages/send answers, so that a crash loses none, and
// their Key is unique, so that enqueuing a dispatch twice (a retried
// request, a node resuming another's work) sends nothing twice.
type Job struct {
	ID         int64  // assigned by the store
	Key        string // idempotency key, unique: e.g. dispatch_id + "/" + braze_id + "/" + channel
	DispatchID string
	Channel    string // "email", "webhook", "apple_push", "android_push", "sms", "content_card"
	BrazeID    string
	Payload    []byte // the rendered message, channel-specific JSON
	State      string // JobPending, JobLeased, JobDone, JobDead
	Attempts   int    // claims so far, this one included
	// NotBefore is when the job may be claimed: the end of its backoff
	// while pending, the end of its lease while leased.
	NotBefore time.Time
	LastError string // of the latest failed attempt; kept once the job is done
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Job states.
const (
	JobPending = "pending" // waiting for a worker (NotBefore may be ahead)
	JobLeased  = "leased"  // a worker holds it until NotBefore
	JobDone    = "done"    // delivered
	JobDead    = "dead"    // failed for good: the dead-letter record
)

// JobFilter selects jobs for inspection; a zero field matches any value.
type JobFilter struct {
	DispatchID, Channel, State string
	BrazeID                    string
}

// JobStore is the durable delivery queue. Workers on any node claim jobs
// with a lease; a worker that dies lets its lease run out, and the job goes
// to another. A worker names itself (a distinct name per claiming goroutine
// of each process): the name is what holds a lease.
//
// Times are the store's clock: Go's on SQLite, the database server's on
// PostgreSQL, so that nodes whose clocks differ agree on when a lease ends.
// A last error is kept as CleanJobError makes it.
type JobStore interface {
	// EnqueueJobs stores jobs, pending, in one transaction and returns how
	// many were new: a job whose Key is stored already (or given earlier
	// in the same call) is skipped, not an error. Only Key, DispatchID,
	// Channel, BrazeID, Payload and NotBefore are read; a zero NotBefore
	// means now. Key must not be empty (EINVALID).
	EnqueueJobs(ctx context.Context, jobs []Job) (int, error)
	// ClaimJobs leases up to limit claimable jobs — pending and due, or
	// leased with an expired lease — of the given channels (all if none)
	// to worker for ttl, and returns them leased, with Attempts counting
	// this claim. Oldest first: by when they became claimable (NotBefore),
	// then in the order they were enqueued (one call's jobs in Key order).
	// Two workers never get the same job while its lease holds. A limit
	// below 1 claims nothing; ttl must be at least a millisecond (EINVALID).
	ClaimJobs(ctx context.Context, worker string, channels []string, limit int, ttl time.Duration) ([]Job, error)
	// CompleteJob marks a job done and records the event of its
	// AcceptedOutcome (see MessageStore). It fails with ECONFLICT unless the job
	// is leased to worker: its lease ran out and another worker claimed it.
	// (A lease that ran out but that nobody claimed since still counts:
	// completing it then sends nothing twice.) An unknown id is ENOTFOUND.
	CompleteJob(ctx context.Context, worker string, id int64) error
	// CompleteJobs marks many jobs done in one transaction, each under the
	// same rule as CompleteJob, and returns the ids it could not complete
	// (not leased to worker, or unknown); the others are done.
	CompleteJobs(ctx context.Context, worker string, ids []int64) (missed []int64, err error)
	// RetryJob puts a job back, pending, for another attempt not before
	// notBefore (zero: now), recording lastErr. Same lease rule.
	RetryJob(ctx context.Context, worker string, id int64, notBefore time.Time, lastErr string) error
	// FailJob marks a job dead (a permanent failure, or attempts
	// exhausted) with lastErr, and records the event of outcome
	// (OutcomeFailed or OutcomeBounced) with lastErr as its detail; it is
	// never claimed again. Same lease rule.
	FailJob(ctx context.Context, worker string, id int64, outcome, lastErr string) error
	// Jobs lists up to limit jobs matching f, newest (highest ID) first.
	// A State that is not a job state is EINVALID.
	Jobs(ctx context.Context, f JobFilter, limit int) ([]Job, error)
	// JobCounts counts a dispatch's jobs ("" = every job) by state; every
	// state is in the map, 0 if it has none.
	JobCounts(ctx context.Context, dispatchID string) (map[string]int, error)
}

// CleanJobError is a job's last error as stores keep it: valid UTF-8
// without NUL bytes (each invalid sequence or NUL becomes U+FFFD). The text
// often quotes a provider's answer, and PostgreSQL refuses both in text: a
// worker must always be able to record why an attempt failed.
func CleanJobError(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
