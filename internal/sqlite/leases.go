package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
)

// The SQLite store has one log partition; it is leased all the same, so
// that a second process on the same file never applies it at once. Lease
// writes go through the applier's connection (see DB.applyMu): a commit by
// any other connection would invalidate its page cache, once a second.

// leaseTx runs fn in a write transaction on the applier's connection. Like
// Apply's, it ignores the caller's cancellation: a canceled statement's
// interrupt, or database/sql rolling back a canceled transaction, can land
// on the next user of that one connection (see userTx).
func (db *DB) leaseTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	ctx = context.WithoutCancel(ctx)
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	conn, err := db.applyConn(ctx)
	if err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Heartbeat records node as alive and counts the live nodes.
func (db *DB) Heartbeat(ctx context.Context, node string, ttl time.Duration) (live []string, err error) {
	err = db.leaseTx(ctx, func(tx *sql.Tx) error {
		live, err = heartbeat(ctx, tx, node, ttl)
		return err
	})
	return live, err
}

func heartbeat(ctx context.Context, tx *sql.Tx, node string, ttl time.Duration) ([]string, error) {
	now := time.Now()
	if ttl <= 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM nodes WHERE id = ?", node); err != nil {
			return nil, err
		}
	} else if _, err := tx.ExecContext(ctx, `INSERT INTO nodes (id, expires) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET expires = excluded.expires`, node, millis(now.Add(ttl))); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM nodes WHERE expires < ?", millis(now)); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT id FROM nodes ORDER BY id")
	if err != nil {
		return nil, err
	}
	var live []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		live = append(live, id)
	}
	return live, rows.Close()
}

// ClaimLeases renews node's leases and claims free or expired ones.
func (db *DB) ClaimLeases(ctx context.Context, node string, ttl time.Duration, want int) (held []brazen.Lease, err error) {
	err = db.leaseTx(ctx, func(tx *sql.Tx) error {
		held, err = claimLeases(ctx, tx, node, ttl, want)
		return err
	})
	return held, err
}

func claimLeases(ctx context.Context, tx *sql.Tx, node string, ttl time.Duration, want int) ([]brazen.Lease, error) {
	now := time.Now()
	until := millis(now.Add(ttl))
	if _, err := tx.ExecContext(ctx, "UPDATE leases SET expires = ? WHERE owner = ?", until, node); err != nil {
		return nil, err
	}
	var held int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM leases WHERE owner = ?", node).Scan(&held); err != nil {
		return nil, err
	}
	if held < want {
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET owner = ?, epoch = epoch + 1, expires = ?
			WHERE partition IN (SELECT partition FROM leases WHERE owner IS NULL OR expires < ? ORDER BY partition LIMIT ?)`,
			node, until, millis(now), want-held); err != nil {
			return nil, err
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT partition, epoch FROM leases WHERE owner = ? ORDER BY partition", node)
	if err != nil {
		return nil, err
	}
	var out []brazen.Lease
	for rows.Next() {
		var l brazen.Lease
		if err := rows.Scan(&l.Partition, &l.Epoch); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Close()
}

// ReleaseLeases frees node's leases on partitions.
func (db *DB) ReleaseLeases(ctx context.Context, node string, partitions []int) error {
	return db.leaseTx(ctx, func(tx *sql.Tx) error {
		for _, p := range partitions {
			if _, err := tx.ExecContext(ctx, "UPDATE leases SET owner = NULL, expires = 0 WHERE partition = ? AND owner = ?", p, node); err != nil {
				return err
			}
		}
		return nil
	})
}
