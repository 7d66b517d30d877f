package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

var _ brazen.CardStore = (*DB)(nil)

// PutCard stores a card unless its id is stored already.
func (db *DB) PutCard(ctx context.Context, c brazen.Card) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO content_cards (id, dispatch_id, braze_id, card, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		c.ID, c.DispatchID, c.BrazeID, c.Card, millis(c.ExpiresAt), millis(time.Now()))
	return err
}

// Cards returns a user's live cards, newest first.
func (db *DB) Cards(ctx context.Context, brazeID string, now time.Time) ([]brazen.Card, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, dispatch_id, braze_id, card, expires_at, created_at FROM content_cards
		WHERE braze_id = ? AND expires_at > ? ORDER BY created_at DESC, id`, brazeID, millis(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []brazen.Card
	for rows.Next() {
		var c brazen.Card
		var exp, created sql.NullInt64
		if err := rows.Scan(&c.ID, &c.DispatchID, &c.BrazeID, &c.Card, &exp, &created); err != nil {
			return nil, err
		}
		c.ExpiresAt, c.CreatedAt = fromMillis(exp), fromMillis(created)
		out = append(out, c)
	}
	return out, rows.Err()
}
