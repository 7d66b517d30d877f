package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.MessageStore = (*DB)(nil)

const dayFormat = "2006-01-02"

// CreateDispatch records a dispatch.
func (db *DB) CreateDispatch(ctx context.Context, d brazen.Dispatch) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO dispatches (dispatch_id, campaign_id, send_id, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (dispatch_id) DO NOTHING`, d.ID, d.CampaignID, d.SendID, millis(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("recording dispatch %s: %w", d.ID, err)
	}
	return nil
}

// Dispatches lists dispatches, newest first.
func (db *DB) Dispatches(ctx context.Context, limit int) ([]brazen.Dispatch, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT dispatch_id, campaign_id, send_id, created_at FROM dispatches
		ORDER BY created_at DESC, dispatch_id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing dispatches: %w", err)
	}
	defer rows.Close()
	var out []brazen.Dispatch
	for rows.Next() {
		var d brazen.Dispatch
		var created sql.NullInt64
		if err := rows.Scan(&d.ID, &d.CampaignID, &d.SendID, &created); err != nil {
			return nil, fmt.Errorf("listing dispatches: %w", err)
		}
		d.CreatedAt = fromMillis(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// RecordMessageEvents stores and counts events in one transaction.
func (db *DB) RecordMessageEvents(ctx context.Context, events []brazen.MessageEvent) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recording message events: %w", err)
	}
	defer tx.Rollback()
	if err := recordEvents(ctx, tx, events); err != nil {
		return err
	}
	return tx.Commit()
}

// recordEvents inserts events and adds them to the day counters, within
// tx.
func recordEvents(ctx context.Context, tx *sql.Tx, events []brazen.MessageEvent) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO message_events (at, dispatch_id, channel, braze_id, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("recording message events: %w", err)
	}
	defer ins.Close()
	type statKey struct{ dispatch, channel, outcome, day string }
	counts := map[statKey]int64{}
	now := time.Now()
	for _, e := range events {
		at := e.At
		if at.IsZero() {
			at = now
		}
		if _, err := ins.ExecContext(ctx, millis(at), e.DispatchID, e.Channel, e.BrazeID, e.Outcome, brazen.CleanJobError(e.Detail)); err != nil {
			return fmt.Errorf("recording message events: %w", err)
		}
		counts[statKey{e.DispatchID, e.Channel, e.Outcome, at.UTC().Format(dayFormat)}]++
	}
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_stats (dispatch_id, channel, outcome, day, count) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (dispatch_id, channel, outcome, day) DO UPDATE SET count = count + excluded.count`,
			k.dispatch, k.channel, k.outcome, k.day, n); err != nil {
			return fmt.Errorf("counting message events: %w", err)
		}
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
	for _, c := range []struct{ column, value string }{
		{"braze_id", f.BrazeID}, {"dispatch_id", f.DispatchID}, {"channel", f.Channel}, {"outcome", f.Outcome},
	} {
		if c.value != "" {
			conds = append(conds, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if !f.Since.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, millis(f.Since))
	}
	if f.BeforeID > 0 {
		conds = append(conds, "id < ?")
		args = append(args, f.BeforeID)
	}
	query := "SELECT id, at, dispatch_id, channel, braze_id, outcome, detail FROM message_events"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := db.read.QueryContext(ctx, query+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("listing message events: %w", err)
	}
	defer rows.Close()
	var out []brazen.MessageEvent
	for rows.Next() {
		var e brazen.MessageEvent
		var at sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.DispatchID, &e.Channel, &e.BrazeID, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("listing message events: %w", err)
		}
		e.At = fromMillis(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// MessageStats returns a dispatch's or a send's counters by day.
func (db *DB) MessageStats(ctx context.Context, dispatchID, campaignID, sendID string, since time.Time) ([]brazen.MessageStat, error) {
	query := `SELECT s.dispatch_id, s.channel, s.outcome, s.day, s.count FROM message_stats s`
	var args []any
	switch {
	case dispatchID != "":
		query += " WHERE s.dispatch_id = ?"
		args = append(args, dispatchID)
	case sendID != "":
		query += " JOIN dispatches d ON d.dispatch_id = s.dispatch_id WHERE d.campaign_id = ? AND d.send_id = ?"
		args = append(args, campaignID, sendID)
	default:
		query += " JOIN dispatches d ON d.dispatch_id = s.dispatch_id WHERE d.campaign_id = ?"
		args = append(args, campaignID)
	}
	query += " AND s.day >= ? ORDER BY s.day, s.dispatch_id, s.channel, s.outcome"
	rows, err := db.read.QueryContext(ctx, query, append(args, since.UTC().Format(dayFormat))...)
	if err != nil {
		return nil, fmt.Errorf("reading message statistics: %w", err)
	}
	defer rows.Close()
	var out []brazen.MessageStat
	for rows.Next() {
		var s brazen.MessageStat
		var day string
		if err := rows.Scan(&s.DispatchID, &s.Channel, &s.Outcome, &day, &s.Count); err != nil {
			return nil, fmt.Errorf("reading message statistics: %w", err)
		}
		s.Day, _ = time.Parse(dayFormat, day)
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreateSendID records a send id under the daily quota, in one
// transaction.
func (db *DB) CreateSendID(ctx context.Context, campaignID, sendID string, now time.Time) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("creating a send id: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM send_ids WHERE created_at > ?",
		millis(now.Add(-24*time.Hour))).Scan(&n); err != nil {
		return fmt.Errorf("creating a send id: %w", err)
	}
	if n >= brazen.SendIDQuota {
		return brazen.Errorf(brazen.ERATELIMITED, "%d send ids were created in the last 24 hours; the limit is %d", n, brazen.SendIDQuota)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO send_ids (campaign_id, send_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (campaign_id, send_id) DO NOTHING`, campaignID, sendID, millis(now))
	if err != nil {
		return fmt.Errorf("creating a send id: %w", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return brazen.Errorf(brazen.ECONFLICT, "campaign %s has a send id %s already", campaignID, sendID)
	}
	return tx.Commit()
}
