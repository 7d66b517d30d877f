package postgres

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brazenhq/brazen/internal/brazen"
)

// dbNow is the database's clock in Unix milliseconds: leases and node
// heartbeats are timed by it, so the nodes' clocks need not agree.
const dbNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

// Partitions returns the number of ingest log partitions.
func (db *DB) Partitions() int { return partitions }

func checkPartition(p int) error {
	if p < 0 || p >= partitions {
		return brazen.Errorf(brazen.EINVALID, "no ingest log partition %d (there are %d)", p, partitions)
	}
	return nil
}

// AppendLog appends records in one transaction and two round trips (two
// pipelined batches on one connection). The first locks the heads of the
// partitions it appends to, in partition order (so concurrent appends
// cannot deadlock), moves them on, and reads every partition's head; a
// partition's records therefore commit in the order of their numbers, and
// a reader never sees a gap fill later. The second inserts the records,
// each with the heads it came after, announces them and commits.
func (db *DB) AppendLog(ctx context.Context, records []brazen.LogRecord) error {
	return unavailable(db.appendLog(ctx, records))
}

func (db *DB) appendLog(ctx context.Context, records []brazen.LogRecord) error {
	if len(records) == 0 {
		return nil
	}
	counts := map[int]int64{}
	for _, r := range records {
		if err := checkPartition(r.Partition); err != nil {
			return err
		}
		counts[r.Partition]++
	}
	touched := make([]int32, 0, len(counts))
	for p := range counts {
		touched = append(touched, int32(p))
	}
	slices.Sort(touched)
	ns := make([]int64, len(touched))
	for i, p := range touched {
		ns[i] = counts[int(p)]
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// On an error the connection may be inside the transaction: the pool
	// closes a connection it gets back in that state.
	defer conn.Release()

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT partition FROM log_heads WHERE partition = ANY($1) ORDER BY partition FOR UPDATE", touched)
	b.Queue(`UPDATE log_heads h SET head = h.head + u.n FROM unnest($1::int[], $2::bigint[]) AS u(p, n)
		WHERE h.partition = u.p`, touched, ns)
	b.Queue("SELECT partition, head FROM log_heads")
	br := conn.SendBatch(ctx, b)
	for range 3 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	// Each partition's head before this call: the moved ones less what
	// this call adds.
	heads := make([]int64, partitions)
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return err
	}
	for rows.Next() {
		var p int
		var head int64
		if err := rows.Scan(&p, &head); err != nil {
			rows.Close()
			br.Close()
			return err
		}
		if p >= 0 && p < partitions {
			heads[p] = head - counts[p]
		}
	}
	if err := rows.Err(); err != nil {
		br.Close()
		return err
	}
	if err := br.Close(); err != nil {
		return err
	}

	parts, seqs := make([]int32, len(records)), make([]int64, len(records))
	data, after := make([][]byte, len(records)), make([][]byte, len(records))
	for i := range records {
		r := &records[i]
		r.After = slices.Clone(heads)
		heads[r.Partition]++
		r.Seq = heads[r.Partition]
		parts[i], seqs[i], data[i], after[i] = int32(r.Partition), r.Seq, r.Data, packHeads(r.After)
	}
	b = &pgx.Batch{}
	b.Queue(`INSERT INTO ingest_log (partition, seq, data, after)
		SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[], $4::bytea[])`, parts, seqs, data, after)
	b.Queue("SELECT pg_notify('" + logChannel + "', '')") // delivered at commit
	b.Queue("COMMIT")
	br = conn.SendBatch(ctx, b)
	for range 3 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// packHeads and unpackHeads store a record's After as big-endian int64s.
func packHeads(heads []int64) []byte {
	b := make([]byte, 0, 8*len(heads))
	for _, h := range heads {
		b = binary.BigEndian.AppendUint64(b, uint64(h))
	}
	return b
}

func unpackHeads(b []byte) []int64 {
	if len(b) == 0 {
		return nil
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.BigEndian.Uint64(b[8*i:]))
	}
	return out
}

// logChannel is the LISTEN/NOTIFY channel appends are announced on.
const logChannel = "brazen_ingest_log"

var _ brazen.LogWatcher = (*DB)(nil)

