package brazen

import "context"

// CounterDelta adds N to the shared counter (Key, Window).
type CounterDelta struct {
	Key     string
	Window  int64 // the window's start, Unix seconds
	Expires int64 // the window's end, Unix seconds
	N       int64 // at least 0; 0 reads the counter
}

// CounterStore keeps counters shared by every node of a deployment, for
// cluster-wide rate limits. A node batches its counts and sends them a few
// times a second, so a call carries every counter the node is using.
type CounterStore interface {
	// AddCounts adds every delta (N may be 0: a read) in one transaction
	// and returns each counter's total after the addition, in the same
	// order; a counter never written reads 0. A counter given twice gets
	// both additions, and each result is its total after that delta.
	// Counters whose window ended before now may be deleted at any time.
	AddCounts(ctx context.Context, deltas []CounterDelta) ([]int64, error)
}
