package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.JobStore = (*DB)(nil)

// Leases and enqueue times are the database's clock (dbNow), read once per
// statement through a CTE: a constant for the statement is also what lets
// the claim's "not_before <= now" bound an index scan.

const jobColumns = "id, key, dispatch_id, channel, braze_id, state, attempts, not_before, last_error, created_at, updated_at, payload"

func scanJob(row pgx.Row) (brazen.Job, error) {
	var j brazen.Job
	var notBefore, created, updated int64
	err := row.Scan(&j.ID, &j.Key, &j.DispatchID, &j.Channel, &j.BrazeID, &j.State, &j.Attempts,
		&notBefore, &j.LastError, &created, &updated, &j.Payload)
	j.NotBefore, j.CreatedAt, j.UpdatedAt = fromMillis(&notBefore), fromMillis(&created), fromMillis(&updated)
	return j, err
}

func collectJobs(rows pgx.Rows, err error) ([]brazen.Job, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (brazen.Job, error) { return scanJob(row) })
}

// EnqueueJobs inserts the new jobs in one statement. Rows are inserted in
// key order, so that two calls enqueuing the same keys at once (two nodes
// resuming one dispatch) wait for each other in the same order rather than
// deadlock; the ids follow that order.
func (db *DB) EnqueueJobs(ctx context.Context, jobs []brazen.Job) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	for _, j := range jobs {
		if j.Key == "" {
			return 0, brazen.Errorf(brazen.EINVALID, "a job of dispatch %q for user %q has no key", j.DispatchID, j.BrazeID)
		}
	}
	sorted := slices.SortedStableFunc(slices.Values(jobs), func(a, b brazen.Job) int { return strings.Compare(a.Key, b.Key) })
	n := len(sorted)
	keys, dispatches, channels, users := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	notBefore, payloads := make([]*int64, n), make([][]byte, n)
	for i, j := range sorted {
		keys[i], dispatches[i], channels[i], users[i] = j.Key, j.DispatchID, j.Channel, j.BrazeID
		if !j.NotBefore.IsZero() {
			ms := millis(j.NotBefore)
			notBefore[i] = &ms
		}
		payloads[i] = j.Payload
		if payloads[i] == nil {
			payloads[i] = []byte{} // nil would be NULL
		}
	}
	tag, err := db.pool.Exec(ctx, `WITH now AS (SELECT `+dbNow+` AS ms)
		INSERT INTO jobs (key, dispatch_id, channel, braze_id, state, not_before, created_at, updated_at, payload)
		SELECT u.key, u.dispatch_id, u.channel, u.braze_id, 'pending', coalesce(u.not_before, now.ms), now.ms, now.ms, u.payload
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bytea[])
			WITH ORDINALITY AS u(key, dispatch_id, channel, braze_id, not_before, payload, ord), now
		ORDER BY u.ord
		ON CONFLICT (key) DO NOTHING`, keys, dispatches, channels, users, notBefore, payloads)
	if err != nil {
		return 0, unavailable(conflict(fmt.Errorf("enqueuing jobs: %w", err), "jobs were enqueued at the same time"))
	}
	return int(tag.RowsAffected()), nil
}