// WatchLog listens for appends on a connection of its own.
func (db *DB) WatchLog(ctx context.Context, wake func()) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection is left in LISTEN state: take it out of the pool and
	// close it at the end rather than give it back.
	c := conn.Hijack()
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "LISTEN "+logChannel); err != nil {
		return err
	}
	for {
		if _, err := c.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

// ReadLog returns up to limit records of a partition after a sequence
// number.
func (db *DB) ReadLog(ctx context.Context, partition int, after int64, limit int) ([]brazen.LogRecord, error) {
	if err := checkPartition(partition); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, "SELECT seq, data, after FROM ingest_log WHERE partition = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		partition, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []brazen.LogRecord
	for rows.Next() {
		r := brazen.LogRecord{Partition: partition}
		var heads []byte
		if err := rows.Scan(&r.Seq, &r.Data, &heads); err != nil {
			return nil, err
		}
		r.After = unpackHeads(heads)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (db *DB) column(ctx context.Context, query string) ([]int64, error) {
	out := make([]int64, partitions)
	rows, err := db.pool.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p int
		var v int64
		if err := rows.Scan(&p, &v); err != nil {
			return nil, err
		}
		if p >= 0 && p < partitions {
			out[p] = v
		}
	}
	return out, rows.Err()
}

// LogHeads returns each partition's newest sequence number.
func (db *DB) LogHeads(ctx context.Context) ([]int64, error) {
	heads, err := db.column(ctx, "SELECT partition, head FROM log_heads")
	return heads, unavailable(err)
}

// AppliedPositions returns each partition's applied position.
func (db *DB) AppliedPositions(ctx context.Context) ([]int64, error) {
	pos, err := db.column(ctx, "SELECT partition, applied FROM leases")
	return pos, unavailable(err)
}

// Heartbeat records node as alive and lists the live nodes.
func (db *DB) Heartbeat(ctx context.Context, node string, ttl time.Duration) ([]string, error) {
	var live []string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if ttl <= 0 {
			if _, err := tx.Exec(ctx, "DELETE FROM nodes WHERE id = $1", node); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `INSERT INTO nodes (id, expires) VALUES ($1, `+dbNow+` + $2)
			ON CONFLICT (id) DO UPDATE SET expires = excluded.expires`, node, ttl.Milliseconds()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM nodes WHERE expires < "+dbNow); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT id FROM nodes ORDER BY id COLLATE \"C\"")
		if err != nil {
			return err
		}
		live, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return live, err
}

// ClaimLeases renews node's leases and claims free or expired ones.
// Claims skip rows other nodes are claiming at the same moment.
func (db *DB) ClaimLeases(ctx context.Context, node string, ttl time.Duration, want int) ([]brazen.Lease, error) {
	var out []brazen.Lease
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		out = out[:0]
		ms := ttl.Milliseconds()
		tag, err := tx.Exec(ctx, "UPDATE leases SET expires = "+dbNow+" + $2 WHERE owner = $1", node, ms)
		if err != nil {
			return err
		}
		if held := int(tag.RowsAffected()); held < want {
			if _, err := tx.Exec(ctx, `UPDATE leases SET owner = $1, epoch = epoch + 1, expires = `+dbNow+` + $2
				WHERE partition IN (SELECT partition FROM leases
					WHERE owner IS NULL OR expires < `+dbNow+`
					ORDER BY partition LIMIT $3 FOR UPDATE SKIP LOCKED)`, node, ms, want-held); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, "SELECT partition, epoch FROM leases WHERE owner = $1 ORDER BY partition", node)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l brazen.Lease
			if err := rows.Scan(&l.Partition, &l.Epoch); err != nil {
				return err
			}
			out = append(out, l)
		}
		return rows.Err()
	})
	return out, err
}

// ReleaseLeases frees node's leases on partitions.
func (db *DB) ReleaseLeases(ctx context.Context, node string, parts []int) error {
	ps := make([]int32, len(parts))
	for i, p := range parts {
		ps[i] = int32(p)
	}
	_, err := db.pool.Exec(ctx, "UPDATE leases SET owner = NULL, expires = 0 WHERE partition = ANY($2) AND owner = $1", node, ps)
	return err
}

// trimmer removes applied records from the log, at most once a second per
// partition, after the batch that applied them committed.
type trimmer struct {
	mu   sync.Mutex
	last [partitions]time.Time
}

func (t *trimmer) due(p int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := time.Now(); now.Sub(t.last[p]) >= time.Second {
		t.last[p] = now
		return true
	}
	return false
}
