package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.JobStore = (*DB)(nil)

// The queue's writes go through the main file's writer (db.write): a claim
// is a read and an update in one IMMEDIATE transaction, so claims from
// several goroutines (or processes on the same file) queue for the write
// lock and never see the same job as claimable. Times are Go's clock.

const jobColumns = "id, key, dispatch_id, channel, braze_id, state, attempts, not_before, last_error, created_at, updated_at, payload"

func scanJob(s scanner) (brazen.Job, error) {
	var j brazen.Job
	var notBefore, created, updated sql.NullInt64
	err := s.Scan(&j.ID, &j.Key, &j.DispatchID, &j.Channel, &j.BrazeID, &j.State, &j.Attempts,
		&notBefore, &j.LastError, &created, &updated, &j.Payload)
	j.NotBefore, j.CreatedAt, j.UpdatedAt = fromMillis(notBefore), fromMillis(created), fromMillis(updated)
	return j, err
}

// EnqueueJobs inserts the jobs whose keys are new, in key order (the order
// in which they get their ids, on both backends).
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
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("enqueuing jobs: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO jobs (key, dispatch_id, channel, braze_id, state, not_before, created_at, updated_at, payload)
		VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("enqueuing jobs: %w", err)
	}
	defer ins.Close()
	now := millis(time.Now())
	added := 0
	for _, j := range sorted {
		notBefore := now
		if !j.NotBefore.IsZero() {
			notBefore = millis(j.NotBefore)
		}
		res, err := ins.ExecContext(ctx, j.Key, j.DispatchID, j.Channel, j.BrazeID, notBefore, now, now, nonNilBytes(j.Payload))
		if err != nil {
			return 0, fmt.Errorf("enqueuing job %s: %w", j.Key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("enqueuing job %s: %w", j.Key, err)
		}
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("enqueuing jobs: %w", err)
	}
	return added, nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ClaimJobs reads the oldest claimable jobs and leases them, in one
// transaction: nothing can change them in between.
func (db *DB) ClaimJobs(ctx context.Context, worker string, channels []string, limit int, ttl time.Duration) ([]brazen.Job, error) {
	if ttl < time.Millisecond {
		return nil, brazen.Errorf(brazen.EINVALID, "a job lease of %v: it must last at least 1ms", ttl)
	}
	if limit <= 0 {
		return nil, nil
	}
	// The WHERE clause repeats the claim indexes' own, so that SQLite can
	// use them; for one channel the index by channel keeps the order too.
	from := " FROM jobs WHERE state IN ('pending', 'leased') AND not_before <= ?"
	now := time.Now()
	args := []any{millis(now)}
	switch len(channels) {
	case 0:
	case 1:
		from += " AND channel = ?"
		args = append(args, channels[0])
	default:
		from += " AND channel IN (" + strings.Repeat("?, ", len(channels)-1) + "?)"
		for _, c := range channels {
			args = append(args, c)
		}
	}

	// An idle worker's poll only reads: it takes no write lock, so that it
	// never waits behind the applier's transactions (nor they behind it).
	var found int
	err := db.read.QueryRowContext(ctx, "SELECT 1"+from+" LIMIT 1", args...).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}

	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	defer tx.Rollback()
	// The clock again: the write lock may have taken a while.
	now = time.Now()
	args[0] = millis(now)
	rows, err := tx.QueryContext(ctx, "SELECT "+jobColumns+from+" ORDER BY not_before, id LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	jobs, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	if len(jobs) == 0 { // another worker was quicker
		return nil, nil
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	idList, _ := json.Marshal(ids) // int64s always marshal
	until, at := millis(now.Add(ttl)), millis(now)
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'leased', worker = ?, attempts = attempts + 1, not_before = ?, updated_at = ?
		WHERE id IN (SELECT value FROM json_each(?))`, worker, until, at, string(idList)); err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("claiming jobs: %w", err)
	}
	for i := range jobs {
		j := &jobs[i]
		j.State, j.Attempts = brazen.JobLeased, j.Attempts+1
		j.NotBefore, j.UpdatedAt = time.UnixMilli(until).UTC(), time.UnixMilli(at).UTC()
	}
	return jobs, nil
}

func scanJobs(rows *sql.Rows) ([]brazen.Job, error) {
	defer rows.Close()
	var out []brazen.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// CompleteJob marks a job leased to worker done and records its outcome.
func (db *DB) CompleteJob(ctx context.Context, worker string, id int64) error {
	missed, err := db.CompleteJobs(ctx, worker, []int64{id})
	if err != nil || len(missed) == 0 {
		return err
	}
	return db.whyNotLeased(ctx, worker, id, "completing")
}

// CompleteJobs marks the jobs leased to worker among ids done, and records
// their outcomes, in one transaction of three statements whatever the
// number of jobs: the update (returning what it changed), the events, and
// the day counters.
func (db *DB) CompleteJobs(ctx context.Context, worker string, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	idList, _ := json.Marshal(ids) // int64s always marshal
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Now()
	rows, err := tx.QueryContext(ctx, `UPDATE jobs SET state = 'done', updated_at = ?
		WHERE id IN (SELECT value FROM json_each(?)) AND state = 'leased' AND worker = ?
		RETURNING id, dispatch_id, channel`, millis(now), string(idList), worker)
	if err != nil {
		return nil, fmt.Errorf("completing jobs: %w", err)
	}
	done := make(map[int64]bool, len(ids))
	type statKey struct{ dispatch, channel string }
	counts := map[statKey]int64{}
	for rows.Next() {
		var id int64
		var k statKey
		if err := rows.Scan(&id, &k.dispatch, &k.channel); err != nil {
			rows.Close()
			return nil, fmt.Errorf("completing jobs: %w", err)
		}
		done[id] = true
		counts[k]++
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("completing jobs: %w", err)
	}
	var missed []int64
	for _, id := range ids {
		if !done[id] {
			missed = append(missed, id)
		}
	}
	if len(done) == 0 {
		return missed, nil
	}
	doneList := make([]int64, 0, len(done))
	for id := range done {
		doneList = append(doneList, id)
	}
	slices.Sort(doneList) // the events in job order
	doneJSON, _ := json.Marshal(doneList)
	delivered, _ := json.Marshal(brazen.DeliveredChannels)
	if _, err := tx.ExecContext(ctx, `INSERT INTO message_events (at, dispatch_id, channel, braze_id, outcome)
		SELECT ?, j.dispatch_id, j.channel, j.braze_id,
			CASE WHEN j.channel IN (SELECT value FROM json_each(?)) THEN '`+brazen.OutcomeDelivered+`' ELSE '`+brazen.OutcomeSent+`' END
		FROM json_each(?) AS d JOIN jobs AS j ON j.id = d.value ORDER BY d.key`,
		millis(now), string(delivered), string(doneJSON)); err != nil {
		return nil, fmt.Errorf("recording deliveries: %w", err)
	}
	day := now.UTC().Format(dayFormat)
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_stats (dispatch_id, channel, outcome, day, count) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (dispatch_id, channel, outcome, day) DO UPDATE SET count = count + excluded.count`,
			k.dispatch, k.channel, brazen.AcceptedOutcome(k.channel), day, n); err != nil {
			return nil, fmt.Errorf("counting deliveries: %w", err)
		}
	}
	return missed, tx.Commit()
}

