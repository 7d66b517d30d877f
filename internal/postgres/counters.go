package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.CounterStore = (*DB)(nil)

// counterGrace is how long a counter outlives its window, for nodes whose
// clocks are a little behind.
const counterGrace = 60 // seconds

// AddCounts adds deltas in one transaction and one round trip. Rows are
// written in key order, so that nodes syncing at the same moment cannot
// deadlock; each delta's total is returned in the caller's order.
func (db *DB) AddCounts(ctx context.Context, deltas []brazen.CounterDelta) ([]int64, error) {
	if len(deltas) == 0 {
		return nil, nil
	}
	order := make([]int, len(deltas))
	for i, d := range deltas {
		if d.N < 0 {
			return nil, brazen.Errorf(brazen.EINVALID, "counter %s: negative delta %d", d.Key, d.N)
		}
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(deltas[a].Key, deltas[b].Key), cmp.Compare(deltas[a].Window, deltas[b].Window))
	})
	totals := make([]int64, len(deltas))
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, i := range order {
			d := deltas[i]
			if d.N == 0 {
				// A read creates no row: most counters a node reads are idle.
				b.Queue("SELECT coalesce((SELECT n FROM rate_counters WHERE key = $1 AND window_start = $2), 0)", d.Key, d.Window)
				continue
			}
			b.Queue(`INSERT INTO rate_counters (key, window_start, expires, n) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key, window_start) DO UPDATE SET n = rate_counters.n + excluded.n,
					expires = greatest(rate_counters.expires, excluded.expires)
				RETURNING n`, d.Key, d.Window, d.Expires, d.N)
		}
		b.Queue("DELETE FROM rate_counters WHERE expires < $1", time.Now().Unix()-counterGrace)
		br := tx.SendBatch(ctx, b)
		for _, i := range order {
			if err := br.QueryRow().Scan(&totals[i]); err != nil {
				br.Close()
				return err
			}
		}
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		return br.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("adding rate-limit counts: %w", err)
	}
	return totals, nil
}
