package brazen

import (
	"context"
	"time"
)

// LogRecord is one entry of the ingest log: one request's accepted
// operations, encoded by the ingest package.
type LogRecord struct {
	Seq  int64
	Data []byte
}

// IngestLog is the durable, ordered log every user-data write goes through.
type IngestLog interface {
	// AppendLog appends records in one durable transaction, in order, and
	// returns the sequence number of the first; the others follow it.
	AppendLog(ctx context.Context, records [][]byte) (first int64, err error)
	// ReadLog returns up to limit records with Seq > after, oldest first.
	ReadLog(ctx context.Context, after int64, limit int) ([]LogRecord, error)
	// LogHead returns the newest record's sequence number, 0 if none.
	LogHead(ctx context.Context) (int64, error)
}

// ProfileRef is what identifier lookups return: enough to apply Braze's
// prioritization rules without loading whole profiles.
type ProfileRef struct {
	BrazeID       string
	HasExternalID bool
	UpdatedAt     time.Time
}

// UserReader reads profiles and resolves identifiers. Not found is
// ENOTFOUND for single lookups and an empty result for lists.
type UserReader interface {
	Profile(ctx context.Context, brazeID string) (*Profile, error)
	// ByExternalID resolves a primary or deprecated external id.
	ByExternalID(ctx context.Context, externalID string) (ProfileRef, error)
	ByAlias(ctx context.Context, a Alias) (ProfileRef, error)
	ByEmail(ctx context.Context, email string) ([]ProfileRef, error)
	ByPhone(ctx context.Context, phone string) ([]ProfileRef, error)
}

// EventRecord is one stored custom event occurrence.
type EventRecord struct {
	BrazeID    string
	Name       string
	Time       time.Time
	AppID      string
	Properties []byte
}

// PurchaseRecord is one stored purchase.
type PurchaseRecord struct {
	BrazeID    string
	ProductID  string
	Currency   string
	Price      float64
	Quantity   int
	Time       time.Time
	AppID      string
	Properties []byte
}

// Rollup adds Count occurrences (and Revenue, for purchases) to one name's
// total for one UTC day, the unit data series read.
type Rollup struct {
	Kind    string // "event" or "purchase"
	Name    string // event name or product id
	Day     string // YYYY-MM-DD, UTC
	Count   int64
	Revenue float64
}

// UserTx is the applier's transaction: reads see its own writes.
type UserTx interface {
	UserReader
	// ProfilesByExternalID loads, in bulk, the profiles that the given
	// primary or deprecated external ids name; ids that name nobody are
	// absent from the map. The applier prefetches a batch's users with it.
	ProfilesByExternalID(ctx context.Context, ids []string) (map[string]*Profile, error)
	// PutProfile inserts or replaces a profile. identityChanged says its
	// aliases or deprecated external ids changed, so their indexes must be
	// rewritten (external_id, email and phone are always rewritten).
	PutProfile(ctx context.Context, p *Profile, identityChanged bool) error
	// DeleteProfile deletes a profile, its identifiers, events and purchases.
	DeleteProfile(ctx context.Context, brazeID string) error
	// MoveActivity gives the events and purchases of one profile to another
	// (a merge).
	MoveActivity(ctx context.Context, fromBrazeID, toBrazeID string) error
	AddEvents(ctx context.Context, events []EventRecord) error
	AddPurchases(ctx context.Context, purchases []PurchaseRecord) error
	AddRollups(ctx context.Context, rollups []Rollup) error
}

// UserStore keeps user data: the ingest log, profiles, events, purchases
// and rollups.
type UserStore interface {
	IngestLog
	UserReader
	// AppliedPosition returns the sequence number of the newest log record
	// the applier has applied.
	AppliedPosition(ctx context.Context) (int64, error)
	// Apply runs fn in one transaction. The records up to the position fn
	// returns count as applied, atomically with fn's writes, and are
	// removed from the log. If fn fails, nothing is written; if Apply
	// returns an error, nothing was. One goroutine calls it at a time.
	Apply(ctx context.Context, fn func(tx UserTx) (position int64, err error)) error
}
