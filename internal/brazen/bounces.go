package brazen

import (
	"context"
	"time"
)

// Bounce is an address on the hard-bounce list: mail to it failed for good.
type Bounce struct {
	Email     string // lower case
	BouncedAt time.Time
	Reason    string
}

// BounceQuery selects bounces: by Email, or those from Start (inclusive)
// to End (exclusive); newest first, Limit after Offset.
type BounceQuery struct {
	Email      string
	Start, End time.Time
	Limit      int
	Offset     int
}

// BounceStore keeps the hard-bounce list; email is not sent to an address
// on it.
type BounceStore interface {
	// AddBounces puts addresses on the list (an address already there
	// keeps its first bounce).
	AddBounces(ctx context.Context, bounces []Bounce) error
	// Bounces lists bounces as q selects.
	Bounces(ctx context.Context, q BounceQuery) ([]Bounce, error)
	// Bounced returns which of emails are on the list.
	Bounced(ctx context.Context, emails []string) (map[string]bool, error)
	// RemoveBounces takes addresses off the list.
	RemoveBounces(ctx context.Context, emails []string) error
}
