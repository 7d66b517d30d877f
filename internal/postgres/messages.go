package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.MessageStore = (*DB)(nil)

// statsUpsert adds the rows of a CTE named by from (dispatch_id, channel,
// outcome, at) to the day counters. The rows are grouped and sorted, so
// that two transactions counting the same days lock their counters in the
// same order and never deadlock.
func statsUpsert(from string) string {
	return `INSERT INTO message_stats (dispatch_id, channel, outcome, day, count)
		SELECT dispatch_id, channel, outcome, (to_timestamp(at / 1000.0) AT TIME ZONE 'UTC')::date AS day, count(*)
		FROM ` + from + ` GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
		ON CONFLICT (dispatch_id, channel, outcome, day) DO UPDATE SET count = message_stats.count + excluded.count`
}

// CreateDispatch records a dispatch.
func (db *DB) CreateDispatch(ctx context.Context, d brazen.Dispatch) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO dispatches (dispatch_id, campaign_id, send_id, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (dispatch_id) DO NOTHING`, d.ID, d.CampaignID, d.SendID, millis(d.CreatedAt))
	if err != nil {
		return unavailable(fmt.Errorf("recording dispatch %s: %w", d.ID, err))
	}
	return nil
}

// Dispatches lists dispatches, newest first.
func (db *DB) Dispatches(ctx context.Context, limit int) ([]brazen.Dispatch, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT dispatch_id, campaign_id, send_id, created_at FROM dispatches
		ORDER BY created_at DESC, dispatch_id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, unavailable(fmt.Errorf("listing dispatches: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (brazen.Dispatch, error) {
		var d brazen.Dispatch
		var created int64
		err := row.Scan(&d.ID, &d.CampaignID, &d.SendID, &created)
		d.CreatedAt = fromMillis(&created)
		return d, err
	})
	if err != nil {
		return nil, unavailable(fmt.Errorf("listing dispatches: %w", err))
	}
	return out, nil
}

// RecordMessageEvents stores and counts events in one statement.
func (db *DB) RecordMessageEvents(ctx context.Context, events []brazen.MessageEvent) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	at := make([]int64, n)
	dispatches, channels, users, outcomes, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	now := time.Now()
	for i, e := range events {
		if e.At.IsZero() {
			e.At = now
		}
		at[i], dispatches[i], channels[i], users[i], outcomes[i], details[i] = millis(e.At), e.DispatchID, e.Channel, e.BrazeID, e.Outcome, brazen.CleanJobError(e.Detail)
	}
	_, err := db.pool.Exec(ctx, `WITH ev AS (
			INSERT INTO message_events (at, dispatch_id, channel, braze_id, outcome, detail)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
			RETURNING at, dispatch_id, channel, outcome)
		`+statsUpsert("ev"), at, dispatches, channels, users, outcomes, details)
	if err != nil {
		return unavailable(conflict(fmt.Errorf("recording message events: %w", err), "counters changed meanwhile"))
	}
	return nil
}

// MessageEvents lists events matching f, newest first.
func (db *DB) MessageEvents(ctx context.Context, f brazen.MessageEventFilter, limit int) ([]brazen.MessageEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, cond+" $"+strconv.Itoa(len(args)))
	}
	for _, c := range []struct{ column, value string }{
		{"braze_id", f.BrazeID}, {"dispatch_id", f.DispatchID}, {"channel", f.Channel}, {"outcome", f.Outcome},
	} {
		if c.value != "" {
			add(c.column+" =", c.value)
		}
	}
	if !f.Since.IsZero() {
		add("at >=", millis(f.Since))
	}
	if f.BeforeID > 0 {
		add("id <", f.BeforeID)
	}
	query := "SELECT id, at, dispatch_id, channel, braze_id, outcome, detail FROM message_events"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, limit)
	rows, err := db.pool.Query(ctx, query+" ORDER BY id DESC LIMIT $"+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("listing message events: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (brazen.MessageEvent, error) {
		var e brazen.MessageEvent
		var at int64
		err := row.Scan(&e.ID, &at, &e.DispatchID, &e.Channel, &e.BrazeID, &e.Outcome, &e.Detail)
		e.At = fromMillis(&at)
		return e, err
	})
	if err != nil {
		return nil, unavailable(fmt.Errorf("listing message events: %w", err))
	}
	return out, nil
}

// MessageStats returns a dispatch's or a send's counters by day.
func (db *DB) MessageStats(ctx context.Context, dispatchID, campaignID, sendID string, since time.Time) ([]brazen.MessageStat, error) {
	query := `SELECT s.dispatch_id, s.channel, s.outcome, s.day, s.count FROM message_stats s`
	var args []any
	switch {
	case dispatchID != "":
		query += " WHERE s.dispatch_id = $1"
		args = append(args, dispatchID)
	case sendID != "":
		query += " JOIN dispatches d ON d.dispatch_id = s.dispatch_id WHERE d.campaign_id = $1 AND d.send_id = $2"
		args = append(args, campaignID, sendID)
	default:
		query += " JOIN dispatches d ON d.dispatch_id = s.dispatch_id WHERE d.campaign_id = $1"
		args = append(args, campaignID)
	}
	day := since.UTC()
	args = append(args, time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC))
	query += " AND s.day >= $" + strconv.Itoa(len(args)) + " ORDER BY s.day, s.dispatch_id, s.channel, s.outcome"
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("reading message statistics: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (brazen.MessageStat, error) {
		var s brazen.MessageStat
		err := row.Scan(&s.DispatchID, &s.Channel, &s.Outcome, &s.Day, &s.Count)
		s.Day = s.Day.UTC()
		return s, err
	})
	if err != nil {
		return nil, unavailable(fmt.Errorf("reading message statistics: %w", err))
	}
	return out, nil
}

// CreateSendID records a send id under the daily quota. The quota is
// checked and the row inserted under a transaction-scoped advisory lock,
// so that nodes creating send ids at once cannot overshoot it.
func (db *DB) CreateSendID(ctx context.Context, campaignID, sendID string, now time.Time) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('brazen.send_ids'))"); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM send_ids WHERE created_at > $1",
			millis(now.Add(-24*time.Hour))).Scan(&n); err != nil {
			return err
		}
		if n >= brazen.SendIDQuota {
			return brazen.Errorf(brazen.ERATELIMITED, "%d send ids were created in the last 24 hours; the limit is %d", n, brazen.SendIDQuota)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO send_ids (campaign_id, send_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (campaign_id, send_id) DO NOTHING`, campaignID, sendID, millis(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return brazen.Errorf(brazen.ECONFLICT, "campaign %s has a send id %s already", campaignID, sendID)
		}
		return nil
	})
	var be *brazen.Error
	if err != nil && !errors.As(err, &be) {
		return unavailable(fmt.Errorf("creating a send id: %w", err))
	}
	return err
}
