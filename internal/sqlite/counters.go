package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.CounterStore = (*DB)(nil)

// counterGrace is how long a counter outlives its window: nodes' clocks
// differ a little, and one that is behind may still be counting in a window
// the others have left.
const counterGrace = 60 // seconds

// AddCounts adds deltas in one transaction and returns the totals. A call
// that only reads (every N is 0, as from a node that served no request
// since its last sync) takes no write lock, so that idle nodes do not queue
// behind the applier. Writes delete the counters of ended windows as they
// go: the index on expires makes the check a seek.
func (db *DB) AddCounts(ctx context.Context, deltas []brazen.CounterDelta) ([]int64, error) {
	if len(deltas) == 0 {
		return nil, nil
	}
	write := false
	for _, d := range deltas {
		if d.N < 0 {
			return nil, brazen.Errorf(brazen.EINVALID, "counter %s: negative delta %d", d.Key, d.N)
		}
		write = write || d.N > 0
	}
	pool := db.read
	if write {
		pool = db.write
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("adding rate-limit counts: %w", err)
	}
	defer tx.Rollback()
	totals, err := addCounts(ctx, tx, deltas, write)
	if err != nil {
		return nil, fmt.Errorf("adding rate-limit counts: %w", err)
	}
	if write {
		if _, err := tx.ExecContext(ctx, "DELETE FROM rate_counters WHERE expires < ?", time.Now().Unix()-counterGrace); err != nil {
			return nil, fmt.Errorf("deleting ended rate-limit windows: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("adding rate-limit counts: %w", err)
	}
	return totals, nil
}

func addCounts(ctx context.Context, tx *sql.Tx, deltas []brazen.CounterDelta, write bool) ([]int64, error) {
	read, err := tx.PrepareContext(ctx, "SELECT n FROM rate_counters WHERE key = ? AND window_start = ?")
	if err != nil {
		return nil, err
	}
	defer read.Close()
	var add *sql.Stmt
	if write {
		if add, err = tx.PrepareContext(ctx, `INSERT INTO rate_counters (key, window_start, expires, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (key, window_start) DO UPDATE SET n = n + excluded.n, expires = max(expires, excluded.expires)
			RETURNING n`); err != nil {
			return nil, err
		}
		defer add.Close()
	}
	totals := make([]int64, len(deltas))
	for i, d := range deltas {
		if d.N == 0 {
			// A read creates no row: most counters a node reads are idle.
			err = read.QueryRowContext(ctx, d.Key, d.Window).Scan(&totals[i])
			if errors.Is(err, sql.ErrNoRows) {
				err = nil
			}
		} else {
			err = add.QueryRowContext(ctx, d.Key, d.Window, d.Expires, d.N).Scan(&totals[i])
		}
		if err != nil {
			return nil, fmt.Errorf("counter %s at %d: %w", d.Key, d.Window, err)
		}
	}
	return totals, nil
}
