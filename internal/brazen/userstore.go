package brazen

import (
	"context"
	"time"
)

// LogRecord is one entry of one partition of the ingest log: the part of
// one request's accepted operations that falls in the partition, encoded by
// the ingest package.
type LogRecord struct {
	Partition int
	Seq       int64
	Data      []byte
	// After is set by AppendLog on stores with several partitions (nil
	// on one): for each partition q, the newest sequence number of q
	// appended before this record, whether committed before the call
	// began or earlier in the same call. Appliers use it to keep the order
	// of writes that fall in different partitions.
	After []int64
}

// IngestLog is the durable log every user-data write goes through. It is
// divided into partitions (one for SQLite, several for PostgreSQL), each
// ordered and applied on its own, so that several appliers (on several
// nodes) can share the work. Sequence numbers grow within a partition.
type IngestLog interface {
	// Partitions returns the number of partitions, fixed when the store
	// was created.
	Partitions() int
	// AppendLog appends records, each to its Partition, in one durable
	// transaction, and sets each record's Seq (and After). Within a
	// partition, records are numbered in the order given, and a record is
	// never visible to ReadLog before every record numbered below it in
	// its partition.
	AppendLog(ctx context.Context, records []LogRecord) error
	// ReadLog returns up to limit records of a partition with Seq > after,
	// oldest first.
	ReadLog(ctx context.Context, partition int, after int64, limit int) ([]LogRecord, error)
	// LogHeads returns each partition's newest sequence number (0 if none),
	// indexed by partition.
	LogHeads(ctx context.Context) ([]int64, error)
}

// LogWatcher is implemented by stores shared by several processes: it
// tells a node that another one appended to the log, so that its appliers
// need not wait for their next poll.
type LogWatcher interface {
	// WatchLog calls wake after other processes' appends until ctx ends or
	// the watch fails.
	WatchLog(ctx context.Context, wake func()) error
}

// Lease gives one node the right to apply one partition of the ingest log.
// Epoch grows every time the partition changes hands, so a node that lost
// its lease cannot commit a batch over its successor's.
type Lease struct {
	Partition int
	Epoch     int64
}

// ErrLeaseLost is what Apply returns when the caller's lease is no longer
// current: another node owns the partition now.
var ErrLeaseLost = &Error{Code: ECONFLICT, Message: "the partition's lease was lost"}

// Leases divides the ingest log's partitions among live nodes. A lease
// lasts a time-to-live from its last renewal; a partition whose lease
// expired may be claimed by any node.
type Leases interface {
	// Heartbeat records that node is alive for ttl and returns the live
	// nodes (node included), sorted. A ttl of 0 says node is leaving: it
	// is no longer listed, so the others claim its share at once.
	Heartbeat(ctx context.Context, node string, ttl time.Duration) (live []string, err error)
	// ClaimLeases renews node's leases for ttl, then claims free or expired
	// partitions (lowest first) until node holds want of them, and returns
	// every lease node holds. A node may hold more than want; it gives
	// extras back with ReleaseLeases.
	ClaimLeases(ctx context.Context, node string, ttl time.Duration, want int) ([]Lease, error)
	// ReleaseLeases gives up node's leases on partitions at once.
	ReleaseLeases(ctx context.Context, node string, partitions []int) error
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
	// ScanProfiles returns up to limit profiles with braze ids after
	// after, in braze id order: a walk over every user in pages (a
	// broadcast's audience).
	ScanProfiles(ctx context.Context, after string, limit int) ([]*Profile, error)
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
	// PutProfile inserts p if p.Version is 0, or replaces the stored
	// profile if it is still at p.Version, and sets p.Version to the new
	// stored version. It fails with ECONFLICT if the store is not as
	// expected: the profile exists already, changed since it was read, or
	// another profile holds its external id (another partition's applier
	// got there first; the caller retries with fresh reads).
	// identityChanged says p's aliases or deprecated external ids changed,
	// so their indexes must be rewritten (external_id, email and phone are
	// always rewritten).
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
	Leases
	UserReader
	// AppliedPositions returns, for each partition, the sequence number of
	// the newest record applied.
	AppliedPositions(ctx context.Context) ([]int64, error)
	// Apply runs fn in one transaction for the lease's partition. The
	// partition's records up to the position fn returns count as applied,
	// atomically with fn's writes, and may be removed from the log. If fn
	// fails, nothing is written; if Apply returns an error, nothing was.
	// Apply fails with ErrLeaseLost, writing nothing, if lease is not the
	// partition's current one. One goroutine per partition calls it at a
	// time; appliers of different partitions run concurrently, and a write
	// that collides with another partition's fails with ECONFLICT.
	Apply(ctx context.Context, lease Lease, fn func(tx UserTx) (position int64, err error)) error
}
