package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.CardStore = (*DB)(nil)

// PutCard stores a card unless its id is stored already.
func (db *DB) PutCard(ctx context.Context, c brazen.Card) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO content_cards (id, dispatch_id, braze_id, card, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		c.ID, c.DispatchID, c.BrazeID, c.Card, millis(c.ExpiresAt), millis(time.Now()))
	return unavailable(err)
}

// Cards returns a user's live cards, newest first.
func (db *DB) Cards(ctx context.Context, brazeID string, now time.Time) ([]brazen.Card, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, dispatch_id, braze_id, card, expires_at, created_at FROM content_cards
		WHERE braze_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id`, brazeID, millis(now))
	if err != nil {
		return nil, unavailable(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (brazen.Card, error) {
		var c brazen.Card
		var exp, created int64
		err := r.Scan(&c.ID, &c.DispatchID, &c.BrazeID, &c.Card, &exp, &created)
		c.ExpiresAt, c.CreatedAt = fromMillis(&exp), fromMillis(&created)
		return c, err
	})
	return out, unavailable(err)
}