// ClaimJobs picks and leases jobs in one statement. FOR UPDATE SKIP LOCKED
// makes concurrent claims pass over each other's picks instead of waiting
// for them; a pick whose row changed meanwhile is checked again against
// the conditions, so a job is never leased twice.
func (db *DB) ClaimJobs(ctx context.Context, worker string, channels []string, limit int, ttl time.Duration) ([]brazen.Job, error) {
	if ttl < time.Millisecond {
		return nil, brazen.Errorf(brazen.EINVALID, "a job lease of %v: it must last at least 1ms", ttl)
	}
	if limit <= 0 {
		return nil, nil
	}
	args := []any{worker, ttl.Milliseconds(), limit}
	var byChannel string
	switch len(channels) {
	case 0:
	case 1:
		// "= ANY" of one element would not keep the index's order.
		byChannel = " AND channel = $4"
		args = append(args, channels[0])
	default:
		byChannel = " AND channel = ANY($4)"
		args = append(args, channels)
	}
	rows, err := db.pool.Query(ctx, `WITH now AS (SELECT `+dbNow+` AS ms),
		picked AS MATERIALIZED (
			SELECT id, not_before FROM jobs
			WHERE state IN ('pending', 'leased') AND not_before <= (SELECT ms FROM now)`+byChannel+`
			ORDER BY not_before, id LIMIT $3
			FOR UPDATE SKIP LOCKED),
		claimed AS (
			UPDATE jobs j SET state = 'leased', worker = $1, attempts = j.attempts + 1,
				not_before = (SELECT ms FROM now) + $2, updated_at = (SELECT ms FROM now)
			FROM picked WHERE j.id = picked.id
			RETURNING j.*, picked.not_before AS was_due)
		SELECT `+jobColumns+` FROM claimed ORDER BY was_due, id`, args...)
	jobs, err := collectJobs(rows, err)
	if err != nil {
		return nil, unavailable(fmt.Errorf("claiming jobs: %w", err))
	}
	return jobs, nil
}

// CompleteJob marks a job leased to worker done and records its outcome.
func (db *DB) CompleteJob(ctx context.Context, worker string, id int64) error {
	missed, err := db.CompleteJobs(ctx, worker, []int64{id})
	if err != nil || len(missed) == 0 {
		return err
	}
	return db.whyNotLeased(ctx, worker, id, "completing")
}

// CompleteJobs marks the jobs leased to worker among ids done and records
// their outcomes, in one statement.
func (db *DB) CompleteJobs(ctx context.Context, worker string, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `WITH now AS (SELECT `+dbNow+` AS ms),
		done AS (
			UPDATE jobs SET state = 'done', updated_at = (SELECT ms FROM now)
			WHERE id = ANY($1) AND state = 'leased' AND worker = $2
			RETURNING id, dispatch_id, channel, braze_id, updated_at AS at,
				CASE WHEN channel = ANY($3) THEN '`+brazen.OutcomeDelivered+`' ELSE '`+brazen.OutcomeSent+`' END AS outcome),
		ev AS (
			INSERT INTO message_events (at, dispatch_id, channel, braze_id, outcome)
			SELECT at, dispatch_id, channel, braze_id, outcome FROM done),
		st AS (`+statsUpsert("done")+`)
		SELECT id FROM done`, ids, worker, brazen.DeliveredChannels)
	if err != nil {
		return nil, unavailable(fmt.Errorf("completing jobs: %w", err))
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, unavailable(conflict(fmt.Errorf("completing jobs: %w", err), "counters changed meanwhile"))
	}
	set := make(map[int64]bool, len(done))
	for _, id := range done {
		set[id] = true
	}
	var missed []int64
	for _, id := range ids {
		if !set[id] {
			missed = append(missed, id)
		}
	}
	return missed, nil
}

// RetryJob puts a job leased to worker back in the queue.
func (db *DB) RetryJob(ctx context.Context, worker string, id int64, notBefore time.Time, lastErr string) error {
	var at *int64
	if !notBefore.IsZero() {
		ms := millis(notBefore)
		at = &ms
	}
	return db.finishJob(ctx, worker, id, "retrying",
		`UPDATE jobs SET state = 'pending', not_before = coalesce($3, `+dbNow+`), last_error = $4, updated_at = `+dbNow+`
		WHERE id = $1 AND state = 'leased' AND worker = $2`, at, brazen.CleanJobError(lastErr))
}

// FailJob marks a job leased to worker dead and records the outcome, in
// one statement.
func (db *DB) FailJob(ctx context.Context, worker string, id int64, outcome, lastErr string) error {
	lastErr = brazen.CleanJobError(lastErr)
	var got int64
	err := db.pool.QueryRow(ctx, `WITH dead AS (
			UPDATE jobs SET state = 'dead', last_error = $3, updated_at = `+dbNow+`
			WHERE id = $1 AND state = 'leased' AND worker = $2
			RETURNING id, dispatch_id, channel, braze_id, updated_at AS at, $4::text AS outcome),
		ev AS (
			INSERT INTO message_events (at, dispatch_id, channel, braze_id, outcome, detail)
			SELECT at, dispatch_id, channel, braze_id, outcome, $3 FROM dead),
		st AS (`+statsUpsert("dead")+`)
		SELECT id FROM dead`, id, worker, lastErr, outcome).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return db.whyNotLeased(ctx, worker, id, "failing")
	}
	if err != nil {
		return unavailable(conflict(fmt.Errorf("failing job %d: %w", id, err), "the job changed meanwhile"))
	}
	return nil
}