// RetryJob puts a job leased to worker back in the queue.
func (db *DB) RetryJob(ctx context.Context, worker string, id int64, notBefore time.Time, lastErr string) error {
	now := time.Now()
	if notBefore.IsZero() {
		notBefore = now
	}
	return db.finishJob(ctx, worker, id, "retrying",
		"UPDATE jobs SET state = 'pending', not_before = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = 'leased' AND worker = ?",
		millis(notBefore), brazen.CleanJobError(lastErr), millis(now))
}

// FailJob marks a job leased to worker dead and records the outcome.
func (db *DB) FailJob(ctx context.Context, worker string, id int64, outcome, lastErr string) error {
	lastErr = brazen.CleanJobError(lastErr)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failing job %d: %w", id, err)
	}
	defer tx.Rollback()
	now := time.Now()
	e := brazen.MessageEvent{At: now, Outcome: outcome, Detail: lastErr}
	err = tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'dead', last_error = ?, updated_at = ?
		WHERE id = ? AND state = 'leased' AND worker = ? RETURNING dispatch_id, channel, braze_id`,
		lastErr, millis(now), id, worker).Scan(&e.DispatchID, &e.Channel, &e.BrazeID)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return db.whyNotLeased(ctx, worker, id, "failing")
	}
	if err != nil {
		return fmt.Errorf("failing job %d: %w", id, err)
	}
	if err := recordEvents(ctx, tx, []brazen.MessageEvent{e}); err != nil {
		return err
	}
	return tx.Commit()
}

// finishJob runs update, whose last two parameters are the job's id and
// worker, and tells why it changed nothing.
func (db *DB) finishJob(ctx context.Context, worker string, id int64, what, update string, args ...any) error {
	res, err := db.write.ExecContext(ctx, update, append(args, id, worker)...)
	if err != nil {
		return fmt.Errorf("%s job %d: %w", what, id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	return db.whyNotLeased(ctx, worker, id, what)
}

// whyNotLeased tells why a job could not be finished by worker.
func (db *DB) whyNotLeased(ctx context.Context, worker string, id int64, what string) error {
	var state string
	var holder sql.NullString
	err := db.read.QueryRowContext(ctx, "SELECT state, worker FROM jobs WHERE id = ?", id).Scan(&state, &holder)
	if errors.Is(err, sql.ErrNoRows) {
		return brazen.Errorf(brazen.ENOTFOUND, "no job %d", id)
	}
	if err != nil {
		return fmt.Errorf("%s job %d: %w", what, id, err)
	}
	return leaseLost(id, worker, state, holder.String)
}

// leaseLost is the error of a worker finishing a job it no longer holds.
func leaseLost(id int64, worker, state, holder string) error {
	e := brazen.Errorf(brazen.ECONFLICT, "job %d is not leased to worker %s", id, worker)
	if state == brazen.JobLeased {
		e.Details = []string{"its lease ran out and worker " + holder + " claimed it"}
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
	// Only the filter's fields become conditions, so that SQLite can pick
	// the index that fits them.
	conds, err := stateCondition(f.State)
	if err != nil {
		return nil, err
	}
	var args []any
	for _, c := range []struct{ column, value string }{
		{"dispatch_id", f.DispatchID}, {"channel", f.Channel}, {"braze_id", f.BrazeID},
	} {
		if c.value != "" {
			conds = append(conds, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	query := "SELECT " + jobColumns + " FROM jobs"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	rows, err := db.read.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	jobs, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	return jobs, nil
}

// JobCounts counts a dispatch's jobs, or all jobs, by state.
func (db *DB) JobCounts(ctx context.Context, dispatchID string) (map[string]int, error) {
	query, args := "SELECT state, count(*) FROM jobs GROUP BY state", []any(nil)
	if dispatchID != "" {
		query, args = "SELECT state, count(*) FROM jobs WHERE dispatch_id = ? GROUP BY state", []any{dispatchID}
	}
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{brazen.JobPending: 0, brazen.JobLeased: 0, brazen.JobDone: 0, brazen.JobDead: 0}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("counting jobs: %w", err)
		}
		counts[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	return counts, nil
}
