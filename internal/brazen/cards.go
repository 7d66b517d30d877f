package brazen

import (
	"context"
	"time"
)

// Card is a content card stored for one user: the rendered card, kept
// until it expires.
type Card struct {
	ID         string // the delivery job's key: one card per (dispatch, user)
	DispatchID string
	BrazeID    string
	Card       []byte // the rendered card, JSON
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// CardStore keeps content cards.
type CardStore interface {
	// PutCard stores a card; a card whose ID is stored already is left as
	// it is (a delivery repeated after a crash stores nothing twice).
	PutCard(ctx context.Context, c Card) error
	// Cards returns a user's cards that have not expired at now, newest
	// first.
	Cards(ctx context.Context, brazeID string, now time.Time) ([]Card, error)
}