// finishJob runs update, whose first two parameters are the job's id and
// worker, and tells why it changed nothing.
func (db *DB) finishJob(ctx context.Context, worker string, id int64, what, update string, args ...any) error {
	tag, err := db.pool.Exec(ctx, update, append([]any{id, worker}, args...)...)
	if err != nil {
		return unavailable(conflict(fmt.Errorf("%s job %d: %w", what, id, err), "the job changed meanwhile"))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return db.whyNotLeased(ctx, worker, id, what)
}

// whyNotLeased tells why a job could not be finished by worker.
func (db *DB) whyNotLeased(ctx context.Context, worker string, id int64, what string) error {
	var state string
	var holder *string
	err := db.pool.QueryRow(ctx, "SELECT state, worker FROM jobs WHERE id = $1", id).Scan(&state, &holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return brazen.Errorf(brazen.ENOTFOUND, "no job %d", id)
	}
	if err != nil {
		return unavailable(fmt.Errorf("%s job %d: %w", what, id, err))
	}
	e := brazen.Errorf(brazen.ECONFLICT, "job %d is not leased to worker %s", id, worker)
	if state == brazen.JobLeased && holder != nil {
		e.Details = []string{"its lease ran out and worker " + *holder + " claimed it"}
	} else {
		e.Details = []string{"it is " + state}
	}
	return e
}

// stateCondition is the condition on a job's state for a listing (none
// for ""). The state is written into the SQL, checked, rather than passed
// as a parameter, so that the planner can use jobs_dead for dead letters.
func stateCondition(state string) ([]string, error) {
	switch state {
	case "":
		return nil, nil
	case brazen.JobPending, brazen.JobLeased, brazen.JobDone, brazen.JobDead:
		return []string{"state = '" + state + "'"}, nil
	}
	return nil, brazen.Errorf(brazen.EINVALID, "no job state %q: it is one of pending, leased, done, dead", state)
}

// Jobs lists jobs matching f, newest first.
func (db *DB) Jobs(ctx context.Context, f brazen.JobFilter, limit int) ([]brazen.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	// Only the filter's fields become conditions, so that the plan fits
	// them.
	conds, err := stateCondition(f.State)
	if err != nil {
		return nil, err
	}
	var args []any
	for _, c := range []struct{ column, value string }{
		{"dispatch_id", f.DispatchID}, {"channel", f.Channel}, {"braze_id", f.BrazeID},
	} {
		if c.value != "" {
			args = append(args, c.value)
			conds = append(conds, c.column+" = $"+strconv.Itoa(len(args)))
		}
	}
	query := "SELECT " + jobColumns + " FROM jobs"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, limit)
	query += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := db.pool.Query(ctx, query, args...)
	jobs, err := collectJobs(rows, err)
	if err != nil {
		return nil, unavailable(fmt.Errorf("listing jobs: %w", err))
	}
	return jobs, nil
}

// JobCounts counts a dispatch's jobs, or all jobs, by state.
func (db *DB) JobCounts(ctx context.Context, dispatchID string) (map[string]int, error) {
	query, args := "SELECT state, count(*) FROM jobs GROUP BY state", []any(nil)
	if dispatchID != "" {
		query, args = "SELECT state, count(*) FROM jobs WHERE dispatch_id = $1 GROUP BY state", []any{dispatchID}
	}
	counts := map[string]int{brazen.JobPending: 0, brazen.JobLeased: 0, brazen.JobDone: 0, brazen.JobDead: 0}
	rows, err := db.pool.Query(ctx, query, args...)
	if err == nil {
		var state string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
			counts[state] = n
			return nil
		})
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("counting jobs: %w", err))
	}
	return counts, nil
}
